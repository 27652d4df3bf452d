// A tiny deterministic network that drives PBFT replicas and clients by hand,
// in the manner of etcd-io/raft's raft_paper_test.go: the test decides what is
// delivered, dropped or lied about, and when time passes.
import { createHash, createHmac } from "node:crypto";
import {
  createRng,
  emptyDurableState,
  firstClientId,
  type ByzantineStrategy,
  type ByzantineStrategyDefinition,
  type Completion,
  type Crypto,
  type DurableState,
  type NodeId,
  type ProtocolOptions,
} from "@concord/core";
import { decodeResult, encodeCommand, KvStateMachine, type KvCommand, type KvResult } from "@concord/kv";
import { PbftAgreementMonitor, PbftClient, PbftReplica, pbftCodec, type PbftMessage } from "@concord/pbft";

/** FakeCrypto is node:crypto's SHA-256 and HMAC-SHA256, with "signatures" that are HMACs under a per-node secret (deterministic, checkable by every node of the test). */
export class FakeCrypto implements Crypto {
  macCount = 0;
  verifyCount = 0;
  constructor(private readonly self: NodeId) {}
  digest(data: Uint8Array): Uint8Array {
    return new Uint8Array(createHash("sha256").update(data).digest());
  }
  mac(key: Uint8Array, data: Uint8Array): Uint8Array {
    this.macCount++;
    return new Uint8Array(createHmac("sha256", key).update(data).digest());
  }
  sign(data: Uint8Array): Uint8Array {
    return signatureOf(this.self, data);
  }
  verify(signer: number, data: Uint8Array, signature: Uint8Array): boolean {
    this.verifyCount++;
    return Buffer.from(signatureOf(signer, data)).equals(Buffer.from(signature));
  }
  macKey(peer: number): Uint8Array {
    const [low, high] = this.self < peer ? [this.self, peer] : [peer, this.self];
    return new TextEncoder().encode(`pairwise:${low}:${high}`);
  }
}

function signatureOf(signer: number, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac("sha256", `signing-key:${signer}`).update(data).digest());
}

/** Envelope is one message in flight. */
export interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly message: PbftMessage;
}

/** DeliveryFilter returns false to drop a message. */
export type DeliveryFilter = (envelope: Envelope) => boolean;

/**
 * DiskStep is one step of writing a Ready to a replica's disk, before the sync
 * that makes it durable: the snapshot staged, or record `index` appended.
 */
export type DiskStep = { readonly kind: "snapshot" } | { readonly kind: "record"; readonly index: number };

/** CrashBeforeSync returns true to crash replica `id` just after `step` of a Ready that carries `snapshot` or not, before its sync. */
export type CrashBeforeSync = (id: NodeId, step: DiskStep, ready: { readonly snapshot: boolean; readonly records: number }) => boolean;

/**
 * Disk is a replica's stable storage under core's `Storage` contract: a
 * snapshot is staged and becomes durable only at the next sync, atomically
 * with the records appended after it; a crash before that sync keeps the
 * previous snapshot and the records synced before.
 */
class Disk {
  snapshot: Uint8Array | undefined = undefined;
  records: Uint8Array[] = [];
  private staged: Uint8Array | undefined = undefined;
  private unsynced: Uint8Array[] = [];

  stage(snapshot: Uint8Array): void {
    this.staged = snapshot;
    this.unsynced = [];
  }

  append(record: Uint8Array): void {
    this.unsynced.push(record);
  }

  sync(): void {
    if (this.staged !== undefined) {
      this.snapshot = this.staged;
      this.records = [];
      this.staged = undefined;
    }
    this.records.push(...this.unsynced);
    this.unsynced = [];
  }

  /** crash loses everything written since the last sync. */
  crash(): void {
    this.staged = undefined;
    this.unsynced = [];
  }

  durable(): DurableState {
    return { snapshot: this.snapshot, records: [...this.records] };
  }
}

/** firstTestClient is the id of the first client: core's firstClientId, as in the simulator (ids at or above it are clients). */
export const firstTestClient: NodeId = firstClientId;

