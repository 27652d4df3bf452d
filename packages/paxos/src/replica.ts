import {
  type ClientRequestMessage,
  CorruptionError,
  type NodeId,
  type Outbound,
  type Ready,
  type Replica,
  type ReplicaContext,
  type ReplicaStatus,
  type Rejections,
  type Rng,
  RejectionCounter,
  assert,
  bytesEqual,
  parseConfig,
  readLevelOfCode,
  unreachable,
} from "@concord/core";
import { type KvCommand, decodeCommand, encodeResult } from "@concord/kv";
import { type PaxosBallot, ballotEquals, ballotFields, ballotOf, compareBallots, formatBallot, zeroBallot } from "./ballot.ts";
import {
  type PaxosAccept,
  type PaxosAccepted,
  type PaxosMessage,
  type PaxosNack,
  type PaxosPrepare,
  type PaxosPromise,
  type PaxosRecord,
  type KeyState,
  type SnapshotRecord,
  paxosRecordCodec,
} from "./messages.ts";
import { type PaxosOptions, paxosOptionsSchema } from "./options.ts";
import { type PaxosMessageRejection, type PaxosRejectionReason, validateMessage } from "./validate.ts";

/** PaxosCounters count what a replica proposed, learned and answered, for tests, reports and the swarm's hard paths. */
export interface PaxosCounters {
  /** ballotsStarted counts the ballots this replica ran phase 1 in, as a proposer. */
  ballotsStarted: number;
  /** valuesAdopted counts phase 2s in which this proposer proposed a value a promise reported instead of its own put's (PMS §2.2). */
  valuesAdopted: number;
  /** ballotsPreempted counts ballots this proposer gave up because an acceptor had promised a higher one (duelling proposers). */
  ballotsPreempted: number;
  /** ballotsTimedOut counts ballots this proposer gave up after attemptTimeoutTicks without a choice. */
  ballotsTimedOut: number;
  /** readsFinishedValue counts phase 2s run for reads alone, to finish a value a promise reported. */
  readsFinishedValue: number;
  /** readsOfNoValue counts reads answered "no value" after a majority promised and reported no acceptance. */
  readsOfNoValue: number;
  /** keysLearned counts the keys this replica learned a chosen value for (since it started). */
  keysLearned: number;
  /** refusedCommands counts client commands refused because a write-once register takes only get and put. */
  refusedCommands: number;
  /** droppedRequests counts client requests dropped because waitingRequestsMax requests were waiting. */
  droppedRequests: number;
}

/** AcceptedValue is what an acceptor accepted for a key: the ballot and the value. */
export interface AcceptedValue {
  /** ballot is the ballot the value was accepted in. */
  readonly ballot: PaxosBallot;
  /** value is the value accepted. */
  readonly value: Uint8Array;
}

/** Waiter is a client request waiting for its key's value. */
interface Waiter {
  readonly clientId: NodeId;
  readonly session: number;
  readonly sequence: number;
  /** put is the put's value; undefined for a get. */
  readonly put: Uint8Array | undefined;
}

/** Attempt is one ballot this replica runs as the proposer of a key. */
interface Attempt {
  readonly ballot: PaxosBallot;
  phase: "prepare" | "accept";
  readonly promisedBy: Set<NodeId>;
  /** highest is the highest-ballot acceptance the promises reported (PMS §2.2's "highest-numbered proposal"). */
  highest: AcceptedValue | undefined;
  /** value is the value proposed in phase 2. */
  value: Uint8Array | undefined;
  readonly acceptedBy: Set<NodeId>;
  /** covered are the gets that were waiting when the Prepare left: only they may be answered "no value" by this ballot. */
  readonly covered: ReadonlySet<Waiter>;
  readonly startedTick: number;
}

/** Instance is one key's single-decree Paxos, in all three roles. */
interface Instance {
  // Acceptor (durable).
  promised: PaxosBallot;
  accepted: AcceptedValue | undefined;
  // Learner.
  chosen: Uint8Array | undefined;
  // Proposer.
  highestRoundSeen: number;
  attempt: Attempt | undefined;
  waiters: Waiter[];
  /** failures counts this proposer's failed ballots in a row for the key, for its back-off. */
  failures: number;
  /** retryTick is the tick from which the proposer may start its next ballot (back-off). */
  retryTick: number;
}

