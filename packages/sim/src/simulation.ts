import {
  type AnyAlgorithm,
  ConfigError,
  type InvariantMonitor,
  type NodeId,
  type PathCounter,
  type ProtocolOptions,
  type ReadLevel,
  createRng,
  deriveSeed,
  firstClientId,
  isReadLevel,
  parseConfig,
  readLevels,
  unreachable,
} from "@concord/core";
import { AppliedLogOracle } from "./applied-log.ts";
import { findByzantineStrategy } from "./byzantine.ts";
import { drawChaosAdversary } from "./chaos-adversary.ts";
import { checkLastingCrashes, drawChaosSplitStarvation } from "./chaos-split-starvation.ts";
import { drawChaosClientLoop } from "./chaos-client-loop.ts";
import { PathWalks, drawChaosPathCrash } from "./path-crashes.ts";
import { ClientDriver, watchdogPeriodUs } from "./clients.ts";
import { drawChaosElectionRaces, drawElectionRaceOptions } from "./election-races.ts";
import { Cluster } from "./cluster.ts";
import { SimContext, msToUs } from "./context.ts";
import { CrashSchedule } from "./crashes.ts";
import type { SimEvent } from "./events.ts";
import { FaultSchedule } from "./faults.ts";
import { Network } from "./links.ts";
import { MessageRecorder } from "./message-trace.ts";
import { Metrics, operationCounts, seconds, sortedViolations, summarize, throughputOpsPerSec, trafficFigures } from "./metrics.ts";
import { ClusterOperations } from "./operations.ts";
import type { SimulationOptions, SimulationResult } from "./result.ts";
import { type Scenario, cpuChoiceSchema, workloadSchema } from "./scenario.ts";
import { drawChaosLeaseRaces } from "./lease-races.ts";
import { drawChaosHeldRaces } from "./held-races.ts";
import { drawChaosByzantine, drawChaosByzantineClient, drawChaosFaults, drawChaosLossWindows, drawChaosMembershipRaces, drawChaosOperationRaces, drawChaosRaces, drawChaosSuccessionRaces, drawChaosSetup, drawSyncMs, faultEndMs, resolveScenario } from "./scenarios.ts";
import { KeyRing, NodeCrypto } from "./sim-crypto.ts";
import { runScriptedSimulation } from "./scripted-run.ts";
import { swarmOptions, withRaceOptions } from "./swarm-options.ts";
import { Wire } from "./wire.ts";
import { OperationGenerator, semanticsWorkload } from "./workload.ts";

/** chaosPhaseMsMin is the shortest span over which chaos draws its faults, however short the workload's spread. */
const chaosPhaseMsMin = 1000;

/**
 * Simulation runs one algorithm on one scenario in virtual time, as
 * TigerBeetle's VOPR runs its cluster: it resolves the scenario (drawing the
 * fault mix, the options and the disk from the seed under `chaos`), wires the
 * parts together (the cluster of replicas, the wire between nodes, the
 * clients and their history, the fault schedule, the metrics), and runs the
 * event loop. Every source of randomness derives from the root seed (links,
 * workload, faults, each replica), so the same options replay the same run
 * byte for byte.
 */
export class Simulation {
  private readonly algorithm: AnyAlgorithm;
  private readonly scenario: Scenario;
  private readonly options: SimulationOptions;
  private readonly context: SimContext;
  private readonly metrics = new Metrics();
  private readonly wire: Wire;
  private readonly cluster: Cluster;
  private readonly clients: ClientDriver;
  private readonly faults: FaultSchedule;
  private readonly crashes: CrashSchedule;
  private readonly monitors: InvariantMonitor<unknown>[];
  /** protocolOptions are what replicas and clients run with: the explicit options over those `chaos` drew from the seed. */
  private readonly protocolOptions: ProtocolOptions;
  private readonly drawnOptions: ProtocolOptions;
  /** pathCounter counts the protocol's hard paths (issue 21), beside the monitors. */
  private readonly pathCounter: PathCounter<unknown> | undefined;
  private readonly oracle = new AppliedLogOracle();
  private readonly byzantineNodes: NodeId[];
  private readonly byzantineStrategy: string | undefined;
  /** byzantineClient is the faulty client chaos drew, if any. */
  private readonly byzantineClient: { readonly id: NodeId; readonly strategy: string } | undefined;
  private readonly tickUs: number;
  private readonly warmupUs: number;
  private readonly healUs: number;
  /** recorder records the run's messages when the options ask for a trace. */
  private readonly recorder: MessageRecorder | undefined;
  /** servedLevels holds the served level of each read level asked so far (see servedReadLevel). */
  private readonly servedLevels = new Map<ReadLevel, ReadLevel>();

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
    if (options.readLevel !== undefined && !isReadLevel(options.readLevel)) {
      throw new ConfigError("readLevel", `must be one of ${readLevels.join(", ")} (got ${String(options.readLevel)})`);
    }
    const sizeError = this.algorithm.clusterSizeError(options.nodes);
    if (sizeError !== undefined) throw new ConfigError("nodes", sizeError);

