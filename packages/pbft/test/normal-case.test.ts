import { describe, expect, it } from "vitest";
import { pbft } from "@concord/pbft";
import { pbftMessagesPerBatch } from "@concord/pbft/internals";
import { pbftCluster, replicasOf } from "./kit.ts";

const value = (text: string): Uint8Array => new TextEncoder().encode(text);

describe("PBFT normal case (PBFT §4.2)", () => {
  it("commits a write through pre-prepare, prepare and commit, and every replica executes it in order", () => {
    const cluster = pbftCluster(4);
    cluster.submit({ type: "put", key: "x", value: value("1") });
    cluster.deliverAll();
    expect(cluster.results()).toEqual([{ type: "put" }]);
    for (const replica of replicasOf(cluster)) {
      expect(replica.status()).toMatchObject({ epoch: 0, leader: 0, commitIndex: 1, appliedIndex: 1 });
    }
    expect(cluster.replica(0).status().role).toBe("primary");
    expect(cluster.replica(1).status().role).toBe("backup");
    expect(cluster.violations()).toEqual([]);
  });

  it("sends exactly 2n^2 - n + 1 messages per single-request batch: 1 request, n-1 pre-prepares, (n-1)^2 prepares, n(n-1) commits, n replies", () => {
    for (const n of [4, 7]) {
      const cluster = pbftCluster(n, { checkpointIntervalSeqs: 1000, watermarkWindowSeqs: 2000 });
      cluster.submit({ type: "put", key: "x", value: value("1") });
      cluster.deliverAll();
      expect(cluster.countSent("request")).toBe(1);
      expect(cluster.countSent("prePrepare")).toBe(n - 1);
      expect(cluster.countSent("prepare")).toBe((n - 1) * (n - 1));
      expect(cluster.countSent("commit")).toBe(n * (n - 1));
      expect(cluster.countSent("reply")).toBe(n);
      expect(cluster.sent.length).toBe(2 * n * n - n + 1);
      expect(pbftMessagesPerBatch(n, 1, 1000)).toBeCloseTo(2 * n * n - n + 1 + (n * (n - 1)) / 1000);
    }
  });

  it("executes the writes of several clients in one sequence order on every replica", () => {
    const cluster = pbftCluster(4, {}, 3);
    for (let round = 0; round < 5; round++) {
      for (let c = 0; c < 3; c++) cluster.submit({ type: "append", key: "log", value: value(`${c}.${round};`) }, c);
      cluster.deliverAll();
    }
    cluster.submit({ type: "get", key: "log" });
    cluster.deliverAll();
    const read = cluster.results().at(-1);
    expect(read).toMatchObject({ type: "get" });
    const applied = replicasOf(cluster).map((r) => r.status().appliedIndex);
    expect(new Set(applied).size).toBe(1);
    expect(cluster.violations()).toEqual([]);
  });

  it("orders requests queued behind a full pipeline in one batch", () => {
    const cluster = pbftCluster(4, { inflightBatchesMax: 1 }, 5);
    for (let c = 0; c < 5; c++) cluster.submit({ type: "put", key: `k${c}`, value: value("v") }, c);
    cluster.runUntil(() => cluster.idle());
    // The first request is ordered alone; the four that arrived while it was in flight share the next batch.
    const prePrepares = cluster.sent.filter((e) => e.message.type === "prePrepare" && e.to === 1).map((e) => (e.message.type === "prePrepare" ? e.message.requests.length : 0));
    expect(prePrepares[0]).toBe(1);
    expect(Math.max(...prePrepares)).toBeGreaterThan(1);
    expect(prePrepares.length).toBeLessThan(5);
  });

  it("serves a read-only request with 2f+1 matching unordered replies and no agreement messages (thesis §5.1.3)", () => {
    const cluster = pbftCluster(4);
    cluster.submit({ type: "put", key: "x", value: value("hello") });
    cluster.deliverAll();
    const before = cluster.sent.length;
    cluster.submit({ type: "get", key: "x" });
    cluster.deliverAll();
    expect(cluster.results().at(-1)).toEqual({ type: "get", value: new Uint8Array(value("hello")) });
    const readMessages = cluster.sent.slice(before);
    expect(readMessages.map((e) => e.message.type).sort()).toEqual([...Array(4).fill("reply"), ...Array(4).fill("request")]);
  });

  it("counts its analytic message cost and one-way delays in the algorithm definition", () => {
    expect(pbft.oneWayDelaysPerOp).toBe(5);
    expect(pbft.analyticMessagesPerOp(4, 1)).toBeCloseTo(pbftMessagesPerBatch(4, 1));
    expect(pbft.analyticMessagesPerOp(4, 10)).toBeCloseTo((2 * 16 - 8) / 10 + 5 + 12 / 16 / 10);
  });
});