/** SelfVote is this replica's own promise or acceptance, counted by its proposer once the Ready that persisted it is synced. */
type SelfVote =
  | { readonly kind: "promise"; readonly key: string; readonly ballot: PaxosBallot; readonly accepted: AcceptedValue | undefined }
  | { readonly kind: "accepted"; readonly key: string; readonly ballot: PaxosBallot };

/** backoffDoublingsMax caps the exponent of the back-off, so that the wait stays a safe integer. */
const backoffDoublingsMax = 16;

/** timeoutDoublingsMax caps how often a key's ballot timeout doubles after ballots that timed out in a row. */
const timeoutDoublingsMax = 10;

/**
 * PaxosReplica is one participant of single-decree Paxos (Lamport, Paxos Made
 * Simple §2), as proposer, acceptor and learner at once, with one instance of
 * the protocol per key of the KV store (as Cassandra runs one Paxos per
 * partition for its lightweight transactions). The first value chosen for a
 * key is the key's value for ever: a write-once register per key.
 *
 * - A client request names a key. A `put k v` or a `get k` of a key whose value
 *   this replica knows is answered at once with that value. Otherwise the
 *   replica that received the request proposes for the key (there is no
 *   leader): phase 1 in a ballot (round, node id) above every round it has seen
 *   for the key, then phase 2 with the highest-ballot value a majority's
 *   promises reported, or else the first waiting put's value.
 * - A get with no value known runs phase 1 too: if a majority promised and
 *   none accepted anything, the key has no value (see answerReadsOfNoValue);
 *   if a promise reported a value, the get finishes it with phase 2.
 * - Acceptor state (the promised ballot, the accepted ballot and value, per
 *   key) is persisted in the same Ready as the Promise or Accepted that reveals
 *   it, so it is synced before the message leaves (PMS §2.5). The proposer's
 *   own promise and acceptance count only once synced (in `advance`).
 * - Learning (PMS §2.3): the proposer that counted a majority of acceptances
 *   sends the value to every other replica; an acceptor that knows a key's
 *   value answers a Prepare or Accept for it with that value. Learned values
 *   are not persisted: a restarted replica learns them again by phase 1.
 * - Liveness: a ballot preempted by a higher one, or unfinished after
 *   attemptTimeoutTicks, is retried after a random back-off that doubles with
 *   each failure (PMS §2.4: duelling proposers can otherwise starve each other).
 *
 * A retried request needs no session table: a put's answer is the key's
 * chosen value, the same however often it is asked, and a get has no effect.
 *
 * Invariant: a key's `chosen` never changes once set, and every acceptance an
 * instance holds is in a ballot no higher than its promise.
 */
export class PaxosReplica implements Replica<PaxosMessage> {
  /** id is this replica's node id. */
  readonly id: NodeId;
  private readonly options: PaxosOptions;
  private readonly rng: Rng;
  private readonly replicas: readonly NodeId[];
  private readonly replicaSet: ReadonlySet<NodeId>;
  private readonly peers: readonly NodeId[];
  private readonly majority: number;
  private readonly rejected = new RejectionCounter<PaxosRejectionReason>();
  private readonly counters: PaxosCounters = {
    ballotsStarted: 0,
    valuesAdopted: 0,
    ballotsPreempted: 0,
    ballotsTimedOut: 0,
    readsFinishedValue: 0,
    readsOfNoValue: 0,
    keysLearned: 0,
    refusedCommands: 0,
    droppedRequests: 0,
  };

  private readonly instances = new Map<string, Instance>();
  /** learnedOrder lists the keys whose value this replica learned, in the order it learned them (for monitors). */
  private readonly learnedOrder: string[] = [];
  /** active lists the keys with waiting requests, in the order they became active, so that tick visits only them. */
  private readonly active = new Set<string>();
  private waitingCount = 0;
  /** epochRound is the highest round this replica's acceptors promised for any key (durable, so it never goes back). */
  private epochRound = 0;
  private now = 0;
  /** recordsSinceSnapshot counts the records written since the last snapshot (or since boot). */
  private recordsSinceSnapshot = 0;

