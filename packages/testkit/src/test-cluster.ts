// An in-memory cluster for behaviour tests that drive replicas by hand, after
// etcd-io/raft's `network` in raft_test.go: the test decides which messages
// are delivered, dropped or held, when replicas tick, crash and restart. Every
// replica runs behind core's ReplicaHost, so the Ready contract (write, sync,
// then send, then advance) is the one every runtime keeps; the disks follow
// core's Storage rule; every message crosses the wire encoded.
import {
  ReplicaHost,
  assert,
  createRng,
  firstClientId,
  type AlgorithmDefinition,
  type ByzantineContext,
  type ByzantineStrategy,
  type ByzantineStrategyDefinition,
  type Client,
  type ClientContext,
  type ClientReplyMessage,
  type ClientRequestMessage,
  type ClientWireMessage,
  type Completion,
  type Crypto,
  type InvariantMonitor,
  type InvariantViolation,
  type MonitorEventContext,
  type NodeId,
  type Outbound,
  type ProtocolOptions,
  type Ready,
  type ReadLevel,
  type Replica,
  type ReplicaContext,
  type Rng,
  type StateMachine,
  readLevelCode,
} from "@concord/core";
import { KvStateMachine, decodeResult, encodeCommand, type KvCommand, type KvResult } from "@concord/kv";
import { MemoryStorage as MemoryDisk } from "@concord/core";

/** Envelope is one message in flight, or delivered to a client. */
export interface Envelope<M> {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly message: M;
}

/**
 * DeliveryFate is what became of a message the cluster tried to deliver:
 * `delivered`, `dropped` by a cut, a pause or a filter, or `lost` because the
 * replica it was sent to is down.
 */
export type DeliveryFate = "delivered" | "dropped" | "lost";

/** EnvelopeFilter picks envelopes: for `drop`, true discards the message; for `keep`, false does. */
export type EnvelopeFilter<M> = (envelope: Envelope<M>) => boolean;

/**
 * SyncDecision is what a test's `beforeSync` hook does with a Ready that is
 * written and not yet synced: sync it and go on, hold it there (the cluster
 * stops delivering until the test syncs and sends it or crashes the replica),
 * or crash the replica there, keeping that many of the unsynced records (none
 * survive when the Ready staged a snapshot).
 */
export type SyncDecision = "sync" | "hold" | { readonly crashKeepingUnsyncedRecords: number };

/** BeforeSync is a test's hook between writing a Ready and syncing it. */
export type BeforeSync<M> = (id: NodeId, ready: Ready<M>) => SyncDecision;

/** KvRequestFields are the fields of a client's KV request as the protocols carry them. */
export interface KvRequestFields {
  readonly clientId: NodeId;
  readonly session: number;
  readonly sequence: number;
  readonly command: Uint8Array;
  readonly readOnly: boolean;
  /** readLevel is the consistency a read asks for; `linearizable` when absent. */
  readonly readLevel?: ReadLevel;
}

/**
 * KvClientWire tells the cluster how a protocol spells a client's request and
 * reply, so that a test can send requests and read replies without a client
 * object (as etcd-io/raft's tests propose directly).
 */
export interface KvClientWire<M> {
  request(fields: KvRequestFields): M;
  /** reply reads a reply (its sequence and encoded result), or returns undefined for any other message. */
  reply(message: M): { readonly sequence: number; readonly result: Uint8Array } | undefined;
}

/**
 * coreClientWire is the {@link KvClientWire} of every protocol whose message
 * union carries core's client wire (`clientRequest`, `clientReply`): solo,
 * Raft and Multi-Paxos. A protocol with requests of its own (PBFT's carry
 * authenticators) writes its own.
 */
export function coreClientWire<M extends { readonly type: string }>(): ClientRequestMessage extends M ? KvClientWire<M> : never {
  const wire: KvClientWire<M | ClientWireMessage> = {
    request: (fields): ClientRequestMessage => ({ type: "clientRequest", ...fields, readLevel: readLevelCode(fields.readLevel ?? "linearizable") }),
    // The tag decides: a message whose type is clientReply is core's reply, whatever else the union holds.
    reply: (message) => (message.type === "clientReply" ? (message as ClientReplyMessage) : undefined),
  };
  // The return type admits only a union M that holds core's request, so the request built above is an M.
  return wire as ClientRequestMessage extends M ? KvClientWire<M> : never;
}

