import {
  type ClientRequestMessage,
  type NodeId,
  type Outbound,
  type Ready,
  type Replica,
  type ReplicaContext,
  type ReplicaStatus,
  type Rejections,
  type Rng,
  RejectionCounter,
  RequestQueue,
  SessionStateMachine,
  assert,
  isNodeId,
  parseConfig,
  readLevelOfCode,
  unreachable,
} from "@concord/core";
import {
  type VrCommand,
  type VrEntry,
  type VrLogSuffix,
  type VrCommit,
  type VrDoViewChange,
  type VrGetState,
  type VrMessage,
  type VrNewState,
  type VrPrepare,
  type VrPrepareOk,
  type VrRecord,
  type ViewRecord,
  type VrRecovery,
  type VrRecoveryResponse,
  type VrStartEpoch,
  type VrStartView,
  vrRecordCodec,
} from "./messages.ts";
import { type VrOptions, safeLeaseTicks, vrOptionsSchema } from "./options.ts";
import { type VrMessageRejection, type VrRejectionReason, lastOpOf, startEpochError, validateMessage } from "./validate.ts";

/**
 * VrStatus is a replica's status (§4): normal, in a view change, or recovering after a crash (§4.3); and, with
 * reconfiguration (§7.1), transitioning (a replica of a new epoch fetching the state through the epoch's start),
 * leaving (an old replica that is not in the new group, serving the state until f'+1 new replicas said EPOCHSTARTED)
 * or outside (not in the latest group it knows: shut down after leaving, or a spare no epoch has added yet).
 */
export type VrStatus = "normal" | "viewChange" | "recovering" | "transitioning" | "leaving" | "outside";

/**
 * epochViews is how many views an epoch holds: a view-number is epoch x 2^32 + the view within the epoch, so that
 * view-numbers grow across epochs (the runtimes read them as the replica's epoch) and every message's view names the
 * epoch it belongs to (§7.2's epoch-number on every message). An epoch starts at its view 0 (§7.1).
 */
export const epochViews = 2 ** 32;

/** epochOfView is the epoch a view-number belongs to. */
export function epochOfView(view: number): number {
  return Math.floor(view / epochViews);
}

/** firstViewOfEpoch is the view-number of an epoch's view 0. */
export function firstViewOfEpoch(epoch: number): number {
  return epoch * epochViews;
}

/** VrReconfigureResult says whether a primary took a reconfiguration (§7.1), or why not. */
export type VrReconfigureResult =
  | { readonly kind: "proposed"; readonly members: readonly NodeId[] }
  | {
      readonly kind: "rejected";
      /** reason: this replica is not the primary, a reconfiguration is already under way, the group is the same, or the members are not a set of node ids. */
      readonly reason: "notPrimary" | "changePending" | "unchanged" | "invalidMembers";
    };

/**
 * VrCounters count what a replica did, for tests, reports and swarm paths;
 * what it refused is counted apart, by reason, in {@link VrReplica.rejections}.
 */
export interface VrCounters {
  /** viewChangesStarted counts the view changes this replica started or joined (§4.2). */
  viewChangesStarted: number;
  /** viewsStarted counts the views this replica started as their new primary (§4.2 step 3). */
  viewsStarted: number;
  /** recoveries counts the recoveries from peers this replica completed (§4.3). */
  recoveries: number;
  /**
   * recoveriesAbandoned counts the recoveries this replica gave up (memory mode): every other replica answered, and
   * more than f of the group, itself included, had lost their memory at once, so no f + 1 normal replicas will ever
   * answer. It rejoins with an empty log through a view change; writes that only the crashed replicas held are lost.
   */
  recoveriesAbandoned: number;
  /** stateTransfers counts the NewState messages this replica took (§5.2). */
  stateTransfers: number;
  /** checkpointsInstalled counts the checkpoints this replica installed from a peer rather than by executing. */
  checkpointsInstalled: number;
  /** checkpointsTaken counts the checkpoints this replica took, truncating its log (§5.1). */
  checkpointsTaken: number;
  /** duplicatesAnswered counts requests answered from the client table (§4). */
  duplicatesAnswered: number;
  /** leaseReads counts reads the primary answered from its own state under its lease. */
  leaseReads: number;
  /** viewChangesRefusedForLease counts StartViewChanges and DoViewChanges ignored because this replica's lease grant to its primary may be live. */
  viewChangesRefusedForLease: number;
  /** staleReads counts reads asked at the `stale` level, answered from this replica's own executed state. */
  staleReads: number;
  /** droppedRequests counts client requests dropped: the primary's queue was full or a reconfiguration is under way, or the replica is recovering, transitioning or in a view change. */
  droppedRequests: number;
  /** epochsEntered counts the epochs this replica moved to (§7.1), by executing a reconfiguration or from a StartEpoch. */
  epochsEntered: number;
  /** epochTransitions counts the epochs this replica joined as a new replica, fetching the state before it started (§7.1). */
  epochTransitions: number;
  /** laterEpochMessages counts messages of an epoch this replica has not reached, ignored until a StartEpoch tells it the epoch's group (§7.2). */
  laterEpochMessages: number;
}

/** PrimaryProgress is what the primary of a view knows of one backup. */
interface BackupProgress {
  /** acked is the highest op the backup reported holding in this view (PrepareOk). */
  acked: number;
  /** lastSentTick is when the primary last sent it anything. */
  lastSentTick: number;
  /** lastPrepareTick is when the primary last sent it Prepares. */
  lastPrepareTick: number;
}

const neverTick = Number.NEGATIVE_INFINITY;

/**
 * VrReplica is one Viewstamped Replication replica (Liskov and Cowling, "Viewstamped
 * Replication Revisited", 2012), a deterministic, I/O-free state machine.
 *
 * - Normal operation (§4.1): the primary of view v is replicas[v mod n]. It
 *   assigns the next op-number to a batch of requests, appends it and sends
 *   PREPARE; a backup appends strictly in op order and answers PREPAREOK; the
 *   primary commits an op once f backups hold it (and, persisting, once its own
 *   copy is synced), executes in op order and replies. The commit-number rides
 *   on PREPARE, or on COMMIT when the primary is idle.
 * - View change (§4.2): a backup that hears no primary starts view v+1
 *   (STARTVIEWCHANGE); with f+1 of them it sends DOVIEWCHANGE to the new
 *   primary, which, with f+1 of those, takes the log of the largest last normal
 *   view, then the largest op-number, and the largest commit-number, and sends
 *   STARTVIEW.
 * - Recovery (§4.3, `durability: "memory"`): nothing is written on the normal
 *   path; a restarted replica takes part in nothing until f+1 replicas answered
 *   its RECOVERY with its nonce, one of them the primary of the latest view.
 *   With `durability: "persist"` it resumes from its disk instead.
 * - State transfer (§5.2) and checkpoints (§5.1): a backup that lacks ops asks
 *   a peer (GETSTATE); every checkpointEveryOps executed ops the replica keeps
 *   a checkpoint of the state machine and truncates its log.
 *
 * Invariant: checkpointOp <= appliedOp <= commitNumber <= opNumber, and the log
 * holds exactly the ops checkpointOp + 1 .. opNumber.
 */
export class VrReplica implements Replica<VrMessage> {
  /** id is this replica's node id. */
  readonly id: NodeId;
  private readonly options: VrOptions;
  private readonly rng: Rng;
  /** replicas is the group of this replica's epoch in id order (§7: the configuration). */
  private replicas: readonly NodeId[];
  /** quorum is a majority of the group: f + 1 when n = 2f + 1 (§4), and never less than a majority for an even n. */
  private quorum: number;
  // Reconfiguration (§7): the previous epoch's group, the op-number of the reconfiguration that started this epoch
  // (0 in epoch 0), a reconfiguration the primary has yet to prepare, the new replicas that said EPOCHSTARTED, when
  // each peer was last sent a StartEpoch, and when a transitioning replica next asks for the state.
  private oldReplicas: readonly NodeId[] = [];
  private epochStartOp = 0;
  private pendingConfig: readonly NodeId[] | undefined;
  /** epochDue is a reconfiguration just executed: the replica moves to its epoch once the event that executed it is done. */
  private epochDue: { readonly op: number; readonly config: readonly NodeId[] } | undefined;
  private readonly epochStartedFrom = new Set<NodeId>();
  private readonly startEpochSentTick = new Map<NodeId, number>();
  private epochStateDueTick = 0;
  private readonly sessions: SessionStateMachine;
  private readonly rejected = new RejectionCounter<VrRejectionReason>();
  private readonly counters: VrCounters = {
    viewChangesStarted: 0,
    viewsStarted: 0,
    recoveries: 0,
    recoveriesAbandoned: 0,
    stateTransfers: 0,
    checkpointsInstalled: 0,
    checkpointsTaken: 0,
    duplicatesAnswered: 0,
    leaseReads: 0,
    viewChangesRefusedForLease: 0,
    staleReads: 0,
    droppedRequests: 0,
    epochsEntered: 0,
    epochTransitions: 0,
    laterEpochMessages: 0,
  };
  private readonly persisting: boolean;