  // Output buffers.
  private persist: Uint8Array[] = [];
  private outbox: Outbound<PaxosMessage>[] = [];
  private selfVotes: SelfVote[] = [];
  /** The self votes of each Ready handed out, keyed by its persist list, until advance() reports it synced. */
  private readonly selfVotesOf = new WeakMap<readonly Uint8Array[], SelfVote[]>();

  constructor(context: ReplicaContext) {
    assert(context.replicas.length > 0, "a cluster needs at least one replica");
    assert(context.replicas.includes(context.id), `replica ${context.id} is not among the replicas ${context.replicas.join(",")}`);
    this.id = context.id;
    this.options = parseConfig(paxosOptionsSchema, context.options, "paxos");
    this.rng = context.rng;
    this.replicas = [...context.replicas];
    this.replicaSet = new Set(this.replicas);
    this.peers = this.replicas.filter((replica) => replica !== this.id);
    this.majority = Math.floor(this.replicas.length / 2) + 1;
    if (context.durable.snapshot !== undefined) this.restore(paxosRecordCodec.decode(context.durable.snapshot));
    for (const bytes of context.durable.records) this.recover(paxosRecordCodec.decode(bytes));
    this.recordsSinceSnapshot = context.durable.records.length;
  }

  /** tick advances the clock: a proposer gives up a ballot that took too long, and starts the next one once its back-off is over. */
  tick(): void {
    this.now++;
    for (const key of this.active) {
      const instance = this.instanceOf(key);
      const attempt = instance.attempt;
      if (attempt !== undefined && this.now - attempt.startedTick >= this.attemptTimeoutTicks(instance)) {
        this.counters.ballotsTimedOut++;
        this.giveUp(instance);
      }
      if (instance.attempt === undefined && this.now >= instance.retryTick) this.startBallot(key, instance);
    }
  }

  /** step handles one message from a peer or a client; a message that fails validation is counted and changes nothing. */
  step(from: NodeId, message: PaxosMessage): void {
    const rejection = validateMessage(from, message, this.id, this.replicaSet) ?? this.replyError(message);
    if (rejection !== undefined) {
      this.rejected.count(rejection.reason);
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
      case "chosen":
        return this.learn(message.key, this.instanceOf(message.key), message.value, false);
      case "clientReply":
      case "notLeader":
        // validateMessage refuses replies: only clients receive them.
        return;
      default:
        return unreachable(message);
    }
  }

  /** ready hands out the records to sync and the messages to send after them. */
  ready(): Ready<PaxosMessage> | undefined {
    if (this.persist.length === 0 && this.outbox.length === 0) return undefined;
    let snapshot: Uint8Array | undefined;
    this.recordsSinceSnapshot += this.persist.length;
    if (this.persist.length > 0 && this.recordsSinceSnapshot >= this.options.compactEveryRecords) {
      // The snapshot holds every key's state now, these records' changes included: it replaces them and all before.
      snapshot = paxosRecordCodec.encode(this.snapshotRecord());
      this.persist = [];
      this.recordsSinceSnapshot = 0;
    }
    const ready: Ready<PaxosMessage> = { snapshot, persist: this.persist, messages: this.outbox };
    if (this.selfVotes.length > 0) this.selfVotesOf.set(this.persist, this.selfVotes);
    // Handing the buffers out (rather than clearing them in advance) keeps a step between ready() and advance() from losing output.
    this.persist = [];
    this.outbox = [];
    this.selfVotes = [];
    return ready;
  }

  /**
   * advance counts this replica's own promises and acceptances that `done`
   * made durable. The proposer is one of the acceptors, and an acceptor's
   * promise or acceptance exists only once it is in stable storage (PMS §2.5):
   * counted before the sync, a crash could lose a vote that chose a value.
   */
  advance(done: Ready<PaxosMessage>): void {
    const votes = this.selfVotesOf.get(done.persist);
    if (votes === undefined) return;
    this.selfVotesOf.delete(done.persist);
    for (const vote of votes) {
      const instance = this.instanceOf(vote.key);
      if (vote.kind === "promise") this.countPromise(vote.key, instance, this.id, vote.ballot, vote.accepted);
      else this.countAcceptance(vote.key, instance, this.id, vote.ballot);
    }
  }

