// Linearizable reads without log entries (thesis §6.4 ReadIndex, §6.4.1 leases).
import { ConfigError, firstClientId } from "@concord/core";
import { describe, expect, it } from "vitest";
import { leaseTicks } from "../src/index.ts";
import { TestNetwork } from "./network.ts";

const reader = firstClientId + 50;

function get(net: TestNetwork, to: number, key: string, sequence = net.nextSequence(reader)): void {
  net.request(to, reader, sequence, { type: "get", key });
}

describe("ReadIndex (thesis §6.4)", () => {
  it("a read is served after one heartbeat round, with no log entry", () => {
    const net = new TestNetwork([1, 2, 3]);
    net.elect(1);
    net.put(1, "k", "v");
    const lastIndex = net.node(1).lastIndex();
    get(net, 1, "k");
    net.collect(1);
    expect(net.queue.filter((e) => e.message.type === "heartbeat").length).toBe(2);
    expect(net.repliesTo(reader)).toEqual([]);
    net.deliverAll();
    expect(net.repliesTo(reader)).toMatchObject([{ sequence: 1, result: { type: "get", value: new TextEncoder().encode("v") }, from: 1 }]);
    expect(net.node(1).lastIndex()).toBe(lastIndex);
  });

  it("reads that arrive together share one round, and an append going out anyway carries it", () => {
    const net = new TestNetwork([1, 2, 3]);
    net.elect(1);
    net.put(1, "k", "v");
    net.queue = [];
    get(net, 1, "k");
    get(net, 1, "k");
    net.request(1, firstClientId + 7, 1, { type: "put", key: "other", value: new Uint8Array(1) });
    net.collect(1);
    expect(net.queue.map((e) => e.message.type)).toEqual(["appendEntries", "appendEntries"]);
    net.deliverAll();
    expect(net.repliesTo(reader).map((r) => r.sequence)).toEqual([1, 2]);
  });

  it("a new leader holds reads until it has committed an entry of its own term", () => {
    const net = new TestNetwork([1, 2, 3]);
    net.elect(1);
    net.put(1, "k", "old");
    // Node 2 wins term 2 but its no-op cannot commit while it is cut off from the others.
    net.isolate(3);
    net.cutLink(2, 1);
    net.node(2).campaign();
    net.node(2).step(3, { type: "voteResponse", term: 2, reject: false, preVote: false, commit: 0, commitTerm: 0 });
    expect(net.node(2).raftRole()).toBe("leader");
    get(net, 2, "k");
    net.deliverAll();
    net.tick(2, 3);
    expect(net.repliesTo(reader)).toEqual([]);
    expect(net.node(2).status().commitIndex).toBeLessThan(net.node(2).lastIndex());
    net.heal();
    net.tick(2, 3);
    expect(net.repliesTo(reader)).toMatchObject([{ sequence: 1, result: { type: "get", value: new TextEncoder().encode("old") } }]);
  });

  it("a deposed leader cut off from the majority never answers a read", () => {
    const net = new TestNetwork([1, 2, 3]);
    net.elect(1);
    net.put(1, "k", "v1");
    net.isolate(1);
    net.elect(2);
    net.put(2, "k", "v2");
    get(net, 1, "k");
    net.tick(1, 5);
    expect(net.repliesTo(reader)).toEqual([]);
  });

  it("reads wait until the leader has applied up to the read index", () => {
    const net = new TestNetwork([1, 2, 3]);
    net.elect(1);
    net.put(1, "k", "v1");
    get(net, 1, "k");
    net.put(1, "k", "v2"); // a later write cannot change the answer of an earlier read
    expect(net.repliesTo(reader).map((r) => r.result)).toEqual([{ type: "get", value: new TextEncoder().encode("v1") }]);
  });
});

describe("lease reads (thesis §6.4.1)", () => {
  it("a leader with a fresh lease answers a read at once, without a heartbeat round", () => {
    const net = new TestNetwork([1, 2, 3], { preVote: true, checkQuorum: true, leaseReads: true });
    net.elect(1);
    net.put(1, "k", "v");
    net.tick(1);
    net.queue = [];
    get(net, 1, "k");
    net.collect(1);
    expect(net.queue.map((e) => e.message.type)).toEqual(["clientReply"]);
  });

  it("a leader whose lease lapsed falls back to a ReadIndex round", () => {
    const net = new TestNetwork([1, 2, 3], { preVote: true, checkQuorum: true, leaseReads: true });
    net.elect(1);
    net.isolate(1);
    net.tick(1, 6);
    expect(net.node(1).raftRole()).toBe("leader");
    net.queue = [];
    get(net, 1, "k");
    net.collect(1);
    expect(net.queue.map((e) => e.message.type)).toEqual(["heartbeat", "heartbeat"]);
  });

  it("a lease counts from when the acknowledged message was sent, not from when the acknowledgement arrived", () => {
    const net = new TestNetwork([1, 2, 3], { preVote: true, checkQuorum: true, leaseReads: true });
    net.elect(1);
    net.put(1, "k", "v");
    net.queue = [];
    net.node(1).tick();
    net.collect(1);
    const heartbeats = net.queue;
    net.queue = [];
    for (const envelope of heartbeats) net.deliver(envelope);
    net.collect(2);
    net.collect(3);
    const delayedAcks = net.queue; // the acknowledgements are held up in the network
    net.queue = [];
    net.isolate(1);
    net.tick(1, leaseTicks(10, 10)); // the defaults: electionTimeoutTicks 10, clockDriftBoundPercent 10
    net.heal();
    for (const envelope of delayedAcks) net.deliver(envelope);
    net.queue = [];
    get(net, 1, "k");
    net.collect(1);
    expect(net.queue.map((e) => e.message.type)).toEqual(["heartbeat", "heartbeat"]);
  });

  it("a leader that sent TimeoutNow no longer trusts its lease, even if the transfer is abandoned", () => {
    const net = new TestNetwork([1, 2, 3], { preVote: true, checkQuorum: true, leaseReads: true, transferTimeoutTicks: 2 });
    net.elect(1);
    net.put(1, "k", "v");
    net.drop = (e) => e.message.type === "timeoutNow"; // the TimeoutNow is delayed in the network
    net.node(1).transferLeadership(2);
    net.deliverAll();
    net.tick(1, 2);
    expect(net.node(1).leadershipTransferee()).toBeUndefined();
    net.queue = [];
    get(net, 1, "k");
    net.collect(1);
    expect(net.queue.map((e) => e.message.type)).toEqual(["heartbeat", "heartbeat"]);
  });

  it("lease reads without check-quorum are refused as a configuration error", () => {
    const net = new TestNetwork([1]);
    expect(() => net.start(1, { leaseReads: true, checkQuorum: false })).toThrow(ConfigError);
    expect(() => net.start(1, { leaseReads: true, checkQuorum: false })).toThrow(/leaseReads/);
  });
});