/** RequestOptions say who sends a request and how it reaches the replica. */
export interface RequestOptions {
  /** clientId is the sender (default: core's firstClientId). */
  readonly clientId?: NodeId;
  /** sequence defaults to the client's next one (1, 2, 3, ...). */
  readonly sequence?: number;
  /** session defaults to the client id. */
  readonly session?: number;
  /** readOnly defaults to true for a get. */
  readonly readOnly?: boolean;
  /** readLevel is the consistency a read asks for (default linearizable). */
  readonly readLevel?: ReadLevel;
  /** stepOnly hands the request straight to the replica, bypassing the filters, and leaves its Ready for the test to run. */
  readonly stepOnly?: boolean;
}

/** KvReply is one reply a client received. */
export interface KvReply {
  readonly from: NodeId;
  readonly sequence: number;
  readonly result: KvResult;
}

/** TestClusterConfig describes a cluster: the algorithm, the replicas, and how to build each. */
export interface TestClusterConfig<M, R extends Replica<M>, S extends StateMachine = KvStateMachine> {
  /** algorithm gives the codec, the monitors, the clients and the Byzantine strategies. */
  readonly algorithm: AlgorithmDefinition<M>;
  /** createReplica builds one replica; a protocol's tests pass its replica class here for typed access. */
  readonly createReplica: (context: ReplicaContext) => R;
  /** ids are the replicas that exist (default 0..n-1 from `replicas`). */
  readonly ids: readonly NodeId[];
  /** initialMembers is the initial configuration handed to every replica (default: `ids`); the others start outside it. */
  readonly initialMembers?: readonly NodeId[];
  readonly options?: ProtocolOptions;
  /** rng gives a replica its random stream, called at every (re)start (default: seeded by the id). */
  readonly rng?: (id: NodeId) => Rng;
  /**
   * stateMachine builds the application a replica runs, at every (re)start
   * (default: the KV store, which `value`, `request` and `results` read).
   */
  readonly stateMachine?: (id: NodeId) => S;
  /** crypto gives a replica or client its cryptography, called at every (re)start. */
  readonly crypto?: (id: NodeId) => Crypto;
  /** monitors watch the run (default: the algorithm's own). */
  readonly monitors?: readonly InvariantMonitor<M>[];
  /** clientWire lets tests send KV requests and read replies without client objects. */
  readonly clientWire?: KvClientWire<M>;
  /** clients is how many client objects to build with the algorithm's `createClient`, ids from firstClientId. */
  readonly clients?: number;
  /** tickUs is the virtual time one tick stands for, for monitors and Byzantine strategies (default 10 ms). */
  readonly tickUs?: number;
  /**
   * clientLinks says how messages to client ids travel: `queued` (default)
   * like any other, through the queue and the filters; `instant`: they reach
   * the client's inbox the moment they are sent, as if the client sat beside
   * the replica, so that a test reads a reply without delivering the peers'
   * messages sent with it.
   */
  readonly clientLinks?: "queued" | "instant";
}

/** deliverMessagesMax bounds one `deliverAll`, so that a cluster that never goes quiet fails the test instead of spinning. */
export const deliverMessagesMax = 200_000;

/** tickUntilSentTicksMax is `tickUntilSent`'s default bound. */
export const tickUntilSentTicksMax = 200;

/** runUntilTicksMax is `runUntil`'s default bound. */
export const runUntilTicksMax = 2000;

const tickUsDefault = 10_000;

/** zeroCrypto stands in for a runtime's cryptography where a protocol's tests do not check it: fixed bytes, every check passes. */
export const zeroCrypto: Crypto = {
  digest: () => new Uint8Array(32),
  mac: () => new Uint8Array(32),
  sign: () => new Uint8Array(64),
  verify: () => true,
  macKey: () => new Uint8Array(32),
};

/**
 * TestCluster holds replicas behind their hosts, their disks and state
 * machines, the messages in flight, the links that are cut and what clients
 * received. Typed access to a replica (`replica(id)`) returns the protocol's
 * own class, for tests that call protocol methods (`campaign()`, ...).
 *
 * Ready processing is lazy, as in etcd-io/raft's `network`: a message or tick
 * handed to a replica with `step` leaves its Ready for `collect`, `drain` or
 * `deliverAll` to carry out; `deliver` and `tick` drain the replica at once.
 */