  /**
   * status reports the role ("candidate" while this replica proposes for some
   * key, "follower" otherwise: single-decree Paxos has no leader), the highest
   * round its acceptors promised as epoch, and as commit and applied index the
   * number of keys whose value it has learned.
   */
  status(): ReplicaStatus {
    return {
      id: this.id,
      role: this.proposing() ? "candidate" : "follower",
      epoch: this.epochRound,
      leader: undefined,
      commitIndex: this.counters.keysLearned,
      appliedIndex: this.counters.keysLearned,
    };
  }

  /** stats returns a copy of the replica's counters. */
  stats(): PaxosCounters {
    return { ...this.counters };
  }

  /** rejections counts the messages this replica refused unapplied, by reason. */
  rejections(): Rejections<PaxosRejectionReason> {
    return this.rejected;
  }

  /** promisedBallot is the acceptor's promised ballot for `key` (for tests and monitors). */
  promisedBallot(key: string): PaxosBallot {
    return this.instances.get(key)?.promised ?? zeroBallot;
  }

  /** acceptedFor returns what the acceptor accepted for `key`, if anything (for tests and monitors). */
  acceptedFor(key: string): AcceptedValue | undefined {
    return this.instances.get(key)?.accepted;
  }

  /** chosenFor returns the value this replica learned chosen for `key`, if it did. */
  chosenFor(key: string): Uint8Array | undefined {
    return this.instances.get(key)?.chosen;
  }

  /** learnedKeys lists the keys this replica has learned a value for since it started, in the order it learned them. */
  learnedKeys(): readonly string[] {
    return this.learnedOrder;
  }

  /** replicaIds lists the cluster's replicas, whose majorities choose (for monitors). */
  replicaIds(): readonly NodeId[] {
    return this.replicas;
  }

  // ----- clients -----------------------------------------------------------

  private onRequest(request: ClientRequestMessage): void {
    let command: KvCommand;
    try {
      command = decodeCommand(request.command);
    } catch (error) {
      if (!(error instanceof CorruptionError)) throw error;
      return this.reply(request, encodeResult({ type: "invalid", reason: error.message }));
    }
    if (command.type !== "get" && command.type !== "put") {
      // A write-once register has no read-modify-write: applying cas, append or delete to a chosen value would need a log (Multi-Paxos).
      this.counters.refusedCommands++;
      return this.reply(request, encodeResult({ type: "invalid", reason: `paxos keeps a write-once register per key: it takes get and put, not ${command.type}` }));
    }
    const instance = this.instanceOf(command.key);
    const put = command.type === "put" ? command.value : undefined;
    if (instance.chosen !== undefined) return this.reply(request, answerFor(put !== undefined, instance.chosen));
    // A stale get answers at once with what this replica has learned, nothing yet here, without a ballot.
    if (command.type === "get" && request.readOnly && readLevelOfCode(request.readLevel) === "stale") return this.reply(request, encodeResult({ type: "get", value: undefined }));
    // A retry that reaches the replica where its first send still waits waits once.
    if (instance.waiters.some((waiter) => waiter.session === request.session && waiter.sequence === request.sequence)) return;
    if (this.waitingCount >= this.options.waitingRequestsMax) {
      this.counters.droppedRequests++;
      return;
    }
    instance.waiters.push({ clientId: request.clientId, session: request.session, sequence: request.sequence, put });
    this.waitingCount++;
    this.active.add(command.key);
    if (instance.attempt === undefined && this.now >= instance.retryTick) this.startBallot(command.key, instance);
  }

  private reply(request: Pick<ClientRequestMessage, "clientId" | "session" | "sequence">, result: Uint8Array): void {
    this.outbox.push({ to: request.clientId, message: { type: "clientReply", session: request.session, sequence: request.sequence, result } });
  }

  // ----- proposer ----------------------------------------------------------

