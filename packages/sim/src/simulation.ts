import {
  type AnyAlgorithm,
  type ByzantineContext,
  type ByzantineOutbound,
  type ByzantineStrategy,
  type Client,
  type ClientReady,
  ConfigError,
  CorruptionError,
  type HistoryOperation,
  type InvariantMonitor,
  type InvariantViolation,
  type NodeId,
  type Outbound,
  type PathCounter,
  type ProtocolOptions,
  type Ready,
  type Replica,
  type ReplicaStatus,
  type Rng,
  assert,
  createRng,
  deriveSeed,
  firstClientId,
  parseConfig,
} from "@concord/core";
import { type KvCommand, type KvResult, KvStateMachine, decodeResult, encodeCommand, isReadOnly } from "@concord/kv";
import { EventQueue } from "./event-queue.ts";
import { AppliedLogOracle, RecordingStateMachine } from "./applied-log.ts";
import { findByzantineStrategy } from "./byzantine.ts";
import { Network } from "./links.ts";
import type { LatencySummary, SimulationOptions, SimulationResult } from "./result.ts";
import { type Fault, type Scenario, type Target, workloadSchema } from "./scenario.ts";
import { drawChaosFaults, faultEndMs, resolveScenario } from "./scenarios.ts";
import { KeyRing, NodeCrypto } from "./sim-crypto.ts";
import { swarmOptions } from "./swarm-options.ts";
import { SimStorage } from "./sim-storage.ts";
import { OperationGenerator, keyName } from "./workload.ts";

const eventDeliver = 0;
const eventTick = 1;
const eventSyncDone = 2;
const eventFault = 3;
const eventFaultEnd = 4;
const eventClientNext = 5;
const eventArrival = 6;
const eventHealAll = 7;
const eventWatchdog = 8;
const eventByzantineSend = 9;
const eventCpuFree = 10;
const eventDrain = 11;

/** Delivery is a message in flight. */
interface Delivery {
  readonly from: NodeId;
  readonly message: unknown;
  readonly bytes: number;
}

interface ReplicaNode {
  readonly id: NodeId;
  replica: Replica<unknown> | undefined;
  readonly storage: SimStorage;
  readonly crypto: NodeCrypto;
  readonly rng: Rng;
  incarnation: number;
  paused: boolean;
  /**
   * inbox holds, in arrival order, messages that wait for the node: while it is
   * paused, busy with a Ready (the replica's contract) or its CPU is busy. The
   * node takes all of them at once when it is free, as an event loop drains its
   * sockets, so that they share one Ready.
   */
  inbox: Delivery[];
  /** cpuWakePending: an eventCpuFree is queued for this node. */
  cpuWakePending: boolean;
  busyUntilUs: number;
  inflight: Ready<unknown> | undefined;
  /** drainPending: an eventDrain is queued to carry out what this instant's messages produced. */
  drainPending: boolean;
  /** stopped is set once the replica threw: it is never restarted. */
  stopped: boolean;
  /** inflightSynced: the in-flight Ready is synced, but the node was paused, so it finishes on resume. */
  inflightSynced: boolean;
  /** lastStatus is the replica's status after its latest event, for readers that may not call it during a Ready. */
  lastStatus: ReplicaStatus | undefined;
  missedTicks: number;
  readonly strategy: ByzantineStrategy<unknown> | undefined;
  /** pauses holds the ids of the pause faults in force on this node; it runs again when the last one ends. */
  readonly pauses: Set<number>;
  /** slows holds the slow faults in force on this node, by fault id; the slowest of them applies. */
  readonly slows: Map<number, { readonly extraLatencyUs: number; readonly cpuFactor: number }>;
  cpuFactor: number;
}

interface ClientNode {
  readonly id: NodeId;
  readonly index: number;
  readonly client: Client<unknown>;
  pending: MutableOperation | undefined;
  arrivalUs: number;
  finalRead: boolean;
}

type MutableOperation = { -readonly [K in keyof HistoryOperation<KvCommand, KvResult>]: HistoryOperation<KvCommand, KvResult>[K] };

interface FaultRecord {
  readonly fault: Fault;
  readonly id: number;
  hit: NodeId[];
}

/**
 * Simulation runs one algorithm on one scenario in virtual time. Every source
 * of randomness derives from the root seed (links, workload, faults, each
 * replica), so the same options replay the same run byte for byte.
 */
export class Simulation {
  private readonly algorithm: AnyAlgorithm;
  private readonly scenario: Scenario;
  private readonly options: SimulationOptions;
  private readonly queue = new EventQueue();
  private readonly network: Network;
  private readonly keyRing: KeyRing;
  private readonly replicaIds: NodeId[];
  private readonly replicas = new Map<NodeId, ReplicaNode>();
  private readonly clients: ClientNode[] = [];
  private readonly clientById = new Map<NodeId, ClientNode>();
  private readonly monitors: InvariantMonitor<unknown>[];
  /** protocolOptions are what replicas and clients run with: the explicit options over those `chaos` drew from the seed. */
  private readonly protocolOptions: ProtocolOptions;
  private readonly drawnOptions: ProtocolOptions;
  /** pathCounter counts the protocol's hard paths (issue 21), beside the monitors. */
  private readonly pathCounter: PathCounter<unknown> | undefined;
  private readonly oracle = new AppliedLogOracle();
  private readonly generator: OperationGenerator;
  private readonly faultRng: Rng;
  /** arrivalRng draws open-loop inter-arrival gaps, apart from the fault stream so that the rate does not move faults. */
  private readonly arrivalRng: Rng;
  private readonly tickUs: number;
  private readonly encode: boolean;
  private readonly history: MutableOperation[] = [];
  private readonly latenciesUs: number[] = [];
  private readonly messagesByType = new Map<string, number>();
  private readonly leaderEpochs = new Set<number>();
  private readonly violations: InvariantViolation[] = [];
  private readonly faultLog: string[] = [];
  private readonly byzantineNodes: NodeId[];
  private readonly byzantineStrategy: string | undefined;
  private readonly arrivalsOut = new Float64Array(2);
  /** openQueue holds open-loop arrivals waiting for an idle client, with their arrival times. */
  private readonly openQueue: { command: KvCommand; arrivalUs: number }[] = [];
  private nowUs = 0;
  /** activeNode is the replica whose code is running, so that an exception can be pinned on it. */
  private activeNode: ReplicaNode | undefined;
  /** pendingOperations counts clients with an operation outstanding. */
  private pendingOperations = 0;
  /** idleSinceUs is when pendingOperations last fell to zero. */
  private idleSinceUs = 0;
  private messagesTotal = 0;
  private bytesTotal = 0;
  /** Traffic before the workload starts (elections, idle heartbeats) is kept apart from what operations cost. */
  private warmupMessages = 0;
  private warmupBytes = 0;
  private invoked = 0;
  private workloadInvoked = 0;
  private workloadDone = 0;
  private rejected = 0;
  private finalReadKeys: string[] = [];
  private finalReadsStarted = false;
  private healUs: number;
  private healed = false;
  private lastProgressUs = 0;
  private firstInvokeUs = -1;
  private warmupUs = 0;
  private lastWorkloadCompleteUs = 0;
  private finished = false;
  private nextFaultId = 1;
  private readonly thinkUs: number;