  // Replica state (§4, Figure 2).
  private view = 0;
  private phase: VrStatus = "normal";
  private lastNormalView = 0;
  private checkpointOp = 0;
  private checkpointState: Uint8Array;
  /** log holds the ops checkpointOp + 1 .. opNumber. */
  private log: VrEntry[] = [];
  private commitNumber = 0;
  private appliedOp = 0;
  private now = 0;
  /** viewDeadlineTick: a backup (or a replica in a view change) that hears nothing of its view by then moves to the next view. */
  private viewDeadlineTick = 0;

  // View change (§4.2).
  private readonly startViewChangeFrom = new Set<NodeId>();
  private readonly doViewChanges = new Map<NodeId, VrDoViewChange>();
  private doViewChangeSent = false;
  private viewChangeSentTick = neverTick;
  private catchUpSentTick = neverTick;

  // Primary.
  private readonly backups = new Map<NodeId, BackupProgress>();
  /** durableOp is the highest op of this view synced to the primary's own disk (persisting mode): its own copy counts only then. */
  private durableOp = 0;
  /** requests are the client requests waiting for an op, and per session the one queued or prepared, so that a retry is not prepared twice. */
  private readonly requests: RequestQueue;
  private proposalsDue = false;

  // Leases (opt-in). The primary: the latest of its send ticks each backup acknowledged in this view, and the op-number
  // at the start of the view (a lease read waits until every op of the view's log is committed). A backup: until when
  // it joins no view change, having taken a Prepare or Commit from its primary.
  private readonly leaseAckTick = new Map<NodeId, number>();
  private viewStartOp = 0;
  private grantUntilTick = 0;

  // Backup: state transfer (§5.2).
  /** heardOp is the highest op the primary of this view is known to hold: past opNumber, this replica asks for state. */
  private heardOp = 0;
  private stateRequestDueTick = 0;

  // Recovery (§4.3).
  private recoveryNonce = 0;
  private recoverySentTick = neverTick;
  private readonly recoveryResponses = new Map<NodeId, VrRecoveryResponse>();

  // Output buffers.
  private persist: Uint8Array[] = [];
  private outbox: Outbound<VrMessage>[] = [];
  private outboxBeforeSync: Outbound<VrMessage>[] = [];
  private pendingSnapshot: Uint8Array | undefined;
  /** The (view, op) each handed-out Ready makes durable, keyed by its persist list, until advance() reports it synced. */
  private readonly durableOf = new WeakMap<readonly Uint8Array[], { view: number; op: number }>();

  constructor(context: ReplicaContext) {
    assert(context.replicas.length > 0, "a group needs at least one replica");
    // A replica outside the group (a spare) boots outside it, until a StartEpoch adds it (§7.1).
    this.id = context.id;
    this.options = parseConfig(vrOptionsSchema, context.options, "vr");
    this.requests = new RequestQueue(this.options.queuedRequestsMax);
    this.persisting = this.options.durability === "persist";
    this.rng = context.rng;
    this.replicas = [...context.replicas].sort((a, b) => a - b);
    this.quorum = Math.floor(this.replicas.length / 2) + 1;
    this.sessions = new SessionStateMachine(context.stateMachine);
    this.checkpointState = this.sessions.snapshot();
    const firstBoot = context.durable.snapshot === undefined && context.durable.records.length === 0;
    // A restarted replica does not know which lease it granted: it joins no view change for a whole lease.
    if (!firstBoot) this.grantUntilTick = this.options.leaseTicks;
    if (firstBoot) {
      // One record at the first boot, in both modes: a restart finds it and knows it lost its memory (§4.3).
      if (!this.isMember()) this.phase = "outside";
      this.persist.push(this.viewRecord());
      this.resetViewDeadline();
    } else if (this.persisting) {
      this.recoverFromDisk(context.durable.snapshot, context.durable.records);
    } else {
      this.recoverViewFromDisk(context.durable.snapshot, context.durable.records);
      // Not in its epoch's group, it holds nothing anyone needs: it stays out (§7.1).
      if (this.isMember()) this.startRecovery();
      else this.phase = "outside";
    }
    this.afterEvent();
  }

  // ---- The Replica interface ---------------------------------------------------------------

  /** tick advances the logical clock: the primary retransmits and sends commits, the others watch for a silent primary. */
  tick(): void {
    this.now++;
    this.onTick();
    this.afterEvent();
  }

  private onTick(): void {
    switch (this.phase) {
      case "transitioning":
        if (this.now >= this.epochStateDueTick) this.requestEpochState();
        return;
      case "leaving":
        this.sendStartEpochs();
        return;
      case "outside":
        return;
      case "recovering":
        if (this.now - this.recoverySentTick >= this.options.retransmitTicks) this.sendRecovery();
        return;
      case "viewChange":
        if (this.now >= this.viewDeadlineTick) this.startViewChange(this.view + 1);
        else if (this.now - this.viewChangeSentTick >= this.options.retransmitTicks) this.retransmitViewChange();
        return;
      case "normal":
        this.sendStartEpochs();
        if (this.isPrimary()) {
          this.retransmitPrepares();
          this.sendCommits();
          this.scheduleProposals();
        } else if (this.now >= this.viewDeadlineTick && this.now < this.grantUntilTick) {
          this.viewDeadlineTick = this.grantUntilTick;
        } else if (this.now >= this.viewDeadlineTick) {
          this.startViewChange(this.view + 1);
        } else {
          this.requestStateIfBehind();
        }
        return;
      default:
        unreachable(this.phase);
    }
  }

  /** step handles one message from a peer or a client; a message that fails validation is counted and changes nothing. */
  step(from: NodeId, message: VrMessage): void {
    this.onMessage(from, message);
    this.afterEvent();
  }

  private onMessage(from: NodeId, message: VrMessage): void {
    if (message.type === "startEpoch") {
      const error = startEpochError(from, message);
      if (error !== undefined) this.rejected.count(error.reason);
      else this.onStartEpoch(from, message);
      return;
    }
    const view = viewOfMessage(message);
    if (view !== undefined && isNodeId(from)) {
      // §7.2: a message of an earlier epoch is answered with this epoch's StartEpoch; one of a later epoch waits
      // until a StartEpoch tells this replica that epoch's group.
      const epoch = epochOfView(view);
      if (epoch < this.epoch()) {
        this.answerEarlierEpoch(from);
        return;
      }
      if (epoch > this.epoch()) {
        this.counters.laterEpochMessages++;
        return;
      }
      if (message.type === "getState" && message.committed) {
        // §7.1: a replica of this epoch fetching the state through its start, maybe not in this replica's group yet.
        const error = validateMessage(from, message, this.id, [from]);
        if (error !== undefined) this.rejected.count(error.reason);
        else this.answerCommittedState(from, message);
        return;
      }
    }
    if (this.phase === "transitioning" && message.type === "newState") {
      const error = validateMessage(from, message, this.id, [from]);
      if (error !== undefined) this.rejected.count(error.reason);
      else this.onEpochState(message);
      return;
    }
    const rejection = validateMessage(from, message, this.id, this.replicas) ?? this.ownHistoryError(message);
    if (rejection !== undefined) {
      this.rejected.count(rejection.reason);
      return;
    }
    if (this.phase === "transitioning" || this.phase === "leaving" || this.phase === "outside") {
      // §7.1: no part in the group's normal protocol: a new replica until it holds the state, an old one for good.
      if (message.type === "epochStarted") this.onEpochStarted(from);
      else if (message.type === "recovery") this.answerRecovery(from, message);
      else if (message.type === "clientRequest") this.redirectClient(message);
      return;
    }
    if (this.phase === "recovering") {
      // §4.3: a recovering replica takes part in nothing (no vote, no prepare) until its recovery completes.
      if (message.type === "recoveryResponse") this.onRecoveryResponse(from, message);
      else if (message.type === "recovery") this.answerRecovery(from, message);
      else if (message.type === "clientRequest") this.counters.droppedRequests++;
      return;
    }
    switch (message.type) {
      case "clientRequest":
        return this.onRequest(message);
      case "prepare":
        return this.onPrepare(from, message);
      case "prepareOk":
        return this.onPrepareOk(from, message);
      case "commit":
        return this.onCommit(from, message);
      case "startViewChange":
        return this.onStartViewChange(from, message.view);
      case "doViewChange":
        return this.onDoViewChange(from, message);
      case "startView":
        return this.onStartView(from, message);
      case "getState":
        return this.onGetState(from, message);
      case "newState":
        return this.onNewState(message);
      case "recovery":
        return this.answerRecovery(from, message);
      case "recoveryResponse":
        return; // a late answer to a recovery this replica completed
      case "epochStarted":
        return this.onEpochStarted(from);
      case "clientReply":
      case "notLeader":
        return; // validateMessage refuses replies: only clients receive them
      default:
        return unreachable(message);
    }
  }

