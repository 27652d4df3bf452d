import {
  assert,
  bytesEqual,
  RejectionCounter,
  SessionStateMachine,
  unreachable,
  type Crypto,
  type NodeId,
  type Outbound,
  type Ready,
  type Rejections,
  type Replica,
  type ReplicaContext,
  type ReplicaStatus,
  readLevelOfCode,
} from "@concord/core";
import { Authenticator, authenticatedBytes } from "./authenticator.ts";
import { hex } from "./bytes.ts";
import { countMatching, newSlot, votesIn, type BatchRef, type Slot } from "./log.ts";
import {
  decodeDurableImage,
  decodeDurableRecord,
  encodeBatch,
  encodeDurableImage,
  encodeDurableRecord,
  type DurableRecord,
  type SlotRecord,
  type PbftCheckpoint,
  type PbftCommit,
  type PbftFetchState,
  type PbftMessage,
  type PbftNewView,
  type PbftPrePrepare,
  type PbftPrepare,
  type PbftReplicaMessage,
  type PbftRequest,
  type PbftStateTransfer,
  type PbftStatus,
  type PbftViewChange,
} from "./messages.ts";
import { parsePbftOptions, type PbftOptions } from "./options.ts";
import { Quorums } from "./quorum.ts";
import { decideNewView, sameDecision, type NewViewDecision } from "./view-change.ts";

/** PbftRejectionReason names why a replica dropped an input without acting on it. */
export type PbftRejectionReason =
  | "badAuthentication"
  | "spoofedSender"
  | "staleView"
  | "futureView"
  | "stashFull"
  | "outsideWatermarks"
  | "notFromPrimary"
  | "badDigest"
  | "badRequest"
  | "conflictingPrePrepare"
  | "badCheckpoint"
  | "badViewChange"
  | "badNewView"
  | "badState"
  | "unexpected"
  | "readQueueFull";

/** CommittedEntry is one batch a replica committed locally (2f+1 matching commits), as invariant monitors read it. */
export interface CommittedEntry {
  readonly seq: number;
  readonly view: number;
  readonly digestHex: string;
}

interface OwnCheckpoint {
  readonly digest: Uint8Array;
  readonly digestHex: string;
  readonly state: Uint8Array;
}

interface NewViewCheckpoint {
  readonly seq: number;
  readonly digest: Uint8Array;
  readonly digestHex: string;
  /** holders are the replicas that may hold its state (those whose VIEW-CHANGE claimed it, or every peer after a restart). */
  readonly holders: readonly NodeId[];
}

interface StashedMessage {
  readonly from: NodeId;
  readonly message: PbftPrePrepare | PbftPrepare | PbftCommit;
}

/** viewsAheadMax bounds how far ahead of its view a replica keeps normal-case messages for later. */
const viewsAheadMax = 4;
/** readQueueMax bounds the read-only requests a replica holds until its prepared batches are executed. */
const readQueueMax = 1024;

/**
 * sessionSlot names a request's session together with the client that sent it. A faulty client may name another
 * client's session key in a request of its own (keys travel in clear); the session table refuses such a request when
 * it runs (its owner check, thesis §6.3), but until then the replica's own bookkeeping of what waits and what is
 * ordered must not let it stand in for the owner's request: a primary that took the owner's next request for one
 * already ordered would leave it to a view change (issue 21).
 */
function sessionSlot(request: Pick<PbftRequest, "clientId" | "session">): string {
  return `${request.clientId}:${request.session}`;
}

/**
 * PbftReplica is one PBFT replica (Castro and Liskov, OSDI 1999 and TOCS
 * 2002) as a deterministic, I/O-free state machine: the three-phase normal
 * case with batching, checkpoints with watermarks and garbage collection,
 * state transfer, the view change with the TOCS decision procedure, the
 * read-only optimization, and durable promises through `Ready.persist`.
 * Committed batches run through core's {@link SessionStateMachine}.
 *
 * Invariant: every message this replica sends is authenticated; every input
 * that fails a check is counted in {@link PbftReplica.rejections} and changes
 * nothing.
 */
export class PbftReplica implements Replica<PbftMessage> {
  readonly id: NodeId;
  /** options are the validated protocol options this replica runs with. */
  readonly options: PbftOptions;
  private readonly quorums: Quorums;
  private readonly replicas: readonly NodeId[];
  private readonly crypto: Crypto;
  private readonly auth: Authenticator;
  private readonly sessions: SessionStateMachine;
  private readonly nullDigest: Uint8Array;

  private view = 0;
  private active = true;
  private stableSeq = 0;
  private stableDigest: Uint8Array;
  private stableState: Uint8Array;
  private executedSeq = 0;
  /** highestCommittedSeq is the highest sequence number committed locally (committed slots are only discarded at or below executedSeq). */
  private highestCommittedSeq = 0;
  private nextSeq = 1;
  private readonly slots = new Map<number, Slot>();
  private readonly ownCheckpoints = new Map<number, OwnCheckpoint>();
  private readonly checkpointVotes = new Map<number, Map<NodeId, string>>();
  private readonly latestCheckpoint = new Map<NodeId, { seq: number; digestHex: string }>();
  /**
   * newViewCheckpoint is the checkpoint a NEW-VIEW started the view from, when
   * this replica adopted it without its state (TOCS §4.4): it is the low
   * watermark, and the stable checkpoint VIEW-CHANGEs report, until the state
   * arrives and it becomes the stable checkpoint.
   *
   * Invariant: when set, its seq is above stableSeq.
   */
  private newViewCheckpoint: NewViewCheckpoint | undefined;
  private fetching: { seq: number; ticks: number } | undefined;

  private readonly viewChanges = new Map<NodeId, PbftViewChange>();
  private ownViewChange: PbftViewChange | undefined;
  private lastNewView: PbftNewView | undefined;
  /** badSigned holds, per sender and type, the last signed message whose signature failed, so its retransmissions cost no Ed25519 check. */
  private readonly badSigned = new Map<string, PbftViewChange | PbftNewView>();
  private viewChangeAttempts = 0;
  private viewChangeTimerTicks = 0;
  private stuckTicks = 0;
  private highestSeqSeen = 0;

  private pending: PbftRequest[] = [];
  /**
   * queued maps each session (with its client: see sessionSlot) to the highest request sequence that already has
   * a sequence number in this replica's current view: ordered by it as
   * primary, accepted from the primary, or re-issued by the NEW-VIEW. The
   * primary orders only requests above it, so a request the NEW-VIEW carries
   * is not ordered a second time (it would run as a stale duplicate, wasting a
   * sequence number and a three-phase round).
   *
   * Invariant: it describes the current view only (cleared when a view change
   * starts or a view is installed), so a request a view change dropped is
   * ordered again in the next view.
   */
  private readonly queued = new Map<string, number>();
  /** waiting holds, per session and client (see sessionSlot), the latest request not yet executed that this replica has heard of. */
  private readonly waiting = new Map<string, PbftRequest>();
  private readonly deferredReads: PbftRequest[] = [];
  private stash: StashedMessage[] = [];

  private persist: Uint8Array[] = [];
  private outbox: Outbound<PbftMessage>[] = [];
  private image: Uint8Array | undefined;
  private recovering = false;

  private readonly journal: CommittedEntry[] = [];
  private journalBase = 0;
  private readonly rejected = new RejectionCounter<PbftRejectionReason>();

