// Leader election, keyed to the Raft paper (Ongaro and Ousterhout 2014) §5.1,
// §5.2 and §5.4.1, after etcd-io/raft's raft_paper_test.go.
import { describe, expect, it } from "vitest";
import type { RaftMessage, RaftRequestVote } from "@concord/raft";
import { raftCluster, elect, put, terms, seedLog } from "./kit.ts";

function heartbeat(term: number): RaftMessage {
  return { type: "heartbeat", term, commit: 0, readContext: 0 };
}

function voteRequest(term: number, lastLogIndex: number, lastLogTerm: number, preVote = false): RaftRequestVote {
  return { type: "requestVote", term, lastLogIndex, lastLogTerm, preVote, transfer: false };
}

describe("§5.1 terms", () => {
  it.each(["follower", "candidate", "leader"] as const)("a %s that sees a higher term becomes a follower in that term", (role) => {
    const net = raftCluster([1, 2, 3]);
    if (role === "candidate") {
      net.isolate(1);
      net.replica(1).campaign();
      net.deliverAll();
    } else if (role === "leader") {
      elect(net, 1);
    }
    expect(net.replica(1).status().role).toBe(role);
    const before = net.replica(1).status().epoch;
    net.replica(1).step(2, heartbeat(before + 5));
    expect(net.replica(1).raftRole()).toBe("follower");
    expect(net.replica(1).status().epoch).toBe(before + 5);
    expect(net.replica(1).status().leader).toBe(2);
  });

  it("a replica ignores a message of a stale term", () => {
    const net = raftCluster([1, 2, 3]);
    elect(net, 1);
    elect(net, 2);
    expect(net.replica(2).status()).toMatchObject({ role: "leader", epoch: 2 });
    net.replica(2).step(1, { type: "appendEntries", term: 1, prevLogIndex: 0, prevLogTerm: 0, entries: [], commit: 0, readContext: 0 });
    net.replica(2).step(3, voteRequest(1, 100, 1));
    expect(net.replica(2).status()).toMatchObject({ role: "leader", epoch: 2, leader: 2 });
    expect(net.replica(2).hardState().vote).toBe(2);
  });

  it("a replica that restarts keeps its term and vote, and does not vote twice in that term", () => {
    const net = raftCluster([1, 2, 3]);
    net.replica(1).step(2, voteRequest(1, 0, 0));
    net.deliverAll();
    expect(net.replica(1).hardState()).toMatchObject({ term: 1, vote: 2 });
    net.crash(1);
    net.restart(1);
    expect(net.replica(1).hardState()).toMatchObject({ term: 1, vote: 2 });
    net.queue = [];
    net.replica(1).step(3, voteRequest(1, 0, 0));
    net.collect(1);
    expect(net.queue).toEqual([{ from: 1, to: 3, message: { type: "voteResponse", term: 1, reject: true, preVote: false, commit: 0, commitTerm: 0 } }]);
  });
});

