import {
  CorruptionError,
  RejectionCounter,
  SessionStateMachine,
  assert,
  dropped,
  notLeader,
  parseConfig,
  readLevelOfCode,
  unreachable,
  type ClientRequestMessage,
  type NodeId,
  type Outbound,
  type Ready,
  type Rejection,
  type Rejections,
  type Replica,
  type ReplicaContext,
  type ReplicaStatus,
  type Rng,
} from "@concord/core";
import { isJoint, isVoter, members, planConfigChange, sortedIds, type ClusterConfig, type ConfigChange } from "./cluster-config.ts";
import { RaftLog } from "./log.ts";
import {
  entryKind,
  type RaftAppendEntries,
  type RaftAppendResponse,
  type Entry,
  type RaftHeartbeat,
  type RaftHeartbeatResponse,
  type RaftInstallSnapshot,
  type RaftPeerMessage,
  type RaftMessage,
  type RaftRequestVote,
  type RaftSnapshotResponse,
  type RaftVoteResponse,
} from "./messages.ts";
import { leaseTicks, raftOptionsSchema, type RaftOptions } from "./options.ts";
import { ReadIndexQueue } from "./read-index.ts";
import { Progress } from "./progress.ts";
import { jointIndex, jointVote, type VoteResult } from "./quorum.ts";
import { decodeRecord, decodeSnapshot, encodeEntryRecord, encodeHardState, encodeSnapshot, type HardState, type RaftSnapshot } from "./records.ts";
import { type MessageProblem, messageProblem } from "./validate.ts";

/** RaftRole is a replica's role in its current term; a pre-candidate has not yet raised its term (thesis §9.6). */
export type RaftRole = "follower" | "preCandidate" | "candidate" | "leader";

/**
 * RaftRejectionReason names why a replica refused a message: an impossible
 * message (see messageProblem), or one that Raft's rules exclude in the
 * replica's state (a second leader in a term, a non-member disrupting a live
 * leader, a follower that lost the entries it acknowledged).
 */
export type RaftRejectionReason =
  | MessageProblem
  | "requestVote from a non-member while a leader is live"
  | "a higher term from a non-member while a leader is live"
  | "a second leader claims this leader's own term"
  | "a second leader claims the follower's current term"
  | "appendResponse about an index beyond the leader's log"
  | "appendResponse refusing the follower's own acknowledged match (its log was lost or replaced): probed again from its hint";

/** ProposalResult is the log index a proposal was appended at, or why it was refused. */
export type ProposalResult = { readonly kind: "accepted"; readonly index: number } | { readonly kind: "rejected"; readonly rejection: Rejection };

/** TransferResult tells whether a leadership transfer started, or why not. */
export type TransferResult = { readonly kind: "started" } | { readonly kind: "rejected"; readonly rejection: Rejection };

/** ConfigChangeOptions: `joint` forces joint consensus even for a single-server change. */
export interface ConfigChangeOptions {
  /** joint is force joint consensus even for a single-server change (thesis §4.3). */
  readonly joint: boolean;
}

interface IncomingSnapshot {
  readonly index: number;
  readonly term: number;
  readonly config: ClusterConfig;
  readonly totalBytes: number;
  readonly chunks: Uint8Array[];
  received: number;
}

type Campaign = "preElection" | "election" | "transfer";

/** stalledPipelineTicks: appends unacknowledged for this many ticks are presumed lost. */
const stalledPipelineTicks = 3;

type EntryBody = Omit<Entry, "term" | "index">;

const noopBody: EntryBody = { kind: entryKind.noop, clientId: 0, session: 0, sequence: 0, command: new Uint8Array(0), voters: [], outgoing: [], learners: [] };

/**
 * entryOf is `{ ...body, term, index }` written out (a spread copies by a slow
 * generic path, and every proposal makes one): the same keys in the same order.
 */
function entryOf(body: EntryBody, term: number, index: number): Entry {
  return {
    kind: body.kind,
    clientId: body.clientId,
    session: body.session,
    sequence: body.sequence,
    command: body.command,
    voters: body.voters,
    outgoing: body.outgoing,
    learners: body.learners,
    term,
    index,
  };
}

function configBody(config: ClusterConfig): EntryBody {
  return { ...noopBody, kind: entryKind.config, voters: config.voters, outgoing: config.outgoing, learners: config.learners };
}

/**
 * RaftReplica is one Raft server (Ongaro and Ousterhout 2014, with Ongaro's
 * thesis for pre-vote, check-quorum, ReadIndex, leadership transfer and
 * membership changes) as a deterministic, I/O-free state machine in the
 * manner of etcd-io/raft: `step` applies the checks every role shares, then
 * dispatches to `stepLeader` / `stepCandidate` / `stepFollower`; roles change
 * only through the `becomeX` methods. Committed entries are executed through
 * the session table and the leader replies to clients.
 *
 * Invariant: a message that depends on a term, vote or entry leaves only in a
 * Ready whose records persist that term, vote or entry (§5.1, Figure 2).
 */
export class RaftReplica implements Replica<RaftMessage> {
  /** id is this replica's node id. */
  readonly id: NodeId;
  private readonly options: RaftOptions;
  private readonly rng: Rng;
  private readonly sessions: SessionStateMachine;
  private readonly log = new RaftLog();
  private config: ClusterConfig;
  private progress = new Map<NodeId, Progress>();

  private term = 0;
  private vote: NodeId | undefined;
  private leader: NodeId | undefined;
  private role: RaftRole = "follower";
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private ticks = 0;
  private readonly votes = new Map<NodeId, boolean>();

  private transferee: NodeId | undefined;
  private transferElapsed = 0;
  private timeoutNowSent = false;
  /** steppingDown: this leader was removed and is handing leadership over (thesis §4.2.2). */
  private steppingDown = false;
  /** pendingConfigIndex: no configuration change may be proposed until this index is applied (one change at a time). */
  private pendingConfigIndex = 0;
  /** Invariant: snapshotIndex <= applied <= commit. */
  private applied = 0;
  /** restarted: this replica recovered a term from its disk, so before the crash it may have acknowledged a leader. */
  private restarted = false;
  /** recovering: entries are being re-applied from disk, so nobody is answered. */
  private recovering = false;
  /** latestSnapshot is what a follower that fell behind the log is sent (§7). */
  private latestSnapshot: RaftSnapshot | undefined;
  /** incoming is the snapshot a follower is receiving chunk by chunk. */
  private incoming: IncomingSnapshot | undefined;

  private readonly reads: ReadIndexQueue;
  /** leaseTicks is how long after sending a round the leader trusts its acknowledgements for lease reads. */
  private readonly leaseTicks: number;
  /** needBroadcast: entries were appended since the last Ready; they go out in one append per follower. */
  private needBroadcast = false;
  /** proposed remembers each session's latest request in this leader's log, so that a retry is not appended twice. */
  private readonly proposed = new Map<number, { sequence: number; index: number }>();
  /** awaitingLeader holds client requests that arrived while no leader was known. */
  private awaitingLeader: ClientRequestMessage[] = [];