  constructor(context: ReplicaContext) {
    this.id = context.id;
    this.replicas = context.replicas;
    this.quorums = new Quorums(context.replicas);
    assert(this.quorums.isReplica(context.id), `replica ${context.id} is not in the replica list`);
    this.options = parsePbftOptions(context.options);
    this.crypto = context.crypto;
    this.auth = new Authenticator(context.crypto, context.id, context.replicas, this.options.authentication);
    this.sessions = new SessionStateMachine(context.stateMachine);
    this.nullDigest = this.crypto.digest(encodeBatch([]));
    this.stableState = this.sessions.snapshot();
    this.stableDigest = this.crypto.digest(this.stableState);
    this.ownCheckpoints.set(0, { digest: this.stableDigest, digestHex: hex(this.stableDigest), state: this.stableState });
    this.recover(context.durable.snapshot, context.durable.records);
  }

  // ---- Replica interface ------------------------------------------------------------------

  tick(): void {
    // PBFT §4.5.2: in a view change the timer runs only once 2f+1 replicas asked for this view (or a later one), so a
    // replica cannot run ahead through views alone; in an active view it runs while a request waits.
    if (this.active ? this.waiting.size > 0 : this.viewChangeQuorumReached()) {
      this.viewChangeTimerTicks++;
      if (this.viewChangeTimerTicks >= this.viewChangeTimeoutTicks()) this.startViewChange(this.view + 1);
    }
    if (this.fetching !== undefined && ++this.fetching.ticks >= this.options.statusTicks) this.fetching = undefined;
    if (!this.hasWork()) {
      this.stuckTicks = 0;
      return;
    }
    if (++this.stuckTicks < this.options.statusTicks) return;
    this.stuckTicks = 0;
    if (this.active) {
      this.broadcast({ type: "status", view: this.view, active: true, executedSeq: this.executedSeq, stableSeq: this.stableSeq, replica: this.id, macs: [], signature: noBytes });
    } else if (this.ownViewChange !== undefined) {
      // During a view change the VIEW-CHANGE itself is the status: peers answer it with the NEW-VIEW they hold.
      this.broadcastSealed(this.ownViewChange);
    }
    this.maybeFetchState(true);
  }

  step(from: NodeId, message: PbftMessage): void {
    switch (message.type) {
      case "request":
        this.onRequest(from, message);
        return;
      case "reply":
        this.reject("unexpected");
        return;
      default:
        if (!this.admit(from, message)) return;
        this.onReplicaMessage(from, message);
    }
  }

  ready(): Ready<PbftMessage> | undefined {
    if (this.persist.length === 0 && this.outbox.length === 0 && this.image === undefined) return undefined;
    return { snapshot: this.image, persist: this.persist, messages: this.outbox };
  }

  advance(done: Ready<PbftMessage>): void {
    if (done.persist === this.persist) this.persist = [];
    if (done.messages === this.outbox) this.outbox = [];
    if (done.snapshot === this.image) this.image = undefined;
  }

  status(): ReplicaStatus {
    return {
      id: this.id,
      role: this.isPrimary() ? "primary" : "backup",
      epoch: this.view,
      leader: this.quorums.primary(this.view),
      commitIndex: Math.max(this.highestCommittedSeq, this.executedSeq),
      appliedIndex: this.executedSeq,
      durableIndex: this.stableSeq,
    };
  }

  // ---- Introspection for tests, monitors and reports -------------------------------------------

  /** committedEntries returns the batches committed locally since the monitor's cursor (an absolute index), and the next cursor. */
  committedEntries(cursor: number): { entries: readonly CommittedEntry[]; next: number } {
    const start = Math.max(0, cursor - this.journalBase);
    return { entries: this.journal.slice(start), next: this.journalBase + this.journal.length };
  }

  /** rejections counts the inputs dropped without effect, by reason. */
  rejections(): Rejections<PbftRejectionReason> {
    return this.rejected;
  }

  /** watermarks returns the low and high watermarks (h, H = h + L) of the sequence numbers this replica accepts. */
  watermarks(): { low: number; high: number } {
    const low = this.lowWatermark();
    return { low, high: low + this.options.watermarkWindowSeqs };
  }

  /** stableCheckpoint returns the sequence number of the last stable checkpoint. */
  stableCheckpoint(): number {
    return this.stableSeq;
  }

  /** logSize counts the sequence numbers the log still holds (garbage collection removes those at or below the stable checkpoint). */
  logSize(): number {
    return this.slots.size;
  }

  /** isViewActive tells whether the replica runs the normal case in its view (false while a view change is in progress). */
  isViewActive(): boolean {
    return this.active;
  }

  /** committedDigestAt returns the hex digest of the batch committed at `seq`, if this replica still holds it. */
  committedDigestAt(seq: number): string | undefined {
    return this.slots.get(seq)?.committed?.digestHex;
  }

  /** committedBatchAt returns the requests of the batch committed at `seq`, if this replica still holds it (an empty batch is the null request). */
  committedBatchAt(seq: number): readonly PbftRequest[] | undefined {
    return this.slots.get(seq)?.committed?.requests;
  }

  // ---- Admission: authentication and bad input --------------------------------------------------

  private admit(from: NodeId, message: PbftReplicaMessage): boolean {
    if (!this.quorums.isReplica(from) || from === this.id) {
      this.reject("spoofedSender");
      return false;
    }
    if (message.type === "newView") {
      // A NEW-VIEW for a view this replica has already started or passed changes nothing: it is ignored unverified.
      if (this.viewIsOver(message.view)) return false;
      // A NEW-VIEW may be forwarded by any replica: its signature is its primary's.
      if (message.replica !== this.quorums.primary(message.view) || this.knownBadSignature(message) || !this.auth.verifySignature(message.replica, message)) {
        this.rejectSigned(message);
        return false;
      }
      return true;
    }
    if (message.replica !== from) {
      this.reject("spoofedSender");
      return false;
    }
    if (message.type === "viewChange") {
      if (this.viewIsOver(message.newView)) {
        // The sender is behind. Its VIEW-CHANGE changes nothing here, so its Ed25519 signature goes unchecked (the
        // most common signature check after a view change); the sender is shown the NEW-VIEW, which is signed and
        // public, if it asks for the view this replica runs.
        this.answerStaleViewChange(from, message);
        return false;
      }
      // A retransmitted VIEW-CHANGE identical to the one already held changes nothing; skip its signature check.
      if (this.alreadyVerified(message)) return false;
      // So is one identical to a VIEW-CHANGE whose signature already failed, but it is still bad input.
      if (this.knownBadSignature(message)) {
        this.reject("badAuthentication");
        return false;
      }
    }
    if (!this.auth.verifyReplicaMessage(from, message)) {
      if (message.type === "viewChange") this.rejectSigned(message);
      else this.reject("badAuthentication");
      return false;
    }
    return true;
  }

  /** knownBadSignature tells whether a signed message is byte for byte one whose signature this replica already found bad. */
  private knownBadSignature(message: PbftViewChange | PbftNewView): boolean {
    const bad = this.badSigned.get(`${message.type}:${message.replica}`);
    if (bad === undefined || !bytesEqual(bad.signature, message.signature)) return false;
    return bytesEqual(authenticatedBytes(bad), authenticatedBytes(message));
  }

