import {
  type ClientRequestMessage,
  type NodeId,
  type Outbound,
  type Ready,
  type Rejections,
  type Replica,
  type ReplicaContext,
  type ReplicaStatus,
  type Rng,
  RejectionCounter,
  assert,
  parseConfig,
  unreachable,
} from "@concord/core";
import { type KvCommand, type KvResult, decodeCommand, encodeResult } from "@concord/kv";
import { type LeaderlessEntry, type LeaderlessMessage, type LeaderlessRecord, type LeaderlessStamp, leaderlessRecordCodec } from "./messages.ts";
import { type EventualOptions, eventualOptionsSchema } from "./options.ts";
import { HybridClock, compareStamps } from "./stamp.ts";
import { LwwStore } from "./store.ts";

/** EventualRejectionReason names why a replica refused a message unapplied. */
export type EventualRejectionReason = "replyToReplica" | "requestNotFromClient" | "peerMessageFromStranger" | "stampFromStranger" | "quorumMessage";

/** EventualCounters count what a replica took, spread and refused, for tests, reports and the swarm's hard paths. */
export interface EventualCounters {
  /** writesTaken counts the puts and deletes this replica took from clients (stamped here). */
  writesTaken: number;
  /** entriesMerged counts writes heard from peers (pushed or repaired) that were newer than what this replica held. */
  entriesMerged: number;
  /** roundsStarted counts the anti-entropy rounds this replica opened. */
  roundsStarted: number;
  /** entriesRepaired counts the entries this replica sent in answer to digests and wants. */
  entriesRepaired: number;
  /** refusedCommands counts client commands refused because the store offers get, put and delete only. */
  refusedCommands: number;
  /** retriesAnswered counts retried requests answered from the client table without taking the write again. */
  retriesAnswered: number;
}

/** CachedReply is the client table's entry for one session: its latest request answered, and the answer. */
interface CachedReply {
  readonly sequence: number;
  readonly result: Uint8Array;
}

/** clientTableMax bounds the client table; past it the oldest sessions are forgotten (a retry of theirs is then taken again). */
const clientTableMax = 10_000;

/** refusal is the answer to a command the store cannot make atomic without consensus. */
const refusal: KvResult = { type: "invalid", reason: "eventual offers get, put and delete only: cas and append cannot be made atomic without consensus" };

/**
 * EventualReplica is one replica of `eventual`, an AP store: a last-writer-wins register per key (see LwwStore),
 * in which every replica answers every request at once, on whichever side of a partition it is.
 *
 * - A put or delete is stamped by the replica's hybrid logical clock (see HybridClock) and its node id, kept if
 *   newer than what the key holds (it always is: the clock has passed every stamp heard), persisted, and answered
 *   once its record is synced; with `pushWrites` it is sent to every peer in the same Ready.
 * - A get answers the value this replica holds: possibly stale, the point of an AP store.
 * - Anti-entropy (Demers et al. 1987, push-pull): every `antiEntropyTicks` the replica sends one random peer a
 *   digest of every key's stamp; the peer answers with the entries it holds newer and the keys it wants, and the
 *   replica sends those. Every write reaches every replica that stays connected to its taker's through some path,
 *   so once the network heals the replicas converge: equal writes seen, equal stores (merging is commutative).
 * - Entries heard from peers are persisted too, so a restart keeps them; the clock observes every stamp heard, so
 *   a write taken after a replica learned of another orders after it.
 * - Retries: a client table per replica answers a retried request with its first answer; it is not durable, and a
 *   retry sent to another replica is taken again, with a newer stamp (docs/leaderless.md).
 *
 * Invariant: every entry the store holds has been persisted in this or an earlier Ready, and the clock is past
 * every stamp the store holds.
 */
export class EventualReplica implements Replica<LeaderlessMessage> {
  /** id is this replica's node id. */
  readonly id: NodeId;
  private readonly options: EventualOptions;
  private readonly rng: Rng;
  private readonly replicaSet: ReadonlySet<NodeId>;
  private readonly peers: readonly NodeId[];
  private readonly clock: HybridClock;
  private readonly store = new LwwStore();
  private readonly clientTable = new Map<number, CachedReply>();
  private readonly rejected = new RejectionCounter<EventualRejectionReason>();
  private readonly counters: EventualCounters = { writesTaken: 0, entriesMerged: 0, roundsStarted: 0, entriesRepaired: 0, refusedCommands: 0, retriesAnswered: 0 };
  private now = 0;
  private round = 0;
  /** nextRoundTick is when the next anti-entropy round opens; its first is drawn, so that replicas do not open theirs in step. */
  private nextRoundTick: number;
  private recordsSinceSnapshot = 0;

  // Output buffers.
  private persist: Uint8Array[] = [];
  private outbox: Outbound<LeaderlessMessage>[] = [];
  /** pushed are the writes taken since the last Ready, sent to every peer in one Update each. */
  private pushed: LeaderlessEntry[] = [];

