import { createHash } from "node:crypto";
import {
  type AnyAlgorithm,
  type ByzantineStrategy,
  type ByzantineStrategyDefinition,
  type Client,
  ConfigError,
  type HistoryOperation,
  type InvariantMonitor,
  type MessageCodec,
  type NodeId,
  type PathCounter,
  type ProtocolOptions,
  type ReadLevel,
  type ReplicaStatus,
  type Rng,
  createRng,
  deriveSeed,
  firstClientId,
} from "@concord/core";
import { type KvCommand, type KvResult, encodeCommand, isReadOnly } from "@concord/kv";
import { AppliedLogOracle } from "./applied-log.ts";
import { findByzantineStrategy } from "./byzantine.ts";
import { decodeClientResult } from "./clients.ts";
import { Cluster, type ReadyMoments, type ReplicaNode } from "./cluster.ts";
import { SimContext, type FaultWindow, usPerMs } from "./context.ts";
import { noCpu } from "./cpu-calibration.ts";
import { Network } from "./links.ts";
import { MessageRecorder, type MessageArrival } from "./message-trace.ts";
import { Metrics, operationCounts, seconds, sortedViolations, summarize, trafficFigures } from "./metrics.ts";
import type { SimulationOptions, SimulationResult } from "./result.ts";
import { type Scenario, linkSchema } from "./scenario.ts";
import type { Script, ScriptCommand, ScriptCrash, ScriptStep } from "./script.ts";
import { KeyRing, NodeCrypto } from "./sim-crypto.ts";
import { Wire } from "./wire.ts";

/** stepUs is the virtual time between two steps' starts: a step's syncs (a microsecond each) fit within it, so a diagram shows one step per millisecond. */
const stepUs = 1000;

/** syncUs is the disk's sync latency in a scripted run: long enough that a crash point sees the write unsynced, short enough to fit in a step. */
const syncUs = 1;

/** HeldMessage is a message a scripted run keeps on the network until a step names it. */
interface HeldMessage {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly type: string;
  readonly bytes: Uint8Array;
  /** trace is its record in the run's message trace (shared by a duplicate's copy: a second arrival of one message). */
  readonly trace: { readonly arrivals: MessageArrival[]; dropped?: "loss" } | undefined;
}

/**
 * HoldingWire is the wire of a scripted run: it counts and encodes every
 * message as the simulator's wire does, and holds it, in the order sent,
 * until a step delivers, drops or copies it. No latency, loss or partition is
 * drawn: the script is the network.
 */
class HoldingWire extends Wire {
  readonly held: HeldMessage[] = [];

  constructor(
    private readonly runContext: SimContext,
    private readonly messageCodec: MessageCodec<unknown>,
    private readonly counts: Metrics,
    private readonly traceRecorder: MessageRecorder | undefined,
  ) {
    super(runContext, messageCodec, new Network(linkSchema.parse({}), createRng(0)), counts, true, 0, traceRecorder);
  }

  override transmit(from: NodeId, to: NodeId, message: unknown): void {
    const type = this.messageCodec.typeName(message);
    const bytes = this.messageCodec.encode(message);
    this.counts.countMessage(true, type);
    this.counts.countBytes(true, bytes.length);
    const nowUs = this.runContext.nowUs;
    let trace: HeldMessage["trace"];
    if (this.traceRecorder?.wants(nowUs) === true) {
      trace = { arrivals: [] };
      this.traceRecorder.record(Object.assign(trace, { sentMs: nowUs / usPerMs, from, to, type, bytes: bytes.length }));
    }
    this.held.push({ from, to, type, bytes, trace });
  }
}

/**
 * ScriptCrashPoint arms a crash inside one step (see ScriptCrash): the
 * cluster's hook into the Ready contract calls it at each unsynced write and
 * after each sync.
 */
class ScriptCrashPoint implements ReadyMoments {
  private pending: { readonly node: NodeId; readonly crash: ScriptCrash; writes: number; afterSync: boolean; struck: boolean } | undefined;

  constructor(private readonly strike: (node: NodeId, keep: number) => void) {}

  arm(node: NodeId, crash: ScriptCrash | undefined): void {
    this.pending = crash === undefined ? undefined : { node, crash, writes: 0, afterSync: false, struck: false };
  }