  /** ready prepares what the primary holds (so that requests stepped together share an op), then hands out the records, the snapshot and the messages. */
  ready(): Ready<VrMessage> | undefined {
    while (this.proposalsDue) {
      this.proposalsDue = false;
      this.prepareNext();
      this.afterEvent();
    }
    if (this.persist.length === 0 && this.outbox.length === 0 && this.outboxBeforeSync.length === 0 && this.pendingSnapshot === undefined) return undefined;
    const ready: Ready<VrMessage> = {
      snapshot: this.pendingSnapshot,
      persist: this.persist,
      messages: this.outbox,
      ...(this.outboxBeforeSync.length === 0 ? {} : { messagesBeforeSync: this.outboxBeforeSync }),
    };
    if (this.isPrimary() && (this.persist.length > 0 || this.pendingSnapshot !== undefined)) this.durableOf.set(this.persist, { view: this.view, op: this.opNumber() });
    // Handing the buffers out (rather than clearing them in advance) keeps a step between ready() and advance() from losing output.
    this.persist = [];
    this.outbox = [];
    this.outboxBeforeSync = [];
    this.pendingSnapshot = undefined;
    return ready;
  }

  /** advance counts the primary's own copy of the ops `done` made durable (persisting mode) and commits what that completes. */
  advance(done: Ready<VrMessage>): void {
    const synced = this.durableOf.get(done.persist);
    if (synced === undefined) return;
    this.durableOf.delete(done.persist);
    if (!this.isPrimary() || synced.view !== this.view) return;
    this.durableOp = Math.max(this.durableOp, Math.min(synced.op, this.opNumber()));
    this.commitReady();
    this.afterEvent();
  }

  /** status reports the role, the view as epoch, the primary of the view, the commit-number and the executed op. */
  status(): ReplicaStatus {
    const role =
      this.phase === "recovering" || this.phase === "transitioning"
        ? "learner"
        : this.phase === "leaving" || this.phase === "outside"
          ? "stopped"
          : this.phase === "viewChange"
            ? "candidate"
            : this.isPrimary()
              ? "primary"
              : "backup";
    return {
      id: this.id,
      role,
      epoch: this.view,
      leader: this.phase === "normal" ? this.primaryOf(this.view) : undefined,
      commitIndex: this.commitNumber,
      appliedIndex: this.appliedOp,
      ...(this.persisting ? { durableIndex: this.checkpointOp } : {}),
    };
  }

  // ---- Read-only views, for tests and monitors ----------------------------------------------

  /** stats returns a copy of the replica's counters. */
  stats(): VrCounters {
    return { ...this.counters };
  }

  /** rejections counts the messages this replica refused unapplied, by reason. */
  rejections(): Rejections<VrRejectionReason> {
    return this.rejected;
  }

  /** vrStatus is the replica's status (§4). */
  vrStatus(): VrStatus {
    return this.phase;
  }

  /** members is the group of this replica's epoch (its configuration, §7), in id order. */
  members(): readonly NodeId[] {
    return this.replicas;
  }

  /** previousMembers is the group of the epoch before this replica's (§7.1), empty in epoch 0. */
  previousMembers(): readonly NodeId[] {
    return this.oldReplicas;
  }

  /** epoch is the epoch this replica is in (§7). */
  epoch(): number {
    return epochOfView(this.view);
  }

  /** epochStart is the op-number of the reconfiguration that started this replica's epoch (§7.1), 0 in epoch 0. */
  epochStart(): number {
    return this.epochStartOp;
  }

  /** holdsState tells whether the replica holds the group's state: not recovering it from its peers (§4.3), nor fetching it for a new epoch (§7.1). */
  holdsState(): boolean {
    return this.phase === "normal" || this.phase === "viewChange" || this.phase === "leaving";
  }

  /** isMember tells whether this replica is in the group of its epoch. */
  private isMember(): boolean {
    return this.replicas.includes(this.id);
  }

  /** currentView is the replica's view-number. */
  currentView(): number {
    return this.view;
  }

  /** lastNormal is the last view in which this replica's status was normal (§4.2). */
  lastNormal(): number {
    return this.lastNormalView;
  }

  /** opNumber is the op-number of the last entry in the log. */
  opNumber(): number {
    return this.checkpointOp + this.log.length;
  }

  /** checkpoint is the op through which the log was truncated into a checkpoint (§5.1). */
  checkpoint(): number {
    return this.checkpointOp;
  }

  /** entryAt returns the log entry of `op` if the log still holds it. */
  entryAt(op: number): VrEntry | undefined {
    return op > this.checkpointOp ? this.log[op - this.checkpointOp - 1] : undefined;
  }

  /** isPrimary tells whether this replica is the primary of its view in normal status. */
  isPrimary(): boolean {
    return this.phase === "normal" && this.primaryOf(this.view) === this.id;
  }

  /** primaryOf is the primary of `view`: the replica at view mod n in id order (§4). */
  primaryOf(view: number): NodeId {
    return this.replicas[view % this.replicas.length] as NodeId;
  }

  // ---- Client requests (§4, §4.1 steps 1-2) -----------------------------------------------------

  private onRequest(request: ClientRequestMessage): void {
    if (request.readOnly && readLevelOfCode(request.readLevel) === "stale") {
      // A stale read is answered at once from this replica's executed state, whatever its status (a recovering
      // replica, which holds no state, never gets here): no message to any other replica, so it may miss writes.
      this.counters.staleReads++;
      this.sendReply(request, this.sessions.query(request.command));
      return;
    }
    if (this.phase === "viewChange") {
      // No primary to name while the view changes: a hint would send the client round the replicas at network speed
      // (each in the same view change naming the next), so it retries on its own timeout instead.
      this.counters.droppedRequests++;
      return;
    }
    if (!this.isPrimary()) {
      // §4: only the primary takes requests; the client is told which replica is the primary of the view it knows.
      // A chain of such hints ends: a backup normal in view v names the primary of v, which started v and so is in
      // view v or a later one, where it is the primary, a backup of that later view, or in a view change.
      this.send(request.clientId, { type: "notLeader", sequence: request.sequence, leaderHint: this.primaryOf(this.view), hasLeaderHint: true });
      return;
    }
    // §4.1 step 2: the client table answers the latest request of a session again, and drops an older one.
    const cached = this.sessions.cachedResult(request);
    if (cached !== undefined) {
      this.counters.duplicatesAnswered++;
      this.sendReply(request, cached);
      return;
    }
    if (request.sequence < this.sessions.lastSequence(request.session)) return;
    if (this.requests.holds(request)) return; // already queued or prepared
    if (this.reconfigurationAhead()) {
      // §7.1: once it has a reconfiguration to prepare or commit, the primary takes no more requests; the client
      // retries, and finds the new group through the hints of the old replicas.
      this.counters.droppedRequests++;
      return;
    }
    if (request.readOnly && this.canServeLeaseRead()) {
      this.counters.leaseReads++;
      this.sendReply(request, this.sessions.query(request.command));
      return;
    }
    if (!this.requests.add(request)) {
      this.counters.droppedRequests++;
      return;
    }
    this.scheduleProposals();
  }

  /**
   * sendReply answers a client. A reply leaves before the Ready's records are
   * synced (`messagesBeforeSync`): it speaks of an op already committed (or of
   * the state already executed), which depends on nothing the Ready writes, so
   * it need not wait behind the sync of the next op (Raft's leader does the same).
   */
  private sendReply(request: Pick<VrCommand, "clientId" | "session" | "sequence">, result: Uint8Array): void {
    this.outboxBeforeSync.push({ to: request.clientId, message: { type: "clientReply", session: request.session, sequence: request.sequence, result } });
  }

  // ---- Normal operation (§4.1) --------------------------------------------------------------

  private scheduleProposals(): void {
    this.proposalsDue = true;
  }

  /** prepareNext assigns op-numbers to batches of queued requests while the pipeline has room (§4.1 step 3). */
  private prepareNext(): void {
    while (this.isPrimary() && this.opNumber() - this.commitNumber < this.options.windowOps && this.unexecutedConfigOp() === undefined) {
      // The requests queued before a reconfiguration go first; the reconfiguration is the epoch's last op (§7.1).
      let entry: VrEntry;
      if (this.requests.length > 0) entry = { commands: this.requests.take(this.options.batchCommandsMax), config: [] };
      else if (this.pendingConfig !== undefined) entry = { commands: [], config: this.pendingConfig };
      else break;
      if (entry.config.length > 0) this.pendingConfig = undefined;
      this.log.push(entry);
      const op = this.opNumber();
      this.persistEntries(op, [entry]);
      for (const backup of this.otherReplicas()) this.sendPrepare(backup, op, this.outboxBeforeSync);
      if (!this.persisting) this.durableOp = op;
    }
    this.commitReady();
  }

