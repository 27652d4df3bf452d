import {
  type ClientRequestMessage,
  type NodeId,
  type Ready,
  type Rejections,
  type Replica,
  type ReplicaContext,
  type ReplicaStatus,
  ConfigError,
  RejectionCounter,
  assert,
  parseConfig,
  unreachable,
} from "@concord/core";
import { type KvCommand, type KvResult, decodeCommand } from "@concord/kv";
import type { LeaderlessEntry, LeaderlessMessage } from "./messages.ts";
import { type QuorumOptions, quorumOptionsSchema } from "./options.ts";
import { LeaderlessCore } from "./replica-core.ts";
import { compareStamps } from "./stamp.ts";

/** QuorumRejectionReason names why a replica of `quorum` refused a message unapplied. */
export type QuorumRejectionReason = "replyToReplica" | "requestNotFromClient" | "peerMessageFromStranger" | "stampFromStranger";

/** QuorumCounters count what a replica of `quorum` coordinated, repaired and refused, for tests and reports. */
export interface QuorumCounters {
  /** writesTaken counts the puts and deletes this replica stamped as coordinator. */
  writesTaken: number;
  /** writesAnswered counts the puts and deletes this replica answered after W acknowledgements. */
  writesAnswered: number;
  /** readsAnswered counts the gets this replica answered after R replies (and, when atomic, the write-back). */
  readsAnswered: number;
  /** readRepairs counts the entries sent to repliers of a read that held an older one. */
  readRepairs: number;
  /** writeBacks counts the atomic reads that wrote back the entry they returned. */
  writeBacks: number;
  /** entriesMerged counts entries heard from peers that were newer than what this replica held. */
  entriesMerged: number;
  /** operationsTimedOut counts the operations dropped unanswered after `operationTimeoutTicks`. */
  operationsTimedOut: number;
  /** operationsRefusedBusy counts client requests dropped because `maxPendingOperations` were unfinished. */
  operationsRefusedBusy: number;
  /** refusedCommands counts client commands refused because the store offers get, put and delete only. */
  refusedCommands: number;
  /** retriesAnswered counts retried requests answered from the client table. */
  retriesAnswered: number;
}

/**
 * Phase is where a coordinated operation stands: `read` waits for R replies to a QuorumRead (a get, or an atomic
 * write's query of the highest stamp), `write` for W acknowledgements of a QuorumWrite (a put or delete, or an
 * atomic get's write-back).
 */
type Phase = "read" | "write";

/** Pending is one operation this replica coordinates. */
interface Pending {
  readonly request: ClientRequestMessage;
  readonly command: KvCommand & { type: "get" | "put" | "delete" };
  phase: Phase;
  /** entry is what the write phase writes; the read phase's highest reply once it completes. */
  entry: LeaderlessEntry | undefined;
  /** replies maps each replica heard in the read phase to the entry it held (undefined: none). */
  readonly replies: Map<NodeId, LeaderlessEntry | undefined>;
  /** acks holds the replicas that acknowledged the write phase; this replica's own once its record is synced. */
  readonly acks: Set<NodeId>;
  /** result answers the client once the last phase completes. */
  result: KvResult | undefined;
  readonly startedTick: number;
  lastSentTick: number;
}

/** refusal is the answer to a command the store cannot make atomic without consensus. */
const refusal: KvResult = { type: "invalid", reason: "quorum offers get, put and delete only: cas and append cannot be made atomic without consensus" };

/** majorityOf is the smallest majority of n. */
function majorityOf(n: number): number {
  return Math.floor(n / 2) + 1;
}

/**
 * QuorumReplica is one replica of `quorum`, Dynamo-style leaderless replication (DeCandia et al., "Dynamo: Amazon's
 * Highly Available Key-value Store", 2007, §4.5): the replica a client reaches coordinates its operation.
 *
 * - put/delete: stamped by the coordinator's hybrid logical clock and node id (as `eventual`), kept locally, sent to
 *   every peer; answered after W acknowledgements, the coordinator's own counting once its record is synced.
 * - get: asks every replica (the coordinator reads its own store at once), answers after R replies with the
 *   highest-stamped entry; read repair sends that entry to the repliers that held an older one.
 * - `atomic`: multi-writer ABD (Attiya, Bar-Noy, Dolev 1995; Lynch & Shvartsman 1997): a write first queries a
 *   quorum for the highest stamp of its key and stamps above it; a read writes back the entry it returns to a write
 *   quorum before answering. Both quorums are at least a majority, whatever r and w say, so any two intersect.
 * - Anti-entropy as `eventual` (push-pull digests), so that a write that reached only W replicas still reaches all
 *   once the network allows: what the convergence monitor checks.
 * - Unanswered phases are resent every `resendTicks` to the replicas that have not answered, and dropped after
 *   `operationTimeoutTicks`; at most `maxPendingOperations` are unfinished at once.
 *
 * Invariant: every entry the store holds has been persisted in this or an earlier Ready, every answer leaves after
 * the Ready's records are synced, and the clock is past every stamp the store holds.
 */