  /** disarm ends the step's crash point, and says how many writes the node made if it was never reached. */
  disarm(): { readonly missed: boolean; readonly writes: number } {
    const pending = this.pending;
    this.pending = undefined;
    return { missed: pending !== undefined && !pending.struck, writes: pending?.writes ?? 0 };
  }

  armed(): boolean {
    return this.pending !== undefined && !this.pending.struck;
  }

  noteUnsynced(node: ReplicaNode): void {
    const pending = this.pending;
    if (pending === undefined || pending.struck || node.id !== pending.node) return;
    const index = pending.writes++;
    if (index !== pending.crash.write) return;
    if (pending.crash.keep === "after-sync") {
      pending.afterSync = true;
      return;
    }
    pending.struck = true;
    this.strike(node.id, pending.crash.keep);
  }

  strikeAfterSync(node: ReplicaNode): boolean {
    const pending = this.pending;
    if (pending === undefined || !pending.afterSync || pending.struck || node.id !== pending.node) return false;
    pending.struck = true;
    this.strike(node.id, 0);
    return true;
  }

  strikeWhileSending(): boolean {
    return false;
  }

  noteStepped(): void {}

  strikeAfterAnswering(): boolean {
    return false;
  }

  strikeAfterCommit(): boolean {
    return false;
  }
}

/**
 * incarnationStreams is a replica's root random stream whose incarnation
 * forks are the model checker's streams (`replica:<id>:<incarnation>` of the
 * seed), so that a scripted replica draws what the model's did.
 */
function incarnationStreams(seed: number, id: NodeId): Rng {
  const root = createRng(deriveSeed(seed, `replica:${id}`));
  return {
    nextUint32: () => root.nextUint32(),
    nextInt: (bound) => root.nextInt(bound),
    nextIntBetween: (low, high) => root.nextIntBetween(low, high),
    chance: (numerator, denominator) => root.chance(numerator, denominator),
    fork: (label) => {
      const incarnation = /^incarnation:(\d+)$/.exec(label)?.[1];
      return incarnation === undefined ? root.fork(label) : createRng(deriveSeed(seed, `replica:${id}:${incarnation}`));
    },
  };
}

/** ScriptClient is one client of a scripted run: the protocol's client object, its commands, and its operation in progress. */
interface ScriptClient {
  client: Client<unknown>;
  readonly commands: readonly KvCommand[];
  next: number;
  /** pending is the history index of its outstanding operation, or -1. */
  pending: number;
  /** incarnation counts its restarts: each draws a fresh stream, a new session. */
  incarnation: number;
}

type MutableOperation = { -readonly [K in keyof HistoryOperation<KvCommand, KvResult>]: HistoryOperation<KvCommand, KvResult>[K] };

/**
 * scriptedRunRefuses names the run options a scripted run cannot honour, each
 * with why: the script fixes its workload, the level of its reads, its
 * liars and the bytes of its messages, and its time only orders the steps.
 * The run refuses them rather than ignore them (a `--ops 50` that ran the
 * script's two operations would say nothing); `concord sim` names the flag.
 */
const scriptedRunRefuses = {
  ops: "the script's clients invoke exactly the commands it lists",
  clients: "the script lists its clients and each one's commands",
  cpu: "a scripted run charges no CPU: its virtual time only orders the steps, one to the millisecond",
  readLevel: "the script's readLevel is the level of every read, the one its messages were recorded at",
  encode: "a scripted run encodes every message, to name each by the hash of its bytes",
  byzantineNodes: "a scripted run's replicas are the script's, liars included",
  byzantineStrategy: "a scripted run's replicas are the script's, liars included",
} as const satisfies Partial<Record<keyof SimulationOptions, string>>;

/** ScriptedRunRefusal is a run option a scripted run refuses, and why. */
export interface ScriptedRunRefusal {
  readonly option: keyof typeof scriptedRunRefuses;
  readonly why: string;
}

/**
 * scriptedRunRefusal finds the first option of `options` that a run of
 * `script` would have to ignore (see scriptedRunRefuses): one given at all,
 * or, for `encode` and `readLevel`, one that differs from what the script
 * does (encoding, at the script's read level).
 */
