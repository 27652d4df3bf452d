import { describe, expect, it } from "vitest";
import { type MultiPaxosMessage } from "@concord/multipaxos";
import { OneValuePerSlotMonitor } from "@concord/multipaxos/internals";
import { multiPaxosCluster, put } from "./kit.ts";

const correct = { timeUs: 0, faulty: false };
const faulty = { timeUs: 0, faulty: true };

function accept(slot: number, round: number, node: number, value: number): MultiPaxosMessage {
  const command = { clientId: 1_000_000, sequence: value, command: Uint8Array.of(value) };
  return { type: "accept", slot, ballotRound: round, ballotNode: node, chosenWatermark: 0, leaseTick: 0, commands: [command], members: [] } as unknown as MultiPaxosMessage;
}

function accepted(slot: number, round: number, node: number): MultiPaxosMessage {
  return { type: "accepted", slot, ballotRound: round, ballotNode: node, leaseTick: 0 } as MultiPaxosMessage;
}

describe("the one-value-per-slot oracle", () => {
  it("reports two different values chosen for one slot by correct replicas", () => {
    const monitor = new OneValuePerSlotMonitor();
    // Ballot 1.1 gets value 7 accepted by a majority of {1, 2, 3}.
    monitor.observeSend(1, 2, accept(5, 1, 1, 7), correct);
    monitor.observeSend(1, 3, accept(5, 1, 1, 7), correct);
    monitor.observeSend(2, 1, accepted(5, 1, 1), correct);
    expect(monitor.violations()).toEqual([]);
    // A later ballot choosing a different value in the same slot breaks Paxos.
    monitor.observeSend(2, 1, accept(5, 2, 2, 8), correct);
    monitor.observeSend(2, 3, accept(5, 2, 2, 8), correct);
    monitor.observeSend(3, 2, accepted(5, 2, 2), correct);
    expect(monitor.violations().map((violation) => violation.message)).toEqual([expect.stringContaining("two different values chosen for slot 5")]);
  });

  it("counts a quorum of the proposer's configuration, not of the Accepts that left before it crashed mid-fan-out", () => {
    // Found by a chaos swarm at n = 5 (seed 810): a leader crashed part-way through sending its Accepts
    // ('while-sending'), and the oracle, learning the acceptor set from the fan-out, took 2 of the 2
    // acceptors it saw as a choice that a later ballot then legally overrode.
    const cluster = multiPaxosCluster(5);
    const monitor = new OneValuePerSlotMonitor();
    monitor.observeReplica(cluster.replica(0), correct);
    monitor.observeReplica(cluster.replica(1), correct);
    monitor.observeSend(0, 1, accept(5, 1, 0, 7), correct); // the only Accept of five that left
    monitor.observeSend(1, 0, accepted(5, 1, 0), correct);
    // Ballot 2.1 chooses 8 with a true majority (1, 2, 3 of five): legal, since 7 was never chosen.
    for (const to of [0, 2, 3, 4]) monitor.observeSend(1, to, accept(5, 2, 1, 8), correct);
    monitor.observeSend(2, 1, accepted(5, 2, 1), correct);
    monitor.observeSend(3, 1, accepted(5, 2, 1), correct);
    expect(monitor.violations()).toEqual([]);
    // A third acceptor for 7 in ballot 1.0 would have made it chosen: then 8 is a second value.
    monitor.observeSend(4, 0, accepted(5, 1, 0), correct);
    expect(monitor.violations().map((violation) => violation.message)).toEqual([expect.stringContaining("two different values chosen for slot 5")]);
  });

  it("does not take a Byzantine replica's claims, or acceptances of a Byzantine proposer's ballot, as the protocol's doing", () => {
    const monitor = new OneValuePerSlotMonitor();
    monitor.observeSend(1, 2, accepted(3, 9, 1), faulty); // a lie about a ballot nobody proposed
    monitor.observeSend(1, 2, accept(4, 2, 1, 7), faulty); // a Byzantine leader equivocates ...
    monitor.observeSend(1, 3, accept(4, 2, 1, 8), faulty);
    monitor.observeSend(2, 1, accepted(4, 2, 1), correct); // ... and correct acceptors answer it
    expect(monitor.violations()).toEqual([]);
  });

  it("reports a replica that learned a value for a slot other than the one another replica learned there", () => {
    // Two clusters choose different values for slot 1; one monitor sees a replica of each, as if they were one run.
    const first = multiPaxosCluster(3);
    first.request(0, put("a", "1"));
    first.tickAndDeliver(3);
    const second = multiPaxosCluster(3);
    second.request(0, put("a", "2"));
    second.tickAndDeliver(3);
    const monitor = new OneValuePerSlotMonitor();
    monitor.observeReplica(first.replica(0), correct);
    monitor.observeReplica(first.replica(1), correct);
    expect(monitor.violations()).toEqual([]);
    monitor.observeReplica(second.replica(2), correct);
    expect(monitor.learnedSlotsChecked()).toBe(3);
    expect(monitor.violations().map((violation) => violation.message)).toEqual([expect.stringContaining("replica 2 learned a value for slot 1")]);
  });

  it("stops comparing learners once a Byzantine replica has spoken, since correct replicas may have been lied to", () => {
    const first = multiPaxosCluster(3);
    first.request(0, put("a", "1"));
    first.tickAndDeliver(3);
    const second = multiPaxosCluster(3);
    second.request(0, put("a", "2"));
    second.tickAndDeliver(3);
    const monitor = new OneValuePerSlotMonitor();
    monitor.observeReplica(first.replica(1), correct);
    monitor.observeSend(0, 2, { type: "chosen", entries: [] }, faulty);
    monitor.observeReplica(second.replica(2), correct);
    expect(monitor.violations()).toEqual([]);
  });
});
