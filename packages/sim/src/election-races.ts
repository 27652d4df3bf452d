import type { ChaosFaultHints, ProtocolOptions, Rng } from "@concord/core";
import type { Fault } from "./scenario.ts";

const chaosElectionRaceKinds = ["stalled-leader-successor-cut"] as const;
/** ChaosElectionRaceKind names a race timed by an election rather than by the clock. */
export type ChaosElectionRaceKind = (typeof chaosElectionRaceKinds)[number];

/** ChaosElectionRace is the faults of such a race drawn for a run (none in most runs). */
export interface ChaosElectionRace {
  readonly kind: ChaosElectionRaceKind | undefined;
  readonly faults: readonly Fault[];
}

/** electionRaceWindowMs is how long the race waits for a new leader: several election timeouts and a lease. */
const electionRaceWindowMs = 2000;

/**
 * formerLeaderHealsFirstMsMin and formerLeaderHealsFirstMsMax bound how long the cut heals towards the former leader
 * alone, reaching past the longest heartbeat interval the swarm draws (Multi-Paxos: 49 ticks of 10 ms), so that a
 * cut-off leader still leading once the former leader's backlog and the catch-up it starts have arrived sends its
 * companions its next heartbeat before the majority's leader reaches it. With 20 to 200 ms (the first layout) a
 * leader drawing a heartbeat of 20 ticks or more was mostly reached by the majority's leader first.
 */
const formerLeaderHealsFirstMsMin = 60;
const formerLeaderHealsFirstMsMax = 600;

/**
 * drawChaosElectionRaces draws, in one run of two of a cluster of three or
 * more, a race timed by an election, which faults timed by the clock meet
 * almost never (issue 21):
 *
 * - "stalled-leader-successor-cut": the leader's links to one of its
 *   followers (three runs of four; to every peer otherwise) stall (what it
 *   sends is held in the network, not lost), so the follower stops hearing
 *   it and runs; the new leader is cut off from the majority, with as many
 *   companions (followers of the former leader, members of its
 *   configuration) as still leave a majority outside (in three runs of
 *   four; fewer otherwise), in the instant it leads or 1 to 3 ms
 *   later (within a round trip of its election, before the first round of
 *   its reign completes); what the stalled links held for the replicas left
 *   outside arrives then, and what they held for those cut off arrives when
 *   the cut ends, after the majority elected a leader of its own: towards
 *   the former leader first, 60 to 600 ms before the rest (three runs of
 *   four), long enough for a heartbeat of the cut-off leader's. A leader
 *   that learns from such a delayed message of an older leader (Multi-Paxos:
 *   a lower ballot's Accept or Heartbeat, or the Promise to its own
 *   Prepare, which start a catch-up, answered by a snapshot when the former
 *   leader compacted past the cut-off leader's watermark)
 *   that a higher ballot chose another value where it proposed must step
 *   down before its own watermark vouches for its proposal there (issue 21,
 *   bug 1; PMMC's decisions).
 *
 * It is protocol-agnostic: it names no message type, only the leader the
 * simulator sees (a replica reporting the leader or primary role in an epoch
 * above every live one's when the race fired). It comes from a stream of its
 * own, so that a seed's other faults and races stay what they were.
 */
export function drawChaosElectionRaces(rng: Rng, phaseMs: number, nodes: number): ChaosElectionRace {
  if (nodes < 3 || !rng.chance(1, 2)) return { kind: undefined, faults: [] };
  const kind = chaosElectionRaceKinds[rng.nextInt(chaosElectionRaceKinds.length)] as ChaosElectionRaceKind;
  // Early in the phase, so that the workload still runs on both sides of the cut.
  const atMs = rng.nextInt(Math.max(1, Math.floor(phaseMs * 0.4)));
  // The largest minority the new leader can be cut off with: the replicas outside must still be a majority.
  const companionsMax = nodes - (Math.floor(nodes / 2) + 1) - 1;
  const companions = companionsMax === 0 || rng.chance(3, 4) ? companionsMax : rng.nextInt(companionsMax);
  const afterLeadsMs = rng.chance(1, 2) ? 0 : rng.nextIntBetween(1, 3);
  return {
    kind,
    faults: [
      {
        type: "partition",
        atMs,
        isolate: ["leader"],
        nextLeader: true,
        holdLeader: rng.chance(3, 4) ? "follower" : "all",
        formerLeaderHealsFirstMs: rng.chance(1, 4) ? 0 : rng.nextIntBetween(formerLeaderHealsFirstMsMin, formerLeaderHealsFirstMsMax),
        windowMs: electionRaceWindowMs,
        afterLeadsMs,
        companions,
        oneWay: false,
        direction: "outbound",
        clients: rng.chance(3, 4) ? "split" : "both",
        durationMs: rng.nextIntBetween(600, 2000),
      },
    ],
  };
}

/**
 * drawElectionRaceOptions draws, for a run that draws the election race, the protocol options the race asks for: in
 * one run of two, a snapshot interval of 1 to the hints' `snapshotInterval.max` applied entries (unless the run fixes
 * it), so that the replica the cut-off leader asks for what it missed has compacted past it and answers with a
 * snapshot, whose slots the leader cannot compare with its own proposals (Multi-Paxos: issue 21, bug 1 by snapshot
 * transfer; the option space draws its lowest value in one run of four, mostly hundreds otherwise). From a stream of
 * its own, so that the options the seed drew stay what they were.
 */
export function drawElectionRaceOptions(rng: Rng, hints: ChaosFaultHints | undefined, explicit: ProtocolOptions): ProtocolOptions {
  const interval = hints?.snapshotInterval;
  if (interval === undefined || explicit[interval.option] !== undefined || !rng.chance(1, 2)) return {};
  return { [interval.option]: rng.nextIntBetween(1, interval.max) };
}