export class TestCluster<M, R extends Replica<M>, S extends StateMachine = KvStateMachine> {
  readonly ids: readonly NodeId[];
  readonly initialMembers: readonly NodeId[];
  readonly options: ProtocolOptions;
  readonly algorithm: AlgorithmDefinition<M>;
  readonly monitors: readonly InvariantMonitor<M>[];
  /** queue holds the messages sent and not yet delivered or dropped, oldest first; a test may filter or reorder it. */
  queue: Envelope<M>[] = [];
  /** clientInbox holds every message delivered to a client id, in order. */
  readonly clientInbox: Envelope<M>[] = [];
  /** sent holds every message put on the wire (after a Byzantine strategy rewrote it), in order. */
  readonly sent: Envelope<M>[] = [];
  /** delivered counts the messages delivered to replicas, by type. */
  readonly delivered = new Map<string, number>();
  /** readies records every Ready each replica produced, in order. */
  readonly readies = new Map<NodeId, Ready<M>[]>();
  /** drop, when set, discards the messages it returns true for, at delivery. */
  drop: EnvelopeFilter<M> | undefined;
  /** onDelivery, when set, hears what became of every message the cluster tried to deliver, in order (for traces, as golden tests write them). */
  onDelivery: ((envelope: Envelope<M>, fate: DeliveryFate) => void) | undefined;
  /** beforeSync, when set, decides for every Ready written and not yet synced whether to sync it, hold it or crash there. */
  beforeSync: BeforeSync<M> | undefined;
  /** timeUs is the virtual time: `tickUs` per tick of the whole cluster. */
  timeUs = 0;

  private readonly config: TestClusterConfig<M, R, S>;
  private readonly hosts = new Map<NodeId, ReplicaHost<M>>();
  private readonly replicaObjects = new Map<NodeId, R>();
  private readonly machines = new Map<NodeId, S>();
  private readonly disks = new Map<NodeId, MemoryDisk>();
  private readonly cryptos = new Map<NodeId, Crypto>();
  private readonly cuts = new Set<string>();
  private readonly paused = new Set<NodeId>();
  private readonly strategies = new Map<NodeId, ByzantineStrategy<M>>();
  private readonly strategyRng = createRng(42);
  private readonly clientObjects = new Map<NodeId, Client<M>>();
  private readonly completionLists = new Map<NodeId, Completion[]>();
  private readonly sequences = new Map<NodeId, number>();
  private readonly tickUs: number;

  constructor(config: TestClusterConfig<M, R, S>) {
    this.config = config;
    this.algorithm = config.algorithm;
    this.ids = [...config.ids];
    this.initialMembers = [...(config.initialMembers ?? config.ids)];
    this.options = config.options ?? {};
    this.monitors = config.monitors ?? config.algorithm.createMonitors();
    this.tickUs = config.tickUs ?? tickUsDefault;
    for (const id of this.ids) {
      this.disks.set(id, new MemoryDisk());
      this.restart(id);
    }
    for (let index = 0; index < (config.clients ?? 0); index++) this.addClient(firstClientId + index);
  }

  /** of builds a cluster of `n` replicas (ids 0..n-1) of any registered algorithm, its replicas typed as core's Replica. */
  static of<M>(algorithm: AlgorithmDefinition<M>, n: number, rest: Partial<Omit<TestClusterConfig<M, Replica<M>>, "algorithm" | "createReplica">> = {}): TestCluster<M, Replica<M>> {
    return new TestCluster({ ids: Array.from({ length: n }, (_, id) => id), ...rest, algorithm, createReplica: (context) => algorithm.createReplica(context) });
  }

  // ---- replicas, disks, state machines -------------------------------------------------------

  /** replica returns the running replica `id`, as the protocol's class. */
  replica(id: NodeId): R {
    const replica = this.replicaObjects.get(id);
    if (replica === undefined) throw new Error(`replica ${id} is not running`);
    return replica;
  }

  /** host returns the host that runs replica `id`. */
  host(id: NodeId): ReplicaHost<M> {
    const host = this.hosts.get(id);
    if (host === undefined) throw new Error(`replica ${id} is not running`);
    return host;
  }