  /** records are the durable records of the next Ready. */
  private records: Uint8Array[] = [];
  /** persistedHardState is the hard state last put into records, to write it only when it changes. */
  private persistedHardState: HardState | undefined;
  private pendingSnapshotBytes: Uint8Array | undefined;
  private outbox: Outbound<RaftMessage>[] = [];
  /**
   * earlyOutbox holds what may leave before this Ready's records are synced
   * (Ready.messagesBeforeSync): the leader's appends, heartbeats and snapshot
   * chunks (thesis §10.2.1: the leader writes its log in parallel with
   * replicating it, since it counts its own copy only once synced; see
   * noteOwnEntriesSynced), and answers to clients, which report entries
   * already committed or refuse. Votes and acknowledgements never go here.
   */
  private earlyOutbox: Outbound<RaftMessage>[] = [];
  private readonly rejected = new RejectionCounter<RaftRejectionReason>();

  constructor(context: ReplicaContext) {
    this.id = context.id;
    this.options = parseConfig(raftOptionsSchema, context.options, "raft");
    this.rng = context.rng;
    this.sessions = new SessionStateMachine(context.stateMachine);
    this.reads = new ReadIndexQueue(this.options.pendingReadsMax, this.options.leaseReads);
    this.leaseTicks = leaseTicks(this.options.electionTimeoutTicks, this.options.clockDriftBoundPercent);
    this.config = { voters: sortedIds(context.replicas), outgoing: [], learners: [] };
    this.recover(context.durable.snapshot, context.durable.records);
  }

  // ---------------------------------------------------------------- Replica

  tick(): void {
    this.ticks++;
    if (this.role === "leader") this.tickHeartbeat();
    else this.tickElection();
    this.applyCommitted();
    this.releaseAwaitingLeader();
  }

  step(from: NodeId, message: RaftMessage): void {
    const problem = messageProblem(from, message);
    if (problem !== undefined) {
      this.countRejected(problem);
      return;
    }
    switch (message.type) {
      case "clientRequest":
        this.handleClientRequest(message);
        break;
      case "clientReply":
      case "notLeader":
        break; // messageProblem rejects these
      default:
        this.stepPeer(from, message);
    }
    this.applyCommitted();
    this.releaseAwaitingLeader();
  }

  /** releaseAwaitingLeader answers the client requests held while no leader was known. */
  private releaseAwaitingLeader(): void {
    if (this.awaitingLeader.length === 0 || this.leader === undefined) return;
    const held = this.awaitingLeader;
    this.awaitingLeader = [];
    for (const request of held) this.handleClientRequest(request);
  }

  ready(): Ready<RaftMessage> | undefined {
    this.flush();
    const hardState = this.hardState();
    const persisted = this.persistedHardState;
    const termOrVoteChanged = persisted === undefined || persisted.term !== hardState.term || persisted.vote !== hardState.vote;
    // The commit index is only a recovery hint (Figure 2 keeps it volatile): it
    // rides along with other records, but never costs a sync of its own.
    const commitRidesAlong = persisted !== undefined && persisted.commit !== hardState.commit && this.records.length > 0;
    if (termOrVoteChanged) {
      // The term and vote go before this Ready's entries. A crash before the
      // sync may keep any prefix of the unsynced records (Storage), and a
      // prefix that held an entry of a new term without that term would
      // recover a replica whose term is below its own log's (which recovery
      // rightly refuses as a lost synced hard state). Written first, the
      // record carries the commit point already durable, since the entries it
      // may cover follow it; the new commit point rides at the end.
      const entriesFollow = this.records.length > 0;
      const first: HardState = { ...hardState, commit: Math.min(hardState.commit, persisted?.commit ?? hardState.commit) };
      this.records.unshift(encodeHardState(first));
      this.persistedHardState = first;
      if (first.commit !== hardState.commit && entriesFollow) {
        this.records.push(encodeHardState(hardState));
        this.persistedHardState = hardState;
      }
    } else if (commitRidesAlong) {
      this.records.push(encodeHardState(hardState));
      this.persistedHardState = hardState;
    }
    if (this.records.length === 0 && this.outbox.length === 0 && this.earlyOutbox.length === 0 && this.pendingSnapshotBytes === undefined) return undefined;
    return { snapshot: this.pendingSnapshotBytes, persist: this.records, messages: this.outbox, messagesBeforeSync: this.earlyOutbox };
  }

  advance(done: Ready<RaftMessage>): void {
    if (done.persist === this.records) {
      this.records = [];
      this.noteOwnEntriesSynced();
    }
    if (done.messages === this.outbox) this.outbox = [];
    if (done.messagesBeforeSync === this.earlyOutbox) this.earlyOutbox = [];
    if (done.snapshot !== undefined && done.snapshot === this.pendingSnapshotBytes) this.pendingSnapshotBytes = undefined;
  }

  status(): ReplicaStatus {
    return {
      id: this.id,
      role: this.reportedRole(),
      epoch: this.term,
      leader: this.leader,
      commitIndex: this.log.committed,
      appliedIndex: this.applied,
      durableIndex: this.log.snapshotIndex,
    };
  }

  // ------------------------------------------------------- public operations

  /**
   * proposeConfigChange asks the leader to change the membership (thesis §4):
   * one voter added or removed at a time directly, anything more through the
   * joint configuration. It is refused until the leader has applied an entry
   * of its own term (the fix to single-server changes, thesis §4.1 errata)
   * and while another change is pending or a transfer runs.
   */
  proposeConfigChange(changes: readonly ConfigChange[], options: ConfigChangeOptions = { joint: false }): ProposalResult {
    if (this.role !== "leader") return { kind: "rejected", rejection: notLeader(this.leader) };
    if (this.transferee !== undefined) return { kind: "rejected", rejection: dropped("a leadership transfer is in progress") };
    if (this.pendingConfigIndex > this.applied) return { kind: "rejected", rejection: dropped("an earlier configuration change (or the term's first entry) is not yet applied") };
    const plan = planConfigChange(this.config, changes, options.joint);
    if (plan.kind === "invalid") return { kind: "rejected", rejection: dropped(plan.reason) };
    const index = this.appendAsLeader([configBody(plan.config)]);
    this.pendingConfigIndex = index;
    return { kind: "accepted", index };
  }

  /**
   * transferLeadership hands leadership to `target` (thesis §3.10): the leader
   * stops taking proposals, catches the target up, then sends it TimeoutNow.
   * The transfer is abandoned after `transferTimeoutTicks`.
   */
  transferLeadership(target: NodeId): TransferResult {
    if (this.role !== "leader") return { kind: "rejected", rejection: notLeader(this.leader) };
    if (target === this.id) return { kind: "rejected", rejection: dropped("already the leader") };
    const progress = this.progress.get(target);
    if (progress === undefined || !isVoter(this.config, target)) return { kind: "rejected", rejection: dropped(`node ${target} is not a voter`) };
    if (this.transferee === target) return { kind: "started" };
    this.transferee = target;
    this.transferElapsed = 0;
    if (progress.match === this.log.lastIndex()) this.sendTimeoutNow(target);
    else this.sendAppend(target, true);
    return { kind: "started" };
  }

  /** campaign starts an election now, as an election timeout would (for tests and operators). */
  campaign(): void {
    this.hup(false);
  }

  // ---------------------------------------------------------- introspection

  /** raftRole is the replica's exact role (status() folds pre-candidate into candidate). */
  raftRole(): RaftRole {
    return this.role;
  }

  /** hardState is the term, vote and commit index the replica holds now. */
  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  /** configuration is the configuration in force (the last one applied). */
  configuration(): ClusterConfig {
    return this.config;
  }

  /** latestConfiguration is the configuration of the last configuration entry in the log, applied or not. */
  latestConfiguration(): ClusterConfig {
    return this.latestConfig();
  }

  /** logEntries lists the entries held after the snapshot. */
  logEntries(): readonly Entry[] {
    return this.log.entriesAfter(this.log.snapshotIndex);
  }