describe("§5.2 leader election", () => {
  it("a follower campaigns after a randomized election timeout in [electionTimeoutTicks, 2*electionTimeoutTicks)", () => {
    const timeouts = new Set<number>();
    for (let seed = 1; seed <= 40; seed++) {
      const net = raftCluster([1, 2, 3], { preVote: false, checkQuorum: false, electionTimeoutTicks: 10 }, seed);
      net.isolate(1);
      let ticks = 0;
      while (net.replica(1).raftRole() === "follower") {
        net.replica(1).tick();
        ticks++;
        expect(ticks).toBeLessThan(20);
      }
      expect(ticks).toBeGreaterThanOrEqual(10);
      timeouts.add(ticks);
    }
    expect(timeouts.size).toBeGreaterThan(3);
  });

  it("a candidate votes for itself, raises its term and asks every other voter", () => {
    const net = raftCluster([1, 2, 3]);
    net.replica(1).campaign();
    net.collect(1);
    expect(net.replica(1).status()).toMatchObject({ role: "candidate", epoch: 1 });
    expect(net.replica(1).hardState().vote).toBe(1);
    const requests = net.queue.map((e) => [e.to, e.message.type]);
    expect(requests).toEqual([
      [2, "requestVote"],
      [3, "requestVote"],
    ]);
  });

  it("a candidate with a majority of votes becomes leader and appends a no-op of its term", () => {
    const net = raftCluster([1, 2, 3, 4, 5]);
    net.crash(4);
    net.crash(5);
    elect(net, 1);
    expect(net.replica(1).status()).toMatchObject({ role: "leader", epoch: 1, leader: 1 });
    expect(terms(net, 1)).toEqual([1]);
    expect(net.replica(2).status().leader).toBe(1);
    expect(net.replica(1).status().commitIndex).toBe(1);
  });

  it("a candidate without a majority stays a candidate and retries in a later term", () => {
    const net = raftCluster([1, 2, 3, 4, 5]);
    net.crash(4);
    net.crash(5);
    net.replica(2).step(5, voteRequest(1, 0, 0)); // nodes 2 and 3 already voted for 5 in term 1
    net.replica(3).step(5, voteRequest(1, 0, 0));
    net.deliverAll();
    elect(net, 1);
    expect(net.replica(1).status()).toMatchObject({ role: "candidate", epoch: 1 });
    net.tickAndDeliver(20, { only: 1 });
    expect(net.replica(1).status()).toMatchObject({ role: "leader", epoch: 2 });
  });

  it("a candidate that a majority rejects returns to follower", () => {
    const net = raftCluster([1, 2, 3]);
    seedLog(net, 2, [1, 1], 1);
    seedLog(net, 3, [1, 1], 1);
    elect(net, 1);
    expect(net.replica(1).raftRole()).toBe("follower");
    expect(net.replica(1).status().epoch).toBe(1);
  });

  it("a replica grants at most one vote per term, but repeats a vote it already gave", () => {
    const net = raftCluster([1, 2, 3]);
    const responses = (): RaftMessage[] => {
      net.collect(1);
      const out = net.queue.filter((e) => e.from === 1).map((e) => e.message);
      net.queue = [];
      return out;
    };
    net.replica(1).step(2, voteRequest(1, 0, 0));
    expect(responses()).toEqual([{ type: "voteResponse", term: 1, reject: false, preVote: false, commit: 0, commitTerm: 0 }]);
    net.replica(1).step(3, voteRequest(1, 0, 0));
    expect(responses()).toEqual([{ type: "voteResponse", term: 1, reject: true, preVote: false, commit: 0, commitTerm: 0 }]);
    net.replica(1).step(2, voteRequest(1, 0, 0));
    expect(responses()).toEqual([{ type: "voteResponse", term: 1, reject: false, preVote: false, commit: 0, commitTerm: 0 }]);
  });

  it("a follower that granted a vote resets its election timer", () => {
    // Learn this seed's randomized timeout on one network, then replay the same seed on another.
    // Both start in term 1 with no vote, so the vote below does not change the term (which would redraw the timeout).
    const probe = raftCluster([1, 2, 3], undefined, 9);
    seedLog(probe, 1, [], 1);
    probe.isolate(1);
    let timeout = 0;
    while (probe.replica(1).raftRole() === "follower") {
      probe.replica(1).tick();
      timeout++;
    }
    const net = raftCluster([1, 2, 3], undefined, 9);
    seedLog(net, 1, [], 1);
    net.isolate(1);
    for (let i = 0; i < timeout - 1; i++) net.replica(1).tick();
    net.replica(1).step(2, voteRequest(1, 0, 0));
    for (let i = 0; i < timeout - 1; i++) net.replica(1).tick();
    expect(net.replica(1).raftRole()).toBe("follower");
    net.replica(1).tick();
    expect(net.replica(1).raftRole()).toBe("candidate");
  });
});

