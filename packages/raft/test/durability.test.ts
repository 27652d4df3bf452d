// Durability through Ready.persist (Raft §5.1, Figure 2: term, vote and log are
// on stable storage before a replica answers) and recovery from the records.
import { describe, expect, it } from "vitest";
import type { Ready } from "@concord/core";
import type { RaftMessage } from "@concord/raft";
import { decodeRecord, decodeSnapshot } from "../src/records.ts";
import { type RaftCluster, raftCluster, elect, put, terms, seedLog, logEntry } from "./kit.ts";

function recordsOf(ready: Ready<RaftMessage>) {
  return ready.persist.map(decodeRecord);
}

/** lastPersistedCommit reads the commit index of the last hard-state record on a replica's disk. */
function lastPersistedCommit(net: RaftCluster, id: number): number {
  let commit = 0;
  for (const bytes of net.disk(id).records ?? []) {
    const record = decodeRecord(bytes);
    if (record.type === "hardState") commit = record.hardState.commit;
  }
  return commit;
}

describe("persist before send", () => {
  it("a vote leaves in the same Ready as the record of that vote", () => {
    const net = raftCluster([1, 2, 3]);
    net.replica(2).step(1, { type: "requestVote", term: 1, lastLogIndex: 0, lastLogTerm: 0, preVote: false, transfer: false });
    const ready = net.collect(2) as Ready<RaftMessage>;
    expect(ready.messages.map((m) => m.message.type)).toEqual(["voteResponse"]);
    expect(recordsOf(ready)).toContainEqual({ type: "hardState", hardState: { term: 1, vote: 1, commit: 0 } });
  });

  it("a vote granted in a term the replica already held leaves with the record of that vote, and survives a crash (§5.1)", () => {
    const net = raftCluster([1, 2, 3]);
    seedLog(net, 3, [1], 1);
    // Node 1's request (an empty log) is refused, but it brings node 3 into term 2 without a vote.
    net.replica(3).step(1, { type: "requestVote", term: 2, lastLogIndex: 0, lastLogTerm: 0, preVote: false, transfer: false });
    net.collect(3);
    expect(net.replica(3).hardState()).toMatchObject({ term: 2, vote: undefined });
    net.replica(3).step(2, { type: "requestVote", term: 2, lastLogIndex: 1, lastLogTerm: 1, preVote: false, transfer: false });
    const ready = net.collect(3) as Ready<RaftMessage>;
    expect(ready.messages.map((m) => m.message)).toMatchObject([{ type: "voteResponse", term: 2, reject: false }]);
    expect(recordsOf(ready)).toContainEqual({ type: "hardState", hardState: { term: 2, vote: 2, commit: 0 } });
    net.crash(3);
    net.restart(3);
    net.queue = [];
    net.replica(3).step(4, { type: "requestVote", term: 2, lastLogIndex: 5, lastLogTerm: 1, preVote: false, transfer: false });
    net.collect(3);
    expect(net.queue.map((e) => e.message)).toMatchObject([{ type: "voteResponse", term: 2, reject: true }]);
  });

  it("a candidate's vote requests leave with the record of its new term and self-vote", () => {
    const net = raftCluster([1, 2, 3]);
    net.replica(1).campaign();
    const ready = net.collect(1) as Ready<RaftMessage>;
    expect(ready.messages.length).toBe(2);
    expect(recordsOf(ready)).toContainEqual({ type: "hardState", hardState: { term: 1, vote: 1, commit: 0 } });
  });

  it("an acknowledgement leaves with the records of the entries it acknowledges", () => {
    const net = raftCluster([1, 2, 3]);
    elect(net, 1);
    net.request(1, { type: "put", key: "k", value: new Uint8Array([1]) }, { clientId: 1_000_000, sequence: 1, stepOnly: true });
    net.collect(1);
    const append = net.queue.find((e) => e.to === 2 && e.message.type === "appendEntries");
    expect(append).toBeDefined();
    net.queue = [];
    net.deliver(append!, { drain: false });
    const ready = net.collect(2) as Ready<RaftMessage>;
    expect(ready.messages.map((m) => m.message)).toMatchObject([{ type: "appendResponse", index: 2, reject: false }]);
    expect(recordsOf(ready).filter((r) => r.type === "entry").map((r) => (r.type === "entry" ? r.entry.index : 0))).toEqual([2]);
  });

  it("a leader's append may leave before its own new entries are synced (thesis §10.2.1), and nothing that promises does", () => {
    const net = raftCluster([1, 2, 3]);
    elect(net, 1);
    net.request(1, { type: "put", key: "k", value: new Uint8Array([1]) }, { clientId: 1_000_000, sequence: 1, stepOnly: true });
    const ready = net.collect(1) as Ready<RaftMessage>;
    expect(ready.messagesBeforeSync?.some((m) => m.message.type === "appendEntries")).toBe(true);
    expect(ready.messages.some((m) => m.message.type === "appendEntries")).toBe(false);
    expect(recordsOf(ready).some((r) => r.type === "entry" && r.entry.index === 2)).toBe(true);
  });

  it("with its appends sent before its sync, a leader counts its own copy toward commit only once synced", () => {
    const net = raftCluster([1, 2, 3]);
    elect(net, 1);
    net.request(1, { type: "put", key: "k", value: new Uint8Array([1]) }, { clientId: 1_000_000, sequence: 1, stepOnly: true });
    net.persistReady(1); // written, not synced: the appends are already on the wire
    const appends = net.queue.filter((e) => e.message.type === "appendEntries");
    expect(appends.map((e) => e.to).sort()).toEqual([2, 3]);
    net.queue = [];
    net.deliver(appends.find((e) => e.to === 2)!);
    const ack2 = net.queue.filter((e) => e.to === 1 && e.message.type === "appendResponse");
    expect(ack2).toHaveLength(1);
    net.queue = [];
    // The follower synced its copy and acknowledged it while the leader's own write is still unsynced.
    expect(net.heldReady(1)).toBeDefined();
    net.syncReady(1);
    net.sendReady(1);
    expect(net.replica(1).status().commitIndex).toBe(1);
    net.deliver(ack2[0]!, { drain: false });
    // One follower's synced copy plus the leader's, now synced too: a majority.
    expect(net.replica(1).status().commitIndex).toBe(2);
  });

  it("a leader's own copy counts toward commit only once synced: a lone voter that crashes before its sync committed nothing", () => {
    // Found by `concord swarm` (chaos seed 1842): a leader left the only voter by
    // reconfiguration counted its unsynced entry, committed and applied it, then a
    // crash before the sync lost it and a later leader committed another at that index.
    const net = raftCluster([1], undefined, 1, [1]);
    elect(net, 1);
    expect(net.replica(1).status()).toMatchObject({ commitIndex: 1, appliedIndex: 1 });
    net.request(1, { type: "put", key: "k", value: new TextEncoder().encode("lost") }, { clientId: 1_000_000, sequence: 1, stepOnly: true });
    net.persistReady(1);
    expect(net.replica(1).status()).toMatchObject({ commitIndex: 1, appliedIndex: 1 });
    expect(net.value(1, "k")).toBeUndefined();
    net.crash(1); // before the sync: the entry at index 2 is gone
    net.restart(1);
    elect(net, 1);
    put(net, 1, "k", "kept", 1_000_001);
    expect(net.value(1, "k")).toBe("kept");
    expect(net.replica(1).entryTerm(2)).toBe(2);
    expect(net.repliesTo(1_000_000)).toEqual([]);
  });

  it("a leader's synced entry commits once a follower acknowledges it, not before its own sync", () => {
    const net = raftCluster([1, 2, 3]);
    elect(net, 1);
    net.request(1, { type: "put", key: "k", value: new Uint8Array([1]) }, { clientId: 1_000_000, sequence: 1, stepOnly: true });
    // A follower's acknowledgement (as from a runtime that sends before its own sync) does not commit alone.
    net.replica(1).step(2, { type: "appendResponse", term: 1, index: 2, reject: false, rejectHint: 0, logTerm: 0, readContext: 0 });
    expect(net.replica(1).status().commitIndex).toBe(1);
    net.collect(1);
    expect(net.replica(1).status().commitIndex).toBe(2);
  });
});

