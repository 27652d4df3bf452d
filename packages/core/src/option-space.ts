import type { NodeId } from "./ids.ts";
import type { MonitorEventContext } from "./monitor.ts";
import type { Replica } from "./replica.ts";
import type { Rng } from "./rng.ts";

/** OptionValue is a value a protocol option takes in a swarm: a count, a switch or a name. */
export type OptionValue = number | boolean | string;

/** OptionRange is one option's range in a swarm, as its two extremes (false and true for a switch). */
export interface OptionRange {
  /** name is the option's key in the protocol's options. */
  readonly name: string;
  readonly low: OptionValue;
  readonly high: OptionValue;
}

/**
 * OptionSpace is the legal ranges of a protocol's options, for swarm testing
 * (Groce et al., ISSTA 2012; TigerBeetle's VOPR): a run draws its
 * configuration from the seed, not only its faults, so that the tests walk
 * the paths that only some options open (a snapshot after every entry, lease
 * reads, a window of one slot).
 *
 * Invariant: whatever `draw` returns passes the protocol's own validation, and
 * every range in `ranges` is drawn at each of its extremes with a probability
 * of at least 1/64 per run, so that a few hundred seeds reach all of them.
 */
export interface OptionSpace {
  /** ranges lists every option the space draws, with its extremes. */
  readonly ranges: readonly OptionRange[];
  /**
   * draw picks every option of `ranges` from `rng`, except those `fixed` sets,
   * which it keeps and draws the others around (a heartbeat below a fixed
   * election timeout), and returns only what it drew.
   */
  draw(rng: Rng, fixed: Readonly<Record<string, unknown>>): Readonly<Record<string, OptionValue>>;
  /**
   * corner, where a protocol has one, draws from a stream of its own a corner of the space that `draw`'s independent
   * choices almost never meet and a hard path needs, in some runs, over `draw`'s values: a few of `ranges`' options
   * (none that `fixed` sets), each within its range, together passing the protocol's validation; nothing in the other
   * runs.
   */
  corner?(rng: Rng, fixed: Readonly<Record<string, unknown>>): Readonly<Record<string, OptionValue>>;
}

/**
 * drawSwarmInt draws an integer in [low, high]: each extreme a quarter of the
 * time, else uniformly. Swarm testing wants the extremes often, because that
 * is where the rare paths are (a snapshot interval of 1, a window of 1).
 */
export function drawSwarmInt(rng: Rng, low: number, high: number): number {
  if (high <= low) return low;
  const pick = rng.nextInt(4);
  if (pick === 0) return low;
  if (pick === 1) return high;
  return rng.nextIntBetween(low, high);
}

/** fixedNumber reads a fixed option that is a number, or undefined (absent, or not a number: the protocol's validation will name it). */
export function fixedNumber(fixed: Readonly<Record<string, unknown>>, name: string): number | undefined {
  const value = fixed[name];
  return typeof value === "number" ? value : undefined;
}

/**
 * LeaseTimingSpace names the options a leader lease ties together, for
 * {@link drawLeaseTimings} and {@link drawLeaseTicks}: the timeout after which
 * followers replace a silent leader (`timeout`, drawn up to `timeoutMax`), the
 * interval at which the leader renews the lease (`interval`), and the options
 * `clockDriftBoundPercent` (up to `driftMax`) and `leaseTicks`, as Multi-Paxos
 * and VR name them. `safeLeaseTicks` is how long the leader may count on a lease
 * of `leaseTicks` under a drift bound.
 */
export interface LeaseTimingSpace {
  /** timeout names the option after which followers replace a silent leader. */
  readonly timeout: string;
  /** timeoutMax is the longest timeout drawn. */
  readonly timeoutMax: number;
  /** interval names the option at which the leader renews its lease. */
  readonly interval: string;
  /** driftMax is the widest clock drift bound drawn, in percent. */
  readonly driftMax: number;
  /** safeLeaseTicks is how long the leader may count on a lease of `leaseTicks` under a drift bound. */
  readonly safeLeaseTicks: (leaseTicks: number, clockDriftBoundPercent: number) => number;
}

/** LeaseTimings are the drift bound, timeout and renewal interval a run takes, drawn or fixed. */
export interface LeaseTimings {
  /** drift is the clock drift bound, in percent. */
  readonly drift: number;
  /** timeout is the leader-replacement timeout, in ticks. */
  readonly timeout: number;
  /** interval is the lease-renewal interval, in ticks. */
  readonly interval: number;
}

