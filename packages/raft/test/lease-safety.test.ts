// Lease reads stay linearizable only while no other leader can be elected
// (thesis §6.4.1): every voter that acknowledged the leader's lease round must
// refuse votes until an election timeout has passed since it heard from that
// leader (thesis §4.2.3, §6.2). These are the schedules of issue 21, bugs 4
// and 5, in which a voter forgot its leader too early, and the lease arithmetic
// of issue 10, bug 2.
import { ConfigError, firstClientId, type NodeId } from "@concord/core";
import { describe, expect, it } from "vitest";
import { leaseTicks } from "@concord/raft";
import { type RaftCluster, type Envelope, raftCluster, elect, put } from "./kit.ts";

const leaseOptions = { preVote: true, checkQuorum: true, leaseReads: true };
const writer = firstClientId + 10;
const reader = firstClientId + 50;
const encoder = new TextEncoder();

/** ticksUntilFires counts the ticks of `tick` until replica `id` leaves the role it has now (its election timer fired). */
function ticksUntilFires(net: RaftCluster, id: NodeId, tick: (net: RaftCluster) => void): number {
  const role = net.replica(id).raftRole();
  for (let ticks = 1; ticks <= 100; ticks++) {
    tick(net);
    if (net.replica(id).raftRole() !== role) return ticks;
  }
  throw new Error(`replica ${id} never fired`);
}

/** readAt asks `id` for key k by a lease read and returns what it answered, if it answered. */
function readAt(net: RaftCluster, id: NodeId): string | undefined {
  const sequence = net.nextSequence(reader);
  net.request(id, { type: "get", key: "k" }, { clientId: reader, sequence, stepOnly: true });
  net.deliverAll();
  const reply = net.repliesTo(reader).find((r) => r.sequence === sequence && r.from === id);
  if (reply === undefined || reply.result.type !== "get") return undefined;
  return reply.result.value === undefined ? "" : new TextDecoder().decode(reply.result.value);
}

/** putAcknowledged proposes k=value through `id` and tells whether the client was told it committed. */
function putAcknowledged(net: RaftCluster, id: NodeId, value: string): boolean {
  const sequence = net.nextSequence(writer);
  net.request(id, { type: "put", key: "k", value: encoder.encode(value) }, { clientId: writer, sequence, stepOnly: true });
  net.deliverAll();
  net.tickAndDeliver(2, { only: id });
  return net.repliesTo(writer).some((r) => r.sequence === sequence && r.from === id);
}

describe("a voter inside a leader's lease does not help elect another leader (thesis §6.4.1, §4.2.3)", () => {
  it("a restarted voter waits an election timeout before granting a vote (issue 21, bug 4)", () => {
    // Node 1 leads and commits k=v1; the 1-3 link is cut and node 3's timer
    // runs to two ticks from firing; node 2 crashes and restarts at once, and
    // the 1-2 link is cut; two ticks later node 3 campaigns.
    const build = (): RaftCluster => {
      const net = raftCluster([1, 2, 3], leaseOptions);
      elect(net, 1);
      put(net, 1, "k", "v1", writer, net.nextSequence(writer));
      net.tickAndDeliver(2);
      net.cut(1, 3);
      return net;
    };
    const fires = ticksUntilFires(build(), 3, (n) => n.tickAndDeliver());
    const net = build();
    net.nextSequence(writer);
    net.tickAndDeliver(fires - 2);
    net.crash(2);
    net.restart(2);
    net.cut(1, 2);
    net.tickAndDeliver(2);
    // Node 1 heard node 2 acknowledge a round two ticks ago: its lease holds, and it answers.
    expect(readAt(net, 1)).toBe("v1");
    // So node 3 must not have been elected with the restarted node 2's vote, nor a write acknowledged.
    expect(net.replica(3).raftRole()).not.toBe("leader");
    expect(putAcknowledged(net, 3, "v2")).toBe(false);
  });

  it("a restarted voter votes again once an election timeout has passed since its start", () => {
    const net = raftCluster([1, 2, 3], leaseOptions);
    elect(net, 1);
    put(net, 1, "k", "v1");
    net.crash(2);
    net.restart(2);
    net.isolate(1);
    net.tickAndDeliver(9, { only: 2 });
    elect(net, 3);
    expect(net.replica(3).raftRole()).not.toBe("leader");
    net.tickAndDeliver(1, { only: 2 });
    elect(net, 3);
    expect(net.replica(3).raftRole()).toBe("leader");
  });

  it("a replica that never left term 0 has acknowledged no leader, so it votes at once", () => {
    const net = raftCluster([1, 2, 3], leaseOptions);
    elect(net, 1);
    expect(net.replica(1).raftRole()).toBe("leader");
  });

  it("a follower inside the lease does not give up its leader for a higher term carried by a reply (issue 21, bug 5)", () => {
    let held: Envelope | undefined;
    const build = (): RaftCluster => {
      const net = raftCluster([1, 2, 3], leaseOptions);
      // Before any election, node 2's pre-vote request to node 3 is held in the network.
      net.replica(2).campaign();
      net.collect(2);
      held = net.queue.find((e) => e.to === 3);
      net.queue = [];
      elect(net, 1);
      expect(net.replica(1).raftRole()).toBe("leader");
      put(net, 1, "k", "v1", writer, net.nextSequence(writer));
      net.tickAndDeliver(2);
      // Node 1 is isolated just after a check-quorum round: a leader checks
      // every electionTimeoutTicks (10) of its ticks since its election.
      net.tickAndDeliver(8, { only: 1 });
      net.isolate(1);
      // Node 2 leaves the lease; node 3 wins a pre-vote, but its vote requests are lost: it sits in term 2.
      net.tickAndDeliver(10, { only: 2 });
      net.drop = (e) => e.from === 3 && e.message.type === "requestVote" && !e.message.preVote;
      net.replica(3).campaign();
      net.deliverAll();
      net.drop = undefined;
      expect(net.replica(3).status()).toMatchObject({ role: "candidate", epoch: 2 });
      // 1-2 is healed (node 2 is back in node 1's lease); 1-3 stays cut.
      net.heal();
      net.cut(1, 3);
      net.tickAndDeliver(1, { only: 1 });
      expect(net.replica(1).raftRole()).toBe("leader");
      expect(net.replica(2).status().leader).toBe(1);
      return net;
    };
    const fires = ticksUntilFires(build(), 3, (n) => n.tickAndDeliver());
    const net = build();
    net.nextSequence(writer);
    net.tickAndDeliver(fires - 2);
    // 1-2 is cut and the held request reaches node 3, whose reply carries term 2 to node 2.
    net.cut(1, 2);
    expect(held).toBeDefined();
    net.deliver(held as Envelope, { drain: false });
    net.deliverAll();
    net.tickAndDeliver(2);
    expect(readAt(net, 1)).toBe("v1");
    expect(net.replica(3).raftRole()).not.toBe("leader");
    expect(putAcknowledged(net, 3, "v2")).toBe(false);
    expect(net.replica(2).status()).toMatchObject({ leader: 1, epoch: 1 });
  });
});