describe("recovery", () => {
  it("a restarted replica recovers its term, vote, log, commit index and state", () => {
    const net = raftCluster([1, 2, 3]);
    elect(net, 1);
    put(net, 1, "a", "1");
    put(net, 1, "b", "2");
    net.tickAndDeliver(2, { only: 1 });
    const before = net.replica(2).hardState();
    const entries = net.replica(2).logEntries();
    net.crash(2);
    const restarted = net.restart(2);
    // The commit index is a hint persisted with other records (never a sync of its own), so it may lag.
    const persistedCommit = lastPersistedCommit(net, 2);
    expect(persistedCommit).toBeGreaterThanOrEqual(2);
    expect(restarted.hardState()).toEqual({ ...before, commit: persistedCommit });
    expect(restarted.logEntries()).toEqual(entries);
    expect(restarted.status()).toMatchObject({ role: "follower", commitIndex: persistedCommit, appliedIndex: persistedCommit });
    expect(net.value(2, "a")).toBe("1");
    net.tickAndDeliver(2, { only: 1 });
    expect(restarted.status()).toMatchObject({ commitIndex: 3, appliedIndex: 3 });
    expect(net.value(2, "b")).toBe("2");
  });

  it("a commit index that changes alone is not synced, but rides along with the next records", () => {
    const net = raftCluster([1, 2, 3]);
    elect(net, 1);
    put(net, 1, "a", "1");
    net.tickAndDeliver(2, { only: 1 }); // the heartbeat that brings commit 2 to node 2 carries no entries
    const heartbeatReadies = (net.readies.get(2) ?? []).filter((r) => r.messages.some((m) => m.message.type === "heartbeatResponse"));
    expect(heartbeatReadies.length).toBeGreaterThan(0);
    expect(heartbeatReadies.every((r) => r.persist.length === 0)).toBe(true);
    expect(net.replica(2).status().commitIndex).toBe(2);
    put(net, 1, "b", "2");
    expect(lastPersistedCommit(net, 2)).toBe(2);
  });

  it("recovery replays a truncation: an entry record replaces every entry from its index on", () => {
    const net = raftCluster([1, 2, 3]);
    seedLog(net, 2, [1, 1, 2, 2], 2);
    net.replica(2).step(1, { type: "appendEntries", term: 3, prevLogIndex: 2, prevLogTerm: 1, entries: [logEntry(3, 3)], commit: 0, readContext: 0 });
    net.collect(2);
    expect(terms(net, 2)).toEqual([1, 1, 3]);
    net.crash(2);
    net.restart(2);
    expect(terms(net, 2)).toEqual([1, 1, 3]);
    expect(net.replica(2).hardState().term).toBe(3);
  });

  it("a replica that crashes after voting does not vote for another candidate in that term", () => {
    const net = raftCluster([1, 2, 3]);
    net.replica(3).step(1, { type: "requestVote", term: 4, lastLogIndex: 0, lastLogTerm: 0, preVote: false, transfer: false });
    net.collect(3);
    net.crash(3);
    net.restart(3);
    net.queue = [];
    net.replica(3).step(2, { type: "requestVote", term: 4, lastLogIndex: 9, lastLogTerm: 3, preVote: false, transfer: false });
    net.collect(3);
    expect(net.queue.map((e) => e.message)).toEqual([{ type: "voteResponse", term: 4, reject: true, preVote: false, commit: 0, commitTerm: 0 }]);
  });

  it("a whole cluster restarted from disk elects a leader and keeps every committed write", () => {
    const net = raftCluster([1, 2, 3]);
    elect(net, 1);
    for (let i = 0; i < 5; i++) put(net, 1, `k${i}`, `v${i}`);
    for (const id of [1, 2, 3]) net.crash(id);
    for (const id of [1, 2, 3]) net.restart(id);
    elect(net, 2);
    put(net, 2, "after", "x");
    for (let i = 0; i < 5; i++) expect(net.value(2, `k${i}`)).toBe(`v${i}`);
    net.tickAndDeliver(2, { only: 2 });
    expect(net.value(3, "k4")).toBe("v4");
  });
});