export class QuorumReplica implements Replica<LeaderlessMessage> {
  /** id is this replica's node id. */
  readonly id: NodeId;
  private readonly options: QuorumOptions;
  private readonly core: LeaderlessCore;
  /** readQuorum and writeQuorum are R and W as this replica applies them (at least a majority when atomic). */
  private readonly readQuorum: number;
  private readonly writeQuorum: number;
  private readonly pending = new Map<number, Pending>();
  private readonly rejected = new RejectionCounter<QuorumRejectionReason>();
  private readonly counters: QuorumCounters = {
    writesTaken: 0,
    writesAnswered: 0,
    readsAnswered: 0,
    readRepairs: 0,
    writeBacks: 0,
    entriesMerged: 0,
    operationsTimedOut: 0,
    operationsRefusedBusy: 0,
    refusedCommands: 0,
    retriesAnswered: 0,
  };
  private nextOp = 1;
  /** ownAcks are the write phases whose local record goes into the next Ready: this replica acknowledges them once it is synced. */
  private ownAcks: number[] = [];
  /** syncingAcks are the ownAcks of the Ready handed out and not yet advanced. */
  private syncingAcks: number[] = [];

  constructor(context: ReplicaContext) {
    assert(context.replicas.includes(context.id), `replica ${context.id} is not among the replicas ${context.replicas.join(",")}`);
    this.id = context.id;
    this.options = parseConfig(quorumOptionsSchema, context.options, "quorum");
    const n = context.replicas.length;
    const r = this.options.r ?? majorityOf(n);
    const w = this.options.w ?? majorityOf(n);
    // Strict quorums only: a quorum larger than the cluster could never gather (sloppy quorums are out of scope).
    if (r > n) throw new ConfigError("quorum.r", `r=${r} exceeds the ${n} replicas (strict quorums only)`);
    if (w > n) throw new ConfigError("quorum.w", `w=${w} exceeds the ${n} replicas (strict quorums only)`);
    this.readQuorum = this.options.atomic ? Math.max(r, majorityOf(n)) : r;
    this.writeQuorum = this.options.atomic ? Math.max(w, majorityOf(n)) : w;
    this.core = new LeaderlessCore(context, this.options);
  }

  /** tick advances the clock, resends or drops overdue operations, and opens an anti-entropy round when one is due. */
  tick(): void {
    this.core.advanceClock();
    for (const [op, pending] of this.pending) {
      if (this.core.now - pending.startedTick >= this.options.operationTimeoutTicks) {
        // Unanswered: the client reports it indeterminate; a write may still have reached some replicas.
        this.pending.delete(op);
        this.counters.operationsTimedOut++;
      } else if (this.core.now - pending.lastSentTick >= this.options.resendTicks) {
        this.sendPhase(op, pending);
      }
    }
    this.core.openRoundIfDue();
  }

  /** step handles one message from a client or a peer; a message that fails validation is counted and changes nothing. */
  step(from: NodeId, message: LeaderlessMessage): void {
    const rejection = this.validate(from, message);
    if (rejection !== undefined) {
      this.rejected.count(rejection);
      return;
    }
    switch (message.type) {
      case "clientRequest":
        return this.onRequest(message);
      case "quorumRead": {
        const held = this.core.store.get(message.key);
        this.core.outbox.push({ to: from, message: { type: "quorumReadReply", op: message.op, entries: held === undefined ? [] : [held] } });
        return;
      }
      case "quorumReadReply":
        return this.onReadReply(from, message.op, message.entries[0]);
      case "quorumWrite":
        if (this.core.take(message.entry)) this.counters.entriesMerged++;
        // In `messages`: the ack leaves after this Ready's records (the entry's, if it was newer) are synced.
        this.core.outbox.push({ to: from, message: { type: "quorumAck", op: message.op } });
        return;
      case "quorumAck":
        return this.onAck(from, message.op);
      case "update":
        for (const entry of message.entries) if (this.core.take(entry)) this.counters.entriesMerged++;
        return;
      case "digest":
        this.core.onDigest(from, message.round, message.stamps);
        return;
      case "repair":
        this.counters.entriesMerged += this.core.onRepair(from, message).kept;
        return;
      case "clientReply":
      case "notLeader":
        return; // validate refuses replies: only clients receive them
      default:
        return unreachable(message);
    }
  }

