import { assert, unreachable, type NodeId } from "@concord/core";

/**
 * ProgressState is how a leader replicates to one follower (after etcd-io/raft's
 * tracker): `probe` sends one append at a time until the follower's match is
 * found; `replicate` pipelines appends optimistically; `snapshot` waits for an
 * InstallSnapshot to finish.
 */
export type ProgressState = "probe" | "replicate" | "snapshot";

/**
 * Inflights bounds the appends in flight to one follower, remembering the last
 * index each carried, so that an acknowledgement frees every append up to it.
 */
export class Inflights {
  private readonly lastIndexes: number[] = [];

  constructor(private readonly capacity: number) {
    assert(capacity > 0, "inflight capacity must be positive");
  }

  /** add records an append whose last entry is `lastIndex`. */
  add(lastIndex: number): void {
    assert(!this.full(), "inflights: add past capacity");
    const tail = this.lastIndexes[this.lastIndexes.length - 1];
    assert(tail === undefined || lastIndex > tail, "inflights: indexes must increase");
    this.lastIndexes.push(lastIndex);
  }

  /** freeUpTo frees every append whose last index is at most `index`. */
  freeUpTo(index: number): void {
    let freed = 0;
    while (freed < this.lastIndexes.length && (this.lastIndexes[freed] as number) <= index) freed++;
    if (freed > 0) this.lastIndexes.splice(0, freed);
  }

  /** full tells whether the window holds inflightMessagesMax appends, so no more may be sent. */
  full(): boolean {
    return this.lastIndexes.length >= this.capacity;
  }

  /** count is the number of appends in flight. */
  count(): number {
    return this.lastIndexes.length;
  }

  /** reset forgets every append in flight. */
  reset(): void {
    this.lastIndexes.length = 0;
  }
}

/**
 * Progress is a leader's view of one member (§5.3: nextIndex and matchIndex,
 * plus the flow-control state of etcd-io/raft).
 *
 * Invariant: match < next.
 */
export class Progress {
  /** match is the highest index known to be replicated on the follower (§5.3 matchIndex). */
  match = 0;
  /** next is the index of the next entry to send the follower (§5.3 nextIndex). */
  next: number;
  /** state is how the leader sends to the follower: probe, replicate or snapshot. */
  state: ProgressState = "probe";
  /** probeSent pauses a probing follower after one append, until it answers. */
  probeSent = false;
  /** pendingSnapshot is the index of the snapshot being sent in state `snapshot`. */
  pendingSnapshot = 0;
  /** snapshotOffset is the next byte of that snapshot the follower asked for. */
  snapshotOffset = 0;
  /** recentActive: the member answered since the last check-quorum round (thesis §6.2). */
  recentActive = false;
  /** ackedReadContext is the highest read context the member has echoed in this term. */
  ackedReadContext = 0;
  /** sentReadContext is the highest read context sent to the member. */
  sentReadContext = 0;
  /** stalledTicks counts the leader's ticks since the follower last acknowledged anything while appends were outstanding. */
  stalledTicks = 0;
  /** sentSinceHeartbeat: an append went out since the last heartbeat round, so the next heartbeat is redundant. */
  sentSinceHeartbeat = false;
  /** inflights are the appends sent in replicate state and not yet acknowledged. */
  readonly inflights: Inflights;

  constructor(
    readonly id: NodeId,
    lastIndex: number,
    inflightMessagesMax: number,
  ) {
    this.next = lastIndex + 1;
    this.inflights = new Inflights(inflightMessagesMax);
  }

  private resetState(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.snapshotOffset = 0;
    this.state = state;
    this.inflights.reset();
  }

  /** becomeProbe restarts the search for the follower's match from just after it. */
  becomeProbe(): void {
    if (this.state === "snapshot") {
      const pending = this.pendingSnapshot;
      this.resetState("probe");
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState("probe");
      this.next = this.match + 1;
    }
  }

  /** becomeReplicate starts pipelining from just after the match. */
  becomeReplicate(): void {
    this.resetState("replicate");
    this.next = this.match + 1;
  }

  /** becomeSnapshot waits for the follower to install snapshot `snapshotIndex`. */
  becomeSnapshot(snapshotIndex: number): void {
    this.resetState("snapshot");
    this.pendingSnapshot = snapshotIndex;
  }

  /** maybeUpdate raises match (and next) to `index`; it tells whether anything changed. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
      this.stalledTicks = 0;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /**
   * forgetMatch drops the follower's match, for a follower that refused an
   * entry it had acknowledged (a lost or replaced log). Lowering match never
   * commits anything; the follower counts again once it acknowledges again.
   */
  forgetMatch(): void {
    this.match = 0;
    this.stalledTicks = 0;
  }

  /** optimisticUpdate advances next past an append just sent in state `replicate`. */
  optimisticUpdate(lastSentIndex: number): void {
    this.next = lastSentIndex + 1;
  }

  /**
   * maybeDecreaseTo handles a rejection of the append at `rejected`, moving
   * next back to at most `matchHint + 1` (fast back-off, §5.3). It returns
   * false for a stale rejection that says nothing new.
   */
  maybeDecreaseTo(rejected: number, matchHint: number): boolean {
    if (this.state === "replicate") {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  /** isPaused tells whether the leader must hold appends to this follower for now. */
  isPaused(): boolean {
    switch (this.state) {
      case "probe":
        return this.probeSent;
      case "replicate":
        return this.inflights.full();
      case "snapshot":
        return true;
      default:
        return unreachable(this.state);
    }
  }
}