describe("compaction (§7)", () => {
  it("a snapshot replaces the durable log, and the hard state and later entries are persisted in the same Ready", () => {
    const net = raftCluster([1, 2, 3], { preVote: false, checkQuorum: false, snapshotEveryEntries: 4 });
    elect(net, 1);
    const readies: Ready<RaftMessage>[] = [];
    for (let i = 0; i < 4; i++) {
      net.request(1, { type: "put", key: `k${i}`, value: new Uint8Array([i]) }, { clientId: 1_000_000 + i, sequence: 1, stepOnly: true });
      net.deliverAll();
    }
    for (const ready of net.readies.get(1) ?? []) if (ready.snapshot !== undefined) readies.push(ready);
    expect(readies.length).toBe(1);
    const ready = readies[0] as Ready<RaftMessage>;
    const snapshot = decodeSnapshot(ready.snapshot as Uint8Array);
    expect(snapshot.index).toBe(4);
    expect(snapshot.config.voters).toEqual([1, 2, 3]);
    const records = recordsOf(ready);
    expect(records.some((r) => r.type === "hardState")).toBe(true);
    expect(records.filter((r) => r.type === "entry").every((r) => r.type === "entry" && r.entry.index > 4)).toBe(true);
    // Restart from that disk: the snapshot and the records after it rebuild the same state.
    net.crash(1);
    net.restart(1);
    expect(net.replica(1).snapshotIndex()).toBe(4);
    expect(net.replica(1).status().appliedIndex).toBe(Math.max(4, lastPersistedCommit(net, 1)));
    expect(net.replica(1).lastIndex()).toBe(5); // the entry after the snapshot came back from its record
    expect(net.value(1, "k2")).toBe("\u0002"); // k2 (index 4) is in the snapshot
  });
});

