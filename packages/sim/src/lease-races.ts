import type { Rng } from "@concord/core";
import type { Fault } from "./scenario.ts";

const chaosLeaseRaceKinds = ["acks-lag-past-election", "voter-restarts-as-leader-cut"] as const;
/** ChaosLeaseRaceKind names a race sized by the election timeout, around a leader's lease. */
export type ChaosLeaseRaceKind = (typeof chaosLeaseRaceKinds)[number];

/** ChaosLeaseRace is the faults of such a race drawn for a run (none in most runs). */
export interface ChaosLeaseRace {
  readonly kind: ChaosLeaseRaceKind | undefined;
  readonly faults: readonly Fault[];
}

/** lagSteps is how many steps a growing lag takes to its drawn height. */
const lagSteps = 5;

/** drawScaled draws a whole number of milliseconds in [low, high] times `scaleMs`, at least `floorMs`. */
function drawScaled(rng: Rng, scaleMs: number, lowPercent: number, highPercent: number, floorMs: number): number {
  return Math.max(floorMs, Math.round((scaleMs * rng.nextIntBetween(lowPercent, highPercent)) / 100));
}

/**
 * drawChaosLeaseRaces draws, in one run of three of a cluster of three or
 * more whose algorithm tells chaos its election timeout (the hint
 * `electionTimeoutTicks`), a race whose faults are sized by that timeout, or
 * timed by an election, around the lease of a leader about to be cut off
 * (issue 21). The other races draw their lags and delays in fixed ranges of
 * milliseconds, which for most drawn timeouts are far shorter or far longer
 * than an election, so the moments a lease rests on are rarely met:
 *
 * - "acks-lag-past-election": a queue builds up on the links into the
 *   leader: its peers' messages lag more and more, in five steps, up to one
 *   to two and a half election timeouts (each step under a timeout, so that
 *   check-quorum keeps hearing them), and then the leader is cut off from
 *   its peers while half or all of its clients still reach it. The last
 *   rounds' acknowledgements arrive after the others have elected a
 *   successor: a lease must run from when a round was sent, not from when
 *   its acknowledgement came back (thesis §6.4.1).
 * - "voter-restarts-as-leader-cut": the leader's messages to one follower are
 *   lost (a link that fails one way), and its stream of appends to all of
 *   them fails while its heartbeats still flow (etcd sends the two on streams
 *   of their own), so no log grows past the deaf follower's; in the instant
 *   that follower starts to campaign, another follower of the leader crashes
 *   and is back at once (a voter that restarted just before the election
 *   timer fired) and the leader is cut off from its peers, half or all of
 *   its clients with it (`atCampaign` faults). The leader's lease still
 *   counts the restarted voter's last acknowledgement: a restarted voter must
 *   refuse its vote for an election timeout, since it cannot know whose
 *   lease it is in (issue 21, bug 4).
 *
 * It comes from a stream of its own, so that a seed's other faults and races
 * stay what they were. `electionTimeoutMs` is the shortest election timeout
 * in milliseconds; `messageTypes` are the codec's type names (the appends'
 * loss needs Raft's "appendEntries").
 */
export function drawChaosLeaseRaces(rng: Rng, phaseMs: number, nodes: number, electionTimeoutMs: number | undefined, messageTypes: readonly string[] = []): ChaosLeaseRace {
  const appendTypes = messageTypes.filter((type) => type === "appendEntries");
  if (electionTimeoutMs === undefined || nodes < 3 || !rng.chance(1, 3)) return { kind: undefined, faults: [] };
  const kind = chaosLeaseRaceKinds[rng.nextInt(chaosLeaseRaceKinds.length)] as ChaosLeaseRaceKind;
  const timeoutMs = electionTimeoutMs;
  const clients = rng.chance(1, 2) ? ("split" as const) : ("both" as const);
  // The cut falls inside the fault phase, and the faults before it start no earlier than the phase.
  const cutAtMs = rng.nextInt(Math.max(1, Math.floor(phaseMs * 0.8)));
  // The cut lasts long enough for the others to elect a successor and take a write: two to four timeouts.
  const cutMs = Math.max(300, drawScaled(rng, timeoutMs, 200, 400, 0));
  switch (kind) {
    case "acks-lag-past-election": {
      // A queue building up on the links into the leader: the lag grows in steps to one to two and a half election
      // timeouts, each step a fifth of the last, over at least that long, so that no gap between two arrivals at the
      // leader outlasts a check-quorum round (which would depose it) although the last rounds' acknowledgements
      // arrive long after they were sent.
      const lagMs = drawScaled(rng, timeoutMs, 100, 250, 5);
      const rampMs = Math.max(lagMs, drawScaled(rng, timeoutMs, 100, 200, 5));
      const rampCutAtMs = Math.max(cutAtMs, Math.min(rampMs, Math.floor(phaseMs * 0.8)));
      const rampAtMs = Math.max(0, rampCutAtMs - rampMs);
      const faults: Fault[] = [];
      for (let step = 1; step <= lagSteps; step++) {
        const atMs = rampAtMs + Math.floor(((rampCutAtMs - rampAtMs) * (step - 1)) / lagSteps);
        // Each step lasts until the cut, over the ones before it (a later link fault wins where they overlap).
        const latency = { kind: "constant" as const, ms: Math.max(1, Math.round((lagMs * step) / lagSteps)) };
        faults.push({ type: "link", atMs, durationMs: rampCutAtMs - atMs + 1, link: { latency }, from: "all", to: "leader" });
      }
      faults.push({ type: "partition", atMs: rampCutAtMs, isolate: ["leader"], oneWay: false, direction: "outbound", clients, durationMs: cutMs + lagMs });
      return { kind, faults };
    }
    case "voter-restarts-as-leader-cut": {
      // The follower deaf to the leader campaigns one to two timeouts after the link fails: the crash and the cut
      // wait for that campaign, and fire in its instant, the voter back before the campaigner's requests reach it.
      const awayAtMs = Math.max(0, cutAtMs - timeoutMs);
      const windowMs = Math.round(timeoutMs * 2.5);
      const awayMs = windowMs + cutMs;
      const faults: Fault[] = [
        { type: "link", atMs: awayAtMs, durationMs: awayMs, link: { dropPercent: 100 }, from: "leader", to: "follower" },
        { type: "crash", atMs: awayAtMs, target: "follower", restartAfterMs: 0, timing: "at-once", windowMs, atCampaign: true },
        { type: "partition", atMs: awayAtMs, isolate: ["leader"], oneWay: false, direction: "outbound", clients, durationMs: cutMs, atCampaign: true, windowMs },
      ];
      if (appendTypes.length > 0) {
        // Meanwhile the leader's stream of appends fails while its heartbeats still flow (etcd sends them on streams
        // of their own): its followers' logs stop where the deaf one's did, so the deaf one can still be elected.
        faults.push({ type: "link", atMs: awayAtMs, durationMs: awayMs, link: { dropPercent: 100 }, messageTypes: appendTypes, from: "leader" });
      }
      return { kind, faults };
    }
  }
}
