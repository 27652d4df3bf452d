// Log replication, keyed to the Raft paper §5.3 and §5.4.2 (after etcd-io/raft's
// raft_paper_test.go and TestLeaderSyncFollowerLog).
import { firstClientId } from "@concord/core";
import { encodeCommand } from "@concord/kv";
import { describe, expect, it } from "vitest";
import type { RaftAppendEntries, Entry, RaftMessage } from "@concord/raft";
import { type RaftCluster, raftCluster, elect, put, terms, seedLog, entriesOfTerms } from "./kit.ts";

const client = firstClientId;

function append(term: number, prevLogIndex: number, prevLogTerm: number, entries: Entry[], commit = 0): RaftAppendEntries {
  return { type: "appendEntries", term, prevLogIndex, prevLogTerm, entries, commit, readContext: 0 };
}

function sent(net: RaftCluster, from: number): RaftMessage[] {
  net.collect(from);
  const out = net.queue.filter((e) => e.from === from).map((e) => e.message);
  net.queue = net.queue.filter((e) => e.from !== from);
  return out;
}

describe("§5.3 log replication", () => {
  it("a leader commits a proposal once a majority holds it, then applies it and replies to the client", () => {
    const net = raftCluster([1, 2, 3, 4, 5]);
    elect(net, 1);
    net.crash(4);
    net.crash(5);
    put(net, 1, "x", "1");
    expect(net.replica(1).status().commitIndex).toBe(2);
    expect(net.value(1, "x")).toBe("1");
    expect(net.repliesTo(client)).toEqual([{ sequence: 1, result: { type: "put" }, from: 1 }]);
  });

  it("a leader does not commit without a majority", () => {
    const net = raftCluster([1, 2, 3, 4, 5]);
    elect(net, 1);
    net.crash(3);
    net.crash(4);
    net.crash(5);
    put(net, 1, "x", "1");
    expect(net.replica(1).status().commitIndex).toBe(1);
    expect(net.repliesTo(client)).toEqual([]);
  });

  it("the commit index reaches followers on the next append or heartbeat", () => {
    const net = raftCluster([1, 2, 3]);
    elect(net, 1);
    put(net, 1, "x", "1");
    expect(net.replica(1).status().commitIndex).toBe(2);
    expect(net.replica(2).status().commitIndex).toBe(1);
    put(net, 1, "y", "2");
    expect(net.replica(2).status().commitIndex).toBe(2);
    expect(net.value(2, "x")).toBe("1");
    // The first heartbeat round after an append is skipped as redundant; the next one carries the commit index.
    net.tickAndDeliver(2, { only: 1 });
    expect(net.replica(2).status().commitIndex).toBe(3);
    expect(net.value(2, "y")).toBe("2");
  });

  it("a follower rejects an append whose (prevLogIndex, prevLogTerm) it does not hold, with a conflict hint", () => {
    const net = raftCluster([1, 2, 3]);
    seedLog(net, 2, [1, 1, 2], 2);
    net.queue = [];
    net.replica(2).step(1, append(3, 3, 3, entriesOfTerms([3], 4)));
    expect(sent(net, 2)).toEqual([{ type: "appendResponse", term: 3, index: 3, reject: true, rejectHint: 3, logTerm: 2, readContext: 0 }]);
    net.replica(2).step(1, append(3, 5, 3, entriesOfTerms([3], 6)));
    expect(sent(net, 2)).toEqual([{ type: "appendResponse", term: 3, index: 5, reject: true, rejectHint: 3, logTerm: 2, readContext: 0 }]);
    expect(terms(net, 2)).toEqual([1, 1, 2]);
  });

  it("a follower truncates a conflicting suffix and keeps what agrees", () => {
    const net = raftCluster([1, 2, 3]);
    seedLog(net, 2, [1, 1, 2, 2], 2);
    net.replica(2).step(1, append(3, 2, 1, entriesOfTerms([2, 3], 3)));
    expect(terms(net, 2)).toEqual([1, 1, 2, 3]);
    net.replica(2).step(1, append(3, 1, 1, entriesOfTerms([1], 2)));
    expect(terms(net, 2)).toEqual([1, 1, 2, 3]); // an old, shorter append truncates nothing
    net.replica(2).step(1, append(4, 2, 1, entriesOfTerms([4], 3)));
    expect(terms(net, 2)).toEqual([1, 1, 4]);
  });

  it("a follower commits only up to the last entry the append proved it holds", () => {
    const net = raftCluster([1, 2, 3]);
    seedLog(net, 2, [1, 1, 1, 1], 1);
    net.replica(2).step(1, append(2, 1, 1, entriesOfTerms([1], 2), 4));
    expect(net.replica(2).status().commitIndex).toBe(2);
  });

  // Figure 7: the leader of term 8 and six possible follower logs.
  const leaderLog = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
  const figure7: Record<string, number[]> = {
    a: [1, 1, 1, 4, 4, 5, 5, 6, 6],
    b: [1, 1, 1, 4],
    c: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
    d: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
    e: [1, 1, 1, 4, 4, 4, 4],
    f: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
  };
  it.each(Object.entries(figure7))("a leader repairs follower log (%s) of Figure 7 with fast back-off", (_name, followerLog) => {
    const net = raftCluster([1, 2, 3]);
    seedLog(net, 1, leaderLog, 7);
    seedLog(net, 2, followerLog, 7);
    seedLog(net, 3, [], 7);
    elect(net, 1);
    expect(net.replica(1).status()).toMatchObject({ role: "leader", epoch: 8 });
    put(net, 1, "k", "v");
    expect(terms(net, 2)).toEqual([...leaderLog, 8, 8]);
    expect(net.replica(1).status().commitIndex).toBe(12);
    // One probe, one hinted retry per diverging term at most: never one append per entry.
    expect(net.delivered.get("appendEntries") ?? 0).toBeLessThanOrEqual(8);
  });

  it("a new leader overwrites a follower's uncommitted entries, even of a higher term", () => {
    const net = raftCluster([1, 2, 3]);
    seedLog(net, 1, [1, 2, 4], 5);
    seedLog(net, 2, [1, 3], 5);
    seedLog(net, 3, [1], 5);
    elect(net, 1);
    expect(terms(net, 2)).toEqual([1, 2, 4, 6]);
    expect(net.replica(1).status().commitIndex).toBe(4);
  });
});