  /** lastIndex is the index of the last log entry. */
  lastIndex(): number {
    return this.log.lastIndex();
  }

  /** snapshotIndex is the index the log is compacted up to. */
  snapshotIndex(): number {
    return this.log.snapshotIndex;
  }

  /** entryTerm returns the term of the entry at `index`, or undefined if it is compacted or absent. */
  entryTerm(index: number): number | undefined {
    return this.log.term(index);
  }

  /** progressOf returns the leader's progress record for a member (undefined elsewhere). */
  progressOf(id: NodeId): Readonly<Progress> | undefined {
    return this.role === "leader" ? this.progress.get(id) : undefined;
  }

  /** leadershipTransferee is the target of the transfer in progress, if any. */
  leadershipTransferee(): NodeId | undefined {
    return this.transferee;
  }

  /**
   * rejections counts impossible messages, by reason, as every protocol's
   * replica does: most are rejected unapplied; a follower's refusal of the
   * entry it acknowledged, which only a lost or replaced log explains, is
   * acted on (it is probed again).
   */
  rejections(): Rejections<RaftRejectionReason> {
    return this.rejected;
  }

  // ----------------------------------------------------------------- step

  private stepPeer(from: NodeId, message: RaftPeerMessage): void {
    if (!this.progress.has(from) && this.leaderIsLive() && (message.type === "requestVote" || message.term > this.term)) {
      // Thesis §4.2.3: a server removed from the configuration (or never in
      // it) must not disrupt a cluster that has a live leader, neither by
      // campaigning nor by claiming a higher term. Without a live leader the
      // message is considered: our configuration may be the stale one.
      this.countRejected(message.type === "requestVote" ? "requestVote from a non-member while a leader is live" : "a higher term from a non-member while a leader is live");
      return;
    }
    if (message.term > this.term) {
      if (this.ignoresHigherTerm(message)) return;
      if (message.type === "requestVote" && message.preVote) {
        // A pre-vote never changes our term (thesis §9.6).
      } else if (message.type === "voteResponse" && message.preVote && !message.reject) {
        // A granted pre-vote carries the term we will campaign in; it is counted below.
      } else if (message.type === "appendEntries" || message.type === "heartbeat" || message.type === "installSnapshot") {
        this.becomeFollower(message.term, from);
      } else {
        this.becomeFollower(message.term, undefined);
      }
    } else if (message.term < this.term) {
      this.stepStale(from, message);
      return;
    }

    if (message.type === "requestVote") {
      this.handleVoteRequest(from, message);
      return;
    }
    switch (this.role) {
      case "leader":
        this.stepLeader(from, message);
        return;
      case "candidate":
      case "preCandidate":
        this.stepCandidate(from, message);
        return;
      case "follower":
        this.stepFollower(from, message);
        return;
      default:
        unreachable(this.role);
    }
  }

  /**
   * ignoresHigherTerm tells whether a message of a higher term is dropped
   * unapplied because a leader's lease may still count on this replica.
   * Thesis §4.2.3 and §6.2: a server that heard from a live leader within the
   * minimum election timeout ignores vote requests, so that a rejoining or
   * removed server cannot depose a healthy leader; a leadership transfer's
   * request is exempt (§3.10). A follower inside the lease also does not give
   * up its leader for a higher term carried by a reply or by a stale message
   * of its own coming back: that would clear its leader and free its vote
   * just the same (issue 21, bug 5). A leader's own messages of a higher term
   * are taken: they prove that a later leader exists. etcd-io/raft ignores
   * only the vote requests.
   */
  private ignoresHigherTerm(message: RaftPeerMessage): boolean {
    if (!this.inLease()) return false;
    switch (message.type) {
      case "requestVote":
        return !message.transfer;
      case "appendResponse":
      case "heartbeatResponse":
      case "snapshotResponse":
      case "voteResponse":
        // A leader or candidate that hears of a higher term steps down, which never extends a lease.
        return this.role === "follower";
      case "appendEntries":
      case "heartbeat":
      case "installSnapshot":
      case "timeoutNow":
        return false;
      default:
        return unreachable(message);
    }
  }

  /**
   * stepStale answers a request of an older term with the current term and
   * applies nothing (§5.1: "if a server receives a request with a stale term
   * number, it rejects the request"), so that a stale leader or candidate
   * learns the term and steps down even when nothing else would reach it: a
   * replica whose configuration no longer names it, for instance.
   */
  private stepStale(from: NodeId, message: RaftPeerMessage): void {
    switch (message.type) {
      case "appendEntries":
      case "heartbeat":
      case "installSnapshot":
        this.acknowledge(from, 0, 0);
        return;
      case "requestVote":
        this.send(from, { type: "voteResponse", term: this.term, reject: true, preVote: message.preVote, ...this.commitHint() });
        return;
      case "appendResponse":
      case "heartbeatResponse":
      case "snapshotResponse":
      case "voteResponse":
      case "timeoutNow":
        return;
      default:
        unreachable(message);
    }
  }

  private handleVoteRequest(from: NodeId, message: RaftRequestVote): void {
    // §5.2: one vote per term; thesis §9.6: a pre-vote for a later term binds nothing.
    const canVote = this.vote === from || (this.vote === undefined && this.leader === undefined) || (message.preVote && message.term > this.term);
    // §5.4.1: vote only for a candidate whose log is at least as up to date.
    if (canVote && this.log.isUpToDate(message.lastLogIndex, message.lastLogTerm)) {
      this.send(from, { type: "voteResponse", term: message.preVote ? message.term : this.term, reject: false, preVote: message.preVote, ...this.commitHint() });
      if (!message.preVote) {
        this.electionElapsed = 0;
        this.vote = from;
      }
      return;
    }
    this.send(from, { type: "voteResponse", term: this.term, reject: true, preVote: message.preVote, ...this.commitHint() });
  }

  /** acknowledge tells the leader (or a stale one, §5.1) that this log matches up to `index`. */
  private acknowledge(to: NodeId, index: number, readContext: number): void {
    this.send(to, { type: "appendResponse", term: this.term, index, reject: false, rejectHint: 0, logTerm: 0, readContext });
  }

  /** commitHint is this replica's commit index and the term of its entry there. */
  private commitHint(): { commit: number; commitTerm: number } {
    return { commit: this.log.committed, commitTerm: this.log.term(this.log.committed) ?? 0 };
  }

  private stepLeader(from: NodeId, message: RaftPeerMessage): void {
    const progress = this.progress.get(from);
    switch (message.type) {
      case "appendResponse":
        if (progress !== undefined) this.handleAppendResponse(from, progress, message);
        return;
      case "heartbeatResponse":
        if (progress !== undefined) this.handleHeartbeatResponse(from, progress, message);
        return;
      case "snapshotResponse":
        if (progress !== undefined) this.handleSnapshotResponse(from, progress, message);
        return;
      case "voteResponse":
        return; // late votes of the election we already won
      case "appendEntries":
      case "heartbeat":
      case "installSnapshot":
        // Election Safety (§5.2) says no other leader exists in our term.
        this.countRejected("a second leader claims this leader's own term");
        return;
      case "timeoutNow":
        return;
      case "requestVote":
        return; // handled in stepPeer
      default:
        unreachable(message);
    }
  }