  /** isRunning tells whether replica `id` is up (not crashed). */
  isRunning(id: NodeId): boolean {
    return this.hosts.has(id);
  }

  /** running lists the replicas that are up, in id order. */
  running(): NodeId[] {
    return this.ids.filter((id) => this.hosts.has(id));
  }

  /** disk returns replica `id`'s disk (it outlives the replica's crashes). */
  disk(id: NodeId): MemoryDisk {
    const disk = this.disks.get(id);
    if (disk === undefined) throw new Error(`no replica ${id}`);
    return disk;
  }

  /** machine returns the state machine of replica `id`'s current incarnation. */
  machine(id: NodeId): S {
    const machine = this.machines.get(id);
    if (machine === undefined) throw new Error(`no replica ${id}`);
    return machine;
  }

  /** value reads a key straight from replica `id`'s store, as text. */
  value(id: NodeId, key: string): string | undefined {
    const machine = this.machine(id);
    if (!(machine instanceof KvStateMachine)) throw new Error(`value reads a KV store; replica ${id} runs another state machine`);
    const bytes = machine.store.get(key);
    return bytes === undefined ? undefined : new TextDecoder().decode(bytes);
  }

  /** crypto returns the cryptography the current incarnation of node `id` was built with (to count its work). */
  crypto(id: NodeId): Crypto {
    const crypto = this.cryptos.get(id);
    if (crypto === undefined) throw new Error(`no node ${id}`);
    return crypto;
  }

  /** leaders lists the running, unpaused replicas that report themselves leader or primary. */
  leaders(): NodeId[] {
    return this.running().filter((id) => !this.paused.has(id) && isLeading(this.host(id).replica.status().role));
  }

  /** leader returns the leading replica of the highest epoch, if any. */
  leader(): R | undefined {
    let best: R | undefined;
    for (const id of this.leaders()) {
      const replica = this.replica(id);
      if (best === undefined || replica.status().epoch > best.status().epoch) best = replica;
    }
    return best;
  }

  /** violations lists what the monitors found broken so far. */
  violations(): InvariantViolation[] {
    return this.monitors.flatMap((monitor) => [...monitor.violations()]);
  }

  // ---- crashes and restarts ------------------------------------------------------------------

  /**
   * crash loses replica `id`'s memory, what its disk holds unsynced (but the
   * first `keepUnsyncedRecords` records when no snapshot is staged), the Ready
   * it had not finished, and the messages in flight to it.
   */
  crash(id: NodeId, keepUnsyncedRecords = 0): void {
    this.hosts.delete(id);
    this.replicaObjects.delete(id);
    this.queue = this.queue.filter((envelope) => envelope.to !== id);
    this.disk(id).crash(keepUnsyncedRecords);
  }

  /**
   * restart builds replica `id` (again) from what its disk holds durably, as
   * a runtime does after a crash, and carries out its first Readies. A
   * replica still running is crashed first (nothing unsynced survives).
   */
  restart(id: NodeId, overrides: { readonly rng?: Rng; readonly options?: ProtocolOptions } = {}): R {
    if (this.hosts.has(id)) this.crash(id);
    const machine = this.config.stateMachine?.(id) ?? (new KvStateMachine() as StateMachine as S);
    const crypto = this.config.crypto?.(id) ?? zeroCrypto;
    const rng = overrides.rng ?? this.config.rng?.(id) ?? createRng(id + 1);
    const disk = this.disk(id);
    const replica = this.config.createReplica({ id, replicas: this.initialMembers, rng, durable: disk.recover(), stateMachine: machine, crypto, options: overrides.options ?? this.options });
    this.hosts.set(id, new ReplicaHost<M>(replica, disk, (from, messages) => this.sendFromReplica(from, messages)));
    this.replicaObjects.set(id, replica);
    this.machines.set(id, machine);
    this.cryptos.set(id, crypto);
    this.drain(id);
    return replica;
  }

  /** makeByzantine wraps replica `id` with a strategy, as the simulator does: it rewrites what the replica sends and may hide what it receives. */
  makeByzantine(id: NodeId, definition: ByzantineStrategyDefinition<M>): void {
    this.strategies.set(id, definition.create(id));
  }

  // ---- links ---------------------------------------------------------------------------------

  /** cut cuts the link between `a` and `b`, both ways. */
  cut(a: NodeId, b: NodeId): void {
    this.cuts.add(`${a}>${b}`);
    this.cuts.add(`${b}>${a}`);
  }

