// Hand-built message schedules that once broke Multi-Paxos's safety (issue 21),
// kept as regression tests. Each schedule is deterministic: the test decides
// every delivery, drop and tick through the in-memory harness.
import { assert, firstClientId } from "@concord/core";
import type { MultiPaxosMessage } from "@concord/multipaxos";
import { describe, expect, test } from "vitest";
import { type Envelope, type MultiPaxosCluster, multiPaxosCluster, put } from "./kit.ts";

const client = firstClientId;

function sentBy(from: number, type: MultiPaxosMessage["type"]) {
  return (envelope: Envelope): boolean => envelope.from === from && envelope.message.type === type;
}

/** exchange delivers only the messages between the replicas of `among` until none is left, and drops every other message. */
function exchange(cluster: MultiPaxosCluster, among: readonly number[]): void {
  cluster.deliverAll((envelope) => among.includes(envelope.from) && among.includes(envelope.to));
}

/** deliverTo delivers the envelopes addressed to one of `to` and drops the rest. */
function deliverTo(cluster: MultiPaxosCluster, envelopes: readonly Envelope[], to: readonly number[]): void {
  for (const envelope of envelopes) if (to.includes(envelope.to)) cluster.deliver(envelope);
}

describe("a chosen watermark vouches only for what was chosen in its ballot (PMMC decisions; issue 21, bug 1)", () => {
  test.each([
    ["chosen values (catch-up)", {}],
    ["a snapshot transfer", { snapshotEveryEntries: 2 }],
  ])("a leader that learns from a peer through %s that a higher ballot chose another value where it proposed does not make its acceptor execute its losing proposal", (_how, options) => {
    const cluster = multiPaxosCluster(5, options);
    // Leader 0 (ballot 1.0) gets A chosen at slot 1; its next heartbeat to node 1 (watermark 1) is held back.
    cluster.request(0, put("a", "A"));
    cluster.deliverAll();
    expect(cluster.replica(0).status().commitIndex).toBe(1);
    const delayedHeartbeat = cluster.tickUntilSent(0, "heartbeat").filter((envelope) => envelope.to === 1);
    cluster.queue = [];

    // Node 1 wins ballot 2.1 with promises from {1, 2, 3} and proposes X at slot 2; only node 2 accepts it.
    deliverTo(cluster, cluster.tickUntilSent(1, "prepare"), [2, 3]);
    deliverTo(cluster, cluster.take(sentBy(2, "promise")).concat(cluster.take(sentBy(3, "promise"))), [1]);
    expect(cluster.replica(1).status()).toMatchObject({ role: "leader", epoch: 2 });
    cluster.queue = cluster.queue.filter((envelope) => envelope.to === 2);
    cluster.request(1, put("x", "X"), { clientId: client + 1 });
    exchange(cluster, [1, 2]);
    expect(cluster.replica(2).acceptedAt(2)?.ballot).toEqual({ round: 2, node: 1 });
    expect(cluster.replica(1).status().commitIndex).toBe(0);

    // Node 4 wins a higher ballot with promises from {0, 3, 4} and gets Y chosen at slot 2; node 0 and 3 learn it.
    deliverTo(cluster, cluster.tickUntilSent(4, "prepare"), [0, 3]);
    exchange(cluster, [0, 3, 4]);
    expect(cluster.replica(4).status().role).toBe("leader");
    expect(cluster.replica(4).promisedBallot().round).toBe(2);
    cluster.request(4, put("x", "Y"), { clientId: client + 2 });
    exchange(cluster, [0, 3, 4]);
    deliverTo(cluster, cluster.tickUntilSent(4, "heartbeat"), [0, 3]);
    exchange(cluster, [0, 3, 4]);
    expect(cluster.replica(0).status().commitIndex).toBe(2);
    expect(cluster.value(0, "x")).toBe("Y");

    // The delayed heartbeat of ballot 1.0 reaches node 1: refused, but its watermark sends node 1 to catch up,
    // and it learns slot 2 = Y from a peer while it still leads ballot 2.1.
    deliverTo(cluster, delayedHeartbeat, [1]);
    cluster.queue = [];
    for (let i = 0; i < 50 && cluster.replica(1).status().commitIndex < 2; i++) {
      cluster.tick([1]);
      const requests = cluster.take(sentBy(1, "catchupRequest"));
      cluster.queue = [];
      deliverTo(cluster, requests, [0, 3, 4]);
      deliverTo(cluster, cluster.take((envelope) => envelope.to === 1 && (envelope.message.type === "chosen" || envelope.message.type === "snapshotTransfer")), [1]);
      cluster.queue = [];
    }
    expect(cluster.replica(1).status().commitIndex).toBe(2);
    expect(cluster.value(1, "x")).toBe("Y");
    expect(cluster.replica(1).stats().snapshotsInstalled).toBe("snapshotEveryEntries" in options ? 1 : 0);

    // Whatever node 1 sends now in ballot 2.1 reaches node 2, which accepted X at slot 2 in that ballot.
    for (let i = 0; i < 5; i++) {
      cluster.tick([1]);
      deliverTo(cluster, cluster.take((envelope) => envelope.from === 1), [2]);
      cluster.queue = [];
    }
    expect(cluster.replica(2).chosenAt(2)?.[0]?.clientId ?? client + 2).toBe(client + 2);
    expect(cluster.value(2, "x")).not.toBe("X");
    expect(cluster.violations()).toEqual([]);

    // Healed, every replica executes Y at slot 2.
    cluster.tickAndDeliver(60);
    for (const id of cluster.ids) expect(cluster.value(id, "x"), `replica ${id}`).toBe("Y");
    expect(cluster.violations()).toEqual([]);
  });
});