/**
 * drawLeaseTimings draws, in this order, the drift bound, the timeout and the
 * renewal interval that are not fixed, into `drawn`, so that every draw passes
 * the protocol's schema: the interval below the timeout, and a fixed lease at
 * most the timeout and, after the drift bound, still outlasting the interval.
 */
export function drawLeaseTimings(rng: Rng, fixed: Readonly<Record<string, unknown>>, drawn: Record<string, OptionValue>, space: LeaseTimingSpace): LeaseTimings {
  const fixedInterval = fixedNumber(fixed, space.interval);
  const fixedLease = fixedNumber(fixed, "leaseTicks") ?? 0;
  // A fixed lease bounds the others: the timeout at least the lease, the drift low enough that the lease still outlasts an interval.
  let widestDrift = space.driftMax;
  while (fixedLease > 0 && widestDrift > 0 && space.safeLeaseTicks(fixedLease, widestDrift) <= (fixedInterval ?? 1)) widestDrift--;
  const drift = fixedNumber(fixed, "clockDriftBoundPercent") ?? (drawn["clockDriftBoundPercent"] = drawSwarmInt(rng, 0, widestDrift));
  const timeoutLow = Math.max(2, (fixedInterval ?? 0) + 1, fixedLease);
  const timeout = fixedNumber(fixed, space.timeout) ?? (drawn[space.timeout] = drawSwarmInt(rng, timeoutLow, Math.max(space.timeoutMax, timeoutLow)));
  const intervalHigh = fixedLease > 0 ? Math.min(timeout - 1, space.safeLeaseTicks(fixedLease, drift) - 1) : timeout - 1;
  const interval = fixedInterval ?? (drawn[space.interval] = drawSwarmInt(rng, 1, Math.max(1, intervalHigh)));
  return { drift, timeout, interval };
}

/**
 * drawLeaseTicks draws `leaseTicks` when it is not fixed: off half the time,
 * else a lease that, after the drift bound, outlasts the renewal interval and
 * stays within the timeout (off when no such lease exists).
 */
export function drawLeaseTicks(rng: Rng, fixed: Readonly<Record<string, unknown>>, drawn: Record<string, OptionValue>, space: LeaseTimingSpace, timings: LeaseTimings): void {
  if (fixed["leaseTicks"] !== undefined) return;
  let shortest = 1;
  while (shortest <= timings.timeout && space.safeLeaseTicks(shortest, timings.drift) <= timings.interval) shortest++;
  drawn["leaseTicks"] = shortest <= timings.timeout && rng.chance(1, 2) ? drawSwarmInt(rng, shortest, timings.timeout) : 0;
}

/** fixedBoolean reads a fixed option that is a boolean, or undefined. */
export function fixedBoolean(fixed: Readonly<Record<string, unknown>>, name: string): boolean | undefined {
  const value = fixed[name];
  return typeof value === "boolean" ? value : undefined;
}

/**
 * HardPath names one path of a protocol that a run should reach and that
 * only some faults and options open (a snapshot installed on a follower, a
 * view change that carries prepared requests). A path no seed of a swarm
 * reaches is a hole in the fault model.
 */
export interface HardPath {
  /** name is the path's key in a run's `paths` counts. */
  readonly name: string;
  /** description says what is counted, in one sentence. */
  readonly description: string;
}

/**
 * PathCounter counts, over one run, how often each of a protocol's hard paths
 * was walked, from what a runtime shows it: the messages replicas send, the
 * messages they are handed, and the replicas themselves after every event. It
 * sees Byzantine replicas too (`context.faulty`); what they do counts for nothing.
 */
export interface PathCounter<M> {
  /** observeSend sees every message a replica sends, before any fault touches it. */
  observeSend?(from: NodeId, to: NodeId, message: M, context: MonitorEventContext): void;
  /** observeDeliver sees a message just before `replica` steps it (from a peer or a client). */
  observeDeliver?(replica: Replica<M>, from: NodeId, message: M, context: MonitorEventContext): void;
  /** observeReplica inspects a replica after it handled an event. */
  observeReplica?(replica: Replica<M>, context: MonitorEventContext): void;
  /** counts returns how often each path was walked so far, by path name. */
  counts(): ReadonlyMap<string, number>;
}
