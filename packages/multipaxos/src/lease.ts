import type { NodeId } from "@concord/core";
import type { EffectiveConfiguration } from "./configuration.ts";
import { quorumValue } from "./quorum.ts";

const neverTick = Number.NEGATIVE_INFINITY;

/**
 * safeLeaseTicks is how long a leader may count on a lease granted at its tick
 * t: acceptors hold the grant for leaseTicks of their own clock from when they
 * received the message (after t), and two clocks may differ in rate by up to
 * the drift bound each way, so the leader trusts only leaseTicks x (1 - 2 x
 * drift), less one tick for the granularity of tick counting.
 */
export function safeLeaseTicks(leaseTicks: number, clockDriftBoundPercent: number): number {
  return Math.floor((leaseTicks * (100 - 2 * clockDriftBoundPercent)) / 100) - 1;
}

/**
 * LeaderLease is the leader's side of a lease (Paxos Made Live, "Master leases"): for each acceptor,
 * the latest of the leader's send ticks it acknowledged in the current ballot.
 * The lease starts at the latest tick a majority acknowledged and lasts
 * {@link safeLeaseTicks}.
 */
export class LeaderLease {
  private readonly ackTick = new Map<NodeId, number>();
  private readonly trustedTicks: number;

  constructor(leaseTicks: number, clockDriftBoundPercent: number) {
    this.trustedTicks = leaseTicks > 0 ? safeLeaseTicks(leaseTicks, clockDriftBoundPercent) : neverTick;
  }

  /** reset forgets every acknowledgement, for a new ballot. */
  reset(): void {
    this.ackTick.clear();
  }

  /** noteAck records that `from` acknowledged a message sent at `leaseTick`; a tick from the future is not ours. */
  noteAck(from: NodeId, leaseTick: number, now: number): void {
    if (leaseTick > now) return;
    if (leaseTick > (this.ackTick.get(from) ?? neverTick)) this.ackTick.set(from, leaseTick);
  }

  /** validAt tells whether the lease is certainly live at `now` in `config` (the leader itself counts as acknowledging now). */
  validAt(now: number, self: NodeId, config: EffectiveConfiguration): boolean {
    const start = quorumValue(config.members, config.quorum, (member) => (member === self ? now : (this.ackTick.get(member) ?? neverTick)), neverTick);
    return now < start + this.trustedTicks;
  }
}

/**
 * LeaseGrant is the acceptor's side of a lease: having acknowledged a leader,
 * it promises no other proposer for leaseTicks of its own ticks. A restarted
 * acceptor does not know whom it granted, so it starts refusing everyone for a
 * whole lease; on its first boot it granted nothing.
 */
export class LeaseGrant {
  private untilTick: number;
  private node: NodeId | undefined = undefined;

  constructor(
    private readonly leaseTicks: number,
    restarted: boolean,
  ) {
    this.untilTick = restarted ? leaseTicks : 0;
  }

  /** grant promises `node` the lease from `now`. */
  grant(node: NodeId, now: number): void {
    if (this.leaseTicks === 0) return;
    this.node = node;
    this.untilTick = now + this.leaseTicks;
  }

  /** refuses tells whether a Prepare of `node` must be refused at `now`. */
  refuses(node: NodeId, now: number): boolean {
    return now < this.untilTick && this.node !== node;
  }

  /** activeUntil is the tick until which some lease may be live (0 when leases are off). */
  activeUntil(): number {
    return this.untilTick;
  }
}
