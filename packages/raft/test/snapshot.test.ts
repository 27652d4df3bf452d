// Snapshots and InstallSnapshot (Raft §7).
import { describe, expect, it } from "vitest";
import type { RaftInstallSnapshot } from "@concord/raft";
import { decodeSnapshot, encodeSnapshot } from "../src/records.ts";
import { raftCluster, elect, put, terms, seedLog } from "./kit.ts";

const options = { preVote: false, checkQuorum: false, snapshotEveryEntries: 5, messageBytesMax: 64 };

describe("InstallSnapshot (§7)", () => {
  it("a follower that fell behind the leader's compacted log receives the snapshot in chunks and catches up", () => {
    const net = raftCluster([1, 2, 3], options);
    elect(net, 1);
    net.crash(3);
    for (let i = 0; i < 12; i++) put(net, 1, `key${i}`, `value-${i}-${"x".repeat(20)}`);
    expect(net.replica(1).snapshotIndex()).toBeGreaterThan(1);
    net.restart(3);
    net.tickAndDeliver(3, { only: 1 });
    expect(net.delivered.get("installSnapshot") ?? 0).toBeGreaterThan(2);
    expect(net.delivered.get("snapshotResponse") ?? 0).toBeGreaterThan(1);
    net.tickAndDeliver(3, { only: 1 });
    expect(net.replica(3).status().appliedIndex).toBe(net.replica(1).status().appliedIndex);
    for (let i = 0; i < 12; i++) expect(net.value(3, `key${i}`)).toBe(`value-${i}-${"x".repeat(20)}`);
    expect(net.replica(1).progressOf(3)?.state).toBe("replicate");
  });

  it("a leader moves a follower behind its compacted log from probe to snapshot state, and back to replicate once installed (etcd's progress states)", () => {
    const net = raftCluster([1, 2, 3], options);
    elect(net, 1);
    net.crash(3);
    for (let i = 0; i < 12; i++) put(net, 1, `key${i}`, `value-${i}-${"x".repeat(20)}`);
    net.restart(3);
    net.drop = (e) => e.message.type === "installSnapshot" && e.message.offset > 0;
    net.tickAndDeliver(3, { only: 1 });
    expect(net.delivered.get("installSnapshot") ?? 0).toBeGreaterThan(0);
    expect(net.replica(1).progressOf(3)?.state).toBe("snapshot");
    expect(net.replica(1).progressOf(2)?.state).toBe("replicate");
    net.drop = () => false;
    net.tickAndDeliver(6, { only: 1 });
    expect(net.replica(1).progressOf(3)?.state).toBe("replicate");
    expect(net.replica(3).snapshotIndex()).toBeGreaterThan(1);
  });

  it("a lost chunk is sent again on the next heartbeat response", () => {
    const net = raftCluster([1, 2, 3], options);
    elect(net, 1);
    net.crash(3);
    for (let i = 0; i < 12; i++) put(net, 1, `key${i}`, `value-${i}-${"x".repeat(20)}`);
    net.restart(3);
    let dropped = 0;
    net.drop = (e) => e.message.type === "installSnapshot" && e.message.offset > 0 && dropped++ < 2;
    net.tickAndDeliver(10, { only: 1 });
    expect(dropped).toBeGreaterThanOrEqual(2);
    expect(net.value(3, "key11")).toBe(`value-11-${"x".repeat(20)}`);
  });

  it("a restarted follower that lost a half-received snapshot starts it over", () => {
    const net = raftCluster([1, 2, 3], options);
    elect(net, 1);
    net.crash(3);
    for (let i = 0; i < 12; i++) put(net, 1, `key${i}`, `value-${i}-${"x".repeat(20)}`);
    net.restart(3);
    let chunks = 0;
    net.drop = (e) => {
      if (e.to === 3 && e.message.type === "installSnapshot" && ++chunks === 2) {
        net.crash(3);
        net.restart(3);
      }
      return false;
    };
    net.tickAndDeliver(10, { only: 1 });
    net.drop = undefined;
    net.tickAndDeliver(3, { only: 1 });
    expect(net.value(3, "key11")).toBe(`value-11-${"x".repeat(20)}`);
  });

  function snapshotMessage(index: number, term: number, data: Uint8Array): RaftInstallSnapshot {
    return { type: "installSnapshot", term: 5, snapshotIndex: index, snapshotTerm: term, voters: [1, 2, 3], outgoing: [], learners: [], offset: 0, data, done: true, totalBytes: data.length };
  }

  function leaderSnapshotData(): Uint8Array {
    // A real state: build it on a throwaway cluster.
    const donor = raftCluster([1], { snapshotEveryEntries: 3 });
    elect(donor, 1);
    put(donor, 1, "from-snapshot", "yes");
    put(donor, 1, "other", "1");
    return decodeSnapshot(donor.disk(1).snapshot as Uint8Array).data;
  }

  it("a follower discards its whole log when the snapshot covers it", () => {
    const net = raftCluster([1, 2, 3], options);
    seedLog(net, 2, [1, 1, 2, 2], 4, options);
    net.replica(2).step(1, snapshotMessage(6, 3, leaderSnapshotData()));
    expect(net.replica(2).logEntries()).toEqual([]);
    expect(net.replica(2).snapshotIndex()).toBe(6);
    expect(net.replica(2).status()).toMatchObject({ commitIndex: 6, appliedIndex: 6, leader: 1, epoch: 5 });
    expect(net.value(2, "from-snapshot")).toBe("yes");
    const ready = net.collect(2);
    expect(ready?.snapshot).toBeDefined();
    // And it survives a restart from the snapshot it persisted.
    net.crash(2);
    net.restart(2, { options });
    expect(net.replica(2).snapshotIndex()).toBe(6);
    expect(net.value(2, "from-snapshot")).toBe("yes");
  });

  it("a follower that holds the snapshot's last entry keeps the entries after it", () => {
    const net = raftCluster([1, 2, 3], options);
    seedLog(net, 2, [1, 1, 2, 2], 4, options);
    net.replica(2).step(1, snapshotMessage(3, 2, new Uint8Array([1, 2, 3])));
    expect(terms(net, 2)).toEqual([1, 1, 2, 2]);
    expect(net.replica(2).status().commitIndex).toBe(3);
  });

  it("a follower that holds the snapshot's last entry acknowledges its commit index, not the entries after it (etcd's handleSnapshot)", () => {
    const net = raftCluster([1, 2, 3], options);
    seedLog(net, 2, [1, 1, 2, 2], 4, options);
    net.queue = [];
    net.replica(2).step(1, snapshotMessage(2, 1, new Uint8Array([1, 2, 3])));
    net.collect(2);
    // Entries 3 and 4 (term 2) may differ from the leader's: only the snapshot's prefix is known to match.
    expect(net.queue.map((e) => e.message)).toMatchObject([{ type: "appendResponse", reject: false, index: 2 }]);
  });

  it("a leader does not count a follower's conflicting entries after a matching snapshot towards a commit", () => {
    const net = raftCluster([1, 2, 3], { ...options, snapshotEveryEntries: 2, messageBytesMax: 1 << 20 });
    elect(net, 1);
    put(net, 1, "k", "v1"); // entries 1 and 2 of term 1; node 1 snapshots at 2
    // Node 2 holds entries 1 and 2, learned no commit, and then took entries 3 and 4 from a leader of term 2.
    seedLog(net, 2, [1, 1, 2, 2], 2, options);
    net.isolate(2);
    // Node 1 restarts, wins term 3 with node 3 (term 2 was node 2's), commits
    // its no-op at 3, then appends k=v2 at 4 while node 3 is cut off.
    net.crash(1);
    net.restart(1);
    net.cut(1, 3);
    net.replica(1).campaign();
    net.deliverAll();
    net.heal();
    net.isolate(2);
    net.replica(1).campaign();
    net.deliverAll();
    expect(net.replica(1).status()).toMatchObject({ role: "leader", epoch: 3, commitIndex: 3 });
    net.cut(1, 3);
    put(net, 1, "k", "v2");
    expect(net.replica(1).lastIndex()).toBe(4);
    // The leader's snapshot at 2 reaches node 2 (a message built by hand: the
    // leader's own back-off never sends a snapshot that the follower's log
    // matches, but an acknowledgement must be true whichever way it came).
    const snapshot = decodeSnapshot(net.disk(1).snapshot as Uint8Array);
    expect(snapshot).toMatchObject({ index: 2, term: 1 });
    net.heal();
    net.isolate(3);
    net.queue = [];
    net.replica(2).step(1, { ...snapshotMessage(2, 1, snapshot.data), term: 3 });
    net.deliverAll();
    // Whatever the leader committed, node 2 (its only other replica now) holds: it must not count node 2's term-2 entries.
    const commit = net.replica(1).status().commitIndex;
    expect(commit).toBeGreaterThanOrEqual(3);
    for (let index = 3; index <= commit; index++) expect(net.replica(2).entryTerm(index), `entry ${index}`).toBe(net.replica(1).entryTerm(index));
  });

  it("a snapshot older than the follower's commit index changes nothing", () => {
    const net = raftCluster([1, 2, 3]);
    elect(net, 1);
    for (let i = 0; i < 3; i++) put(net, 1, `k${i}`, "v");
    net.tickAndDeliver(2, { only: 1 });
    const before = net.replica(2).logEntries();
    net.replica(2).step(1, { ...snapshotMessage(2, 1, new Uint8Array([9])), term: 1 });
    expect(net.replica(2).logEntries()).toEqual(before);
    expect(net.value(2, "k2")).toBe("v");
  });

  it("the durable snapshot format round-trips its index, term, configuration and data", () => {
    const snapshot = { index: 7, term: 3, config: { voters: [1, 2], outgoing: [1, 2, 3], learners: [9] }, data: new Uint8Array([5, 6]) };
    expect(decodeSnapshot(encodeSnapshot(snapshot))).toEqual(snapshot);
  });
});
