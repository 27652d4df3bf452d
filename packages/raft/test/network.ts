// A tiny synchronous in-memory network for behaviour tests (after
// etcd-io/raft's `network` in raft_test.go): replicas are driven directly,
// every Ready is persisted to an in-memory store and synced before its
// messages are queued, and every message is encoded and decoded on the way.
// The disk follows core's Storage contract: a Ready's snapshot is staged with
// the records written after it and becomes durable only at the next sync,
// together with them; a crash loses everything written since the last sync.
// A test can stop between the steps (persistReady, syncReady, sendReady) to
// crash a replica in the window between persist and sync.
import { createRng, firstClientId, type Crypto, type NodeId, type ProtocolOptions, type Ready } from "@concord/core";
import { KvStateMachine, decodeResult, encodeCommand, type KvCommand, type KvResult } from "@concord/kv";
import { RaftReplica, raftCodec, type Entry, type RaftMessage } from "../src/index.ts";
import { encodeEntryRecord, encodeHardState } from "../src/records.ts";

/** Envelope is one message in flight. */
export interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly message: RaftMessage;
}

/** StoredState is what a replica's disk holds: the synced snapshot and records, and what was written since the last sync. */
export interface StoredState {
  snapshot: Uint8Array | undefined;
  records: Uint8Array[];
  /** unsynced is what the last write left unsynced: a staged snapshot (if any) and the records after it. */
  unsynced: { snapshot: Uint8Array | undefined; records: Uint8Array[] };
}

/** emptyDisk is a disk that never held anything. */
function emptyDisk(): StoredState {
  return { snapshot: undefined, records: [], unsynced: { snapshot: undefined, records: [] } };
}

/** noCrypto stands in for the runtime's cryptography, which Raft (a crash-fault protocol) never uses. */
export const noCrypto: Crypto = {
  digest: () => {
    throw new Error("raft does not hash");
  },
  mac: () => {
    throw new Error("raft does not MAC");
  },
  sign: () => {
    throw new Error("raft does not sign");
  },
  verify: () => {
    throw new Error("raft does not verify");
  },
  macKey: () => {
    throw new Error("raft has no MAC keys");
  },
};

/** plainOptions turns pre-vote and check-quorum off (the paper's plain Raft) unless a test asks for them. */
const plainOptions: ProtocolOptions = { preVote: false, checkQuorum: false };

/** TestNetwork drives a cluster of RaftReplicas by hand. */
export class TestNetwork {
  readonly replicas = new Map<NodeId, RaftReplica>();
  readonly disks = new Map<NodeId, StoredState>();
  readonly machines = new Map<NodeId, KvStateMachine>();
  /** readies records every Ready each replica produced, in order. */
  readonly readies = new Map<NodeId, Ready<RaftMessage>[]>();
  queue: Envelope[] = [];
  /** clientInbox collects what replicas sent to clients. */
  readonly clientInbox: Envelope[] = [];
  /** delivered counts delivered peer messages by type. */
  readonly delivered = new Map<string, number>();
  private readonly cut = new Set<string>();
  /** written holds each replica's Ready that is persisted but not yet sent and advanced. */
  private readonly written = new Map<NodeId, Ready<RaftMessage>>();
  /**
   * holdReady, when set, stops a Ready it returns true for after it is
   * written and before it is synced: the network stops delivering, so that
   * the test can crash the replica there or finish the Ready by hand.
   */
  holdReady: ((id: NodeId, ready: Ready<RaftMessage>) => boolean) | undefined;
  /** drop, when set, discards the messages it returns true for. */
  drop: ((envelope: Envelope) => boolean) | undefined;
  private seed: number;

  constructor(
    readonly ids: readonly NodeId[],
    readonly options: ProtocolOptions = plainOptions,
    seed = 1,
    readonly initialConfig: readonly NodeId[] = ids,
  ) {
    this.seed = seed;
    for (const id of ids) {
      this.disks.set(id, emptyDisk());
      this.start(id);
    }
  }

  /** start builds (or rebuilds after a crash) a replica from its disk. */
  start(id: NodeId, options: ProtocolOptions = this.options): RaftReplica {
    const disk = this.disks.get(id) ?? emptyDisk();
    this.disks.set(id, disk);
    const machine = new KvStateMachine();
    const replica = new RaftReplica({
      id,
      replicas: this.initialConfig,
      rng: createRng(this.seed++ * 7919 + id),
      durable: { snapshot: disk.snapshot, records: [...disk.records] },
      stateMachine: machine,
      crypto: noCrypto,
      options,
    });
    this.replicas.set(id, replica);
    this.machines.set(id, machine);
    return replica;
  }