/** TestCluster runs n PBFT replicas and some clients over a FIFO network the test controls. */
export class TestCluster {
  readonly replicas: PbftReplica[] = [];
  readonly clients = new Map<NodeId, PbftClient>();
  readonly completions = new Map<NodeId, Completion[]>();
  readonly sent: Envelope[] = [];
  readonly monitor = new PbftAgreementMonitor();
  readonly ids: NodeId[];
  private queue: Envelope[] = [];
  private readonly disks = new Map<NodeId, Disk>();
  private readonly strategies = new Map<NodeId, ByzantineStrategy<PbftMessage>>();
  private readonly down = new Set<NodeId>();
  private readonly rng = createRng(42);
  private readonly cryptos = new Map<NodeId, FakeCrypto>();
  filter: DeliveryFilter = () => true;
  /** crashBeforeSync, when set, may crash a replica in the middle of writing a Ready, before its sync (nothing of that Ready is then durable or sent). */
  crashBeforeSync: CrashBeforeSync | undefined;
  timeUs = 0;

  constructor(
    readonly n: number,
    readonly options: ProtocolOptions = {},
    clients = 1,
  ) {
    this.ids = Array.from({ length: n }, (_, i) => i);
    for (const id of this.ids) {
      this.disks.set(id, new Disk());
      this.replicas.push(this.build(id, emptyDurableState));
    }
    for (let i = 0; i < clients; i++) {
      const id = firstTestClient + i;
      this.clients.set(id, new PbftClient({ id, replicas: this.ids, rng: createRng(id), crypto: new FakeCrypto(id), options }));
      this.completions.set(id, []);
    }
  }

  /** makeByzantine wraps replica `id` with a strategy, as the simulator does. */
  makeByzantine(id: NodeId, definition: ByzantineStrategyDefinition<PbftMessage>): void {
    this.strategies.set(id, definition.create(id));
  }

  replica(id: NodeId): PbftReplica {
    return this.replicas[id] as PbftReplica;
  }

  client(index = 0): PbftClient {
    return this.clients.get(firstTestClient + index) as PbftClient;
  }

  /** submit starts a KV command on client `index` and delivers until quiet. */
  submit(command: KvCommand, index = 0, readOnly = command.type === "get"): void {
    const result = this.client(index).submit(encodeCommand(command), { readOnly });
    if (result.kind !== "accepted") throw new Error(`submit rejected: ${JSON.stringify(result)}`);
    this.collectClient(firstTestClient + index);
  }

  /** results decodes the ok results of a client's completed requests. */
  results(index = 0): (KvResult | string)[] {
    return (this.completions.get(firstTestClient + index) ?? []).map((c) => (c.outcome.kind === "ok" ? decodeResult(c.outcome.result) : c.outcome.kind));
  }

  /** deliverAll delivers messages until none is in flight (bounded, so a livelock fails the test). */
  deliverAll(maxMessages = 200_000): void {
    let delivered = 0;
    while (this.queue.length > 0) {
      if (++delivered > maxMessages) throw new Error("deliverAll: the network never went quiet");
      const envelope = this.queue.shift() as Envelope;
      this.deliver(envelope);
    }
  }

  /** tick advances every live node by `ticks` ticks, delivering everything after each. */
  tick(ticks = 1): void {
    for (let t = 0; t < ticks; t++) {
      this.timeUs += 10_000;
      for (const id of this.ids) {
        if (this.down.has(id)) continue;
        this.replica(id).tick();
        this.collectReplica(id);
      }
      for (const [id, client] of this.clients) {
        client.tick();
        this.collectClient(id);
      }
      this.deliverAll();
    }
  }

  /** runUntil ticks until `done` holds, failing after `maxTicks`. */
  runUntil(done: () => boolean, maxTicks = 2000): void {
    this.deliverAll();
    for (let t = 0; t < maxTicks && !done(); t++) this.tick();
    if (!done()) throw new Error(`runUntil: condition not reached in ${maxTicks} ticks`);
  }

  /** idle tells whether no client has a request outstanding. */
  idle(): boolean {
    return [...this.clients.values()].every((c) => !c.outstanding());
  }

  /** crash stops a replica; its unsent work and everything it wrote since its last sync are lost, its synced records stay. */
  crash(id: NodeId): void {
    this.down.add(id);
    this.disk(id).crash();
  }

  /** isDown tells whether replica `id` is crashed. */
  isDown(id: NodeId): boolean {
    return this.down.has(id);
  }