  private stepCandidate(from: NodeId, message: RaftPeerMessage): void {
    switch (message.type) {
      case "appendEntries":
      case "heartbeat":
      case "installSnapshot":
        // §5.2: a candidate that hears from the leader of its term returns to follower.
        this.becomeFollower(message.term, from);
        this.stepFollower(from, message);
        return;
      case "voteResponse":
        this.handleVoteResponse(from, message);
        return;
      case "appendResponse":
      case "heartbeatResponse":
      case "snapshotResponse":
      case "timeoutNow":
      case "requestVote":
        return;
      default:
        unreachable(message);
    }
  }

  private stepFollower(from: NodeId, message: RaftPeerMessage): void {
    const claimsLeadership = message.type === "appendEntries" || message.type === "heartbeat" || message.type === "installSnapshot";
    if (claimsLeadership && this.leader !== undefined && this.leader !== from) {
      // Election Safety (§5.2): this term already has a leader, and it is not the sender.
      this.countRejected("a second leader claims the follower's current term");
      return;
    }
    switch (message.type) {
      case "appendEntries":
        this.heardFromLeader(from);
        this.handleAppendEntries(from, message);
        return;
      case "heartbeat":
        this.heardFromLeader(from);
        this.handleHeartbeat(from, message);
        return;
      case "installSnapshot":
        this.heardFromLeader(from);
        this.handleInstallSnapshot(from, message);
        return;
      case "timeoutNow":
        // Thesis §3.10: the transfer target campaigns at once, skipping pre-vote.
        this.hup(true);
        return;
      case "voteResponse":
      case "appendResponse":
      case "heartbeatResponse":
      case "snapshotResponse":
      case "requestVote":
        return;
      default:
        unreachable(message);
    }
  }

  private heardFromLeader(from: NodeId): void {
    this.electionElapsed = 0;
    this.leader = from;
  }

  // -------------------------------------------------------- follower side

  private handleAppendEntries(from: NodeId, message: RaftAppendEntries): void {
    const readContext = message.readContext;
    if (message.prevLogIndex < this.log.committed) {
      this.acknowledge(from, this.log.committed, readContext);
      return;
    }
    const outcome = this.log.maybeAppend(message.prevLogIndex, message.prevLogTerm, message.entries);
    if (outcome.kind === "mismatch") {
      // §5.3 consistency check failed; hint where our log could match (fast back-off).
      const hint = this.log.findConflictByTerm(Math.min(message.prevLogIndex, this.log.lastIndex()), message.prevLogTerm);
      this.send(from, { type: "appendResponse", term: this.term, index: message.prevLogIndex, reject: true, rejectHint: hint.index, logTerm: hint.term, readContext });
      return;
    }
    if (outcome.appendedFrom !== undefined) this.persistEntriesFrom(outcome.appendedFrom);
    // §5.3: commit up to the leader's commit, but only what this append proved we hold.
    this.log.commitTo(Math.min(message.commit, outcome.lastNewIndex));
    this.acknowledge(from, outcome.lastNewIndex, readContext);
  }

  private handleHeartbeat(from: NodeId, message: RaftHeartbeat): void {
    // The leader sends min(match, commit), which our log is known to hold.
    this.log.commitTo(Math.min(message.commit, this.log.lastIndex()));
    this.send(from, { type: "heartbeatResponse", term: this.term, readContext: message.readContext });
  }

  private handleInstallSnapshot(from: NodeId, message: RaftInstallSnapshot): void {
    if (message.snapshotIndex <= this.log.committed) {
      this.incoming = undefined;
      this.acknowledge(from, this.log.committed, 0);
      return;
    }
    if (message.offset === 0) {
      this.incoming = {
        index: message.snapshotIndex,
        term: message.snapshotTerm,
        config: { voters: message.voters, outgoing: message.outgoing, learners: message.learners },
        totalBytes: message.totalBytes,
        chunks: [],
        received: 0,
      };
    }
    const incoming = this.incoming;
    const sameSnapshot = incoming !== undefined && incoming.index === message.snapshotIndex && incoming.term === message.snapshotTerm && incoming.totalBytes === message.totalBytes;
    if (!sameSnapshot || message.offset !== incoming.received) {
      this.send(from, { type: "snapshotResponse", term: this.term, snapshotIndex: message.snapshotIndex, offset: sameSnapshot ? incoming.received : 0 });
      return;
    }
    incoming.chunks.push(message.data);
    incoming.received += message.data.length;
    if (!message.done) {
      this.send(from, { type: "snapshotResponse", term: this.term, snapshotIndex: message.snapshotIndex, offset: incoming.received });
      return;
    }
    this.incoming = undefined;
    const data = new Uint8Array(incoming.received);
    let offset = 0;
    for (const chunk of incoming.chunks) {
      data.set(chunk, offset);
      offset += chunk.length;
    }
    this.restoreSnapshot({ index: incoming.index, term: incoming.term, config: incoming.config, data });
    // Only the committed prefix is known to match the leader's log: entries
    // kept after a snapshot the log already held may conflict with it, and
    // acknowledging them would let the leader count them (etcd-io/raft's
    // handleSnapshot acknowledges the commit index too).
    this.acknowledge(from, this.log.committed, 0);
  }

  /**
   * restoreSnapshot installs a leader's snapshot (§7). If the log already
   * holds the snapshot's last entry, the entries after it are kept and only
   * the commit index moves; otherwise the snapshot covers the log, and the
   * whole log is discarded.
   */
  private restoreSnapshot(snapshot: RaftSnapshot): void {
    if (this.log.matchTerm(snapshot.index, snapshot.term)) {
      this.log.commitTo(snapshot.index);
      return;
    }
    this.installSnapshot(snapshot);
    this.pendingSnapshotBytes = encodeSnapshot(snapshot);
    this.records = [];
    this.persistedHardState = undefined;
  }

  /** installSnapshot replaces the log, the state machine and the configuration with a snapshot's (§7). */
  private installSnapshot(snapshot: RaftSnapshot): void {
    this.log.restore(snapshot.index, snapshot.term);
    this.sessions.restore(snapshot.data);
    this.applied = snapshot.index;
    this.latestSnapshot = snapshot;
    this.switchToConfig(snapshot.config);
  }

  // ---------------------------------------------------------- leader side

  private handleAppendResponse(from: NodeId, progress: Progress, message: RaftAppendResponse): void {
    // Only a lying or broken follower answers about an index this leader never sent in its term.
    if (message.index > this.log.lastIndex()) {
      this.countRejected("appendResponse about an index beyond the leader's log");
      return;
    }
    this.noteActive(progress, message.readContext);
    if (message.reject) {
      if (progress.state === "probe" && progress.match > 0 && message.index === progress.match && progress.next === progress.match + 1) {
        // The follower refuses the very entry it acknowledged, in answer to a
        // probe sent after that acknowledgement: its log was lost or replaced
        // (no correct disk does that). Probing from match + 1 would be refused
        // for ever, so forget its match and probe from its hint (or send it a
        // snapshot), and count the event so that it is seen.
        this.countRejected("appendResponse refusing the follower's own acknowledged match (its log was lost or replaced): probed again from its hint");
        progress.forgetMatch();
      }
      let nextProbe = message.rejectHint;
      if (message.logTerm > 0) nextProbe = this.log.findConflictByTerm(message.rejectHint, message.logTerm).index;
      if (progress.maybeDecreaseTo(message.index, nextProbe)) {
        if (progress.state === "replicate") progress.becomeProbe();
        this.sendAppend(from, true);
      }
      return;
    }
    const wasPaused = progress.isPaused();
    if (progress.maybeUpdate(message.index)) {
      if (progress.state === "probe") progress.becomeReplicate();
      else if (progress.state === "snapshot" && progress.match + 1 >= this.log.firstIndex()) progress.becomeReplicate();
      else if (progress.state === "replicate") progress.inflights.freeUpTo(message.index);
      // §5.3: the new commit index reaches followers on the next append or heartbeat.
      this.maybeCommit();
      while (this.sendAppend(from, false)) {
        // keep the pipeline full
      }
      if (this.transferee === from && progress.match === this.log.lastIndex()) this.sendTimeoutNow(from);
    } else if (wasPaused && !progress.isPaused()) {
      this.sendAppend(from, false);
    }
  }

