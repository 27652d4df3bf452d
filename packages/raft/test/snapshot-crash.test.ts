// A snapshot never destroys a synced term and vote (§5.1, Figure 2; issue 10,
// bug 1). A Ready that carries a snapshot also rewrites the hard state and the
// entries after the snapshot; until the sync that makes them durable, a crash
// must recover the previous snapshot and records, never the new snapshot alone.
// Each test crashes the replica at every point between writing that Ready and
// sending its messages, restarts it, and checks that it still holds its term,
// its vote and its log, and so refuses a second vote in the term it voted in.
import type { NodeId, Ready } from "@concord/core";
import { describe, expect, it } from "vitest";
import type { RaftMessage } from "@concord/raft";
import { type RaftCluster, raftCluster, elect, put } from "./kit.ts";

const options = { preVote: false, checkQuorum: false, snapshotEveryEntries: 1 };

/** CrashPoint is where, between persist and send, the replica crashes: after `records` records were written, or after the sync. */
type CrashPoint = { readonly records: number } | "synced";

function describePoint(point: CrashPoint): string {
  return point === "synced" ? "after the sync, before the messages leave" : `after ${point.records} of the Ready's records were written, before the sync`;
}

/**
 * crashPoints lists every point at which a replica can crash between writing
 * a Ready and sending its messages: after each prefix of its records, and
 * after the sync.
 */
function crashPoints(ready: Ready<RaftMessage>): CrashPoint[] {
  const points: CrashPoint[] = [];
  for (let records = 0; records <= ready.persist.length; records++) points.push({ records });
  points.push("synced");
  return points;
}

/** crashAt crashes the replica holding a written Ready at `point` and restarts it from its disk. */
function crashAt(net: RaftCluster, id: NodeId, point: CrashPoint): void {
  if (point === "synced") {
    net.syncReady(id);
    net.crash(id);
  } else {
    net.crash(id, point.records);
  }
  net.restart(id);
}

/**
 * expectNoSecondVoteInTerm2 restarts node 1 (the deposed leader of term 1,
 * whose log is as long as node 2's snapshot) and lets it campaign for term 2
 * through node 2 alone, node 3 (term 2's leader) being cut off: node 2 voted
 * for 3 in term 2, so node 1 must not be elected in term 2.
 */
function expectNoSecondVoteInTerm2(net: RaftCluster, point: CrashPoint): void {
  const context = describePoint(point);
  expect(net.replica(3).status(), context).toMatchObject({ role: "leader", epoch: 2 });
  net.heal();
  net.isolate(3);
  net.crash(1);
  net.restart(1);
  net.replica(1).campaign();
  net.deliverAll();
  expect(net.replica(1).status().epoch, context).toBe(2);
  expect(net.replica(1).raftRole(), context).not.toBe("leader"); // else two leaders in term 2
  expect(net.replica(2).hardState(), context).toMatchObject({ term: 2, vote: 3 });
}

describe("a crash between a snapshot and the next sync keeps the term, the vote and the log (§5.1; issue 10, bug 1)", () => {
  it("a snapshot taken while voting in a new term: the recovered replica still refuses a second vote in that term", () => {
    const build = (): RaftCluster => {
      const net = raftCluster([1, 2, 3], options);
      elect(net, 1);
      put(net, 1, "k", "v1"); // entry 2; the append carries commit 1, so both followers snapshot at 1
      // Node 3 learns that entry 2 committed; node 2 does not.
      net.drop = (e) => e.from === 1 && e.to === 2;
      net.tickAndDeliver(2, { only: 1 }); // the first round is skipped: the append just sent reset the followers' timers
      net.drop = undefined;
      expect(net.replica(3).status().commitIndex).toBe(2);
      expect(net.replica(2).status().commitIndex).toBe(1);
      // Node 1 is cut off; node 3 is elected in term 2 with node 2's vote. Its
      // first append brings node 2 the commit of entry 2: node 2 applies it and
      // snapshots in the Ready that persists the term-2 entry and hard state.
      net.isolate(1);
      net.beforeSync = (id, ready) => (id === 2 && ready.snapshot !== undefined ? "hold" : "sync");
      elect(net, 3);
      net.beforeSync = undefined;
      return net;
    };
    const held = build().heldReady(2);
    expect(held?.snapshot).toBeDefined();
    for (const point of crashPoints(held as Ready<RaftMessage>)) {
      const net = build();
      crashAt(net, 2, point);
      expect(net.replica(2).lastIndex(), describePoint(point)).toBeGreaterThanOrEqual(2);
      expectNoSecondVoteInTerm2(net, point);
    }
  });

  it("a snapshot installed from the leader (InstallSnapshot): the recovered replica still refuses a second vote in the leader's term", () => {
    const build = (): RaftCluster => {
      const net = raftCluster([1, 2, 3], options);
      elect(net, 1);
      // Node 2 misses entries 2 and 3; node 3 applies both and compacts its log past entry 1.
      net.drop = (e) => e.from === 1 && e.to === 2;
      put(net, 1, "k", "v1");
      put(net, 1, "k", "v2");
      net.tickAndDeliver(2, { only: 1 }); // the first round is skipped: the append just sent reset the followers' timers
      net.drop = undefined;
      expect(net.replica(3).status().appliedIndex).toBe(3);
      expect(net.replica(3).entryTerm(1)).toBeUndefined(); // compacted
      expect(net.replica(2).lastIndex()).toBe(1);
      // Node 3 is elected in term 2 with node 2's vote, finds node 2 behind its
      // compacted log and sends it the snapshot at 3; node 2 installs it.
      net.isolate(1);
      net.beforeSync = (id, ready) => (id === 2 && ready.snapshot !== undefined ? "hold" : "sync");
      elect(net, 3);
      net.beforeSync = undefined;
      return net;
    };
    const held = build().heldReady(2);
    expect(held?.snapshot).toBeDefined();
    expect(build().delivered.get("installSnapshot")).toBeGreaterThan(0);
    for (const point of crashPoints(held as Ready<RaftMessage>)) {
      const net = build();
      crashAt(net, 2, point);
      expect(net.replica(2).lastIndex(), describePoint(point)).toBeGreaterThanOrEqual(1);
      expectNoSecondVoteInTerm2(net, point);
    }
  });
});