  /** ready hands out the records to sync and the messages to send after them. */
  ready(): Ready<LeaderlessMessage> | undefined {
    if (this.core.idle() && this.ownAcks.length === 0) return undefined;
    this.syncingAcks = this.ownAcks;
    this.ownAcks = [];
    return this.core.ready();
  }

  /** advance learns that a Ready was carried out: its records are synced, so this replica's own acknowledgements count now. */
  advance(_done: Ready<LeaderlessMessage>): void {
    const acks = this.syncingAcks;
    this.syncingAcks = [];
    for (const op of acks) this.onAck(this.id, op);
  }

  /** status reports a leaderless replica: no leader, no epoch; commitIndex and appliedIndex count the writes it holds taken. */
  status(): ReplicaStatus {
    return this.core.status(this.counters.writesTaken + this.counters.entriesMerged);
  }

  /** replicaCount is the number of replicas in the cluster, this one included. */
  replicaCount(): number {
    return this.core.replicaSet.size;
  }

  /** quorums reports R and W as this replica applies them: r and w, raised to a majority when atomic. */
  quorums(): { readonly r: number; readonly w: number } {
    return { r: this.readQuorum, w: this.writeQuorum };
  }

  /** fingerprint names the store's contents (every key with its stamp): equal on replicas that converged. */
  fingerprint(): string {
    return this.core.store.fingerprint();
  }

  /** entry returns the key's latest write this replica holds, for tests and monitors. */
  entry(key: string): LeaderlessEntry | undefined {
    return this.core.store.get(key);
  }

  /** pendingOperations counts the operations this replica coordinates and has not finished. */
  pendingOperations(): number {
    return this.pending.size;
  }

  /** quorumCounters reports what this replica coordinated, repaired and refused. */
  quorumCounters(): Readonly<QuorumCounters> {
    return this.counters;
  }

  /** rejections counts the messages this replica refused unapplied, by reason. */
  rejections(): Rejections<QuorumRejectionReason> {
    return this.rejected;
  }

  private validate(from: NodeId, message: LeaderlessMessage): QuorumRejectionReason | undefined {
    switch (message.type) {
      case "clientRequest":
        return message.clientId === from ? undefined : "requestNotFromClient";
      case "clientReply":
      case "notLeader":
        return "replyToReplica";
      case "update":
      case "repair":
      case "quorumReadReply":
        return this.core.fromMember(from, message.entries);
      case "quorumWrite":
        return this.core.fromMember(from, [message.entry]);
      case "digest":
      case "quorumRead":
      case "quorumAck":
        return this.core.fromMember(from, []);
      default:
        return unreachable(message);
    }
  }

  private onRequest(request: ClientRequestMessage): void {
    const retried = this.core.retried(request);
    if (retried === "answered") this.counters.retriesAnswered++;
    if (retried !== undefined) return;
    for (const pending of this.pending.values()) {
      // A retry (or a duplicate) of an operation under way is answered when the operation finishes, not started twice.
      if (pending.request.session === request.session && pending.request.sequence === request.sequence) return;
    }
    let command: KvCommand;
    try {
      command = decodeCommand(request.command);
    } catch (error) {
      return this.core.answer(request, { type: "invalid", reason: `undecodable command: ${(error as Error).message}` });
    }
    switch (command.type) {
      case "get":
      case "put":
      case "delete":
        if (this.pending.size >= this.options.maxPendingOperations) {
          // Busy: unanswered, as an overloaded replica would be; the client retries or gives up.
          this.counters.operationsRefusedBusy++;
          return;
        }
        return this.start(request, command);
      case "cas":
      case "append":
        this.counters.refusedCommands++;
        return this.core.answer(request, refusal);
      default:
        return unreachable(command);
    }
  }

  /** start opens an operation: a get's (or an atomic write's) read phase, or a plain write's write phase. */
  private start(request: ClientRequestMessage, command: KvCommand & { type: "get" | "put" | "delete" }): void {
    const op = this.nextOp++;
    const pending: Pending = { request, command, phase: "read", entry: undefined, replies: new Map(), acks: new Set(), result: undefined, startedTick: this.core.now, lastSentTick: this.core.now };
    this.pending.set(op, pending);
    if (command.type === "get" || this.options.atomic) {
      this.sendPhase(op, pending);
      // The coordinator's own store is one of the replies, read at once.
      this.onReadReply(this.id, op, this.core.store.get(command.key));
      return;
    }
    const held = this.core.store.get(command.key);
    // A plain delete reports what the coordinator held, as `eventual`'s does: possibly stale.
    const result: KvResult = command.type === "put" ? { type: "put" } : { type: "delete", existed: held !== undefined && !held.deleted };
    this.startWrite(op, pending, this.stamp(command), result);
  }

