// A tiny in-memory cluster for behaviour tests that drive replicas directly
// (in the manner of etcd-io/raft's raft_paper_test.go): the test decides which
// messages are delivered, dropped or held, and when replicas tick.
import { type Crypto, type DurableState, type NodeId, type ProtocolOptions, type Ready, createRng, firstClientId } from "@concord/core";
import { KvStateMachine, decodeResult, encodeCommand, type KvCommand, type KvResult } from "@concord/kv";
import { type MultiPaxosMessage, MultiPaxosReplica, OneValuePerSlotMonitor, multiPaxosCodec } from "@concord/multipaxos";

export interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly message: MultiPaxosMessage;
}

/**
 * TestDisk keeps what was synced apart from what was only written, under the
 * Storage contract's rule that a write not yet synced never destroys one that
 * was: a snapshot is staged, and becomes durable only at the next sync,
 * atomically with the records written after it. A crash before that sync
 * recovers the previous snapshot and the records synced with or after it; a
 * crash with no snapshot staged may keep any prefix of the unsynced records
 * (they may have reached the platter).
 */
export class TestDisk {
  /** snapshot is the durable snapshot. */
  snapshot: Uint8Array | undefined = undefined;
  /** records are the durable records after the durable snapshot. */
  records: Uint8Array[] = [];
  /** stagedSnapshot is a snapshot written since the last sync. */
  stagedSnapshot: Uint8Array | undefined = undefined;
  /** unsynced are the records written since the last sync (after stagedSnapshot, when one is staged). */
  unsynced: Uint8Array[] = [];

  /** writeSnapshot stages a snapshot; the records written before it in this window are superseded by it. */
  writeSnapshot(snapshot: Uint8Array): void {
    this.stagedSnapshot = snapshot;
    this.unsynced = [];
  }

  /** append writes one record, durable at the next sync. */
  append(record: Uint8Array): void {
    this.unsynced.push(record);
  }

  /** sync makes the staged snapshot and the unsynced records durable, all at once. */
  sync(): void {
    if (this.stagedSnapshot !== undefined) {
      this.snapshot = this.stagedSnapshot;
      this.records = this.unsynced;
    } else {
      this.records.push(...this.unsynced);
    }
    this.stagedSnapshot = undefined;
    this.unsynced = [];
  }

  /** crash loses what was not synced; with no snapshot staged, the first `keptRecords` unsynced records survive. */
  crash(keptRecords = 0): void {
    if (this.stagedSnapshot === undefined) this.records.push(...this.unsynced.slice(0, keptRecords));
    this.stagedSnapshot = undefined;
    this.unsynced = [];
  }

  /** durable is what a replica recovers from this disk. */
  durable(): DurableState {
    return { snapshot: this.snapshot, records: [...this.records] };
  }
}

const noCrypto: Crypto = {
  digest: () => new Uint8Array(32),
  mac: () => new Uint8Array(32),
  sign: () => new Uint8Array(64),
  verify: () => true,
  macKey: () => new Uint8Array(32),
};

/** TestCluster holds replicas, their disks, the messages in flight and what clients received. */
export class TestCluster {
  readonly ids: NodeId[];
  readonly replicas = new Map<NodeId, MultiPaxosReplica>();
  readonly machines = new Map<NodeId, KvStateMachine>();
  readonly disks = new Map<NodeId, TestDisk>();
  /** network holds messages sent between replicas and not yet delivered or dropped. */
  network: Envelope[] = [];
  /** toClients holds every message a replica sent to a client. */
  readonly toClients: Envelope[] = [];
  readonly monitor = new OneValuePerSlotMonitor();
  /** down lists replicas whose messages (both ways) are dropped on delivery. */
  readonly down = new Set<NodeId>();
  private sequence = new Map<NodeId, number>();

  /** initialMembers is the initial configuration; the other ids start outside it, ready to be added. */
  readonly initialMembers: NodeId[];

  constructor(
    n: number,
    readonly options: ProtocolOptions = {},
    seed = 1,
    initialMembers?: NodeId[],
  ) {
    this.ids = Array.from({ length: n }, (_, i) => i);
    this.initialMembers = initialMembers ?? this.ids;
    for (const id of this.ids) {
      this.disks.set(id, new TestDisk());
      this.start(id, seed);
    }
  }

  replica(id: NodeId): MultiPaxosReplica {
    const replica = this.replicas.get(id);
    if (replica === undefined) throw new Error(`no replica ${id}`);
    return replica;
  }

  disk(id: NodeId): TestDisk {
    const disk = this.disks.get(id);
    if (disk === undefined) throw new Error(`no disk ${id}`);
    return disk;
  }

