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
  firstClientId,
  parseConfig,
  readLevelOfCode,
  replicaSetSchema,
  unreachable,
} from "@concord/core";
import { type Ballot, ballotEquals, ballotFields, ballotOf, compareBallots, formatBallot, zeroBallot } from "./ballot.ts";
import { ConfigurationHistory, type EffectiveConfiguration } from "./configuration.ts";
import {
  type MultiPaxosAccept,
  type MultiPaxosAccepted,
  type MultiPaxosCatchupRequest,
  type MultiPaxosChosen,
  type Command,
  type MultiPaxosHeartbeatAck,
  type MultiPaxosHeartbeat,
  type MultiPaxosMessage,
  type MultiPaxosRecord,
  type MultiPaxosNack,
  type MultiPaxosPrepare,
  type MultiPaxosPromise,
  type SlotValue,
  type MultiPaxosSnapshotTransfer,
  type Value,
  multiPaxosCodec,
  multiPaxosRecordCodec,
} from "./messages.ts";
import { LeaderLease, LeaseGrant } from "./lease.ts";
import { type MultiPaxosOptions, multiPaxosOptionsSchema } from "./options.ts";
import { quorumReached } from "./quorum.ts";
import { type MultiPaxosMessageRejection, type MultiPaxosRejectionReason, validateMessage } from "./validate.ts";

/** MultiPaxosRole is the role a Multi-Paxos replica plays: a follower, a proposer in phase 1, or the distinguished proposer. */
export type MultiPaxosRole = "follower" | "candidate" | "leader";

/**
 * MultiPaxosCounters count what a replica elected, served and transferred, for
 * tests and reports; what it refused is counted apart, by reason, in
 * {@link MultiPaxosReplica.rejections} as every protocol's replica does.
 */
export interface MultiPaxosCounters {
  /** phase1Started counts the ballots this replica tried to lead. */
  phase1Started: number;
  /** ballotsRefusedForLease counts Prepares, Accepts and Heartbeats of another proposer's higher ballot ignored because a lease granted to another leader may be live. */
  ballotsRefusedForLease: number;
  /** leaseReads counts reads served locally under a leader lease. */
  leaseReads: number;
  /** droppedRequests counts client requests dropped: the leader's queue was full, or a follower knew no leader to name. */
  droppedRequests: number;
  /** snapshotsSent counts state transfers sent to replicas behind this one's compaction point. */
  snapshotsSent: number;
  /** snapshotsInstalled counts state transfers this replica installed. */
  snapshotsInstalled: number;
  /** noopsProposed counts gaps a new leader filled with a no-op (PMS §3). */
  noopsProposed: number;
  /** configurationsApplied counts configuration changes this replica executed. */
  configurationsApplied: number;
}

/** ReconfigureResult says whether a leader took a configuration change, or why not. */
export type ReconfigureResult =
  | {
      /** kind "proposed": the change has a slot of its own and governs from α slots after it once chosen. */
      readonly kind: "proposed";
    }
  | {
      /** kind "rejected": nothing was proposed. */
      readonly kind: "rejected";
      /** reason: this replica does not lead, a change is already under way, or the member list is empty, repeats an id or names a non-replica. */
      readonly reason: "notLeader" | "changePending" | "invalidMembers";
    };

/** AcceptedValue is what an acceptor accepted in one slot: the ballot and the value. */
export interface AcceptedValue {
  /** ballot is the ballot the value was accepted in. */
  readonly ballot: Ballot;
  /** commands is the accepted batch. */
  readonly commands: readonly Command[];
  /** members is the accepted configuration, when the value is a configuration change. */
  readonly members: readonly NodeId[];
}

interface LogEntry {
  acceptedBallot: Ballot | undefined;
  acceptedValue: Value | undefined;
  /** chosen is the slot's chosen value once this replica knows it. */
  chosen: Value | undefined;
}

interface OpenSlot {
  readonly value: Value;
  readonly config: EffectiveConfiguration;
  readonly acks: Set<NodeId>;
  sentTick: number;
}

const neverTick = Number.NEGATIVE_INFINITY;
const noop: Value = { commands: [], members: [] };

/** markChosenIfAcceptedIn marks a slot below a leader's watermark chosen when its acceptance is in that leader's ballot (its proposal is the chosen value). */
function markChosenIfAcceptedIn(entry: LogEntry, ballot: Ballot): void {
  if (entry.chosen === undefined && entry.acceptedBallot !== undefined && ballotEquals(entry.acceptedBallot, ballot)) entry.chosen = entry.acceptedValue;
}

/** sameValue tells whether two slot values are the same, compared as encoded on the wire (every field of every command counts). */
function sameValue(a: Value, b: Value): boolean {
  const x = encodedValue(a);
  const y = encodedValue(b);
  return x.length === y.length && x.every((byte, i) => byte === y[i]);
}

function encodedValue(value: Value): Uint8Array {
  return multiPaxosCodec.encode({ type: "chosen", entries: [{ slot: 1, ballotRound: 0, ballotNode: 0, commands: value.commands, members: value.members }] });
}

/**
 * MultiPaxosReplica is one Multi-Paxos participant, acting as proposer,
 * acceptor and learner at once (Paxos Made Simple §3; Paxos Made Moderately
 * Complex), as a deterministic, I/O-free state machine.
 *
 * - A distinguished proposer runs phase 1 once for every slot above its chosen
 *   watermark, adopts the highest-ballot accepted value per slot and fills the
 *   gaps with no-ops (PMS §3), then runs phase 2 per slot, pipelined within a
 *   window of open slots, batching client commands into one slot.
 * - Acceptor state (promised ballot, accepted ballot and value per slot) is
 *   persisted in the same Ready as the promise or acceptance that reveals it,
 *   so it is synced before the message leaves (Paxos Made Simple §2.5).
 * - Chosen slots are learned from the leader's chosen watermark, piggybacked on
 *   Accept and Heartbeat messages, and executed strictly in slot order; holes
 *   are recovered from peers, or by a snapshot when they were compacted.
 * - The acceptor set changes through the log: a configuration chosen in slot i
 *   governs from slot i + α on, and a leader proposes in a slot only with
 *   promises from a majority of that slot's configuration.
 *
 * Invariant: commitIndex >= appliedIndex >= compactedSlot, and every slot in
 * (compactedSlot, commitIndex] has a chosen value in the log.
 */
export class MultiPaxosReplica implements Replica<MultiPaxosMessage> {
  /** id is this replica's node id. */
  readonly id: NodeId;
  private readonly options: MultiPaxosOptions;
  private readonly rng: Rng;
  private readonly sessions: SessionStateMachine;
  private readonly configs: ConfigurationHistory;
  private readonly rejected = new RejectionCounter<MultiPaxosRejectionReason>();
  private readonly counters: MultiPaxosCounters = {
    phase1Started: 0,
    ballotsRefusedForLease: 0,
    leaseReads: 0,
    droppedRequests: 0,
    snapshotsSent: 0,
    snapshotsInstalled: 0,
    noopsProposed: 0,
    configurationsApplied: 0,
  };

  // Acceptor state (durable).
  private promised: Ballot = zeroBallot;
  private readonly log = new Map<number, LogEntry>();