  /** rejectSigned counts a signed message with a bad signature and remembers it, so that its retransmissions are rejected cheaply. */
  private rejectSigned(message: PbftViewChange | PbftNewView): void {
    if (this.quorums.isReplica(message.replica)) this.badSigned.set(`${message.type}:${message.replica}`, message);
    this.reject("badAuthentication");
  }

  private onReplicaMessage(from: NodeId, message: PbftReplicaMessage): void {
    switch (message.type) {
      case "prePrepare":
      case "prepare":
      case "commit":
        this.onNormalCase(from, message);
        return;
      case "checkpoint":
        this.onCheckpoint(from, message);
        return;
      case "viewChange":
        this.onViewChange(from, message);
        return;
      case "newView":
        this.onNewView(from, message);
        return;
      case "status":
        this.onStatus(from, message);
        return;
      case "fetchState":
        this.onFetchState(from, message);
        return;
      case "stateTransfer":
        this.onStateTransfer(message);
        return;
      default:
        unreachable(message);
    }
  }

  private reject(reason: PbftRejectionReason): void {
    this.rejected.count(reason);
  }

  // ---- Client requests (PBFT §4.1) -----------------------------------------------------------

  private onRequest(from: NodeId, request: PbftRequest): void {
    const fromClient = from === request.clientId && !this.quorums.isReplica(from);
    if (!fromClient && !this.quorums.isReplica(from)) {
      this.reject("spoofedSender");
      return;
    }
    if (!this.auth.verifyRequest(request)) {
      this.reject("badAuthentication");
      return;
    }
    if (request.readOnly) {
      if (fromClient) this.onRead(request);
      return;
    }
    // Sessions are keyed by the client object's session key, never its id (issue 21, bug 7).
    const last = this.sessions.lastSequence(request.session);
    if (request.sequence <= last) {
      const cached = this.sessions.cachedResult(request);
      if (cached !== undefined && fromClient) this.sendReply(request, cached, false);
      return;
    }
    const known = this.waiting.get(sessionSlot(request));
    if (known === undefined || known.sequence < request.sequence) {
      if (this.waiting.size === 0) this.viewChangeTimerTicks = 0;
      this.waiting.set(sessionSlot(request), request);
    }
    if (this.active && this.isPrimary()) {
      this.enqueue(request);
      this.propose();
    } else if (fromClient && this.active) {
      // A backup relays what the client broadcast after its timeout (PBFT §4.1).
      this.outbox.push({ to: this.quorums.primary(this.view), message: request });
    }
  }

  private enqueue(request: PbftRequest): void {
    if (this.isOrdered(request)) return;
    if (this.pending.length >= this.options.pendingRequestsMax) return;
    this.markOrdered([request]);
    this.pending.push(request);
  }

  /** isOrdered tells whether `request` (or a later one of its session) already has a sequence number in the current view. */
  private isOrdered(request: PbftRequest): boolean {
    return (this.queued.get(sessionSlot(request)) ?? 0) >= request.sequence;
  }

  /** markOrdered notes that `requests` have a sequence number in the current view, so that the primary does not order them again. */
  private markOrdered(requests: readonly PbftRequest[]): void {
    for (const request of requests) if (!this.isOrdered(request)) this.queued.set(sessionSlot(request), request.sequence);
  }

  /** propose orders queued requests in batches while the pipeline and the watermark window have room (PBFT §4.2, batching §5.1.4 of TOCS). */
  private propose(): void {
    while (this.active && this.isPrimary() && this.pending.length > 0) {
      if (this.nextSeq - 1 - this.executedSeq >= this.options.inflightBatchesMax) return;
      if (this.nextSeq > this.lowWatermark() + this.options.watermarkWindowSeqs) return;
      const batch: PbftRequest[] = [];
      let taken = 0;
      while (taken < this.pending.length && batch.length < this.options.batchSizeMax) {
        const request = this.pending[taken++] as PbftRequest;
        if (this.sessions.lastSequence(request.session) < request.sequence) batch.push(request);
      }
      this.pending.splice(0, taken);
      if (batch.length === 0) continue;
      const seq = this.nextSeq++;
      const digest = this.crypto.digest(encodeBatch(batch));
      const ref: BatchRef = { view: this.view, digest, digestHex: hex(digest), requests: batch };
      this.acceptPrePrepare(this.slot(seq), ref);
      this.broadcast({ type: "prePrepare", view: this.view, seq, digest, requests: batch, replica: this.id, macs: [], signature: noBytes });
    }
  }

  // ---- Read-only optimization (Castro's thesis §5.1.3) ----------------------------------------

  private onRead(request: PbftRequest): void {
    // A stale read is answered at once from the executed state, even in a view change or over a prepared batch not
    // yet executed: its client takes the first authentic reply and asked for no more.
    if (readLevelOfCode(request.readLevel) === "stale" || this.canServeReads()) {
      this.sendReply(request, this.sessions.query(request.command), true);
      return;
    }
    if (this.deferredReads.length >= readQueueMax) {
      this.deferredReads.shift();
      this.reject("readQueueFull");
    }
    this.deferredReads.push(request);
  }

  /**
   * canServeReads holds when this replica has executed every batch it has
   * prepared. A write whose client has f+1 matching replies was prepared by
   * f+1 correct replicas, and any 2f+1 replicas include one of them, so 2f+1
   * matching read replies cannot all predate a completed write.
   */
  private canServeReads(): boolean {
    if (!this.active) return false;
    for (const slot of this.slots.values()) if (slot.seq > this.executedSeq && slot.prepared !== undefined) return false;
    return true;
  }

  private flushReads(): void {
    if (this.deferredReads.length === 0 || !this.canServeReads()) return;
    for (const request of this.deferredReads.splice(0)) this.sendReply(request, this.sessions.query(request.command), true);
  }

  private sendReply(request: PbftRequest, result: Uint8Array, readOnly: boolean): void {
    if (this.recovering) return;
    const reply = this.auth.sealReply({
      type: "reply",
      view: this.view,
      clientId: request.clientId,
      session: request.session,
      sequence: request.sequence,
      replica: this.id,
      result,
      readOnly,
      mac: noBytes,
    });
    this.outbox.push({ to: request.clientId, message: reply });
  }

  // ---- Normal case (PBFT §4.2) ----------------------------------------------------------------

  private onNormalCase(from: NodeId, message: PbftPrePrepare | PbftPrepare | PbftCommit): void {
    if (message.view < this.view) {
      this.reject("staleView");
      return;
    }
    if (message.view > this.view || !this.active) {
      this.stashForLater(from, message);
      return;
    }
    if (!this.inWindow(message.seq)) {
      this.reject("outsideWatermarks");
      // Work above the window means this replica fell behind: ask around (status) until state transfer catches it up.
      if (message.seq > this.lowWatermark()) this.highestSeqSeen = Math.max(this.highestSeqSeen, message.seq);
      return;
    }
    switch (message.type) {
      case "prePrepare":
        this.onPrePrepare(from, message);
        return;
      case "prepare":
        this.onPrepare(from, message);
        return;
      case "commit":
        this.onCommit(from, message);
        return;
      default:
        unreachable(message);
    }
  }

  private stashForLater(from: NodeId, message: PbftPrePrepare | PbftPrepare | PbftCommit): void {
    if (message.view > this.view + viewsAheadMax) {
      this.reject("futureView");
      return;
    }
    if (this.stash.length >= this.stashMax()) {
      this.reject("stashFull");
      return;
    }
    this.stash.push({ from, message });
  }