  constructor(options: SimulationOptions) {
    this.options = options;
    this.algorithm = options.algorithm;
    const scenario = resolveScenario(options.scenario);
    // The ops and clients overrides are checked by the same field schemas as the scenario's own workload.
    const workload = {
      ...scenario.workload,
      ...(options.ops !== undefined ? { ops: parseConfig(workloadSchema.shape.ops, options.ops, "ops") } : {}),
      ...(options.clients !== undefined ? { clients: parseConfig(workloadSchema.shape.clients, options.clients, "clients") } : {}),
    };
    if (!Number.isSafeInteger(options.seed) || options.seed < 0) throw new ConfigError("seed", `must be a non-negative integer (got ${options.seed})`);
    if (!Number.isInteger(options.nodes) || options.nodes < 1) throw new ConfigError("nodes", `must be a positive integer (got ${options.nodes})`);
    const sizeError = this.algorithm.clusterSizeError(options.nodes);
    if (sizeError !== undefined) throw new ConfigError("nodes", sizeError);

    const root = options.seed;
    this.faultRng = createRng(deriveSeed(root, "faults"));
    this.arrivalRng = createRng(deriveSeed(root, "arrivals"));
    // Chaos draws its faults over the workload's spread, and within healAtMs when the scenario sets one.
    const chaosPhaseMs = Math.max(1000, workload.spreadMs);
    const faults = scenario.chaos ? drawChaosFaults(this.faultRng, scenario.healAtMs > 0 ? Math.min(chaosPhaseMs, scenario.healAtMs) : chaosPhaseMs) : scenario.faults;
    this.scenario = { ...scenario, workload, faults };
    this.tickUs = Math.round(scenario.tickMs * 1000);
    this.encode = options.encode ?? true;
    this.network = new Network(scenario.link, createRng(deriveSeed(root, "network")));
    this.keyRing = new KeyRing(deriveSeed(root, "keys"));
    this.generator = new OperationGenerator(workload, createRng(deriveSeed(root, "workload")));
    this.thinkUs = workload.ops > 0 ? Math.round((workload.spreadMs * 1000 * workload.clients) / workload.ops) : 0;
    this.replicaIds = Array.from({ length: options.nodes }, (_, i) => i + 1);
    this.monitors = this.algorithm.createMonitors() as InvariantMonitor<unknown>[];
    // Swarm options (issue 10): chaos draws the protocol's options too, from a stream of their own; explicit ones win.
    const swarm = swarmOptions(this.algorithm, root, scenario.chaos, options.protocolOptions ?? {});
    this.protocolOptions = swarm.options;
    this.drawnOptions = swarm.drawn;
    this.pathCounter = this.algorithm.createPathCounter?.(swarm.options) as PathCounter<unknown> | undefined;

    const byzantineCount = scenario.byzantine === "f" ? Math.max(1, this.algorithm.faultsTolerated(options.nodes)) : scenario.byzantine;
    this.byzantineNodes = [...(options.byzantineNodes ?? this.replicaIds.slice(0, Math.min(byzantineCount, options.nodes)))];
    for (const node of this.byzantineNodes) {
      if (!this.replicaIds.includes(node)) throw new ConfigError("byzantineNodes", `node ${node} is not a replica (replicas are ${this.replicaIds.join(", ")})`);
    }
    const strategyDefinition = this.byzantineNodes.length > 0 ? findByzantineStrategy(this.algorithm, options.byzantineStrategy) : undefined;
    this.byzantineStrategy = strategyDefinition?.name;

    const faultEnds = this.scenario.faults.map(faultEndMs);
    const healMs = scenario.healAtMs > 0 ? scenario.healAtMs : Math.max(0, ...faultEnds);
    // healAtMs promises that every fault is lifted by then: a fault that starts later would break it.
    this.scenario.faults.forEach((fault, index) => {
      if (!scenario.chaos && scenario.healAtMs > 0 && fault.atMs > scenario.healAtMs) {
        throw new ConfigError(`scenario.faults.${index}.atMs`, `must not be after healAtMs (${scenario.healAtMs}) (got ${fault.atMs})`);
      }
    });
    this.warmupUs = Math.round(scenario.warmupMs * 1000);
    this.healUs = healMs > 0 ? this.warmupUs + Math.round(healMs * 1000) : 0;

    for (const id of this.replicaIds) {
      const rng = createRng(deriveSeed(root, `replica:${id}`));
      const node: ReplicaNode = {
        id,
        replica: undefined,
        storage: new SimStorage(),
        crypto: new NodeCrypto(id, this.keyRing),
        rng,
        incarnation: 0,
        paused: false,
        inbox: [],
        cpuWakePending: false,
        busyUntilUs: 0,
        inflight: undefined,
        stopped: false,
        drainPending: false,
        inflightSynced: false,
        lastStatus: undefined,
        missedTicks: 0,
        strategy: this.byzantineNodes.includes(id) ? strategyDefinition?.create(id) : undefined,
        pauses: new Set(),
        slows: new Map(),
        cpuFactor: 1,
      };
      this.replicas.set(id, node);
    }
    for (let index = 0; index < workload.clients; index++) {
      const id = firstClientId + index;
      const client = this.algorithm.createClient({
        id,
        replicas: this.replicaIds,
        rng: createRng(deriveSeed(root, `client:${id}`)),
        crypto: new NodeCrypto(id, this.keyRing),
        options: this.protocolOptions,
      }) as Client<unknown>;
      const node: ClientNode = { id, index, client, pending: undefined, arrivalUs: 0, finalRead: false };
      this.clients.push(node);
      this.clientById.set(id, node);
    }
  }