  /** restart rebuilds a crashed replica from what it synced. */
  restart(id: NodeId): void {
    this.down.delete(id);
    this.replicas[id] = this.build(id, this.disk(id).durable());
    this.collectReplica(id);
  }

  /** durableState returns what replica `id` would recover from now. */
  durableState(id: NodeId): DurableState {
    return this.disk(id).durable();
  }

  /** countSent counts the messages of one type sent so far (after Byzantine rewriting). */
  countSent(type: PbftMessage["type"]): number {
    return this.sent.filter((e) => e.message.type === type).length;
  }

  /** inject puts a message on the wire as if `from` had sent it. */
  inject(from: NodeId, to: NodeId, message: PbftMessage): void {
    this.queue.push({ from, to, message });
  }

  /** cryptoOf returns the crypto the current incarnation of replica `id` was built with (to count its work). */
  cryptoOf(id: NodeId): FakeCrypto {
    return this.cryptos.get(id) as FakeCrypto;
  }

  private build(id: NodeId, durable: DurableState): PbftReplica {
    const crypto = new FakeCrypto(id);
    this.cryptos.set(id, crypto);
    return new PbftReplica({ id, replicas: this.ids, rng: createRng(id), durable, stateMachine: new KvStateMachine(), crypto, options: this.options });
  }

  private deliver(envelope: Envelope): void {
    if (!this.filter(envelope)) return;
    // Every message crosses the wire encoded, as in the simulator, so codec bugs surface here too.
    const message = pbftCodec.decode(pbftCodec.encode(envelope.message));
    if (envelope.to >= firstTestClient) {
      const client = this.clients.get(envelope.to);
      if (client === undefined) return;
      client.step(envelope.from, message);
      this.collectClient(envelope.to);
      return;
    }
    if (this.down.has(envelope.to)) return;
    const strategy = this.strategies.get(envelope.to);
    const seen = strategy?.inbound === undefined ? message : strategy.inbound(envelope.from, message, this.context(envelope.to));
    if (seen === undefined) return;
    this.replica(envelope.to).step(envelope.from, seen);
    this.collectReplica(envelope.to);
  }

  private collectReplica(id: NodeId): void {
    const replica = this.replica(id);
    for (let ready = replica.ready(); ready !== undefined; ready = replica.ready()) {
      if (!this.write(id, ready.snapshot, ready.persist)) return;
      const strategy = this.strategies.get(id);
      const messages = strategy === undefined ? ready.messages : strategy.outbound(ready.messages, this.context(id));
      for (const { to, message } of messages) this.send({ from: id, to, message });
      replica.advance(ready);
    }
    this.monitor.observeReplica(replica, { timeUs: this.timeUs, faulty: this.strategies.has(id) });
  }

  /** write puts a Ready's snapshot and records on the disk and syncs them, unless `crashBeforeSync` crashes the replica first (then it returns false). */
  private write(id: NodeId, snapshot: Uint8Array | undefined, records: readonly Uint8Array[]): boolean {
    const disk = this.disk(id);
    const shape = { snapshot: snapshot !== undefined, records: records.length };
    const crashAfter = (step: DiskStep): boolean => {
      if (this.crashBeforeSync === undefined || !this.crashBeforeSync(id, step, shape)) return false;
      this.crash(id);
      return true;
    };
    if (snapshot !== undefined) {
      disk.stage(snapshot);
      if (crashAfter({ kind: "snapshot" })) return false;
    }
    for (let index = 0; index < records.length; index++) {
      disk.append(records[index] as Uint8Array);
      if (crashAfter({ kind: "record", index })) return false;
    }
    disk.sync();
    return true;
  }

  private disk(id: NodeId): Disk {
    return this.disks.get(id) as Disk;
  }

  private collectClient(id: NodeId): void {
    const client = this.clients.get(id) as PbftClient;
    for (let ready = client.ready(); ready !== undefined; ready = client.ready()) {
      for (const { to, message } of ready.messages) this.send({ from: id, to, message });
      (this.completions.get(id) as Completion[]).push(...ready.completions);
      client.advance(ready);
    }
  }

  private send(envelope: Envelope): void {
    this.sent.push(envelope);
    this.queue.push(envelope);
  }

  private context(id: NodeId) {
    return { self: id, replicas: this.ids, rng: this.rng, crypto: new FakeCrypto(id), replica: this.replica(id), timeUs: this.timeUs };
  }
}