  private onPrePrepare(from: NodeId, message: PbftPrePrepare): void {
    if (from !== this.quorums.primary(message.view)) {
      this.reject("notFromPrimary");
      return;
    }
    if (message.requests.some((r) => r.readOnly || !this.auth.verifyRequest(r))) {
      this.reject("badRequest");
      return;
    }
    const digest = this.crypto.digest(encodeBatch(message.requests));
    if (!bytesEqual(digest, message.digest)) {
      this.reject("badDigest");
      return;
    }
    const digestHex = hex(digest);
    const slot = this.slot(message.seq);
    if (slot.current !== undefined) {
      if (slot.current.digestHex !== digestHex) this.reject("conflictingPrePrepare");
      return;
    }
    const ref: BatchRef = { view: this.view, digest, digestHex, requests: message.requests };
    this.acceptPrePrepare(slot, ref);
    this.sendPrepare(slot, ref);
    this.checkPrepared(slot);
  }

  private onPrepare(from: NodeId, message: PbftPrepare): void {
    if (from === this.quorums.primary(message.view)) {
      this.reject("unexpected");
      return;
    }
    const slot = this.slot(message.seq);
    const prepares = votesIn(slot, message.view).prepares;
    if (!prepares.has(from)) prepares.set(from, hex(message.digest));
    this.checkPrepared(slot);
  }

  private onCommit(from: NodeId, message: PbftCommit): void {
    const slot = this.slot(message.seq);
    const commits = votesIn(slot, message.view).commits;
    if (!commits.has(from)) commits.set(from, hex(message.digest));
    this.checkCommitted(slot);
  }

  private acceptPrePrepare(slot: Slot, ref: BatchRef): void {
    slot.current = ref;
    this.markOrdered(ref.requests);
    const known = slot.prePrepared.get(ref.digestHex);
    if (known === undefined || known.view < ref.view) slot.prePrepared.set(ref.digestHex, ref);
    this.record({ kind: "prePrepared", slot: slotRecord(slot.seq, ref, true) });
  }

  private sendPrepare(slot: Slot, ref: BatchRef): void {
    if (this.isPrimary()) return;
    votesIn(slot, ref.view).prepares.set(this.id, ref.digestHex);
    this.broadcast({ type: "prepare", view: ref.view, seq: slot.seq, digest: ref.digest, replica: this.id, macs: [], signature: noBytes });
  }

  /** checkPrepared: prepared(m, v, n) holds with the pre-prepare and 2f matching prepares from distinct backups (PBFT §4.2). */
  private checkPrepared(slot: Slot): void {
    const current = slot.current;
    if (current === undefined || (slot.prepared !== undefined && slot.prepared.view === current.view)) return;
    const votes = slot.votes.get(current.view);
    if (votes === undefined || countMatching(votes.prepares, current.digestHex) < 2 * this.quorums.f) return;
    slot.prepared = current;
    this.record({ kind: "prepared", slot: slotRecord(slot.seq, current, false) });
    votesIn(slot, current.view).commits.set(this.id, current.digestHex);
    this.broadcast({ type: "commit", view: current.view, seq: slot.seq, digest: current.digest, replica: this.id, macs: [], signature: noBytes });
    this.checkCommitted(slot);
  }

  /** checkCommitted: committed-local holds once prepared with 2f+1 matching commits (PBFT §4.2). */
  private checkCommitted(slot: Slot): void {
    const prepared = slot.prepared;
    if (prepared === undefined || prepared.view !== this.view || slot.current === undefined) return;
    if (slot.committed !== undefined && slot.committed.view === prepared.view) return;
    const votes = slot.votes.get(prepared.view);
    if (votes === undefined || countMatching(votes.commits, prepared.digestHex) < this.quorums.quorum) return;
    assert(
      slot.committed === undefined || slot.committed.digestHex === prepared.digestHex,
      () => `replica ${this.id}: seq ${slot.seq} committed ${slot.committed?.digestHex} before and ${prepared.digestHex} now`,
    );
    this.markCommitted(slot, prepared);
    this.record({ kind: "committed", slot: slotRecord(slot.seq, prepared, false) });
    this.execute();
  }

  /** markCommitted records that `ref` committed at `slot`, for execution, status and the monitors' journal. */
  private markCommitted(slot: Slot, ref: BatchRef): void {
    slot.committed = ref;
    this.highestCommittedSeq = Math.max(this.highestCommittedSeq, slot.seq);
    this.journal.push({ seq: slot.seq, view: ref.view, digestHex: ref.digestHex });
    if (this.journal.length > 4 * this.options.watermarkWindowSeqs + 64) {
      const drop = this.journal.length - 2 * this.options.watermarkWindowSeqs;
      this.journal.splice(0, drop);
      this.journalBase += drop;
    }
  }

  // ---- Execution and checkpoints (PBFT §4.2, §4.3) -------------------------------------------

  private execute(): void {
    let progressed = false;
    for (;;) {
      const slot = this.slots.get(this.executedSeq + 1);
      const batch = slot?.committed;
      if (batch === undefined) break;
      for (const request of batch.requests) {
        const execution = this.sessions.execute(request);
        if (execution.kind !== "stale") this.sendReply(request, execution.result, false);
        const waiting = this.waiting.get(sessionSlot(request));
        if (waiting !== undefined && waiting.sequence <= request.sequence) this.waiting.delete(sessionSlot(request));
      }
      this.executedSeq++;
      progressed = true;
      if (this.executedSeq % this.options.checkpointIntervalSeqs === 0) this.takeCheckpoint(this.executedSeq);
    }
    if (!progressed) return;
    this.stuckTicks = 0;
    this.viewChangeTimerTicks = 0;
    if (this.active) this.viewChangeAttempts = 0;
    this.propose();
    this.flushReads();
  }

  private takeCheckpoint(seq: number): void {
    const state = this.sessions.snapshot();
    const digest = this.crypto.digest(state);
    const own: OwnCheckpoint = { digest, digestHex: hex(digest), state };
    this.ownCheckpoints.set(seq, own);
    this.checkpointVotesAt(seq).set(this.id, own.digestHex);
    if (!this.recovering) this.broadcast({ type: "checkpoint", seq, stateDigest: digest, replica: this.id, macs: [], signature: noBytes });
    if (this.isNewViewCheckpoint(seq, own.digestHex)) this.advanceStable(seq, own);
    else this.tryStabilize(seq);
  }

  private checkpointVotesAt(seq: number): Map<NodeId, string> {
    let votes = this.checkpointVotes.get(seq);
    if (votes === undefined) {
      votes = new Map();
      this.checkpointVotes.set(seq, votes);
    }
    return votes;
  }

  private onCheckpoint(from: NodeId, message: PbftCheckpoint): void {
    if (message.seq % this.options.checkpointIntervalSeqs !== 0 || message.seq <= 0) {
      this.reject("badCheckpoint");
      return;
    }
    const digestHex = hex(message.stateDigest);
    const latest = this.latestCheckpoint.get(from);
    if (latest === undefined || latest.seq < message.seq) this.latestCheckpoint.set(from, { seq: message.seq, digestHex });
    if (message.seq <= this.stableSeq) return;
    // A replica that installed a state above its stable checkpoint counts votes from there, so that state can become stable.
    if (message.seq <= Math.max(this.stableSeq, this.executedSeq) + 2 * this.options.watermarkWindowSeqs) {
      const votes = this.checkpointVotesAt(message.seq);
      if (!votes.has(from)) votes.set(from, digestHex);
      this.tryStabilize(message.seq);
    }
    this.maybeFetchState(false);
  }

