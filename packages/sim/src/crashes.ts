import { type NodeId, type Ready, type ReplicaHost, type Rng, assert } from "@concord/core";
import type { Cluster, ReadyMoments, ReplicaNode } from "./cluster.ts";
import { type SimContext, msToUs } from "./context.ts";
import type { FaultRecord } from "./faults.ts";
import type { Fault } from "./scenario.ts";

/** CrashFault is a scenario's crash fault. */
export type CrashFault = Extract<Fault, { type: "crash" }>;

/**
 * TimedCrash is a crash waiting for its moment: the next time one of
 * `watched` holds unsynced writes ("while-unsynced"), completes a sync
 * with messages still to send ("after-sync"), or sends a Ready that carries
 * two or more messages to one peer, of which only some leave
 * ("while-sending"), or has sent the Ready that answered a message of one
 * of `types` ("after-answering"). With `all`, every live replica crashes
 * then, else the one that triggered it.
 */
export interface TimedCrash {
  readonly record: FaultRecord;
  readonly fault: CrashFault;
  readonly timing: "while-unsynced" | "after-sync" | "while-sending" | "after-answering" | "after-commit";
  readonly watched: ReadonlySet<NodeId>;
  /** types: for "after-answering", the message types whose answer it waits for (every type when absent). */
  readonly types: ReadonlySet<string> | undefined;
  /** answering: for "after-answering", the node (and its incarnation) that has stepped such a message and not yet sent its Ready. */
  answering: { readonly node: NodeId; readonly incarnation: number } | undefined;
  readonly all: boolean;
  /** leaderEpochAbove: for a `nextLeader` crash, a watched node meets its moment only while it leads an epoch above this. */
  readonly leaderEpochAbove: number | undefined;
  /** commitSeen: for "after-commit", each watched node's commit point as last seen (with its incarnation). */
  readonly commitSeen: Map<NodeId, { readonly incarnation: number; readonly commit: number }>;
  readonly deadlineUs: number;
  /** strikeQueued: a timed-crash event is queued for it. */
  strikeQueued: boolean;
  done: boolean;
}

/**
 * CrashSchedule strikes the scenario's crashes: at once, or timed to a
 * moment of the Ready contract (inside a sync window, between a sync and
 * its send, part-way through a send) within a window, after which a crash
 * whose moment never came strikes anyway. It schedules each crashed node's
 * restart.
 */
export class CrashSchedule implements ReadyMoments {
  /** timedCrashes are the timed crashes armed and not yet struck. Invariant: at most `timedCrashesMax`. */
  private readonly timedCrashes: TimedCrash[] = [];
  /** timedCrashesMax bounds the armed timed crashes: each is one of the scenario's faults, armed once. */
  private readonly timedCrashesMax: number;

  constructor(
    private readonly context: SimContext,
    private readonly cluster: Cluster,
    private readonly faultRng: Rng,
    /** syncUs is the disk's sync latency: the window inside which a "while-unsynced" crash draws its moment. */
    private readonly syncUs: number,
    /**
     * allowed tells whether a replica may crash now, every replica of `down` counted as down already (the
     * algorithm's crashAllowed, in chaos runs); absent, every crash is allowed.
     */
    private readonly allowed?: (target: NodeId, down: ReadonlySet<NodeId>) => boolean,
  ) {
    this.timedCrashesMax = context.scenario.faults.length;
  }

  /**
   * fireAtCampaign strikes an `atCampaign` crash in the instant `campaigner` started a campaign: at once, one of its
   * targets that is up and follows a leader (so neither the campaigner nor a spare outside the configuration).
   */
  fireAtCampaign(record: FaultRecord, fault: CrashFault, campaigner: NodeId): void {
    const follows = (node: ReplicaNode): boolean => node.host !== undefined && node.lastStatus?.role === "follower" && node.lastStatus.leader !== undefined;
    record.hit = this.cluster.select(fault.target, this.faultRng, follows, new Set([campaigner]));
    this.context.logFault("crash (at a campaign)", record.hit, "");
    if (record.hit.length === 0) {
      this.context.noEffect(fault, "no live follower of a leader to crash when the campaign began");
      return;
    }
    this.strike(record, fault);
  }

