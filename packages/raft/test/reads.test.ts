// Linearizable reads without log entries (thesis §6.4 ReadIndex, §6.4.1 leases).
import { ConfigError, firstClientId } from "@concord/core";
import { describe, expect, it } from "vitest";
import { leaseTicks, raftServedReadLevel } from "@concord/raft";
import { type RaftCluster, raftCluster, elect, put } from "./kit.ts";

const reader = firstClientId + 50;

function get(net: RaftCluster, to: number, key: string, sequence = net.nextSequence(reader)): void {
  net.request(to, { type: "get", key }, { clientId: reader, sequence, stepOnly: true });
}

describe("ReadIndex (thesis §6.4)", () => {
  it("a read is served after one heartbeat round, with no log entry", () => {
    const net = raftCluster([1, 2, 3]);
    elect(net, 1);
    put(net, 1, "k", "v");
    const lastIndex = net.replica(1).lastIndex();
    get(net, 1, "k");
    net.collect(1);
    expect(net.queue.filter((e) => e.message.type === "heartbeat").length).toBe(2);
    expect(net.repliesTo(reader)).toEqual([]);
    net.deliverAll();
    expect(net.repliesTo(reader)).toMatchObject([{ sequence: 1, result: { type: "get", value: new TextEncoder().encode("v") }, from: 1 }]);
    expect(net.replica(1).lastIndex()).toBe(lastIndex);
  });

  it("reads that arrive together share one round, and an append going out anyway carries it", () => {
    const net = raftCluster([1, 2, 3]);
    elect(net, 1);
    put(net, 1, "k", "v");
    net.queue = [];
    get(net, 1, "k");
    get(net, 1, "k");
    net.request(1, { type: "put", key: "other", value: new Uint8Array(1) }, { clientId: firstClientId + 7, sequence: 1, stepOnly: true });
    net.collect(1);
    expect(net.queue.map((e) => e.message.type)).toEqual(["appendEntries", "appendEntries"]);
    net.deliverAll();
    expect(net.repliesTo(reader).map((r) => r.sequence)).toEqual([1, 2]);
  });

  it("a new leader holds reads until it has committed an entry of its own term", () => {
    const net = raftCluster([1, 2, 3]);
    elect(net, 1);
    put(net, 1, "k", "old");
    // Node 2 wins term 2 but its no-op cannot commit while it is cut off from the others.
    net.isolate(3);
    net.cut(2, 1);
    net.replica(2).campaign();
    net.replica(2).step(3, { type: "voteResponse", term: 2, reject: false, preVote: false, commit: 0, commitTerm: 0 });
    expect(net.replica(2).raftRole()).toBe("leader");
    get(net, 2, "k");
    net.deliverAll();
    net.tickAndDeliver(3, { only: 2 });
    expect(net.repliesTo(reader)).toEqual([]);
    expect(net.replica(2).status().commitIndex).toBeLessThan(net.replica(2).lastIndex());
    net.heal();
    net.tickAndDeliver(3, { only: 2 });
    expect(net.repliesTo(reader)).toMatchObject([{ sequence: 1, result: { type: "get", value: new TextEncoder().encode("old") } }]);
  });

  it("a deposed leader cut off from the majority never answers a read", () => {
    const net = raftCluster([1, 2, 3]);
    elect(net, 1);
    put(net, 1, "k", "v1");
    net.isolate(1);
    elect(net, 2);
    put(net, 2, "k", "v2");
    get(net, 1, "k");
    net.tickAndDeliver(5, { only: 1 });
    expect(net.repliesTo(reader)).toEqual([]);
  });

  it("reads wait until the leader has applied up to the read index", () => {
    const net = raftCluster([1, 2, 3]);
    elect(net, 1);
    put(net, 1, "k", "v1");
    get(net, 1, "k");
    put(net, 1, "k", "v2"); // a later write cannot change the answer of an earlier read
    expect(net.repliesTo(reader).map((r) => r.result)).toEqual([{ type: "get", value: new TextEncoder().encode("v1") }]);
  });
});

describe("lease reads (thesis §6.4.1)", () => {
  it("a leader with a fresh lease answers a read at once, without a heartbeat round", () => {
    const net = raftCluster([1, 2, 3], { preVote: true, checkQuorum: true, leaseReads: true });
    elect(net, 1);
    put(net, 1, "k", "v");
    net.tickAndDeliver(1, { only: 1 });
    net.queue = [];
    get(net, 1, "k");
    net.collect(1);
    expect(net.queue.map((e) => e.message.type)).toEqual(["clientReply"]);
  });

  it("a leader whose lease lapsed falls back to a ReadIndex round", () => {
    const net = raftCluster([1, 2, 3], { preVote: true, checkQuorum: true, leaseReads: true });
    elect(net, 1);
    net.isolate(1);
    net.tickAndDeliver(6, { only: 1 });
    expect(net.replica(1).raftRole()).toBe("leader");
    net.queue = [];
    get(net, 1, "k");
    net.collect(1);
    expect(net.queue.map((e) => e.message.type)).toEqual(["heartbeat", "heartbeat"]);
  });

  it("a lease counts from when the acknowledged message was sent, not from when the acknowledgement arrived", () => {
    const net = raftCluster([1, 2, 3], { preVote: true, checkQuorum: true, leaseReads: true });
    elect(net, 1);
    put(net, 1, "k", "v");
    net.queue = [];
    net.replica(1).tick();
    net.collect(1);
    const heartbeats = net.queue;
    net.queue = [];
    for (const envelope of heartbeats) net.deliver(envelope, { drain: false });
    net.collect(2);
    net.collect(3);
    const delayedAcks = net.queue; // the acknowledgements are held up in the network
    net.queue = [];
    net.isolate(1);
    net.tick(1, leaseTicks(10, 10)); // the defaults: electionTimeoutTicks 10, clockDriftBoundPercent 10
    net.heal();
    for (const envelope of delayedAcks) net.deliver(envelope, { drain: false });
    net.queue = [];
    get(net, 1, "k");
    net.collect(1);
    expect(net.queue.map((e) => e.message.type)).toEqual(["heartbeat", "heartbeat"]);
  });

  it("a leader that sent TimeoutNow no longer trusts its lease, even if the transfer is abandoned", () => {
    const net = raftCluster([1, 2, 3], { preVote: true, checkQuorum: true, leaseReads: true, transferTimeoutTicks: 2 });
    elect(net, 1);
    put(net, 1, "k", "v");
    net.drop = (e) => e.message.type === "timeoutNow"; // the TimeoutNow is delayed in the network
    net.replica(1).transferLeadership(2);
    net.deliverAll();
    net.tickAndDeliver(2, { only: 1 });
    expect(net.replica(1).leadershipTransferee()).toBeUndefined();
    net.queue = [];
    get(net, 1, "k");
    net.collect(1);
    expect(net.queue.map((e) => e.message.type)).toEqual(["heartbeat", "heartbeat"]);
  });

  it("lease reads without check-quorum are refused as a configuration error", () => {
    const net = raftCluster([1]);
    expect(() => net.restart(1, { options: { leaseReads: true, checkQuorum: false } })).toThrow(ConfigError);
    expect(() => net.restart(1, { options: { leaseReads: true, checkQuorum: false } })).toThrow(/leaseReads/);
  });
});