  /** stamp stamps a client's write with this replica's clock, past every stamp heard (an atomic write's query included). */
  private stamp(command: KvCommand & { type: "put" | "delete" | "get" }): LeaderlessEntry {
    assert(command.type !== "get", "only writes are stamped");
    const stamp = this.core.stampNow();
    this.counters.writesTaken++;
    return command.type === "put" ? { key: command.key, value: command.value, deleted: false, ...stamp } : { key: command.key, value: new Uint8Array(0), deleted: true, ...stamp };
  }

  /** startWrite keeps `entry` here and sends it to every peer; the client gets `result` after W acknowledgements. */
  private startWrite(op: number, pending: Pending, entry: LeaderlessEntry, result: KvResult): void {
    pending.phase = "write";
    pending.entry = entry;
    pending.result = result;
    pending.lastSentTick = this.core.now;
    this.core.take(entry);
    // The own acknowledgement counts once this Ready's records (the entry's, or an earlier one's at least as new) are synced.
    this.ownAcks.push(op);
    this.sendPhase(op, pending);
  }

  /** sendPhase sends the operation's current phase to every peer that has not answered it. */
  private sendPhase(op: number, pending: Pending): void {
    pending.lastSentTick = this.core.now;
    for (const peer of this.core.peers) {
      if (pending.phase === "read" && !pending.replies.has(peer)) this.core.outbox.push({ to: peer, message: { type: "quorumRead", op, key: pending.command.key } });
      if (pending.phase === "write" && !pending.acks.has(peer) && pending.entry !== undefined) this.core.outbox.push({ to: peer, message: { type: "quorumWrite", op, entry: pending.entry } });
    }
  }

  private onReadReply(from: NodeId, op: number, entry: LeaderlessEntry | undefined): void {
    const pending = this.pending.get(op);
    if (pending === undefined || pending.phase !== "read" || pending.replies.has(from)) return;
    if (entry !== undefined) this.core.clock.observe(entry, this.core.now);
    pending.replies.set(from, entry);
    if (pending.replies.size < this.readQuorum) return;
    let highest: LeaderlessEntry | undefined;
    for (const held of pending.replies.values()) if (held !== undefined && (highest === undefined || compareStamps(held, highest) > 0)) highest = held;
    const command = pending.command;
    if (command.type !== "get") {
      // An atomic write's query is done: the clock has observed every stamp of the quorum, so the new stamp is above them all.
      const result = command.type === "put" ? ({ type: "put" } as const) : ({ type: "delete", existed: highest !== undefined && !highest.deleted } as const);
      return this.startWrite(op, pending, this.stamp(command), result);
    }
    if (highest !== undefined) {
      if (this.options.readRepair) {
        for (const [replica, held] of pending.replies) {
          if (replica === this.id || (held !== undefined && compareStamps(held, highest) >= 0)) continue;
          this.counters.readRepairs++;
          this.core.outbox.push({ to: replica, message: { type: "update", entries: [highest] } });
        }
      }
      if (this.core.take(highest)) this.counters.entriesMerged++;
    }
    const result: KvResult = { type: "get", value: highest === undefined || highest.deleted ? undefined : highest.value };
    if (this.options.atomic && highest !== undefined) {
      // ABD's second phase: the value returned must be on a write quorum before the answer, so no later read returns older.
      this.counters.writeBacks++;
      pending.phase = "write";
      pending.entry = highest;
      pending.result = result;
      this.ownAcks.push(op);
      this.sendPhase(op, pending);
      return;
    }
    this.finish(op, pending, result);
  }

  private onAck(from: NodeId, op: number): void {
    const pending = this.pending.get(op);
    if (pending === undefined || pending.phase !== "write") return;
    pending.acks.add(from);
    if (pending.acks.size < this.writeQuorum || pending.result === undefined) return;
    this.finish(op, pending, pending.result);
  }

  private finish(op: number, pending: Pending, result: KvResult): void {
    this.pending.delete(op);
    if (pending.command.type === "get") this.counters.readsAnswered++;
    else this.counters.writesAnswered++;
    this.core.answer(pending.request, result);
  }
}