  /** fire strikes a crash fault now, or arms it for its moment. */
  fire(record: FaultRecord, fault: CrashFault): void {
    const context = this.context;
    const live = (node: ReplicaNode): boolean => node.host !== undefined;
    if (fault.timing === "at-once") {
      // A crash for good acts on a replica that another fault has down for now too: it will not come back.
      const lasting = fault.outlastsHeal === true;
      record.hit = this.cluster.select(fault.target, this.faultRng, lasting ? (node) => !node.stopped && !node.downForGood : live);
      context.logFault(lasting ? "crash (outlasts the heal)" : "crash", record.hit, "");
      if (record.hit.length === 0) {
        context.noEffect(fault, lasting ? "no replica left that is not down for good" : "no live replica to crash");
        return;
      }
      this.strike(record, fault);
      return;
    }
    // A crash for the next leader watches replicas that are down too: the next leader may be one that restarts.
    const nextLeader = fault.nextLeader === true;
    const watched = new Set(this.cluster.select(fault.target, this.faultRng, nextLeader ? () => true : live));
    context.logFault(`crash armed (${fault.timing}${nextLeader ? ", next leader" : ""})`, [...watched].sort((a, b) => a - b), "");
    if (watched.size === 0) {
      context.noEffect(fault, "no live replica to crash");
      return;
    }
    const crash: TimedCrash = {
      record,
      fault,
      timing: fault.timing,
      watched,
      all: fault.target === "all" && !nextLeader,
      leaderEpochAbove: nextLeader ? this.cluster.highestLiveEpoch() : undefined,
      commitSeen: new Map(),
      deadlineUs: context.nowUs + msToUs(fault.windowMs),
      types: fault.messageTypes !== undefined ? new Set(fault.messageTypes) : undefined,
      answering: undefined,
      strikeQueued: false,
      done: false,
    };
    assert(this.timedCrashes.length < this.timedCrashesMax, () => `more timed crashes armed than the scenario's ${this.timedCrashesMax} faults`);
    this.timedCrashes.push(crash);
    // The window's end: a crash whose moment has not come by then strikes anyway, so that every crash acts.
    context.queue.push(crash.deadlineUs, { kind: "timed-crash-deadline", crash });
    if (crash.timing === "while-unsynced") {
      for (const id of watched) {
        const node = this.cluster.node(id);
        if (node.host !== undefined && (node.storage.unsyncedRecords() > 0 || node.storage.hasStagedSnapshot())) this.queueStrike(crash, node);
      }
    }
  }

  /**
   * strike crashes the record's nodes now and schedules their restart. With a
   * crash bound (the algorithm's crashAllowed, in chaos), it spares the nodes
   * that would take down more than the algorithm's options tolerate at once.
   */
  private strike(record: FaultRecord, fault: CrashFault): void {
    if (this.allowed !== undefined) {
      const allowed = this.allowed;
      const down = new Set<NodeId>();
      const spared: NodeId[] = [];
      for (const id of record.hit) {
        if (allowed(id, down)) down.add(id);
        else spared.push(id);
      }
      if (spared.length > 0) {
        record.hit = record.hit.filter((id) => down.has(id));
        this.context.logFault("crash spared (more down at once than the options tolerate)", spared, "");
        if (record.hit.length === 0) {
          this.context.noEffect(fault, "it would take down more replicas at once than the algorithm's options tolerate");
          return;
        }
      }
    }
    for (const id of record.hit) this.cluster.crash(id, true);
    record.window = this.context.openFault("crash", record.hit, false);
    if (fault.outlastsHeal === true) for (const id of record.hit) this.cluster.node(id).downForGood = true;
    if (fault.restartAfterMs === undefined) return;
    const lowUs = msToUs(fault.restartAfterMs);
    const highUs = msToUs(fault.restartAfterMsMax ?? fault.restartAfterMs);
    const delayUs = highUs > lowUs ? this.faultRng.nextIntBetween(lowUs, highUs) : lowUs;
    this.context.queue.push(this.context.nowUs + delayUs, { kind: "fault-end", record });
  }

  /** armed tells whether a timed crash waits for its moment. */
  armed(): boolean {
    return this.timedCrashes.length > 0;
  }

  /** pending drops the timed crashes that have struck or been called off, and returns the others. */
  private pending(): TimedCrash[] {
    for (let i = this.timedCrashes.length - 1; i >= 0; i--) if ((this.timedCrashes[i] as TimedCrash).done) this.timedCrashes.splice(i, 1);
    return this.timedCrashes;
  }

  /** noteUnsynced is called when `node` has just written records it has not synced: a waiting crash may strike. */
  noteUnsynced(node: ReplicaNode): void {
    for (const crash of this.pending()) {
      if (crash.timing === "while-unsynced" && !crash.strikeQueued && crash.watched.has(node.id)) this.queueStrike(crash, node);
    }
  }

