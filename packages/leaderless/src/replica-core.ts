// What `eventual` and `quorum` replicas share: the last-writer-wins store with its hybrid logical clock and
// durable records, push-pull anti-entropy, the client table, and the Ready's compaction. Each replica keeps its own
// client path (eventual answers at once, quorum coordinates R and W) and its own counters.
import { type ClientRequestMessage, type NodeId, type Outbound, type Ready, type ReplicaContext, type ReplicaStatus, type Rng, assert } from "@concord/core";
import { type KvResult, encodeResult } from "@concord/kv";
import { type LeaderlessEntry, type LeaderlessMessage, type LeaderlessRecord, type LeaderlessRepair, type LeaderlessStamp, leaderlessRecordCodec } from "./messages.ts";
import { HybridClock, type Stamp, compareStamps } from "./stamp.ts";
import { LwwStore } from "./store.ts";

/** CachedReply is the client table's entry for one session: its latest request answered, and the answer. */
interface CachedReply {
  readonly sequence: number;
  readonly result: Uint8Array;
}

/** clientTableMax bounds the client table; past it the oldest sessions are forgotten (a retry of theirs is then taken again). */
const clientTableMax = 10_000;

/** CoreOptions are the options both leaderless replicas have. */
interface CoreOptions {
  readonly antiEntropyTicks: number;
  readonly compactEveryRecords: number;
}

/**
 * LeaderlessCore is one leaderless replica's store and everything around it that does not depend on how clients
 * are served. Invariant: every entry the store holds has been persisted in this or an earlier Ready, and the
 * clock is past every stamp the store holds.
 */
export class LeaderlessCore {
  readonly id: NodeId;
  readonly replicaSet: ReadonlySet<NodeId>;
  readonly peers: readonly NodeId[];
  readonly clock: HybridClock;
  readonly store = new LwwStore();
  /** now counts this replica's ticks. */
  now = 0;
  /** outbox holds the messages of the next Ready, sent after its records are synced. */
  outbox: Outbound<LeaderlessMessage>[] = [];
  private readonly options: CoreOptions;
  private readonly rng: Rng;
  private readonly clientTable = new Map<number, CachedReply>();
  private persist: Uint8Array[] = [];
  private round = 0;
  /** nextRoundTick is when the next anti-entropy round opens; its first is drawn, so that replicas do not open theirs in step. */
  private nextRoundTick: number;
  private recordsSinceSnapshot = 0;

  constructor(context: ReplicaContext, options: CoreOptions) {
    assert(context.replicas.includes(context.id), `replica ${context.id} is not among the replicas ${context.replicas.join(",")}`);
    this.id = context.id;
    this.options = options;
    this.rng = context.rng;
    this.replicaSet = new Set(context.replicas);
    this.peers = context.replicas.filter((replica) => replica !== this.id);
    this.clock = new HybridClock(this.id);
    this.nextRoundTick = 1 + this.rng.nextInt(options.antiEntropyTicks);
    if (context.durable.snapshot !== undefined) this.recover(leaderlessRecordCodec.decode(context.durable.snapshot));
    for (const bytes of context.durable.records) this.recover(leaderlessRecordCodec.decode(bytes));
    this.recordsSinceSnapshot = context.durable.records.length;
  }

  /** advanceClock counts a tick. */
  advanceClock(): void {
    this.now++;
  }

  /** openRoundIfDue opens an anti-entropy round with one peer drawn at random when one is due: true when it opened one. */
  openRoundIfDue(): boolean {
    if (this.now < this.nextRoundTick || this.peers.length === 0) return false;
    this.nextRoundTick = this.now + this.options.antiEntropyTicks;
    this.round++;
    const peer = this.peers[this.rng.nextInt(this.peers.length)] as NodeId;
    this.outbox.push({ to: peer, message: { type: "digest", round: this.round, stamps: this.store.digest() } });
    return true;
  }

  /** stampNow is a fresh stamp of this replica's clock, past every stamp it has heard of. */
  stampNow(): Stamp {
    return this.clock.now(this.now);
  }

  /** take observes an entry's stamp and keeps the entry when it is newer than what its key holds: true when kept. */
  take(entry: LeaderlessEntry): boolean {
    this.clock.observe(entry, this.now);
    return this.keep(entry);
  }

  /** keep keeps an entry when it is newer than what its key holds, persisting it: true when kept. */
  keep(entry: LeaderlessEntry): boolean {
    if (!this.store.merge(entry)) return false;
    this.persist.push(leaderlessRecordCodec.encode({ type: "entry", ...entry }));
    return true;
  }

  /** onDigest answers a digest: the entries held newer or missing there, and the keys held newer there; returns the entries sent. */
  onDigest(from: NodeId, round: number, stamps: readonly LeaderlessStamp[]): number {
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
    return newer.length > 0 || want.length > 0 ? this.sendEntries(from, round, newer, want) : 0;
  }

  /** onRepair takes a repair's entries and sends the ones it wants: returns the entries it kept and the entries it sent. */
  onRepair(from: NodeId, repair: LeaderlessRepair): { readonly kept: number; readonly sent: number } {
    let kept = 0;
    for (const entry of repair.entries) if (this.take(entry)) kept++;
    const sent = repair.want.length > 0 ? this.sendEntries(from, repair.round, repair.want, []) : 0;
    return { kept, sent };
  }

  private sendEntries(to: NodeId, round: number, keys: readonly string[], want: readonly string[]): number {
    const entries: LeaderlessEntry[] = [];
    for (const key of keys) {
      const held = this.store.get(key);
      if (held !== undefined) entries.push(held);
    }
    this.outbox.push({ to, message: { type: "repair", round, entries, want } });
    return entries.length;
  }

  /**
   * retried answers a request the client table has seen: the latest answered one gets its answer again ("answered"),
   * an older one was answered before and is dropped ("dropped"); a new request gives undefined.
   */
  retried(request: ClientRequestMessage): "answered" | "dropped" | undefined {
    const cached = this.clientTable.get(request.session);
    if (cached === undefined || request.sequence > cached.sequence) return undefined;
    if (request.sequence < cached.sequence) return "dropped";
    this.reply(request, cached.result);
    return "answered";
  }

  /** answer replies to a client and keeps the answer in the client table for its retries. */
  answer(request: ClientRequestMessage, result: KvResult): void {
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

  /** idle says whether there is nothing to persist or send. */
  idle(): boolean {
    return this.persist.length === 0 && this.outbox.length === 0;
  }

  /** ready hands out the records to sync (or a snapshot of every entry in their place, once enough were written) and the messages to send after them. */
  ready(): Ready<LeaderlessMessage> {
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

  /** status reports a leaderless replica: no leader, no epoch; commitIndex and appliedIndex count the writes it holds taken. */
  status(taken: number): ReplicaStatus {
    return { id: this.id, role: "follower", epoch: 0, leader: undefined, commitIndex: taken, appliedIndex: taken };
  }

  /** fromMember says whether a peer message's sender and every stamp it carries belong to the cluster. */
  fromMember(from: NodeId, entries: readonly LeaderlessEntry[]): "peerMessageFromStranger" | "stampFromStranger" | undefined {
    if (!this.replicaSet.has(from)) return "peerMessageFromStranger";
    return entries.every((entry) => this.replicaSet.has(entry.node)) ? undefined : "stampFromStranger";
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