  // Learner state.
  private compactedSlot = 0;
  private commitIndex = 0;
  private appliedIndex = 0;
  /** chosenHint is the highest chosen watermark heard of; below it, this replica has holes to recover. */
  private chosenHint = 0;
  private catchupDueTick = 0;
  private catchupPeer: NodeId | undefined;
  private strangerCatchupDueTick = 0;

  // Proposer state.
  private role: MultiPaxosRole = "follower";
  private ballot: Ballot = zeroBallot;
  private highestRoundSeen = 0;
  /** leaderBallot is the ballot of the leader this replica last heard from, for redirects. */
  private leaderBallot: Ballot | undefined;
  private now = 0;
  private electionDeadlineTick = 0;
  /** promisedBy lists the acceptors that promised this proposer's ballot (itself included). */
  private readonly promisedBy = new Set<NodeId>();
  private readonly prepareSentTick = new Map<NodeId, number>();
  private phase1FromSlot = 1;
  /** recovered holds, per slot, the highest-ballot value the promises reported (PMMC's pmax). */
  private readonly recovered = new Map<number, SlotValue>();
  /** recoveredLastSlot is the highest slot a promise reported: up to it, gaps are filled with no-ops. */
  private recoveredLastSlot = 0;
  /** promisedCompactedSlot is the highest compaction point a promise reported: every slot through it is chosen. */
  private promisedCompactedSlot = 0;
  private readonly open = new Map<number, OpenSlot>();
  private nextSlot = 1;
  /** requests are the client requests waiting for a slot, and per session the one this leader queued or proposed, so that retries are not proposed twice. */
  private readonly requests: RequestQueue;
  private pendingReconfiguration: readonly NodeId[] | undefined;
  private readonly lastSentTick = new Map<NodeId, number>();
  private readonly lease: LeaderLease;
  private peersCache: { version: number; from: number; peers: readonly NodeId[] } | undefined;

  /** grant is the acceptor side of leases: no promise to another proposer while it lasts. */
  private readonly grant: LeaseGrant;

  /** proposalsDue is set when the leader may have something to propose; ready() proposes, so that a batch can form first. */
  private proposalsDue = false;

  // Output buffers.
  private persist: Uint8Array[] = [];
  /** Slots this leader accepted into `persist`, by ballot: its own vote counts once the runtime has synced them. */
  private ownAcceptances: { slot: number; ballot: Ballot }[] = [];
  /** The own acceptances of each Ready handed out, keyed by its persist list, until advance() reports it synced. */
  private readonly ownAcceptancesOf = new WeakMap<readonly Uint8Array[], { slot: number; ballot: Ballot }[]>();
  private outbox: Outbound<MultiPaxosMessage>[] = [];
  private pendingSnapshot: Uint8Array | undefined;

  constructor(context: ReplicaContext) {
    assert(context.replicas.length > 0, "a cluster needs at least one replica");
    this.id = context.id;
    this.options = parseConfig(multiPaxosOptionsSchema, context.options, "multipaxos");
    this.requests = new RequestQueue(this.options.queuedRequestsMax);
    this.rng = context.rng;
    this.sessions = new SessionStateMachine(context.stateMachine);
    this.configs = new ConfigurationHistory([{ effectiveSlot: 1, members: context.replicas }]);
    const firstBoot = context.durable.snapshot === undefined && context.durable.records.length === 0;
    this.recover(context.durable.snapshot, context.durable.records);
    this.lease = new LeaderLease(this.options.leaseTicks, this.options.clockDriftBoundPercent);
    // A restarted acceptor forgot which lease it granted: it waits one whole lease before promising anyone.
    this.grant = new LeaseGrant(this.options.leaseTicks, !firstBoot);
    const initialLeader = this.configs.at(1).members[0] as NodeId;
    if (firstBoot) this.leaderBallot = { round: 1, node: initialLeader };
    if (firstBoot && initialLeader === this.id) this.becomeInitialLeader();
    else this.resetElectionDeadline();
  }

  /** tick advances the replica's logical clock: a leader heartbeats, retransmits and proposes; a follower may time out and start phase 1. */
  tick(): void {
    this.now++;
    if (this.role === "leader") {
      this.sendHeartbeats();
      this.retransmitOpenSlots();
      this.proposeNext();
    } else if (this.now >= this.electionDeadlineTick) {
      if (this.now < this.grant.activeUntil()) this.electionDeadlineTick = this.grant.activeUntil();
      else this.startPhase1();
    }
    this.requestCatchupIfBehind();
  }

  /** step handles one message from a peer or a client; a message that fails validation is counted and changes nothing. */
  step(from: NodeId, message: MultiPaxosMessage): void {
    const rejection = validateMessage(from, message, this.id, this.configs.knownMembers(), this.options.alphaSlots) ?? this.replyError(message);
    if (rejection !== undefined) {
      this.rejected.count(rejection.reason);
      this.askStrangerForCatchup(from, message);
      return;
    }
    switch (message.type) {
      case "clientRequest":
        return this.onRequest(message);
      case "prepare":
        return this.onPrepare(from, message);
      case "promise":
        return this.onPromise(from, message);
      case "nack":
        return this.onNack(message);
      case "accept":
        return this.onAccept(from, message);
      case "accepted":
        return this.onAccepted(from, message);
      case "heartbeat":
        return this.onHeartbeat(from, message);
      case "heartbeatAck":
        return this.onHeartbeatAck(from, message);
      case "catchupRequest":
        return this.onCatchupRequest(from, message);
      case "chosen":
        return this.onChosen(from, message);
      case "snapshotTransfer":
        return this.onSnapshotTransfer(message);
      case "clientReply":
      case "notLeader":
        // validateMessage refuses replies: only clients receive them.
        return;
      default:
        return unreachable(message);
    }
  }

  /**
   * replyError refuses a reply (Promise, Accepted, HeartbeatAck) that this
   * replica's own history rules out: one for a ballot of its own above its
   * promised ballot (it persists the promise of each ballot it uses before
   * any message of that ballot leaves, so it never used it), or an Accepted
   * in its current ballot for a slot it has not proposed yet.
   */
  private replyError(message: MultiPaxosMessage): MultiPaxosMessageRejection | undefined {
    if (message.type !== "promise" && message.type !== "accepted" && message.type !== "heartbeatAck") return undefined;
    const ballot = ballotOf(message);
    if (compareBallots(ballot, this.promised) > 0) return { reason: "unaskedReply", detail: `${message.type} for ballot ${formatBallot(ballot)}, which this replica never used` };
    if (message.type === "accepted" && ballotEquals(ballot, this.ballot) && message.slot >= this.nextSlot) {
      return { reason: "unaskedReply", detail: `accepted for slot ${message.slot}, which ballot ${formatBallot(ballot)} has not proposed` };
    }
    return undefined;
  }