  /** run executes the simulation to its end and returns what it measured. */
  run(): SimulationResult {
    this.start();
    const events = this.queue;
    const stopUs = Math.round(this.scenario.maxVirtualMs * 1000);
    while (!this.finished && events.pop()) {
      const timeUs = events.poppedTimeUs;
      if (timeUs > stopUs) {
        this.violation("liveness", `the run reached its limit of ${this.scenario.maxVirtualMs} ms of virtual time before finishing its workload`);
        break;
      }
      this.nowUs = timeUs;
      this.oracle.timeUs = timeUs;
      this.activeNode = undefined;
      try {
        this.dispatch(events.poppedKind, events.poppedNode, events.poppedPayload);
      } catch (error) {
        this.stopThrowingReplica(error);
      }
    }
    return this.result();
  }

  private start(): void {
    const events = this.queue;
    for (const id of this.replicaIds) {
      this.boot(this.node(id));
      events.push(this.startRng().nextInt(Math.max(1, this.tickUs)), eventTick, id, undefined);
    }
    for (const client of this.clients) {
      events.push(this.startRng().nextInt(Math.max(1, this.tickUs)), eventTick, client.id, undefined);
    }
    this.scenario.faults.forEach((fault, index) => {
      events.push(this.warmupUs + Math.round(fault.atMs * 1000), eventFault, index, undefined);
    });
    if (this.healUs > 0) events.push(this.healUs, eventHealAll, 0, undefined);
    events.push(100_000, eventWatchdog, 0, undefined);
    if (this.scenario.workload.kind === "closed") {
      for (const client of this.clients) events.push(this.warmupUs, eventClientNext, client.id, undefined);
    } else if (this.scenario.workload.ops > 0) {
      events.push(this.warmupUs, eventArrival, 0, undefined);
    }
    this.maybeFinish();
  }

  private startRngCache: Rng | undefined;
  private startRng(): Rng {
    this.startRngCache ??= createRng(deriveSeed(this.options.seed, "start"));
    return this.startRngCache;
  }

  private dispatch(kind: number, node: number, payload: unknown): void {
    switch (kind) {
      case eventDeliver:
        this.deliver(node, payload as Delivery);
        return;
      case eventTick:
        this.tick(node);
        return;
      case eventSyncDone:
        this.syncDone(node, payload as number);
        return;
      case eventFault:
        this.fireFault(node);
        return;
      case eventFaultEnd:
        this.endFault(payload as FaultRecord);
        return;
      case eventClientNext:
        this.clientNext(this.clientById.get(node) as ClientNode);
        return;
      case eventArrival:
        this.arrival();
        return;
      case eventHealAll:
        this.healAll();
        return;
      case eventWatchdog:
        this.watchdog();
        return;
      case eventByzantineSend: {
        const { from, to, message } = payload as { from: NodeId; to: NodeId; message: unknown };
        this.transmit(from, to, message, this.nowUs);
        return;
      }
      case eventDrain: {
        const replica = this.node(node);
        if (replica.incarnation !== (payload as number)) return;
        replica.drainPending = false;
        this.drainReplica(replica);
        return;
      }
      case eventCpuFree: {
        const replica = this.node(node);
        replica.cpuWakePending = false;
        if (this.takeInbox(replica)) this.drainReplica(replica);
        return;
      }
    }
    assert(false, `unknown event kind ${kind}`);
  }

  // ----- replicas -------------------------------------------------------

  private node(id: NodeId): ReplicaNode {
    const node = this.replicas.get(id);
    assert(node !== undefined, `no replica ${id}`);
    return node;
  }

  /**
   * stopThrowingReplica handles an exception out of replica code: the replica
   * found itself in an impossible state (or refused its durable state), so it
   * stops for good, as a real process would, and the run goes on without it.
   * For a correct replica that is a violation; an exception anywhere else is a
   * bug of the simulator or a client, and is rethrown.
   */
  private stopThrowingReplica(error: unknown): void {
    const node = this.activeNode;
    this.activeNode = undefined;
    if (node === undefined) throw error;
    const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    this.crash(node.id);
    node.stopped = true;
    if (node.strategy === undefined) this.violation("replica-stopped", `replica ${node.id} stopped on ${what}`);
    this.logFault(`stopped (${what})`, [node.id], "");
  }

  private boot(node: ReplicaNode): void {
    if (node.stopped) return;
    this.activeNode = node;
    const durable = node.storage.recover();
    node.replica = this.algorithm.createReplica({
      id: node.id,
      replicas: this.replicaIds,
      rng: node.rng.fork(`incarnation:${node.incarnation}`),
      durable,
      // Byzantine replicas are left out of the applied-prefix check: their claims prove nothing.
      stateMachine: new RecordingStateMachine(node.id, new KvStateMachine(), node.strategy === undefined ? this.oracle : undefined),
      crypto: node.crypto,
      options: this.protocolOptions,
    }) as Replica<unknown>;
    this.afterReplicaEvent(node, 0);
    this.activeNode = undefined;
  }