describe("§5.4.2 committing entries from previous terms", () => {
  it("a leader commits only entries of its own term by counting replicas", () => {
    const net = raftCluster([1, 2, 3]);
    seedLog(net, 1, [1, 2], 2);
    seedLog(net, 2, [1, 2], 2);
    const leader = net.replica(1);
    leader.campaign();
    leader.step(2, { type: "voteResponse", term: 3, reject: false, preVote: false, commit: 0, commitTerm: 0 });
    expect(leader.raftRole()).toBe("leader");
    expect(terms(net, 1)).toEqual([1, 2, 3]);
    net.collect(1); // the leader's own term-3 entry is synced, so its copy counts
    leader.step(2, { type: "appendResponse", term: 3, index: 2, reject: false, rejectHint: 0, logTerm: 0, readContext: 0 });
    expect(leader.status().commitIndex).toBe(0); // index 2 is on a majority, but of term 2
    leader.step(2, { type: "appendResponse", term: 3, index: 3, reject: false, rejectHint: 0, logTerm: 0, readContext: 0 });
    expect(leader.status().commitIndex).toBe(3); // the term-3 entry commits, and with it everything before
  });

  it("Figure 8: an entry of an older term on a majority may still be overwritten, so it is not committed", () => {
    const net = raftCluster([1, 2, 3, 4, 5]);
    // (c) S1 leads term 4 and has spread its term-2 entry to S2 and S3; S5 has a term-3 entry.
    seedLog(net, 1, [1, 2], 4);
    seedLog(net, 2, [1, 2], 4);
    seedLog(net, 3, [1, 2], 4);
    seedLog(net, 4, [1], 4);
    seedLog(net, 5, [1, 3], 4);
    for (const id of [1, 2, 3, 4, 5]) expect(net.replica(id).status().commitIndex).toBe(0);
    // (d) S5 can be elected (S2, S3, S4 vote for it: its last term 3 beats 2) and overwrites index 2.
    net.isolate(1);
    elect(net, 5);
    expect(net.replica(5).raftRole()).toBe("leader");
    expect(terms(net, 2)).toEqual([1, 3, 5]);
  });
});

/** expectCommittedPrefixesAgree checks State Machine Safety (§5.4.3): no two replicas committed different entries at an index. */
function expectCommittedPrefixesAgree(net: RaftCluster, ids: readonly number[]): void {
  for (const a of ids) {
    for (const b of ids) {
      const upTo = Math.min(net.replica(a).status().commitIndex, net.replica(b).status().commitIndex);
      for (let index = 1; index <= upTo; index++) {
        const termA = net.replica(a).entryTerm(index);
        const termB = net.replica(b).entryTerm(index);
        if (termA !== undefined && termB !== undefined) expect(termA, `replicas ${a} and ${b} committed different entries at ${index}`).toBe(termB);
      }
    }
  }
}