  /** ready proposes what the leader holds (so that requests stepped together share a slot), then hands out the records to sync, the snapshot and the messages to send after them. */
  ready(): Ready<MultiPaxosMessage> | undefined {
    // Proposals wait for the Ready: commands that arrived in the same instant (the runtime steps them all before
    // asking) share one slot, and so one Accept round, instead of a slot each (batching).
    while (this.proposalsDue) {
      this.proposalsDue = false;
      this.proposeNext();
    }
    if (this.persist.length === 0 && this.outbox.length === 0 && this.pendingSnapshot === undefined) return undefined;
    const ready: Ready<MultiPaxosMessage> = { snapshot: this.pendingSnapshot, persist: this.persist, messages: this.outbox };
    if (this.ownAcceptances.length > 0) this.ownAcceptancesOf.set(this.persist, this.ownAcceptances);
    // Handing the buffers out (rather than clearing them in advance) keeps a step between ready() and advance() from losing output.
    this.persist = [];
    this.outbox = [];
    this.ownAcceptances = [];
    this.pendingSnapshot = undefined;
    return ready;
  }

  /**
   * advance counts the leader's own acceptances that `done` made durable. The
   * leader is one of the acceptors (PMS §2.5: an acceptance is in stable
   * storage before it counts), so with a quorum of one, counting its vote
   * before the sync would choose, and apply, a value that a crash then loses.
   */
  advance(done: Ready<MultiPaxosMessage>): void {
    const synced = this.ownAcceptancesOf.get(done.persist);
    if (synced === undefined) return;
    this.ownAcceptancesOf.delete(done.persist);
    for (const { slot, ballot } of synced) {
      if (this.role !== "leader" || !ballotEquals(ballot, this.ballot)) return;
      this.countAcceptance(this.id, slot);
    }
  }

  /** status reports the role, the ballot round as epoch, the believed leader, the chosen watermark and the applied slot. */
  status(): ReplicaStatus {
    return {
      id: this.id,
      role: this.role,
      epoch: this.role === "follower" ? this.promised.round : this.ballot.round,
      leader: this.role === "leader" ? this.id : this.role === "candidate" ? undefined : this.leaderBallot?.node,
      commitIndex: this.commitIndex,
      appliedIndex: this.appliedIndex,
      durableIndex: this.compactedSlot,
    };
  }

  /** stats returns a copy of the replica's counters. */
  stats(): MultiPaxosCounters {
    return { ...this.counters };
  }

  /** rejections counts the messages this replica refused unapplied, by reason: impossible ballots or slots, non-members, wrong senders. */
  rejections(): Rejections<MultiPaxosRejectionReason> {
    return this.rejected;
  }

  /** promisedBallot is the acceptor's promised ballot (for tests and monitors). */
  promisedBallot(): Ballot {
    return this.promised;
  }

  /** acceptedAt returns what the acceptor accepted in `slot`, if anything (for tests). */
  acceptedAt(slot: number): AcceptedValue | undefined {
    const entry = this.log.get(slot);
    if (entry?.acceptedBallot === undefined || entry.acceptedValue === undefined) return undefined;
    return { ballot: entry.acceptedBallot, ...entry.acceptedValue };
  }

  /** chosenAt returns the chosen batch of `slot` if this replica knows it and has not compacted it (for tests). */
  chosenAt(slot: number): readonly Command[] | undefined {
    return this.log.get(slot)?.chosen?.commands;
  }

  /** chosenValueAt returns the chosen value of `slot` (batch or configuration) if this replica knows it and has not compacted it (for monitors). */
  chosenValueAt(slot: number): Value | undefined {
    return this.log.get(slot)?.chosen;
  }

  /** compactionSlot is the slot through which the log was folded into a snapshot. */
  compactionSlot(): number {
    return this.compactedSlot;
  }

  /** membersAt returns the acceptors that govern `slot`, as far as this replica knows. */
  membersAt(slot: number): readonly NodeId[] {
    return this.configs.at(slot).members;
  }

  /** leaseValid tells whether this replica is a leader holding a lease that is certainly still live. */
  leaseValid(): boolean {
    if (this.role !== "leader" || this.options.leaseTicks === 0) return false;
    // While a configuration change is pending there is no lease: two acceptor sets would both have to grant it.
    if (this.configs.pendingAfter(this.commitIndex + 1)) return false;
    return this.lease.validAt(this.now, this.id, this.configs.at(this.commitIndex + 1));
  }

  /**
   * reconfigure asks the leader to replace the acceptor set with `members`
   * through the log: the change is proposed in a slot of its own and governs
   * from α slots after it. One change at a time.
   */
  reconfigure(members: readonly NodeId[]): ReconfigureResult {
    if (this.role !== "leader") return { kind: "rejected", reason: "notLeader" };
    if (!replicaSetSchema.safeParse(members).success) return { kind: "rejected", reason: "invalidMembers" };
    if (this.pendingReconfiguration !== undefined || this.configs.pendingAfter(this.commitIndex + 1) || this.reconfigurationOpen()) {
      return { kind: "rejected", reason: "changePending" };
    }
    this.pendingReconfiguration = [...members];
    this.scheduleProposals();
    return { kind: "proposed" };
  }

  // ---- Client requests -------------------------------------------------------------------------