export function scriptedRunRefusal(options: Partial<SimulationOptions>, script: Pick<Script, "readLevel">): ScriptedRunRefusal | undefined {
  for (const [option, why] of Object.entries(scriptedRunRefuses) as [keyof typeof scriptedRunRefuses, string][]) {
    const value = options[option];
    const honoured = value === undefined || (option === "encode" && value === true) || (option === "readLevel" && value === script.readLevel);
    if (!honoured) return { option, why };
  }
  return undefined;
}

/**
 * runScriptedSimulation runs a scenario's script (script.ts): the
 * simulator's cluster (its replica hosts, disks, monitors, applied-log
 * oracle and recovered-epoch checks) driven one named step at a time, with
 * every message held until a step names it and each replica's clock moved
 * only by its own timeout step. A step that names what is not there (a
 * message not in flight, a replica down, a timeout that never acts) is a
 * ConfigError naming the step. The result is a SimulationResult like any
 * run's, so that `concord sim` judges it (monitors, linearizability) and
 * draws it (`--diagram`) as it does every run.
 */
export function runScriptedSimulation(options: SimulationOptions, scenario: Scenario, script: Script): SimulationResult {
  return new ScriptedRun(options, scenario, script).run();
}

class ScriptedRun {
  private readonly algorithm: AnyAlgorithm;
  private readonly context: SimContext;
  private readonly metrics = new Metrics();
  private readonly oracle = new AppliedLogOracle();
  private readonly monitors: InvariantMonitor<unknown>[];
  private readonly pathCounter: PathCounter<unknown> | undefined;
  private readonly wire: HoldingWire;
  private readonly cluster: Cluster;
  private readonly crashPoint: ScriptCrashPoint;
  private readonly clients: ScriptClient[];
  private readonly history: MutableOperation[] = [];
  private readonly protocolOptions: ProtocolOptions;
  private readonly recorder: MessageRecorder | undefined;
  private readonly crashWindows = new Map<NodeId, FaultWindow>();
  /** cut is the standing partition's side and its fault window, while one stands. */
  private cut: { readonly side: readonly NodeId[]; readonly window: FaultWindow } | undefined;
  private readonly latenciesUs: number[] = [];
  private readonly keyRing: KeyRing;
  /** stepIndex is the step running now, for errors that name it. */
  private stepIndex = 0;