describe("§5.4.2 played out (Figure 8, (c) to (d))", () => {
  it("a leader that spread an entry of an earlier term to a majority does not commit it, so the next leader's overwrite loses nothing committed", () => {
    const net = raftCluster([1, 2, 3, 4, 5], { preVote: false, checkQuorum: false, batchEntriesMax: 1 });
    // (b) S1 led term 2 and wrote index 2 only on itself; S5 led term 3 and wrote index 2 only on itself.
    seedLog(net, 1, [1, 2], 3);
    seedLog(net, 2, [1], 3);
    seedLog(net, 3, [1], 3);
    seedLog(net, 4, [1], 3);
    seedLog(net, 5, [1, 3], 3);
    // (c) S1 leads term 4 and copies its term-2 entry to S2 and S3, but its own term-4 entry reaches no one.
    // (The first append, after index 2, is let through: the followers refuse it, which makes S1 back off to index 2.)
    net.drop = (e) => e.message.type === "appendEntries" && e.message.entries.some((entry) => entry.index >= 3) && net.replica(e.to).lastIndex() >= 2;
    elect(net, 1);
    expect(net.replica(1).status()).toMatchObject({ role: "leader", epoch: 4 });
    expect(terms(net, 2)).toEqual([1, 2]);
    expect(terms(net, 3)).toEqual([1, 2]);
    net.tickAndDeliver(3, { only: 1 });
    // (d) S1 is cut off; S5 is elected (its last term 3 beats 2) and overwrites index 2 everywhere it reaches.
    net.drop = undefined;
    net.isolate(1);
    elect(net, 5);
    if (net.replica(5).raftRole() !== "leader") elect(net, 5); // its first try may meet S1's term 4
    expect(net.replica(5).raftRole()).toBe("leader");
    net.tickAndDeliver(3, { only: 5 });
    expect(terms(net, 2).slice(0, 2)).toEqual([1, 3]);
    expect(net.replica(2).status().commitIndex).toBeGreaterThanOrEqual(2);
    expectCommittedPrefixesAgree(net, [1, 2, 3, 4, 5]);
  });
});

describe("a follower whose log is shorter than its match (issue 21)", () => {
  for (const snapshotEveryEntries of [10_000, 2]) {
    it(`a follower that lost its log is noticed and repaired${snapshotEveryEntries === 2 ? " with a snapshot" : ""}, not probed for ever`, () => {
      const net = raftCluster([1, 2, 3], { preVote: false, checkQuorum: false, snapshotEveryEntries });
      elect(net, 1);
      for (let i = 0; i < 3; i++) put(net, 1, `k${i}`, "v");
      net.tickAndDeliver(2, { only: 1 });
      expect(net.replica(1).progressOf(3)?.match).toBe(4);
      // Node 3's disk is replaced: it restarts with nothing.
      net.crash(3);
      net.disk(3).load({ snapshot: undefined, records: [] });
      net.restart(3);
      put(net, 1, "k3", "v");
      net.tickAndDeliver(8, { only: 1 });
      expect(net.replica(3).status().appliedIndex).toBe(net.replica(1).status().appliedIndex);
      expect(net.value(3, "k0")).toBe("v");
      expect(net.value(3, "k3")).toBe("v");
      expect([...net.replica(1).rejections().byReason().keys()].filter((reason) => reason.includes("lost or replaced"))).toHaveLength(1);
    });
  }
});

