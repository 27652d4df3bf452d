// Lease reads stay linearizable only while no other leader can be elected
// (thesis §6.4.1): every voter that acknowledged the leader's lease round must
// refuse votes until an election timeout has passed since it heard from that
// leader (thesis §4.2.3, §6.2). These are the schedules of issue 21, bugs 4
// and 5, in which a voter forgot its leader too early, and the lease arithmetic
// of issue 10, bug 2.
import { ConfigError, firstClientId, type NodeId } from "@concord/core";
import { describe, expect, it } from "vitest";
import { leaseTicks } from "../src/index.ts";
import { TestNetwork, type Envelope } from "./network.ts";

const leaseOptions = { preVote: true, checkQuorum: true, leaseReads: true };
const writer = firstClientId + 10;
const reader = firstClientId + 50;
const encoder = new TextEncoder();

/** ticksUntilFires counts the ticks of `tick` until replica `id` leaves the role it has now (its election timer fired). */
function ticksUntilFires(net: TestNetwork, id: NodeId, tick: (net: TestNetwork) => void): number {
  const role = net.node(id).raftRole();
  for (let ticks = 1; ticks <= 100; ticks++) {
    tick(net);
    if (net.node(id).raftRole() !== role) return ticks;
  }
  throw new Error(`replica ${id} never fired`);
}

/** readAt asks `id` for key k by a lease read and returns what it answered, if it answered. */
function readAt(net: TestNetwork, id: NodeId): string | undefined {
  const sequence = net.nextSequence(reader);
  net.request(id, reader, sequence, { type: "get", key: "k" });
  net.deliverAll();
  const reply = net.repliesTo(reader).find((r) => r.sequence === sequence && r.from === id);
  if (reply === undefined || reply.result.type !== "get") return undefined;
  return reply.result.value === undefined ? "" : new TextDecoder().decode(reply.result.value);
}

/** putAcknowledged proposes k=value through `id` and tells whether the client was told it committed. */
function putAcknowledged(net: TestNetwork, id: NodeId, value: string): boolean {
  const sequence = net.nextSequence(writer);
  net.request(id, writer, sequence, { type: "put", key: "k", value: encoder.encode(value) });
  net.deliverAll();
  net.tick(id, 2);
  return net.repliesTo(writer).some((r) => r.sequence === sequence && r.from === id);
}

describe("a voter inside a leader's lease does not help elect another leader (thesis §6.4.1, §4.2.3)", () => {
  it("a restarted voter waits an election timeout before granting a vote (issue 21, bug 4)", () => {
    // Node 1 leads and commits k=v1; the 1-3 link is cut and node 3's timer
    // runs to two ticks from firing; node 2 crashes and restarts at once, and
    // the 1-2 link is cut; two ticks later node 3 campaigns.
    const build = (): TestNetwork => {
      const net = new TestNetwork([1, 2, 3], leaseOptions);
      net.elect(1);
      net.put(1, "k", "v1", writer, net.nextSequence(writer));
      net.tickAll(2);
      net.cutLink(1, 3);
      return net;
    };
    const fires = ticksUntilFires(build(), 3, (n) => n.tickAll());
    const net = build();
    net.nextSequence(writer);
    net.tickAll(fires - 2);
    net.crash(2);
    net.start(2);
    net.cutLink(1, 2);
    net.tickAll(2);
    // Node 1 heard node 2 acknowledge a round two ticks ago: its lease holds, and it answers.
    expect(readAt(net, 1)).toBe("v1");
    // So node 3 must not have been elected with the restarted node 2's vote, nor a write acknowledged.
    expect(net.node(3).raftRole()).not.toBe("leader");
    expect(putAcknowledged(net, 3, "v2")).toBe(false);
  });

  it("a restarted voter votes again once an election timeout has passed since its start", () => {
    const net = new TestNetwork([1, 2, 3], leaseOptions);
    net.elect(1);
    net.put(1, "k", "v1");
    net.crash(2);
    net.start(2);
    net.isolate(1);
    net.tick(2, 9);
    net.elect(3);
    expect(net.node(3).raftRole()).not.toBe("leader");
    net.tick(2);
    net.elect(3);
    expect(net.node(3).raftRole()).toBe("leader");
  });

  it("a replica that never left term 0 has acknowledged no leader, so it votes at once", () => {
    const net = new TestNetwork([1, 2, 3], leaseOptions);
    net.elect(1);
    expect(net.node(1).raftRole()).toBe("leader");
  });

  it("a follower inside the lease does not give up its leader for a higher term carried by a reply (issue 21, bug 5)", () => {
    let held: Envelope | undefined;
    const build = (): TestNetwork => {
      const net = new TestNetwork([1, 2, 3], leaseOptions);
      // Before any election, node 2's pre-vote request to node 3 is held in the network.
      net.node(2).campaign();
      net.collect(2);
      held = net.queue.find((e) => e.to === 3);
      net.queue = [];
      net.elect(1);
      expect(net.node(1).raftRole()).toBe("leader");
      net.put(1, "k", "v1", writer, net.nextSequence(writer));
      net.tickAll(2);
      // Node 1 is isolated just after a check-quorum round: a leader checks
      // every electionTimeoutTicks (10) of its ticks since its election.
      net.tick(1, 8);
      net.isolate(1);
      // Node 2 leaves the lease; node 3 wins a pre-vote, but its vote requests are lost: it sits in term 2.
      net.tick(2, 10);
      net.drop = (e) => e.from === 3 && e.message.type === "requestVote" && !e.message.preVote;
      net.node(3).campaign();
      net.deliverAll();
      net.drop = undefined;
      expect(net.node(3).status()).toMatchObject({ role: "candidate", epoch: 2 });
      // 1-2 is healed (node 2 is back in node 1's lease); 1-3 stays cut.
      net.heal();
      net.cutLink(1, 3);
      net.tick(1);
      expect(net.node(1).raftRole()).toBe("leader");
      expect(net.node(2).status().leader).toBe(1);
      return net;
    };
    const fires = ticksUntilFires(build(), 3, (n) => n.tickAll());
    const net = build();
    net.nextSequence(writer);
    net.tickAll(fires - 2);
    // 1-2 is cut and the held request reaches node 3, whose reply carries term 2 to node 2.
    net.cutLink(1, 2);
    expect(held).toBeDefined();
    net.deliver(held as Envelope);
    net.deliverAll();
    net.tickAll(2);
    expect(readAt(net, 1)).toBe("v1");
    expect(net.node(3).raftRole()).not.toBe("leader");
    expect(putAcknowledged(net, 3, "v2")).toBe(false);
    expect(net.node(2).status()).toMatchObject({ leader: 1, epoch: 1 });
  });
});