  constructor(
    private readonly options: SimulationOptions,
    private readonly scenario: Scenario,
    private readonly script: Script,
  ) {
    this.algorithm = options.algorithm;
    if (scenario.chaos) throw new ConfigError("scenario.chaos", "a scripted scenario takes every fault from its steps: chaos must be false");
    if (scenario.faults.length > 0) throw new ConfigError("scenario.faults", `a scripted scenario takes every fault from its steps: faults must be empty (got ${scenario.faults.length})`);
    if (options.nodes !== script.nodes) throw new ConfigError("scenario.script.nodes", `the script is written for ${script.nodes} replicas: run it on ${script.nodes} (got ${options.nodes})`);
    if (options.seed !== script.seed) throw new ConfigError("scenario.script.seed", `the script's random streams and keys derive from seed ${script.seed}: run it with that seed (got ${options.seed})`);
    const refused = scriptedRunRefusal(options, script);
    if (refused !== undefined) throw new ConfigError(refused.option, `a scripted run cannot honour this option: ${refused.why}`);
    if (scenario.byzantine !== 0) throw new ConfigError("scenario.byzantine", "a scripted run's liars are the script's own (script.byzantine): the scenario's count must be 0");
    const sizeError = this.algorithm.clusterSizeError(options.nodes);
    if (sizeError !== undefined) throw new ConfigError("nodes", sizeError);
    this.protocolOptions = { ...script.protocolOptions, ...(options.protocolOptions ?? {}) };
    // A free CPU and a one-microsecond disk: time in a scripted run only orders its events, one step to the millisecond.
    this.context = new SimContext({ ...scenario, cpu: { ...noCpu }, disk: { ...scenario.disk, syncMs: syncUs / usPerMs } });
    this.recorder = options.recordMessages !== undefined ? new MessageRecorder(options.recordMessages) : undefined;
    this.wire = new HoldingWire(this.context, this.algorithm.codec, this.metrics, this.recorder);
    this.monitors = this.algorithm.createMonitors() as InvariantMonitor<unknown>[];
    this.pathCounter = this.algorithm.createPathCounter?.(this.protocolOptions) as PathCounter<unknown> | undefined;
    const keyRing = new KeyRing(script.seed);
    const replicaIds = Array.from({ length: script.nodes }, (_, id) => id);
    const spareIds = Array.from({ length: script.spares }, (_, index) => script.nodes + index);
    const liars = this.liars(script);
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
        // A liar's strategy draws from the stream the model checker gives it (world.ts), apart from the replica's own.
        nodeParts: (id) => ({
          rng: incarnationStreams(script.seed, id),
          crypto: new NodeCrypto(id, keyRing),
          strategy: liars !== undefined && !liars.midPath && liars.nodes.includes(id) ? (liars.definition.create(id) as ByzantineStrategy<unknown>) : undefined,
          strategyRng: createRng(deriveSeed(script.seed, `byzantine:${id}`)),
        }),
      },
      this.metrics,
      this.wire,
    );
    this.crashPoint = new ScriptCrashPoint((node, keep) => this.crash(node, keep));
    this.cluster.moments = this.crashPoint;
    this.keyRing = keyRing;
    this.clients = script.clients.map((commands, index) => ({ client: this.newClient(firstClientId + index, 0), commands: commands.map(commandOf), next: 0, pending: -1, incarnation: 0 }));
  }

  /** liars reads the script's Byzantine replicas: ids of the run, and a strategy the algorithm plays. */
  private liars(script: Script): { readonly nodes: readonly NodeId[]; readonly definition: ByzantineStrategyDefinition<unknown>; readonly midPath: boolean } | undefined {
    if (script.byzantine === undefined) return undefined;
    const total = script.nodes + script.spares;
    const outside = script.byzantine.nodes.find((id) => id >= total);
    if (outside !== undefined) throw new ConfigError("scenario.script.byzantine.nodes", `there is no replica ${outside} (replicas are 0 to ${total - 1})`);
    try {
      return { nodes: script.byzantine.nodes, definition: findByzantineStrategy(this.algorithm, script.byzantine.strategy), midPath: script.byzantine.midPath };
    } catch (error) {
      if (error instanceof ConfigError) throw new ConfigError("scenario.script.byzantine.strategy", error.message.replace(/^byzantineStrategy: /, ""));
      throw error;
    }
  }

  run(): SimulationResult {
    for (const id of this.cluster.allReplicaIds) this.guard(() => this.cluster.boot(this.cluster.node(id)));
    this.settle();
    this.script.steps.forEach((step, index) => {
      this.stepIndex = index;
      this.context.nowUs = Math.max(this.context.nowUs, (index + 1) * stepUs);
      this.runStep(step);
    });
    this.context.closeAllFaults(() => false);
    return this.result();
  }

  // ----- steps --------------------------------------------------------------

  private runStep(step: ScriptStep): void {
    switch (step.step) {
      case "deliver": {
        const held = this.take(step);
        if (this.cut !== undefined && this.cut.side.includes(held.from) !== this.cut.side.includes(held.to)) this.fail(`the ${held.type} ${name(held.from)}→${name(held.to)} crosses the standing partition`);
        if (held.trace !== undefined) held.trace.arrivals.push({ atMs: this.context.nowUs / usPerMs, received: held.to >= firstClientId || this.cluster.node(held.to).host !== undefined });
        const message = this.algorithm.codec.decode(held.bytes);
        if (held.to >= firstClientId) {
          const client = this.client(held.to);
          client.client.step(held.from, message);
          this.drainClient(client);
          return;
        }
        this.withCrashPoint(held.to, step.crash, () => this.cluster.deliver(held.to, { from: held.from, message, bytes: held.bytes.length }));
        return;
      }
      case "drop": {
        const held = this.take(step);
        if (held.trace !== undefined) held.trace.dropped = "loss";
        this.context.logFault("dropped", [], `${held.type} ${name(held.from)}→${name(held.to)}`);
        return;
      }
      case "duplicate": {
        const held = this.find(step).message;
        this.wire.held.push(held);
        this.context.logFault("duplicated", [], `${held.type} ${name(held.from)}→${name(held.to)}`);
        return;
      }
      case "timeout": {
        const id = nodeId(step.node);
        if (id >= firstClientId) {
          if (step.crash !== undefined) this.fail("a client has no disk to crash at");
          this.clientTimeout(this.client(id));
        } else {
          this.withCrashPoint(id, step.crash, () => this.replicaTimeout(id));
        }
        return;
      }
      case "invoke":
        this.invoke(this.client(nodeId(step.client)));
        return;
      case "crash":
        if (this.replica(step.node).host === undefined) this.fail(`replica ${step.node} is already down`);
        this.crash(step.node, 0);
        return;
      case "restart": {
        const node = this.replica(step.node);
        if (node.host !== undefined) this.fail(`replica ${step.node} is already up`);
        this.context.closeFault(this.crashWindows.get(step.node));
        this.context.logFault("restart", [step.node], "");
        this.withCrashPoint(step.node, step.crash, () => this.cluster.restart(step.node));
        return;
      }
      case "tick":
        this.tickAll();
        return;
      case "client-restart": {
        const client = this.client(nodeId(step.client));
        client.incarnation++;
        client.client = this.newClient(client.client.id, client.incarnation);
        // The operation stays in the history unanswered: it may have taken effect.
        client.pending = -1;
        this.context.logFault("client restart", [], name(client.client.id));
        return;
      }
      case "partition": {
        if (this.cut !== undefined) this.fail("a partition already stands: heal it first");
        const side = step.side.map(nodeId);
        const replicas = side.filter((id) => id < firstClientId);
        const window = this.context.openFault("partition", replicas, false, side.filter((id) => id >= firstClientId));
        this.cut = { side, window };
        this.context.logFault("partition", replicas, `${side.map(name).join(", ")} cut off from the rest until healed`);
        return;
      }
      case "turn-liar": {
        const liars = this.script.byzantine;
        const node = this.replica(step.node);
        if (liars === undefined || !liars.midPath || !liars.nodes.includes(step.node)) this.fail(`replica ${step.node} is not one of the script's byzantine.nodes that turn liar mid-path`);
        if (node.strategy !== undefined) this.fail(`replica ${step.node} already lies`);
        this.cluster.turnLiar(step.node, findByzantineStrategy(this.algorithm, liars.strategy).create(step.node) as ByzantineStrategy<unknown>);
        this.context.logFault("turn liar", [step.node], liars.strategy);
        return;
      }
      case "heal":
        if (this.cut === undefined) this.fail("no partition stands to heal");
        this.context.closeFault(this.cut.window);
        this.context.logFault("heal", this.cut.side.filter((id) => id < firstClientId), "");
        this.cut = undefined;
        return;
      case "reconfigure":
      case "transfer": {
        const node = this.replica(step.node);
        const host = node.host;
        const admin = this.algorithm.admin;
        if (host === undefined) this.fail(`replica ${step.node} is down: it cannot be asked for a ${step.step}`);
        const outcome = step.step === "reconfigure" ? admin?.reconfigure?.(host.replica, step.changes, { joint: step.joint }) : admin?.transferLeadership?.(host.replica, step.target);
        if (outcome === undefined) this.fail(`${this.algorithm.name} has no ${step.step} hook`);
        if (!outcome.accepted) this.fail(`replica ${step.node} refused the ${step.step}`);
        this.context.logFault(step.step, [step.node], step.step === "reconfigure" ? step.changes.map((change) => `${change.type} ${change.node}`).join(" + ") : `to ${step.target}`);
        this.withCrashPoint(step.node, undefined, () => this.cluster.afterReplicaEvent(node, 0));
        return;
      }
    }
  }

  /** newClient builds client `id`'s object for its `incarnation`-th life, from the stream the model checker draws it from; it knows every replica, spares included. */
  private newClient(id: NodeId, incarnation: number): Client<unknown> {
    const stream = incarnation === 0 ? `client:${id}` : `client:${id}:incarnation:${incarnation}`;
    const replicas = [...this.cluster.allReplicaIds];
    return this.algorithm.createClient({ id, replicas, rng: createRng(deriveSeed(this.script.seed, stream)), crypto: new NodeCrypto(id, this.keyRing), options: this.protocolOptions });
  }

  /** withCrashPoint runs one step's work on replica `id`, crashing it where `crash` says, and lets the monitors see the replica after. */
  private withCrashPoint(id: NodeId, crash: ScriptCrash | undefined, work: () => void): void {
    this.crashPoint.arm(id, crash);
    this.guard(work);
    this.settle();
    const { missed, writes } = this.crashPoint.disarm();
    if (missed && crash !== undefined) this.fail(`the crash at write ${crash.write} was not reached: replica ${id} made ${writes} write(s) in this step`);
    this.observe(id);
  }

  private replicaTimeout(id: NodeId): void {
    const node = this.replica(id);
    if (node.host === undefined) this.fail(`replica ${id} is down: it has no clock to time out`);
    for (let tick = 0; tick < this.script.ticksPerTimeoutMax; tick++) {
      const host = node.host;
      if (host === undefined) return;
      const readies = host.counts.readies;
      const before = statusKey(host.status());
      this.cluster.tick(id);
      const after = node.host;
      // It acted: it began a Ready, or its status changed (read as the cluster last saw it: a Ready may be waiting for its sync).
      if (after === undefined || after.counts.readies > readies || (node.lastStatus !== undefined && statusKey(node.lastStatus) !== before)) return;
    }
    this.fail(`replica ${id} did not act within ${this.script.ticksPerTimeoutMax} ticks of its own clock`);
  }

  private clientTimeout(client: ScriptClient): void {
    if (!client.client.outstanding()) this.fail(`client ${name(client.client.id)} has nothing outstanding to time out`);
    for (let tick = 0; tick < this.script.ticksPerTimeoutMax; tick++) {
      client.client.tick();
      if (this.drainClient(client)) return;
    }
    this.fail(`client ${name(client.client.id)} did not act within ${this.script.ticksPerTimeoutMax} ticks`);
  }

  /** tickAll is time passing for every node together: each running replica, then each waiting client, ticks once a round, until a round in which one acts. */
  private tickAll(): void {
    const nodes = [...this.cluster.all()];
    const before = nodes.map((node) => (node.host === undefined ? "" : statusKey(node.host.status())));
    for (let tick = 0; tick < this.script.ticksPerTimeoutMax; tick++) {
      let acted = false;
      nodes.forEach((node, index) => {
        const host = node.host;
        if (host === undefined) return;
        const readies = host.counts.readies;
        this.guard(() => this.cluster.tick(node.id));
        this.settle();
        if (node.host === undefined || node.host.counts.readies > readies || (node.lastStatus !== undefined && statusKey(node.lastStatus) !== before[index])) acted = true;
      });
      for (const client of this.clients) {
        if (!client.client.outstanding()) continue;
        client.client.tick();
        if (this.drainClient(client)) acted = true;
      }
      if (acted) return;
    }
    this.fail(`no node acted within ${this.script.ticksPerTimeoutMax} ticks of the shared clock`);
  }

  private invoke(client: ScriptClient): void {
    const command = client.commands[client.next];
    if (client.pending >= 0) this.fail(`client ${name(client.client.id)} is still waiting for its operation`);
    if (command === undefined) this.fail(`client ${name(client.client.id)} has no command left (it has ${client.commands.length})`);
    client.next++;
    const readOnly = isReadOnly(command);
    const requested = this.script.readLevel;
    const submitted = client.client.submit(encodeCommand(command), requested === "linearizable" ? { readOnly } : { readOnly, readLevel: requested });
    if (submitted.kind !== "accepted") this.fail(`client ${name(client.client.id)} refused its command: ${JSON.stringify(submitted.rejection)}`);
    client.pending = this.history.length;
    const served = readOnly ? this.servedReadLevel() : "linearizable";
    this.history.push({
      id: this.history.length,
      clientId: client.client.id,
      input: command,
      invokeUs: this.context.nowUs,
      completeUs: undefined,
      status: "info",
      output: undefined,
      ...(served === "linearizable" ? {} : { readLevel: served }),
    });
    this.drainClient(client);
  }

  /** servedReadLevel is the level the algorithm, with the run's options, serves the script's reads at. */
  private servedReadLevel(): ReadLevel {
    const requested = this.script.readLevel;
    return requested === "linearizable" ? "linearizable" : (this.algorithm.servedReadLevel?.(requested, this.protocolOptions) ?? "linearizable");
  }

  /** drainClient sends what a client asks and records its completions; it tells whether the client had anything to do. */
  private drainClient(client: ScriptClient): boolean {
    let any = false;
    for (let ready = client.client.ready(); ready !== undefined; ready = client.client.ready()) {
      any = true;
      for (const { to, message } of ready.messages) this.wire.transmit(client.client.id, to, message);
      for (const completion of ready.completions) this.complete(client, completion.outcome);
      client.client.advance(ready);
    }
    return any;
  }

  private complete(client: ScriptClient, outcome: { readonly kind: "ok" | "failed" | "indeterminate"; readonly result?: Uint8Array }): void {
    const operation = this.history[client.pending];
    if (operation === undefined) return;
    client.pending = -1;
    if (outcome.kind === "indeterminate") return;
    operation.completeUs = this.context.nowUs;
    this.latenciesUs.push(operation.completeUs - operation.invokeUs);
    if (outcome.kind === "ok" && outcome.result !== undefined) {
      operation.status = "ok";
      operation.output = decodeClientResult(outcome.result);
    } else {
      operation.status = "fail";
    }
  }

  /** crash stops replica `id` keeping the first `keep` of its unsynced records; what was in flight to it is lost (its connections break). */
  private crash(id: NodeId, keep: number): void {
    const node = this.replica(id);
    node.storage.crashKeeping(keep);
    this.cluster.crash(id, true);
    this.crashWindows.set(id, this.context.openFault("crash", [id], false));
    this.context.logFault("crash", [id], keep > 0 ? `keeping ${keep} unsynced record(s)` : "");
    const held = this.wire.held;
    for (let index = held.length - 1; index >= 0; index--) {
      const message = held[index] as HeldMessage;
      if (message.to !== id) continue;
      if (message.trace !== undefined) message.trace.arrivals.push({ atMs: this.context.nowUs / usPerMs, received: false });
      held.splice(index, 1);
    }
  }

  // ----- the event loop of one step ----------------------------------------

  /** settle runs the events a step caused (drains, syncs) until none is left: nothing ticks in a scripted run, so the queue empties. */
  private settle(): void {
    const context = this.context;
    for (let event = context.queue.pop(); event !== undefined; event = context.queue.pop()) {
      context.nowUs = Math.max(context.nowUs, context.queue.poppedTimeUs);
      this.cluster.activeNode = undefined;
      this.guard(() => {
        switch (event.kind) {
          case "drain":
            this.cluster.drainEvent(event.node, event.incarnation);
            return;
          case "sync-done":
            this.cluster.syncDone(event.node, event.incarnation);
            return;
          case "cpu-free":
            this.cluster.cpuFree(event.node);
            return;
          case "byzantine-send":
            // A liar's delay: the script is the network, so the message is held like any other (the model ignores delays too).
            this.wire.transmit(event.from, event.to, event.message);
            return;
          default:
            throw new Error(`a scripted run queued a ${event.kind} event, which only a timed run has`);
        }
      });
    }
  }

  /** guard runs replica code: a replica that throws stops, as in every simulated run (a replica-stopped violation). */
  private guard(work: () => void): void {
    try {
      work();
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      this.cluster.stopThrowingReplica(error);
    }
  }

  /** observe lets the monitors see replica `id` as the step left it (the cluster shows them a replica after each of its events, before its Ready). */
  private observe(id: NodeId): void {
    const node = this.replica(id);
    if (node.host === undefined) return;
    this.guard(() => this.cluster.afterReplicaEvent(node, 0));
  }

  // ----- naming --------------------------------------------------------------

  private find(step: Extract<ScriptStep, { step: "deliver" | "drop" | "duplicate" }>): { readonly message: HeldMessage; readonly index: number } {
    const from = nodeId(step.from);
    const to = nodeId(step.to);
    const held = this.wire.held;
    let seen = 0;
    for (let index = 0; index < held.length; index++) {
      const message = held[index] as HeldMessage;
      if (message.from !== from || message.to !== to || message.type !== step.type) continue;
      if (seen++ < step.nth) continue;
      if (step.sha256 !== undefined && sha256(message.bytes) !== step.sha256) {
        this.fail(`the ${step.type} ${name(from)}→${name(to)} number ${step.nth} in flight is not the message the script names (its bytes differ): the run has left the script's path`);
      }
      return { message, index };
    }
    const inFlight = held.map((message) => `${message.type} ${name(message.from)}→${name(message.to)}`);
    return this.fail(`no ${step.type} ${name(from)}→${name(to)} number ${step.nth} is in flight (${seen} such; in flight: ${inFlight.length === 0 ? "nothing" : inFlight.join(", ")})`);
  }

  private take(step: Extract<ScriptStep, { step: "deliver" | "drop" | "duplicate" }>): HeldMessage {
    const { message, index } = this.find(step);
    this.wire.held.splice(index, 1);
    return message;
  }

  private replica(id: NodeId): ReplicaNode {
    if (!this.cluster.has(id)) this.fail(`there is no replica ${id} (replicas are 0 to ${this.script.nodes - 1})`);
    return this.cluster.node(id);
  }

  private client(id: NodeId): ScriptClient {
    const client = this.clients[id - firstClientId];
    if (client === undefined) this.fail(`there is no client ${name(id)} (the script has ${this.clients.length})`);
    return client;
  }

  /** fail stops the run on a step that does not fit it, naming the step. */
  private fail(message: string): never {
    throw new ConfigError(`scenario.script.steps.${this.stepIndex}`, message);
  }

  // ----- result --------------------------------------------------------------

  private result(): SimulationResult {
    const history = this.history.map((operation) => ({ ...operation }));
    const ops = operationCounts(history, history.length);
    const paths: Record<string, number> = {};
    const counts = this.pathCounter?.counts();
    for (const path of this.algorithm.hardPaths ?? []) paths[path.name] = counts?.get(path.name) ?? 0;
    return {
      algo: this.algorithm.name,
      kvSemantics: this.algorithm.kvSemantics ?? "kv",
      promisesLinearizability: (this.algorithm.promisesLinearizability?.(this.protocolOptions) ?? true) && this.servedReadLevel() !== "stale",
      readLevel: this.script.readLevel,
      readLevelServed: this.servedReadLevel(),
      nodes: this.options.nodes,
      scenario: this.scenario.name,
      seed: this.options.seed,
      ops,
      finalReads: { invoked: 0, completed: 0 },
      virtualSeconds: seconds(this.context.nowUs),
      throughputOpsPerSec: 0,
      latencyMs: summarize(this.latenciesUs),
      ...trafficFigures(this.metrics, ops.completed, 0),
      leaderChanges: this.metrics.leaderChanges(),
      invariantViolations: sortedViolations(this.context.violations, this.oracle.violations(), ...this.monitors.map((monitor) => monitor.violations())),
      history,
      byzantineNodes: [...(this.script.byzantine?.nodes ?? [])],
      byzantineStrategy: this.script.byzantine?.strategy,
      byzantineClient: undefined,
      healedAtSeconds: 0,
      faultLog: this.context.faultLog,
      faults: this.context.faultWindows,
      abandonedOperations: 0,
      crashes: this.metrics.crashes(),
      ineffectiveFaults: [],
      scenarioDefinition: this.context.scenario,
      protocolOptions: this.protocolOptions,
      drawnOptions: {},
      paths,
      ...(this.recorder !== undefined ? { messageTrace: this.recorder.trace } : {}),
    };
  }
}

/** nodeId reads a script's endpoint: a replica's number, or "c<i>" for client i. */
function nodeId(endpoint: number | string): NodeId {
  return typeof endpoint === "number" ? endpoint : firstClientId + Number(endpoint.slice(1));
}

/** name writes a node as a script does: a replica by its id, a client as c<index>. */
function name(id: NodeId): string {
  return id >= firstClientId ? `c${id - firstClientId}` : String(id);
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function statusKey(status: ReplicaStatus): string {
  return `${status.role}/${status.epoch}/${status.leader}/${status.commitIndex}/${status.appliedIndex}`;
}

/** commandOf turns a script's command (values as text) into the KV command a client submits. */
function commandOf(command: ScriptCommand): KvCommand {
  const encoder = new TextEncoder();
  switch (command.type) {
    case "get":
    case "delete":
      return command;
    case "put":
    case "append":
      return { type: command.type, key: command.key, value: encoder.encode(command.value) };
    case "cas":
      return { type: "cas", key: command.key, expected: command.expected === undefined ? undefined : encoder.encode(command.expected), value: encoder.encode(command.value) };
  }
}
