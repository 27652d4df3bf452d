import { describe, expect, it } from "vitest";
import { type PbftNewView } from "@concord/pbft";
import { corruptResultsStrategy, forgeNewViewStrategy, silentStrategy } from "@concord/pbft/internals";
import { pbftCluster, firstTestClient } from "./kit.ts";

const value = (text: string): Uint8Array => new TextEncoder().encode(text);

describe("PBFT view change (PBFT §4.4, TOCS §4.4)", () => {
  it("replaces a silent primary: the client broadcasts, the backups' timers expire, view 1 starts and the write completes", () => {
    const cluster = pbftCluster(4);
    cluster.makeByzantine(0, silentStrategy);
    cluster.submit({ type: "put", key: "x", value: value("1") });
    cluster.runUntil(() => cluster.idle(), 500);
    expect(cluster.results()).toEqual([{ type: "put" }]);
    for (const id of [1, 2, 3]) {
      expect(cluster.replica(id).status()).toMatchObject({ epoch: 1, leader: 1, appliedIndex: 1 });
      expect(cluster.replica(id).isViewActive()).toBe(true);
    }
    expect(cluster.countSent("viewChange")).toBeGreaterThanOrEqual(3 * 3);
    const newViews = cluster.sent.filter((e) => e.message.type === "newView").map((e) => e.message as PbftNewView);
    expect(newViews.length).toBeGreaterThanOrEqual(3);
    expect(new Set(newViews.map((m) => `${m.view}:${m.replica}`))).toEqual(new Set(["1:1"]));
    // The next write goes straight to the new primary.
    cluster.submit({ type: "put", key: "x", value: value("2") });
    cluster.runUntil(() => cluster.idle(), 10);
    expect(cluster.results()).toEqual([{ type: "put" }, { type: "put" }]);
  });

  it("doubles the view-change timeout when the next primary is silent too, and still gets a view going (PBFT §4.5.2)", () => {
    const baseTicks = 10;
    const cluster = pbftCluster(7, { viewChangeTimeoutTicks: baseTicks });
    cluster.makeByzantine(0, silentStrategy);
    cluster.makeByzantine(1, silentStrategy);
    cluster.submit({ type: "put", key: "x", value: value("1") });
    const enteredAt = new Map<number, number>();
    for (let tick = 0; tick < 500 && !cluster.idle(); tick++) {
      cluster.tickAndDeliver();
      const epoch = cluster.replica(4).status().epoch;
      if (!enteredAt.has(epoch)) enteredAt.set(epoch, tick);
    }
    expect(cluster.results()).toEqual([{ type: "put" }]);
    expect(cluster.replica(2).status()).toMatchObject({ epoch: 2, leader: 2 });
    // View 1 waited for its NEW-VIEW twice the base timeout before giving up on it.
    const waitedTicks = (enteredAt.get(2) ?? 0) - (enteredAt.get(1) ?? 0);
    expect(waitedTicks).toBeGreaterThanOrEqual(2 * baseTicks);
    expect(waitedTicks).toBeLessThan(3 * baseTicks);
    expect(cluster.violations()).toEqual([]);
  });

  it("keeps a replica that times out alone in its first view change, and lets it rejoin when the others follow (PBFT §4.5.2)", () => {
    const cluster = pbftCluster(4);
    // Replica 3 is cut off from the other replicas; the client's first send is lost, so it broadcasts.
    let firstSend = true;
    cluster.drop = (e) => {
      if (e.from === firstTestClient && e.to === 0 && firstSend) return !(firstSend = false);
      return (e.to === 3 || e.from === 3) && e.from < firstTestClient && e.to < firstTestClient;
    };
    cluster.submit({ type: "put", key: "x", value: value("1") });
    cluster.runUntil(() => cluster.idle(), 500);
    cluster.tickAndDeliver(1000);
    // Alone, it asked for view 1 and stays there: without 2f+1 view changes its timer does not run.
    expect(cluster.replica(3).status().epoch).toBe(1);
    expect(cluster.replica(3).isViewActive()).toBe(false);
    expect(cluster.replica(0).status().epoch).toBe(0);
    // Healed, and with the primary silent, the others move to view 1 and replica 3's view change counts.
    cluster.drop = undefined;
    cluster.makeByzantine(0, silentStrategy);
    cluster.submit({ type: "put", key: "x", value: value("2") });
    cluster.runUntil(() => cluster.replica(3).isViewActive(), 2000);
    for (const id of [1, 2, 3]) expect(cluster.replica(id).status().epoch).toBe(1);
    cluster.runUntil(() => cluster.idle(), 500);
    expect(cluster.results()).toEqual([{ type: "put" }, { type: "put" }]);
    expect(cluster.violations()).toEqual([]);
  });

  it("fills a gap with a null request: a batch pre-prepared at one backup only is not re-issued, the one after it is", () => {
    const cluster = pbftCluster(4, {}, 2);
    // Sequence number 1 reaches only replica 1; sequence number 2 reaches everyone.
    cluster.drop = (e) => e.message.type === "prePrepare" && e.message.seq === 1 && e.to !== 1;
    cluster.submit({ type: "put", key: "a", value: value("first") }, 0);
    cluster.deliverAll();
    cluster.submit({ type: "put", key: "b", value: value("second") }, 1);
    cluster.deliverAll();
    // Sequence number 2 committed but cannot execute behind the hole at 1.
    for (const id of [1, 2, 3]) expect(cluster.replica(id).committedDigestAt(2)).toBeDefined();
    expect(cluster.replica(1).status().appliedIndex).toBe(0);
    cluster.makeByzantine(0, silentStrategy);
    cluster.runUntil(() => cluster.idle(), 1000);
    for (const id of [1, 2, 3]) {
      const replica = cluster.replica(id);
      expect(replica.status().epoch).toBe(1);
      expect(replica.committedBatchAt(1)).toEqual([]);
      expect(replica.committedBatchAt(2)?.map((r) => r.clientId)).toEqual([1_000_001]);
    }
    // Client 0's write was re-proposed by the new primary after the gap, and both completed.
    expect(cluster.results(0)).toEqual([{ type: "put" }]);
    expect(cluster.results(1)).toEqual([{ type: "put" }]);
    expect(cluster.violations()).toEqual([]);
  });

  it("keeps a batch that committed in the old view at its sequence number in the new view", () => {
    const cluster = pbftCluster(4);
    cluster.submit({ type: "put", key: "x", value: value("1") });
    cluster.deliverAll();
    const digest = cluster.replica(1).committedDigestAt(1);
    cluster.makeByzantine(0, silentStrategy);
    cluster.submit({ type: "put", key: "x", value: value("2") });
    cluster.runUntil(() => cluster.idle(), 500);
    for (const id of [1, 2, 3]) expect(cluster.replica(id).committedDigestAt(1)).toBe(digest);
    expect(cluster.violations()).toEqual([]);
  });

  it("makes every backup reject a NEW-VIEW whose re-issued requests differ from what its view changes imply", () => {
    const cluster = pbftCluster(4, {}, 1);
    // Replica 1 will be the primary of view 1 and tampers with its NEW-VIEW; replica 0 is silent.
    cluster.submit({ type: "put", key: "x", value: value("1") });
    cluster.deliverAll();
    // Hold back commits so that sequence number 2 is prepared but not committed when the view changes.
    cluster.drop = (e) => e.message.type === "commit";
    cluster.submit({ type: "put", key: "x", value: value("2") });
    cluster.deliverAll();
    cluster.makeByzantine(0, silentStrategy);
    cluster.makeByzantine(1, forgeNewViewStrategy);
    cluster.runUntil(() => cluster.replica(2).status().epoch >= 1, 500);
    cluster.drop = undefined;
    cluster.runUntil(() => cluster.replica(2).status().epoch >= 2 && cluster.replica(2).isViewActive(), 2000);
    for (const id of [2, 3]) expect(cluster.replica(id).rejections().get("badNewView") ?? 0).toBeGreaterThan(0);
    // The tampered view never became active anywhere correct; view 2 re-issued the prepared write.
    cluster.runUntil(() => cluster.idle(), 2000);
    expect(cluster.results()).toEqual([{ type: "put" }, { type: "put" }]);
    expect(cluster.violations()).toEqual([]);
  });

  it("rejects a NEW-VIEW carrying fewer than 2f+1 view changes", () => {
    const cluster = pbftCluster(4);
    cluster.makeByzantine(0, silentStrategy);
    cluster.submit({ type: "put", key: "x", value: value("1") });
    cluster.runUntil(() => cluster.idle(), 500);
    const newView = cluster.sent.find((e) => e.message.type === "newView")?.message as PbftNewView;
    const replica = cluster.replica(3);
    const before = replica.rejections().get("badNewView") ?? 0;
    // Replayed into a later view with a short view-change set, it fails the signature or the quorum check.
    cluster.inject(1, 3, { ...newView, view: 5, viewChanges: newView.viewChanges.slice(0, 2) });
    cluster.deliverAll();
    const after = (replica.rejections().get("badNewView") ?? 0) + (replica.rejections().get("badAuthentication") ?? 0);
    expect(after).toBeGreaterThan(before);
    expect(replica.status().epoch).toBe(1);
  });
});

describe("PBFT client (PBFT §4.1)", () => {
  it("accepts the right result although f replicas reply with wrong ones", () => {
    for (const [n, faulty] of [
      [4, [3]],
      [7, [5, 6]],
    ] as const) {
      const cluster = pbftCluster(n);
      for (const id of faulty) cluster.makeByzantine(id, corruptResultsStrategy);
      cluster.submit({ type: "put", key: "x", value: value("right") });
      cluster.runUntil(() => cluster.idle(), 100);
      cluster.submit({ type: "cas", key: "x", expected: value("right"), value: value("next") });
      cluster.runUntil(() => cluster.idle(), 100);
      cluster.submit({ type: "get", key: "x" });
      cluster.runUntil(() => cluster.idle(), 100);
      expect(cluster.results()).toEqual([{ type: "put" }, { type: "cas", ok: true }, { type: "get", value: new Uint8Array(value("next")) }]);
    }
  });
});