  /** queueStrike schedules a crash at a drawn moment inside the node's sync window (before the sync can complete). */
  private queueStrike(crash: TimedCrash, node: ReplicaNode): void {
    crash.strikeQueued = true;
    const offsetUs = this.syncUs > 1 ? this.faultRng.nextInt(this.syncUs) : 0;
    this.context.queue.push(this.context.nowUs + offsetUs, { kind: "timed-crash", crash, node: node.id, incarnation: node.incarnation });
  }

  /** strikeInWindow strikes at a drawn moment, if the node still holds unsynced writes (else it waits for its next window). */
  strikeInWindow(crash: TimedCrash, id: NodeId, incarnation: number): void {
    if (crash.done) return;
    crash.strikeQueued = false;
    const node = this.cluster.node(id);
    const unsynced = node.host !== undefined && node.incarnation === incarnation && (node.storage.unsyncedRecords() > 0 || node.storage.hasStagedSnapshot());
    // Synced (or crashed) before the drawn moment: wait for the next window.
    if (!unsynced) return;
    this.strikeNow(crash, node);
  }

  /** leads tells whether `node` may meet a crash's moment: any watched node, or for a `nextLeader` crash a later leader. */
  private leads(crash: TimedCrash, node: ReplicaNode): boolean {
    if (!crash.watched.has(node.id)) return false;
    if (crash.leaderEpochAbove === undefined) return true;
    const status = node.lastStatus;
    return status !== undefined && (status.role === "leader" || status.role === "primary") && status.epoch > crash.leaderEpochAbove;
  }

  /** strikeAfterSync crashes `node` right after its sync if a crash waits for that moment; tells whether it did. */
  strikeAfterSync(node: ReplicaNode): boolean {
    const crash = this.pending().find((candidate) => candidate.timing === "after-sync" && this.leads(candidate, node));
    if (crash === undefined) return false;
    return this.strikeNow(crash, node);
  }

  /**
   * strikeWhileSending crashes `node` part-way through sending its synced
   * Ready if a crash waits for that moment and the Ready carries two or more
   * messages to one peer (a pipeline, or several slots' rounds): a drawn part
   * of them leaves, at least one and never all, each message on its own (the
   * simulated network loses messages singly). It tells whether it struck.
   */
  strikeWhileSending(node: ReplicaNode, host: ReplicaHost<unknown>): boolean {
    const messages = (host.inflight as Ready<unknown>).messages;
    if (messages.length < 2) return false;
    const crash = this.pending().find((candidate) => candidate.timing === "while-sending" && candidate.watched.has(node.id));
    if (crash === undefined) return false;
    const perPeer = new Map<NodeId, number>();
    let pipelined = false;
    for (const { to } of messages) {
      const count = (perPeer.get(to) ?? 0) + 1;
      perPeer.set(to, count);
      if (count >= 2) pipelined = true;
    }
    if (!pipelined || !this.mayStrike(node)) return false;
    const leaves = messages.map(() => this.faultRng.nextInt(2) === 0);
    const sent = leaves.filter(Boolean).length;
    // At least one leaves and at least one stays: flip one drawn message when the draw made it all or nothing.
    if (sent === 0 || sent === messages.length) {
      const flip = this.faultRng.nextInt(messages.length);
      leaves[flip] = !leaves[flip];
    }
    const departing = messages.filter((_, index) => leaves[index]);
    host.release(departing);
    this.context.logFault(`crash (while-sending, node ${node.id}: ${departing.length} of ${messages.length} message(s) left)`, [], "");
    this.strikeNow(crash, node);
    return true;
  }

  /** noteStepped is called when `node` has just stepped a message of type `type`: a crash waiting for its answer is primed. */
  noteStepped(node: ReplicaNode, type: string): void {
    for (const crash of this.pending()) {
      if (crash.timing !== "after-answering" || crash.answering !== undefined || !crash.watched.has(node.id)) continue;
      if (crash.types === undefined || crash.types.has(type)) crash.answering = { node: node.id, incarnation: node.incarnation };
    }
  }

  /**
   * strikeAfterAnswering crashes `node` right after it sent the messages of
   * a Ready if a crash was primed by a message it stepped before that Ready
   * began: the first Ready with messages after the step carries the answer
   * (in the same Ready, or the next one when the replica answers once its
   * records are synced); the answer has left, nothing after it has (a voter
   * that crashes just after its vote left, say, and restarts while other
   * requests of that round are still on their way). It tells whether it struck.
   */
  strikeAfterAnswering(node: ReplicaNode): boolean {
    const crash = this.pending().find(
      (candidate) => candidate.timing === "after-answering" && candidate.answering?.node === node.id && candidate.answering.incarnation === node.incarnation,
    );
    if (crash === undefined) return false;
    if (!this.mayStrike(node)) return false;
    this.context.logFault(`crash (after-answering, node ${node.id}: its answer left)`, [], "");
    return this.strikeNow(crash, node);
  }