  /** isolate cuts every link between `id` and the other replicas, both ways (its clients still reach it). */
  isolate(id: NodeId): void {
    for (const other of this.ids) if (other !== id) this.cut(id, other);
  }

  /** heal restores every cut link (pauses and `drop` stay as they are). */
  heal(): void {
    this.cuts.clear();
  }

  /** pause stops replica `id` without a crash: it keeps its memory, is not ticked, and every message to or from it is dropped at delivery. */
  pause(id: NodeId): void {
    this.paused.add(id);
  }

  /** resume lets a paused replica run again. */
  resume(id: NodeId): void {
    this.paused.delete(id);
  }

  /** isPaused tells whether replica `id` is paused. */
  isPaused(id: NodeId): boolean {
    return this.paused.has(id);
  }

  /** blocked tells whether a cut, a pause, `drop` or the call's `keep` discards the envelope (in that order: `drop` sees only what the links let through). */
  private blocked(envelope: Envelope<M>, keep: EnvelopeFilter<M> | undefined): boolean {
    if (this.cuts.has(`${envelope.from}>${envelope.to}`)) return true;
    if (this.paused.has(envelope.from) || this.paused.has(envelope.to)) return true;
    if (this.drop?.(envelope) === true) return true;
    return keep !== undefined && !keep(envelope);
  }

  // ---- the Ready loop, through each replica's host -------------------------------------------

  /**
   * collect carries out one Ready of replica `id`: written unsynced, then (as
   * `beforeSync` decides) synced, sent and advanced, held, or crashed. It
   * returns the Ready, or undefined when the replica had none (or is down,
   * or holds one already).
   */
  collect(id: NodeId): Ready<M> | undefined {
    const ready = this.persistReady(id);
    if (ready === undefined) return undefined;
    const decision = this.beforeSync?.(id, ready) ?? "sync";
    if (decision === "hold") return ready;
    if (decision !== "sync") {
      this.crash(id, decision.crashKeepingUnsyncedRecords);
      return ready;
    }
    this.syncReady(id);
    this.sendReady(id);
    return ready;
  }

  /** collectAll carries out one Ready of every running replica; it tells whether any had one. */
  collectAll(): boolean {
    let any = false;
    for (const id of this.running()) if (this.collect(id) !== undefined) any = true;
    return any;
  }

  /** drain carries out replica `id`'s Readies until it has none, or one is held. */
  drain(id: NodeId): void {
    while (this.collect(id) !== undefined && this.heldReady(id) === undefined && this.isRunning(id));
    if (this.isRunning(id) && this.heldReady(id) === undefined) this.observe(id);
  }

  /** persistReady takes replica `id`'s next Ready and writes its snapshot and records to the disk, unsynced (the host's `begin`). */
  persistReady(id: NodeId): Ready<M> | undefined {
    const host = this.hosts.get(id);
    if (host === undefined || host.busy) return undefined;
    const ready = host.begin();
    if (ready === undefined) return undefined;
    const list = this.readies.get(id) ?? [];
    list.push({ snapshot: ready.snapshot, persist: [...ready.persist], messages: [...ready.messages] });
    this.readies.set(id, list);
    return ready;
  }

  /** syncReady makes the written Ready durable: its staged snapshot and records, atomically. */
  syncReady(id: NodeId): void {
    this.host(id).synced();
  }

  /** sendReady puts the synced Ready's messages on the wire and advances the replica (the host refuses before the sync). */
  sendReady(id: NodeId): void {
    const host = this.host(id);
    host.release();
    host.advance();
    this.observe(id);
  }

  /** heldReady is replica `id`'s Ready that is written and not yet sent, if any. */
  heldReady(id: NodeId): Ready<M> | undefined {
    return this.hosts.get(id)?.inflight;
  }

  private anyHeld(): boolean {
    for (const host of this.hosts.values()) if (host.busy) return true;
    return false;
  }

  private observe(id: NodeId): void {
    const context = this.context(id);
    for (const monitor of this.monitors) monitor.observeReplica?.(this.host(id).replica, context);
  }

  private context(id: NodeId): MonitorEventContext {
    return { timeUs: this.timeUs, faulty: this.strategies.has(id) };
  }

