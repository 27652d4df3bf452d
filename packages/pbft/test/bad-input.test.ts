import { describe, expect, it } from "vitest";
import { ConfigError } from "@concord/core";
import { pbft, type PbftPrepare, type PbftViewChange } from "@concord/pbft";
import { Authenticator, forgeRequestsStrategy, silentStrategy, corruptDigestsStrategy, corruptMacsStrategy, equivocateStrategy, replayStrategy } from "@concord/pbft/internals";
import { FakeCrypto, pbftCluster, cryptoOf, type PbftCluster } from "./kit.ts";

const value = (text: string): Uint8Array => new TextEncoder().encode(text);

function firstSent<T>(cluster: PbftCluster, type: string, to: number): T {
  const found = cluster.sent.find((e) => e.message.type === type && e.to === to);
  if (found === undefined) throw new Error(`no ${type} to ${to}`);
  return found.message as T;
}

describe("PBFT bad input is dropped and counted, never acted on", () => {
  it("drops a prepare whose MAC does not verify", () => {
    const cluster = pbftCluster(4);
    cluster.submit({ type: "put", key: "x", value: value("1") });
    cluster.deliverAll();
    const prepare = firstSent<PbftPrepare>(cluster, "prepare", 3);
    const macs = prepare.macs.map((mac) => Uint8Array.from(mac, (b) => b ^ 1));
    cluster.inject(prepare.replica, 3, { ...prepare, seq: 2, macs });
    cluster.deliverAll();
    expect(cluster.replica(3).rejections().get("badAuthentication")).toBe(1);
    expect(cluster.replica(3).logSize()).toBe(1);
  });

  it("drops a pre-prepare whose digest does not match its batch", () => {
    const cluster = pbftCluster(4);
    cluster.makeByzantine(0, corruptDigestsStrategy);
    cluster.submit({ type: "put", key: "x", value: value("1") });
    cluster.deliverAll();
    for (const id of [1, 2, 3]) {
      expect(cluster.replica(id).rejections().get("badDigest")).toBe(1);
      expect(cluster.replica(id).status().commitIndex).toBe(0);
    }
  });

  it("drops a pre-prepare whose client request was altered by the primary (the client's authenticator fails), and the write survives", () => {
    const cluster = pbftCluster(4);
    cluster.makeByzantine(0, forgeRequestsStrategy);
    // The first request has nothing to be swapped with; the second is pre-prepared carrying the first one's command.
    cluster.submit({ type: "put", key: "x", value: value("1") });
    cluster.runUntil(() => cluster.idle(), 500);
    cluster.submit({ type: "put", key: "x", value: value("2") });
    cluster.runUntil(() => cluster.idle(), 2000);
    for (const id of [1, 2, 3]) expect(cluster.replica(id).rejections().get("badRequest") ?? 0).toBeGreaterThan(0);
    cluster.submit({ type: "get", key: "x" });
    cluster.runUntil(() => cluster.idle(), 500);
    expect(cluster.results()).toEqual([{ type: "put" }, { type: "put" }, { type: "get", value: new Uint8Array(value("2")) }]);
    expect(cluster.violations()).toEqual([]);
  });

  it("drops an authentic prepare outside the watermarks, and one of an earlier view", () => {
    const cluster = pbftCluster(4, { checkpointIntervalSeqs: 2, watermarkWindowSeqs: 4 });
    cluster.makeByzantine(0, silentStrategy);
    cluster.submit({ type: "put", key: "x", value: value("1") });
    cluster.runUntil(() => cluster.idle(), 500);
    const replica = cluster.replica(3);
    expect(replica.status().epoch).toBe(1);
    const sealer = new Authenticator(new FakeCrypto(2), 2, cluster.ids, "macs");
    const prepare = (view: number, seq: number): PbftPrepare =>
      sealer.sealBroadcast({ type: "prepare", view, seq, digest: new Uint8Array(32), replica: 2, macs: [], signature: new Uint8Array(0) });
    const logBefore = replica.logSize();
    cluster.inject(2, 3, prepare(1, 99));
    cluster.inject(2, 3, prepare(0, 2));
    cluster.deliverAll();
    expect(replica.rejections().get("outsideWatermarks")).toBe(1);
    expect(replica.rejections().get("staleView")).toBe(1);
    expect(replica.logSize()).toBe(logBefore);
  });

  it("counts every copy of a badly signed VIEW-CHANGE but checks its signature once, and still accepts the sender's good one", () => {
    const cluster = pbftCluster(4);
    const replica = cluster.replica(3);
    const viewChange = (from: number): PbftViewChange =>
      new Authenticator(new FakeCrypto(from), from, cluster.ids, "macs").sealBroadcast<PbftViewChange>({
        type: "viewChange",
        newView: 1,
        replica: from,
        stableSeq: 0,
        checkpoints: [{ seq: 0, stateDigest: new Uint8Array(32) }],
        prepared: [],
        prePrepared: [],
        signature: new Uint8Array(0),
      });
    const good = viewChange(2);
    const forged = { ...good, signature: Uint8Array.from(good.signature, (b) => b ^ 1) };
    const verifiesBefore = cryptoOf(cluster, 3).verifyCount;
    for (let copy = 0; copy < 3; copy++) cluster.inject(2, 3, forged);
    cluster.deliverAll();
    expect(replica.rejections().get("badAuthentication")).toBe(3);
    expect(cryptoOf(cluster, 3).verifyCount - verifiesBefore).toBe(1);
    expect(replica.status().epoch).toBe(0);
    // f + 1 authentic VIEW-CHANGEs for view 1 (the good one from the same sender among them) move the replica there.
    cluster.inject(2, 3, good);
    cluster.inject(1, 3, viewChange(1));
    cluster.deliverAll();
    expect(replica.rejections().get("badAuthentication")).toBe(3);
    expect(replica.status().epoch).toBe(1);
    expect(replica.isViewActive()).toBe(false);
  });

  it("counts but survives MAC-corrupting, digest-corrupting, equivocating and replaying replicas in one cluster of seven", () => {
    const cluster = pbftCluster(7, {}, 2);
    cluster.makeByzantine(3, corruptMacsStrategy);
    cluster.makeByzantine(6, replayStrategy);
    for (let i = 0; i < 10; i++) {
      cluster.submit({ type: "append", key: "log", value: value(`${i};`) }, i % 2);
      cluster.runUntil(() => cluster.idle(), 500);
    }
    expect(cluster.results(0).length + cluster.results(1).length).toBe(10);
    expect(cluster.replica(0).rejections().get("badAuthentication") ?? 0).toBeGreaterThan(0);
    expect(cluster.violations()).toEqual([]);

    const equivocating = pbftCluster(7, {}, 1);
    equivocating.makeByzantine(0, equivocateStrategy);
    equivocating.makeByzantine(4, corruptDigestsStrategy);
    for (let i = 0; i < 6; i++) {
      equivocating.submit({ type: "put", key: "k", value: value(`${i}`) });
      equivocating.runUntil(() => equivocating.idle(), 2000);
    }
    expect(equivocating.results().length).toBe(6);
    expect(equivocating.violations()).toEqual([]);
  });
});

describe("PBFT configuration", () => {
  it("refuses cluster sizes other than 3f+1 with a message that says why", () => {
    expect(pbft.clusterSizeError(4)).toBeUndefined();
    expect(pbft.clusterSizeError(7)).toBeUndefined();
    expect(pbft.clusterSizeError(3)).toMatch(/n = 3f\+1.*not 3/);
    expect(pbft.clusterSizeError(5)).toMatch(/5 replicas tolerate f = 1 Byzantine faults, as 4 do; use 4 or 7/);
    expect(pbft.replicasToTolerate(2)).toBe(7);
    expect(pbft.faultsTolerated(10)).toBe(3);
  });

  it("rejects bad options naming the field", () => {
    expect(() => pbftCluster(4, { checkpointIntervalSeqs: 10, watermarkWindowSeqs: 10 })).toThrow(ConfigError);
    expect(() => pbftCluster(4, { checkpointIntervalSeqs: 10, watermarkWindowSeqs: 10 })).toThrow(/watermarkWindowSeqs/);
    expect(() => pbftCluster(4, { batchSizeMax: 0 })).toThrow(/pbft\.batchSizeMax/);
    expect(() => pbftCluster(4, { viewChangeTimeout: 3 })).toThrow(ConfigError);
  });
});