  /**
   * sendPrepare sends op to a backup. The primary's Prepares leave before its
   * own copy is synced (`messagesBeforeSync`): they promise nothing about it,
   * since the primary counts its own copy toward a commit only once synced.
   */
  private sendPrepare(to: NodeId, op: number, into: Outbound<VrMessage>[]): void {
    const entry = this.entryAt(op);
    assert(entry !== undefined, () => `prepare of op ${op}, which the log does not hold`);
    const progress = this.progressOf(to);
    progress.lastSentTick = this.now;
    progress.lastPrepareTick = this.now;
    into.push({ to, message: { type: "prepare", view: this.view, op, entry, commit: this.commitNumber, leaseTick: this.leaseTick() } });
  }

  private onPrepare(from: NodeId, message: VrPrepare): void {
    if (!this.admitPrimaryMessage(message.view)) return;
    this.resetViewDeadline();
    this.grantLease();
    this.heardOp = Math.max(this.heardOp, message.op);
    const op = this.opNumber();
    if (message.op === op + 1) {
      // §4.1 step 4: a backup appends only the op right after its own, never out of order.
      this.log.push(message.entry);
      this.persistEntries(message.op, [message.entry]);
      this.send(from, { type: "prepareOk", view: this.view, op: message.op, leaseTick: message.leaseTick });
    } else if (message.op <= op) {
      // A retransmission: this backup already holds the op; its PrepareOk may have been lost.
      this.send(from, { type: "prepareOk", view: this.view, op, leaseTick: message.leaseTick });
    }
    // Past op + 1 there is a gap: the op waits, and requestStateIfBehind asks for the ops missing (§5.2).
    this.learnCommit(message.commit);
    this.requestStateIfBehind();
  }

  private onCommit(from: NodeId, message: VrCommit): void {
    if (!this.admitPrimaryMessage(message.view)) return;
    this.resetViewDeadline();
    this.grantLease();
    // With leases on, a Commit (the idle primary's heartbeat) is acknowledged, so that it renews the lease.
    if (this.options.leaseTicks > 0) this.send(from, { type: "prepareOk", view: this.view, op: this.opNumber(), leaseTick: message.leaseTick });
    this.heardOp = Math.max(this.heardOp, message.commit);
    this.learnCommit(message.commit);
    this.requestStateIfBehind();
  }

  /**
   * admitPrimaryMessage decides what a Prepare or Commit of `view` means here:
   * one of an older view is ignored; one of this view is acted on in normal
   * status; one of a newer view (or of this view while this replica is still
   * in its view change) means the view started without it, so it asks the new
   * primary for the view's log (catchUpToView) and acts on nothing until then.
   */
  private admitPrimaryMessage(view: number): boolean {
    if (view < this.view) return false;
    if (view === this.view && this.phase === "normal") return !this.isPrimary();
    this.catchUpToView(view);
    return false;
  }

  /**
   * catchUpToView joins `view`, which started without this replica, and asks
   * its primary for the view's log with a DoViewChange (§4.2: a primary in
   * normal status answers one with StartView). The replica keeps its log and
   * its last normal view meanwhile. §5.2 would instead cut the log back to the
   * commit-number and fetch the rest; but a replica that then claimed the new
   * view as its last normal view with a log shorter than the view's start
   * could win the next view change over a replica of the previous view that
   * holds an op committed there, and lose it.
   */
  private catchUpToView(view: number): void {
    if (view > this.view) {
      this.startViewChange(view);
    } else if (this.phase !== "viewChange") {
      this.phase = "viewChange";
      this.persistViewRecord();
    }
    // Sent again on the view change's retransmission timer until the StartView comes.
    this.doViewChangeSent = true;
    if (this.now - this.catchUpSentTick < this.options.retransmitTicks) return;
    this.catchUpSentTick = this.now;
    this.sendDoViewChange();
  }

  private onPrepareOk(from: NodeId, message: VrPrepareOk): void {
    if (message.view !== this.view || !this.isPrimary()) return;
    const progress = this.progressOf(from);
    if (message.op > progress.acked) progress.acked = message.op;
    // The stamp is the primary's send tick plus one (0: no lease); one from its future is not its own.
    const sentTick = message.leaseTick - 1;
    if (message.leaseTick > 0 && sentTick <= this.now && sentTick > (this.leaseAckTick.get(from) ?? -1)) this.leaseAckTick.set(from, sentTick);
    this.commitReady();
  }

  /**
   * commitReady commits every op that a majority of the group holds in this
   * view (§4.1 step 5: f PREPAREOKs and the primary's own copy make f + 1).
   * Persisting, the primary's copy counts once it is synced, as a backup's
   * counts once its PrepareOk (sent after its sync) arrives; so with a slow
   * disk at the primary, f + 1 backups' copies commit an op as well. Then it
   * executes them in op order and replies.
   */
  private commitReady(): void {
    if (!this.isPrimary()) return;
    const held = [Math.min(this.durableOp, this.opNumber()), ...this.otherReplicas().map((backup) => this.backups.get(backup)?.acked ?? 0)].sort((a, b) => b - a);
    const committable = held[this.quorum - 1] ?? 0;
    if (committable <= this.commitNumber) return;
    this.commitNumber = committable;
    this.execute();
    this.scheduleProposals();
  }

  /** learnCommit raises a backup's commit-number to what the primary says, within the ops it holds (§4.1 step 7). */
  private learnCommit(commit: number): void {
    const known = Math.min(commit, this.opNumber());
    if (known <= this.commitNumber) return;
    this.commitNumber = known;
    this.execute();
  }

  /** execute runs the committed ops in op order through the client table (§4.1 step 5, §4); only the primary replies. */
  private execute(): void {
    while (this.appliedOp < this.commitNumber) {
      const op = this.appliedOp + 1;
      const entry = this.entryAt(op);
      assert(entry !== undefined, () => `op ${op} is committed but not in the log (checkpoint ${this.checkpointOp}, op-number ${this.opNumber()})`);
      for (const command of entry.commands) {
        const execution = this.sessions.execute(command);
        this.requests.settle(command);
        if (!this.isPrimary() || execution.kind === "stale") continue;
        this.sendReply(command, execution.result);
      }
      this.appliedOp = op;
      if (entry.config.length > 0 && op > this.epochStartOp) {
        // §7.1: executing the reconfiguration ends the epoch; the replica moves on once this event is done.
        this.epochDue = { op, config: entry.config };
        break;
      }
    }
    this.maybeCheckpoint();
  }

  private retransmitPrepares(): void {
    const op = this.opNumber();
    for (const backup of this.otherReplicas()) {
      const progress = this.progressOf(backup);
      if (progress.acked >= op || this.now - progress.lastPrepareTick < this.options.retransmitTicks) continue;
      const first = Math.max(progress.acked, this.checkpointOp) + 1;
      const last = Math.min(op, first + this.options.windowOps - 1);
      for (let next = first; next <= last; next++) this.sendPrepare(backup, next, this.outbox);
    }
  }

  /** sendCommits tells a backup the commit-number when nothing else went to it for commitTicks (§4.1 step 6): it is also the primary's heartbeat. */
  private sendCommits(): void {
    for (const backup of this.otherReplicas()) {
      const progress = this.progressOf(backup);
      if (this.now - progress.lastSentTick < this.options.commitTicks) continue;
      progress.lastSentTick = this.now;
      this.send(backup, { type: "commit", view: this.view, commit: this.commitNumber, leaseTick: this.leaseTick() });
    }
  }

  private progressOf(backup: NodeId): BackupProgress {
    let progress = this.backups.get(backup);
    if (progress === undefined) {
      progress = { acked: 0, lastSentTick: neverTick, lastPrepareTick: neverTick };
      this.backups.set(backup, progress);
    }
    return progress;
  }

  // ---- View change (§4.2) -------------------------------------------------------------------

  /** startViewChange moves to `view` in view-change status and tells the others (§4.2 step 1). */
  private startViewChange(view: number): void {
    assert(view > this.view, () => `a view change to view ${view} from view ${this.view}`);
    this.leavePrimaryRole();
    this.counters.viewChangesStarted++;
    this.view = view;
    this.phase = "viewChange";
    this.startViewChangeFrom.clear();
    this.startViewChangeFrom.add(this.id);
    this.doViewChanges.clear();
    this.doViewChangeSent = false;
    this.persistViewRecord();
    this.resetViewDeadline();
    this.retransmitViewChange();
  }

  private retransmitViewChange(): void {
    this.viewChangeSentTick = this.now;
    for (const peer of this.otherReplicas()) {
      if (!this.startViewChangeFrom.has(peer)) this.send(peer, { type: "startViewChange", view: this.view });
    }
    if (this.doViewChangeSent) this.sendDoViewChange();
    else this.maybeSendDoViewChange();
  }

  private onStartViewChange(from: NodeId, view: number): void {
    if (view < this.view || (view === this.view && this.phase === "normal")) return;
    if (this.refusedForLease(view)) return;
    if (view > this.view) this.startViewChange(view);
    this.startViewChangeFrom.add(from);
    this.maybeSendDoViewChange();
  }