  /**
   * tryStabilize makes a checkpoint stable with 2f+1 matching CHECKPOINT
   * messages, its own included (PBFT §4.3). Only such a certificate (or a
   * NEW-VIEW that starts from the checkpoint) makes one stable: f+1 matching
   * messages prove its digest, not that f+1 correct replicas hold it, and a
   * stable checkpoint is what VIEW-CHANGEs report and what the next NEW-VIEW
   * must be able to start from (issue 21, bug 8).
   */
  private tryStabilize(seq: number): void {
    const own = this.ownCheckpoints.get(seq);
    const votes = this.checkpointVotes.get(seq);
    if (own === undefined || votes === undefined || seq <= this.stableSeq) return;
    if (countMatching(votes, own.digestHex) < this.quorums.quorum) return;
    this.advanceStable(seq, own);
  }

  /** advanceStable moves the low watermark to `seq` and discards everything below it (garbage collection, PBFT §4.3). */
  private advanceStable(seq: number, checkpoint: OwnCheckpoint): void {
    assert(seq > this.stableSeq, "the stable checkpoint only moves forward");
    this.stableSeq = seq;
    this.stableDigest = checkpoint.digest;
    this.stableState = checkpoint.state;
    this.ownCheckpoints.set(seq, checkpoint);
    for (const key of [...this.slots.keys()]) if (key <= seq) this.slots.delete(key);
    for (const key of [...this.checkpointVotes.keys()]) if (key <= seq) this.checkpointVotes.delete(key);
    for (const key of [...this.ownCheckpoints.keys()]) if (key < seq) this.ownCheckpoints.delete(key);
    if (this.newViewCheckpoint !== undefined && this.newViewCheckpoint.seq <= seq) this.newViewCheckpoint = undefined;
    if (this.nextSeq <= seq) this.nextSeq = seq + 1;
    if (!this.recovering) this.writeImage();
    this.propose();
  }

  // ---- State transfer (PBFT §4.3; Castro's thesis §5.3.2) --------------------------------------

  /**
   * maybeFetchState asks for the state of a checkpoint above what this replica
   * has executed, once f+1 other replicas vouch for it (one of them is
   * correct), if the replica is stuck or the checkpoint lies beyond its window.
   */
  private maybeFetchState(stuck: boolean): void {
    if (this.fetching !== undefined) return;
    const target = this.certifiedCheckpointAbove(this.executedSeq);
    if (target === undefined) return;
    const beyondWindow = target.seq > this.lowWatermark() + this.options.watermarkWindowSeqs - this.options.checkpointIntervalSeqs;
    if (!stuck && !beyondWindow && target.seq > this.newViewCheckpointSeq()) return;
    this.fetching = { seq: target.seq, ticks: 0 };
    const request: PbftFetchState = { type: "fetchState", seq: target.seq, stateDigest: hexBytes(target.digestHex), replica: this.id, macs: [], signature: noBytes };
    for (const holder of target.holders) this.sendTo(holder, request);
  }

  private newViewCheckpointSeq(): number {
    return this.newViewCheckpoint?.seq ?? 0;
  }

  /** certifiedCheckpointAbove finds the highest checkpoint above `seq` that f+1 other replicas vouch for, or that the NEW-VIEW this replica runs starts from. */
  private certifiedCheckpointAbove(seq: number): { seq: number; digestHex: string; holders: readonly NodeId[] } | undefined {
    const claims = new Map<string, { seq: number; digestHex: string; holders: Set<NodeId> }>();
    const add = (claimSeq: number, digestHex: string, holder: NodeId): void => {
      if (claimSeq <= seq || holder === this.id) return;
      const key = `${claimSeq}:${digestHex}`;
      let claim = claims.get(key);
      if (claim === undefined) {
        claim = { seq: claimSeq, digestHex, holders: new Set() };
        claims.set(key, claim);
      }
      claim.holders.add(holder);
    };
    for (const [claimSeq, votes] of this.checkpointVotes) for (const [holder, digestHex] of votes) add(claimSeq, digestHex, holder);
    for (const [holder, latest] of this.latestCheckpoint) add(latest.seq, latest.digestHex, holder);
    let best: { seq: number; digestHex: string; holders: readonly NodeId[] } | undefined;
    for (const claim of claims.values()) {
      if (claim.holders.size < this.quorums.weak) continue;
      if (best === undefined || claim.seq > best.seq) best = { seq: claim.seq, digestHex: claim.digestHex, holders: [...claim.holders] };
    }
    const fromNewView = this.newViewCheckpoint;
    if (fromNewView !== undefined && fromNewView.seq > seq && (best === undefined || fromNewView.seq > best.seq)) best = fromNewView;
    return best;
  }

  private onFetchState(from: NodeId, message: PbftFetchState): void {
    let seq = message.seq;
    let checkpoint = this.ownCheckpoints.get(seq);
    if (checkpoint === undefined || !bytesEqual(checkpoint.digest, message.stateDigest)) {
      if (this.stableSeq < message.seq) return;
      seq = this.stableSeq;
      checkpoint = this.ownCheckpoints.get(seq);
      if (checkpoint === undefined) return;
    }
    this.sendTo(from, { type: "stateTransfer", seq, stateDigest: checkpoint.digest, state: checkpoint.state, replica: this.id, macs: [], signature: noBytes });
  }

  private onStateTransfer(message: PbftStateTransfer): void {
    if (message.seq <= this.executedSeq) return;
    const digest = this.crypto.digest(message.state);
    const digestHex = hex(digest);
    // Vouched for by f+1 other replicas, or by the NEW-VIEW this replica runs (certifiedCheckpointAbove's two sources).
    const vouched =
      bytesEqual(digest, message.stateDigest) &&
      (this.checkpointHolders(message.seq, digestHex) >= this.quorums.weak ||
        (this.newViewCheckpoint?.seq === message.seq && this.newViewCheckpoint.digestHex === digestHex));
    if (!vouched) {
      this.reject("badState");
      return;
    }
    this.installState(message.seq, { digest, digestHex, state: message.state });
  }

  /** isNewViewCheckpoint tells whether (seq, digestHex) is the checkpoint this replica adopted from a NEW-VIEW without its state. */
  private isNewViewCheckpoint(seq: number, digestHex: string): boolean {
    return this.newViewCheckpoint !== undefined && this.newViewCheckpoint.seq === seq && this.newViewCheckpoint.digestHex === digestHex;
  }

  private checkpointHolders(seq: number, digestHex: string): number {
    const holders = new Set<NodeId>();
    for (const [holder, vote] of this.checkpointVotes.get(seq) ?? []) if (holder !== this.id && vote === digestHex) holders.add(holder);
    for (const [holder, latest] of this.latestCheckpoint) if (latest.seq === seq && latest.digestHex === digestHex) holders.add(holder);
    return holders.size;
  }