    const root = options.seed;
    const faultRng = createRng(deriveSeed(root, "faults"));
    const arrivalRng = createRng(deriveSeed(root, "arrivals"));
    // Chaos draws its faults over the workload's spread, and within healAtMs when the scenario sets one.
    const chaosPhaseMs = Math.max(chaosPhaseMsMin, workload.spreadMs);
    const admin = this.algorithm.admin;
    const chaosContext = {
      messageTypes: this.algorithm.codec.typeNames ?? [],
      transfer: admin?.transferLeadership !== undefined && admin.membership !== undefined,
      reconfigure: admin?.reconfigure !== undefined && admin.membership !== undefined,
      clientRestarts: true,
      ops: workload.ops,
    };
    const chaosSpanMs = scenario.healAtMs > 0 ? Math.min(chaosPhaseMs, scenario.healAtMs) : chaosPhaseMs;
    // A race comes from a stream of its own, so that a seed's other faults stay what they were; it is sorted in stably.
    const race = scenario.chaos ? drawChaosRaces(createRng(deriveSeed(root, "chaos-races")), chaosSpanMs, options.nodes) : { kind: undefined, faults: [] };
    const tolerated = this.algorithm.faultsTolerated(options.nodes);
    // Loss windows aimed at the protocol's message types (issue 21) come from a stream of their own too.
    const lossWindows = scenario.chaos ? drawChaosLossWindows(createRng(deriveSeed(root, "chaos-loss-windows")), chaosSpanMs, options.nodes, tolerated, this.algorithm.chaosFaults) : [];
    // A membership race, from a stream of its own too, only where there is no race of the first kind.
    const membershipRace =
      scenario.chaos && race.kind === undefined
        ? drawChaosMembershipRaces(createRng(deriveSeed(root, "chaos-membership-races")), chaosSpanMs, options.nodes, chaosContext)
        : { kind: undefined, faults: [], spares: 0 };
    const operationRace = scenario.chaos ? drawChaosOperationRaces(createRng(deriveSeed(root, "chaos-operation-races")), chaosSpanMs, chaosContext) : { kind: undefined, faults: [] };
    const successionRace = scenario.chaos ? drawChaosSuccessionRaces(createRng(deriveSeed(root, "chaos-succession-races")), chaosSpanMs, options.nodes) : { kind: undefined, faults: [] };
    // Swarm options (issue 10): chaos draws the protocol's options too, from a stream of their own; explicit ones win.
    const seedOptions = swarmOptions(this.algorithm, root, scenario.chaos, options.protocolOptions ?? {});
    // A race sized by the election timeout under those options (issue 21), from a stream of its own too.
    const electionTicks = this.algorithm.chaosFaults?.electionTimeoutTicks?.(seedOptions.options);
    const leaseRace = scenario.chaos
      ? drawChaosLeaseRaces(createRng(deriveSeed(root, "chaos-lease-races")), chaosSpanMs, options.nodes, electionTicks === undefined ? undefined : electionTicks * scenario.tickMs, chaosContext.messageTypes)
      : { kind: undefined, faults: [] };
    const replicaIds = Array.from({ length: options.nodes }, (_, i) => i + 1);
    const byzantineCount = scenario.byzantine === "f" ? Math.max(1, tolerated) : scenario.byzantine;
    // Chaos draws liars (at most f) for a protocol whose hints name strategies, unless the run names its own.
    const drawnByzantine =
      scenario.chaos && byzantineCount === 0 && options.byzantineNodes === undefined && options.byzantineStrategy === undefined
        ? drawChaosByzantine(createRng(deriveSeed(root, "chaos-byzantine")), replicaIds, tolerated, this.algorithm.chaosFaults)
        : undefined;
    // The liars' ally in the network (chaos-adversary.ts), from a stream of its own too.
    const adversary = drawnByzantine !== undefined ? drawChaosAdversary(createRng(deriveSeed(root, "chaos-adversary")), chaosSpanMs, replicaIds, drawnByzantine.nodes, tolerated, this.algorithm.chaosFaults) : [];
    // The replicas that lie in this run: those named, else those chaos drew, else the scenario's first ones.
    const liars = options.byzantineNodes ?? (drawnByzantine?.strategy !== undefined ? drawnByzantine.nodes : replicaIds.slice(0, Math.min(byzantineCount, options.nodes)));
    // A split starvation and the crashes for good after it (chaos-split-starvation.ts), from a stream of its own too.
    const splitStarvation = scenario.chaos
      ? drawChaosSplitStarvation(createRng(deriveSeed(root, "chaos-split-starvation")), chaosSpanMs, replicaIds, liars, tolerated, this.algorithm.chaosFaults, chaosContext.messageTypes)
      : [];
    // A client in a crash loop (chaos-client-loop.ts), from a stream of its own too.
    const clientLoop = scenario.chaos ? drawChaosClientLoop(createRng(deriveSeed(root, "chaos-client-loop")), chaosSpanMs, workload.clients, this.algorithm.chaosFaults) : [];
    // A crash timed by a replica's walk of a hard path (path-crashes.ts), from a stream of its own too.
    const pathCrash = scenario.chaos ? drawChaosPathCrash(createRng(deriveSeed(root, "chaos-path-crashes")), chaosSpanMs, tolerated, this.algorithm.chaosFaults) : [];
    // A race timed by an election (issue 21), from a stream of its own too, only where there is no membership race (whose
    // voter away across a change it would cut off again, and whose seeds' measured reach it would change).
    const electionRace =
      scenario.chaos && membershipRace.kind === undefined
        ? drawChaosElectionRaces(createRng(deriveSeed(root, "chaos-election-races")), chaosSpanMs, options.nodes)
        : { kind: undefined, faults: [] };
    // A race of messages held for about an election timeout (issue 21), from a stream of its own too, only where there
    // is no membership race (whose change would move the voters it parts).
    const heldRace =
      scenario.chaos && membershipRace.kind === undefined
        ? drawChaosHeldRaces(createRng(deriveSeed(root, "chaos-held-races")), chaosSpanMs, options.nodes, electionTicks === undefined ? undefined : electionTicks * scenario.tickMs, chaosContext.messageTypes)
        : { kind: undefined, faults: [] };
    // The options that race asks for (a snapshot interval small enough that its catch-up is answered by a snapshot), from a stream of their own too.
    const swarm =
      electionRace.kind !== undefined
        ? withRaceOptions(seedOptions, drawElectionRaceOptions(createRng(deriveSeed(root, "chaos-election-race-options")), this.algorithm.chaosFaults, options.protocolOptions ?? {}))
        : seedOptions;
    const faults = scenario.chaos
      ? [...drawChaosFaults(faultRng, chaosSpanMs, chaosContext), ...race.faults, ...lossWindows, ...membershipRace.faults, ...operationRace.faults, ...successionRace.faults, ...leaseRace.faults, ...adversary, ...clientLoop, ...electionRace.faults, ...heldRace.faults, ...splitStarvation, ...pathCrash].sort((a, b) => a.atMs - b.atMs)
      : scenario.faults;
    const drawnSetup = scenario.chaos ? drawChaosSetup(createRng(deriveSeed(root, "chaos-setup")), chaosContext) : { spares: scenario.spares, firstSequence: undefined, readersAndWriters: false };
    // A race cuts a leader off with readers on its side: its clients split into readers and writers (a held race written
    // in a scenario too); a membership race needs its spares.
    const setup =
      race.kind !== undefined || membershipRace.kind !== undefined || leaseRace.kind !== undefined || faults.some((fault) => fault.type === "held-race")
        ? { ...drawnSetup, readersAndWriters: true, spares: Math.max(drawnSetup.spares, membershipRace.spares) }
        : drawnSetup;
    if (setup.firstSequence !== undefined && workload.firstSequence === undefined) workload.firstSequence = setup.firstSequence;
    // Every run has a sync latency, so that crashes have unsynced writes to lose: drawn from the seed unless the scenario sets one.
    const syncMs = scenario.disk.syncMs ?? drawSyncMs(createRng(deriveSeed(root, "disk")));
    // Spares make sense only for an algorithm whose membership an operator can change.
    const spares = admin?.reconfigure !== undefined ? Math.max(scenario.spares, setup.spares) : 0;
    // A cpu option replaces the scenario's cost model whole, checked by the scenario's own schema.
    const cpu = options.cpu !== undefined ? parseConfig(cpuChoiceSchema, options.cpu, "cpu") : scenario.cpu;
    this.scenario = { ...scenario, cpu, workload, faults, spares, disk: { ...scenario.disk, syncMs } };
    this.context = new SimContext(this.scenario);
    const syncUs = msToUs(syncMs);
    this.tickUs = msToUs(scenario.tickMs);
    const network = new Network(scenario.link, createRng(deriveSeed(root, "network")));
    const keyRing = new KeyRing(deriveSeed(root, "keys"));
    // A write-once register offers only get and put, registers get, put and delete: the clients draw from those alone.
    const generator = new OperationGenerator(
      semanticsWorkload(workload, this.algorithm.kvSemantics ?? "kv"),
      createRng(deriveSeed(root, "workload")),
      setup.readersAndWriters,
    );
    const spareIds = Array.from({ length: spares }, (_, i) => options.nodes + i + 1);
    const allReplicaIds = [...replicaIds, ...spareIds];
    this.monitors = this.algorithm.createMonitors() as InvariantMonitor<unknown>[];
    this.protocolOptions = swarm.options;
    this.drawnOptions = swarm.drawn;
    const pathCounter = this.algorithm.createPathCounter?.(swarm.options) as PathCounter<unknown> | undefined;
    // Path crashes learn who walked their path from the path counter, wrapped only in runs that have one.
    const crashPaths = [...new Set(faults.flatMap((fault) => (fault.type === "path-crash" ? [fault.path] : [])))];
    const pathWalks = pathCounter !== undefined && crashPaths.length > 0 ? new PathWalks(pathCounter, crashPaths) : undefined;
    this.pathCounter = pathWalks ?? pathCounter;