  /** start (re)builds a replica from what its disk holds durably, as a runtime does after a crash: anything unsynced is lost. */
  start(id: NodeId, seed = 1): void {
    const disk = this.disk(id);
    disk.crash();
    const durable = disk.durable();
    const machine = new KvStateMachine();
    this.machines.set(id, machine);
    this.replicas.set(
      id,
      new MultiPaxosReplica({
        id,
        replicas: this.initialMembers,
        rng: createRng(seed * 1000 + id),
        durable,
        stateMachine: machine,
        crypto: noCrypto,
        options: this.options,
      }),
    );
    this.flush(id);
  }

  /** flush carries out a replica's Readies: snapshot and records written and synced, then messages (re-encoded, as a runtime would). */
  flush(id: NodeId): void {
    const replica = this.replica(id);
    for (let ready = replica.ready(); ready !== undefined; ready = replica.ready()) {
      this.write(id, ready);
      this.disk(id).sync();
      this.send(id, ready);
    }
    this.monitor.observeReplica(replica, { timeUs: 0, faulty: false });
  }

  /** write puts a Ready's snapshot and records on the replica's disk without syncing them (a runtime's first step). */
  write(id: NodeId, ready: Ready<MultiPaxosMessage>): void {
    const disk = this.disk(id);
    if (ready.snapshot !== undefined) disk.writeSnapshot(ready.snapshot);
    for (const record of ready.persist) disk.append(record);
  }

  /** send hands a Ready's messages to the network (after its records were synced) and advances the replica. */
  send(id: NodeId, ready: Ready<MultiPaxosMessage>): void {
    for (const { to, message } of ready.messages) {
      const copy = multiPaxosCodec.decode(multiPaxosCodec.encode(message));
      this.monitor.observeSend(id, to, copy, { timeUs: 0, faulty: false });
      const envelope = { from: id, to, message: copy };
      if (to >= firstClientId) this.toClients.push(envelope);
      else this.network.push(envelope);
    }
    this.replica(id).advance(ready);
  }

  /** deliver hands one message to its replica, unless either end is down. */
  deliver(envelope: Envelope): void {
    if (this.down.has(envelope.from) || this.down.has(envelope.to)) return;
    this.replica(envelope.to).step(envelope.from, envelope.message);
    this.flush(envelope.to);
  }

  /** deliverAll delivers messages (those `filter` keeps; the rest are dropped) until the network is quiet. */
  deliverAll(filter: (envelope: Envelope) => boolean = () => true, maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds && this.network.length > 0; round++) {
      const batch = this.network;
      this.network = [];
      for (const envelope of batch) if (filter(envelope)) this.deliver(envelope);
    }
  }

  /** take removes and returns the in-flight messages that match. */
  take<E extends Envelope>(match: ((envelope: Envelope) => envelope is E) | ((envelope: Envelope) => boolean)): E[] {
    const taken = this.network.filter(match) as E[];
    this.network = this.network.filter((envelope) => !match(envelope));
    return taken;
  }

  tick(ids: readonly NodeId[] = this.ids, times = 1): void {
    for (let i = 0; i < times; i++) {
      for (const id of ids) {
        if (this.down.has(id)) continue;
        this.replica(id).tick();
        this.flush(id);
      }
    }
  }

  /** tickAndDeliver alternates ticks and full deliveries, like time passing on a healthy network. */
  tickAndDeliver(times: number, filter?: (envelope: Envelope) => boolean): void {
    for (let i = 0; i < times; i++) {
      this.tick();
      this.deliverAll(filter);
    }
  }

  /** request sends a KV command from a client to a replica, in the session keyed by its client id; it returns the request's sequence. */
  request(to: NodeId, command: KvCommand, clientId: NodeId = firstClientId, readOnly = false): number {
    const sequence = (this.sequence.get(clientId) ?? 0) + 1;
    this.sequence.set(clientId, sequence);
    this.deliver({ from: clientId, to, message: { type: "request", clientId, session: clientId, sequence, command: encodeCommand(command), readOnly } });
    return sequence;
  }

  /** replyTo returns the result a replica sent for (clientId, sequence), if any. */
  replyTo(clientId: NodeId, sequence: number): KvResult | undefined {
    for (const { to, message } of this.toClients) {
      if (to === clientId && message.type === "reply" && message.sequence === sequence) return decodeResult(message.result);
    }
    return undefined;
  }

  leaders(): NodeId[] {
    return this.ids.filter((id) => !this.down.has(id) && this.replica(id).status().role === "leader");
  }

  valueAt(id: NodeId, key: string): string | undefined {
    const value = (this.machines.get(id) as KvStateMachine).store.get(key);
    return value !== undefined ? new TextDecoder().decode(value) : undefined;
  }
}

/** put builds a KV put of a string value. */
export function put(key: string, value: string): KvCommand {
  return { type: "put", key, value: new TextEncoder().encode(value) };
}

/** isType narrows envelopes by message type. */
export function isType<T extends MultiPaxosMessage["type"]>(type: T) {
  return (envelope: Envelope): envelope is Envelope & { message: Extract<MultiPaxosMessage, { type: T }> } => envelope.message.type === type;
}