describe("the lease's length (thesis §6.4.1; issue 10, bug 2)", () => {
  it("a lease lasts electionTimeoutTicks less the clock drift bound and one tick, counted from the tick its round was sent", () => {
    const lease = leaseTicks(10, 10);
    expect(lease).toBe(7);
    const net = new TestNetwork([1, 2, 3], leaseOptions);
    net.elect(1);
    net.put(1, "k", "v1");
    net.tick(1); // a round sent and acknowledged at once
    net.isolate(1);
    net.tick(1, lease - 1);
    expect(readAt(net, 1)).toBe("v1");
    net.tick(1);
    expect(readAt(net, 1)).toBeUndefined(); // a ReadIndex round, which the cut-off leader cannot complete
    expect(net.node(1).raftRole()).toBe("leader");
  });

  it("acknowledgements that arrive late do not renew the lease: the others elected a leader meanwhile", () => {
    const net = new TestNetwork([1, 2, 3], leaseOptions);
    net.elect(1);
    net.put(1, "k", "v1");
    net.queue = [];
    net.node(1).tick();
    net.collect(1);
    const round = net.queue;
    net.queue = [];
    for (const envelope of round) net.deliver(envelope);
    net.collect(2);
    net.collect(3);
    const delayedAcks = net.queue; // the round's acknowledgements are held up in the network
    net.queue = [];
    // Nodes 2 and 3 wait out the election timeout since that round and elect
    // node 2, which commits k=v2; node 1's clock runs at the same rate.
    net.isolate(1);
    net.tick(2, 10);
    net.tick(3, 10);
    net.tick(1, 10);
    net.elect(2);
    expect(net.node(2).raftRole()).toBe("leader");
    expect(putAcknowledged(net, 2, "v2")).toBe(true);
    // Now the acknowledgements reach node 1, which still believes it leads.
    net.heal();
    for (const envelope of delayedAcks) net.deliver(envelope);
    net.isolate(1);
    net.deliverAll();
    expect(net.node(1).raftRole()).toBe("leader");
    expect(readAt(net, 1)).toBeUndefined();
  });

  it("clockDriftBoundPercent is validated: out of range, or leaving a lease no longer than a heartbeat, is a configuration error", () => {
    const net = new TestNetwork([1]);
    expect(() => net.start(1, { ...leaseOptions, clockDriftBoundPercent: 41 })).toThrow(ConfigError);
    expect(() => net.start(1, { ...leaseOptions, clockDriftBoundPercent: -1 })).toThrow(/clockDriftBoundPercent/);
    expect(() => net.start(1, { ...leaseOptions, electionTimeoutTicks: 4, heartbeatTicks: 2, clockDriftBoundPercent: 20 })).toThrow(/clockDriftBoundPercent/);
    expect(() => net.start(1, { ...leaseOptions, electionTimeoutTicks: 4, heartbeatTicks: 1, clockDriftBoundPercent: 0 })).not.toThrow();
  });
});