describe("a crash before the sync keeps any prefix of the Ready's records (Storage)", () => {
  // Found by `concord explore --algo raft --crashes 1`: a follower that learned
  // term 1 from an AppendEntries carrying an entry of term 1 crashed before its
  // sync keeping the entry record but not the hard state after it, and could
  // never restart ("recovered term 0 is below the term 1 of the last entry").
  it("a follower that learns a new term and its entries in one Ready restarts from every prefix, its term never below its log's", () => {
    let prefixes = 0;
    for (let kept = 0; ; kept++) {
      const net = raftCluster([1, 2, 3]);
      net.replica(1).campaign();
      net.drain(1);
      net.take((envelope) => envelope.to === 3); // node 3 never hears the election
      for (const envelope of net.take((envelope) => envelope.to === 2)) net.deliver(envelope);
      for (const envelope of net.take((envelope) => envelope.to === 1)) net.deliver(envelope);
      expect(net.replica(1).status().role).toBe("leader");
      const [append] = net.take((envelope) => envelope.to === 3 && envelope.message.type === "appendEntries");
      expect(append).toBeDefined();
      let written = 0;
      net.beforeSync = (id, ready) => {
        if (id !== 3) return "sync";
        written = ready.persist.length;
        return { crashKeepingUnsyncedRecords: kept };
      };
      if (append !== undefined) net.deliver(append);
      net.beforeSync = undefined;
      expect(net.isRunning(3)).toBe(false);
      const restarted = net.restart(3);
      expect(restarted.status().epoch).toBeGreaterThanOrEqual(terms(net, 3).at(-1) ?? 0);
      prefixes++;
      if (kept + 1 >= written) break;
    }
    expect(prefixes).toBeGreaterThanOrEqual(2);
  });
});