  private deliver(to: NodeId, delivery: Delivery): void {
    const client = this.clientById.get(to);
    if (client !== undefined) {
      client.client.step(delivery.from, delivery.message);
      this.drainClient(client);
      return;
    }
    const node = this.replicas.get(to);
    if (node === undefined || node.replica === undefined) return;
    this.activeNode = node;
    if (node.inbox.length === 0 && !node.paused && node.inflight === undefined && node.busyUntilUs <= this.nowUs) {
      // Every message that arrives in this same instant is stepped before the node does its I/O,
      // as a real event loop handles what is already in its socket buffers: they share one Ready.
      this.stepMessage(node, delivery);
      if (!node.drainPending) {
        node.drainPending = true;
        this.queue.push(this.nowUs, eventDrain, node.id, node.incarnation);
      }
    } else {
      // Paused, busy with a Ready, or its CPU is busy: the message waits in the node's socket buffer, in order.
      node.inbox.push(delivery);
      if (this.takeInbox(node)) this.drainReplica(node);
    }
    this.activeNode = undefined;
  }

  /**
   * takeInbox steps every waiting message into the replica if it can take them
   * now (else, if only its CPU is busy, wakes it when the CPU frees up), and
   * tells whether it stepped any. The caller drains the replica's Ready.
   */
  private takeInbox(node: ReplicaNode): boolean {
    if (node.inbox.length === 0 || node.replica === undefined || node.paused || node.inflight !== undefined) return false;
    if (node.busyUntilUs > this.nowUs) {
      if (!node.cpuWakePending) {
        node.cpuWakePending = true;
        this.queue.push(node.busyUntilUs, eventCpuFree, node.id, undefined);
      }
      return false;
    }
    const inbox = node.inbox;
    node.inbox = [];
    for (const delivery of inbox) this.stepMessage(node, delivery);
    return true;
  }

  /** stepMessage steps one message into a free replica, charges its CPU cost and lets monitors look. */
  private stepMessage(node: ReplicaNode, delivery: Delivery): void {
    this.activeNode = node;
    const replica = node.replica as Replica<unknown>;
    let message: unknown = delivery.message;
    if (node.strategy?.inbound !== undefined) {
      message = node.strategy.inbound(delivery.from, message, this.byzantineContext(node));
      if (message === undefined) return;
    }
    this.pathCounter?.observeDeliver?.(replica, delivery.from, message, { timeUs: this.nowUs, faulty: node.strategy !== undefined });
    replica.step(delivery.from, message);
    const cpu = this.scenario.cpu;
    this.account(node, replica, cpu.perMessageUs + (delivery.bytes / 1024) * cpu.perKilobyteUs);
  }

  private tick(id: NodeId): void {
    this.queue.push(this.nowUs + this.tickUs, eventTick, id, undefined);
    const client = this.clientById.get(id);
    if (client !== undefined) {
      client.client.tick();
      this.drainClient(client);
      return;
    }
    const node = this.node(id);
    if (node.replica === undefined) return;
    // A paused process's monotonic clock keeps running (issue 10): the ticks it misses are seen on resume.
    if (node.paused || node.inflight !== undefined) {
      node.missedTicks++;
      return;
    }
    this.activeNode = node;
    node.replica.tick();
    this.afterReplicaEvent(node, 0);
    this.activeNode = undefined;
  }

  /** afterReplicaEvent charges the CPU, lets monitors look, and carries out the replica's Ready. */
  private afterReplicaEvent(node: ReplicaNode, baseCostUs: number): void {
    const replica = node.replica;
    if (replica === undefined) return;
    this.account(node, replica, baseCostUs);
    this.drainReplica(node);
  }

  /** account charges the CPU for one replica event (and its crypto work) and lets monitors look. */
  private account(node: ReplicaNode, replica: Replica<unknown>, baseCostUs: number): void {
    const costUs = Math.round((baseCostUs + this.cryptoCostUs(node)) * node.cpuFactor);
    if (costUs > 0) node.busyUntilUs = Math.max(node.busyUntilUs, this.nowUs) + costUs;
    this.observe(node, replica);
  }

  /** cryptoCostUs charges, once, the crypto work a node did since the last charge. */
  private cryptoCostUs(node: ReplicaNode): number {
    const counters = node.crypto.counters;
    if (counters.digests + counters.macs + counters.signatures + counters.verifications === 0) return 0;
    const cpu = this.scenario.cpu;
    const cost =
      counters.digests * cpu.perDigestUs + counters.macs * cpu.perMacUs + counters.signatures * cpu.perSignatureUs + counters.verifications * cpu.perVerifyUs;
    counters.digests = 0;
    counters.macs = 0;
    counters.signatures = 0;
    counters.verifications = 0;
    return cost;
  }

  private observe(node: ReplicaNode, replica: Replica<unknown>): void {
    const faulty = node.strategy !== undefined;
    const status = replica.status();
    node.lastStatus = status;
    if (!faulty && (status.role === "leader" || status.role === "primary")) this.leaderEpochs.add(status.epoch);
    if (this.monitors.length === 0 && this.pathCounter === undefined) return;
    const context = { timeUs: this.nowUs, faulty };
    this.pathCounter?.observeReplica?.(replica, context);
    for (const monitor of this.monitors) monitor.observeReplica?.(replica, context);
  }

  private drainReplica(node: ReplicaNode): void {
    this.activeNode = node;
    const replica = node.replica;
    if (replica === undefined) return;
    const syncUs = Math.round(this.scenario.disk.syncMs * 1000);
    while (node.inflight === undefined) {
      const ready = replica.ready();
      if (ready === undefined) return;
      // Crypto work done while building this Ready (or in the last advance) delays what it sends.
      const cryptoUs = this.cryptoCostUs(node);
      if (cryptoUs > 0) node.busyUntilUs = Math.max(node.busyUntilUs, this.nowUs) + Math.round(cryptoUs * node.cpuFactor);
      if (ready.snapshot !== undefined) node.storage.replaceWithSnapshot(ready.snapshot);
      for (const record of ready.persist) node.storage.append(record);
      const durable = ready.persist.length > 0 || ready.snapshot !== undefined;
      if (durable && syncUs > 0) {
        // Messages wait for the sync (Ready's rule); a crash before it completes loses the records and the snapshot.
        node.inflight = ready;
        this.queue.push(Math.max(this.nowUs, node.busyUntilUs) + syncUs, eventSyncDone, node.id, node.incarnation);
        return;
      }
      if (durable) node.storage.sync();
      this.sendAll(node, ready.messages, Math.max(this.nowUs, node.busyUntilUs));
      replica.advance(ready);
    }
  }