  /** maybeSendDoViewChange sends DOVIEWCHANGE once f other replicas joined the view change (§4.2 step 2). */
  private maybeSendDoViewChange(): void {
    if (this.doViewChangeSent || this.startViewChangeFrom.size < this.quorum) return;
    this.doViewChangeSent = true;
    this.sendDoViewChange();
  }

  private sendDoViewChange(): void {
    const message: VrDoViewChange = {
      type: "doViewChange",
      view: this.view,
      lastNormalView: this.lastNormalView,
      commit: this.commitNumber,
      log: this.logSuffix(this.checkpointOp + 1, true),
    };
    const primary = this.primaryOf(this.view);
    if (primary === this.id) this.onDoViewChange(this.id, message);
    else this.send(primary, message);
  }

  private onDoViewChange(from: NodeId, message: VrDoViewChange): void {
    if (message.view < this.view) return;
    if (from !== this.id && this.refusedForLease(message.view)) return;
    if (message.view === this.view && this.phase === "normal") {
      // The view started: the sender missed its StartView.
      if (this.isPrimary() && from !== this.id) this.sendStartView(from, message.commit);
      return;
    }
    if (message.view > this.view) this.startViewChange(message.view);
    // A DoViewChange says its sender joined the view change too.
    this.startViewChangeFrom.add(from);
    this.doViewChanges.set(from, message);
    this.maybeSendDoViewChange();
    if (this.doViewChanges.size >= this.quorum && this.doViewChanges.has(this.id)) this.startView();
  }

  /**
   * startView makes this replica the primary of the new view (§4.2 step 3): it
   * takes the log of the DoViewChange with the largest last normal view, and
   * among those the largest op-number, and the largest commit-number of all.
   * Choosing by op-number alone could take a longer log of an older view,
   * whose ops past the commit point a later view overwrote, and lose an op
   * committed there.
   */
  private startView(): void {
    let best: VrDoViewChange | undefined;
    let commit = 0;
    for (const candidate of this.doViewChanges.values()) {
      commit = Math.max(commit, candidate.commit);
      if (best === undefined || isBetterLog(candidate, best)) best = candidate;
    }
    assert(best !== undefined, "a view started without DoViewChanges");
    const chosen = best;
    assert(lastOpOf(chosen.log) >= commit, () => `view ${this.view}: the chosen log ends at op ${lastOpOf(chosen.log)}, below the commit-number ${commit}`);
    const reported = new Map<NodeId, number>();
    for (const [sender, message] of this.doViewChanges) reported.set(sender, message.commit);
    this.adoptLog(chosen.log);
    this.phase = "normal";
    this.lastNormalView = this.view;
    this.counters.viewsStarted++;
    this.backups.clear();
    this.leaseAckTick.clear();
    this.viewStartOp = this.opNumber();
    this.durableOp = this.persisting ? this.commitNumber : this.opNumber();
    this.persistViewRecord();
    for (const backup of this.otherReplicas()) this.sendStartView(backup, reported.get(backup));
    this.learnCommitAsPrimary(commit);
  }

  /** learnCommitAsPrimary executes what the view change found committed, replying to the clients (§4.2 step 3). */
  private learnCommitAsPrimary(commit: number): void {
    if (commit > this.commitNumber) {
      this.commitNumber = commit;
      this.execute();
    }
    this.scheduleProposals();
  }

  /** sendStartView sends the new view's log, with the checkpoint's state when the backup may lack it (`knownCommit` is what it reported). */
  private sendStartView(to: NodeId, knownCommit: number | undefined): void {
    const withState = knownCommit === undefined || knownCommit < this.checkpointOp;
    this.progressOf(to).lastSentTick = this.now;
    this.send(to, { type: "startView", view: this.view, commit: this.commitNumber, log: this.logSuffix(this.checkpointOp + 1, withState) });
  }

  private onStartView(from: NodeId, message: VrStartView): void {
    if (message.view < this.view || (message.view === this.view && this.phase === "normal")) return;
    this.leavePrimaryRole();
    if (!this.adoptLog(message.log)) {
      // The log starts past what this replica executed and came without the state: its DoViewChange, which reports
      // its commit-number, gets the StartView again with the checkpoint.
      this.catchUpToView(message.view);
      return;
    }
    this.view = message.view;
    this.phase = "normal";
    this.resetViewDeadline();
    this.lastNormalView = message.view;
    this.persistViewRecord();
    this.heardOp = this.opNumber();
    this.learnCommit(message.commit);
    // §4.2 step 5: the ops not yet committed are acknowledged to the new primary, which commits them in this view.
    if (this.opNumber() > this.commitNumber) this.send(from, { type: "prepareOk", view: this.view, op: this.opNumber(), leaseTick: 0 });
  }

  /**
   * adoptLog replaces this replica's log with `suffix`, a log that holds every
   * op committed before it was sent. Ops this replica already executed are
   * committed, so they are the same in both and stay; when the suffix starts
   * past them, its checkpoint's state is installed, or, without it, nothing
   * changes and it returns false.
   */
  private adoptLog(suffix: VrLogSuffix): boolean {
    const last = lastOpOf(suffix);
    assert(last >= this.appliedOp, () => `adopting a log that ends at op ${last}, below op ${this.appliedOp} this replica executed`);
    if (suffix.checkpointOp > this.appliedOp) {
      if (!suffix.hasState) return false;
      this.installCheckpoint(suffix.checkpointOp, suffix.state, suffix.entries);
      return true;
    }
    const kept = this.log.slice(0, this.appliedOp - this.checkpointOp);
    const taken = suffix.entries.slice(this.appliedOp - suffix.checkpointOp);
    this.log = kept.concat(taken);
    this.commitNumber = this.appliedOp;
    this.persistEntries(this.appliedOp + 1, taken);
    return true;
  }

  /** installCheckpoint takes a peer's checkpoint through `op` and the log above it, replacing the state machine (§5.2). */
  private installCheckpoint(op: number, state: Uint8Array, entries: readonly VrEntry[]): void {
    this.counters.checkpointsInstalled++;
    this.sessions.restore(state);
    this.checkpointOp = op;
    this.checkpointState = state;
    this.appliedOp = op;
    this.commitNumber = op;
    this.log = [...entries];
    this.persistSnapshot();
  }

  // ---- State transfer (§5.2) ----------------------------------------------------------------

  private requestStateIfBehind(): void {
    if (this.phase !== "normal" || this.isPrimary() || this.heardOp <= this.opNumber() || this.now < this.stateRequestDueTick) return;
    this.stateRequestDueTick = this.now + this.options.retransmitTicks;
    // Mostly the primary, which holds every op of the view; sometimes another backup, in case the primary is cut off from it.
    const peers = this.otherReplicas();
    const primary = this.primaryOf(this.view);
    const to = this.rng.chance(3, 4) ? primary : (peers[this.rng.nextInt(peers.length)] as NodeId);
    this.send(to, { type: "getState", view: this.view, fromOp: this.opNumber() + 1, committed: false });
  }

  private onGetState(from: NodeId, message: VrGetState): void {
    // §5.2: only a replica normal in the same view answers: its log is then a prefix of the primary's.
    if (this.phase !== "normal" || message.view !== this.view) return;
    const withState = message.fromOp <= this.checkpointOp;
    const log = this.logSuffix(withState ? this.checkpointOp + 1 : message.fromOp, withState, this.options.stateTransferOpsMax);
    if (!withState && log.entries.length === 0) return;
    this.send(from, { type: "newState", view: this.view, commit: Math.min(this.commitNumber, lastOpOf(log)), fromOp: message.fromOp, log });
  }

  private onNewState(message: VrNewState): void {
    if (this.phase !== "normal" || message.view !== this.view) return;
    const before = this.opNumber();
    const log = message.log;
    const last = lastOpOf(log);
    if (log.hasState && log.checkpointOp > this.appliedOp) {
      // Both logs are prefixes of this view's primary's: keep the ops this replica holds past the transfer (it may have acknowledged them).
      const tail = last < before ? this.log.slice(last - this.checkpointOp) : [];
      this.installCheckpoint(log.checkpointOp, log.state, [...log.entries, ...tail]);
    } else if (log.checkpointOp <= before && last > before) {
      const taken = log.entries.slice(before - log.checkpointOp);
      this.log.push(...taken);
      this.persistEntries(before + 1, taken);
    } else if (last <= before) {
      return;
    }
    this.counters.stateTransfers++;
    this.learnCommit(message.commit);
    this.stateRequestDueTick = this.now; // more may be missing: ask again on the next tick
    const primary = this.primaryOf(this.view);
    if (this.opNumber() > before && primary !== this.id) this.send(primary, { type: "prepareOk", view: this.view, op: this.opNumber(), leaseTick: 0 });
  }

  // ---- Reconfiguration (§7) ----------------------------------------------------------------