  /**
   * installState continues from a fetched state. The state becomes the stable
   * checkpoint only if a NEW-VIEW started from it (or 2f+1 CHECKPOINT messages
   * vouch for it); on f+1 vouchers alone it is executed from but the older
   * stable checkpoint stays, with its state, in this replica's VIEW-CHANGEs,
   * so that the next NEW-VIEW can still start from it (issue 21, bug 8).
   */
  private installState(seq: number, checkpoint: OwnCheckpoint): void {
    this.sessions.restore(checkpoint.state);
    this.executedSeq = seq;
    this.fetching = undefined;
    this.ownCheckpoints.set(seq, checkpoint);
    const votes = this.checkpointVotesAt(seq);
    votes.set(this.id, checkpoint.digestHex);
    for (const [holder, latest] of this.latestCheckpoint) if (latest.seq === seq && !votes.has(holder)) votes.set(holder, latest.digestHex);
    if (this.isNewViewCheckpoint(seq, checkpoint.digestHex)) this.advanceStable(seq, checkpoint);
    else this.tryStabilize(seq);
    for (const [slot, request] of this.waiting) if (this.sessions.lastSequence(request.session) >= request.sequence) this.waiting.delete(slot);
    this.broadcast({ type: "checkpoint", seq, stateDigest: checkpoint.digest, replica: this.id, macs: [], signature: noBytes });
    this.stuckTicks = 0;
    this.viewChangeTimerTicks = 0;
    this.execute();
    this.flushReads();
  }

  // ---- View change (PBFT §4.4, TOCS §4.4, liveness §4.5.2) ------------------------------------

  private viewChangeQuorumReached(): boolean {
    let count = 0;
    // A replica asking for a later view has given up on this one too.
    for (const message of this.viewChanges.values()) if (message.newView >= this.view) count++;
    return count >= this.quorums.quorum;
  }

  private viewChangeTimeoutTicks(): number {
    const exponent = Math.min(this.viewChangeAttempts, this.options.viewChangeBackoffExponentMax);
    return this.options.viewChangeTimeoutTicks * 2 ** exponent;
  }

  private startViewChange(newView: number): void {
    assert(newView > this.view, "a view change only moves to a later view");
    this.view = newView;
    this.active = false;
    this.viewChangeAttempts++;
    this.viewChangeTimerTicks = 0;
    this.pending = [];
    this.queued.clear();
    for (const slot of this.slots.values()) slot.current = undefined;
    this.record({ kind: "view", view: newView, active: false });
    const message = this.auth.sealBroadcast(this.buildViewChange(newView));
    this.ownViewChange = message;
    this.viewChanges.set(this.id, message);
    this.broadcastSealed(message);
    this.tryNewView();
  }

  /**
   * buildViewChange describes this replica from its real low watermark h
   * (TOCS §4.4; Castro's thesis §2.3.5): h is the stable checkpoint, or the
   * checkpoint a NEW-VIEW started the view from if its state has not arrived;
   * C holds h (the adopted one with the digest the NEW-VIEW proved) and every
   * checkpoint above it this replica holds; P and Q hold everything it
   * prepared or pre-prepared in (h, h + L], which is every sequence number at
   * which it could have prepared since h became its low watermark.
   *
   * Invariant: a sequence number this replica prepared is either in P or at or
   * below the reported h, so the decision procedure never counts it as one
   * that prepared nothing there (issue 21, bug 3).
   */
  private buildViewChange(newView: number): PbftViewChange {
    const low = this.lowWatermark();
    const held = new Map<number, Uint8Array>();
    for (const [seq, own] of this.ownCheckpoints) if (seq >= low) held.set(seq, own.digest);
    if (this.newViewCheckpoint !== undefined) held.set(this.newViewCheckpoint.seq, this.newViewCheckpoint.digest);
    const checkpoints = [...held.entries()].sort(([a], [b]) => a - b).map(([seq, stateDigest]) => ({ seq, stateDigest }));
    const prepared = [];
    const prePrepared = [];
    for (const slot of [...this.slots.values()].sort((a, b) => a.seq - b.seq)) {
      if (slot.seq <= low || slot.seq > low + this.options.watermarkWindowSeqs) continue;
      if (slot.prepared !== undefined) prepared.push({ seq: slot.seq, view: slot.prepared.view, digest: slot.prepared.digest, requests: slot.prepared.requests });
      for (const ref of slot.prePrepared.values()) prePrepared.push({ seq: slot.seq, view: ref.view, digest: ref.digest });
    }
    return { type: "viewChange", newView, replica: this.id, stableSeq: low, checkpoints, prepared, prePrepared, signature: noBytes };
  }

  private onViewChange(from: NodeId, message: PbftViewChange): void {
    if (!this.wellFormedViewChange(message)) {
      this.reject("badViewChange");
      return;
    }
    assert(!this.viewIsOver(message.newView), "admit answers stale VIEW-CHANGEs");
    const known = this.viewChanges.get(from);
    if (known === undefined || known.newView < message.newView) this.viewChanges.set(from, message);
    this.joinLaterView();
    this.tryNewView();
  }

  /** answerStaleViewChange shows a replica that asks for a view this replica already runs its NEW-VIEW. */
  private answerStaleViewChange(from: NodeId, message: PbftViewChange): void {
    if (this.active && this.lastNewView !== undefined && this.lastNewView.view === message.newView) this.outbox.push({ to: from, message: this.lastNewView });
  }

  /** joinLaterView: with f+1 VIEW-CHANGEs for views above its own, a replica moves to the smallest of them (PBFT §4.5.2). */
  private joinLaterView(): void {
    const later = [...this.viewChanges.values()]
      .filter((m) => m.replica !== this.id && m.newView > this.view)
      .map((m) => m.newView)
      .sort((a, b) => b - a);
    const view = later[this.quorums.weak - 1];
    if (view !== undefined) this.startViewChange(view);
  }

  private wellFormedViewChange(message: PbftViewChange): boolean {
    if (!this.quorums.isReplica(message.replica)) return false;
    const window = this.options.watermarkWindowSeqs;
    let lastSeq = message.stableSeq;
    for (const claim of message.prepared) {
      if (claim.seq <= lastSeq || claim.seq > message.stableSeq + window || claim.view >= message.newView) return false;
      if (!bytesEqual(this.crypto.digest(encodeBatch(claim.requests)), claim.digest)) return false;
      lastSeq = claim.seq;
    }
    for (const claim of message.prePrepared) if (claim.seq <= message.stableSeq || claim.view >= message.newView) return false;
    return message.checkpoints.some((c) => c.seq === message.stableSeq);
  }

  /** alreadyVerified tells whether a VIEW-CHANGE is byte for byte the one this replica holds (and verified) from its sender. */
  private alreadyVerified(message: PbftViewChange): boolean {
    const held = message.replica === this.id ? this.ownViewChange : this.viewChanges.get(message.replica);
    if (held === undefined || held.newView !== message.newView || !bytesEqual(held.signature, message.signature)) return false;
    return bytesEqual(authenticatedBytes(held), authenticatedBytes(message));
  }

  private tryNewView(): void {
    if (this.active || this.quorums.primary(this.view) !== this.id) return;
    const set = [...this.viewChanges.values()].filter((m) => m.newView === this.view).sort((a, b) => a.replica - b.replica);
    if (set.length < this.quorums.quorum) return;
    const decision = decideNewView(set, this.quorums, this.options.watermarkWindowSeqs, this.nullDigest);
    if (decision === undefined) return;
    const newView = this.auth.sealBroadcast<PbftNewView>({
      type: "newView",
      view: this.view,
      replica: this.id,
      viewChanges: set,
      checkpointSeq: decision.checkpointSeq,
      checkpointDigest: decision.checkpointDigest,
      entries: decision.entries,
      signature: noBytes,
    });
    this.broadcastSealed(newView);
    this.installView(newView, decision, set);
  }