  constructor(context: ReplicaContext) {
    assert(context.replicas.includes(context.id), `replica ${context.id} is not among the replicas ${context.replicas.join(",")}`);
    this.id = context.id;
    this.options = parseConfig(eventualOptionsSchema, context.options, "eventual");
    this.rng = context.rng;
    this.replicaSet = new Set(context.replicas);
    this.peers = context.replicas.filter((replica) => replica !== this.id);
    this.clock = new HybridClock(this.id);
    this.nextRoundTick = 1 + this.rng.nextInt(this.options.antiEntropyTicks);
    if (context.durable.snapshot !== undefined) this.recover(leaderlessRecordCodec.decode(context.durable.snapshot));
    for (const bytes of context.durable.records) this.recover(leaderlessRecordCodec.decode(bytes));
    this.recordsSinceSnapshot = context.durable.records.length;
  }

  /** tick advances the clock and opens an anti-entropy round when one is due. */
  tick(): void {
    this.now++;
    if (this.now < this.nextRoundTick || this.peers.length === 0) return;
    this.nextRoundTick = this.now + this.options.antiEntropyTicks;
    this.round++;
    this.counters.roundsStarted++;
    const peer = this.peers[this.rng.nextInt(this.peers.length)] as NodeId;
    this.outbox.push({ to: peer, message: { type: "digest", round: this.round, stamps: this.store.digest() } });
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
      case "update":
        for (const entry of message.entries) this.take(entry);
        return;
      case "digest":
        return this.onDigest(from, message.round, message.stamps);
      case "repair":
        for (const entry of message.entries) this.take(entry);
        if (message.want.length > 0) this.sendEntries(from, message.round, message.want, []);
        return;
      case "clientReply":
      case "notLeader":
      case "quorumRead":
      case "quorumReadReply":
      case "quorumWrite":
      case "quorumAck":
        return; // validate refuses replies (only clients receive them) and `quorum`'s messages
      default:
        return unreachable(message);
    }
  }

  /** ready hands out the records to sync and the messages to send after them. */
  ready(): Ready<LeaderlessMessage> | undefined {
    if (this.pushed.length > 0) {
      for (const peer of this.peers) this.outbox.push({ to: peer, message: { type: "update", entries: this.pushed } });
      this.pushed = [];
    }
    if (this.persist.length === 0 && this.outbox.length === 0) return undefined;
    let snapshot: Uint8Array | undefined;
    this.recordsSinceSnapshot += this.persist.length;
    if (this.persist.length > 0 && this.recordsSinceSnapshot >= this.options.compactEveryRecords) {
      // The snapshot holds every entry now, these records' included: it replaces them and all before.
      snapshot = leaderlessRecordCodec.encode({ type: "snapshot", entries: this.store.all() });
      this.persist = [];
      this.recordsSinceSnapshot = 0;
    }
    const ready: Ready<LeaderlessMessage> = { snapshot, persist: this.persist, messages: this.outbox };
    this.persist = [];
    this.outbox = [];
    return ready;
  }

  /** advance learns that a Ready was carried out: its answers left after its records were synced, nothing to do. */
  advance(_done: Ready<LeaderlessMessage>): void {}

  /** status reports a leaderless replica: no leader, no epoch; commitIndex and appliedIndex count the writes it holds taken. */
  status(): ReplicaStatus {
    const taken = this.counters.writesTaken + this.counters.entriesMerged;
    return { id: this.id, role: "follower", epoch: 0, leader: undefined, commitIndex: taken, appliedIndex: taken };
  }

  /** replicaCount is the number of replicas in the cluster, this one included. */
  replicaCount(): number {
    return this.replicaSet.size;
  }

  /** fingerprint names the store's contents (every key with its stamp): equal on replicas that converged. */
  fingerprint(): string {
    return this.store.fingerprint();
  }

  /** entry returns the key's latest write this replica holds, for tests and monitors. */
  entry(key: string): LeaderlessEntry | undefined {
    return this.store.get(key);
  }

  /** eventualCounters reports what this replica took, spread and refused. */
  eventualCounters(): Readonly<EventualCounters> {
    return this.counters;
  }

  /** rejections counts the messages this replica refused unapplied, by reason. */
  rejections(): Rejections<EventualRejectionReason> {
    return this.rejected;
  }

  private validate(from: NodeId, message: LeaderlessMessage): EventualRejectionReason | undefined {
    switch (message.type) {
      case "clientRequest":
        return message.clientId === from ? undefined : "requestNotFromClient";
      case "clientReply":
      case "notLeader":
        return "replyToReplica";
      case "update":
      case "repair":
        if (!this.replicaSet.has(from)) return "peerMessageFromStranger";
        return message.entries.every((entry) => this.replicaSet.has(entry.node)) ? undefined : "stampFromStranger";
      case "digest":
        return this.replicaSet.has(from) ? undefined : "peerMessageFromStranger";
      case "quorumRead":
      case "quorumReadReply":
      case "quorumWrite":
      case "quorumAck":
        return "quorumMessage";
      default:
        return unreachable(message);
    }
  }

  private onRequest(request: ClientRequestMessage): void {
    const cached = this.clientTable.get(request.session);
    if (cached !== undefined && request.sequence <= cached.sequence) {
      // A retry of the latest answered request gets its answer again; an older one was answered before and is dropped.
      if (request.sequence === cached.sequence) {
        this.counters.retriesAnswered++;
        this.reply(request, cached.result);
      }
      return;
    }
    let command: KvCommand;
    try {
      command = decodeCommand(request.command);
    } catch (error) {
      return this.answer(request, { type: "invalid", reason: `undecodable command: ${(error as Error).message}` });
    }
    switch (command.type) {
      case "get": {
        const held = this.store.get(command.key);
        return this.answer(request, { type: "get", value: held === undefined || held.deleted ? undefined : held.value });
      }
      case "put":
        this.write(command.key, command.value, false);
        return this.answer(request, { type: "put" });
      case "delete": {
        const held = this.store.get(command.key);
        this.write(command.key, new Uint8Array(0), true);
        return this.answer(request, { type: "delete", existed: held !== undefined && !held.deleted });
      }
      case "cas":
      case "append":
        this.counters.refusedCommands++;
        return this.answer(request, refusal);
      default:
        return unreachable(command);
    }
  }

  /** write takes a client's put or delete: stamped now, kept, persisted, and pushed to the peers. */
  private write(key: string, value: Uint8Array, deleted: boolean): void {
    const stamp = this.clock.now(this.now);
    const entry: LeaderlessEntry = { key, value, deleted, ...stamp };
    const kept = this.store.merge(entry);
    assert(kept, () => `a fresh stamp of key ${key} lost to the one held: the clock went back`);
    this.counters.writesTaken++;
    this.persist.push(leaderlessRecordCodec.encode({ type: "entry", ...entry }));
    if (this.options.pushWrites) this.pushed.push(entry);
  }

  /** take merges a write heard from a peer, persisting it when it is newer than what the key holds. */
  private take(entry: LeaderlessEntry): void {
    this.clock.observe(entry, this.now);
    if (!this.store.merge(entry)) return;
    this.counters.entriesMerged++;
    this.persist.push(leaderlessRecordCodec.encode({ type: "entry", ...entry }));
  }

  /** onDigest answers a digest: the entries held newer or missing there, and the keys held newer there. */
  private onDigest(from: NodeId, round: number, stamps: readonly LeaderlessStamp[]): void {
    const theirs = new Map(stamps.map((stamp) => [stamp.key, stamp]));
    const newer: string[] = [];
    const want: string[] = [];
    for (const stamp of this.store.digest()) {
      const their = theirs.get(stamp.key);
      if (their === undefined || compareStamps(stamp, their) > 0) newer.push(stamp.key);
    }
    for (const their of stamps) {
      const held = this.store.get(their.key);
      if (held === undefined || compareStamps(their, held) > 0) want.push(their.key);
    }
    if (newer.length > 0 || want.length > 0) this.sendEntries(from, round, newer, want);
  }

  private sendEntries(to: NodeId, round: number, keys: readonly string[], want: readonly string[]): void {
    const entries: LeaderlessEntry[] = [];
    for (const key of keys) {
      const held = this.store.get(key);
      if (held !== undefined) entries.push(held);
    }
    this.counters.entriesRepaired += entries.length;
    this.outbox.push({ to, message: { type: "repair", round, entries, want } });
  }

  private answer(request: ClientRequestMessage, result: KvResult): void {
    const bytes = encodeResult(result);
    this.clientTable.delete(request.session); // re-inserted last: the map's order is the order of last use
    this.clientTable.set(request.session, { sequence: request.sequence, result: bytes });
    if (this.clientTable.size > clientTableMax) {
      const oldest = this.clientTable.keys().next();
      if (oldest.done !== true) this.clientTable.delete(oldest.value);
    }
    this.reply(request, bytes);
  }

  private reply(request: ClientRequestMessage, result: Uint8Array): void {
    // In `messages`, sent after this Ready's records are synced: a write is answered only once it is durable.
    this.outbox.push({ to: request.clientId, message: { type: "clientReply", session: request.session, sequence: request.sequence, result } });
  }

  private recover(record: LeaderlessRecord): void {
    const entries = record.type === "snapshot" ? record.entries : [record];
    for (const entry of entries) {
      const kept: LeaderlessEntry = { key: entry.key, value: entry.value, deleted: entry.deleted, wall: entry.wall, logical: entry.logical, node: entry.node };
      this.store.merge(kept);
      // The clock must pass every stamp held, or a write after the restart could lose to one taken before it.
      this.clock.observe(kept, this.now);
    }
  }
}