  /**
   * reconfigure asks the primary to move the group to `members` (§7.1): the
   * requests it has queued are prepared first, then the reconfiguration as an
   * op of its own, after which it takes no more requests. Once committed and
   * executed, the epoch ends: the old replicas move to the next epoch, which
   * starts at view 0 with the new group, and the new replicas hear of it by
   * StartEpoch. One reconfiguration at a time.
   */
  reconfigure(members: readonly NodeId[]): VrReconfigureResult {
    const next = [...members].sort((a, b) => a - b);
    if (next.length === 0 || next.some((id, i) => !isNodeId(id) || (i > 0 && next[i - 1] === id))) return { kind: "rejected", reason: "invalidMembers" };
    if (!this.isPrimary()) return { kind: "rejected", reason: "notPrimary" };
    if (this.reconfigurationAhead()) return { kind: "rejected", reason: "changePending" };
    if (next.length === this.replicas.length && next.every((id, i) => id === this.replicas[i])) return { kind: "rejected", reason: "unchanged" };
    this.pendingConfig = next;
    this.scheduleProposals();
    return { kind: "proposed", members: next };
  }

  /** reconfigurationAhead tells whether this replica has a reconfiguration to prepare, or one in its log not yet executed. */
  private reconfigurationAhead(): boolean {
    return this.pendingConfig !== undefined || this.unexecutedConfigOp() !== undefined;
  }

  /** unexecutedConfigOp is the op-number of a reconfiguration in the log past the executed ops, if there is one. */
  private unexecutedConfigOp(): number | undefined {
    for (let op = this.appliedOp + 1; op <= this.opNumber(); op++) if ((this.entryAt(op)?.config.length ?? 0) > 0) return op;
    return undefined;
  }

  private setConfig(config: readonly NodeId[]): void {
    this.replicas = [...config].sort((a, b) => a - b);
    this.quorum = Math.floor(this.replicas.length / 2) + 1;
  }

  /** afterEvent moves to the next epoch once an event has executed a reconfiguration (§7.1). */
  private afterEvent(): void {
    const due = this.epochDue;
    if (due === undefined) return;
    this.epochDue = undefined;
    this.enterNextEpoch(due.op, due.config);
  }

  /**
   * enterNextEpoch is §7.1 at a replica that executed the reconfiguration at
   * `op`: the epoch-number goes up, the view is the new epoch's view 0, and the
   * group is `config`. A replica of the new group is up to date (it executed
   * every op through the reconfiguration) and goes on in normal status, the
   * primary of view 0 as primary; one that is not in it leaves, serving the
   * state until f'+1 new replicas have it. The new replicas hear of the epoch
   * by StartEpoch, sent again until each says EpochStarted.
   */
  private enterNextEpoch(op: number, config: readonly NodeId[]): void {
    if (this.isPrimary()) {
      // §7.1: the old primary tells the old replicas the reconfiguration committed, so that they execute it and move on too.
      for (const old of this.otherReplicas()) this.send(old, { type: "commit", view: this.view, commit: op, leaseTick: 0 });
    }
    this.leaveEpochRoles();
    this.oldReplicas = this.replicas;
    this.setConfig(config);
    this.epochStartOp = op;
    this.counters.epochsEntered++;
    // Nothing follows a reconfiguration in its epoch's log (the primary prepares nothing after it).
    assert(this.opNumber() === op, () => `replica ${this.id} executed the reconfiguration at op ${op} with ops through ${this.opNumber()} in its log`);
    this.view = firstViewOfEpoch(this.epoch() + 1);
    this.lastNormalView = this.view;
    if (this.isMember()) this.startEpochUpToDate();
    else {
      this.phase = "leaving";
      this.persistViewRecord();
    }
    this.sendStartEpochs();
  }

  /** leaveEpochRoles drops what belongs to the epoch being left: the primary's state, a view change, the epoch's bookkeeping. */
  private leaveEpochRoles(): void {
    this.leavePrimaryRole();
    this.pendingConfig = undefined;
    this.startViewChangeFrom.clear();
    this.doViewChanges.clear();
    this.doViewChangeSent = false;
    this.recoveryResponses.clear();
    this.epochStartedFrom.clear();
    this.startEpochSentTick.clear();
  }

  /** startEpochUpToDate starts this replica's part in its epoch's view 0, holding every op through the epoch's start. */
  private startEpochUpToDate(): void {
    this.phase = "normal";
    this.heardOp = this.opNumber();
    this.resetViewDeadline();
    this.persistViewRecord();
    if (this.isPrimary()) this.takeOverAsPrimary();
  }

  /** takeOverAsPrimary makes this replica the primary of its view with the log it holds, every op of which is committed. */
  private takeOverAsPrimary(): void {
    this.backups.clear();
    this.leaseAckTick.clear();
    this.viewStartOp = this.opNumber();
    this.durableOp = this.opNumber();
    this.scheduleProposals();
  }

  /**
   * onStartEpoch: a StartEpoch of a later epoch than this replica's moves it
   * there (§7.1, §7.2). Ops it executed are committed and stay; the rest of
   * its log is cut (the ops of its old epoch past the reconfiguration never
   * committed). Not in the new group, it is outside; in it and already
   * holding every op through the epoch's start, it starts at once; else it is
   * transitioning and fetches them first. One of its own epoch is answered with
   * EpochStarted if this replica has started (the sender missed it).
   */
  private onStartEpoch(from: NodeId, message: VrStartEpoch): void {
    const epoch = epochOfView(message.view);
    if (epoch < this.epoch()) return;
    if (epoch === this.epoch()) {
      if (this.phase === "normal" || this.phase === "viewChange") this.send(from, { type: "epochStarted", view: firstViewOfEpoch(epoch) });
      return;
    }
    this.leaveEpochRoles();
    this.setConfig(message.newConfig);
    this.oldReplicas = [...message.oldConfig];
    this.epochStartOp = message.op;
    this.counters.epochsEntered++;
    this.view = message.view;
    this.lastNormalView = message.view;
    if (this.log.length > this.appliedOp - this.checkpointOp) {
      this.log.length = this.appliedOp - this.checkpointOp;
      this.persistEntries(this.appliedOp + 1, []);
    }
    this.commitNumber = this.appliedOp;
    if (!this.isMember()) {
      this.phase = "outside";
      this.persistViewRecord();
    } else if (this.appliedOp >= message.op) {
      this.startEpochUpToDate();
      this.sendEpochStarted();
    } else {
      this.counters.epochTransitions++;
      this.phase = "transitioning";
      this.persistViewRecord();
      this.requestEpochState();
    }
  }

  /** answerEarlierEpoch tells a replica heard from in an earlier epoch that this one started (§7.2), at most once per retransmission interval. */
  private answerEarlierEpoch(to: NodeId): void {
    if (this.epochStartOp === 0 || this.now - (this.startEpochSentTick.get(to) ?? neverTick) < this.options.retransmitTicks) return;
    this.sendStartEpoch(to);
  }

  private sendStartEpoch(to: NodeId): void {
    this.startEpochSentTick.set(to, this.now);
    this.send(to, { type: "startEpoch", view: firstViewOfEpoch(this.epoch()), op: this.epochStartOp, oldConfig: this.oldReplicas, newConfig: this.replicas });
  }

  /**
   * sendStartEpochs: a replica of the old group that holds the state sends
   * StartEpoch to each new replica (§7.1) that has not yet said EpochStarted,
   * again every retransmission interval (the primary's may be lost).
   */
  private sendStartEpochs(): void {
    if (this.epochStartOp === 0 || !this.oldReplicas.includes(this.id)) return;
    for (const member of this.replicas) {
      if (this.oldReplicas.includes(member) || this.epochStartedFrom.has(member)) continue;
      if (this.now - (this.startEpochSentTick.get(member) ?? neverTick) >= this.options.retransmitTicks) this.sendStartEpoch(member);
    }
  }

  /** requestEpochState asks a replica of the old group (now and then one of the new) for the committed ops this transitioning replica lacks (§7.1, §5.2). */
  private requestEpochState(): void {
    this.epochStateDueTick = this.now + this.options.retransmitTicks;
    const old = this.oldReplicas.filter((id) => id !== this.id);
    const peers = old.length > 0 && this.rng.chance(3, 4) ? old : this.otherReplicas();
    if (peers.length === 0) return;
    const to = peers[this.rng.nextInt(peers.length)] as NodeId;
    this.send(to, { type: "getState", view: this.view, fromOp: this.appliedOp + 1, committed: true });
  }

  /** answerCommittedState answers a new replica's GetState with committed ops only (§7.1), from a replica that holds the state. */
  private answerCommittedState(from: NodeId, message: VrGetState): void {
    if (!this.holdsState() || message.fromOp > this.commitNumber) return;
    const withState = message.fromOp <= this.checkpointOp;
    const suffix = this.logSuffix(withState ? this.checkpointOp + 1 : message.fromOp, withState, this.options.stateTransferOpsMax);
    const entries = suffix.entries.slice(0, Math.max(0, this.commitNumber - suffix.checkpointOp));
    if (!withState && entries.length === 0) return;
    const log = { ...suffix, entries };
    this.send(from, { type: "newState", view: this.view, commit: lastOpOf(log), fromOp: message.fromOp, log });
  }