describe("the lease's length (thesis §6.4.1; issue 10, bug 2)", () => {
  it("a lease lasts electionTimeoutTicks less the clock drift bound and one tick, counted from the tick its round was sent", () => {
    const lease = leaseTicks(10, 10);
    expect(lease).toBe(7);
    const net = raftCluster([1, 2, 3], leaseOptions);
    elect(net, 1);
    put(net, 1, "k", "v1");
    net.tickAndDeliver(1, { only: 1 }); // a round sent and acknowledged at once
    net.isolate(1);
    net.tickAndDeliver(lease - 1, { only: 1 });
    expect(readAt(net, 1)).toBe("v1");
    net.tickAndDeliver(1, { only: 1 });
    expect(readAt(net, 1)).toBeUndefined(); // a ReadIndex round, which the cut-off leader cannot complete
    expect(net.replica(1).raftRole()).toBe("leader");
  });

  it("acknowledgements that arrive late do not renew the lease: the others elected a leader meanwhile", () => {
    const net = raftCluster([1, 2, 3], leaseOptions);
    elect(net, 1);
    put(net, 1, "k", "v1");
    net.queue = [];
    net.replica(1).tick();
    net.collect(1);
    const round = net.queue;
    net.queue = [];
    for (const envelope of round) net.deliver(envelope, { drain: false });
    net.collect(2);
    net.collect(3);
    const delayedAcks = net.queue; // the round's acknowledgements are held up in the network
    net.queue = [];
    // Nodes 2 and 3 wait out the election timeout since that round and elect
    // node 2, which commits k=v2; node 1's clock runs at the same rate.
    net.isolate(1);
    net.tickAndDeliver(10, { only: 2 });
    net.tickAndDeliver(10, { only: 3 });
    net.tickAndDeliver(10, { only: 1 });
    elect(net, 2);
    expect(net.replica(2).raftRole()).toBe("leader");
    expect(putAcknowledged(net, 2, "v2")).toBe(true);
    // Now the acknowledgements reach node 1, which still believes it leads.
    net.heal();
    for (const envelope of delayedAcks) net.deliver(envelope, { drain: false });
    net.isolate(1);
    net.deliverAll();
    expect(net.replica(1).raftRole()).toBe("leader");
    expect(readAt(net, 1)).toBeUndefined();
  });

  it("clockDriftBoundPercent is validated: out of range, or leaving a lease no longer than a heartbeat, is a configuration error", () => {
    const net = raftCluster([1]);
    expect(() => net.restart(1, { options: { ...leaseOptions, clockDriftBoundPercent: 41 } })).toThrow(ConfigError);
    expect(() => net.restart(1, { options: { ...leaseOptions, clockDriftBoundPercent: -1 } })).toThrow(/clockDriftBoundPercent/);
    expect(() => net.restart(1, { options: { ...leaseOptions, electionTimeoutTicks: 4, heartbeatTicks: 2, clockDriftBoundPercent: 20 } })).toThrow(/clockDriftBoundPercent/);
    expect(() => net.restart(1, { options: { ...leaseOptions, electionTimeoutTicks: 4, heartbeatTicks: 1, clockDriftBoundPercent: 0 } })).not.toThrow();
  });
});