  private onRequest(request: ClientRequestMessage): void {
    if (request.readOnly && readLevelOfCode(request.readLevel) === "stale") {
      // A stale read is answered at once from this replica's applied slots, leader or not: no slot, no lease, no
      // message to another replica, so it may miss writes that completed elsewhere.
      this.sendReply(request, this.sessions.query(request.command));
      return;
    }
    if (this.role === "follower") {
      const hint = this.leaderBallot !== undefined && this.leaderBallot.node !== this.id ? this.leaderBallot.node : this.memberToAsk();
      // With no leader to name, an answer would only send the client round the replicas at network speed while the
      // election runs; it retries on its own timeout instead (as etcd-raft drops proposals without a leader).
      if (hint === undefined) this.counters.droppedRequests++;
      else this.sendNotLeader(request.clientId, request.sequence, hint);
      return;
    }
    // Sessions are keyed by the client object's session key, never its id (thesis §6.3; issue 21, bug 7).
    const cached = this.sessions.cachedResult(request);
    if (cached !== undefined) {
      this.sendReply(request, cached);
      return;
    }
    if (request.sequence < this.sessions.lastSequence(request.session)) return; // its client has moved on
    if (this.requests.holds(request)) return; // already queued or proposed
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
   * canServeLeaseRead: a leader may answer a read from its own state while its
   * lease is live (no other leader can have been elected; Paxos Made Live,
   * "Master leases") and once it has applied every slot its phase 1 found, so
   * that every write acknowledged by an earlier leader is in its state. A live
   * lease counts only acceptors that promised this ballot in phase 1
   * (noteLeaseAck), and no lease exists while a configuration change is
   * pending, so phase 1 has then reached a majority of every configuration
   * that can govern a slot at or above the recovered point (issue 21, bug 2).
   */
  private canServeLeaseRead(): boolean {
    return this.leaseValid() && this.appliedIndex >= this.recoveredLastSlot;
  }

  /** sendReply answers a request (or an executed command) at its client's address, naming its session. */
  private sendReply(request: Pick<Command, "clientId" | "session" | "sequence">, result: Uint8Array): void {
    this.send(request.clientId, { type: "clientReply", session: request.session, sequence: request.sequence, result });
  }

  /**
   * memberToAsk names where a client should go when this replica knows no
   * leader and is not a member of the configuration of its first unchosen
   * slot (it was replaced): the lowest member of that configuration. A
   * removed replica hears no heartbeat of the new leader, and a client that
   * knows only the initial replicas would otherwise ask it for ever (a
   * one-replica cluster whose acceptor was replaced by a spare never
   * completed another operation: chaos seed 420 at --nodes 1).
   */
  private memberToAsk(): NodeId | undefined {
    const members = this.configs.at(this.commitIndex + 1).members;
    if (members.includes(this.id)) return undefined;
    return [...members].sort((a, b) => a - b)[0];
  }

  private sendNotLeader(clientId: NodeId, sequence: number, hint: NodeId | undefined): void {
    this.send(clientId, { type: "notLeader", sequence, leaderHint: hint ?? 0, hasLeaderHint: hint !== undefined });
  }

  // ---- Phase 1 ---------------------------------------------------------------------------------

  /**
   * mayLead: only a member of the configuration of the first unchosen slot runs
   * for leader. A leader proposes only in slots whose configuration it belongs
   * to; at the boundary of a configuration without it, it finishes its earlier
   * slots and then steps down, and a member of the new configuration takes over.
   */
  private mayLead(): boolean {
    return this.configs.at(this.commitIndex + 1).memberSet.has(this.id);
  }

  private startPhase1(): void {
    assert(this.role !== "leader", "a leader does not time out");
    this.resetElectionDeadline();
    if (!this.mayLead()) {
      // Not a member by this replica's view, and no leader heard: the view may be stale (a reconfiguration it missed),
      // so it asks a random replica it knows for the chosen values past its watermark.
      if (this.role === "candidate") this.becomeFollower(undefined);
      this.askRandomPeerForCatchup();
      return;
    }
    this.becomeCandidate();
    const targets = this.configs.membersBetween(this.phase1FromSlot, this.commitIndex + this.options.alphaSlots);
    for (const target of targets) if (target !== this.id) this.sendPrepare(target);
    if (this.hasPromiseQuorum(this.configs.at(this.phase1FromSlot))) this.becomeLeader();
  }

  private sendPrepare(to: NodeId): void {
    this.prepareSentTick.set(to, this.now);
    this.send(to, { type: "prepare", ...ballotFields(this.ballot), fromSlot: this.phase1FromSlot });
  }

  private onPrepare(from: NodeId, message: MultiPaxosPrepare): void {
    const ballot = ballotOf(message);
    this.noteRound(ballot);
    if (this.refusedForLease(ballot)) return;
    if (compareBallots(ballot, this.promised) < 0) {
      this.send(from, { type: "nack", ...ballotFields(this.promised) });
      return;
    }
    if (this.role !== "follower" && compareBallots(ballot, this.ballot) > 0) this.becomeFollower(undefined);
    this.promise(ballot);
    this.resetElectionDeadline();
    this.send(from, this.buildPromise(ballot, message.fromSlot));
  }

  /** buildPromise is phase 1b: every value accepted from `fromSlot` on, with the compaction point (PMS §2.2). */
  private buildPromise(ballot: Ballot, fromSlot: number): MultiPaxosPromise {
    const accepted: SlotValue[] = [];
    for (const [slot, entry] of this.log) {
      if (slot < fromSlot || entry.acceptedBallot === undefined || entry.acceptedValue === undefined) continue;
      accepted.push({ slot, ...ballotFields(entry.acceptedBallot), ...entry.acceptedValue });
    }
    accepted.sort((a, b) => a.slot - b.slot);
    return { type: "promise", ...ballotFields(ballot), fromSlot, compactedSlot: this.compactedSlot, accepted };
  }

  private onPromise(from: NodeId, message: MultiPaxosPromise): void {
    if (this.role === "follower" || !ballotEquals(ballotOf(message), this.ballot) || this.promisedBy.has(from)) return;
    this.mergePromise(from, message);
    if (this.role === "candidate") {
      if (this.hasPromiseQuorum(this.configs.at(this.phase1FromSlot))) this.becomeLeader();
    } else {
      this.scheduleProposals();
    }
  }

  /**
   * mergePromise folds one promise into what phase 1 found: per slot the value
   * accepted in the highest ballot (PMS §2.2, P2c; PMMC, pmax), the highest
   * slot reported, and the highest compaction point (slots through it are
   * chosen: they are recovered by snapshot, never re-proposed).
   */
  private mergePromise(from: NodeId, promise: MultiPaxosPromise): void {
    this.promisedBy.add(from);
    if (promise.compactedSlot > this.commitIndex && promise.compactedSlot > this.chosenHint) {
      this.chosenHint = promise.compactedSlot;
      this.catchupPeer = from;
      this.catchupDueTick = this.now;
    }
    if (promise.compactedSlot > this.recoveredLastSlot) this.recoveredLastSlot = promise.compactedSlot;
    if (promise.compactedSlot > this.promisedCompactedSlot) this.promisedCompactedSlot = promise.compactedSlot;
    for (const value of promise.accepted) {
      const known = this.recovered.get(value.slot);
      if (known === undefined || compareBallots(ballotOf(value), ballotOf(known)) > 0) this.recovered.set(value.slot, value);
      if (value.slot > this.recoveredLastSlot) this.recoveredLastSlot = value.slot;
    }
  }

  private hasPromiseQuorum(config: EffectiveConfiguration): boolean {
    return quorumReached(config.members, config.quorum, this.promisedBy);
  }

  private onNack(message: MultiPaxosNack): void {
    const ballot = ballotOf(message);
    this.noteRound(ballot);
    if (this.role === "follower" || compareBallots(ballot, this.ballot) <= 0) return;
    // Preempted (PMMC): yield to the higher ballot and wait a randomized timeout before trying again,
    // so that two proposers do not keep outbidding each other.
    this.becomeFollower(ballot.node);
  }

  // ---- Role changes ----------------------------------------------------------------------------
  //
  // The role changes only here, and each becomeX asserts that the change is legal (as etcd-io/raft's do):
  //   follower  -> candidate   (a failure-detector timeout: phase 1 starts)
  //   candidate -> candidate   (phase 1 retried with a higher ballot)
  //   candidate -> leader      (a majority of the first unchosen slot's configuration promised)
  //   candidate -> follower    (preempted, or no longer a member)
  //   leader    -> follower    (preempted, outvoted in a slot, or leaving the configuration)
  //   follower  -> leader      only on the first boot of the initial leader, whose ballot needs no phase 1.

  /**
   * becomeCandidate starts phase 1 with a ballot above every round this
   * replica has seen, promising it to itself (PMS §2.2, §3). A candidate
   * retrying keeps its queued requests for the ballot it tries next.
   */
  private becomeCandidate(): void {
    assert(this.role !== "leader", "invalid transition: leader -> candidate (a leader does not time out)");
    this.role = "candidate";
    this.counters.phase1Started++;
    const round = Math.max(this.promised.round, this.highestRoundSeen) + 1;
    this.ballot = { round, node: this.id };
    this.highestRoundSeen = round;
    this.promise(this.ballot);
    this.leaderBallot = undefined;
    this.phase1FromSlot = this.commitIndex + 1;
    this.promisedBy.clear();
    this.prepareSentTick.clear();
    this.recovered.clear();
    this.recoveredLastSlot = 0;
    this.promisedCompactedSlot = 0;
    this.mergePromise(this.id, this.buildPromise(this.ballot, this.phase1FromSlot));
  }

  /**
   * becomeLeader ends phase 1 for the first slot's configuration. From here the
   * leader walks the slots in order (proposeNext): up to the highest slot phase
   * 1 found it re-proposes the recovered value, or a no-op where no promiser
   * accepted anything (PMS §3); past it, client commands.
   */
  private becomeLeader(): void {
    assert(this.role === "candidate", () => `invalid transition: ${this.role} -> leader (only phase 1 elects)`);
    this.role = "leader";
    this.leaderBallot = this.ballot;
    this.open.clear();
    this.lastSentTick.clear();
    this.lease.reset();
    this.nextSlot = this.commitIndex + 1;
    this.sendHeartbeats();
    this.requestCatchupIfBehind();
    this.scheduleProposals();
  }

  /**
   * becomeInitialLeader makes the initial configuration's lowest id leader on
   * its first boot. The ballot (1, lowest id) is the smallest any proposer
   * uses, so no acceptor can have accepted a lower one: phase 1 for it is
   * vacuous and the first leader skips it.
   */
  private becomeInitialLeader(): void {
    assert(this.role === "follower" && ballotEquals(this.promised, zeroBallot), "invalid transition: only a replica on its first boot skips phase 1");
    this.role = "leader";
    this.ballot = { round: 1, node: this.id };
    this.highestRoundSeen = 1;
    this.promise(this.ballot);
    this.leaderBallot = this.ballot;
    this.promisedBy.clear();
    for (const member of this.configs.at(1).members) this.promisedBy.add(member);
    this.phase1FromSlot = 1;
    this.nextSlot = this.commitIndex + 1;
    this.recoveredLastSlot = this.commitIndex;
  }

  /**
   * becomeFollower leaves the proposer roles, telling waiting clients where to
   * go (to `hint`, the preempting proposer, when known). Every caller checks
   * that this replica proposes: a follower has nothing to step down from.
   */
  private becomeFollower(hint: NodeId | undefined): void {
    assert(this.role !== "follower", "invalid transition: follower -> follower");
    this.role = "follower";
    this.leaderBallot = undefined;
    this.promisedBy.clear();
    this.recovered.clear();
    this.pendingReconfiguration = undefined;
    const waiting: Command[] = this.requests.clear();
    for (const slot of this.open.values()) waiting.push(...slot.value.commands);
    this.open.clear();
    const redirect = hint !== undefined && hint !== this.id ? hint : undefined;
    for (const command of waiting) this.sendNotLeader(command.clientId, command.sequence, redirect);
    this.resetElectionDeadline();
  }

  // ---- Phase 2 ---------------------------------------------------------------------------------

  /** scheduleProposals defers proposing to the next ready(), so that commands stepped together share a slot. */
  private scheduleProposals(): void {
    this.proposalsDue = true;
  }

  /**
   * proposeNext fills slots in order while the window has room. A slot needs
   * its configuration known (at most α past the watermark) and promises from a
   * majority of it; a missing majority is asked for with Prepares and the walk
   * waits. Slots up to the highest one phase 1 found get the recovered value or
   * a no-op; later slots get a pending reconfiguration or a batch of commands.
   */
  private proposeNext(): void {
    while (this.role === "leader" && this.open.size < this.options.windowSlots) {
      // Slots at or below the watermark are chosen (learned from peers or a snapshot meanwhile): never proposed again.
      if (this.nextSlot <= this.commitIndex) this.nextSlot = this.commitIndex + 1;
      const slot = this.nextSlot;
      if (slot > this.commitIndex + this.options.alphaSlots) return;
      const config = this.configs.at(slot);
      if (!config.memberSet.has(this.id)) {
        // Not in this slot's acceptor set: once every earlier slot is chosen, hand over to a member by stepping down.
        if (slot === this.commitIndex + 1) this.becomeFollower(undefined);
        return;
      }
      if (!this.hasPromiseQuorum(config)) {
        this.askForPromises(config);
        return;
      }
      if (slot <= this.compactedSlot || slot <= this.promisedCompactedSlot || this.log.get(slot)?.chosen !== undefined) {
        // Known chosen, or folded into a promiser's snapshot (hence chosen): recovered by catch-up, never re-proposed.
        this.recovered.delete(slot);
        this.nextSlot++;
        continue;
      }
      const value = this.nextValue(slot);
      if (value === undefined) return;
      this.nextSlot++;
      this.propose(slot, config, value);
    }
  }

  private nextValue(slot: number): Value | undefined {
    if (slot <= this.recoveredLastSlot) {
      const found = this.recovered.get(slot);
      this.recovered.delete(slot);
      if (found !== undefined) return { commands: found.commands, members: found.members };
      this.counters.noopsProposed++;
      return noop;
    }
    if (this.pendingReconfiguration !== undefined) {
      const members = this.pendingReconfiguration;
      this.pendingReconfiguration = undefined;
      return { commands: [], members };
    }
    if (this.requests.length === 0) return undefined;
    return { commands: this.requests.take(this.options.batchCommandsMax), members: [] };
  }

  private askForPromises(config: EffectiveConfiguration): void {
    for (const member of config.members) {
      if (member === this.id || this.promisedBy.has(member)) continue;
      if (this.now - (this.prepareSentTick.get(member) ?? neverTick) < this.options.retransmitTicks) continue;
      this.sendPrepare(member);
    }
  }

  /** propose runs phase 2 for `slot` in `config`, which includes this leader: it accepts the value itself and asks the other members. */
  private propose(slot: number, config: EffectiveConfiguration, value: Value): void {
    assert(this.role === "leader", "only the leader proposes");
    assert(slot > this.compactedSlot, () => `proposal at compacted slot ${slot}`);
    this.acceptLocally(slot, this.ballot, value);
    // Its own vote counts in advance(), once the acceptance is synced.
    this.ownAcceptances.push({ slot, ballot: this.ballot });
    this.open.set(slot, { value, config, acks: new Set(), sentTick: this.now });
    for (const member of config.members) if (member !== this.id) this.sendAccept(member, slot, value);
  }

  private sendAccept(peer: NodeId, slot: number, value: Value): void {
    this.lastSentTick.set(peer, this.now);
    this.send(peer, {
      type: "accept",
      ...ballotFields(this.ballot),
      slot,
      commands: value.commands,
      members: value.members,
      chosenWatermark: this.commitIndex,
      leaseTick: this.now,
    });
  }

  private onAccept(from: NodeId, message: MultiPaxosAccept): void {
    const ballot = ballotOf(message);
    if (!this.admitLeaderMessage(from, ballot, message.chosenWatermark)) return;
    this.follow(ballot);
    if (message.slot > this.compactedSlot) this.acceptLocally(message.slot, ballot, { commands: message.commands, members: message.members });
    this.send(from, { type: "accepted", ...ballotFields(ballot), slot: message.slot, leaseTick: message.leaseTick });
    this.learnWatermark(ballot, message.chosenWatermark);
  }

  /** acceptLocally is the acceptor's phase 2b: record and persist the acceptance (PMS §2.5: in stable storage before the reply leaves). */
  private acceptLocally(slot: number, ballot: Ballot, value: Value): void {
    assert(compareBallots(ballot, this.promised) >= 0, "acceptance below the promised ballot");
    this.promised = ballot;
    const entry = this.entry(slot);
    if (entry.acceptedBallot !== undefined && ballotEquals(entry.acceptedBallot, ballot)) return; // a retransmission
    entry.acceptedBallot = ballot;
    entry.acceptedValue = value;
    this.persist.push(multiPaxosRecordCodec.encode({ type: "acceptance", slot, ...ballotFields(ballot), ...value }));
  }

  private onAccepted(from: NodeId, message: MultiPaxosAccepted): void {
    if (this.role !== "leader" || !ballotEquals(ballotOf(message), this.ballot)) return;
    this.noteLeaseAck(from, message.leaseTick);
    this.countAcceptance(from, message.slot);
  }

  /** countAcceptance adds a member's durable acceptance of an open slot, and chooses the slot on a quorum. */
  private countAcceptance(from: NodeId, slot: number): void {
    const proposal = this.open.get(slot);
    if (proposal === undefined || !proposal.config.memberSet.has(from)) return;
    proposal.acks.add(from);
    if (quorumReached(proposal.config.members, proposal.config.quorum, proposal.acks)) this.choose(slot, proposal.value);
  }

  private choose(slot: number, value: Value): void {
    this.open.delete(slot);
    const entry = this.entry(slot);
    if (entry.chosen === undefined) entry.chosen = value;
    this.advanceCommit();
    this.scheduleProposals();
  }

  /**
   * closeChosenOpenSlots drops open proposals that the watermark passed (learned
   * from a peer or a snapshot rather than from acceptances): they need no more
   * retransmission. The open map is in slot order, since slots are proposed in
   * increasing order.
   */
  private closeChosenOpenSlots(): void {
    for (const [slot, proposal] of this.open) {
      if (slot > this.commitIndex) break;
      this.open.delete(slot);
      this.forgetInflight(proposal.value.commands);
    }
  }

  private forgetInflight(commands: readonly Command[]): void {
    for (const command of commands) this.requests.settle(command);
  }

  private reconfigurationOpen(): boolean {
    for (const proposal of this.open.values()) if (proposal.value.members.length > 0) return true;
    for (let slot = this.appliedIndex + 1; slot <= this.commitIndex; slot++) {
      if ((this.log.get(slot)?.chosen?.members.length ?? 0) > 0) return true;
    }
    return false;
  }

  private retransmitOpenSlots(): void {
    for (const [slot, proposal] of this.open) {
      if (this.now - proposal.sentTick < this.options.retransmitTicks) continue;
      proposal.sentTick = this.now;
      for (const member of proposal.config.members) if (member !== this.id && !proposal.acks.has(member)) this.sendAccept(member, slot, proposal.value);
    }
  }

  // ---- Heartbeats, failure detection and leases -----------------------------------------------

  /** activePeers are the other members of every configuration the leader may propose in now. */
  private activePeers(): readonly NodeId[] {
    const from = this.commitIndex + 1;
    const cache = this.peersCache;
    const single = !this.configs.pendingAfter(from);
    if (cache !== undefined && cache.version === this.configs.version && (single || cache.from === from)) return cache.peers;
    const peers = this.configs.membersBetween(from, from + this.options.alphaSlots - 1).filter((member) => member !== this.id);
    this.peersCache = { version: this.configs.version, from, peers };
    return peers;
  }

  private sendHeartbeats(): void {
    for (const peer of this.activePeers()) {
      if (this.now - (this.lastSentTick.get(peer) ?? neverTick) < this.options.heartbeatTicks) continue;
      this.lastSentTick.set(peer, this.now);
      this.send(peer, { type: "heartbeat", ...ballotFields(this.ballot), chosenWatermark: this.commitIndex, leaseTick: this.now });
    }
  }

  private onHeartbeat(from: NodeId, message: MultiPaxosHeartbeat): void {
    const ballot = ballotOf(message);
    if (!this.admitLeaderMessage(from, ballot, message.chosenWatermark)) return;
    if (compareBallots(ballot, this.promised) > 0) this.promise(ballot);
    this.follow(ballot);
    if (this.options.leaseTicks > 0) this.send(from, { type: "heartbeatAck", ...ballotFields(ballot), leaseTick: message.leaseTick });
    this.learnWatermark(ballot, message.chosenWatermark);
  }

  /**
   * admitLeaderMessage notes what an Accept or Heartbeat tells whatever its
   * ballot (the round, and the chosen watermark as a catch-up target), and
   * answers one below the promised ballot with a Nack (PMMC: the sender is
   * preempted). It tells whether the message is to be acted on.
   */
  private admitLeaderMessage(from: NodeId, ballot: Ballot, chosenWatermark: number): boolean {
    this.noteRound(ballot);
    this.noteChosenHint(from, chosenWatermark);
    if (this.refusedForLease(ballot)) return false;
    if (compareBallots(ballot, this.promised) >= 0) return true;
    this.send(from, { type: "nack", ...ballotFields(this.promised) });
    return false;
  }

  private onHeartbeatAck(from: NodeId, message: MultiPaxosHeartbeatAck): void {
    if (this.role !== "leader" || !ballotEquals(ballotOf(message), this.ballot)) return;
    this.noteLeaseAck(from, message.leaseTick);
  }

  /**
   * noteLeaseAck counts an acknowledgement towards the lease only from an
   * acceptor that promised this ballot in phase 1, that is, one that reported
   * its accepted values to this leader. An acceptor that took the ballot from a
   * Heartbeat or an Accept promised nothing about what it accepted before; a
   * lease counted on it could stand in a configuration where phase 1 never
   * reached a majority, and a read would miss what that configuration chose.
   *
   * Invariant: a lease is live in a configuration only when a majority of it
   * promised this ballot (PML, "Master leases": the lease comes with winning
   * the election; PMS §2.2: a majority's promises report every value chosen).
   */
  private noteLeaseAck(from: NodeId, leaseTick: number): void {
    if (this.promisedBy.has(from)) this.lease.noteAck(from, leaseTick, this.now);
  }

  /**
   * refusedForLease: an acceptor that granted a lease to one leader takes no
   * higher ballot of another proposer while the grant may be live, whatever
   * message carries it (a Prepare, or the Accept or Heartbeat of a leader that
   * won phase 1 elsewhere): a promise is a promise, and once this acceptor
   * followed the new ballot it would also answer that proposer's Prepares,
   * letting it choose values while the first leader still serves reads (PML,
   * "Master leases"). The message is ignored, not refused with a Nack: its
   * sender may be a legitimate leader, which this acceptor follows once the
   * grant has run out.
   */
  private refusedForLease(ballot: Ballot): boolean {
    if (compareBallots(ballot, this.promised) <= 0 || !this.grant.refuses(ballot.node, this.now)) return false;
    this.counters.ballotsRefusedForLease++;
    return true;
  }

  /** follow accepts `ballot`'s proposer as leader: it resets the failure detector and grants the lease. */
  private follow(ballot: Ballot): void {
    if (this.role !== "follower" && compareBallots(ballot, this.ballot) > 0) this.becomeFollower(ballot.node);
    this.leaderBallot = ballot;
    if (this.role === "follower") this.resetElectionDeadline();
    if (ballot.node !== this.id) this.grant.grant(ballot.node, this.now);
  }

  private resetElectionDeadline(): void {
    const base = this.options.electionTimeoutTicks;
    this.electionDeadlineTick = this.now + this.rng.nextIntBetween(base, 2 * base - 1);
  }

  private noteRound(ballot: Ballot): void {
    if (ballot.round > this.highestRoundSeen) this.highestRoundSeen = ballot.round;
  }

  private promise(ballot: Ballot): void {
    if (compareBallots(ballot, this.promised) === 0) return;
    assert(compareBallots(ballot, this.promised) > 0, "a promise never goes back");
    this.promised = ballot;
    this.persist.push(multiPaxosRecordCodec.encode({ type: "promise", ...ballotFields(ballot) }));
  }

  // ---- Learning, execution and catch-up ------------------------------------------------------

  /**
   * learnWatermark marks slots chosen from a leader's watermark: every slot up
   * to it is chosen, and a slot this acceptor accepted in the leader's own
   * ballot holds the leader's proposal, which is the chosen value (a leader
   * that learns otherwise from a peer steps down before sending a watermark
   * past that slot: contradictsOwnProposal).
   */
  private learnWatermark(ballot: Ballot, watermark: number): void {
    if (watermark <= this.commitIndex) return;
    // Walk whichever is shorter: the slots up to the watermark, or the log.
    if (watermark - this.commitIndex <= this.log.size) {
      for (let slot = this.commitIndex + 1; slot <= watermark; slot++) {
        const entry = this.log.get(slot);
        if (entry !== undefined) markChosenIfAcceptedIn(entry, ballot);
      }
    } else {
      for (const [slot, entry] of this.log) if (slot > this.commitIndex && slot <= watermark) markChosenIfAcceptedIn(entry, ballot);
    }
    this.advanceCommit();
  }

  /**
   * noteChosenHint records that `from` knows every slot through `watermark` is
   * chosen. That is a fact whatever the ballot of the message carrying it, so a
   * replica learns it even from a leader it refuses: the holes below it are
   * then recovered by catch-up, from `from` first.
   */
  private noteChosenHint(from: NodeId, watermark: number): void {
    if (watermark <= this.chosenHint) return;
    this.chosenHint = watermark;
    if (watermark > this.commitIndex) this.catchupPeer = from;
  }

  private advanceCommit(): void {
    while (this.log.get(this.commitIndex + 1)?.chosen !== undefined) this.commitIndex++;
    this.closeChosenOpenSlots();
    if (this.commitIndex > this.chosenHint) this.chosenHint = this.commitIndex;
    this.applyChosen();
  }

  /** applyChosen executes chosen slots strictly in slot order, through the session table (exactly once). */
  private applyChosen(): void {
    while (this.appliedIndex < this.commitIndex) {
      const slot = this.appliedIndex + 1;
      const value = this.log.get(slot)?.chosen;
      assert(value !== undefined, () => `slot ${slot} below the watermark has no chosen value`);
      if (value.members.length > 0) {
        // PMS §3: the configuration chosen in slot i governs from slot i + α on.
        this.configs.add(slot + this.options.alphaSlots, value.members);
        this.counters.configurationsApplied++;
      }
      for (const command of value.commands) {
        const execution = this.sessions.execute(command);
        this.requests.settle(command);
        if (this.role !== "leader" || execution.kind === "stale") continue;
        this.sendReply(command, execution.result);
      }
      this.appliedIndex = slot;
    }
    this.configs.prune(this.appliedIndex + 1);
    this.maybeCompact();
  }

  private requestCatchupIfBehind(): void {
    if (this.commitIndex >= this.chosenHint || this.now < this.catchupDueTick) return;
    const peer = this.chooseCatchupPeer();
    if (peer === undefined) return;
    this.catchupDueTick = this.now + this.options.catchupRetryTicks;
    this.send(peer, { type: "catchupRequest", fromSlot: this.commitIndex + 1 });
  }

  /**
   * askStrangerForCatchup: a proposer this replica does not know as a member
   * may lead a configuration it has not learned yet. Its message is refused,
   * but the replica asks it for the chosen values it may be missing (at most
   * once per catchupRetryTicks), so that a replica behind a reconfiguration
   * can learn its way back.
   */
  private askStrangerForCatchup(from: NodeId, message: MultiPaxosMessage): void {
    if (message.type !== "prepare" && message.type !== "accept" && message.type !== "heartbeat") return;
    if (from >= firstClientId || this.configs.knownMembers().has(from) || this.now < this.strangerCatchupDueTick) return;
    this.strangerCatchupDueTick = this.now + this.options.catchupRetryTicks;
    this.send(from, { type: "catchupRequest", fromSlot: this.commitIndex + 1 });
    // Either side may be the one behind: the stranger's own watermark says what it lacks.
    const strangerWatermark = message.type === "prepare" ? message.fromSlot - 1 : message.chosenWatermark;
    if (strangerWatermark < this.commitIndex) this.onCatchupRequest(from, { type: "catchupRequest", fromSlot: strangerWatermark + 1 });
  }

  private askRandomPeerForCatchup(): void {
    const peer = this.randomKnownPeer();
    if (peer !== undefined) this.send(peer, { type: "catchupRequest", fromSlot: this.commitIndex + 1 });
  }

  private chooseCatchupPeer(): NodeId | undefined {
    const preferred = this.catchupPeer ?? (this.role === "follower" ? this.leaderBallot?.node : undefined);
    this.catchupPeer = undefined;
    if (preferred !== undefined && preferred !== this.id && this.rng.chance(3, 4)) return preferred;
    // Any member of any known configuration may hold the missing slots (or a snapshot past them).
    return this.randomKnownPeer() ?? (preferred !== this.id ? preferred : undefined);
  }

  /** randomKnownPeer picks another member of any known configuration, in id order so that the draw is deterministic. */
  private randomKnownPeer(): NodeId | undefined {
    const peers = [...this.configs.knownMembers()].filter((member) => member !== this.id).sort((a, b) => a - b);
    return peers.length === 0 ? undefined : peers[this.rng.nextInt(peers.length)];
  }

  private onCatchupRequest(from: NodeId, message: MultiPaxosCatchupRequest): void {
    if (message.fromSlot <= this.compactedSlot) {
      // The hole was compacted away here: transfer the whole state instead.
      this.counters.snapshotsSent++;
      this.send(from, { type: "snapshotTransfer", slot: this.appliedIndex, state: this.sessions.snapshot(), configs: this.configs.list() });
      return;
    }
    const entries: SlotValue[] = [];
    const last = Math.min(this.commitIndex, message.fromSlot + this.options.catchupSlotsMax - 1);
    for (let slot = message.fromSlot; slot <= last; slot++) {
      const chosen = this.log.get(slot)?.chosen;
      assert(chosen !== undefined, () => `slot ${slot} below the watermark has no chosen value`);
      entries.push({ slot, ballotRound: 0, ballotNode: 0, ...chosen });
    }
    if (entries.length > 0) this.send(from, { type: "chosen", entries });
  }

  private onChosen(from: NodeId, message: MultiPaxosChosen): void {
    const before = this.commitIndex;
    for (const value of message.entries) {
      if (value.slot <= this.commitIndex) continue;
      const chosen = { commands: value.commands, members: value.members };
      if (this.contradictsOwnProposal(value.slot, chosen)) this.becomeFollower(undefined);
      const entry = this.entry(value.slot);
      if (entry.chosen === undefined) entry.chosen = chosen;
    }
    this.catchupDueTick = this.now; // more may be missing: ask again on the next tick
    this.advanceCommit();
    // A replica that is not a member by its own view hears no leader's heartbeat, so no watermark tells it how far
    // behind it is: while each answer is a full one (catchupSlotsMax entries) that moved it on, it asks the same peer
    // for the next. Otherwise a spare that became the only acceptor, far behind, learned one batch per election
    // timeout and could stay behind its own configuration for ever (chaos seed 1277 at --nodes 1).
    if (this.commitIndex > before && message.entries.length >= this.options.catchupSlotsMax && this.role === "follower" && !this.mayLead()) {
      this.send(from, { type: "catchupRequest", fromSlot: this.commitIndex + 1 });
    }
  }

  private onSnapshotTransfer(message: MultiPaxosSnapshotTransfer): void {
    if (message.slot <= this.appliedIndex) return;
    // The snapshot does not say what was chosen in the slots it covers, so an open proposal of this leader's there may have lost.
    for (const slot of this.open.keys()) {
      if (slot > message.slot || !this.contradictsOwnProposal(slot, undefined)) continue;
      this.becomeFollower(undefined);
      break;
    }
    this.counters.snapshotsInstalled++;
    this.sessions.restore(message.state);
    this.configs.replace(message.configs);
    this.appliedIndex = message.slot;
    this.commitIndex = Math.max(this.commitIndex, message.slot);
    if (this.role === "leader" && this.nextSlot <= message.slot) this.nextSlot = message.slot + 1;
    this.compactTo(message.slot, message.state);
    this.advanceCommit();
    this.catchupDueTick = this.now;
    this.scheduleProposals();
  }

  /**
   * contradictsOwnProposal tells whether a leader, learning from a peer that
   * `slot` is chosen with `chosen` (undefined: a value inside a snapshot, which
   * it cannot see, unless it learned it before), may have had its own proposal
   * there lose: it accepted another value there in its current ballot. Then a
   * higher ballot chose in that slot (a value chosen in a lower ballot is the
   * one phase 1 made it propose, PMS §2.2), so the leader is preempted and
   * must step down before its watermark passes the slot, since its acceptors
   * mark their acceptances in its ballot chosen from that watermark
   * (learnWatermark; PMMC's decisions carry the command instead).
   *
   * Invariant: below a leader's watermark, every acceptance in its ballot
   * holds the value chosen in that slot.
   */
  private contradictsOwnProposal(slot: number, chosen: Value | undefined): boolean {
    if (this.role !== "leader") return false;
    const entry = this.log.get(slot);
    if (entry?.acceptedBallot === undefined || entry.acceptedValue === undefined || !ballotEquals(entry.acceptedBallot, this.ballot)) return false;
    const known = chosen ?? entry.chosen;
    return known === undefined || !sameValue(entry.acceptedValue, known);
  }

  private maybeCompact(): void {
    if (this.appliedIndex - this.compactedSlot < this.options.snapshotEveryEntries) return;
    this.compactTo(this.appliedIndex, this.sessions.snapshot());
  }

  /** compactTo folds every slot through `slot` into a snapshot that also keeps the acceptor state above it. */
  private compactTo(slot: number, state: Uint8Array): void {
    assert(slot <= this.appliedIndex, "compaction beyond the applied slot");
    this.compactedSlot = slot;
    const accepted: SlotValue[] = [];
    for (const [entrySlot, entry] of this.log) {
      if (entrySlot <= slot) {
        this.log.delete(entrySlot);
        continue;
      }
      if (entry.acceptedBallot !== undefined && entry.acceptedValue !== undefined) {
        accepted.push({ slot: entrySlot, ...ballotFields(entry.acceptedBallot), ...entry.acceptedValue });
      }
    }
    this.pendingSnapshot = multiPaxosRecordCodec.encode({
      type: "snapshot",
      slot,
      state,
      ...ballotFields(this.promised),
      accepted,
      configs: this.configs.list(),
    });
  }

  // ---- Recovery --------------------------------------------------------------------------------

  /**
   * recover rebuilds the acceptor state from the snapshot and the records after
   * it. Records are applied monotonically (a promise only raises the promised
   * ballot, an acceptance only replaces a lower-ballot one), so their order
   * relative to a snapshot never matters. Chosen-ness is not durable: it is
   * learned again from the leader and peers.
   */
  private recover(snapshot: Uint8Array | undefined, records: readonly Uint8Array[]): void {
    if (snapshot !== undefined) {
      const decoded = multiPaxosRecordCodec.decode(snapshot);
      assert(decoded.type === "snapshot", () => `multipaxos snapshot holds a ${decoded.type} record`);
      this.sessions.restore(decoded.state);
      this.configs.replace(decoded.configs);
      this.compactedSlot = decoded.slot;
      this.commitIndex = decoded.slot;
      this.appliedIndex = decoded.slot;
      this.recoverPromise(ballotOf(decoded));
      for (const value of decoded.accepted) this.recoverAcceptance(value.slot, ballotOf(value), value);
    }
    for (const bytes of records) this.recoverRecord(multiPaxosRecordCodec.decode(bytes));
    this.highestRoundSeen = this.promised.round;
    this.chosenHint = this.commitIndex;
  }

  private recoverRecord(record: MultiPaxosRecord): void {
    switch (record.type) {
      case "promise":
        return this.recoverPromise(ballotOf(record));
      case "acceptance":
        return this.recoverAcceptance(record.slot, ballotOf(record), record);
      case "snapshot":
        assert(false, "a snapshot record in the log");
        return;
      default:
        return unreachable(record);
    }
  }

  private recoverPromise(ballot: Ballot): void {
    if (compareBallots(ballot, this.promised) > 0) this.promised = ballot;
  }

  private recoverAcceptance(slot: number, ballot: Ballot, value: Value): void {
    this.recoverPromise(ballot);
    if (slot <= this.compactedSlot) return;
    const entry = this.entry(slot);
    if (entry.acceptedBallot !== undefined && compareBallots(entry.acceptedBallot, ballot) >= 0) return;
    entry.acceptedBallot = ballot;
    entry.acceptedValue = { commands: value.commands, members: value.members };
  }

  // ---- Helpers ---------------------------------------------------------------------------------

  private entry(slot: number): LogEntry {
    let entry = this.log.get(slot);
    if (entry === undefined) {
      entry = { acceptedBallot: undefined, acceptedValue: undefined, chosen: undefined };
      this.log.set(slot, entry);
    }
    return entry;
  }

  private send(to: NodeId, message: MultiPaxosMessage): void {
    this.outbox.push({ to, message });
  }
}