  /** onEpochState takes committed ops for a transitioning replica; once it holds every op through its epoch's start, it starts (§7.1). */
  private onEpochState(message: VrNewState): void {
    const log = message.log;
    const last = Math.max(log.checkpointOp, Math.min(lastOpOf(log), message.commit));
    if (log.hasState && log.checkpointOp > this.appliedOp) {
      this.installCheckpoint(log.checkpointOp, log.state, log.entries.slice(0, last - log.checkpointOp));
    } else if (log.checkpointOp <= this.appliedOp && last > this.appliedOp) {
      // Committed ops from the first this replica has not applied: they replace whatever it holds above that point,
      // which nothing committed here. Counted from the last op held instead, a replica holding one op it never
      // applied, asking for one op at a time (stateTransferOpsMax = 1), got back only that op and never moved on.
      const taken = log.entries.slice(this.appliedOp - log.checkpointOp, last - log.checkpointOp);
      this.log.length = this.appliedOp - this.checkpointOp;
      this.log.push(...taken);
      this.persistEntries(this.appliedOp + 1, taken);
    } else {
      return;
    }
    this.counters.stateTransfers++;
    this.commitNumber = Math.max(this.commitNumber, last);
    this.execute();
    if (this.epochDue !== undefined) return; // the state reached a later epoch's reconfiguration: afterEvent moves on
    if (this.appliedOp >= this.epochStartOp) {
      this.startEpochUpToDate();
      this.sendEpochStarted();
    } else {
      this.epochStateDueTick = this.now; // more to fetch: ask again on the next tick
    }
  }

  /** sendEpochStarted tells the old group that this new replica holds the state (§7.1): those leaving shut down after f'+1 such. */
  private sendEpochStarted(): void {
    for (const old of this.oldReplicas) if (old !== this.id) this.send(old, { type: "epochStarted", view: firstViewOfEpoch(this.epoch()) });
  }

  /** onEpochStarted counts a new replica that holds the state; a leaving replica shuts down after f'+1 of them (§7.1). */
  private onEpochStarted(from: NodeId): void {
    this.epochStartedFrom.add(from);
    if (this.phase === "leaving" && [...this.epochStartedFrom].filter((id) => this.replicas.includes(id)).length >= this.quorum) {
      this.phase = "outside";
      this.persistViewRecord();
    }
  }

  /** redirectClient: a replica outside the group tells a client the primary of the group it knows, if another (§7.3). */
  private redirectClient(request: ClientRequestMessage): void {
    if (this.phase === "transitioning") {
      this.counters.droppedRequests++;
      return;
    }
    const primary = this.primaryOf(this.view);
    this.send(request.clientId, { type: "notLeader", sequence: request.sequence, leaderHint: primary, hasLeaderHint: primary !== this.id });
  }

  // ---- Recovery (§4.3) ----------------------------------------------------------------------

  private startRecovery(): void {
    this.phase = "recovering";
    this.sendRecovery();
  }

  /** sendRecovery starts a round of RECOVERY with a fresh nonce; answers to earlier rounds no longer count. */
  private sendRecovery(): void {
    this.recoverySentTick = this.now;
    this.recoveryNonce = this.rng.nextInt(0x7fff_ffff) + 1;
    this.recoveryResponses.clear();
    for (const peer of this.otherReplicas()) this.send(peer, { type: "recovery", nonce: this.recoveryNonce, view: this.view });
    this.maybeFinishRecovery();
  }

  /**
   * answerRecovery answers RECOVERY (§4.3 step 2): in normal status with the
   * view, the primary adding its log. Not in normal status, it answers that
   * it is not (the paper's replica stays silent), which counts for nothing
   * toward the recovery but tells the recovering replica who lost their memory.
   */
  private answerRecovery(from: NodeId, message: VrRecovery): void {
    const primary = this.isPrimary();
    const log = primary ? this.logSuffix(this.checkpointOp + 1, this.checkpointOp > 0) : emptySuffix;
    this.send(from, {
      type: "recoveryResponse",
      view: this.view,
      nonce: message.nonce,
      hasLog: primary,
      commit: primary ? this.commitNumber : 0,
      log,
      recovering: this.phase === "recovering",
      // A new replica still fetching the epoch's state (§7.1) took part in none of its views: like a replica in a
      // view change it counts for nothing toward a recovery, but it lost nothing either.
      viewChange: this.phase === "viewChange" || this.phase === "transitioning",
    });
  }

  private onRecoveryResponse(from: NodeId, message: VrRecoveryResponse): void {
    if (message.nonce !== this.recoveryNonce) return;
    this.recoveryResponses.set(from, message);
    this.maybeFinishRecovery();
  }

  /**
   * maybeFinishRecovery completes recovery with f+1 answers from replicas in
   * normal status, one of them from the primary of the latest view they name
   * (§4.3 step 3). Then it is a backup of that view, or, if it had itself
   * reached a later view before its crash, it starts a view change past it
   * (views only grow).
   *
   * When every other replica answered and more than f of the group, itself
   * included, are recovering, no f + 1 normal replicas will ever answer: the
   * paper's recovery waits for ever. This replica gives up instead: it joins a
   * view change with an empty log, and the group goes on with what its
   * surviving replicas hold (counted as recoveriesAbandoned, since writes only
   * the crashed replicas held are lost: memory mode tolerates f such crashes at
   * once, not more).
   */
  private maybeFinishRecovery(): void {
    const responses = [...this.recoveryResponses.values()];
    const normal = responses.filter((response) => !response.recovering && !response.viewChange);
    // f + 1 answers when n = 2f + 1: enough to meet every quorum that may have acted without this replica.
    if (normal.length >= this.replicas.length - this.quorum + 1) {
      const latest = Math.max(...normal.map((response) => response.view));
      const primary = this.recoveryResponses.get(this.primaryOf(latest));
      if (primary === undefined || !primary.hasLog || primary.view !== latest) return;
      const adopted = this.adoptLog(primary.log);
      assert(adopted, "the primary's recovery response carries its checkpoint");
      this.counters.recoveries++;
      this.lastNormalView = latest;
      if (latest < this.view) {
        this.startViewChange(this.view + 1);
        return;
      }
      this.view = latest;
      this.phase = "normal";
      this.heardOp = this.opNumber();
      this.learnCommit(primary.commit);
      this.persistViewRecord();
      this.resetViewDeadline();
      return;
    }
    const recovering = 1 + responses.filter((response) => response.recovering).length;
    const f = this.replicas.length - this.quorum;
    if (responses.length === this.replicas.length - 1 && recovering > f) {
      this.counters.recoveriesAbandoned++;
      this.view = Math.max(this.view, ...responses.map((response) => response.view));
      this.lastNormalView = 0;
      this.startViewChange(this.view + 1);
    }
  }

  // ---- Checkpoints (§5.1) and durability ----------------------------------------------------

  private maybeCheckpoint(): void {
    if (this.appliedOp - this.checkpointOp < this.options.checkpointEveryOps) return;
    this.counters.checkpointsTaken++;
    this.checkpointState = this.sessions.snapshot();
    this.log = this.log.slice(this.appliedOp - this.checkpointOp);
    this.checkpointOp = this.appliedOp;
    this.persistSnapshot();
  }

  /** logSuffix is the log from `fromOp` on (at most `entriesMax` entries), with the checkpoint's state when asked. */
  private logSuffix(fromOp: number, withState: boolean, entriesMax = Number.POSITIVE_INFINITY): VrLogSuffix {
    if (withState) {
      return { checkpointOp: this.checkpointOp, hasState: true, state: this.checkpointState, entries: this.log.slice(0, entriesMax) };
    }
    assert(fromOp > this.checkpointOp, () => `a log suffix from op ${fromOp}, inside the checkpoint through ${this.checkpointOp}`);
    const start = fromOp - this.checkpointOp - 1;
    return { checkpointOp: fromOp - 1, hasState: false, state: emptyBytes, entries: this.log.slice(start, start + entriesMax) };
  }

  /**
   * persistViewRecord writes the view state. Persisting, it is a record beside
   * the log's. In memory mode it is the only thing on disk, a snapshot without
   * state that replaces the one before: written at view changes, never on the
   * normal path, so that a restarted replica knows the view it had reached.
   */
  private persistViewRecord(): void {
    if (this.persisting) {
      this.persist.push(this.viewRecord());
      return;
    }
    this.pendingSnapshot = vrRecordCodec.encode({ type: "snapshot", view: this.viewFields(), checkpointOp: 0, state: emptyBytes, entries: [] });
  }

  private viewFields(): Omit<ViewRecord, "type"> {
    // Epoch 0's group is the runtime's to give: nothing of it is written, and the records are as before epochs.
    const reconfigured = this.epochStartOp > 0;
    return {
      view: this.view,
      lastNormalView: this.lastNormalView,
      viewChange: this.phase === "viewChange",
      config: reconfigured ? this.replicas : [],
      oldConfig: reconfigured ? this.oldReplicas : [],
      epochStartOp: this.epochStartOp,
    };
  }