  private sendFromReplica(from: NodeId, messages: readonly Outbound<M>[]): void {
    const context = this.context(from);
    for (const { to, message } of messages) for (const monitor of this.monitors) monitor.observeSend?.(from, to, message, context);
    const strategy = this.strategies.get(from);
    const outbound = strategy === undefined ? messages : strategy.outbound(messages, this.byzantineContext(from));
    for (const { to, message } of outbound) this.enqueue(from, to, message);
  }

  private byzantineContext(id: NodeId): ByzantineContext<M> {
    // A strategy gets keys of its own, so that its work is not counted as the replica's.
    const crypto = this.config.crypto?.(id) ?? zeroCrypto;
    return { self: id, replicas: this.ids, rng: this.strategyRng, crypto, replica: this.host(id).replica, timeUs: this.timeUs };
  }

  /** enqueue puts a message on the wire, re-encoded through the algorithm's codec so that codec bugs surface in every test; `sent` records what nodes sent. */
  private enqueue(from: NodeId, to: NodeId, message: M, recordSent = true): void {
    const { codec } = this.algorithm;
    const envelope = { from, to, message: codec.decode(codec.encode(message)) };
    if (recordSent) this.sent.push(envelope);
    if (to >= firstClientId && this.config.clientLinks === "instant") {
      this.clientInbox.push(envelope);
      this.deliverToClient(envelope);
      return;
    }
    this.queue.push(envelope);
  }

  // ---- delivery ------------------------------------------------------------------------------

  /** step hands a message straight to replica `id` (no filter, no Ready run): the test runs the Ready. */
  step(id: NodeId, from: NodeId, message: M): void {
    this.host(id).step(from, message);
  }

  /** inject puts a message on the wire as if `from` had sent it (encoded like any other; `sent` leaves it out: no node sent it). */
  inject(from: NodeId, to: NodeId, message: M): void {
    this.enqueue(from, to, message, false);
  }

  /** countSent counts the messages of one type nodes sent so far (after Byzantine rewriting). */
  countSent(type: string): number {
    const { codec } = this.algorithm;
    return this.sent.filter((envelope) => codec.typeName(envelope.message) === type).length;
  }

  /**
   * deliver hands one envelope to its destination unless a filter discards
   * it, and carries out the Readies it causes; with `drain: false` it leaves
   * them for the test to run (`collect`, `persistReady`, ...).
   */
  deliver(envelope: Envelope<M>, options: { readonly drain?: boolean } = {}): void {
    if (this.stepEnvelope(envelope, undefined) && options.drain !== false) this.drain(envelope.to);
  }

  /** stepEnvelope delivers without running the replica's Ready; it tells whether a replica was stepped. */
  private stepEnvelope(envelope: Envelope<M>, keep: EnvelopeFilter<M> | undefined): boolean {
    if (this.blocked(envelope, keep)) {
      this.onDelivery?.(envelope, "dropped");
      return false;
    }
    if (envelope.to >= firstClientId) {
      this.onDelivery?.(envelope, "delivered");
      this.clientInbox.push(envelope);
      this.deliverToClient(envelope);
      return false;
    }
    const host = this.hosts.get(envelope.to);
    this.onDelivery?.(envelope, host === undefined ? "lost" : "delivered");
    if (host === undefined) return false;
    assert(!host.busy, () => `replica ${envelope.to} has a written Ready not yet sent: sync and send it, or crash the replica`);
    const strategy = this.strategies.get(envelope.to);
    const seen = strategy?.inbound === undefined ? envelope.message : strategy.inbound(envelope.from, envelope.message, this.byzantineContext(envelope.to));
    if (seen === undefined) return false;
    const type = this.algorithm.codec.typeName(envelope.message);
    this.delivered.set(type, (this.delivered.get(type) ?? 0) + 1);
    host.step(envelope.from, seen);
    return true;
  }