  /**
   * startBallot runs phase 1 for `key` in a ballot above every round this
   * replica has seen for it. Its own acceptor promises the ballot in the same
   * Ready as the Prepares: the durable promise is also what keeps a restarted
   * proposer from using a ballot twice (it picks a round above it).
   */
  private startBallot(key: string, instance: Instance): void {
    const round = Math.max(instance.highestRoundSeen, instance.promised.round) + 1;
    const ballot: PaxosBallot = { round, node: this.id };
    this.counters.ballotsStarted++;
    instance.highestRoundSeen = round;
    instance.attempt = {
      ballot,
      phase: "prepare",
      promisedBy: new Set(),
      highest: undefined,
      value: undefined,
      acceptedBy: new Set(),
      covered: new Set(instance.waiters.filter((waiter) => waiter.put === undefined)),
      startedTick: this.now,
    };
    this.promise(key, instance, ballot);
    this.selfVotes.push({ kind: "promise", key, ballot, accepted: instance.accepted });
    for (const peer of this.peers) this.outbox.push({ to: peer, message: { type: "prepare", key, ...ballotFields(ballot) } });
  }

  private onPromise(from: NodeId, promise: PaxosPromise): void {
    const instance = this.instanceOf(promise.key);
    const accepted = promise.hasAccepted ? { ballot: { round: promise.acceptedRound, node: promise.acceptedNode }, value: promise.acceptedValue } : undefined;
    this.countPromise(promise.key, instance, from, ballotOf(promise), accepted);
  }

  private countPromise(key: string, instance: Instance, from: NodeId, ballot: PaxosBallot, accepted: AcceptedValue | undefined): void {
    const attempt = instance.attempt;
    if (attempt === undefined || attempt.phase !== "prepare" || !ballotEquals(attempt.ballot, ballot)) return; // a late promise for a ballot given up
    attempt.promisedBy.add(from);
    if (accepted !== undefined && (attempt.highest === undefined || compareBallots(accepted.ballot, attempt.highest.ballot) > 0)) attempt.highest = accepted;
    if (attempt.promisedBy.size >= this.majority) this.finishPhase1(key, instance, attempt);
  }

  /**
   * finishPhase1 picks the value of phase 2 once a majority promised (PMS
   * §2.2): the value of the highest-ballot acceptance the promises reported,
   * or, when none reported one, the first waiting put's own value. With
   * neither, only gets wait, and the key has no value (answerReadsOfNoValue).
   */
  private finishPhase1(key: string, instance: Instance, attempt: Attempt): void {
    const firstPut = instance.waiters.find((waiter) => waiter.put !== undefined)?.put;
    let value: Uint8Array;
    if (attempt.highest !== undefined) {
      value = attempt.highest.value;
      if (firstPut === undefined) this.counters.readsFinishedValue++;
      else if (!bytesEqual(firstPut, value)) this.counters.valuesAdopted++;
    } else if (firstPut !== undefined) {
      value = firstPut;
    } else {
      this.answerReadsOfNoValue(key, instance, attempt);
      return;
    }
    // The own acceptor promised this ballot when it began; a higher promise since dooms the ballot.
    if (compareBallots(instance.promised, attempt.ballot) !== 0) {
      this.counters.ballotsPreempted++;
      this.giveUp(instance);
      return;
    }
    attempt.phase = "accept";
    attempt.value = value;
    this.accept(key, instance, attempt.ballot, value);
    this.selfVotes.push({ kind: "accepted", key, ballot: attempt.ballot });
    for (const peer of this.peers) this.outbox.push({ to: peer, message: { type: "accept", key, ...ballotFields(attempt.ballot), value } });
  }

  /**
   * answerReadsOfNoValue answers "no value" to the gets that were waiting when
   * this ballot's Prepares left, once a majority promised the ballot and none
   * had accepted anything. That is linearizable: at the moment the first of
   * those promises was given (after every such get was invoked) no value was
   * chosen. Had one been chosen by then, a majority would have accepted it,
   * and that majority shares an acceptor with the promising one, which would
   * have accepted before it promised and reported the acceptance. A value
   * chosen later is chosen after that moment, so the get is ordered before it.
   * Gets that came while phase 1 ran are not covered (a promise may predate
   * them) and wait for the next ballot, which starts at once.
   */
  private answerReadsOfNoValue(key: string, instance: Instance, attempt: Attempt): void {
    const noValue = encodeResult({ type: "get", value: undefined });
    const still: Waiter[] = [];
    for (const waiter of instance.waiters) {
      if (attempt.covered.has(waiter)) {
        this.counters.readsOfNoValue++;
        this.reply(waiter, noValue);
      } else still.push(waiter);
    }
    this.waitingCount -= instance.waiters.length - still.length;
    instance.waiters = still;
    instance.attempt = undefined;
    instance.failures = 0;
    if (still.length === 0) this.active.delete(key);
    else this.startBallot(key, instance);
  }