  /**
   * crash loses the replica's memory, what its disk holds unsynced (the
   * staged snapshot with the records after it, or, without one, every record
   * past the first `keepUnsyncedRecords`, as a disk may have written some of
   * them), the Ready it had not sent, and the messages in flight to it.
   */
  crash(id: NodeId, keepUnsyncedRecords = 0): void {
    this.replicas.delete(id);
    this.written.delete(id);
    this.queue = this.queue.filter((e) => e.to !== id);
    const disk = this.disks.get(id);
    if (disk === undefined) return;
    if (disk.unsynced.snapshot === undefined) disk.records.push(...disk.unsynced.records.slice(0, keepUnsyncedRecords));
    disk.unsynced = { snapshot: undefined, records: [] };
  }

  node(id: NodeId): RaftReplica {
    const replica = this.replicas.get(id);
    if (replica === undefined) throw new Error(`replica ${id} is not running`);
    return replica;
  }

  /** collect runs one replica's Ready: persist, sync, then queue messages and advance. */
  collect(id: NodeId): Ready<RaftMessage> | undefined {
    const ready = this.persistReady(id);
    if (ready === undefined || this.holdReady?.(id, ready) === true) return ready;
    this.syncReady(id);
    this.sendReady(id);
    return ready;
  }

  /** persistReady takes one replica's Ready and writes its snapshot and records to disk, unsynced. */
  persistReady(id: NodeId): Ready<RaftMessage> | undefined {
    const replica = this.replicas.get(id);
    if (replica === undefined || this.written.has(id)) return undefined;
    const ready = replica.ready();
    if (ready === undefined) return undefined;
    const disk = this.disks.get(id) as StoredState;
    // A snapshot is staged: it replaces the durable state only at the next sync, with the records written after it.
    if (ready.snapshot !== undefined) disk.unsynced = { snapshot: ready.snapshot, records: [] };
    disk.unsynced.records.push(...ready.persist);
    const list = this.readies.get(id) ?? [];
    list.push({ snapshot: ready.snapshot, persist: [...ready.persist], messages: [...ready.messages] });
    this.readies.set(id, list);
    this.written.set(id, ready);
    return ready;
  }

  /** syncReady makes what the replica wrote durable: a staged snapshot and the records after it, atomically. */
  syncReady(id: NodeId): void {
    const disk = this.disks.get(id);
    if (disk === undefined) return;
    const { snapshot, records } = disk.unsynced;
    if (snapshot !== undefined) {
      disk.snapshot = snapshot;
      disk.records = [];
    }
    disk.records.push(...records);
    disk.unsynced = { snapshot: undefined, records: [] };
  }

  /** sendReady queues the messages of the replica's written Ready and advances it (the Ready's rule: after the sync). */
  sendReady(id: NodeId): void {
    const ready = this.written.get(id);
    const replica = this.replicas.get(id);
    if (ready === undefined || replica === undefined) return;
    this.written.delete(id);
    for (const out of ready.messages) {
      const message = raftCodec.decode(raftCodec.encode(out.message));
      this.queue.push({ from: id, to: out.to, message });
    }
    replica.advance(ready);
  }

  /** collectAll runs every replica's Ready once; it tells whether any replica had one. */
  collectAll(): boolean {
    let any = false;
    for (const id of this.replicas.keys()) if (this.collect(id) !== undefined) any = true;
    return any;
  }

  /** isolate cuts every link between `id` and the other replicas (both ways). */
  isolate(id: NodeId): void {
    for (const other of this.ids) if (other !== id) this.cutLink(id, other);
  }

  cutLink(a: NodeId, b: NodeId): void {
    this.cut.add(`${a}>${b}`);
    this.cut.add(`${b}>${a}`);
  }

  /** heal restores every link. */
  heal(): void {
    this.cut.clear();
  }

  private blocked(envelope: Envelope): boolean {
    return this.cut.has(`${envelope.from}>${envelope.to}`) || (this.drop?.(envelope) ?? false);
  }

  /** deliverAll runs Readies and delivers messages until the network is quiet or a Ready is held. */
  deliverAll(maxMessages = 100_000): void {
    for (let delivered = 0; ; delivered++) {
      // An advance may leave new work (a leader's own synced entries commit), so quiet means no Ready and no message.
      const readied = this.collectAll();
      if (this.written.size > 0) return;
      const envelope = this.queue.shift();
      if (envelope === undefined) {
        if (readied) continue;
        return;
      }
      if (delivered >= maxMessages) throw new Error("the network did not go quiet");
      this.deliver(envelope);
    }
  }

  /** deliver hands one message to its destination (unless the link is cut). */
  deliver(envelope: Envelope): void {
    if (this.blocked(envelope)) return;
    if (envelope.to >= firstClientId) {
      this.clientInbox.push(envelope);
      return;
    }
    const replica = this.replicas.get(envelope.to);
    if (replica === undefined) return;
    this.assertNoWrittenReady(envelope.to);
    this.delivered.set(envelope.message.type, (this.delivered.get(envelope.message.type) ?? 0) + 1);
    replica.step(envelope.from, envelope.message);
  }