  /**
   * deliverAll carries out Readies and delivers messages, oldest first, until
   * nothing is in flight and no replica has work, or a Ready is held.
   * Messages `keep` rejects are dropped. Each round carries out one Ready of
   * every replica before the next message, as etcd-io/raft's network does.
   */
  deliverAll(keep?: EnvelopeFilter<M>): void {
    for (let delivered = 0; ; delivered++) {
      // An advance may leave new work (a leader's own synced entries commit), so quiet means no Ready and no message.
      const readied = this.collectAll();
      if (this.anyHeld()) return;
      const envelope = this.queue.shift();
      if (envelope === undefined) {
        if (readied) continue;
        for (const id of this.running()) this.observe(id);
        return;
      }
      if (delivered >= deliverMessagesMax) throw new Error(`deliverAll: the network did not go quiet after ${deliverMessagesMax} messages`);
      this.stepEnvelope(envelope, keep);
    }
  }

  /** take removes and returns the messages in flight that match. */
  take<E extends Envelope<M>>(match: ((envelope: Envelope<M>) => envelope is E) | EnvelopeFilter<M>): E[] {
    const taken = this.queue.filter(match) as E[];
    this.queue = this.queue.filter((envelope) => !match(envelope));
    return taken;
  }

  // ---- time ----------------------------------------------------------------------------------

  /** tick advances the clocks of `ids` (running, unpaused replicas, or client objects) `times` times, carrying out their Readies, delivering nothing. */
  tick(ids: NodeId | readonly NodeId[] = this.ids, times = 1): void {
    const list = typeof ids === "number" ? [ids] : ids;
    for (let i = 0; i < times; i++) {
      for (const id of list) {
        const client = this.clientObjects.get(id);
        if (client !== undefined) {
          client.tick();
          this.drainClient(id);
          continue;
        }
        if (!this.isRunning(id) || this.paused.has(id)) continue;
        this.host(id).tick();
        this.drain(id);
      }
    }
  }

  /**
   * tickUntilSent ticks replica `id` (delivering nothing) until it has sent a
   * message of `type`, and takes those messages off the wire for the test to
   * deliver or drop; the others it sent stay in flight. It fails after
   * `ticksMax` ticks.
   */
  tickUntilSent(id: NodeId, type: string, ticksMax = tickUntilSentTicksMax): Envelope<M>[] {
    const { codec } = this.algorithm;
    for (let tick = 0; tick < ticksMax; tick++) {
      this.tick(id);
      const found = this.take((envelope) => envelope.from === id && codec.typeName(envelope.message) === type);
      if (found.length > 0) return found;
    }
    throw new Error(`replica ${id} sent no ${type} in ${ticksMax} ticks`);
  }

  /**
   * tickAndDeliver, `times` times, advances virtual time by one tick, ticks
   * every running, unpaused replica (or only those in `only`) and every
   * client, then delivers until quiet (dropping what `keep` rejects).
   */
  tickAndDeliver(times = 1, filters: { readonly only?: NodeId | readonly NodeId[]; readonly keep?: EnvelopeFilter<M> } = {}): void {
    const only = filters.only === undefined ? this.ids : typeof filters.only === "number" ? [filters.only] : filters.only;
    for (let i = 0; i < times; i++) {
      this.timeUs += this.tickUs;
      for (const id of only) {
        if (!this.isRunning(id) || this.paused.has(id)) continue;
        this.host(id).tick();
      }
      if (filters.only === undefined && this.clientObjects.size > 0) {
        // What the replicas sent at this tick goes on the wire before what the clients send.
        this.collectAll();
        for (const [id, client] of this.clientObjects) {
          client.tick();
          this.drainClient(id);
        }
      }
      this.deliverAll(filters.keep);
    }
  }

  /** runUntil delivers, then ticks and delivers until `done` holds, failing after `ticksMax`. */
  runUntil(done: () => boolean, ticksMax = runUntilTicksMax): void {
    this.deliverAll();
    for (let t = 0; t < ticksMax && !done(); t++) this.tickAndDeliver();
    if (!done()) throw new Error(`runUntil: condition not reached in ${ticksMax} ticks`);
  }

  // ---- clients -------------------------------------------------------------------------------

  /** addClient builds a client object at `id` with the algorithm's `createClient`; messages to `id` reach it. */
  addClient(id: NodeId, context: Partial<Omit<ClientContext, "id">> = {}): Client<M> {
    const crypto = context.crypto ?? this.config.crypto?.(id) ?? zeroCrypto;
    this.cryptos.set(id, crypto);
    const client = this.algorithm.createClient({ id, replicas: this.ids, rng: createRng(id), options: this.options, ...context, crypto });
    this.clientObjects.set(id, client);
    this.completionLists.set(id, []);
    return client;
  }