describe("§5.4.1 election restriction", () => {
  // Each row: the voter's log terms, then the candidate's (lastLogIndex, lastLogTerm), then whether it gets the vote.
  const cases: [number[], number, number, boolean][] = [
    [[1, 1], 2, 1, true], // same last term, same length
    [[1, 1], 3, 1, true], // same last term, longer
    [[1, 1], 1, 1, false], // same last term, shorter
    [[1, 1], 1, 2, true], // higher last term wins even when shorter
    [[1, 2], 5, 1, false], // lower last term loses even when longer
    [[1, 2], 2, 2, true],
    [[1, 2], 1, 2, false],
    [[], 0, 0, true],
    [[1], 0, 0, false],
  ];
  it.each(cases)("a voter with log %j votes for (lastIndex %i, lastTerm %i): %s", (terms, lastIndex, lastTerm, granted) => {
    const net = raftCluster([1, 2, 3]);
    seedLog(net, 1, terms, 2);
    net.queue = [];
    net.replica(1).step(2, voteRequest(3, lastIndex, lastTerm));
    net.collect(1);
    expect(net.queue).toEqual([{ from: 1, to: 2, message: { type: "voteResponse", term: 3, reject: !granted, preVote: false, commit: 0, commitTerm: 0 } }]);
  });

  it("only a replica with every committed entry can be elected", () => {
    const net = raftCluster([1, 2, 3]);
    elect(net, 1);
    net.isolate(3);
    put(net, 1, "k", "v");
    expect(net.replica(1).status().commitIndex).toBe(2);
    expect(net.replica(2).lastIndex()).toBe(2);
    net.heal();
    net.crash(1);
    elect(net, 3);
    expect(net.replica(3).raftRole()).not.toBe("leader");
    elect(net, 2);
    expect(net.replica(2).raftRole()).toBe("leader");
  });
});

describe("pre-vote and check-quorum (thesis §9.6, §6.2)", () => {
  const options = { preVote: true, checkQuorum: true };

  it("a pre-candidate does not raise its term until it wins the pre-vote", () => {
    const net = raftCluster([1, 2, 3], options);
    net.isolate(1);
    net.replica(1).campaign();
    net.deliverAll();
    expect(net.replica(1).raftRole()).toBe("preCandidate");
    expect(net.replica(1).status().epoch).toBe(0);
    net.tickAndDeliver(100, { only: 1 });
    expect(net.replica(1).status().epoch).toBe(0);
    net.heal();
    elect(net, 1);
    expect(net.replica(1).status()).toMatchObject({ role: "leader", epoch: 1 });
  });

  it("a partitioned node that rejoins does not depose a healthy leader", () => {
    const net = raftCluster([1, 2, 3], options);
    elect(net, 1);
    net.isolate(3);
    for (let i = 0; i < 100; i++) net.tickAndDeliver();
    expect(net.replica(3).status().epoch).toBe(1);
    net.heal();
    for (let i = 0; i < 50; i++) net.tickAndDeliver();
    expect(net.replica(1).status()).toMatchObject({ role: "leader", epoch: 1 });
    expect(net.replica(3).status().leader).toBe(1);
  });

  it("without pre-vote a node with a raised term forces a new election when it rejoins", () => {
    const net = raftCluster([1, 2, 3], { preVote: false, checkQuorum: false });
    elect(net, 1);
    net.isolate(3);
    for (let i = 0; i < 30; i++) net.replica(3).tick();
    expect(net.replica(3).status().epoch).toBeGreaterThan(1);
    net.heal();
    for (let i = 0; i < 3; i++) net.tickAndDeliver();
    expect(net.replica(1).status().epoch).toBeGreaterThan(1);
  });

  it("a leader that loses its quorum steps down after an election timeout", () => {
    const net = raftCluster([1, 2, 3], options);
    elect(net, 1);
    net.isolate(1);
    for (let i = 0; i < 9; i++) net.tickAndDeliver(1, { only: 1 });
    expect(net.replica(1).raftRole()).toBe("leader");
    for (let i = 0; i < 11; i++) net.tickAndDeliver(1, { only: 1 });
    expect(net.replica(1).raftRole()).toBe("follower");
    expect(net.replica(1).status().epoch).toBe(1);
  });

  it("a leader without check-quorum stays leader however long it is cut off", () => {
    const net = raftCluster([1, 2, 3], { preVote: true, checkQuorum: false });
    elect(net, 1);
    net.isolate(1);
    net.tickAndDeliver(100, { only: 1 });
    expect(net.replica(1).raftRole()).toBe("leader");
  });

  it("a follower that hears from its leader ignores a vote request of a higher term (leader lease)", () => {
    const net = raftCluster([1, 2, 3], options);
    elect(net, 1);
    net.queue = [];
    net.replica(2).step(3, voteRequest(5, 10, 5));
    net.collect(2);
    expect(net.queue).toEqual([]);
    expect(net.replica(2).status()).toMatchObject({ epoch: 1, leader: 1 });
  });

  it("a pre-vote is granted for a later term without changing the voter's term or vote", () => {
    const net = raftCluster([1, 2, 3], options);
    net.queue = [];
    net.replica(1).step(2, voteRequest(1, 0, 0, true));
    net.collect(1);
    expect(net.queue.map((e) => e.message)).toEqual([{ type: "voteResponse", term: 1, reject: false, preVote: true, commit: 0, commitTerm: 0 }]);
    expect(net.replica(1).hardState()).toMatchObject({ term: 0, vote: undefined });
  });
});