  private syncDone(id: NodeId, incarnation: number): void {
    const node = this.node(id);
    if (node.replica === undefined || node.incarnation !== incarnation || node.inflight === undefined) return;
    node.storage.sync();
    // A paused process cannot act on its finished sync: it sends and advances when it resumes.
    if (node.paused) node.inflightSynced = true;
    else this.finishReady(node);
  }

  /** finishReady sends the messages of a synced Ready, advances the replica, then catches up on what waited. */
  private finishReady(node: ReplicaNode): void {
    this.activeNode = node;
    const replica = node.replica;
    const ready = node.inflight;
    assert(replica !== undefined && ready !== undefined, () => `node ${node.id} has no Ready in flight`);
    node.inflight = undefined;
    node.inflightSynced = false;
    this.sendAll(node, ready.messages, Math.max(this.nowUs, node.busyUntilUs));
    replica.advance(ready);
    // Ticks and messages that arrived during the sync are handled now, in order, and share the next Ready.
    this.replayMissedTicks(node);
    this.takeInbox(node);
    this.drainReplica(node);
    this.activeNode = undefined;
  }

  private sendAll(node: ReplicaNode, messages: readonly Outbound<unknown>[], departUs: number): void {
    if (messages.length === 0) return;
    let outgoing: readonly ByzantineOutbound<unknown>[] = messages;
    if (node.strategy !== undefined) outgoing = node.strategy.outbound(messages, this.byzantineContext(node));
    const faulty = node.strategy !== undefined;
    for (const outbound of outgoing) {
      if (this.monitors.length > 0 || this.pathCounter !== undefined) {
        const context = { timeUs: this.nowUs, faulty };
        this.pathCounter?.observeSend?.(node.id, outbound.to, outbound.message, context);
        for (const monitor of this.monitors) monitor.observeSend?.(node.id, outbound.to, outbound.message, context);
      }
      const delayUs = outbound.delayUs ?? 0;
      if (delayUs > 0) {
        this.queue.push(departUs + Math.round(delayUs), eventByzantineSend, node.id, { from: node.id, to: outbound.to, message: outbound.message });
      } else {
        this.transmit(node.id, outbound.to, outbound.message, departUs);
      }
    }
  }

  private byzantineContext(node: ReplicaNode): ByzantineContext<unknown> {
    return {
      self: node.id,
      replicas: this.replicaIds,
      rng: node.rng,
      crypto: node.crypto,
      replica: node.replica as Replica<unknown>,
      timeUs: this.nowUs,
    };
  }

  /** transmit counts, encodes and hands one message to the network. */
  private transmit(from: NodeId, to: NodeId, message: unknown, departUs: number): void {
    const codec = this.algorithm.codec;
    const measured = this.nowUs >= this.warmupUs;
    if (measured) {
      const type = codec.typeName(message);
      this.messagesTotal++;
      this.messagesByType.set(type, (this.messagesByType.get(type) ?? 0) + 1);
    } else {
      this.warmupMessages++;
    }
    let delivered = message;
    let bytes = 0;
    let encoded: Uint8Array | undefined;
    if (this.encode) {
      encoded = codec.encode(message);
      bytes = encoded.length;
      delivered = codec.decode(encoded);
    }
    if (measured) this.bytesTotal += bytes;
    else this.warmupBytes += bytes;
    const count = this.network.arrivals(from, to, departUs, bytes, this.arrivalsOut);
    for (let i = 0; i < count; i++) {
      // A duplicate is a second copy on the wire: decode it apart, so that a replica that keeps or changes one copy cannot touch the other.
      const copy = i > 0 && encoded !== undefined ? codec.decode(encoded) : delivered;
      this.queue.push(this.arrivalsOut[i] as number, eventDeliver, to, { from, message: copy, bytes });
    }
  }

  // ----- clients and workload ------------------------------------------

  private drainClient(client: ClientNode): void {
    for (;;) {
      const ready: ClientReady<unknown> | undefined = client.client.ready();
      if (ready === undefined) return;
      // Advance first: handling a completion may submit the next request, which re-enters this drain.
      const { messages, completions } = ready;
      client.client.advance(ready);
      for (const outbound of messages) this.transmit(client.id, outbound.to, outbound.message, this.nowUs);
      for (const completion of completions) this.complete(client, completion.sequence, completion.outcome);
    }
  }

  /** submit starts an operation on an idle client; `arrivalUs` is when an open-loop arrival was queued (latency counts from it). */
  private submit(client: ClientNode, command: KvCommand, finalRead: boolean, arrivalUs: number = this.nowUs): void {
    const result = client.client.submit(encodeCommand(command), { readOnly: isReadOnly(command) });
    assert(result.kind === "accepted", () => `client ${client.id} refused a request while idle`);
    const operation: MutableOperation = {
      id: this.history.length,
      clientId: client.id,
      input: command,
      invokeUs: this.nowUs,
      completeUs: undefined,
      status: "info",
      output: undefined,
    };
    this.history.push(operation);
    // The liveness clock stands still while no operation is outstanding (think time, gaps between
    // arrivals): move the last progress forward by the idle spell that ends now.
    if (this.pendingOperations === 0 && this.openQueue.length === 0) this.lastProgressUs += this.nowUs - Math.max(this.idleSinceUs, this.lastProgressUs);
    client.pending = operation;
    client.arrivalUs = arrivalUs;
    this.pendingOperations++;
    client.finalRead = finalRead;
    this.invoked++;
    if (!finalRead) this.workloadInvoked++;
    if (this.firstInvokeUs < 0) this.firstInvokeUs = this.nowUs;
    this.drainClient(client);
  }