  private viewRecord(): Uint8Array {
    return vrRecordCodec.encode({ type: "view", ...this.viewFields() });
  }

  private persistEntries(fromOp: number, entries: readonly VrEntry[]): void {
    if (this.persisting) this.persist.push(vrRecordCodec.encode({ type: "entries", fromOp, entries }));
  }

  private persistSnapshot(): void {
    if (!this.persisting) return;
    // The snapshot replaces everything written before, this Ready's records included: they are folded into it.
    this.persist = [];
    this.pendingSnapshot = vrRecordCodec.encode({
      type: "snapshot",
      view: this.viewFields(),
      checkpointOp: this.checkpointOp,
      state: this.checkpointState,
      entries: this.log,
    });
  }

  /**
   * recoverFromDisk rebuilds a persisting replica: the checkpoint, then the
   * view records and log records in the order written. A replica that was the
   * primary of its view does not resume as one (it lost the acknowledgements it
   * counted): it starts a view change to the next view.
   */
  private recoverFromDisk(snapshot: Uint8Array | undefined, records: readonly Uint8Array[]): void {
    if (snapshot !== undefined) {
      const decoded = vrRecordCodec.decode(snapshot);
      assert(decoded.type === "snapshot", () => `vr snapshot holds a ${decoded.type} record`);
      this.sessions.restore(decoded.state);
      this.checkpointState = decoded.state;
      this.checkpointOp = decoded.checkpointOp;
      this.appliedOp = decoded.checkpointOp;
      this.commitNumber = decoded.checkpointOp;
      this.log = [...decoded.entries];
      this.recoverViewRecord(decoded.view);
    }
    for (const bytes of records) {
      const record: VrRecord = vrRecordCodec.decode(bytes);
      switch (record.type) {
        case "view":
          this.recoverViewRecord(record);
          break;
        case "entries":
          assert(record.fromOp > this.checkpointOp && record.fromOp <= this.opNumber() + 1, () => `entries record from op ${record.fromOp} beside a log of ops ${this.checkpointOp + 1}..${this.opNumber()}`);
          this.log.length = record.fromOp - this.checkpointOp - 1;
          this.log.push(...record.entries);
          break;
        case "snapshot":
          assert(false, "a snapshot record among the records");
          break;
        default:
          unreachable(record);
      }
    }
    if (this.opNumber() >= this.epochStartOp && this.commitNumber < this.epochStartOp) {
      // Every op through the epoch's start is committed: the epoch started from them (§7.1).
      this.commitNumber = this.epochStartOp;
      this.execute();
    }
    this.resetViewDeadline();
    if (!this.isMember()) {
      // An old replica of the group before this epoch: it still holds the state, and serves it until the new replicas have it (§7.1).
      this.phase = "leaving";
    } else if (this.opNumber() < this.epochStartOp) {
      // A new replica that had not yet fetched the state through its epoch's start (§7.1).
      this.phase = "transitioning";
    } else if (this.phase === "viewChange") {
      this.startViewChangeFrom.add(this.id);
      this.viewChangeSentTick = neverTick;
    } else if (this.primaryOf(this.view) === this.id && this.replicas.length > 1) {
      this.startViewChange(this.view + 1);
    } else if (this.primaryOf(this.view) === this.id) {
      // Alone, its disk holds every op it committed.
      this.commitNumber = this.opNumber();
      this.durableOp = this.opNumber();
      this.execute();
    }
  }

  /** recoverViewFromDisk reads, in memory mode, the view a restarted replica had reached and its epoch's group: its only durable state. */
  private recoverViewFromDisk(snapshot: Uint8Array | undefined, records: readonly Uint8Array[]): void {
    const written = [...(snapshot === undefined ? [] : [snapshot]), ...records].map((bytes) => vrRecordCodec.decode(bytes));
    for (const record of written) {
      const fields = record.type === "snapshot" ? record.view : record.type === "view" ? record : undefined;
      if (fields === undefined || fields.view < this.view) continue;
      this.view = fields.view;
      this.recoverEpoch(fields);
    }
  }

  private recoverViewRecord(record: Omit<ViewRecord, "type">): void {
    this.view = record.view;
    this.lastNormalView = record.lastNormalView;
    this.phase = record.viewChange ? "viewChange" : "normal";
    this.recoverEpoch(record);
  }

  /** recoverEpoch takes the epoch's group from a view record (§7), which names one from the first reconfiguration on. */
  private recoverEpoch(record: Omit<ViewRecord, "type">): void {
    if (record.epochStartOp === 0) return;
    this.setConfig(record.config);
    this.oldReplicas = [...record.oldConfig];
    this.epochStartOp = record.epochStartOp;
  }

  // ---- Helpers ------------------------------------------------------------------------------

  /**
   * ownHistoryError refuses what this replica's own history rules out: a
   * PrepareOk in its view for an op it has not prepared.
   */
  private ownHistoryError(message: VrMessage): VrMessageRejection | undefined {
    if (message.type === "prepareOk" && message.view === this.view && this.phase === "normal" && message.op > this.opNumber()) {
      return { reason: "impossibleOp", detail: `prepareOk for op ${message.op}, past this primary's op-number ${this.opNumber()}` };
    }
    return undefined;
  }

  /** leaseTick is what the primary stamps on a Prepare or Commit for its lease: its tick plus one, or 0 with leases off (nothing on the wire). */
  private leaseTick(): number {
    return this.options.leaseTicks > 0 ? this.now + 1 : 0;
  }

  /** grantLease: a backup that took its primary's Prepare or Commit joins no view change for leaseTicks of its ticks. */
  private grantLease(): void {
    if (this.options.leaseTicks > 0) this.grantUntilTick = Math.max(this.grantUntilTick, this.now + this.options.leaseTicks);
  }

  /**
   * refusedForLease: while its grant may be live, a replica ignores a view
   * change to a later view (it neither joins nor answers it): otherwise a
   * new primary could commit writes while the old one still answers reads
   * from its lease. The others send their StartViewChange again, and it joins
   * once its grant has run out.
   */
  private refusedForLease(view: number): boolean {
    if (view <= this.view || this.now >= this.grantUntilTick) return false;
    this.counters.viewChangesRefusedForLease++;
    return true;
  }

  /**
   * leaseValid: the primary's lease runs from the latest of its send ticks
   * that a majority (itself counting as now) acknowledged in this view, for
   * safeLeaseTicks (leaseTicks less the drift bound each way, less a tick).
   */
  leaseValid(): boolean {
    if (!this.isPrimary() || this.options.leaseTicks === 0) return false;
    const acked = [this.now, ...this.otherReplicas().map((backup) => this.leaseAckTick.get(backup) ?? Number.NEGATIVE_INFINITY)].sort((a, b) => b - a);
    const start = acked[this.quorum - 1] ?? Number.NEGATIVE_INFINITY;
    return this.now < start + safeLeaseTicks(this.options.leaseTicks, this.options.clockDriftBoundPercent);
  }

  /**
   * canServeLeaseRead: a read is answered from the primary's state while its
   * lease holds (no other primary can have started a view: a majority joins
   * none meanwhile) and once every op of the view's starting log is committed
   * and executed, so that every write acknowledged in an earlier view is in it.
   */
  private canServeLeaseRead(): boolean {
    return this.leaseValid() && this.commitNumber >= this.viewStartOp;
  }

  /** leavePrimaryRole drops what only a primary holds: the queue and the backups' progress; clients retry elsewhere. */
  private leavePrimaryRole(): void {
    this.leaseAckTick.clear();
    this.requests.clear();
    this.backups.clear();
    this.durableOp = 0;
  }

  private resetViewDeadline(): void {
    const base = this.options.viewChangeTimeoutTicks;
    this.viewDeadlineTick = this.now + this.rng.nextIntBetween(base, 2 * base - 1);
  }

  private otherReplicas(): readonly NodeId[] {
    return this.replicas.filter((replica) => replica !== this.id);
  }

  private send(to: NodeId, message: VrMessage): void {
    this.outbox.push({ to, message });
  }
}

/** viewOfMessage is the view-number a replica's message carries (which names its epoch, §7.2), or undefined for the client wire. */
function viewOfMessage(message: VrMessage): number | undefined {
  switch (message.type) {
    case "clientRequest":
    case "clientReply":
    case "notLeader":
    case "startEpoch":
      return undefined;
    default:
      return message.view;
  }
}

const emptyBytes = new Uint8Array(0);
const emptySuffix: VrLogSuffix = { checkpointOp: 0, hasState: false, state: emptyBytes, entries: [] };

/** isBetterLog orders DoViewChange logs as §4.2 step 3 does: the largest last normal view, then the largest op-number. */
export function isBetterLog(a: Pick<VrDoViewChange, "lastNormalView" | "log">, b: Pick<VrDoViewChange, "lastNormalView" | "log">): boolean {
  if (a.lastNormalView !== b.lastNormalView) return a.lastNormalView > b.lastNormalView;
  return lastOpOf(a.log) > lastOpOf(b.log);
}