  private onNewView(_from: NodeId, received: PbftNewView): void {
    assert(!this.viewIsOver(received.view), "admit ignores NEW-VIEWs for views already over");
    // View changes nested in a NEW-VIEW decode without their `type` tag, which their signatures cover.
    const message: PbftNewView = { ...received, viewChanges: received.viewChanges.map((m) => ({ ...m, type: "viewChange" })) };
    const decision = this.validateNewView(message);
    if (decision === undefined) {
      this.reject("badNewView");
      return;
    }
    if (message.view > this.view) this.record({ kind: "view", view: message.view, active: false });
    this.view = message.view;
    this.installView(message, decision, message.viewChanges);
  }

  /** validateNewView checks a NEW-VIEW as every backup must (PBFT §4.4): 2f+1 signed VIEW-CHANGEs for its view, and the decision they imply. */
  private validateNewView(message: PbftNewView): NewViewDecision | undefined {
    const senders = new Set<NodeId>();
    for (const viewChange of message.viewChanges) {
      if (viewChange.newView !== message.view || senders.has(viewChange.replica)) return undefined;
      if (!this.wellFormedViewChange(viewChange)) return undefined;
      if (!this.alreadyVerified(viewChange) && !this.auth.verifySignature(viewChange.replica, viewChange)) return undefined;
      senders.add(viewChange.replica);
    }
    if (senders.size < this.quorums.quorum) return undefined;
    const decision = decideNewView(message.viewChanges, this.quorums, this.options.watermarkWindowSeqs, this.nullDigest);
    if (decision === undefined || !sameDecision(decision, message)) return undefined;
    return decision;
  }

  private installView(message: PbftNewView, decision: NewViewDecision, viewChanges: readonly PbftViewChange[]): void {
    this.active = true;
    this.lastNewView = message;
    this.viewChangeTimerTicks = 0;
    this.ownViewChange = undefined;
    for (const [replica, viewChange] of this.viewChanges) if (viewChange.newView <= this.view) this.viewChanges.delete(replica);
    this.record({ kind: "view", view: this.view, active: true });
    // What was queued belongs to an earlier view (a replica may reach this one by a NEW-VIEW alone, without
    // startViewChange); every request still waiting is queued again below if it is not re-issued.
    this.pending = [];
    this.queued.clear();
    for (const slot of this.slots.values()) {
      slot.current = undefined;
      for (const view of [...slot.votes.keys()]) if (view < this.view) slot.votes.delete(view);
    }
    this.adoptCheckpoint(decision, viewChanges);
    const low = this.lowWatermark();
    let lastSeq = decision.checkpointSeq;
    for (const entry of decision.entries) {
      lastSeq = Math.max(lastSeq, entry.seq);
      // A re-issued request keeps the sequence number the NEW-VIEW gives it (acceptPrePrepare notes it); one at or
      // below this replica's checkpoint committed there, so it is not ordered again either.
      this.markOrdered(entry.requests);
      if (entry.seq <= low) continue;
      const slot = this.slot(entry.seq);
      const ref: BatchRef = { view: this.view, digest: entry.digest, digestHex: hex(entry.digest), requests: entry.requests };
      assert(
        slot.committed === undefined || slot.committed.digestHex === ref.digestHex,
        () => `replica ${this.id}: NEW-VIEW ${this.view} re-issues seq ${entry.seq} with ${ref.digestHex}, but ${slot.committed?.digestHex} committed there`,
      );
      this.acceptPrePrepare(slot, ref);
      this.sendPrepare(slot, ref);
    }
    this.nextSeq = Math.max(lastSeq, low) + 1;
    // Only requests the NEW-VIEW dropped (or never saw) are ordered anew: the rest already hold a sequence number here.
    if (this.isPrimary()) for (const request of this.waiting.values()) this.enqueue(request);
    this.replayStash();
    for (const slot of this.slots.values()) this.checkPrepared(slot);
    this.execute();
    this.propose();
    this.flushReads();
  }

  /**
   * adoptCheckpoint starts the view from the NEW-VIEW's checkpoint (TOCS
   * §4.4): it becomes this replica's stable checkpoint, or, if the replica has
   * not reached it, its low watermark until the state is fetched, persisted so
   * that a restart reports it too. A checkpoint at or below the low watermark
   * changes nothing: the watermark never moves back.
   */
  private adoptCheckpoint(decision: NewViewDecision, viewChanges: readonly PbftViewChange[]): void {
    const seq = decision.checkpointSeq;
    if (seq <= this.lowWatermark()) return;
    const digestHex = hex(decision.checkpointDigest);
    const own = this.ownCheckpoints.get(seq);
    if (own !== undefined && own.digestHex === digestHex) {
      this.advanceStable(seq, own);
      return;
    }
    const holders = viewChanges
      .filter((m) => m.replica !== this.id && m.checkpoints.some((c) => c.seq === seq && hex(c.stateDigest) === digestHex))
      .map((m) => m.replica);
    this.newViewCheckpoint = { seq, digest: decision.checkpointDigest, digestHex, holders };
    this.record({ kind: "newViewCheckpoint", seq, digest: decision.checkpointDigest });
    this.fetching = undefined;
    this.maybeFetchState(true);
  }

  private replayStash(): void {
    const stashed = this.stash;
    this.stash = [];
    for (const { from, message } of stashed) {
      if (message.view < this.view) continue;
      this.onNormalCase(from, message);
    }
  }

  // ---- Status and retransmission ---------------------------------------------------------------

  private hasWork(): boolean {
    if (!this.active || this.waiting.size > 0 || this.pending.length > 0) return true;
    for (const slot of this.slots.values()) if (slot.seq > this.executedSeq && slot.current !== undefined) return true;
    return this.newViewCheckpointSeq() > this.executedSeq || this.highestSeqSeen > this.executedSeq;
  }

  /** onStatus retransmits to a stuck peer what it lacks: the NEW-VIEW, this replica's VIEW-CHANGE, votes of the current view, or checkpoints. */
  private onStatus(from: NodeId, message: PbftStatus): void {
    if (this.active && this.lastNewView !== undefined && (message.view < this.view || (message.view === this.view && !message.active))) {
      this.outbox.push({ to: from, message: this.lastNewView });
    }
    if (!this.active && message.view === this.view && this.ownViewChange !== undefined) this.outbox.push({ to: from, message: this.ownViewChange });
    // A peer behind this replica's stable checkpoint fetches its state; one that installed that state on f+1 vouchers
    // but holds an older stable checkpoint needs the CHECKPOINTs that make it stable.
    if (message.stableSeq < this.stableSeq) {
      this.sendTo(from, { type: "checkpoint", seq: this.stableSeq, stateDigest: this.stableDigest, replica: this.id, macs: [], signature: noBytes });
    }
    if (!this.active || !message.active || message.view !== this.view) return;
    const high = this.lowWatermark() + this.options.watermarkWindowSeqs;
    for (let seq = Math.max(message.executedSeq, this.lowWatermark()) + 1; seq <= high; seq++) {
      const slot = this.slots.get(seq);
      if (slot === undefined) continue;
      this.retransmitSlot(from, slot);
    }
  }