  private complete(client: ClientNode, _sequence: number, outcome: import("@concord/core").Outcome): void {
    const operation = client.pending;
    if (operation === undefined) return;
    client.pending = undefined;
    this.pendingOperations--;
    if (this.pendingOperations === 0) this.idleSinceUs = this.nowUs;
    operation.completeUs = this.nowUs;
    const finalRead = client.finalRead;
    if (outcome.kind === "ok") {
      operation.status = "ok";
      const output = decodeClientResult(outcome.result);
      operation.output = output;
      this.lastProgressUs = this.nowUs;
      if (output.type === "get") this.generator.observe(client.index, operation.input.key, output.value);
      // Queueing for a free client counts: an open-loop user waits from the moment the request arrived.
      if (!finalRead) this.latenciesUs.push(this.nowUs - client.arrivalUs);
    } else {
      operation.status = outcome.kind === "failed" ? "fail" : "info";
      // An indeterminate operation has no known effect; Jepsen's convention is to leave completeUs unset.
      if (outcome.kind === "indeterminate") operation.completeUs = undefined;
    }
    if (finalRead) {
      if (operation.status !== "ok") this.finalReadKeys.push(operation.input.key);
    } else {
      this.workloadDone++;
      this.lastWorkloadCompleteUs = this.nowUs;
    }
    this.afterClientIdle(client);
  }

  private afterClientIdle(client: ClientNode): void {
    if (this.finalReadsStarted) {
      this.nextFinalRead(client);
    } else if (this.scenario.workload.kind === "closed") {
      this.queue.push(this.nowUs + this.thinkUs, eventClientNext, client.id, undefined);
    } else {
      const next = this.openQueue.shift();
      if (next !== undefined) this.submit(client, next.command, false, next.arrivalUs);
    }
    this.maybeFinish();
  }

  private clientNext(client: ClientNode): void {
    if (client.pending !== undefined || this.finalReadsStarted) return;
    if (this.workloadInvoked >= this.scenario.workload.ops) {
      this.maybeFinish();
      return;
    }
    this.submit(client, this.generator.next(client.index), false);
  }

  private arrival(): void {
    const workload = this.scenario.workload;
    if (this.workloadInvoked + this.openQueue.length + this.rejected >= workload.ops) return;
    const command = this.generator.next(this.workloadInvoked % workload.clients);
    const idle = this.clients.find((client) => client.pending === undefined);
    if (idle !== undefined) this.submit(idle, command, false);
    else if (this.openQueue.length < workload.queueLimit) this.openQueue.push({ command, arrivalUs: this.nowUs });
    else this.rejected++;
    const u = (this.arrivalRng.nextUint32() + 1) / 0x1_0000_0001;
    const gapUs = Math.max(1, Math.round((-Math.log(u) * 1_000_000) / Math.max(workload.ratePerSec, 1e-9)));
    this.queue.push(this.nowUs + gapUs, eventArrival, 0, undefined);
  }

  private workloadComplete(): boolean {
    const ops = this.scenario.workload.ops;
    return this.workloadInvoked + this.rejected >= ops && this.workloadDone >= this.workloadInvoked && this.openQueue.length === 0;
  }

  private maybeFinish(): void {
    if (this.finished || !this.workloadComplete() || this.nowUs < this.healUs) return;
    if (!this.finalReadsStarted) {
      this.finalReadsStarted = true;
      if (this.scenario.workload.finalReads && this.scenario.workload.ops > 0) {
        this.finalReadKeys = Array.from({ length: this.scenario.workload.keys }, (_, i) => keyName(i));
        for (const client of this.clients) this.nextFinalRead(client);
      }
    }
    if (this.finalReadKeys.length === 0 && this.clients.every((client) => client.pending === undefined)) this.finished = true;
  }

  private nextFinalRead(client: ClientNode): void {
    if (client.pending !== undefined) return;
    const key = this.finalReadKeys.shift();
    if (key !== undefined) this.submit(client, { type: "get", key }, true);
  }

  private watchdog(): void {
    const limitUs = Math.round(this.scenario.livenessTimeoutMs * 1000);
    const since = Math.max(this.lastProgressUs, this.healUs);
    // Only an operation that is outstanding (or queued for a client) can be stuck: think time and
    // gaps between open-loop arrivals are not a lack of progress.
    const waiting = this.pendingOperations > 0 || this.openQueue.length > 0 || (this.finalReadsStarted && this.finalReadKeys.length > 0);
    if (this.healed || this.healUs === 0) {
      if (waiting && this.nowUs - since > limitUs) {
        this.violation(
          "liveness",
          `no operation completed for ${this.scenario.livenessTimeoutMs} ms after the faults healed at ${this.healUs / 1000} ms (${this.workloadDone}/${this.scenario.workload.ops} workload ops done)`,
        );
        this.finished = true;
        return;
      }
    }
    this.maybeFinish();
    this.queue.push(this.nowUs + 100_000, eventWatchdog, 0, undefined);
  }

  // ----- faults ---------------------------------------------------------