  private handleHeartbeatResponse(from: NodeId, progress: Progress, message: RaftHeartbeatResponse): void {
    this.noteActive(progress, message.readContext);
    progress.probeSent = false;
    if (progress.state === "snapshot") this.sendSnapshotChunk(from, progress);
    else if (progress.match < this.log.lastIndex()) {
      if (progress.state === "probe") this.sendAppend(from, true);
      else if (progress.stalledTicks >= stalledPipelineTicks) {
        // No acknowledgement for several ticks while appends are outstanding:
        // they were probably lost, so probe again.
        progress.becomeProbe();
        this.sendAppend(from, true);
      } else this.sendAppend(from, false);
    }
  }

  private handleSnapshotResponse(from: NodeId, progress: Progress, message: RaftSnapshotResponse): void {
    this.noteActive(progress, 0);
    if (progress.state !== "snapshot" || message.snapshotIndex !== progress.pendingSnapshot) return;
    progress.snapshotOffset = message.offset;
    this.sendSnapshotChunk(from, progress);
  }

  private noteActive(progress: Progress, readContext: number): void {
    progress.recentActive = true;
    if (readContext > progress.ackedReadContext) {
      progress.ackedReadContext = readContext;
      this.checkReads();
    }
  }

  /** maybeCommit advances the commit index to what a quorum holds, counting only entries of this term (§5.4.2). */
  private maybeCommit(): boolean {
    const index = jointIndex(this.config.voters, this.config.outgoing, (id) => this.progress.get(id)?.match ?? 0);
    return this.log.maybeCommit(index, this.term);
  }