  private onAccepted(from: NodeId, accepted: PaxosAccepted): void {
    this.countAcceptance(accepted.key, this.instanceOf(accepted.key), from, ballotOf(accepted));
  }

  private countAcceptance(key: string, instance: Instance, from: NodeId, ballot: PaxosBallot): void {
    const attempt = instance.attempt;
    if (attempt === undefined || attempt.phase !== "accept" || !ballotEquals(attempt.ballot, ballot) || attempt.value === undefined) return;
    attempt.acceptedBy.add(from);
    // PMS §2.3: a value accepted by a majority in one ballot is chosen; the proposer that counted it tells the learners.
    if (attempt.acceptedBy.size >= this.majority) this.learn(key, instance, attempt.value, true);
  }

  private onNack(nack: PaxosNack): void {
    const instance = this.instanceOf(nack.key);
    instance.highestRoundSeen = Math.max(instance.highestRoundSeen, nack.promisedRound);
    const attempt = instance.attempt;
    if (attempt === undefined || !ballotEquals(attempt.ballot, ballotOf(nack))) return;
    // Another proposer's higher ballot preempted this one (PMS §2.4's duel): back off, then try above it.
    this.counters.ballotsPreempted++;
    this.giveUp(instance);
  }

  /**
   * attemptTimeoutTicks is how long a ballot of the key may run: the option,
   * doubled for each failed ballot in a row. A fixed timeout shorter than a
   * round trip would give up every ballot before its promises arrive, for ever.
   */
  private attemptTimeoutTicks(instance: Instance): number {
    return this.options.attemptTimeoutTicks * 2 ** Math.min(instance.failures, timeoutDoublingsMax);
  }

  /** giveUp abandons the running ballot and sets a random back-off, doubling with each failure in a row, before the next (PMS §2.4). */
  private giveUp(instance: Instance): void {
    instance.attempt = undefined;
    instance.failures++;
    const spanTicks = Math.min(this.options.backoffTicksMax, this.options.backoffTicksBase * 2 ** Math.min(instance.failures, backoffDoublingsMax));
    instance.retryTick = this.now + 1 + this.rng.nextInt(spanTicks);
  }

  /**
   * deferTo steps aside for another proposer whose ballot this replica's
   * acceptor just promised or accepted: its own lower ballot is doomed (its
   * acceptor will refuse it), and a ballot of its own started now would only
   * preempt the other's. So it leaves the other a whole ballot's time before
   * it tries, and tries then only if no value was learned meanwhile. Random
   * back-off alone (PMS §2.4) can livelock when it is short and every replica
   * proposes, as when clients retry at every replica.
   */
  private deferTo(instance: Instance, ballot: PaxosBallot): void {
    if (ballot.node === this.id) return;
    if (instance.attempt !== undefined && compareBallots(instance.attempt.ballot, ballot) < 0) {
      this.counters.ballotsPreempted++;
      this.giveUp(instance);
    }
    if (instance.attempt === undefined) instance.retryTick = Math.max(instance.retryTick, this.now + this.attemptTimeoutTicks(instance));
  }

  private proposing(): boolean {
    for (const key of this.active) if (this.instances.get(key)?.attempt !== undefined) return true;
    return false;
  }

  // ----- acceptor ----------------------------------------------------------

  /**
   * onPrepare promises a ballot at least as high as any promised before for
   * the key (PMS §2.2: never to accept a lower one), and reports the last
   * acceptance; a lower ballot gets a Nack. An acceptor that knows the key's
   * value answers with the value instead: it is chosen, and phase 1 could only
   * find it again.
   */
  private onPrepare(from: NodeId, prepare: PaxosPrepare): void {
    const instance = this.instanceOf(prepare.key);
    const ballot = ballotOf(prepare);
    instance.highestRoundSeen = Math.max(instance.highestRoundSeen, ballot.round);
    if (instance.chosen !== undefined) return this.send(from, { type: "chosen", key: prepare.key, value: instance.chosen });
    if (compareBallots(ballot, instance.promised) < 0) return this.send(from, this.nack(prepare.key, ballot, instance.promised));
    this.deferTo(instance, ballot);
    this.promise(prepare.key, instance, ballot);
    const accepted = instance.accepted;
    this.send(from, {
      type: "promise",
      key: prepare.key,
      ...ballotFields(ballot),
      hasAccepted: accepted !== undefined,
      acceptedRound: accepted?.ballot.round ?? 0,
      acceptedNode: accepted?.ballot.node ?? 0,
      acceptedValue: accepted?.value ?? new Uint8Array(0),
    });
  }