  private fireFault(index: number): void {
    const fault = this.scenario.faults[index] as Fault;
    const record: FaultRecord = { fault, id: this.nextFaultId++, hit: [] };
    switch (fault.type) {
      case "crash": {
        record.hit = this.select(fault.target);
        for (const id of record.hit) this.crash(id);
        if (fault.restartAfterMs !== undefined) this.queue.push(this.nowUs + Math.round(fault.restartAfterMs * 1000), eventFaultEnd, 0, record);
        break;
      }
      case "restart":
        record.hit = this.select(fault.target);
        for (const id of record.hit) this.restart(id);
        break;
      case "pause":
        record.hit = this.select(fault.target);
        for (const id of record.hit) {
          const node = this.node(id);
          node.pauses.add(record.id);
          node.paused = true;
        }
        this.queue.push(this.nowUs + Math.round(fault.durationMs * 1000), eventFaultEnd, 0, record);
        break;
      case "partition": {
        const isolated = new Set<NodeId>();
        for (const target of fault.isolate) for (const id of this.select(target, isolated)) isolated.add(id);
        record.hit = [...isolated].sort((a, b) => a - b);
        this.network.addPartition({ id: record.id, isolated, oneWay: fault.oneWay });
        this.queue.push(this.nowUs + Math.round(fault.durationMs * 1000), eventFaultEnd, 0, record);
        break;
      }
      case "link":
        this.network.addOverride(record.id, fault.link);
        this.queue.push(this.nowUs + Math.round(fault.durationMs * 1000), eventFaultEnd, 0, record);
        break;
      case "slow":
        record.hit = this.select(fault.target);
        for (const id of record.hit) {
          const node = this.node(id);
          node.slows.set(record.id, { extraLatencyUs: Math.round(fault.extraLatencyMs * 1000), cpuFactor: fault.cpuFactor });
          this.applySlow(node);
        }
        this.queue.push(this.nowUs + Math.round(fault.durationMs * 1000), eventFaultEnd, 0, record);
        break;
    }
    this.logFault(`${fault.type}${fault.type === "partition" && fault.oneWay ? " (one-way)" : ""}`, record.hit, fault.type === "link" ? JSON.stringify(fault.link) : "");
  }

  private endFault(record: FaultRecord): void {
    const fault = record.fault;
    switch (fault.type) {
      case "crash":
        for (const id of record.hit) this.restart(id);
        break;
      case "pause":
        for (const id of record.hit) {
          const node = this.node(id);
          // Overlapping pauses: the node runs again when the last of them ends.
          if (node.pauses.delete(record.id) && node.pauses.size === 0) this.resume(id);
        }
        break;
      case "partition":
        this.network.removePartition(record.id);
        break;
      case "link":
        this.network.removeOverride(record.id);
        break;
      case "slow":
        for (const id of record.hit) {
          const node = this.node(id);
          node.slows.delete(record.id);
          this.applySlow(node);
        }
        break;
      case "restart":
        break;
    }
    this.logFault(`end ${fault.type}`, record.hit, "");
  }

  private healAll(): void {
    this.healed = true;
    this.network.healAll();
    for (const node of this.replicas.values()) {
      if (node.replica === undefined) this.restart(node.id);
      node.pauses.clear();
      if (node.paused) this.resume(node.id);
      node.slows.clear();
      this.applySlow(node);
    }
    this.logFault("heal all", [], "");
    this.lastProgressUs = Math.max(this.lastProgressUs, this.nowUs);
    this.maybeFinish();
  }

  private crash(id: NodeId): void {
    const node = this.node(id);
    if (node.replica === undefined) return;
    const report = node.storage.crash(node.rng, this.scenario.disk.tearPercent);
    node.replica = undefined;
    node.incarnation++;
    node.drainPending = false;
    node.inflight = undefined;
    node.inflightSynced = false;
    node.lastStatus = undefined;
    node.missedTicks = 0;
    node.paused = false;
    node.pauses.clear();
    node.inbox = [];
    node.busyUntilUs = 0;
    if (report.lostRecords > 0 || report.tornBytes > 0 || report.lostSnapshot) {
      const snapshot = report.lostSnapshot ? " and an unsynced snapshot" : "";
      this.faultLog.push(`${(this.nowUs / 1000).toFixed(3)} ms: node ${id} lost ${report.lostRecords} unsynced record(s)${snapshot}${report.tornBytes > 0 ? `, ${report.tornBytes} torn byte(s) left` : ""}`);
    }
  }

  /** applySlow puts the slowest of a node's slow faults in force (none: full speed). */
  private applySlow(node: ReplicaNode): void {
    let extraLatencyUs = 0;
    let cpuFactor = 1;
    for (const slow of node.slows.values()) {
      extraLatencyUs = Math.max(extraLatencyUs, slow.extraLatencyUs);
      cpuFactor = Math.max(cpuFactor, slow.cpuFactor);
    }
    this.network.setExtraLatency(node.id, extraLatencyUs);
    node.cpuFactor = cpuFactor;
  }

  private restart(id: NodeId): void {
    const node = this.node(id);
    if (node.replica !== undefined || node.stopped) return;
    this.boot(node);
  }

  private resume(id: NodeId): void {
    const node = this.node(id);
    if (!node.paused) return;
    node.paused = false;
    if (node.inflightSynced) {
      this.finishReady(node);
      return;
    }
    if (node.inflight !== undefined) return;
    // The time that passed while paused is seen first, before any message that waited (a clock jump).
    this.replayMissedTicks(node);
    this.takeInbox(node);
    this.drainReplica(node);
    this.activeNode = undefined;
  }

  /** replayMissedTicks hands a replica the ticks it missed while busy with a Ready or paused, in one instant. */
  private replayMissedTicks(node: ReplicaNode): void {
    const replica = node.replica;
    if (replica === undefined) return;
    this.activeNode = node;
    for (; node.missedTicks > 0; node.missedTicks--) {
      replica.tick();
      this.account(node, replica, 0);
    }
  }

  /** select resolves a fault target to replica ids at the moment the fault fires. */
  private select(target: Target, exclude: ReadonlySet<NodeId> = new Set()): NodeId[] {
    const candidates = this.replicaIds.filter((id) => !exclude.has(id));
    if (candidates.length === 0) return [];
    if (target === "all") return candidates;
    if (typeof target === "object") {
      const id = this.replicaIds[target.index % this.replicaIds.length] as NodeId;
      return exclude.has(id) ? [] : [id];
    }
    const leader = this.currentLeader();
    if (target === "leader" && leader !== undefined && !exclude.has(leader)) return [leader];
    if (target === "follower") {
      const followers = candidates.filter((id) => id !== leader);
      if (followers.length > 0) return [followers[this.faultRng.nextInt(followers.length)] as NodeId];
    }
    return [candidates[this.faultRng.nextInt(candidates.length)] as NodeId];
  }