describe("§5.2 one round of RequestVote (after etcd-io/raft's TestLeaderElectionInOneRoundRPC)", () => {
  // Each row: cluster size, the votes that come back, the candidate's resulting role.
  const rows: [number, [number, boolean][], string][] = [
    [1, [], "leader"],
    [3, [[2, true], [3, true]], "leader"],
    [3, [[2, true]], "leader"],
    [5, [[2, true], [3, true]], "leader"],
    [3, [[2, false], [3, false]], "follower"],
    [5, [[2, true], [3, false], [4, false], [5, false]], "follower"],
    [3, [], "candidate"],
    [5, [[2, true]], "candidate"],
    [5, [[2, false], [3, false]], "candidate"],
  ];
  it.each(rows)("a candidate of a %i-node cluster with votes %j becomes %s", (size, votes, role) => {
    const ids = Array.from({ length: size }, (_, i) => i + 1);
    const net = raftCluster(ids);
    net.replica(1).campaign();
    for (const [id, granted] of votes) net.replica(1).step(id, { type: "voteResponse", term: 1, reject: !granted, preVote: false, commit: 0, commitTerm: 0 });
    expect(net.replica(1).raftRole()).toBe(role);
    expect(net.replica(1).status().epoch).toBe(1);
  });

  it("a candidate that gets an append of its own term from another replica recognises that leader", () => {
    const net = raftCluster([1, 2, 3]);
    net.replica(1).campaign();
    net.replica(1).step(2, { type: "appendEntries", term: 1, prevLogIndex: 0, prevLogTerm: 0, entries: [], commit: 0, readContext: 0 });
    expect(net.replica(1).status()).toMatchObject({ role: "follower", epoch: 1, leader: 2 });
  });

  it("randomized timeouts rarely fire together: in most rounds one replica of five times out alone", () => {
    let conflicts = 0;
    for (let round = 0; round < 200; round++) {
      const net = raftCluster([1, 2, 3, 4, 5], { preVote: false, checkQuorum: false }, round + 1);
      let fired = 0;
      while (fired === 0) {
        for (const replica of net.running().map((id) => net.replica(id))) {
          replica.tick();
          if (replica.raftRole() !== "follower") fired++;
        }
      }
      if (fired > 1) conflicts++;
    }
    expect(conflicts / 200).toBeLessThanOrEqual(0.3);
  });
});