  /** onAccept accepts a value in a ballot no lower than the key's promise (PMS §2.2), persisting it before the Accepted leaves. */
  private onAccept(from: NodeId, accept: PaxosAccept): void {
    const instance = this.instanceOf(accept.key);
    const ballot = ballotOf(accept);
    instance.highestRoundSeen = Math.max(instance.highestRoundSeen, ballot.round);
    if (instance.chosen !== undefined) return this.send(from, { type: "chosen", key: accept.key, value: instance.chosen });
    if (compareBallots(ballot, instance.promised) < 0) return this.send(from, this.nack(accept.key, ballot, instance.promised));
    this.deferTo(instance, ballot);
    this.accept(accept.key, instance, ballot, accept.value);
    this.send(from, { type: "accepted", key: accept.key, ...ballotFields(ballot) });
  }

  /** promise records a promise of `ballot` for the key, durable in the Ready that carries the message revealing it. */
  private promise(key: string, instance: Instance, ballot: PaxosBallot): void {
    if (compareBallots(ballot, instance.promised) === 0) return; // a duplicated Prepare: promised and persisted already
    assert(compareBallots(ballot, instance.promised) > 0, () => `paxos: key ${key} would promise ${formatBallot(ballot)} below its promise ${formatBallot(instance.promised)}`);
    instance.promised = ballot;
    this.epochRound = Math.max(this.epochRound, ballot.round);
    this.persist.push(paxosRecordCodec.encode({ type: "promise", key, ...ballotFields(ballot) }));
  }

  /** accept records an acceptance, which promises its ballot too, durable in the Ready that carries the message revealing it. */
  private accept(key: string, instance: Instance, ballot: PaxosBallot, value: Uint8Array): void {
    assert(compareBallots(ballot, instance.promised) >= 0, () => `paxos: key ${key} would accept in ${formatBallot(ballot)} below its promise ${formatBallot(instance.promised)}`);
    instance.promised = ballot;
    instance.accepted = { ballot, value };
    this.epochRound = Math.max(this.epochRound, ballot.round);
    this.persist.push(paxosRecordCodec.encode({ type: "acceptance", key, ...ballotFields(ballot), value }));
  }

  private nack(key: string, ballot: PaxosBallot, promised: PaxosBallot): PaxosNack {
    return { type: "nack", key, ...ballotFields(ballot), promisedRound: promised.round, promisedNode: promised.node };
  }

  // ----- learner -----------------------------------------------------------

  /**
   * learn records the key's chosen value and answers every request waiting
   * for it: a put's answer is the chosen value (its own or an earlier put's),
   * a get's too. `tell` sends the value to the other learners (PMS §2.3).
   */
  private learn(key: string, instance: Instance, value: Uint8Array, tell: boolean): void {
    if (instance.chosen !== undefined) {
      assert(bytesEqual(instance.chosen, value), () => `paxos: key ${key} learned a second chosen value: only one value is ever chosen (PMS §2.1)`);
      return;
    }
    instance.chosen = value;
    this.learnedOrder.push(key);
    this.counters.keysLearned++;
    for (const waiter of instance.waiters) this.reply(waiter, answerFor(waiter.put !== undefined, value));
    this.waitingCount -= instance.waiters.length;
    instance.waiters = [];
    instance.attempt = undefined;
    instance.failures = 0;
    this.active.delete(key);
    if (tell) for (const peer of this.peers) this.outbox.push({ to: peer, message: { type: "chosen", key, value } });
  }

  // ----- plumbing ----------------------------------------------------------