  /** assertNoWrittenReady: a replica is stepped only between an advance and the next Ready (core's Replica contract). */
  private assertNoWrittenReady(id: NodeId): void {
    if (this.written.has(id)) throw new Error(`replica ${id} has a persisted Ready not yet sent: sync and send it, or crash the replica`);
  }

  /** heldReady is the replica's Ready that is written but not yet sent, if any. */
  heldReady(id: NodeId): Ready<RaftMessage> | undefined {
    return this.written.get(id);
  }

  /** tick advances one replica's clock `n` times, delivering between ticks. */
  tick(id: NodeId, n = 1): void {
    for (let i = 0; i < n; i++) {
      this.assertNoWrittenReady(id);
      this.replicas.get(id)?.tick();
      this.deliverAll();
    }
  }

  /** tickAll advances every replica's clock `n` times, delivering between ticks. */
  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const [id, replica] of this.replicas) {
        this.assertNoWrittenReady(id);
        replica.tick();
      }
      this.deliverAll();
    }
  }

  /** elect makes `id` campaign and delivers until quiet. */
  elect(id: NodeId): void {
    this.node(id).campaign();
    this.deliverAll();
  }

  /** leaderOf returns the replica that believes it leads, if exactly one does in the highest term. */
  leader(): RaftReplica | undefined {
    let best: RaftReplica | undefined;
    for (const replica of this.replicas.values()) {
      if (replica.raftRole() === "leader" && (best === undefined || replica.status().epoch > best.status().epoch)) best = replica;
    }
    return best;
  }

  /** request steps a client request into a replica (without delivering); its session key is the client id unless given. */
  request(to: NodeId, clientId: NodeId, sequence: number, command: KvCommand, readOnly = command.type === "get", session = clientId): void {
    this.node(to).step(clientId, { type: "clientRequest", clientId, session, sequence, command: encodeCommand(command), readOnly });
  }

  /** put proposes a put through `to` and delivers until quiet. */
  put(to: NodeId, key: string, value: string, clientId = firstClientId, sequence = this.nextSequence(clientId)): void {
    this.request(to, clientId, sequence, { type: "put", key, value: new TextEncoder().encode(value) });
    this.deliverAll();
  }

  private readonly sequences = new Map<NodeId, number>();

  /** nextSequence numbers a client's requests 1, 2, 3, ... */
  nextSequence(clientId: NodeId): number {
    const next = (this.sequences.get(clientId) ?? 0) + 1;
    this.sequences.set(clientId, next);
    return next;
  }

  /** repliesTo lists the decoded results sent to `clientId`, by sequence. */
  repliesTo(clientId: NodeId): { sequence: number; result: KvResult; from: NodeId }[] {
    const replies: { sequence: number; result: KvResult; from: NodeId }[] = [];
    for (const envelope of this.clientInbox) {
      if (envelope.to === clientId && envelope.message.type === "clientReply") {
        replies.push({ sequence: envelope.message.sequence, result: decodeResult(envelope.message.result), from: envelope.from });
      }
    }
    return replies;
  }

  /** value reads a key straight from a replica's store. */
  value(id: NodeId, key: string): string | undefined {
    const bytes = this.machines.get(id)?.store.get(key);
    return bytes === undefined ? undefined : new TextDecoder().decode(bytes);
  }

  /** terms lists the terms of a replica's log entries after its snapshot. */
  terms(id: NodeId): number[] {
    return this.node(id).logEntries().map((e) => e.term);
  }
}

/** logEntry builds an empty log entry (a no-op unless `kind` says otherwise) at `index` of `term`. */
export function logEntry(index: number, term: number, kind = 1): Entry {
  return { term, index, kind, clientId: 0, session: 0, sequence: 0, command: new Uint8Array(0), voters: [], outgoing: [], learners: [] };
}

/** entriesOfTerms builds no-op log entries with the given terms, starting at index `first`. */
export function entriesOfTerms(terms: readonly number[], first = 1): Entry[] {
  return terms.map((term, k) => logEntry(first + k, term));
}

/**
 * seedLog restarts replica `id` from a disk holding `terms` as its log and
 * `term` as its current term, as etcd-io/raft's tests preload a MemoryStorage.
 */
export function seedLog(network: TestNetwork, id: NodeId, terms: readonly number[], term: number, options?: ProtocolOptions): RaftReplica {
  network.crash(id);
  const disk = network.disks.get(id) as StoredState;
  disk.unsynced = { snapshot: undefined, records: [] };
  disk.snapshot = undefined;
  disk.records = [...entriesOfTerms(terms).map(encodeEntryRecord), encodeHardState({ term, vote: undefined, commit: 0 })];
  return network.start(id, options);
}