    this.byzantineNodes = [...liars];
    for (const node of this.byzantineNodes) {
      if (!replicaIds.includes(node)) throw new ConfigError("byzantineNodes", `node ${node} is not a replica (replicas are ${replicaIds.join(", ")})`);
    }
    const strategyDefinition = this.byzantineNodes.length > 0 ? findByzantineStrategy(this.algorithm, options.byzantineStrategy ?? drawnByzantine?.strategy) : undefined;
    this.byzantineStrategy = strategyDefinition?.name;

    const faultEnds = this.scenario.faults.map(faultEndMs);
    const healMs = scenario.healAtMs > 0 ? scenario.healAtMs : Math.max(0, ...faultEnds);
    // healAtMs promises that every fault is lifted by then: a fault that starts later would break it.
    this.scenario.faults.forEach((fault, index) => {
      if (fault.type === "crash" && fault.atCampaign === true && fault.timing !== "at-once") {
        throw new ConfigError(`scenario.faults.${index}.timing`, `a crash with atCampaign strikes at once, in the instant the campaign begins (got "${fault.timing}")`);
      }
      if (fault.type === "path-crash" && (pathCounter === undefined || !(this.algorithm.hardPaths ?? []).some((path) => path.name === fault.path))) {
        const paths = (this.algorithm.hardPaths ?? []).map((path) => path.name);
        throw new ConfigError(`scenario.faults.${index}.path`, `must name one of ${this.algorithm.name}'s hard paths (${paths.length > 0 ? paths.join(", ") : "it counts none"}) (got "${fault.path}")`);
      }
      if (!scenario.chaos && scenario.healAtMs > 0 && fault.atMs > scenario.healAtMs) {
        throw new ConfigError(`scenario.faults.${index}.atMs`, `must not be after healAtMs (${scenario.healAtMs}) (got ${fault.atMs})`);
      }
    });
    checkLastingCrashes(this.scenario.faults, this.byzantineNodes.length, tolerated);
    this.warmupUs = msToUs(scenario.warmupMs);
    this.healUs = healMs > 0 ? this.warmupUs + msToUs(healMs) : 0;