describe("leases across a reconfiguration (PML, master leases; issue 21, bug 2)", () => {
  const options = { leaseTicks: 10, heartbeatTicks: 2, electionTimeoutTicks: 12, alphaSlots: 2, windowSlots: 2, retransmitTicks: 2 };

  /** run ticks every replica that is not down, `ticks` times, delivering after each tick only what `allow` lets through. */
  function run(cluster: MultiPaxosCluster, ticks: number, allow: (envelope: Envelope) => boolean): void {
    for (let i = 0; i < ticks; i++) {
      cluster.tick();
      cluster.deliverAll(allow);
    }
  }

  function between(group: readonly number[]) {
    return (envelope: Envelope): boolean => group.includes(envelope.from) && group.includes(envelope.to);
  }

  /**
   * reconfiguredBehindNodeTwo plays the schedule up to the point where node 2, which knows only slot 1, leads a
   * ballot above the new configuration's leader after phase 1 with node 1 of the old configuration {0, 1, 2}:
   * - acceptors {0, 1, 2}, α = 2; slot 1 is chosen and node 2 is cut off;
   * - leader 0 moves the acceptors to {2, 3, 4} at slot 2 (in force from slot 4), fills slot 3 and steps down;
   * - a member of {2, 3, 4} leads with the quorum {3, 4}, and `put x new` is acknowledged at slot 4;
   * - node 2 comes back, every clock running at the same rate, with only messages lost: {3, 4} keep following
   *   their leader, {0, 1} keep talking, node 2's first Prepares are lost, and its next ballot (above the new
   *   leader's) wins phase 1 with node 1.
   */
  function reconfiguredBehindNodeTwo(): { cluster: MultiPaxosCluster; leader: number; partner: number; islands: (envelope: Envelope) => boolean } {
    const cluster = multiPaxosCluster(5, options, 1, [0, 1, 2]);
    cluster.request(0, put("a", "1"));
    cluster.tickAndDeliver(3);
    expect(cluster.replica(2).status().commitIndex).toBe(1);
    cluster.pause(2);

    expect(cluster.replica(0).reconfigure([2, 3, 4])).toEqual({ kind: "proposed" });
    cluster.drain(0);
    cluster.deliverAll();
    cluster.request(0, put("b", "1"), { clientId: client + 1 });
    cluster.deliverAll();
    expect(cluster.replica(0).status()).toMatchObject({ role: "follower", commitIndex: 3 });

    let leader: number | undefined;
    for (let i = 0; i < 300 && leader === undefined; i++) {
      cluster.tickAndDeliver(1);
      leader = cluster.leaders().find((id) => id === 3 || id === 4);
    }
    assert(leader !== undefined, "3 or 4 leads the new configuration");
    const write = cluster.request(leader, put("x", "new"), { clientId: client + 2 });
    cluster.deliverAll();
    expect(cluster.replyTo(client + 2, write)?.type).toBe("put");
    expect(cluster.replica(leader).status().commitIndex).toBeGreaterThanOrEqual(4);

    cluster.resume(2);
    const islands = (envelope: Envelope): boolean => between([3, 4])(envelope) || between([0, 1])(envelope);
    const campaigns = (): number => cluster.replica(2).stats().phase1Started;
    for (let i = 0; i < 200 && campaigns() < 2; i++) run(cluster, 1, islands);
    expect(campaigns()).toBe(2);
    const withPhase1 = (envelope: Envelope): boolean => islands(envelope) || between([1, 2])(envelope);
    for (let i = 0; i < 20 && cluster.replica(2).status().role !== "leader"; i++) run(cluster, 1, withPhase1);
    expect(cluster.replica(2).status().role).toBe("leader");
    expect(cluster.replica(2).status().epoch).toBeGreaterThan(cluster.replica(leader).promisedBallot().round);
    expect(cluster.replica(leader).status().role).toBe("leader");
    return { cluster, leader, partner: leader === 3 ? 4 : 3, islands: withPhase1 };
  }

  test("a leader that won phase 1 only in the old configuration serves no lease read on acknowledgements from the new one", () => {
    const { cluster, islands } = reconfiguredBehindNodeTwo();
    // Node 2 re-proposes slots 2 and 3 with node 1, and so learns that {2, 3, 4} governs from slot 4. Its Prepares to
    // 3 and 4 are lost, but its heartbeats reach them and their acknowledgements come back.
    const heartbeats = (envelope: Envelope): boolean =>
      (envelope.from === 2 && envelope.message.type === "heartbeat") || (envelope.to === 2 && envelope.message.type === "heartbeatAck");
    run(cluster, 6, (envelope) => islands(envelope) || heartbeats(envelope));
    const stale = cluster.replica(2);
    expect(stale.status()).toMatchObject({ role: "leader", commitIndex: 3 });
    expect(stale.membersAt(4)).toEqual([2, 3, 4]);

    const read = cluster.request(2, { type: "get", key: "x" }, { clientId: client + 3, readOnly: true });
    const answer = cluster.replyTo(client + 3, read);
    expect(answer === undefined || (answer.type === "get" && answer.value !== undefined)).toBe(true);
    expect(stale.stats().leaseReads).toBe(0);
    expect(stale.leaseValid()).toBe(false);
  });

  test("an acceptor inside a lease takes no higher ballot from another leader's heartbeat, so the lease holder's reads stay current", () => {
    const { cluster, leader, partner } = reconfiguredBehindNodeTwo();
    const holder = cluster.replica(leader);
    expect(holder.leaseValid()).toBe(true);
    // From here the lease holder hears nothing more. Node 2 finishes slots 2 and 3 with node 1, heartbeats the
    // partner (which granted the holder its lease), asks it for a promise, and tries to write x again.
    const cutOff = (envelope: Envelope): boolean => envelope.from !== leader && envelope.to !== leader;
    const reachable = (envelope: Envelope): boolean => cutOff(envelope) && (between([1, 2])(envelope) || between([2, partner])(envelope) || between([0, 1])(envelope));
    run(cluster, 1, reachable);
    const write = cluster.request(2, put("x", "newer"), { clientId: client + 4 });
    run(cluster, 3, reachable);
    expect(holder.leaseValid()).toBe(true);
    const read = cluster.request(leader, { type: "get", key: "x" }, { clientId: client + 5, readOnly: true });
    const answer = cluster.replyTo(client + 5, read);
    expect(answer).toEqual({ type: "get", value: new TextEncoder().encode("new") });
    // A read that returns "new" is linearizable only if "newer" was not acknowledged before it.
    expect(cluster.replyTo(client + 4, write)).toBeUndefined();
    expect(cluster.replica(partner).stats().ballotsRefusedForLease).toBeGreaterThan(0);
    expect(cluster.violations()).toEqual([]);
  });
});