describe("flow control: batching, pipelining and limits", () => {
  it("proposals stepped before one Ready go to each follower in one append", () => {
    const net = raftCluster([1, 2, 3]);
    elect(net, 1);
    net.queue = [];
    for (let i = 1; i <= 3; i++) net.request(1, { type: "put", key: `k${i}`, value: new Uint8Array([i]) }, { clientId: client + i, sequence: 1, stepOnly: true });
    const appends = sent(net, 1).filter((m): m is RaftAppendEntries => m.type === "appendEntries");
    expect(appends.map((m) => m.entries.length)).toEqual([3, 3]);
  });

  it("a leader pipelines appends to a follower in replicate state, up to inflightMessagesMax", () => {
    const net = raftCluster([1, 2, 3], { preVote: false, checkQuorum: false, inflightMessagesMax: 2 });
    elect(net, 1);
    expect(net.replica(1).progressOf(2)?.state).toBe("replicate");
    net.queue = [];
    for (let i = 1; i <= 4; i++) {
      net.request(1, { type: "put", key: "k", value: new Uint8Array([i]) }, { clientId: client, sequence: i, stepOnly: true });
      net.collect(1);
    }
    const appendsTo2 = net.queue.filter((e) => e.to === 2 && e.message.type === "appendEntries");
    expect(appendsTo2.length).toBe(2); // the window is full after two unacknowledged appends
    net.deliverAll();
    expect(net.replica(2).lastIndex()).toBe(5);
    expect(net.replica(1).status().commitIndex).toBe(5);
  });

  it("batchEntriesMax and messageBytesMax bound one append", () => {
    const net = raftCluster([1, 2, 3], { preVote: false, checkQuorum: false, batchEntriesMax: 2, messageBytesMax: 200 });
    elect(net, 1);
    net.queue = [];
    for (let i = 1; i <= 5; i++) net.request(1, { type: "put", key: `k${i}`, value: new Uint8Array(10) }, { clientId: client + i, sequence: 1, stepOnly: true });
    const small = sent(net, 1).filter((m): m is RaftAppendEntries => m.type === "appendEntries" && m.entries.length > 0);
    expect(small.every((m) => m.entries.length <= 2)).toBe(true);
    net.deliverAll();
    for (let i = 1; i <= 3; i++) net.request(1, { type: "put", key: `big${i}`, value: new Uint8Array(150) }, { clientId: client + 10 + i, sequence: 1, stepOnly: true });
    const big = sent(net, 1).filter((m): m is RaftAppendEntries => m.type === "appendEntries" && m.entries.length > 0);
    expect(big.length).toBe(6);
    expect(big.every((m) => m.entries.length === 1)).toBe(true);
  });

  it("a follower that misses appends is probed back into replication", () => {
    const net = raftCluster([1, 2, 3]);
    elect(net, 1);
    net.drop = (e) => e.to === 3 && e.message.type === "appendEntries";
    put(net, 1, "a", "1");
    put(net, 1, "b", "2");
    // The leader's view of node 3, sampled as each message goes out: replicate, then probe after the rejection, then replicate again.
    const states: (string | undefined)[] = [];
    net.drop = () => {
      const state = net.replica(1).progressOf(3)?.state;
      if (states[states.length - 1] !== state) states.push(state);
      return false;
    };
    put(net, 1, "c", "3");
    net.tickAndDeliver(2, { only: 1 });
    expect(net.replica(3).lastIndex()).toBe(4);
    expect(net.value(3, "c")).toBe("3");
    expect(states).toEqual(["replicate", "probe", "replicate"]);
  });

  it("a leader retried with the same (clientId, sequence) executes it once", () => {
    const net = raftCluster([1, 2, 3]);
    elect(net, 1);
    const command = encodeCommand({ type: "append", key: "k", value: new Uint8Array([7]) });
    for (let i = 0; i < 3; i++) net.replica(1).step(client, { type: "clientRequest", clientId: client, session: client, sequence: 1, command, readOnly: false, readLevel: 0 });
    net.deliverAll();
    net.replica(1).step(client, { type: "clientRequest", clientId: client, session: client, sequence: 1, command, readOnly: false, readLevel: 0 });
    net.deliverAll();
    expect(net.replica(1).lastIndex()).toBe(2);
    expect(net.machine(1).store.get("k")).toEqual(new Uint8Array([7]));
    expect(net.repliesTo(client).map((r) => r.sequence)).toEqual([1, 1]);
  });

  it("a replica that knows no leader holds a client's request and redirects it once a leader appears", () => {
    const net = raftCluster([1, 2, 3]);
    net.request(2, { type: "put", key: "k", value: new Uint8Array(1) }, { clientId: client, sequence: 1, stepOnly: true });
    net.deliverAll();
    expect(net.clientInbox).toEqual([]);
    elect(net, 1);
    expect(net.clientInbox.map((e) => e.message)).toEqual([{ type: "notLeader", sequence: 1, hasLeaderHint: true, leaderHint: 1 }]);
  });

  it("a leader drops proposals past uncommittedEntriesMax until some commit", () => {
    const net = raftCluster([1, 2, 3], { preVote: false, checkQuorum: false, uncommittedEntriesMax: 2 });
    elect(net, 1);
    net.isolate(1);
    for (let i = 1; i <= 4; i++) net.request(1, { type: "put", key: `k${i}`, value: new Uint8Array(1) }, { clientId: client + i, sequence: 1, stepOnly: true });
    expect(net.replica(1).lastIndex() - net.replica(1).status().commitIndex).toBe(2);
    net.heal();
    net.tickAndDeliver(3, { only: 1 });
    net.request(1, { type: "put", key: "k3", value: new Uint8Array(1) }, { clientId: client + 3, sequence: 1, stepOnly: true });
    net.deliverAll();
    expect(net.repliesTo(client + 3)).toHaveLength(1);
  });

  it("a follower answers a client with the leader's id", () => {
    const net = raftCluster([1, 2, 3]);
    elect(net, 1);
    net.request(2, { type: "put", key: "k", value: new Uint8Array(1) }, { clientId: client, sequence: 1, stepOnly: true });
    net.deliverAll();
    expect(net.clientInbox.map((e) => e.message)).toEqual([{ type: "notLeader", sequence: 1, hasLeaderHint: true, leaderHint: 1 }]);
  });
});