    this.recorder = options.recordMessages !== undefined ? new MessageRecorder(options.recordMessages) : undefined;
    const wire = (this.wire = new Wire(this.context, this.algorithm.codec, network, this.metrics, options.encode ?? true, this.warmupUs, this.recorder));
    const byzantineNodes = this.byzantineNodes;
    this.cluster = new Cluster(
      this.context,
      {
        algorithm: this.algorithm,
        protocolOptions: this.protocolOptions,
        replicaIds,
        spareIds,
        monitors: this.monitors,
        pathCounter: this.pathCounter,
        oracle: this.oracle,
        syncUs,
        nodeParts: (id) => ({
          rng: createRng(deriveSeed(root, `replica:${id}`)),
          crypto: new NodeCrypto(id, keyRing),
          strategy: byzantineNodes.includes(id) ? strategyDefinition?.create(id) : undefined,
        }),
      },
      this.metrics,
      wire,
    );
    const firstSequence = workload.firstSequence;
    const clientIds = Array.from({ length: workload.clients }, (_, index) => firstClientId + index);
    // A faulty client (issue 21), for an algorithm that can build one; from a stream of its own.
    const createByzantineClient = this.algorithm.createByzantineClient?.bind(this.algorithm);
    const drawnClient =
      scenario.chaos && createByzantineClient !== undefined ? drawChaosByzantineClient(createRng(deriveSeed(root, "chaos-byzantine-client")), workload.clients, this.algorithm.chaosFaults) : undefined;
    const byzantineClient = drawnClient !== undefined ? { id: clientIds[drawnClient.index] as NodeId, strategy: drawnClient.strategy } : undefined;
    this.byzantineClient = byzantineClient;
    this.clients = new ClientDriver(
      this.context,
      {
        /** Each client incarnation draws from its own stream (a fresh session). */
        createClient: (id, incarnation) => {
          const clientContext = {
            id,
            // Clients know the spares too: a membership change can move the leader onto one.
            replicas: allReplicaIds,
            rng: createRng(deriveSeed(root, incarnation === 0 ? `client:${id}` : `client:${id}:incarnation:${incarnation}`)),
            crypto: new NodeCrypto(id, keyRing),
            options: this.protocolOptions,
            ...(firstSequence !== undefined ? { firstSequence } : {}),
          };
          // A restarted faulty client stays faulty.
          if (byzantineClient !== undefined && createByzantineClient !== undefined && id === byzantineClient.id) return createByzantineClient(clientContext, byzantineClient.strategy);
          return this.algorithm.createClient(clientContext);
        },
        clientIds,
        ...(byzantineClient !== undefined ? { byzantineClient: byzantineClient.id } : {}),
        generator,
        arrivalRng,
        warmupUs: this.warmupUs,
        healUs: this.healUs,
        readLevel: this.readLevel(),
        servedReadLevel: (level) => this.servedReadLevel(level),
      },
      wire,
    );
    // Chaos keeps within the algorithm's own crash assumptions (VR's memory mode: at most f without memory at once).
    const crashAllowed = this.algorithm.crashAllowed;
    const cluster = this.cluster;
    const protocolOptions = this.protocolOptions;
    const allowed =
      scenario.chaos && crashAllowed !== undefined
        ? (target: NodeId, down: ReadonlySet<NodeId>): boolean =>
            crashAllowed.call(this.algorithm, protocolOptions, target, new Map([...cluster.all()].map((node) => [node.id, down.has(node.id) ? undefined : node.host?.replica])))
        : undefined;
    this.crashes = new CrashSchedule(this.context, this.cluster, faultRng, syncUs, allowed);
    this.cluster.moments = this.crashes;
    const operations = new ClusterOperations(this.context, this.cluster, this.algorithm, faultRng);
    this.faults = new FaultSchedule(this.context, this.cluster, this.crashes, operations, this.clients, network, faultRng, wire);
    if (pathWalks !== undefined) pathWalks.listener = (path, id) => this.faults.pathWalked(path, id);
  }

  /** run executes the simulation to its end and returns what it measured. */
  run(): SimulationResult {
    this.start();
    const context = this.context;
    const events = context.queue;
    const stopUs = msToUs(this.scenario.virtualMsMax);
    // A monitor that judges a property only once the run has healed (convergence) may keep the run going past its workload.
    while (!this.clients.finished || this.monitors.some((monitor) => monitor.awaiting?.(context.nowUs) === true)) {
      const event = events.pop();
      if (event === undefined) break;
      const timeUs = events.poppedTimeUs;
      if (timeUs > stopUs) {
        const awaited = this.monitors.filter((monitor) => monitor.awaiting?.(context.nowUs) === true).map((monitor) => monitor.name);
        context.violation(
          "liveness",
          this.clients.finished
            ? `the run reached its limit of ${this.scenario.virtualMsMax} ms of virtual time while ${awaited.join(", ")} still awaited its property`
            : `the run reached its limit of ${this.scenario.virtualMsMax} ms of virtual time before finishing its workload`,
        );
        break;
      }
      context.nowUs = timeUs;
      this.oracle.timeUs = timeUs;
      this.cluster.activeNode = undefined;
      try {
        this.dispatch(event);
      } catch (error) {
        this.cluster.stopThrowingReplica(error);
      }
    }
    return this.result();
  }

  private start(): void {
    const queue = this.context.queue;
    const tickJitterUs = Math.max(1, this.tickUs);
    // Each node's clock starts at a drawn offset within the first tick, so that nodes do not tick in lockstep.
    const startRng = createRng(deriveSeed(this.options.seed, "start"));
    for (const id of this.cluster.allReplicaIds) {
      const node = this.cluster.node(id);
      this.cluster.boot(node);
      queue.push(startRng.nextInt(tickJitterUs), node.tickEvent);
    }
    for (const tickEvent of this.clients.tickEvents()) queue.push(startRng.nextInt(tickJitterUs), tickEvent);
    this.scenario.faults.forEach((fault, index) => {
      queue.push(this.warmupUs + msToUs(fault.atMs), { kind: "fault", index });
    });
    if (this.healUs > 0) queue.push(this.healUs, { kind: "heal-all" });
    else this.observeHealed();
    queue.push(watchdogPeriodUs, { kind: "watchdog" });
    this.clients.startWorkload();
  }

  private dispatch(event: SimEvent): void {
    const nowUs = this.context.nowUs;
    switch (event.kind) {
      case "deliver":
        // A traced copy is received when a live process takes it: a replica that is down loses it.
        if (event.arrival !== undefined) event.arrival.received = this.clients.isClient(event.to) || this.cluster.node(event.to).host !== undefined;
        if (this.clients.isClient(event.to)) this.clients.deliver(event.to, event);
        else this.cluster.deliver(event.to, event);
        return;
      case "tick":
        this.context.queue.push(nowUs + this.tickUs, event);
        if (this.clients.isClient(event.node)) this.clients.tick(event.node);
        else this.cluster.tick(event.node);
        return;
      case "sync-done":
        this.cluster.syncDone(event.node, event.incarnation);
        return;
      case "drain":
        this.cluster.drainEvent(event.node, event.incarnation);
        return;
      case "cpu-free":
        this.cluster.cpuFree(event.node);
        return;
      case "byzantine-send":
        this.wire.transmit(event.from, event.to, event.message, nowUs);
        return;
      case "fault":
        this.faults.fire(event.index);
        return;
      case "fault-end":
        this.faults.end(event.record);
        return;
      case "next-leader-cut":
        this.faults.strikeNextLeaderCut(event.cut, event.node, event.epoch);
        return;
      case "race-step":
        event.step();
        return;
      case "timed-crash":
        this.crashes.strikeInWindow(event.crash, event.node, event.incarnation);
        return;
      case "timed-crash-deadline":
        this.crashes.strikeAtDeadline(event.crash);
        return;
      case "client-next":
        this.clients.clientNext(event.client);
        return;
      case "arrival":
        this.clients.arrival();
        return;
      case "heal-all":
        this.faults.healAll();
        this.observeHealed();
        this.clients.afterHeal();
        return;
      case "watchdog":
        this.clients.watchdog();
        return;
      default:
        unreachable(event);
    }
  }

  /** observeHealed tells the monitors that every fault is lifted now (at the start, for a run without faults). */
  private observeHealed(): void {
    for (const monitor of this.monitors) monitor.observeHealed?.({ timeUs: this.context.nowUs, faulty: false });
  }

  // ----- results --------------------------------------------------------

  /** readLevel is the level the workload's reads ask for. */
  private readLevel(): ReadLevel {
    return this.options.readLevel ?? "linearizable";
  }

  /**
   * servedReadLevel is the level the algorithm, with this run's options, serves a read asked at `level`. The
   * answer depends on nothing else, and the clients ask for every read: it is worked out once per level (Raft's
   * parses its options each time, 3% of a steady run, issue 18).
   */
  private servedReadLevel(level: ReadLevel): ReadLevel {
    let served = this.servedLevels.get(level);
    if (served === undefined) {
      served = this.algorithm.servedReadLevel?.(level, this.protocolOptions) ?? "linearizable";
      this.servedLevels.set(level, served);
    }
    return served;
  }

  private result(): SimulationResult {
    const clients = this.clients;
    const ops = operationCounts(clients.workloadOperations(), clients.workloadInvoked);
    const finalReads = clients.finalReadCounts();
    const workloadUs = clients.lastWorkloadCompleteUs - Math.max(0, clients.firstInvokeUs);
    const violations = sortedViolations(this.context.violations, this.oracle.violations(), ...this.monitors.map((monitor) => monitor.violations()));
    return {
      algo: this.algorithm.name,
      kvSemantics: this.algorithm.kvSemantics ?? "kv",
      promisesLinearizability: (this.algorithm.promisesLinearizability?.(this.protocolOptions) ?? true) && this.servedReadLevel(this.readLevel()) !== "stale",
      readLevel: this.readLevel(),
      readLevelServed: this.servedReadLevel(this.readLevel()),
      nodes: this.options.nodes,
      scenario: this.scenario.name,
      seed: this.options.seed,
      ops,
      finalReads,
      virtualSeconds: seconds(this.context.nowUs),
      throughputOpsPerSec: throughputOpsPerSec(clients.latenciesUs.length, workloadUs),
      latencyMs: summarize(clients.latenciesUs),
      ...trafficFigures(this.metrics, ops.completed + finalReads.completed, this.warmupUs),
      leaderChanges: this.metrics.leaderChanges(),
      invariantViolations: violations,
      history: clients.history,
      byzantineNodes: this.byzantineNodes,
      byzantineStrategy: this.byzantineStrategy,
      byzantineClient: this.byzantineClient,
      healedAtSeconds: seconds(this.healUs),
      faultLog: this.context.faultLog,
      faults: this.context.faultWindows,
      abandonedOperations: clients.abandoned,
      crashes: this.metrics.crashes(),
      ineffectiveFaults: [...this.context.ineffective, ...this.crashes.waiting()],
      scenarioDefinition: this.scenario,
      protocolOptions: this.protocolOptions,
      drawnOptions: this.drawnOptions,
      paths: this.pathCounts(),
      ...(this.recorder !== undefined ? { messageTrace: this.recorder.trace } : {}),
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

/** runSimulation runs one simulation to completion. */
export function runSimulation(options: SimulationOptions): SimulationResult {
  // A scenario with a script runs its named steps instead of the timed event loop (scripted-run.ts).
  if (typeof options.scenario === "object" && options.scenario.script !== undefined) {
    const scenario = resolveScenario(options.scenario);
    if (scenario.script !== undefined) return runScriptedSimulation(options, scenario, scenario.script);
  }
  return new Simulation(options).run();
}