  /**
   * replyError refuses a Promise, Accepted or Nack for a ballot of this
   * replica's that it never used. Its own acceptor promises each ballot it
   * proposes in before any message of that ballot leaves, and promises only
   * grow, so a ballot above the key's promise was never used.
   */
  private replyError(message: PaxosMessage): PaxosMessageRejection | undefined {
    if (message.type !== "promise" && message.type !== "accepted" && message.type !== "nack") return undefined;
    const ballot = ballotOf(message);
    const promised = this.instances.get(message.key)?.promised ?? zeroBallot;
    if (compareBallots(ballot, promised) > 0) {
      return { reason: "unaskedReply", detail: `${message.type} for key ${JSON.stringify(message.key)} in ballot ${formatBallot(ballot)}, which this replica never used` };
    }
    return undefined;
  }

  private send(to: NodeId, message: PaxosMessage): void {
    this.outbox.push({ to, message });
  }

  private instanceOf(key: string): Instance {
    let instance = this.instances.get(key);
    if (instance === undefined) {
      instance = { promised: zeroBallot, accepted: undefined, chosen: undefined, highestRoundSeen: 0, attempt: undefined, waiters: [], failures: 0, retryTick: 0 };
      this.instances.set(key, instance);
    }
    return instance;
  }

  /** snapshotRecord captures every key's durable state: promise, acceptance, and the chosen value once learned. */
  private snapshotRecord(): SnapshotRecord {
    const keys: KeyState[] = [];
    for (const [key, instance] of this.instances) {
      if (instance.promised.round === 0 && instance.accepted === undefined && instance.chosen === undefined) continue;
      keys.push({
        key,
        promisedRound: instance.promised.round,
        promisedNode: instance.promised.node,
        hasAccepted: instance.accepted !== undefined,
        acceptedRound: instance.accepted?.ballot.round ?? 0,
        acceptedNode: instance.accepted?.ballot.node ?? 0,
        acceptedValue: instance.accepted?.value ?? new Uint8Array(0),
        hasChosen: instance.chosen !== undefined,
        chosenValue: instance.chosen ?? new Uint8Array(0),
      });
    }
    return { type: "snapshot", keys };
  }

  /** restore loads a snapshot: every key's promise and acceptance, and the values learned before it was taken. */
  private restore(record: PaxosRecord): void {
    if (record.type !== "snapshot") throw new CorruptionError(`paxos: the durable snapshot holds a ${record.type} record`);
    for (const state of record.keys) {
      const instance = this.instanceOf(state.key);
      instance.promised = { round: state.promisedRound, node: state.promisedNode };
      instance.accepted = state.hasAccepted ? { ballot: { round: state.acceptedRound, node: state.acceptedNode }, value: state.acceptedValue } : undefined;
      if (instance.accepted !== undefined && compareBallots(instance.accepted.ballot, instance.promised) > 0) {
        throw new CorruptionError(`paxos: snapshot of key ${JSON.stringify(state.key)} holds an acceptance above its promise`);
      }
      instance.highestRoundSeen = state.promisedRound;
      this.epochRound = Math.max(this.epochRound, state.promisedRound);
      if (state.hasChosen) {
        instance.chosen = state.chosenValue;
        this.learnedOrder.push(state.key);
        this.counters.keysLearned++;
      }
    }
  }

  /** recover replays one durable record: the highest promise and the latest acceptance per key. */
  private recover(record: PaxosRecord): void {
    if (record.type === "snapshot") throw new CorruptionError("paxos: a snapshot among the records, where only promises and acceptances are written");
    const instance = this.instanceOf(record.key);
    const ballot = ballotOf(record);
    if (compareBallots(ballot, instance.promised) > 0) instance.promised = ballot;
    if (record.type === "acceptance" && (instance.accepted === undefined || compareBallots(ballot, instance.accepted.ballot) >= 0)) {
      instance.accepted = { ballot, value: record.value };
    }
    instance.highestRoundSeen = Math.max(instance.highestRoundSeen, ballot.round);
    this.epochRound = Math.max(this.epochRound, ballot.round);
  }
}

/** answerFor encodes the answer to a put or a get of a key whose value is `value`. */
function answerFor(put: boolean, value: Uint8Array): Uint8Array {
  return encodeResult(put ? { type: "put", value } : { type: "get", value });
}