  /**
   * strikeAfterCommit crashes `node` if a crash waits for its commit point to
   * advance and it has since the crash last saw it (in this incarnation),
   * before the Ready that would carry the news is taken: a leader that
   * committed and died before telling anyone. It tells whether it struck.
   */
  strikeAfterCommit(node: ReplicaNode): boolean {
    const commit = node.lastStatus?.commitIndex;
    if (commit === undefined) return false;
    for (const crash of this.pending()) {
      if (crash.timing !== "after-commit" || !crash.watched.has(node.id)) continue;
      const seen = crash.commitSeen.get(node.id);
      crash.commitSeen.set(node.id, { incarnation: node.incarnation, commit });
      if (seen === undefined || seen.incarnation !== node.incarnation || commit <= seen.commit || !this.leads(crash, node)) continue;
      if (!this.mayStrike(node)) continue;
      this.context.logFault(`crash (after-commit, node ${node.id}: commit ${seen.commit} -> ${commit})`, [], "");
      return this.strikeNow(crash, node);
    }
    return false;
  }

  /** strikeAtDeadline crashes a timed crash's nodes at the end of its window, its moment not having come. */
  strikeAtDeadline(crash: TimedCrash): void {
    if (crash.done) return;
    const live = [...crash.watched].filter((id) => this.cluster.node(id).host !== undefined);
    // A crash for the next leader that never came strikes the leader of now, if it watches it (and may crash it).
    const leader = this.cluster.currentLeader();
    const first =
      crash.leaderEpochAbove !== undefined && leader !== undefined && live.includes(leader) && this.mayStrike(this.cluster.node(leader))
        ? leader
        : live.find((id) => this.mayStrike(this.cluster.node(id)));
    if (first === undefined && live.length > 0) {
      crash.done = true;
      this.context.logFault(`crash (${crash.timing}) spared (more down at once than the options tolerate)`, live, "");
      this.context.noEffect(crash.record.fault, "it would take down more replicas at once than the algorithm's options tolerate");
      this.pending();
      return;
    }
    if (first === undefined) {
      crash.done = true;
      this.context.logFault(`crash (${crash.timing}) called off`, [], "");
      this.context.noEffect(crash.record.fault, `its moment (${crash.timing}) did not come within its window, and its nodes were down by then`);
      this.pending();
      return;
    }
    this.context.logFault(`crash window ended (${crash.timing}: its moment did not come)`, [], "");
    this.strikeNow(crash, this.cluster.node(first));
  }

  /** mayStrike tells whether the crash bound (if any) lets `node` crash now, alone. */
  private mayStrike(node: ReplicaNode): boolean {
    return this.allowed === undefined || this.allowed(node.id, new Set());
  }

  /**
   * strikeNow crashes the timed crash's node (and, for `all`, every live one) at its moment, and tells whether it
   * did: under a crash bound a node it may not crash now is left running, and the crash waits for a later moment.
   */
  private strikeNow(crash: TimedCrash, node: ReplicaNode): boolean {
    if (!this.mayStrike(node)) return false;
    crash.done = true;
    const record = crash.record;
    const live = this.cluster.allReplicaIds.filter((id) => this.cluster.node(id).host !== undefined);
    // Under a crash bound the node whose moment it is goes first, so that it is the one crashed.
    record.hit = !crash.all ? [node.id] : this.allowed === undefined ? live : [node.id, ...live.filter((id) => id !== node.id)];
    this.context.logFault(`crash (${crash.timing}, node ${node.id} holding ${node.storage.unsyncedRecords()} unsynced record(s))`, record.hit, "");
    this.strike(record, crash.fault);
    this.pending();
    return true;
  }

  /** callOffAll calls off every timed crash still waiting: after the heal, nodes stay up. */
  callOffAll(): void {
    for (const crash of this.pending()) {
      if (!crash.done) this.context.noEffect(crash.record.fault, `its moment (${crash.timing}) had not come when the scenario healed`);
      crash.done = true;
    }
    this.pending();
  }

  /** waiting describes the timed crashes whose moment never came, for the report's ineffective faults. */
  waiting(): string[] {
    return this.timedCrashes.filter((crash) => !crash.done).map((crash) => `${crash.record.fault.type} (${JSON.stringify(crash.record.fault)}): its moment (${crash.timing}) never came`);
  }
}
