import {
  type AnyAlgorithm,
  type DurableState,
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
  type MembershipChange,
  type NodeId,
  type Outbound,
  type PathCounter,
  type ProtocolOptions,
  type Ready,
  type Replica,
  ReplicaHost,
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
import type { CrashCounts, LatencySummary, SimulationOptions, SimulationResult } from "./result.ts";
import { type Fault, type Scenario, type Target, workloadSchema } from "./scenario.ts";
import { drawChaosFaults, drawChaosSetup, drawSyncMs, faultEndMs, resolveScenario } from "./scenarios.ts";
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
const eventTimedCrash = 12;

/** Delivery is a message in flight. */
interface Delivery {
  readonly from: NodeId;
  readonly message: unknown;
  readonly bytes: number;
}

interface ReplicaNode {
  readonly id: NodeId;
  /** host drives the live replica through the Ready contract; undefined while the node is down. */
  host: ReplicaHost<unknown> | undefined;
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
  /** drainPending: an eventDrain is queued to carry out what this instant's messages produced. */
  drainPending: boolean;
  /** stopped is set once the replica threw: it is never restarted. */
  stopped: boolean;
  /** lastStatus is the replica's status after its latest event, for readers that may not call it during a Ready. */
  lastStatus: ReplicaStatus | undefined;
  /**
   * syncedEpoch is the highest epoch (term, ballot round, view) the replica
   * reported once a Ready was synced: every protocol persists its epoch
   * before acting in it, so a restart must recover at least this one.
   */
  syncedEpoch: number;
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
  /** client is the client object now behind this network id: a restart replaces it. */
  client: Client<unknown>;
  /** incarnation counts the client's restarts, so that each object draws from a stream of its own. */
  incarnation: number;
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
 * TimedCrash is a crash waiting for its moment: the next time one of
 * `watched` holds unsynced writes ("while-unsynced"), completes a sync
 * with messages still to send ("after-sync"), or sends a Ready that carries
 * two or more messages to one peer, of which only some leave
 * ("while-sending"). With `all`, every live replica crashes then, else the
 * one that triggered it.
 */
interface TimedCrash {
  readonly record: FaultRecord;
  readonly timing: "while-unsynced" | "after-sync" | "while-sending";
  readonly watched: ReadonlySet<NodeId>;
  readonly all: boolean;
  readonly deadlineUs: number;
  /** strikeQueued: an eventTimedCrash is queued for it. */
  strikeQueued: boolean;
  done: boolean;
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
  /** replicaIds are the replicas of the initial configuration. */
  private readonly replicaIds: NodeId[];
  /** spareIds are replicas booted outside the initial configuration, for membership changes to add. */
  private readonly spareIds: NodeId[];
  /** allReplicaIds are the initial replicas and then the spares. */
  private readonly allReplicaIds: NodeId[];
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
  private readonly syncUs: number;
  private readonly timedCrashes: TimedCrash[] = [];
  /** ineffective lists every fault that had no effect, with why. */
  private readonly ineffective: string[] = [];
  /** operationAttempts counts how often a cluster operation waited for a busy leader, by fault index. */
  private readonly operationAttempts = new Map<number, number>();
  /** abandoned counts operations left outstanding by a client restart. */
  private abandoned = 0;
  private readonly crashCounts = { crashes: 0, lostRecords: 0, lostSnapshot: 0, recordsLost: 0, torn: 0 };

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
    const admin = this.algorithm.admin;
    const chaosContext = {
      messageTypes: this.algorithm.codec.typeNames ?? [],
      transfer: admin?.transferLeadership !== undefined && admin.membership !== undefined,
      reconfigure: admin?.reconfigure !== undefined && admin.membership !== undefined,
      clientRestarts: true,
      ops: workload.ops,
    };
    const faults = scenario.chaos
      ? drawChaosFaults(this.faultRng, scenario.healAtMs > 0 ? Math.min(chaosPhaseMs, scenario.healAtMs) : chaosPhaseMs, chaosContext)
      : scenario.faults;
    const setup = scenario.chaos ? drawChaosSetup(createRng(deriveSeed(root, "chaos-setup")), chaosContext) : { spares: scenario.spares, firstSequence: undefined };
    if (setup.firstSequence !== undefined && workload.firstSequence === undefined) workload.firstSequence = setup.firstSequence;
    // Every run has a sync latency, so that crashes have unsynced writes to lose: drawn from the seed unless the scenario sets one.
    const syncMs = scenario.disk.syncMs ?? drawSyncMs(createRng(deriveSeed(root, "disk")));
    // Spares make sense only for an algorithm whose membership an operator can change.
    const spares = admin?.reconfigure !== undefined ? Math.max(scenario.spares, setup.spares) : 0;
    this.scenario = { ...scenario, workload, faults, spares, disk: { ...scenario.disk, syncMs } };
    this.syncUs = Math.round(syncMs * 1000);
    this.tickUs = Math.round(scenario.tickMs * 1000);
    this.encode = options.encode ?? true;
    this.network = new Network(scenario.link, createRng(deriveSeed(root, "network")));
    this.keyRing = new KeyRing(deriveSeed(root, "keys"));
    this.generator = new OperationGenerator(workload, createRng(deriveSeed(root, "workload")));
    this.thinkUs = workload.ops > 0 ? Math.round((workload.spreadMs * 1000 * workload.clients) / workload.ops) : 0;
    this.replicaIds = Array.from({ length: options.nodes }, (_, i) => i + 1);
    this.spareIds = Array.from({ length: spares }, (_, i) => options.nodes + i + 1);
    this.allReplicaIds = [...this.replicaIds, ...this.spareIds];
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

    for (const id of this.allReplicaIds) {
      const rng = createRng(deriveSeed(root, `replica:${id}`));
      const node: ReplicaNode = {
        id,
        host: undefined,
        storage: new SimStorage(),
        crypto: new NodeCrypto(id, this.keyRing),
        rng,
        incarnation: 0,
        paused: false,
        inbox: [],
        cpuWakePending: false,
        busyUntilUs: 0,
        stopped: false,
        drainPending: false,
        lastStatus: undefined,
        syncedEpoch: 0,
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
      const node: ClientNode = { id, index, client: this.createClient(id, 0), incarnation: 0, pending: undefined, arrivalUs: 0, finalRead: false };
      this.clients.push(node);
      this.clientById.set(id, node);
    }
  }

  /** createClient builds the client object behind network id `id`; each incarnation draws from its own stream (a fresh session). */
  private createClient(id: NodeId, incarnation: number): Client<unknown> {
    const firstSequence = this.scenario.workload.firstSequence;
    return this.algorithm.createClient({
      id,
      // Clients know the spares too: a membership change can move the leader onto one.
      replicas: this.allReplicaIds,
      rng: createRng(deriveSeed(this.options.seed, incarnation === 0 ? `client:${id}` : `client:${id}:incarnation:${incarnation}`)),
      crypto: new NodeCrypto(id, this.keyRing),
      options: this.protocolOptions,
      ...(firstSequence !== undefined ? { firstSequence } : {}),
    }) as Client<unknown>;
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
    for (const id of this.allReplicaIds) {
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
      case eventTimedCrash:
        this.strikeTimedCrash(payload as { crash: TimedCrash; node: NodeId; incarnation: number });
        return;
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
    const create = (durable: DurableState): Replica<unknown> =>
      this.algorithm.createReplica({
        id: node.id,
        // A spare boots knowing the initial configuration, outside it, until a membership change adds it.
        replicas: this.replicaIds,
        rng: node.rng.fork(`incarnation:${node.incarnation}`),
        durable,
        // Byzantine replicas are left out of the applied-prefix check: their claims prove nothing.
        stateMachine: new RecordingStateMachine(node.id, new KvStateMachine(), node.strategy === undefined ? this.oracle : undefined),
        crypto: node.crypto,
        options: this.protocolOptions,
      }) as Replica<unknown>;
    // What a Ready sends leaves once the node's CPU is free: the crypto that built it, and earlier work, delay it.
    const send = (_from: NodeId, messages: readonly Outbound<unknown>[]): void => this.sendAll(node, messages, Math.max(this.nowUs, node.busyUntilUs));
    node.host = ReplicaHost.boot(node.storage, create, send);
    this.checkRecoveredEpoch(node, node.host);
    this.afterReplicaEvent(node, 0);
    this.activeNode = undefined;
  }

  /**
   * noteSyncedEpoch records the epoch of a replica whose Ready is synced. It
   * runs between ready() and advance(), when the replica may not be called:
   * its status from just before ready() stands for the state that Ready holds.
   */
  private noteSyncedEpoch(node: ReplicaNode): void {
    if (node.lastStatus !== undefined) node.syncedEpoch = Math.max(node.syncedEpoch, node.lastStatus.epoch);
  }

  /** checkRecoveredEpoch flags a restarted replica that recovered an epoch below one it had synced: its storage lost a synced write. */
  private checkRecoveredEpoch(node: ReplicaNode, host: ReplicaHost<unknown>): void {
    if (node.strategy !== undefined) return; // a Byzantine replica's claims prove nothing
    const epoch = host.status().epoch;
    if (epoch < node.syncedEpoch) {
      this.violation("durable-epoch", `replica ${node.id} restarted in epoch ${epoch}, below epoch ${node.syncedEpoch}, which it had synced before the crash: a synced write was lost`);
    }
  }

  private deliver(to: NodeId, delivery: Delivery): void {
    const client = this.clientById.get(to);
    if (client !== undefined) {
      client.client.step(delivery.from, delivery.message);
      this.drainClient(client);
      return;
    }
    const node = this.replicas.get(to);
    if (node === undefined || node.host === undefined) return;
    this.activeNode = node;
    if (node.inbox.length === 0 && !node.paused && !node.host.busy && node.busyUntilUs <= this.nowUs) {
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
    if (node.inbox.length === 0 || node.host === undefined || node.paused || node.host.busy) return false;
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
    const host = node.host as ReplicaHost<unknown>;
    let message: unknown = delivery.message;
    if (node.strategy?.inbound !== undefined) {
      message = node.strategy.inbound(delivery.from, message, this.byzantineContext(node));
      if (message === undefined) return;
    }
    this.pathCounter?.observeDeliver?.(host.replica, delivery.from, message, { timeUs: this.nowUs, faulty: node.strategy !== undefined });
    host.step(delivery.from, message);
    const cpu = this.scenario.cpu;
    this.account(node, host, cpu.perMessageUs + (delivery.bytes / 1024) * cpu.perKilobyteUs);
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
    if (node.host === undefined) return;
    // A paused process's monotonic clock keeps running (issue 10): the ticks it misses are seen on resume.
    if (node.paused || node.host.busy) {
      node.missedTicks++;
      return;
    }
    this.activeNode = node;
    node.host.tick();
    this.afterReplicaEvent(node, 0);
    this.activeNode = undefined;
  }

  /** afterReplicaEvent charges the CPU, lets monitors look, and carries out the replica's Ready. */
  private afterReplicaEvent(node: ReplicaNode, baseCostUs: number): void {
    const host = node.host;
    if (host === undefined) return;
    this.account(node, host, baseCostUs);
    this.drainReplica(node);
  }

  /** account charges the CPU for one replica event (and its crypto work) and lets monitors look. */
  private account(node: ReplicaNode, host: ReplicaHost<unknown>, baseCostUs: number): void {
    const costUs = Math.round((baseCostUs + this.cryptoCostUs(node)) * node.cpuFactor);
    if (costUs > 0) node.busyUntilUs = Math.max(node.busyUntilUs, this.nowUs) + costUs;
    this.observe(node, host);
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

  private observe(node: ReplicaNode, host: ReplicaHost<unknown>): void {
    const faulty = node.strategy !== undefined;
    const status = host.status();
    const replica = host.replica;
    node.lastStatus = status;
    if (!faulty && (status.role === "leader" || status.role === "primary")) this.leaderEpochs.add(status.epoch);
    if (this.monitors.length === 0 && this.pathCounter === undefined) return;
    const context = { timeUs: this.nowUs, faulty };
    this.pathCounter?.observeReplica?.(replica, context);
    for (const monitor of this.monitors) monitor.observeReplica?.(replica, context);
  }

  /**
   * drainReplica carries out the replica's Readies through its host. A Ready
   * that wrote records waits for the disk's sync (virtual time) in flight;
   * one that wrote nothing, or any Ready on an instant disk, is finished now,
   * and the next one is taken.
   */
  private drainReplica(node: ReplicaNode): void {
    this.activeNode = node;
    const host = node.host;
    if (host === undefined) return;
    while (!host.busy) {
      const ready = host.begin();
      if (ready === undefined) return;
      // Crypto work done while building this Ready (or in the last advance) delays what it sends.
      const cryptoUs = this.cryptoCostUs(node);
      if (cryptoUs > 0) node.busyUntilUs = Math.max(node.busyUntilUs, this.nowUs) + Math.round(cryptoUs * node.cpuFactor);
      if (host.unsynced && this.syncUs > 0) {
        // Messages wait for the sync (Ready's rule); a crash before it completes loses the records and the snapshot.
        this.queue.push(Math.max(this.nowUs, node.busyUntilUs) + this.syncUs, eventSyncDone, node.id, node.incarnation);
        if (this.timedCrashes.length > 0) this.noteUnsynced(node);
        return;
      }
      host.synced();
      this.noteSyncedEpoch(node);
      if (!this.sendAndAdvance(node, host)) return;
    }
  }

  /**
   * sendAndAdvance releases the messages of the host's synced Ready and
   * advances it, unless a crash waits for the moment part-way through the
   * send; it tells whether the node is still up.
   */
  private sendAndAdvance(node: ReplicaNode, host: ReplicaHost<unknown>): boolean {
    if (this.timedCrashes.length > 0 && this.strikeWhileSending(node, host)) return false;
    host.release();
    host.advance();
    return true;
  }

  private syncDone(id: NodeId, incarnation: number): void {
    const node = this.node(id);
    const host = node.host;
    if (host === undefined || node.incarnation !== incarnation || !host.busy) return;
    host.synced();
    this.noteSyncedEpoch(node);
    // A crash between the sync and the send: the records are durable, the messages that waited for them never leave.
    if (this.timedCrashes.length > 0 && this.strikeAfterSync(node)) return;
    // A paused process cannot act on its finished sync: it sends and advances when it resumes.
    if (!node.paused) this.finishReady(node);
  }

  /** finishReady sends the messages of a synced Ready, advances the replica, then catches up on what waited. */
  private finishReady(node: ReplicaNode): void {
    this.activeNode = node;
    const host = node.host;
    assert(host !== undefined && host.phase === "synced", () => `node ${node.id} has no synced Ready in flight`);
    if (!this.sendAndAdvance(node, host)) {
      this.activeNode = undefined;
      return;
    }
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
      replica: (node.host as ReplicaHost<unknown>).replica,
      timeUs: this.nowUs,
    };
  }

  /** transmit counts, encodes and hands one message to the network. */
  private transmit(from: NodeId, to: NodeId, message: unknown, departUs: number): void {
    const codec = this.algorithm.codec;
    const measured = this.nowUs >= this.warmupUs;
    const type = measured || this.network.scopedOverrides() > 0 ? codec.typeName(message) : "";
    if (measured) {
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
    const count = this.network.arrivals(from, to, departUs, bytes, this.arrivalsOut, type);
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
      case "crash":
        this.fireCrash(record, fault);
        return;
      case "restart":
        record.hit = this.select(fault.target, (node) => node.host === undefined && !node.stopped);
        for (const id of record.hit) this.restart(id);
        break;
      case "pause":
        // Only a running replica can be paused: a pause drawn for one already down or paused would do nothing. A pause
        // aimed at one replica by index may overlap another and so lengthen it.
        record.hit = this.select(fault.target, (node) => node.host !== undefined && (!node.paused || typeof fault.target === "object"));
        for (const id of record.hit) {
          const node = this.node(id);
          node.pauses.add(record.id);
          node.paused = true;
        }
        this.queue.push(this.nowUs + Math.round(fault.durationMs * 1000), eventFaultEnd, 0, record);
        break;
      case "partition": {
        this.firePartition(record, fault);
        break;
      }
      case "link":
        if (fault.messageTypes === undefined && fault.from === undefined) {
          this.network.addOverride(record.id, fault.link);
        } else {
          if (fault.from !== undefined) record.hit = this.select(fault.from);
          this.network.addScopedOverride(record.id, {
            link: fault.link,
            ...(fault.messageTypes !== undefined ? { types: new Set(fault.messageTypes) } : {}),
            ...(fault.from !== undefined ? { from: new Set(record.hit) } : {}),
          });
        }
        this.queue.push(this.nowUs + Math.round(fault.durationMs * 1000), eventFaultEnd, 0, record);
        break;
      case "slow":
        record.hit = this.select(fault.target, (node) => node.host !== undefined);
        for (const id of record.hit) {
          const node = this.node(id);
          node.slows.set(record.id, { extraLatencyUs: Math.round(fault.extraLatencyMs * 1000), cpuFactor: fault.cpuFactor });
          this.applySlow(node);
        }
        this.queue.push(this.nowUs + Math.round(fault.durationMs * 1000), eventFaultEnd, 0, record);
        break;
      case "transfer":
      case "reconfigure":
        this.fireOperation(index, fault);
        return;
      case "restart-client":
        this.restartClient(fault.client === "random" ? (this.clients[this.faultRng.nextInt(this.clients.length)] as ClientNode) : this.clients[fault.client.index % this.clients.length]);
        return;
    }
    this.logFault(this.describeFault(fault), record.hit, fault.type === "link" ? JSON.stringify(fault.link) + (fault.messageTypes !== undefined ? ` on ${fault.messageTypes.join(",")}` : "") : "");
    const acts = fault.type === "link" ? fault.from === undefined || record.hit.length > 0 : record.hit.length > 0;
    if (!acts) this.noEffect(fault, "no replica it can act on");
  }

  private describeFault(fault: Fault): string {
    if (fault.type !== "partition") return fault.type;
    const oneWay = fault.oneWay ? ` (one-way, ${fault.direction})` : "";
    return `partition${oneWay}${fault.clients === "rest" ? "" : ` (clients: ${fault.clients})`}`;
  }

  /** noEffect lists a fault that did nothing, so that a report shows what a run really exercised. */
  private noEffect(fault: Fault, why: string): void {
    this.ineffective.push(`${(this.nowUs / 1000).toFixed(3)} ms: ${fault.type} (${JSON.stringify(fault)}): ${why}`);
  }

  private firePartition(record: FaultRecord, fault: Extract<Fault, { type: "partition" }>): void {
    const isolated = new Set<NodeId>();
    for (const target of fault.isolate) for (const id of this.select(target, () => true, isolated)) isolated.add(id);
    record.hit = [...isolated].sort((a, b) => a - b);
    // Clients: with the rest (outside the isolated set), with the isolated replicas, split, or left out of the cut.
    const exempt = new Set<NodeId>();
    this.clients.forEach((client, index) => {
      const inside = fault.clients === "isolated" || (fault.clients === "split" && index < Math.ceil(this.clients.length / 2));
      if (inside) isolated.add(client.id);
      if (fault.clients === "both") exempt.add(client.id);
    });
    this.network.addPartition({ id: record.id, isolated, oneWay: fault.oneWay, direction: fault.direction, exempt });
    this.queue.push(this.nowUs + Math.round(fault.durationMs * 1000), eventFaultEnd, 0, record);
  }

  // ----- crashes ----------------------------------------------------------

  private fireCrash(record: FaultRecord, fault: Extract<Fault, { type: "crash" }>): void {
    const live = (node: ReplicaNode): boolean => node.host !== undefined;
    if (fault.timing === "at-once") {
      record.hit = this.select(fault.target, live);
      this.logFault("crash", record.hit, "");
      if (record.hit.length === 0) {
        this.noEffect(fault, "no live replica to crash");
        return;
      }
      this.strikeCrash(record, fault);
      return;
    }
    const watched = new Set(this.select(fault.target, live));
    this.logFault(`crash armed (${fault.timing})`, [...watched].sort((a, b) => a - b), "");
    if (watched.size === 0) {
      this.noEffect(fault, "no live replica to crash");
      return;
    }
    const crash: TimedCrash = {
      record,
      timing: fault.timing,
      watched,
      all: fault.target === "all",
      deadlineUs: this.nowUs + Math.round(fault.windowMs * 1000),
      strikeQueued: false,
      done: false,
    };
    this.timedCrashes.push(crash);
    // The window's end: a crash whose moment has not come by then strikes anyway, so that every crash acts.
    this.queue.push(crash.deadlineUs, eventTimedCrash, 0, { crash, node: 0, incarnation: -1 });
    if (crash.timing === "while-unsynced") {
      for (const id of watched) {
        const node = this.node(id);
        if (node.host !== undefined && (node.storage.unsyncedRecords() > 0 || node.storage.hasStagedSnapshot())) this.queueStrike(crash, node);
      }
    }
  }

  /** strikeCrash crashes the record's nodes now and schedules their restart. */
  private strikeCrash(record: FaultRecord, fault: Extract<Fault, { type: "crash" }>): void {
    for (const id of record.hit) this.crash(id, true);
    if (fault.restartAfterMs === undefined) return;
    const lowUs = Math.round(fault.restartAfterMs * 1000);
    const highUs = Math.round((fault.restartAfterMaxMs ?? fault.restartAfterMs) * 1000);
    const delayUs = highUs > lowUs ? this.faultRng.nextIntBetween(lowUs, highUs) : lowUs;
    this.queue.push(this.nowUs + delayUs, eventFaultEnd, 0, record);
  }

  /** pendingTimedCrashes drops the timed crashes that have struck or been called off, and returns the others. */
  private pendingTimedCrashes(): TimedCrash[] {
    for (let i = this.timedCrashes.length - 1; i >= 0; i--) if ((this.timedCrashes[i] as TimedCrash).done) this.timedCrashes.splice(i, 1);
    return this.timedCrashes;
  }

  /** noteUnsynced is called when `node` has just written records it has not synced: a waiting crash may strike. */
  private noteUnsynced(node: ReplicaNode): void {
    for (const crash of this.pendingTimedCrashes()) {
      if (crash.timing === "while-unsynced" && !crash.strikeQueued && crash.watched.has(node.id)) this.queueStrike(crash, node);
    }
  }

  /** queueStrike schedules a crash at a drawn moment inside the node's sync window (before the sync can complete). */
  private queueStrike(crash: TimedCrash, node: ReplicaNode): void {
    crash.strikeQueued = true;
    const offsetUs = this.syncUs > 1 ? this.faultRng.nextInt(this.syncUs) : 0;
    this.queue.push(this.nowUs + offsetUs, eventTimedCrash, node.id, { crash, node: node.id, incarnation: node.incarnation });
  }

  private strikeTimedCrash(strike: { crash: TimedCrash; node: NodeId; incarnation: number }): void {
    const { crash } = strike;
    if (crash.done) return;
    if (strike.incarnation < 0) {
      this.strikeAtDeadline(crash);
      return;
    }
    crash.strikeQueued = false;
    const node = this.node(strike.node);
    const unsynced = node.host !== undefined && node.incarnation === strike.incarnation && (node.storage.unsyncedRecords() > 0 || node.storage.hasStagedSnapshot());
    // Synced (or crashed) before the drawn moment: wait for the next window.
    if (!unsynced) return;
    this.strikeNow(crash, node);
  }

  /** strikeAfterSync crashes `node` right after its sync if a crash waits for that moment; tells whether it did. */
  private strikeAfterSync(node: ReplicaNode): boolean {
    const crash = this.pendingTimedCrashes().find((candidate) => candidate.timing === "after-sync" && candidate.watched.has(node.id));
    if (crash === undefined) return false;
    this.strikeNow(crash, node);
    return true;
  }

  /**
   * strikeWhileSending crashes `node` part-way through sending `messages` if
   * a crash waits for that moment and they carry two or more messages to one
   * peer (a pipeline, or several slots' rounds): a drawn part of them leaves,
   * at least one and never all, each message on its own (the simulated network
   * loses messages singly). It tells whether it struck.
   */
  private strikeWhileSending(node: ReplicaNode, host: ReplicaHost<unknown>): boolean {
    const messages = (host.inflight as Ready<unknown>).messages;
    if (messages.length < 2) return false;
    const crash = this.pendingTimedCrashes().find((candidate) => candidate.timing === "while-sending" && candidate.watched.has(node.id));
    if (crash === undefined) return false;
    const perPeer = new Map<NodeId, number>();
    let pipelined = false;
    for (const { to } of messages) {
      const count = (perPeer.get(to) ?? 0) + 1;
      perPeer.set(to, count);
      if (count >= 2) pipelined = true;
    }
    if (!pipelined) return false;
    const leaves = messages.map(() => this.faultRng.nextInt(2) === 0);
    const sent = leaves.filter(Boolean).length;
    // At least one leaves and at least one stays: flip one drawn message when the draw made it all or nothing.
    if (sent === 0 || sent === messages.length) {
      const flip = this.faultRng.nextInt(messages.length);
      leaves[flip] = !leaves[flip];
    }
    const departing = messages.filter((_, index) => leaves[index]);
    host.release(departing);
    this.logFault(`crash (while-sending, node ${node.id}: ${departing.length} of ${messages.length} message(s) left)`, [], "");
    this.strikeNow(crash, node);
    return true;
  }

  /** strikeAtDeadline crashes a timed crash's nodes at the end of its window, its moment not having come. */
  private strikeAtDeadline(crash: TimedCrash): void {
    const live = [...crash.watched].filter((id) => this.node(id).host !== undefined);
    const first = live[0];
    if (first === undefined) {
      crash.done = true;
      this.logFault(`crash (${crash.timing}) called off`, [], "");
      this.noEffect(crash.record.fault, `its moment (${crash.timing}) did not come within its window, and its nodes were down by then`);
      this.pendingTimedCrashes();
      return;
    }
    this.logFault(`crash window ended (${crash.timing}: its moment did not come)`, [], "");
    this.strikeNow(crash, this.node(first));
  }

  private strikeNow(crash: TimedCrash, node: ReplicaNode): void {
    crash.done = true;
    const record = crash.record;
    record.hit = crash.all ? this.allReplicaIds.filter((id) => this.node(id).host !== undefined) : [node.id];
    this.logFault(`crash (${crash.timing}, node ${node.id} holding ${node.storage.unsyncedRecords()} unsynced record(s))`, record.hit, "");
    this.strikeCrash(record, record.fault as Extract<Fault, { type: "crash" }>);
    this.pendingTimedCrashes();
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
      case "transfer":
      case "reconfigure":
      case "restart-client":
        break;
    }
    this.logFault(`end ${fault.type}`, record.hit, "");
  }

  private healAll(): void {
    this.healed = true;
    // A timed crash still waiting for its moment is called off: after the heal, nodes stay up.
    for (const crash of this.pendingTimedCrashes()) {
      if (!crash.done) this.noEffect(crash.record.fault, `its moment (${crash.timing}) had not come when the scenario healed`);
      crash.done = true;
    }
    this.pendingTimedCrashes();
    this.network.healAll();
    for (const node of this.replicas.values()) {
      if (node.host === undefined) this.restart(node.id);
      node.pauses.clear();
      if (node.paused) this.resume(node.id);
      node.slows.clear();
      this.applySlow(node);
    }
    this.logFault("heal all", [], "");
    this.lastProgressUs = Math.max(this.lastProgressUs, this.nowUs);
    this.maybeFinish();
  }

  private crash(id: NodeId, counted = false): void {
    const node = this.node(id);
    if (node.host === undefined) return;
    const report = node.storage.crash(node.rng, this.scenario.disk.tearPercent);
    node.host = undefined;
    node.incarnation++;
    node.drainPending = false;
    node.lastStatus = undefined;
    node.missedTicks = 0;
    node.paused = false;
    node.pauses.clear();
    node.inbox = [];
    node.busyUntilUs = 0;
    if (counted) {
      const counts = this.crashCounts;
      counts.crashes++;
      if (report.lostRecords > 0) counts.lostRecords++;
      if (report.lostSnapshot) counts.lostSnapshot++;
      counts.recordsLost += report.lostRecords;
      if (report.tornBytes > 0) counts.torn++;
    }
    if (report.lostRecords > 0 || report.tornBytes > 0 || report.lostSnapshot) {
      const snapshot = report.lostSnapshot ? " and an unsynced snapshot" : "";
      this.faultLog.push(`${(this.nowUs / 1000).toFixed(3)} ms: node ${id} lost ${report.lostRecords} unsynced record(s)${snapshot}${report.tornBytes > 0 ? `, ${report.tornBytes} torn byte(s) left` : ""}`);
    }
  }

  // ----- operations on the cluster and its clients -------------------------

  /**
   * fireOperation asks the leader, through the algorithm's admin hook, for a
   * leadership transfer or a membership change. A leader busy with a Ready
   * (or paused) cannot be called: the operation waits for it, a millisecond
   * at a time, up to 50 times.
   */
  private fireOperation(index: number, fault: Extract<Fault, { type: "transfer" | "reconfigure" }>): void {
    const admin = this.algorithm.admin;
    const leaderId = this.currentLeader();
    if (admin?.membership === undefined || (fault.type === "transfer" ? admin.transferLeadership : admin.reconfigure) === undefined) {
      this.logFault(fault.type, [], "(the algorithm has no admin hook for it)");
      this.noEffect(fault, `${this.algorithm.name} has no admin hook for it`);
      return;
    }
    if (leaderId === undefined) {
      this.logFault(fault.type, [], "(no leader)");
      this.noEffect(fault, "no leader to ask");
      return;
    }
    const leader = this.node(leaderId);
    if (leader.host === undefined || leader.host.busy || leader.paused) {
      const attempts = (this.operationAttempts.get(index) ?? 0) + 1;
      this.operationAttempts.set(index, attempts);
      if (attempts <= 50) {
        this.nextFaultId--;
        this.queue.push(this.nowUs + 1000, eventFault, index, undefined);
        return;
      }
      this.logFault(fault.type, [leaderId], "(the leader stayed busy)");
      this.noEffect(fault, "the leader stayed busy");
      return;
    }
    const replica = leader.host.replica;
    const membership = admin.membership(replica);
    this.activeNode = leader;
    let outcome: { accepted: boolean; detail: string } | undefined;
    let what: string;
    if (fault.type === "transfer") {
      const followers = membership.voters.filter((id) => id !== leaderId);
      const chosen = fault.to === undefined ? followers : this.select(fault.to, () => true).filter((id) => id !== leaderId);
      const target = chosen.length === 0 ? undefined : (chosen[this.faultRng.nextInt(chosen.length)] as NodeId);
      what = `transfer ${leaderId} -> ${target ?? "nobody"}`;
      if (target !== undefined) outcome = admin.transferLeadership?.(replica, target);
    } else {
      const changes = this.planChanges(fault.change, membership, leaderId);
      what = `reconfigure ${fault.change}${fault.joint ? " (joint)" : ""}: ${changes.map((change) => `${change.type} ${change.node}`).join(", ") || "nothing to change"}`;
      if (changes.length > 0) outcome = admin.reconfigure?.(replica, changes, { joint: fault.joint });
    }
    this.afterReplicaEvent(leader, 0);
    this.activeNode = undefined;
    this.logFault(what, [leaderId], outcome === undefined ? "" : `(${outcome.detail})`);
    if (outcome === undefined || !outcome.accepted) this.noEffect(fault, outcome?.detail ?? what);
  }

  /** planChanges resolves a named membership change against the membership in force. */
  private planChanges(change: Extract<Fault, { type: "reconfigure" }>["change"], membership: { voters: readonly NodeId[]; learners: readonly NodeId[] }, leader: NodeId): MembershipChange[] {
    const pick = (ids: readonly NodeId[]): NodeId | undefined => (ids.length === 0 ? undefined : ids[this.faultRng.nextInt(ids.length)]);
    const outsiders = this.allReplicaIds.filter((id) => !membership.voters.includes(id) && !membership.learners.includes(id) && !this.node(id).stopped);
    const followers = membership.voters.filter((id) => id !== leader);
    switch (change) {
      case "add-voter": {
        const node = pick(outsiders);
        return node === undefined ? [] : [{ type: "addVoter", node }];
      }
      case "remove-voter": {
        const node = pick(followers);
        return node === undefined ? [] : [{ type: "removeVoter", node }];
      }
      case "remove-leader":
        return membership.voters.length > 1 ? [{ type: "removeVoter", node: leader }] : [];
      case "add-learner": {
        const node = pick(outsiders);
        return node === undefined ? [] : [{ type: "addLearner", node }];
      }
      case "promote-learner": {
        const node = pick(membership.learners);
        return node === undefined ? [] : [{ type: "addVoter", node }];
      }
      case "replace": {
        // Replace a majority of the voters (the leader among the candidates) by outsiders, as far as there are outsiders.
        const count = Math.min(outsiders.length, Math.floor(membership.voters.length / 2) + 1);
        const leaving = [...membership.voters];
        const arriving = [...outsiders];
        const changes: MembershipChange[] = [];
        for (let i = 0; i < count; i++) {
          const out = leaving.splice(this.faultRng.nextInt(leaving.length), 1)[0] as NodeId;
          const into = arriving.splice(this.faultRng.nextInt(arriving.length), 1)[0] as NodeId;
          changes.push({ type: "removeVoter", node: out }, { type: "addVoter", node: into });
        }
        return changes;
      }
    }
  }

  /**
   * restartClient replaces a client by a fresh object with the same network
   * id and a session of its own (as a restarted process would be): the
   * request it had outstanding may or may not take effect, so the history
   * records it as indeterminate.
   */
  private restartClient(client: ClientNode | undefined): void {
    if (client === undefined) return;
    const operation = client.pending;
    client.incarnation++;
    client.client = this.createClient(client.id, client.incarnation);
    this.logFault(`restart client ${client.id}${operation === undefined ? "" : ` (its operation ${operation.id} is indeterminate)`}`, [], "");
    if (operation === undefined) return;
    client.pending = undefined;
    this.abandoned++;
    this.pendingOperations--;
    if (this.pendingOperations === 0) this.idleSinceUs = this.nowUs;
    operation.status = "info";
    operation.completeUs = undefined;
    if (client.finalRead) this.finalReadKeys.push(operation.input.key);
    else {
      this.workloadDone++;
      this.lastWorkloadCompleteUs = this.nowUs;
    }
    this.afterClientIdle(client);
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
    if (node.host !== undefined || node.stopped) return;
    this.boot(node);
  }

  private resume(id: NodeId): void {
    const node = this.node(id);
    if (!node.paused) return;
    node.paused = false;
    // A sync that completed during the pause: its messages leave now.
    if (node.host?.phase === "synced") {
      this.finishReady(node);
      return;
    }
    if (node.host === undefined || node.host.busy) return;
    // The time that passed while paused is seen first, before any message that waited (a clock jump).
    this.replayMissedTicks(node);
    this.takeInbox(node);
    this.drainReplica(node);
    this.activeNode = undefined;
  }

  /** replayMissedTicks hands a replica the ticks it missed while busy with a Ready or paused, in one instant. */
  private replayMissedTicks(node: ReplicaNode): void {
    const host = node.host;
    if (host === undefined) return;
    this.activeNode = node;
    for (; node.missedTicks > 0; node.missedTicks--) {
      host.tick();
      this.account(node, host, 0);
    }
  }

  /**
   * select resolves a fault target to replica ids at the moment the fault
   * fires, among the replicas it can act on (`can`): a crash is drawn among
   * live replicas, a pause among running ones, so that every drawn fault acts.
   */
  private select(target: Target, can: (node: ReplicaNode) => boolean = () => true, exclude: ReadonlySet<NodeId> = new Set()): NodeId[] {
    const candidates = this.allReplicaIds.filter((id) => !exclude.has(id) && can(this.node(id)));
    if (candidates.length === 0) return [];
    if (target === "all") return candidates;
    if (typeof target === "object") {
      const id = this.allReplicaIds[target.index % this.allReplicaIds.length] as NodeId;
      return candidates.includes(id) ? [id] : [];
    }
    const leader = this.currentLeader();
    if (target === "leader" && leader !== undefined && candidates.includes(leader)) return [leader];
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
      if (node.host === undefined || node.strategy !== undefined) continue;
      // The replica's contract forbids calls between ready() and advance(): read its last status then.
      const status = node.host.busy ? node.lastStatus : node.host.status();
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

  private crashResult(): CrashCounts {
    return { ...this.crashCounts };
  }

  /** ineffectiveFaults lists the faults that did nothing, timed crashes whose moment never came included. */
  private ineffectiveFaults(): string[] {
    const waiting = this.timedCrashes.filter((crash) => !crash.done).map((crash) => `${crash.record.fault.type} (${JSON.stringify(crash.record.fault)}): its moment (${crash.timing}) never came`);
    return [...this.ineffective, ...waiting];
  }

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
      abandonedOperations: this.abandoned,
      crashes: this.crashResult(),
      ineffectiveFaults: this.ineffectiveFaults(),
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