describe("read levels (issue 15)", () => {
  const text = (value: string) => new TextEncoder().encode(value);
  function read(net: RaftCluster, to: number, key: string, readLevel: "linearizable" | "lease" | "stale"): number {
    const sequence = net.nextSequence(reader);
    net.request(to, { type: "get", key }, { clientId: reader, sequence, stepOnly: true, readLevel });
    return sequence;
  }

  it("a follower cut off from the leader answers a stale read at once from its own applied state, with no message to any replica", () => {
    const net = raftCluster([1, 2, 3], { preVote: true, checkQuorum: true });
    elect(net, 1);
    put(net, 1, "k", "v1");
    net.tickAndDeliver(3, { only: 1 }); // a heartbeat carries the commit index to the followers, which apply v1
    expect(net.replica(3).status().appliedIndex).toBe(net.replica(1).status().appliedIndex);
    net.isolate(3);
    put(net, 1, "k", "v2"); // committed by 1 and 2; 3 never hears of it
    net.queue = [];
    const sequence = read(net, 3, "k", "stale");
    net.collect(3);
    expect(net.queue.map((e) => [e.message.type, e.to])).toEqual([["clientReply", reader]]);
    net.deliverAll();
    expect(net.replyTo(reader, sequence)).toEqual({ type: "get", value: text("v1") });
    // The same read asked linearizably of the follower is redirected to the leader instead.
    net.queue = [];
    read(net, 3, "k", "linearizable");
    net.collect(3);
    expect(net.queue.map((e) => e.message.type)).toEqual(["notLeader"]);
  });

  it("a follower that knows no leader answers a stale read rather than hold it", () => {
    const net = raftCluster([1, 2, 3], { preVote: true, checkQuorum: true });
    const sequence = read(net, 2, "k", "stale");
    net.deliverAll();
    expect(net.replyTo(reader, sequence)).toEqual({ type: "get", value: undefined });
  });

  it("without leaseReads, a lease read goes by ReadIndex until a round confirms the lease, then by the lease alone", () => {
    const net = raftCluster([1, 2, 3], { preVote: true, checkQuorum: true });
    elect(net, 1);
    put(net, 1, "k", "v");
    net.queue = [];
    const first = read(net, 1, "k", "lease");
    net.collect(1);
    expect(net.queue.map((e) => e.message.type)).toEqual(["heartbeat", "heartbeat"]);
    net.deliverAll();
    expect(net.replyTo(reader, first)).toEqual({ type: "get", value: text("v") });
    net.queue = [];
    const second = read(net, 1, "k", "lease");
    net.collect(1);
    expect(net.queue.map((e) => e.message.type)).toEqual(["clientReply"]);
    net.deliverAll();
    expect(net.replyTo(reader, second)).toEqual({ type: "get", value: text("v") });
    // A linearizable read still takes its ReadIndex round.
    net.queue = [];
    read(net, 1, "k", "linearizable");
    net.collect(1);
    expect(net.queue.map((e) => e.message.type)).toEqual(["heartbeat", "heartbeat"]);
  });

  it("without check-quorum, a lease read is a ReadIndex read every time (no follower promises to hold its vote)", () => {
    const net = raftCluster([1, 2, 3], { preVote: true, checkQuorum: false });
    elect(net, 1);
    put(net, 1, "k", "v");
    for (let i = 0; i < 2; i++) {
      net.queue = [];
      read(net, 1, "k", "lease");
      net.collect(1);
      expect(net.queue.map((e) => e.message.type)).toEqual(["heartbeat", "heartbeat"]);
      net.deliverAll();
    }
  });

  it("the level each read is served at, as the history records it", () => {
    expect(raftServedReadLevel("stale", {})).toBe("stale");
    expect(raftServedReadLevel("linearizable", {})).toBe("linearizable");
    expect(raftServedReadLevel("lease", {})).toBe("lease");
    expect(raftServedReadLevel("lease", { checkQuorum: false })).toBe("linearizable");
    expect(raftServedReadLevel("linearizable", { leaseReads: true })).toBe("lease");
    expect(raftServedReadLevel("stale", { leaseReads: true })).toBe("stale");
  });
});