  /**
   * sendAppend sends the follower the entries from its next index, or a
   * snapshot if they are compacted. With `sendIfEmpty` false it sends
   * nothing when there is nothing new. It returns whether it sent.
   */
  private sendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const progress = this.progress.get(to);
    if (progress === undefined || progress.isPaused()) return false;
    const prevLogIndex = progress.next - 1;
    const prevLogTerm = this.log.term(prevLogIndex);
    if (prevLogTerm === undefined) {
      this.startSnapshot(to, progress);
      return false;
    }
    const entries = progress.next <= this.log.lastIndex() ? this.log.slice(progress.next, this.options.batchEntriesMax, this.options.messageBytesMax) : [];
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.sendBeforeSync(to, { type: "appendEntries", term: this.term, prevLogIndex, prevLogTerm, entries, commit: this.log.committed, readContext: this.reads.context });
    progress.sentReadContext = this.reads.context;
    progress.sentSinceHeartbeat = true;
    const last = entries[entries.length - 1];
    if (progress.state === "probe") progress.probeSent = true;
    else if (last !== undefined) {
      progress.optimisticUpdate(last.index);
      progress.inflights.add(last.index);
    }
    return true;
  }

  private sendHeartbeat(to: NodeId, progress: Progress): void {
    this.sendBeforeSync(to, { type: "heartbeat", term: this.term, commit: Math.min(progress.match, this.log.committed), readContext: this.reads.context });
    progress.sentReadContext = this.reads.context;
  }

  private startSnapshot(to: NodeId, progress: Progress): void {
    const snapshot = this.latestSnapshot;
    assert(snapshot !== undefined, "the log is compacted but there is no snapshot");
    progress.becomeSnapshot(snapshot.index);
    this.sendSnapshotChunk(to, progress);
  }

  /** sendSnapshotChunk sends the chunk the follower asked for (§7: InstallSnapshot in chunks). */
  private sendSnapshotChunk(to: NodeId, progress: Progress): void {
    const snapshot = this.latestSnapshot;
    if (snapshot === undefined || snapshot.index !== progress.pendingSnapshot) {
      // A newer snapshot replaced the one being sent: start over with it.
      progress.becomeProbe();
      this.sendAppend(to, true);
      return;
    }
    const offset = Math.min(progress.snapshotOffset, snapshot.data.length);
    const data = snapshot.data.subarray(offset, offset + this.options.messageBytesMax);
    this.sendBeforeSync(to, {
      type: "installSnapshot",
      term: this.term,
      snapshotIndex: snapshot.index,
      snapshotTerm: snapshot.term,
      voters: snapshot.config.voters,
      outgoing: snapshot.config.outgoing,
      learners: snapshot.config.learners,
      offset,
      data,
      done: offset + data.length === snapshot.data.length,
      totalBytes: snapshot.data.length,
    });
  }

  private sendTimeoutNow(to: NodeId): void {
    // A configuration entry in the log that removes the target is in force
    // once applied, which may come only after this step (the commit that let
    // the target catch up can be the removal's own): a target told to
    // campaign now would campaign under its stale configuration (thesis
    // §4.2.3). The transfer waits instead, and applying the removal aborts it.
    // A joint configuration that keeps the target only among the outgoing
    // voters removes it too: once it commits, leaving it is automatic (the
    // leader appends the new configuration in the step that applies it).
    if (!this.latestConfig().voters.includes(to)) return;
    // The target's campaign may pass the other replicas' lease check, so this
    // leader's lease proves nothing for the rest of its term.
    this.timeoutNowSent = true;
    this.send(to, { type: "timeoutNow", term: this.term });
  }

  private bcastHeartbeat(): void {
    for (const [id, progress] of this.progress) {
      if (id === this.id) continue;
      // An append sent since the last round already reset the follower's timer.
      const redundant = progress.sentSinceHeartbeat && progress.sentReadContext >= this.reads.context && progress.state !== "snapshot";
      progress.sentSinceHeartbeat = false;
      if (!redundant) this.sendHeartbeat(id, progress);
    }
  }

  /** flush sends what batching held back: one append per follower for all new entries, one read round for all new reads. */
  private flush(): void {
    if (this.role !== "leader") return;
    if (this.needBroadcast) {
      this.needBroadcast = false;
      for (const id of this.progress.keys()) {
        if (id === this.id) continue;
        while (this.sendAppend(id, false)) {
          // fill the pipeline up to the in-flight limit
        }
      }
    }
    if (this.reads.roundNeeded) {
      this.reads.roundNeeded = false;
      for (const [id, progress] of this.progress) {
        if (id !== this.id && progress.sentReadContext < this.reads.context && isVoter(this.config, id)) this.sendHeartbeat(id, progress);
      }
    }
    this.checkReads();
  }

  /** appendAsLeader appends entries of the current term to the leader's log and returns the last index. */
  private appendAsLeader(bodies: readonly EntryBody[]): number {
    assert(this.role === "leader", "only a leader appends its own entries");
    const first = this.log.lastIndex() + 1;
    const entries: Entry[] = [];
    for (let k = 0; k < bodies.length; k++) entries.push(entryOf(bodies[k] as EntryBody, this.term, first + k));
    this.log.append(entries);
    for (const entry of entries) this.records.push(encodeEntryRecord(entry));
    return this.appendedAsLeader();
  }

  /**
   * appendCommandAsLeader is appendAsLeader for one client request: the entry
   * built at once (the keys in entryOf's order), without the body and the two
   * arrays appendAsLeader's callers and loop would make for it (once per
   * proposal).
   */
  private appendCommandAsLeader(request: ClientRequestMessage): number {
    assert(this.role === "leader", "only a leader appends its own entries");
    const entry: Entry = {
      kind: entryKind.command,
      clientId: request.clientId,
      session: request.session,
      sequence: request.sequence,
      command: request.command,
      voters: noopBody.voters,
      outgoing: noopBody.outgoing,
      learners: noopBody.learners,
      term: this.term,
      index: this.log.lastIndex() + 1,
    };
    this.log.appendNext(entry);
    this.records.push(encodeEntryRecord(entry));
    return this.appendedAsLeader();
  }

  /** appendedAsLeader ends both ways of appending as leader: the new entries go out with the next broadcast; it returns the last index. */
  private appendedAsLeader(): number {
    // The leader's own copy counts toward a quorum only once it is synced
    // (advance → noteOwnEntriesSynced): counted earlier, a lone voter would
    // commit and apply an entry that a crash before the sync then loses.
    this.needBroadcast = true;
    return this.log.lastIndex();
  }

  /**
   * noteOwnEntriesSynced runs when the runtime has synced every record this
   * replica handed it: a leader's whole log is now durable on its own disk,
   * so its own match index may rise and, with it, the commit index (§5.3,
   * thesis §10.2.1: the leader's write is one of the majority).
   */
  private noteOwnEntriesSynced(): void {
    if (this.role !== "leader") return;
    // A leader that has removed itself no longer counts toward any quorum.
    const self = this.progress.get(this.id);
    if (self === undefined || !self.maybeUpdate(this.log.lastIndex())) return;
    if (this.maybeCommit()) {
      this.needBroadcast = true;
      this.applyCommitted();
      this.releaseAwaitingLeader();
    }
  }

  private persistEntriesFrom(index: number): void {
    for (const entry of this.log.entriesAfter(index - 1)) this.records.push(encodeEntryRecord(entry));
  }

  // --------------------------------------------------------- clients, reads

  private handleClientRequest(request: ClientRequestMessage): void {
    if (request.readOnly && readLevelOfCode(request.readLevel) === "stale") {
      // A stale read (etcd's serializable read) is answered at once from this replica's applied state, whatever its
      // role and whether or not it knows a leader: no message to any other replica, so it may miss completed writes.
      this.reply(request, this.sessions.query(request.command));
      return;
    }
    if (this.role !== "leader") {
      if (this.leader === undefined) {
        // Hold the request until a leader is known, rather than bounce the client around a leaderless cluster.
        if (this.awaitingLeader.length < this.options.pendingReadsMax) this.awaitingLeader.push(request);
        return;
      }
      this.sendBeforeSync(request.clientId, { type: "notLeader", sequence: request.sequence, hasLeaderHint: true, leaderHint: this.leader });
      return;
    }
    // Thesis §3.10: no proposals while leadership moves; the client retries.
    if (this.transferee !== undefined) return;
    if (request.readOnly) {
      this.handleRead(request);
      return;
    }
    // Sessions are keyed by the client object's session key, never its id (thesis §6.3; issue 21, bug 7).
    const cached = this.sessions.cachedResult(request);
    if (cached !== undefined) {
      this.reply(request, cached);
      return;
    }
    if (request.sequence < this.sessions.lastSequence(request.session)) return;
    const prior = this.proposed.get(request.session);
    if (prior !== undefined && prior.sequence === request.sequence && prior.index > this.applied && this.log.term(prior.index) === this.term) return;
    if (this.log.lastIndex() - this.log.committed >= this.options.uncommittedEntriesMax) return;
    const { session, sequence } = request;
    const index = this.appendCommandAsLeader(request);
    if (prior === undefined) this.proposed.set(session, { sequence, index });
    else {
      prior.sequence = sequence;
      prior.index = index;
    }
  }

  /**
   * handleRead serves a read linearizably without a log entry: by ReadIndex
   * (thesis §6.4: note the commit index, confirm leadership with a round of
   * heartbeats, wait to apply up to it) or, as an opt-in, by lease (§6.4.1).
   * A new leader holds reads until an entry of its term commits, since only
   * then is its commit index known to be current.
   */
  private handleRead(request: ClientRequestMessage): void {
    if (!this.committedInTerm()) {
      this.reads.holdUntilCommit(request);
      return;
    }
    if (this.reads.full()) return;
    // leaseReads serves every read by lease; without it, a read that asks for the lease level gets one where
    // check-quorum keeps followers from voting while they hear from this leader (thesis §6.4.1). The first such read
    // starts the lease bookkeeping and goes by ReadIndex, as does any read while the lease is not (yet) valid.
    const byLease = this.options.leaseReads || (this.options.checkQuorum && readLevelOfCode(request.readLevel) === "lease");
    if (byLease) this.reads.trackLeases();
    if (byLease && !this.timeoutNowSent && this.leaseValid()) {
      this.reads.addLeaseRead(request, this.log.committed);
      this.serveReads();
      return;
    }
    this.reads.startRound(request, this.log.committed, this.ticks, this.confirmedReadContext());
  }

  private committedInTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  /**
   * leaseValid tells whether a majority acknowledged a message this leader
   * sent less than {@link leaseTicks} ago. Each of them reset its election
   * timer on receiving it and, with check-quorum, ignores vote requests for a
   * full election timeout after that (thesis §6.4.1, §4.2.3), so no other
   * leader can exist yet, provided the clocks' rates differ by no more than
   * `clockDriftBoundPercent`.
   */
  private leaseValid(): boolean {
    const sentTick = this.reads.confirmedSinceTick(this.confirmedReadContext());
    return sentTick !== undefined && this.ticks - sentTick < this.leaseTicks;
  }

  /** confirmedReadContext is the newest read context a quorum (this leader included) has echoed. */
  private confirmedReadContext(): number {
    return jointIndex(this.config.voters, this.config.outgoing, (id) => (id === this.id ? this.reads.context : (this.progress.get(id)?.ackedReadContext ?? 0)));
  }

  private checkReads(): void {
    if (this.role !== "leader" || !this.reads.hasPending()) return;
    this.reads.confirm(this.confirmedReadContext());
    this.serveReads();
  }

  private serveReads(): void {
    for (const read of this.reads.takeServable(this.applied)) {
      this.reply(read.request, this.sessions.query(read.request.command));
    }
  }

  /** reply answers a request (or a command entry) at its client's address, naming its session. */
  private reply(request: { readonly clientId: NodeId; readonly session: number; readonly sequence: number }, result: Uint8Array): void {
    this.sendBeforeSync(request.clientId, { type: "clientReply", session: request.session, sequence: request.sequence, result });
  }

  // ----------------------------------------------------------------- apply

  private applyCommitted(): void {
    while (this.applied < this.log.committed) {
      const entry = this.log.entry(this.applied + 1);
      assert(entry !== undefined, () => `committed entry ${this.applied + 1} is missing`);
      this.applied++;
      this.applyEntry(entry);
    }
    this.maybeSnapshot();
    if (this.role === "leader" && this.committedInTerm()) {
      for (const request of this.reads.takeAwaitingCommit()) this.handleRead(request);
    }
    this.serveReads();
  }

  private applyEntry(entry: Entry): void {
    switch (entry.kind) {
      case entryKind.command: {
        const execution = this.sessions.execute(entry);
        if (this.role === "leader" && !this.recovering && execution.kind !== "stale") this.reply(entry, execution.result);
        return;
      }
      case entryKind.noop:
        if (this.role === "leader" && !this.recovering && entry.index === this.pendingConfigIndex) this.maybeLeaveJoint();
        return;
      case entryKind.config:
        this.applyConfigEntry(entry);
        return;
      default:
        assert(false, () => `entry ${entry.index} has unknown kind ${entry.kind}`);
    }
  }

  /**
   * applyConfigEntry puts a configuration in force once it is committed (the
   * etcd-io/raft variant of thesis §4.1: one change pending at a time makes
   * applying at commit time safe). A leader that is no longer a voter hands
   * leadership over and steps down (thesis §4.2.2); a leader that applied a
   * joint configuration proposes leaving it (thesis §4.3).
   */
  private applyConfigEntry(entry: Entry): void {
    this.switchToConfig({ voters: entry.voters, outgoing: entry.outgoing, learners: entry.learners });
    if (this.role !== "leader" || this.recovering) return;
    if (!isVoter(this.config, this.id)) {
      this.handOverLeadership();
      return;
    }
    if (this.transferee !== undefined && !isVoter(this.config, this.transferee)) this.abortTransfer();
    if (entry.index >= this.pendingConfigIndex) this.maybeLeaveJoint();
    this.needBroadcast = true;
    this.maybeCommit();
  }

  /**
   * handOverLeadership is how a leader removed from the configuration steps
   * down (thesis §4.2.2). It keeps sending heartbeats, so that the remaining
   * voters learn that the change committed and vote by the new configuration,
   * and transfers leadership to the voter with the longest match (thesis
   * §3.10); it steps down when that transfer succeeds or times out. Stepping
   * down at once could leave the voters of a stale configuration needing the
   * vote of this replica, whose longer log refuses them (§5.4.1), for ever.
   */
  private handOverLeadership(): void {
    let target: NodeId | undefined;
    let bestMatch = -1;
    for (const id of sortedIds([...this.config.voters, ...this.config.outgoing])) {
      const match = this.progress.get(id)?.match ?? -1;
      if (match > bestMatch) {
        bestMatch = match;
        target = id;
      }
    }
    if (target === undefined) {
      this.becomeFollower(this.term, undefined);
      return;
    }
    this.steppingDown = true;
    this.transferee = target;
    this.transferElapsed = 0;
    for (const [id, progress] of this.progress) if (id !== this.id && id !== target) this.sendHeartbeat(id, progress);
    const progress = this.progress.get(target) as Progress;
    if (progress.match === this.log.lastIndex()) this.sendTimeoutNow(target);
    else this.sendAppend(target, true);
  }

  /**
   * maybeLeaveJoint proposes C_new once C_old,new is in force and nothing
   * else is pending (thesis §4.3), also for a leader elected while joint.
   */
  private maybeLeaveJoint(): void {
    if (!isJoint(this.config)) return;
    for (let index = this.applied + 1; index <= this.log.lastIndex(); index++) {
      if (this.log.entry(index)?.kind === entryKind.config) return;
    }
    this.pendingConfigIndex = this.appendAsLeader([configBody({ voters: this.config.voters, outgoing: [], learners: this.config.learners })]);
  }

  /** latestConfig is the configuration of the last configuration entry in the log, applied or not, else the one in force. */
  private latestConfig(): ClusterConfig {
    for (let index = this.log.lastIndex(); index > this.applied; index--) {
      const entry = this.log.entry(index);
      if (entry?.kind === entryKind.config) return { voters: entry.voters, outgoing: entry.outgoing, learners: entry.learners };
    }
    return this.config;
  }

  private switchToConfig(config: ClusterConfig): void {
    this.config = config;
    const next = new Map<NodeId, Progress>();
    for (const id of members(config)) {
      next.set(id, this.progress.get(id) ?? this.newProgress(id));
    }
    this.progress = next;
  }

  private newProgress(id: NodeId): Progress {
    const progress = new Progress(id, this.log.lastIndex(), this.options.inflightMessagesMax);
    if (id === this.id) progress.match = this.log.lastIndex();
    return progress;
  }

  /** maybeSnapshot compacts the log once enough entries were applied since the last snapshot (§7). */
  private maybeSnapshot(): void {
    const previous = this.latestSnapshot?.index ?? 0;
    if (this.applied - previous < this.options.snapshotEveryEntries) return;
    const term = this.log.term(this.applied);
    assert(term !== undefined, "the applied entry is in the log");
    const snapshot: RaftSnapshot = { index: this.applied, term, config: this.config, data: this.sessions.snapshot() };
    // Entries since the previous snapshot stay in memory, so that a follower a
    // little behind gets entries rather than the whole snapshot.
    this.log.compact(Math.max(previous, this.log.snapshotIndex));
    this.latestSnapshot = snapshot;
    this.pendingSnapshotBytes = encodeSnapshot(snapshot);
    this.records = [];
    this.persistEntriesFrom(this.applied + 1);
    this.persistedHardState = undefined;
  }

  // ----------------------------------------------------------------- ticks

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(false);
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.transferee !== undefined) {
      this.transferElapsed++;
      if (this.transferElapsed >= (this.options.transferTimeoutTicks ?? this.options.electionTimeoutTicks)) {
        if (this.steppingDown) {
          this.becomeFollower(this.term, undefined);
          return;
        }
        this.abortTransfer();
      }
    }
    if (this.electionElapsed >= this.options.electionTimeoutTicks) {
      this.electionElapsed = 0;
      if (this.options.checkQuorum) {
        // Thesis §6.2: a leader that cannot reach a quorum for an election timeout steps down.
        if (!this.quorumActive()) {
          this.becomeFollower(this.term, undefined);
          return;
        }
        for (const [id, progress] of this.progress) progress.recentActive = id === this.id;
      }
    }
    for (const progress of this.progress.values()) {
      const waiting = progress.state === "replicate" && progress.match < this.log.lastIndex();
      progress.stalledTicks = waiting ? progress.stalledTicks + 1 : 0;
    }
    if (this.heartbeatElapsed >= this.options.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      // A lease is renewed by acknowledgements of messages sent at a known tick: give each round its own context.
      if (this.reads.tracksLeases) this.reads.newContext(this.ticks, this.confirmedReadContext());
      this.bcastHeartbeat();
    }
  }

  private quorumActive(): boolean {
    const votes = new Map<NodeId, boolean>();
    for (const [id, progress] of this.progress) votes.set(id, id === this.id || progress.recentActive);
    return jointVote(this.config.voters, this.config.outgoing, votes) === "won";
  }

  /**
   * inLease tells whether a leader may be serving lease reads that count on
   * this replica not voting (thesis §6.4.1; with check-quorum, §6.2, which
   * lease reads require): it heard from its leader within the election
   * timeout, or it restarted less than an election timeout ago. A restarted
   * replica forgot which leader it acknowledged and when, and that leader
   * may still count the acknowledgement towards its lease; waiting one
   * election timeout from the start outlasts any lease it could have
   * supported (thesis §4.2.3's rule applied across a restart; issue 21, bug 4).
   */
  private inLease(): boolean {
    if (!this.options.checkQuorum) return false;
    return this.leaderIsLive() || (this.restarted && this.ticks < this.options.electionTimeoutTicks);
  }

  /** leaderIsLive: this replica leads, or heard from its leader within the election timeout. */
  private leaderIsLive(): boolean {
    return this.leader !== undefined && this.electionElapsed < this.options.electionTimeoutTicks;
  }

  // -------------------------------------------------------------- elections

  private promotable(): boolean {
    return isVoter(this.config, this.id);
  }

  private hup(transfer: boolean): void {
    if (this.role === "leader" || !this.promotable()) return;
    this.startCampaign(transfer ? "transfer" : this.options.preVote ? "preElection" : "election");
  }

  private startCampaign(kind: Campaign): void {
    let voteTerm: number;
    if (kind === "preElection") {
      this.becomePreCandidate();
      voteTerm = this.term + 1;
    } else {
      this.becomeCandidate();
      voteTerm = this.term;
    }
    this.votes.set(this.id, true);
    if (this.poll() === "won") {
      if (kind === "preElection") this.startCampaign("election");
      else this.becomeLeader();
      return;
    }
    for (const id of sortedIds([...this.config.voters, ...this.config.outgoing])) {
      if (id === this.id) continue;
      this.send(id, {
        type: "requestVote",
        term: voteTerm,
        lastLogIndex: this.log.lastIndex(),
        lastLogTerm: this.log.lastTerm(),
        preVote: kind === "preElection",
        transfer: kind === "transfer",
      });
    }
  }

  private handleVoteResponse(from: NodeId, message: RaftVoteResponse): void {
    if (message.preVote !== (this.role === "preCandidate")) return;
    this.learnCommit(message.commit, message.commitTerm);
    if (!this.promotable()) {
      this.becomeFollower(this.term, undefined);
      return;
    }
    this.votes.set(from, !message.reject);
    const result = this.poll();
    switch (result) {
      case "won":
        if (this.role === "preCandidate") this.startCampaign("election");
        else this.becomeLeader();
        return;
      case "lost":
        this.becomeFollower(this.term, undefined);
        return;
      case "pending":
        return;
      default:
        unreachable(result);
    }
  }

  /**
   * learnCommit commits up to a voter's commit index if this log holds the
   * voter's entry there: by Log Matching (§5.3) the logs agree up to it. A
   * candidate whose configuration is stale learns this way that a newer one
   * is in force, which it could otherwise only learn from a leader that its
   * stale configuration may keep from being elected (a removed leader's
   * longer log refuses it, §5.4.1).
   */
  private learnCommit(commit: number, commitTerm: number): void {
    if (commit <= this.log.committed || commit > this.log.lastIndex() || !this.log.matchTerm(commit, commitTerm)) return;
    this.log.commitTo(commit);
    this.applyCommitted();
  }

  private poll(): VoteResult {
    return jointVote(this.config.voters, this.config.outgoing, this.votes);
  }

  // ------------------------------------------------------------ transitions

  private reset(term: number): void {
    if (term !== this.term) {
      assert(term > this.term, () => `term may not go back from ${this.term} to ${term}`);
      this.term = term;
      this.vote = undefined;
    }
    this.leader = undefined;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.options.electionTimeoutTicks + this.rng.nextInt(this.options.electionTimeoutTicks);
    this.abortTransfer();
    this.votes.clear();
    const progress = new Map<NodeId, Progress>();
    for (const id of members(this.config)) progress.set(id, this.newProgress(id));
    this.progress = progress;
    this.reads.reset();
    this.timeoutNowSent = false;
    this.steppingDown = false;
    this.needBroadcast = false;
    this.proposed.clear();
  }

  private becomeFollower(term: number, leader: NodeId | undefined): void {
    this.reset(term);
    this.leader = leader;
    this.role = "follower";
  }

  private becomePreCandidate(): void {
    assert(this.role !== "leader", "invalid transition: leader -> pre-candidate");
    // Thesis §9.6: a pre-candidate keeps its term and vote.
    this.votes.clear();
    this.leader = undefined;
    this.role = "preCandidate";
  }

  private becomeCandidate(): void {
    assert(this.role !== "leader", "invalid transition: leader -> candidate");
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = "candidate";
  }

  private becomeLeader(): void {
    assert(this.role === "candidate", () => `invalid transition: ${this.role} -> leader`);
    this.reset(this.term);
    this.leader = this.id;
    this.role = "leader";
    for (const [id, progress] of this.progress) {
      if (id === this.id) progress.becomeReplicate();
      progress.recentActive = true;
    }
    // Thesis §6.4: commit an entry of the new term at once, so that earlier
    // entries commit (§5.4.2) and reads and configuration changes may proceed.
    this.pendingConfigIndex = this.appendAsLeader([noopBody]);
  }

  private abortTransfer(): void {
    this.transferee = undefined;
    this.transferElapsed = 0;
  }

  // ----------------------------------------------------------------- misc

  private send(to: NodeId, message: RaftMessage): void {
    this.outbox.push({ to, message });
  }

  /** sendBeforeSync queues a message that promises nothing about this Ready's records (see earlyOutbox). */
  private sendBeforeSync(to: NodeId, message: RaftMessage): void {
    this.earlyOutbox.push({ to, message });
  }

  private countRejected(reason: RaftRejectionReason): void {
    this.rejected.count(reason);
  }

  private reportedRole(): ReplicaStatus["role"] {
    switch (this.role) {
      case "leader":
        return "leader";
      case "candidate":
      case "preCandidate":
        return "candidate";
      case "follower":
        return this.config.learners.includes(this.id) ? "learner" : "follower";
      default:
        return unreachable(this.role);
    }
  }

  /** recover rebuilds the replica from its snapshot and records (§5.1: term, vote and log survive crashes). */
  private recover(snapshotBytes: Uint8Array | undefined, records: readonly Uint8Array[]): void {
    if (snapshotBytes !== undefined) this.installSnapshot(decodeSnapshot(snapshotBytes));
    let hardState: HardState = { term: 0, vote: undefined, commit: 0 };
    for (const bytes of records) {
      const record = decodeRecord(bytes);
      if (record.type === "hardState") {
        hardState = record.hardState;
        continue;
      }
      const entry = record.entry;
      if (entry.index <= this.log.snapshotIndex) continue; // already in the snapshot
      if (entry.index > this.log.lastIndex() + 1) throw new CorruptionError(`raft log: entry record ${entry.index} leaves a gap after ${this.log.lastIndex()}`);
      this.log.append([entry]);
    }
    if (hardState.commit > this.log.lastIndex()) throw new CorruptionError(`raft log: commit ${hardState.commit} is beyond the last entry ${this.log.lastIndex()}`);
    // Invariant: a replica's term is at least the term of every entry it holds
    // (it appends only from a leader of its own term), and the hard state is
    // synced with the entries (§5.1). A lower recovered term means the storage
    // lost a synced hard state, as a snapshot that stood in for it once did:
    // voting again in that term could elect two leaders, so refuse to start.
    if (hardState.term < this.log.lastTerm()) {
      throw new CorruptionError(`raft log: recovered term ${hardState.term} is below the term ${this.log.lastTerm()} of the last entry ${this.log.lastIndex()}: the durable term and vote were lost`);
    }
    this.term = hardState.term;
    this.vote = hardState.vote;
    // A replica that never left term 0 never acknowledged a leader.
    this.restarted = hardState.term > 0;
    this.persistedHardState = hardState;
    this.log.commitTo(hardState.commit);
    this.switchToConfig(this.config);
    this.recovering = true;
    this.applyCommitted();
    this.recovering = false;
    this.becomeFollower(this.term, undefined);
  }
}