  /** currentLeader is the live, correct replica that claims leadership in the highest epoch. */
  private currentLeader(): NodeId | undefined {
    let best: NodeId | undefined;
    let bestEpoch = -1;
    for (const node of this.replicas.values()) {
      if (node.replica === undefined || node.strategy !== undefined) continue;
      // The replica's contract forbids calls between ready() and advance(): read its last status then.
      const status = node.inflight === undefined ? node.replica.status() : node.lastStatus;
      if (status === undefined) continue;
      if ((status.role === "leader" || status.role === "primary") && status.epoch > bestEpoch) {
        best = node.id;
        bestEpoch = status.epoch;
      }
    }
    return best;
  }

  private logFault(what: string, nodes: readonly NodeId[], detail: string): void {
    const who = nodes.length > 0 ? ` node${nodes.length > 1 ? "s" : ""} ${nodes.join(",")}` : "";
    this.faultLog.push(`${(this.nowUs / 1000).toFixed(3)} ms: ${what}${who}${detail === "" ? "" : ` ${detail}`}`);
  }

  private violation(invariant: string, message: string): void {
    this.violations.push({ invariant, timeUs: this.nowUs, message });
  }

  // ----- results --------------------------------------------------------

  private result(): SimulationResult {
    const completed = this.history.filter((op) => op.status === "ok").length;
    const failed = this.history.filter((op) => op.status === "fail").length;
    const indeterminate = this.history.length - completed - failed;
    const workloadUs = this.lastWorkloadCompleteUs - Math.max(0, this.firstInvokeUs);
    const okWorkload = this.latenciesUs.length;
    const violations = [...this.violations, ...this.oracle.violations()];
    for (const monitor of this.monitors) violations.push(...monitor.violations());
    violations.sort((a, b) => a.timeUs - b.timeUs);
    const byType: Record<string, number> = {};
    for (const type of [...this.messagesByType.keys()].sort()) byType[type] = this.messagesByType.get(type) as number;
    return {
      algo: this.algorithm.name,
      nodes: this.options.nodes,
      scenario: this.scenario.name,
      seed: this.options.seed,
      ops: { invoked: this.invoked, completed, failed, indeterminate },
      virtualSeconds: round(this.nowUs / 1_000_000, 6),
      throughputOpsPerSec: workloadUs > 0 ? round((okWorkload * 1_000_000) / workloadUs, 3) : 0,
      latencyMs: summarize(this.latenciesUs),
      messages: { total: this.messagesTotal, perOp: completed > 0 ? round(this.messagesTotal / completed, 3) : 0, byType },
      bytes: { total: this.bytesTotal, perOp: completed > 0 ? round(this.bytesTotal / completed, 3) : 0 },
      warmup: { seconds: round(this.warmupUs / 1_000_000, 6), messages: this.warmupMessages, bytes: this.warmupBytes },
      leaderChanges: Math.max(0, this.leaderEpochs.size - 1),
      invariantViolations: violations,
      history: this.history,
      byzantineNodes: this.byzantineNodes,
      byzantineStrategy: this.byzantineStrategy,
      healedAtSeconds: round(this.healUs / 1_000_000, 6),
      faultLog: this.faultLog,
      scenarioDefinition: this.scenario,
      protocolOptions: this.protocolOptions,
      drawnOptions: this.drawnOptions,
      paths: this.pathCounts(),
    };
  }

  /** pathCounts lists the protocol's hard paths in their declared order, with how often this run walked each. */
  private pathCounts(): Readonly<Record<string, number>> {
    const counts = this.pathCounter?.counts();
    const paths: Record<string, number> = {};
    for (const path of this.algorithm.hardPaths ?? []) paths[path.name] = counts?.get(path.name) ?? 0;
    return paths;
  }
}

/**
 * decodeClientResult decodes what a client accepted as a result. A Byzantine
 * replica can make a crash-tolerant client accept garbage: that is recorded as
 * an `invalid` result, for the checker to judge, rather than stopping the run.
 */
function decodeClientResult(bytes: Uint8Array): KvResult {
  try {
    return decodeResult(bytes);
  } catch (error) {
    if (error instanceof CorruptionError) return { type: "invalid", reason: `the client accepted an undecodable result (${error.message})` };
    throw error;
  }
}

function summarize(latenciesUs: number[]): LatencySummary {
  if (latenciesUs.length === 0) return { p50: 0, p95: 0, p99: 0, max: 0 };
  const sorted = [...latenciesUs].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
  return { p50: round(at(0.5) / 1000, 3), p95: round(at(0.95) / 1000, 3), p99: round(at(0.99) / 1000, 3), max: round((sorted[sorted.length - 1] as number) / 1000, 3) };
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** runSimulation runs one simulation to completion. */
export function runSimulation(options: SimulationOptions): SimulationResult {
  return new Simulation(options).run();
}

/** replayCommand is the CLI command that replays a run with these options. */
export function replayCommand(
  options: Pick<SimulationOptions, "nodes" | "seed" | "ops" | "clients" | "byzantineStrategy" | "byzantineNodes" | "protocolOptions" | "encode"> & { algo: string; scenario: string },
): string {
  const parts = [`pnpm concord sim --algo ${options.algo} --nodes ${options.nodes} --scenario ${options.scenario} --seed ${options.seed}`];
  if (options.ops !== undefined) parts.push(`--ops ${options.ops}`);
  if (options.clients !== undefined) parts.push(`--clients ${options.clients}`);
  if (options.byzantineStrategy !== undefined) parts.push(`--byzantine-strategy ${options.byzantineStrategy}`);
  if (options.byzantineNodes !== undefined) parts.push(`--byzantine-nodes ${options.byzantineNodes.join(",")}`);
  if (options.encode === false) parts.push("--no-encode");
  for (const [name, value] of Object.entries(options.protocolOptions ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
    parts.push(`--option ${name}=${typeof value === "string" ? value : JSON.stringify(value)}`);
  }
  return parts.join(" ");
}
