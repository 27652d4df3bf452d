import type { ClientRequestMessage } from "@concord/core";

/** PendingRead is a read-only request waiting for its ReadIndex round and for the state machine to reach its read index. */
export interface PendingRead {
  readonly request: ClientRequestMessage;
  /** context is the read context whose acknowledgement by a quorum confirms leadership for it (0 for a lease read). */
  readonly context: number;
  /** readIndex is the commit index when the read arrived: the state it must at least see (thesis §6.4). */
  readonly readIndex: number;
}

/** noReads and noPendingReads are what the take methods return when nothing is taken (never written to). */
const noReads: readonly ClientRequestMessage[] = [];
const noPendingReads: readonly PendingRead[] = [];

/**
 * ReadIndexQueue is a leader's bookkeeping for linearizable reads without log
 * entries (thesis §6.4). Each read gets a read context, a number that rides on
 * the next append or heartbeat to every voter and is echoed back; a read is
 * confirmed once a quorum has echoed its context (the leader was still leader
 * after the read arrived), and served once the leader has applied up to its
 * read index. Reads that arrive before the leader committed an entry of its
 * term wait apart, because until then its commit index may be stale.
 *
 * For lease reads (thesis §6.4.1) it also remembers the tick each context was
 * created at, so that a lease counts from when the acknowledged message was
 * sent, never from when the acknowledgement arrived.
 *
 * Invariant: pending contexts increase along the queue, and so do confirmed
 * read indexes.
 */
export class ReadIndexQueue {
  /** context is the newest read context; it only grows, across terms too, so that no stale echo can confirm a new read. */
  context = 0;
  /** roundNeeded: reads are waiting for a heartbeat round that carries the newest context. */
  roundNeeded = false;
  private readonly createdTick = new Map<number, number>();
  private awaitingCommit: ClientRequestMessage[] = [];
  private pending: PendingRead[] = [];
  private confirmed: PendingRead[] = [];

  constructor(
    private readonly limit: number,
    trackLeases: boolean,
  ) {
    this.leases = trackLeases;
  }

  private leases: boolean;

  /** tracksLeases tells whether each context remembers its tick, as a lease needs (from the start with leaseReads, else from the first lease read). */
  get tracksLeases(): boolean {
    return this.leases;
  }

  /** trackLeases starts remembering the tick of each new context; a lease counts only from a context created after. */
  trackLeases(): void {
    this.leases = true;
  }

  /** reset drops every read (a new term: their clients retry) but keeps the context counter. */
  reset(): void {
    this.awaitingCommit = [];
    this.pending = [];
    this.confirmed = [];
    this.createdTick.clear();
    this.roundNeeded = false;
  }

  /** holdUntilCommit keeps a read until the leader has committed an entry of its term; false when the queue is full. */
  holdUntilCommit(request: ClientRequestMessage): boolean {
    if (this.awaitingCommit.length >= this.limit) return false;
    this.awaitingCommit.push(request);
    return true;
  }

  /** takeAwaitingCommit returns and forgets the reads held until the term's first commit. */
  takeAwaitingCommit(): readonly ClientRequestMessage[] {
    // Asked after every step of a leader: with nothing held, no new array is made.
    if (this.awaitingCommit.length === 0) return noReads;
    const waiting = this.awaitingCommit;
    this.awaitingCommit = [];
    return waiting;
  }

  /** full tells whether another read would pass the limit. */
  full(): boolean {
    return this.pending.length + this.confirmed.length >= this.limit;
  }

  /** startRound queues a read behind a new context and asks for a round that carries it. */
  startRound(request: ClientRequestMessage, readIndex: number, tick: number, confirmedContext: number): void {
    this.pending.push({ request, readIndex, context: this.newContext(tick, confirmedContext) });
    this.roundNeeded = true;
  }

  /** addLeaseRead queues a read that a valid lease already confirmed. */
  addLeaseRead(request: ClientRequestMessage, readIndex: number): void {
    this.confirmed.push({ request, readIndex, context: 0 });
  }

  /** newContext starts a read context at `tick` (for leases, which need one per heartbeat round too). */
  newContext(tick: number, confirmedContext: number): number {
    this.context++;
    if (this.leases) {
      this.createdTick.set(this.context, tick);
      // Only the newest confirmed context and later ones can serve a future lease check.
      for (const context of this.createdTick.keys()) {
        if (context >= confirmedContext) break;
        this.createdTick.delete(context);
      }
    }
    return this.context;
  }

  /** confirm moves every pending read whose context a quorum has echoed to the confirmed queue. */
  confirm(confirmedContext: number): void {
    let k = 0;
    while (k < this.pending.length && (this.pending[k] as PendingRead).context <= confirmedContext) k++;
    if (k === 0) return;
    for (const read of this.pending.splice(0, k)) this.confirmed.push(read);
  }

  /** takeServable returns and forgets the confirmed reads whose read index the state machine has reached. */
  takeServable(applied: number): readonly PendingRead[] {
    let k = 0;
    while (k < this.confirmed.length && (this.confirmed[k] as PendingRead).readIndex <= applied) k++;
    return k === 0 ? noPendingReads : this.confirmed.splice(0, k);
  }

  /** hasPending tells whether reads await confirmation. */
  hasPending(): boolean {
    return this.pending.length > 0;
  }

  /** confirmedSinceTick is the tick at which the newest context a quorum echoed was created, if known. */
  confirmedSinceTick(confirmedContext: number): number | undefined {
    let tick: number | undefined;
    for (const [context, created] of this.createdTick) {
      if (context > confirmedContext) break;
      tick = created;
    }
    return tick;
  }
}