  private retransmitSlot(to: NodeId, slot: Slot): void {
    const current = slot.current;
    if (current === undefined) return;
    const base = { view: current.view, seq: slot.seq, digest: current.digest, replica: this.id, macs: [], signature: noBytes };
    if (this.isPrimary()) this.sendTo(to, { type: "prePrepare", ...base, requests: current.requests });
    else this.sendTo(to, { type: "prepare", ...base });
    if (slot.prepared !== undefined && slot.prepared.view === current.view) this.sendTo(to, { type: "commit", ...base });
  }

  // ---- Durable state ------------------------------------------------------------------------------

  private record(record: DurableRecord): void {
    if (this.recovering) return;
    this.persist.push(encodeDurableRecord(record));
  }

  /** writeImage replaces everything persisted so far with one snapshot: the stable state and the live records above it. */
  private writeImage(): void {
    const records: DurableRecord[] = [{ kind: "view", view: this.view, active: this.active }];
    const adopted = this.newViewCheckpoint;
    if (adopted !== undefined) records.push({ kind: "newViewCheckpoint", seq: adopted.seq, digest: adopted.digest });
    for (const slot of [...this.slots.values()].sort((a, b) => a.seq - b.seq)) {
      // slot.current is always among slot.prePrepared (see Slot), so this persists it too.
      for (const ref of slot.prePrepared.values()) records.push({ kind: "prePrepared", slot: slotRecord(slot.seq, ref, true) });
      if (slot.prepared !== undefined) records.push({ kind: "prepared", slot: slotRecord(slot.seq, slot.prepared, false) });
      if (slot.committed !== undefined) records.push({ kind: "committed", slot: slotRecord(slot.seq, slot.committed, false) });
    }
    this.image = encodeDurableImage({ stableSeq: this.stableSeq, stableDigest: this.stableDigest, stableState: this.stableState, records });
    this.persist = [];
  }

  private recover(snapshot: Uint8Array | undefined, records: readonly Uint8Array[]): void {
    this.recovering = true;
    const replay: DurableRecord[] = [];
    if (snapshot !== undefined) {
      const image = decodeDurableImage(snapshot);
      if (image.stableSeq > 0) {
        this.sessions.restore(image.stableState);
        this.stableSeq = image.stableSeq;
        this.stableDigest = image.stableDigest;
        this.stableState = image.stableState;
        this.executedSeq = image.stableSeq;
        this.nextSeq = image.stableSeq + 1;
        this.ownCheckpoints.clear();
        this.ownCheckpoints.set(image.stableSeq, { digest: image.stableDigest, digestHex: hex(image.stableDigest), state: image.stableState });
      }
      replay.push(...image.records);
    }
    for (const bytes of records) replay.push(decodeDurableRecord(bytes));
    for (const record of replay) this.replayRecord(record);
    for (const slot of this.slots.values()) {
      if (slot.current !== undefined && slot.current.view !== this.view) slot.current = undefined;
      if (slot.current === undefined) continue;
      if (this.quorums.primary(this.view) === this.id) this.nextSeq = Math.max(this.nextSeq, slot.seq + 1);
      // A restarted primary must not order again a request its log already holds in this view, when the client retransmits it.
      this.markOrdered(slot.current.requests);
    }
    this.execute();
    this.recovering = false;
    this.outbox = [];
    this.persist = [];
    if (!this.active) {
      // Resume the interrupted view change with a fresh VIEW-CHANGE built from what was persisted.
      const message = this.auth.sealBroadcast(this.buildViewChange(this.view));
      this.ownViewChange = message;
      this.viewChanges.set(this.id, message);
      this.broadcastSealed(message);
    }
  }

  private replayRecord(record: DurableRecord): void {
    switch (record.kind) {
      case "view":
        if (record.view > this.view || (record.view === this.view && record.active)) {
          this.view = record.view;
          this.active = record.active;
        }
        return;
      case "prePrepared": {
        if (record.slot.seq <= this.stableSeq) return;
        const slot = this.slot(record.slot.seq);
        const ref = refOf(record.slot);
        const known = slot.prePrepared.get(ref.digestHex);
        if (known === undefined || known.view < ref.view) slot.prePrepared.set(ref.digestHex, ref);
        if (slot.current === undefined || slot.current.view <= ref.view) slot.current = ref;
        return;
      }
      case "newViewCheckpoint":
        if (record.seq > this.lowWatermark()) {
          // Who holds its state is not persisted: after a restart every peer may be asked.
          const holders = this.replicas.filter((replica) => replica !== this.id);
          this.newViewCheckpoint = { seq: record.seq, digest: record.digest, digestHex: hex(record.digest), holders };
          this.nextSeq = Math.max(this.nextSeq, record.seq + 1);
        }
        return;
      case "prepared":
      case "committed": {
        if (record.slot.seq <= this.stableSeq) return;
        const slot = this.slot(record.slot.seq);
        const batch = slot.prePrepared.get(hex(record.slot.digest));
        assert(batch !== undefined, () => `pbft recovery: ${record.kind} record at seq ${record.slot.seq} without its pre-prepared batch`);
        const ref: BatchRef = { ...batch, view: record.slot.view };
        if (record.kind === "prepared") {
          if (slot.prepared === undefined || slot.prepared.view <= ref.view) slot.prepared = ref;
        } else {
          this.markCommitted(slot, ref);
        }
        return;
      }
      default:
        unreachable(record);
    }
  }

  // ---- Helpers ------------------------------------------------------------------------------------

  /** viewIsOver tells whether `view` is one this replica has already started (and runs) or passed: messages that would start it change nothing. */
  private viewIsOver(view: number): boolean {
    return view < this.view || (view === this.view && this.active);
  }

  private isPrimary(): boolean {
    return this.quorums.primary(this.view) === this.id;
  }

  private lowWatermark(): number {
    return Math.max(this.stableSeq, this.newViewCheckpointSeq());
  }

  private inWindow(seq: number): boolean {
    const low = this.lowWatermark();
    return seq > low && seq <= low + this.options.watermarkWindowSeqs;
  }

  private stashMax(): number {
    return 4 * this.replicas.length * this.options.watermarkWindowSeqs;
  }

  private slot(seq: number): Slot {
    let slot = this.slots.get(seq);
    if (slot === undefined) {
      slot = newSlot(seq);
      this.slots.set(seq, slot);
    }
    return slot;
  }

  private broadcast(message: PbftReplicaMessage): void {
    this.broadcastSealed(this.auth.sealBroadcast(message));
  }

  private broadcastSealed(message: PbftReplicaMessage): void {
    for (const replica of this.replicas) if (replica !== this.id) this.outbox.push({ to: replica, message });
  }

  private sendTo(to: NodeId, message: PbftReplicaMessage): void {
    this.outbox.push({ to, message: this.auth.sealUnicast(message, to) });
  }
}

const noBytes = new Uint8Array(0);

/** slotRecord is the durable record of `ref` at `seq`; prepared and committed records name the batch by digest only, since its prePrepared record holds it. */
function slotRecord(seq: number, ref: BatchRef, withRequests: boolean): SlotRecord {
  return { seq, view: ref.view, digest: ref.digest, requests: withRequests ? ref.requests : [] };
}

function refOf(slot: { seq: number; view: number; digest: Uint8Array; requests: readonly PbftRequest[] }): BatchRef {
  return { view: slot.view, digest: slot.digest, digestHex: hex(slot.digest), requests: slot.requests };
}

function hexBytes(digestHex: string): Uint8Array {
  const bytes = new Uint8Array(digestHex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(digestHex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}