  /** client returns client object number `index` (its id is firstClientId + index). */
  client(index = 0): Client<M> {
    const client = this.clientObjects.get(firstClientId + index);
    if (client === undefined) throw new Error(`no client ${index}`);
    return client;
  }

  /** completions lists what client `index` has completed. */
  completions(index = 0): readonly Completion[] {
    return this.completionLists.get(firstClientId + index) ?? [];
  }

  /** submit starts a KV command on client `index` (a read at `readLevel`, linearizable when absent) and sends what it asks (delivering nothing yet). */
  submit(command: KvCommand, index = 0, readOnly = command.type === "get", readLevel?: ReadLevel): void {
    const result = this.client(index).submit(encodeCommand(command), { readOnly, ...(readLevel !== undefined ? { readLevel } : {}) });
    if (result.kind !== "accepted") throw new Error(`submit rejected: ${JSON.stringify(result)}`);
    this.drainClient(firstClientId + index);
  }

  /** results decodes the results of client `index`'s completed requests (an outcome's kind where it did not succeed). */
  results(index = 0): (KvResult | string)[] {
    return this.completions(index).map((completion) => (completion.outcome.kind === "ok" ? decodeResult(completion.outcome.result) : completion.outcome.kind));
  }

  /** idle tells whether no client object has a request outstanding. */
  idle(): boolean {
    return [...this.clientObjects.values()].every((client) => !client.outstanding());
  }

  private deliverToClient(envelope: Envelope<M>): void {
    const client = this.clientObjects.get(envelope.to);
    if (client === undefined) return;
    client.step(envelope.from, envelope.message);
    this.drainClient(envelope.to);
  }

  /** drainClient sends what client object `id` asks and records its completions, after a test called it directly. */
  drainClient(id: NodeId): void {
    const client = this.clientObjects.get(id);
    if (client === undefined) return;
    for (let ready = client.ready(); ready !== undefined; ready = client.ready()) {
      for (const { to, message } of ready.messages) this.enqueue(id, to, message);
      this.completionLists.get(id)?.push(...ready.completions);
      client.advance(ready);
    }
  }

  // ---- KV requests without a client object ---------------------------------------------------

  /** nextSequence numbers a client id's requests 1, 2, 3, ... */
  nextSequence(clientId: NodeId): number {
    const next = (this.sequences.get(clientId) ?? 0) + 1;
    this.sequences.set(clientId, next);
    return next;
  }

  /**
   * request sends a KV command from a client id to replica `to` over the
   * network (filters apply) and carries out the Readies it causes; with
   * `stepOnly` it is handed straight to the replica, its Ready left to run.
   * It returns the request's sequence.
   */
  request(to: NodeId, command: KvCommand, options: RequestOptions = {}): number {
    const clientId = options.clientId ?? firstClientId;
    const sequence = options.sequence ?? this.nextSequence(clientId);
    const wire = this.config.clientWire;
    if (wire === undefined) throw new Error("request needs the cluster's clientWire");
    const message = wire.request({ clientId, session: options.session ?? clientId, sequence, command: encodeCommand(command), readOnly: options.readOnly ?? command.type === "get", ...(options.readLevel !== undefined ? { readLevel: options.readLevel } : {}) });
    if (options.stepOnly === true) this.step(to, clientId, message);
    else this.deliver({ from: clientId, to, message });
    return sequence;
  }

  /** repliesTo lists the decoded replies delivered to `clientId`, in order. */
  repliesTo(clientId: NodeId): KvReply[] {
    const wire = this.config.clientWire;
    if (wire === undefined) throw new Error("repliesTo needs the cluster's clientWire");
    const replies: KvReply[] = [];
    for (const envelope of this.clientInbox) {
      const reply = envelope.to === clientId ? wire.reply(envelope.message) : undefined;
      if (reply !== undefined) replies.push({ from: envelope.from, sequence: reply.sequence, result: decodeResult(reply.result) });
    }
    return replies;
  }

  /** replyTo returns the first result delivered for (clientId, sequence), if any. */
  replyTo(clientId: NodeId, sequence: number): KvResult | undefined {
    return this.repliesTo(clientId).find((reply) => reply.sequence === sequence)?.result;
  }
}

function isLeading(role: string): boolean {
  return role === "leader" || role === "primary";
}
