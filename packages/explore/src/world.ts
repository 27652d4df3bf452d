import {
  type AnyAlgorithm,
  type ByzantineContext,
  type ByzantineStrategy,
  type Client,
  type Crypto,
  type History,
  type HistoryOperation,
  type InvariantMonitor,
  type MembershipChange,
  type NodeId,
  type Outbound,
  type ProtocolOptions,
  type ReadLevel,
  type Ready,
  type ReplicaStatus,
  type Rng,
  MemoryStorage,
  ReplicaHost,
  createRng,
  deriveSeed,
  firstClientId,
} from "@concord/core";
import type { Verdict } from "@concord/check";
import { type KvCommand, type KvResult, KvStateMachine, decodeResult, encodeCommand, isReadOnly } from "@concord/kv";
import { findByzantineStrategy } from "@concord/sim";
import { cloneGraph } from "./clone.ts";
import { encodeCanonical, fingerprint } from "./fingerprint.ts";

/**
 * CrashPoint says where, inside one action, the node that action runs
 * crashes: at its `ready`-th Ready that writes something (0 = the first),
 * either before the sync, keeping the first `keep` of that Ready's records
 * (a torn record is one recovery drops, so "keep k" also stands for "k whole
 * records and a torn one"), or after the sync and before any of its
 * messages leave (`keep: "after-sync"`).
 *
 * Crashing inside the action loses no interleaving: while a node's Ready is
 * written and not synced, nothing reaches it (messages wait) and nothing
 * leaves it but the Ready's `messagesBeforeSync`, which the host sends at the
 * write, before the crash; whatever other nodes do meanwhile (answering
 * those included: answers to the crashed node are lost either way) commutes
 * with its crash.
 */
export interface CrashPoint {
  readonly ready: number;
  readonly keep: number | "after-sync";
}

/**
 * Action is one step of the model: what the checker may do next in a state.
 * Messages are named by `key`, their sender, receiver and exact bytes, so
 * two copies of one message are one action (delivering either leads to the
 * same state).
 */
export type Action =
  | { readonly kind: "deliver"; readonly key: string; readonly crash?: CrashPoint }
  | { readonly kind: "drop"; readonly key: string }
  | { readonly kind: "duplicate"; readonly key: string }
  | { readonly kind: "timeout"; readonly node: NodeId; readonly crash?: CrashPoint }
  | { readonly kind: "invoke"; readonly client: NodeId }
  | { readonly kind: "crash"; readonly node: NodeId }
  | { readonly kind: "restart"; readonly node: NodeId; readonly crash?: CrashPoint }
  /**
   * client-restart: client `client` loses its session state and starts
   * again under its old id (a fresh Client object with a new session, its
   * sequences from the start, as packages/sim/src/restarted-client.ts does):
   * its outstanding operation, if any, is given up (indeterminate), and the
   * new object goes on with the next operation of the workload. Messages in
   * flight to the old object reach the new one.
   */
  | { readonly kind: "client-restart"; readonly client: NodeId }
  /** reconfigure: an operator asks replica `node` (a leader) for one membership change through the algorithm's admin hook. */
  | { readonly kind: "reconfigure"; readonly node: NodeId; readonly changes: readonly MembershipChange[]; readonly joint: boolean }
  /** transfer: an operator asks replica `node` (a leader) to hand its leadership to `target`. */
  | { readonly kind: "transfer"; readonly node: NodeId; readonly target: NodeId }
  /**
   * partition: the network is cut between the nodes of `side` (replicas and clients, ids ascending) and all the
   * others, and the cut stands until a `heal`: a message across it stays in flight, undeliverable (it may still be
   * dropped or duplicated), and is deliverable again once healed (a partition that delivers what it held at its
   * heal). One cut at a time; the search bounds the cuts of a path (`partitionsMax`).
   */
  | { readonly kind: "partition"; readonly side: readonly NodeId[] }
  /** heal: the standing cut is healed. */
  | { readonly kind: "heal" }
  /** turn-liar: replica `node`, one of WorldSetup.byzantine's nodes with `midPath`, starts lying (see WorldSetup.byzantine). */
  | { readonly kind: "turn-liar"; readonly node: NodeId }
  /**
   * tick: time passes for every node together (one shared clock: each
   * running replica, and each client with a request outstanding, ticks once
   * per round) until a round in which one of them acts. The search never
   * takes it (there a node's clock moves only in its own timeout); the
   * bounded "eventually" check's fault-free continuation does (eventually.ts).
   */
  | { readonly kind: "tick" };

/** InFlight is one message on the network: the network is a multiset of them, in no order. */
export interface InFlight {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly key: string;
  readonly type: string;
  /** message is the decoded message, for reading; a delivery hands the node a fresh decoding of `bytes`, since worlds share what is in flight. */
  readonly message: unknown;
  readonly bytes: Uint8Array;
}

/** WorldSetup is everything fixed for one exploration: the algorithm, the cluster, the workload and the network's powers. */
export interface WorldSetup {
  readonly algorithm: AnyAlgorithm;
  readonly nodes: number;
  readonly options: ProtocolOptions;
  /** workload lists each client's commands, in the order it invokes them. */
  readonly workload: readonly (readonly KvCommand[])[];
  /** seed derives every replica's and client's random stream and keys. */
  readonly seed: number;
  /** crypto builds a node's cryptography (the same object for every incarnation of the node: it holds keys, not state). */
  readonly crypto: (id: NodeId) => Crypto;
  /**
   * ordered: the network keeps its messages in the order they were sent, and
   * a delivery of any message but the oldest counts as a reordering (the
   * search bounds them: delay bounding, as CHESS and Coyote bound
   * preemptions). When false the network is a multiset: every order is free
   * and two orders of one set of messages are one state.
   */
  readonly ordered: boolean;
  /** ticksPerTimeoutMax bounds the ticks one `timeout` action gives a node before deciding that nothing would happen. */
  readonly ticksPerTimeoutMax: number;
  /** checkHistory judges the clients' history (linearizability under the algorithm's model). */
  readonly checkHistory: (history: History<KvCommand, KvResult>) => Verdict;
  /**
   * promisesLinearizability is false for an algorithm that does not promise linearizable histories (an eventually
   * consistent store, see AlgorithmDefinition): its history is then no property to break, and is not checked.
   */
  readonly promisesLinearizability?: boolean;
  /**
   * spares are replicas booted outside the initial configuration (ids `nodes` to `nodes + spares - 1`), for a
   * membership change to add, as the simulator's spares are; 0 when absent. Clients know them too.
   */
  readonly spares?: number;
  /**
   * readLevel is the level every read of the workload asks for (`linearizable` when absent). The history records
   * the level the algorithm serves it at (AlgorithmDefinition.servedReadLevel), and the linearizability check leaves
   * out the reads served `stale`, which promise nothing about recency (the simulator does not check a run whose
   * reads are served stale at all; here the writes and the other reads are still checked).
   */
  readonly readLevel?: ReadLevel;
  /**
   * byzantine makes `nodes` liars from the start, each playing `strategy` (one of the algorithm's
   * byzantineStrategies or the simulator's generic ones, packages/sim/src/byzantine.ts) over its honest code, as
   * the simulator's faulty replicas do: the strategy sees every message the replica sends (and, if it has an
   * inbound hook, every one it receives) and its state is part of the node's. Monitors see a liar's events as
   * faulty; the clients' history is judged as always. A delay a strategy asks for is ignored: the network of the
   * model delivers in every order anyway.
   */
  readonly byzantine?: {
    readonly nodes: readonly NodeId[];
    readonly strategy: string;
    /**
     * midPath: the `nodes` start correct, and each may turn liar at any step of a path (the `turn-liar` action),
     * playing `strategy` from then on, its draws from the same stream as a liar from the start: a replica
     * compromised while the cluster runs, after it has taken part honestly.
     */
    readonly midPath?: boolean | undefined;
  };
  /**
   * symmetricStreams seeds every replica's random stream by its incarnation alone, not by its id
   * (`replica:any:<incarnation>` instead of `replica:<id>:<incarnation>`), so that two replicas that lived the same
   * life drew the same numbers: the model that symmetry reduction needs (symmetry.ts; docs/explore.md). A model of
   * its own: its timeouts draw other numbers than the simulator's replicas of the same seed.
   */
  readonly symmetricStreams?: boolean;
}

/**
 * modelledStrategies are the Byzantine strategies the model can play: those whose `create` keeps no state in a
 * closure (read in packages/pbft/src/byzantine.ts and packages/sim/src/byzantine.ts). A world's copy clones a
 * strategy object's fields but shares its functions, so a strategy that remembers what it saw in a closure (replay,
 * forge-requests, stale-reads, ...) would share that memory among every state and hide it from the fingerprint:
 * unsound, and refused. Their random draws come from the Liar's own stream, which is copied.
 */
export const modelledStrategies: readonly string[] = ["silent", "equivocate", "corrupt-digests", "corrupt-results", "corrupt-macs", "move-sessions", "omit-prepared", "forge-requests"];

/** Liar is a Byzantine replica's strategy and the random stream it draws from (both part of the node's state). */
interface Liar {
  readonly strategy: ByzantineStrategy<unknown>;
  readonly rng: Rng;
}

/** newLiar makes replica `id` a liar playing `definition`, drawing from its own stream of the seed (`byzantine:<id>`, as the scripted simulator run draws it). */
function newLiar(definition: { readonly create: (self: NodeId) => unknown }, id: NodeId, seed: number): Liar {
  return { strategy: definition.create(id) as ByzantineStrategy<unknown>, rng: createRng(deriveSeed(seed, `byzantine:${id}`)) };
}

/** Budget counts what a path has spent of the bounds that are per path. */
export interface Budget {
  crashes: number;
  /** reorderings counts deliveries of a message other than the oldest in flight (see WorldSetup.ordered). */
  reorderings: number;
  drops: number;
  duplicates: number;
  /** timeouts per node and client id. */
  timeouts: Map<NodeId, number>;
  /** clientRestarts, reconfigurations and transfers count the operator's and the clients' restarts on the path (each accepted one). */
  clientRestarts: number;
  reconfigurations: number;
  transfers: number;
  /** partitions counts the cuts made on the path (see the `partition` action). */
  partitions: number;
}

/** OperationRecord is one client operation of the history, its times the indices of its events. */
interface OperationRecord {
  readonly id: number;
  readonly clientId: NodeId;
  readonly input: KvCommand;
  readonly invokeAt: number;
  completeAt: number | undefined;
  status: "ok" | "fail" | "info";
  output: KvResult | undefined;
  /** readLevel is the level a read was served at; absent for writes and for linearizable reads. */
  readonly readLevel?: ReadLevel;
}

/**
 * Router takes what a replica host sends and hands it to the world that is
 * being stepped now. A host's send callback is a function, which cloneGraph
 * keeps by reference; routing through one shared object (re-pointed before
 * every action) is what lets a cloned host send into its own world.
 */
class Router {
  world: World | undefined = undefined;
  send(from: NodeId, messages: readonly Outbound<unknown>[]): void {
    this.world?.onReplicaSend(from, messages);
  }
}

/** SymmetryView is a state's parts, for symmetry.ts (see `World.symmetryView`). */
export interface SymmetryView {
  readonly replicas: readonly unknown[];
  readonly disks: readonly MemoryStorage[];
  readonly liars: boolean;
  readonly incarnations: readonly number[];
  readonly clients: readonly Client<unknown>[];
  readonly nextOp: readonly number[];
  readonly pendingOp: readonly number[];
  readonly workloadLengths: readonly number[];
  readonly network: readonly InFlight[];
  /** precedence computes the history as its real-time precedence (only a state with more than the identity needs it). */
  readonly precedence: () => unknown[];
  readonly budget: Readonly<Budget>;
  readonly clientIncarnations: readonly number[];
  readonly monitors: readonly InvariantMonitor<unknown>[];
  readonly opaque: ReadonlySet<object>;
  readonly monitorOpaque: () => ReadonlySet<object>;
}

/** ActionOutcome is what happened when an action ran. */
export interface ActionOutcome {
  /** effect is false when the action changed nothing (a timeout that would not fire within the tick bound). */
  readonly effect: boolean;
  /** durableReadies lists, for each Ready that wrote something during the action, its record count and whether it staged a snapshot. */
  readonly durableReadies: readonly { readonly records: number; readonly snapshot: boolean }[];
}


/**
 * World is one state of the model: every replica (behind its ReplicaHost,
 * with its disk), every client, the messages in flight, the clients' history,
 * the monitors and what the path has spent of its bounds. `fork()` copies it;
 * `apply()` runs one action on it.
 *
 * Between two actions no Ready is in flight: an action carries out every
 * Ready it causes, or crashes its node at a chosen Ready (see CrashPoint).
 */
export class World {
  readonly setup: WorldSetup;
  private readonly router: Router;
  private readonly opaque: ReadonlySet<object>;
  private hosts: (ReplicaHost<unknown> | undefined)[];
  private disks: MemoryStorage[];
  /** incarnations counts each node's restarts, so that a restarted node draws a fresh random stream. */
  private incarnations: number[];
  private clients: Client<unknown>[];
  /** nextOp is, per client, the index in its workload of the next command to invoke. */
  private nextOp: number[];
  /** pendingOp is, per client, the history index of its outstanding operation, or -1. */
  private pendingOp: number[];
  private network: InFlight[] = [];
  private operations: OperationRecord[] = [];
  private events = 0;
  private monitors: InvariantMonitor<unknown>[];
  private budget: Budget = { crashes: 0, reorderings: 0, drops: 0, duplicates: 0, timeouts: new Map(), clientRestarts: 0, reconfigurations: 0, transfers: 0, partitions: 0 };
  /** cut is the side of the standing partition (ids ascending), or undefined while the network is whole. */
  private cut: readonly NodeId[] | undefined = undefined;
  /** liars holds, per replica, its Byzantine strategy, or undefined for a correct replica (see WorldSetup.byzantine). */
  private liars: (Liar | undefined)[] = [];
  /** clientIncarnations counts each client's restarts, so that a restarted client draws a fresh random stream (a new session). */
  private clientIncarnations: number[] = [];
  /** steps counts the actions taken on the path to this state (the monitors' clock). */
  private steps = 0;
  /** failure is the first safety failure seen on the path: a monitor's violation, a non-linearizable history, a replica that threw. */
  private failure: { readonly property: string; readonly message: string } | undefined = undefined;
  /** nodeHashes caches each replica's fingerprint (replica and disk), dropped when an action touches the node. */
  private nodeHashes: (string | undefined)[] = [];
  /** clientHashes caches each client's fingerprint, dropped when an action touches the client. */
  private clientHashes: (string | undefined)[] = [];
  /** ownedNodes and ownedClients are the nodes and clients this world copied since its fork (see `fork`). */
  private ownedNodes = new Set<NodeId>();
  private ownedClients = new Set<number>();
  /** historyChanged is set when an operation completed during the last action, so the history needs judging. */
  private historyChanged = false;

  private constructor(setup: WorldSetup, router: Router, opaque: ReadonlySet<object>) {
    this.setup = setup;
    this.router = router;
    this.opaque = opaque;
    this.hosts = [];
    this.disks = [];
    this.incarnations = [];
    this.clients = [];
    this.nextOp = [];
    this.pendingOp = [];
    this.monitors = setup.algorithm.createMonitors();
  }

  /** initial builds the world in which every replica has just started and no client has invoked anything. */
  static initial(setup: WorldSetup): World {
    const router = new Router();
    const cryptos = new Map<NodeId, Crypto>();
    const crypto = (id: NodeId): Crypto => {
      let made = cryptos.get(id);
      if (made === undefined) {
        made = setup.crypto(id);
        cryptos.set(id, made);
      }
      return made;
    };
    const wrapped: WorldSetup = { ...setup, crypto };
    const total = setup.nodes + (setup.spares ?? 0);
    for (let id = 0; id < total; id++) crypto(id);
    for (let index = 0; index < setup.workload.length; index++) crypto(firstClientId + index);
    const opaque = new Set<object>([router, wrapped, setup, setup.algorithm, setup.options, setup.workload, ...cryptos.values()]);
    const world = new World(wrapped, router, opaque);
    router.world = world;
    // Clients know the spares too: a membership change can move the leader onto one.
    const replicas = Array.from({ length: total }, (_, id) => id);
    const liarDefinition = setup.byzantine === undefined || setup.byzantine.nodes.length === 0 ? undefined : findByzantineStrategy(setup.algorithm, setup.byzantine.strategy);
    // The names are PBFT's strategies (and the generic silent one): the simulator's generic strategy of the same name may keep state in a closure (its equivocate draws once whom it lies to).
    const own = liarDefinition !== undefined && (setup.algorithm.byzantineStrategies as readonly unknown[]).includes(liarDefinition);
    if (liarDefinition !== undefined && (!modelledStrategies.includes(liarDefinition.name) || (!own && liarDefinition.name !== "silent"))) {
      throw new Error(`explore: the Byzantine strategy "${liarDefinition.name}" of ${setup.algorithm.name} keeps state the model cannot copy; it plays ${modelledStrategies.join(", ")} where the algorithm has them as its own strategies, and silent everywhere`);
    }
    for (let created = 0; created < replicas.length; created++) {
      world.disks.push(new MemoryStorage());
      world.incarnations.push(0);
      world.hosts.push(undefined);
      const lies = liarDefinition !== undefined && setup.byzantine?.midPath !== true && (setup.byzantine?.nodes.includes(created) ?? false);
      world.liars.push(lies ? newLiar(liarDefinition, created, setup.seed) : undefined);
    }
    for (let index = 0; index < setup.workload.length; index++) {
      world.clients.push(world.newClient(index, 0));
      world.nextOp.push(0);
      world.pendingOp.push(-1);
      world.clientIncarnations.push(0);
    }
    // Not guarded: a replica that cannot even start (bad options) is the caller's error, not a state of the model.
    for (const id of replicas) world.boot(id, undefined);
    return world;
  }

  /**
   * fork copies the world; the copy and the original run on independently.
   * Copy-on-write: the copy shares every replica, disk and client with the
   * original until an action touches it (`own`, `ownClient`), so an action
   * pays for copying the one node it runs on, the monitors (which see every
   * node) and the small bookkeeping, not the whole cluster.
   */
  fork(): World {
    const copy = Object.create(World.prototype) as World;
    Object.assign(copy, this);
    copy.hosts = [...this.hosts];
    copy.disks = [...this.disks];
    copy.liars = [...this.liars];
    copy.incarnations = [...this.incarnations];
    copy.clients = [...this.clients];
    copy.nextOp = [...this.nextOp];
    copy.pendingOp = [...this.pendingOp];
    copy.clientIncarnations = [...this.clientIncarnations];
    copy.network = [...this.network];
    copy.operations = this.operations.map((operation) => ({ ...operation }));
    // A monitor that keeps a replica (to compare it with the others later) keeps the world's own replica object, not a copy of it.
    copy.monitors = cloneGraph(this.monitors, this.withReplicas());
    copy.budget = { ...this.budget, timeouts: new Map(this.budget.timeouts) };
    copy.nodeHashes = [...this.nodeHashes];
    copy.clientHashes = [...this.clientHashes];
    copy.ownedNodes = new Set();
    copy.ownedClients = new Set();
    return copy;
  }

  /** withReplicas is the opaque set plus every running replica object: what a monitor refers to, never copies or encodes. */
  private withReplicas(): ReadonlySet<object> {
    const set = new Set<object>(this.opaque);
    for (const host of this.hosts) if (host !== undefined) set.add(host.replica as object);
    return set;
  }

  /** own makes replica `id` (its host, replica and disk) this world's own copy before an action changes it. */
  private own(id: NodeId): void {
    this.nodeHashes[id] = undefined;
    if (this.ownedNodes.has(id)) return;
    this.ownedNodes.add(id);
    const [host, disk, liar] = cloneGraph([this.hosts[id], must(this.disks[id], `disk ${id}`), this.liars[id]] as const, this.opaque);
    this.hosts[id] = host;
    this.disks[id] = disk;
    this.liars[id] = liar;
  }

  /** ownClient makes client number `index` this world's own copy before an action changes it. */
  private ownClient(index: number): Client<unknown> {
    this.clientHashes[index] = undefined;
    if (!this.ownedClients.has(index)) {
      this.ownedClients.add(index);
      this.clients[index] = cloneGraph(must(this.clients[index], `client ${index}`), this.opaque);
    }
    return must(this.clients[index], `client ${index}`);
  }

  /**
   * key is the state's fingerprint: replicas, disks, clients, network (as a
   * multiset), history, monitors and spent bounds. `monitors` says how the
   * monitors' memory counts: `ordered` exactly (their Maps and Sets in
   * insertion order, like every other object), `unordered` with their Maps
   * and Sets as sets (the partial-order reduction's identity: two orders in
   * which monitors saw independent events are one state, reduction.ts says
   * why), `none` not at all (only for comparing two searches in tests).
   * Under `unordered` and `none` the history, too, is read as what
   * linearizability judges (see `precedenceOf`), not as its numbering.
   */
  key(monitors: "ordered" | "unordered" | "none" = "ordered"): string {
    const network = this.network.map((envelope) => envelope.key);
    if (!this.setup.ordered) network.sort();
    // Each node and client is hashed once per change, so that the state's own hash reads a few bytes per node.
    const nodes = this.disks.map((disk, id) => {
      let hash = this.nodeHashes[id];
      if (hash === undefined) {
        // The disk's durable content only: between actions nothing is unsynced, and its count of syncs is not state.
        const liar = this.liars[id];
        hash = fingerprint(encodeCanonical(liar === undefined ? [this.hosts[id]?.replica ?? null, disk.snapshot ?? null, disk.records] : [this.hosts[id]?.replica ?? null, disk.snapshot ?? null, disk.records, liar], this.opaque));
        this.nodeHashes[id] = hash;
      }
      return hash;
    });
    const clients = this.clients.map((client, index) => {
      let hash = this.clientHashes[index];
      if (hash === undefined) {
        hash = fingerprint(encodeCanonical(client, this.opaque));
        this.clientHashes[index] = hash;
      }
      return hash;
    });
    const state = {
      nodes,
      incarnations: this.incarnations,
      clients,
      nextOp: this.nextOp,
      pendingOp: monitors === "ordered" ? this.pendingOp : this.pendingOp.map((at) => at >= 0),
      network,
      history: monitors === "ordered" ? this.operations : precedenceOf(this.operations),
      // The spent timeouts as a sorted list: which node fired first is not part of the state.
      budget: [this.budget.crashes, this.setup.ordered ? this.budget.reorderings : 0, this.budget.drops, this.budget.duplicates, [...this.budget.timeouts].sort((a, b) => a[0] - b[0])],
      // Only when spent, so that a search without these actions encodes its states as before.
      ...(this.budget.clientRestarts + this.budget.reconfigurations + this.budget.transfers > 0
        ? { operations: [this.budget.clientRestarts, this.budget.reconfigurations, this.budget.transfers, this.clientIncarnations] }
        : {}),
      ...(this.budget.partitions > 0 ? { partitions: [this.budget.partitions, this.cut ?? null] } : {}),
    };
    return fingerprint(encodeCanonical(state, this.opaque) + (monitors === "none" ? "" : encodeCanonical(this.monitors, this.withReplicas(), monitors === "unordered")));
  }

  /**
   * symmetryView hands symmetry.ts what a state is made of, to fingerprint it under a renaming of node ids
   * (read only: nothing of it may be changed). The history comes as `key("unordered")` reads it, its real-time
   * precedence; the monitors with the set of objects their encoding leaves out.
   */
  symmetryView(): SymmetryView {
    return {
      replicas: this.hosts.map((host) => host?.replica),
      disks: this.disks,
      liars: this.liars.some((liar) => liar !== undefined),
      incarnations: this.incarnations,
      clients: this.clients,
      nextOp: this.nextOp,
      pendingOp: this.pendingOp,
      workloadLengths: this.setup.workload.map((commands) => commands.length),
      network: this.network,
      precedence: () => precedenceOf(this.operations),
      budget: this.budget,
      clientIncarnations: this.clientIncarnations,
      monitors: this.monitors,
      opaque: this.opaque,
      monitorOpaque: () => this.withReplicas(),
    };
  }

  // ---- reading a state ---------------------------------------------------------------------

  /** depth is how many actions led here. */
  get depth(): number {
    return this.steps;
  }

  /** violation is the first safety failure on the path to this state, if any. */
  get violation(): { readonly property: string; readonly message: string } | undefined {
    return this.failure;
  }

  /** inFlight lists the messages on the network, one entry per copy. */
  inFlight(): readonly InFlight[] {
    return this.network;
  }

  /** partitioned is the side of the standing cut (ids ascending), or undefined while the network is whole (see the `partition` action). */
  partitioned(): readonly NodeId[] | undefined {
    return this.cut;
  }

  /** crosses tells whether a message from `from` to `to` would cross the standing cut (and so cannot be delivered now). */
  crosses(from: NodeId, to: NodeId): boolean {
    const cut = this.cut;
    return cut !== undefined && cut.includes(from) !== cut.includes(to);
  }

  /** canTurnLiar tells whether replica `id` may still turn liar on this path (WorldSetup.byzantine with `midPath`). */
  canTurnLiar(id: NodeId): boolean {
    const byzantine = this.setup.byzantine;
    return byzantine?.midPath === true && byzantine.nodes.includes(id) && this.liars[id] === undefined;
  }

  /** isUp tells whether replica `id` is running. */
  isUp(id: NodeId): boolean {
    return this.hosts[id] !== undefined;
  }

  /** status reads replica `id`'s status, or undefined while it is down. */
  status(id: NodeId): ReplicaStatus | undefined {
    return this.hosts[id]?.status();
  }

  /** replica returns replica `id`'s object (for the Explorer's views), or undefined while it is down. */
  replica(id: NodeId): unknown {
    return this.hosts[id]?.replica;
  }

  /** history is the clients' history so far (operations still outstanding are `info`, never completed). */
  history(): History<KvCommand, KvResult> {
    return this.operations.map(
      (operation): HistoryOperation<KvCommand, KvResult> => ({
        id: operation.id,
        clientId: operation.clientId,
        input: operation.input,
        invokeUs: operation.invokeAt,
        completeUs: operation.completeAt,
        status: operation.status,
        output: operation.output,
        ...(operation.readLevel === undefined ? {} : { readLevel: operation.readLevel }),
      }),
    );
  }

  /** spent reports what the path has spent of the per-path bounds. */
  spent(): {
    readonly crashes: number;
    readonly reorderings: number;
    readonly drops: number;
    readonly duplicates: number;
    readonly timeouts: ReadonlyMap<NodeId, number>;
    readonly clientRestarts: number;
    readonly reconfigurations: number;
    readonly transfers: number;
    readonly partitions: number;
  } {
    return this.budget;
  }

  /** nodeCount is the number of replicas, spares included (ids 0 to nodeCount - 1). */
  nodeCount(): number {
    return this.setup.nodes + (this.setup.spares ?? 0);
  }

  /** clientIds lists the clients' ids. */
  clientIds(): NodeId[] {
    return this.clients.map((client) => client.id);
  }

  /**
   * unfinished says, for each client that is not done, what it still has to
   * do: an operation outstanding, or operations not yet invoked (empty when
   * every client has had every operation of its workload answered).
   */
  unfinished(): string[] {
    const left: string[] = [];
    this.clients.forEach((client, index) => {
      const at = this.pendingOp[index] ?? -1;
      const remaining = (this.setup.workload[index]?.length ?? 0) - (this.nextOp[index] ?? 0);
      if (at >= 0) left.push(`${clientName(client.id)}'s ${this.operations[at]?.input.type ?? "operation"} is outstanding`);
      if (remaining > 0) left.push(`${clientName(client.id)} has ${remaining} operation(s) not yet invoked`);
    });
    return left;
  }

  /**
   * owed is `unfinished` through the standing cut: the work a correct protocol must still finish while the cut
   * stands. A client on a side holding a majority of the initial replicas owes all of its work; a client on the
   * other side owes only its reads served stale, while its side holds a replica (such a read needs no quorum), and
   * nothing from an operation of another kind on (which may wait for the heal). With no cut, `unfinished`.
   */
  owed(): string[] {
    if (this.cut === undefined) return this.unfinished();
    const left: string[] = [];
    this.clients.forEach((client, index) => {
      const at = this.pendingOp[index] ?? -1;
      const next = this.nextOp[index] ?? 0;
      const commands = this.setup.workload[index] ?? [];
      if (this.sideHoldsMajority(client.id)) {
        if (at >= 0) left.push(`${clientName(client.id)}'s ${this.operations[at]?.input.type ?? "operation"} is outstanding`);
        if (commands.length > next) left.push(`${clientName(client.id)} has ${commands.length - next} operation(s) not yet invoked`);
        return;
      }
      const operation = at >= 0 ? this.operations[at] : undefined;
      if (operation !== undefined) {
        if (this.owes(operation.id)) left.push(`${clientName(client.id)}'s stale read, cut off with a replica, is outstanding`);
        return;
      }
      const command = commands[next];
      if (command !== undefined && isReadOnly(command) && this.servedReadLevel() === "stale" && this.sideHoldsReplica(client.id)) left.push(`${clientName(client.id)}'s stale read, cut off with a replica, is not yet invoked`);
    });
    return left;
  }

  /** owes tells whether operation `id` must complete through the standing cut (see `owed`); with no cut, every one. */
  owes(id: number): boolean {
    const operation = this.operations[id];
    if (operation === undefined || this.cut === undefined) return true;
    return this.sideHoldsMajority(operation.clientId) || (operation.readLevel === "stale" && this.sideHoldsReplica(operation.clientId));
  }

  /** servedReadLevel is the level the algorithm serves the workload's reads at. */
  private servedReadLevel(): ReadLevel {
    const requested = this.setup.readLevel ?? "linearizable";
    return requested === "linearizable" ? "linearizable" : (this.setup.algorithm.servedReadLevel?.(requested, this.setup.options) ?? "linearizable");
  }

  /** sideReplicas counts the replicas of the initial configuration on node `id`'s side of the standing cut. */
  private sideReplicas(id: NodeId): number {
    const cut = this.cut ?? [];
    const inside = cut.includes(id);
    let count = 0;
    for (let replica = 0; replica < this.setup.nodes; replica++) if (cut.includes(replica) === inside) count++;
    return count;
  }

  private sideHoldsMajority(id: NodeId): boolean {
    return this.sideReplicas(id) * 2 > this.setup.nodes;
  }

  private sideHoldsReplica(id: NodeId): boolean {
    return this.sideReplicas(id) > 0;
  }

  /** gaveUp lists the history ids of the operations whose client gave up on them (reported indeterminate: no longer waited for, never completed). */
  gaveUp(): number[] {
    return this.operations.filter((operation) => operation.status === "info" && !this.pendingOp.includes(operation.id)).map((operation) => operation.id);
  }

  /** canInvoke tells whether client `id` is idle and has a command left. */
  canInvoke(id: NodeId): boolean {
    const index = id - firstClientId;
    return this.pendingOp[index] === -1 && (this.nextOp[index] ?? 0) < (this.setup.workload[index]?.length ?? 0);
  }

  // ---- running an action -------------------------------------------------------------------

  /**
   * apply runs one action on this world (fork first to keep the state it
   * left). A replica that throws is a safety failure of the path, reported
   * through `violation`, never an exception of the search.
   */
  apply(action: Action): ActionOutcome {
    this.router.world = this;
    this.steps++;
    const touched = "node" in action ? action.node : action.kind === "deliver" ? this.find(action.key).to : action.kind === "invoke" ? action.client : undefined;
    if (action.kind === "deliver") {
      const envelope = this.find(action.key);
      if (this.crosses(envelope.from, envelope.to)) throw new Error(`explore: ${envelope.type} ${envelope.from}→${envelope.to} crosses the standing partition: it cannot be delivered`);
    }
    if (action.kind === "tick") {
      this.hosts.forEach((host, id) => host !== undefined && this.own(id));
      this.clients.forEach((_, index) => this.ownClient(index));
    } else if (touched !== undefined) {
      if (touched < firstClientId) this.own(touched);
      else this.ownClient(touched - firstClientId);
    }
    const durableReadies: { records: number; snapshot: boolean }[] = [];
    let effect = true;
    this.guard(() => {
      switch (action.kind) {
        case "deliver":
          if (this.network[0]?.key !== action.key) this.budget.reorderings++;
          this.deliver(this.take(action.key), action.crash, durableReadies);
          return;
        case "drop":
          this.take(action.key);
          this.budget.drops++;
          return;
        case "duplicate": {
          const envelope = this.find(action.key);
          this.network.push(envelope);
          this.budget.duplicates++;
          return;
        }
        case "timeout":
          effect = action.node >= firstClientId ? this.clientTimeout(action.node) : this.replicaTimeout(action.node, action.crash, durableReadies);
          if (effect) this.budget.timeouts.set(action.node, (this.budget.timeouts.get(action.node) ?? 0) + 1);
          return;
        case "invoke":
          this.invoke(action.client);
          return;
        case "crash":
          this.crash(action.node, 0);
          return;
        case "restart":
          this.boot(action.node, action.crash, durableReadies);
          return;
        case "client-restart":
          this.restartClient(action.client);
          return;
        case "reconfigure":
        case "transfer":
          effect = this.operate(action, durableReadies);
          return;
        case "tick":
          effect = this.tickAll(durableReadies);
          return;
        case "partition":
          if (this.cut !== undefined) throw new Error("explore: a partition already stands; heal it first");
          this.cut = [...action.side].sort((a, b) => a - b);
          this.budget.partitions++;
          return;
        case "heal":
          effect = this.cut !== undefined;
          this.cut = undefined;
          return;
        case "turn-liar": {
          const byzantine = this.setup.byzantine;
          if (byzantine === undefined || !this.canTurnLiar(action.node)) throw new Error(`explore: replica ${action.node} cannot turn liar on this path`);
          this.liars[action.node] = newLiar(findByzantineStrategy(this.setup.algorithm, byzantine.strategy), action.node, this.setup.seed);
          return;
        }
      }
    });
    if (this.failure === undefined) this.judge();
    return { effect, durableReadies };
  }

  private guard(run: () => void): void {
    try {
      run();
    } catch (error) {
      if (this.failure !== undefined) return;
      const message = error instanceof Error ? error.message : String(error);
      this.failure = { property: "no node throws", message };
    }
  }

  private judge(): void {
    for (const monitor of this.monitors) {
      const [found] = monitor.violations();
      if (found !== undefined) {
        this.failure = { property: found.invariant, message: found.message };
        return;
      }
    }
    if (!this.historyChanged || this.setup.promisesLinearizability === false) return;
    this.historyChanged = false;
    // A read served stale promises no recency: it is left out, and the writes and the other reads are judged.
    const verdict = this.setup.checkHistory(this.history().filter((operation) => operation.readLevel !== "stale"));
    if (verdict.kind === "not-linearizable") this.failure = { property: "linearizable", message: `the clients' history is not linearizable (${verdict.evidence.operationIds.length} operations in the smallest part that fails)` };
    else if (verdict.kind === "unknown") this.failure = { property: "linearizable", message: `the checker could not decide the history: ${verdict.reason}` };
  }

  private find(key: string): InFlight {
    const envelope = this.network.find((candidate) => candidate.key === key);
    if (envelope === undefined) throw new Error(`no message ${key.slice(0, 40)}… is in flight`);
    return envelope;
  }

  private take(key: string): InFlight {
    const index = this.network.findIndex((candidate) => candidate.key === key);
    if (index < 0) throw new Error(`no message ${key.slice(0, 40)}… is in flight`);
    const [envelope] = this.network.splice(index, 1);
    return must(envelope, `message ${key.slice(0, 40)}…`);
  }

  private deliver(envelope: InFlight, crash: CrashPoint | undefined, durableReadies: { records: number; snapshot: boolean }[]): void {
    if (envelope.to >= firstClientId) {
      const client = must(this.clients[envelope.to - firstClientId], `client ${envelope.to}`);
      client.step(envelope.from, this.setup.algorithm.codec.decode(envelope.bytes));
      this.drainClient(client);
      return;
    }
    const host = this.hosts[envelope.to];
    if (host === undefined) return;
    let message: unknown = this.setup.algorithm.codec.decode(envelope.bytes);
    const liar = this.liars[envelope.to];
    if (liar?.strategy.inbound !== undefined) {
      message = liar.strategy.inbound(envelope.from, message, this.byzantineContext(envelope.to, liar));
      if (message === undefined) return;
    }
    host.step(envelope.from, message);
    this.settle(envelope.to, crash, durableReadies);
  }

  /**
   * settle carries out replica `id`'s Readies until it has none, crashing it
   * at `crash` if given; it records every Ready that wrote something.
   */
  private settle(id: NodeId, crash: CrashPoint | undefined, durableReadies: { records: number; snapshot: boolean }[], begun?: Ready<unknown>): void {
    let durableIndex = 0;
    let first = begun;
    for (;;) {
      const host = this.hosts[id];
      if (host === undefined) return;
      const ready = first ?? host.begin();
      first = undefined;
      if (ready === undefined) break;
      const durable = ready.persist.length > 0 || ready.snapshot !== undefined;
      if (durable) {
        durableReadies.push({ records: ready.persist.length, snapshot: ready.snapshot !== undefined });
        if (crash !== undefined && crash.ready === durableIndex) {
          if (crash.keep === "after-sync") host.synced();
          this.crash(id, crash.keep === "after-sync" ? 0 : crash.keep);
          return;
        }
        durableIndex++;
      }
      host.synced();
      host.release();
      host.advance();
    }
    if (crash !== undefined) throw new Error(`crash point ${crash.ready} was not reached: node ${id} wrote only ${durableIndex} Readies`);
    const host = this.hosts[id];
    if (host === undefined) return;
    const context = { timeUs: this.steps, faulty: this.liars[id] !== undefined };
    for (const monitor of this.monitors) monitor.observeReplica?.(host.replica, context);
  }

  /** byzantineContext is what a liar's strategy knows: itself, the initial replicas, its stream, its keys, its honest replica. */
  private byzantineContext(id: NodeId, liar: Liar): ByzantineContext<unknown> {
    const host = must(this.hosts[id], `replica ${id}`);
    return { self: id, replicas: Array.from({ length: this.setup.nodes }, (_, node) => node), rng: liar.rng, crypto: this.setup.crypto(id), replica: host.replica, timeUs: this.steps };
  }

  /** onReplicaSend puts what a host releases on the network, after the monitors saw it; called through the Router. */
  onReplicaSend(from: NodeId, messages: readonly Outbound<unknown>[]): void {
    const liar = this.liars[from];
    const outgoing = liar === undefined ? messages : liar.strategy.outbound(messages, this.byzantineContext(from, liar));
    const context = { timeUs: this.steps, faulty: liar !== undefined };
    for (const { to, message } of outgoing) {
      for (const monitor of this.monitors) monitor.observeSend?.(from, to, message, context);
      this.send(from, to, message);
    }
  }

  private send(from: NodeId, to: NodeId, message: unknown): void {
    const { codec } = this.setup.algorithm;
    // Through the codec and back, as on a real wire: the copy in flight shares nothing with the sender.
    const bytes = codec.encode(message);
    const type = codec.typeName(message);
    this.network.push({ from, to, key: `${from}>${to}:${type}:${Buffer.from(bytes).toString("hex")}`, type, message: codec.decode(bytes), bytes });
  }

  private replicaTimeout(id: NodeId, crash: CrashPoint | undefined, durableReadies: { records: number; snapshot: boolean }[]): boolean {
    const host = this.hosts[id];
    if (host === undefined) return false;
    const before = statusKey(host.status());
    for (let tick = 0; tick < this.setup.ticksPerTimeoutMax; tick++) {
      host.tick();
      const ready = host.begin();
      if (ready !== undefined || statusKey(host.status()) !== before) {
        this.settle(id, crash, durableReadies, ready);
        return true;
      }
    }
    return false;
  }

  /** tickAll runs the shared clock (see the `tick` action): every running replica and every waiting client ticks once per round, until a round in which one acts. */
  private tickAll(durableReadies: { records: number; snapshot: boolean }[]): boolean {
    const before = this.hosts.map((host) => (host === undefined ? "" : statusKey(host.status())));
    for (let tick = 0; tick < this.setup.ticksPerTimeoutMax; tick++) {
      let acted = false;
      this.hosts.forEach((host, id) => {
        if (host === undefined || this.failure !== undefined) return;
        host.tick();
        const ready = host.begin();
        if (ready !== undefined || statusKey(host.status()) !== before[id]) {
          this.settle(id, undefined, durableReadies, ready);
          acted = true;
        }
      });
      for (const client of this.clients) {
        if (!client.outstanding()) continue;
        client.tick();
        if (this.drainClient(client)) acted = true;
      }
      if (acted) return true;
    }
    return false;
  }

  private clientTimeout(id: NodeId): boolean {
    const client = must(this.clients[id - firstClientId], `client ${id}`);
    if (!client.outstanding()) return false;
    for (let tick = 0; tick < this.setup.ticksPerTimeoutMax; tick++) {
      client.tick();
      if (this.drainClient(client)) return true;
    }
    return false;
  }

  /** newClient builds client number `index`'s object for its `incarnation`-th life (a restart draws a fresh stream: a new session). */
  private newClient(index: number, incarnation: number): Client<unknown> {
    const id = firstClientId + index;
    const replicas = Array.from({ length: this.nodeCount() }, (_, node) => node);
    const stream = incarnation === 0 ? `client:${id}` : `client:${id}:incarnation:${incarnation}`;
    return this.setup.algorithm.createClient({ id, replicas, rng: createRng(deriveSeed(this.setup.seed, stream)), crypto: this.setup.crypto(id), options: this.setup.options });
  }

  /** restartClient replaces client `id`'s object by a fresh one under the same id; its outstanding operation is given up. */
  private restartClient(id: NodeId): void {
    const index = id - firstClientId;
    const incarnation = (this.clientIncarnations[index] ?? 0) + 1;
    this.clientIncarnations[index] = incarnation;
    this.clients[index] = this.newClient(index, incarnation);
    this.ownedClients.add(index);
    this.clientHashes[index] = undefined;
    // The operation stays in the history as `info`: it may have taken effect, and no answer will come for it.
    this.pendingOp[index] = -1;
    this.budget.clientRestarts++;
  }

  /**
   * operate asks a leader for a membership change or a leadership transfer
   * through the algorithm's admin hook, then carries out its Readies. It has
   * no effect when the replica refuses (a correct replica refuses what its
   * protocol does not allow: a demotion in one change, a transfer to a node
   * outside its configuration), so a refusal adds no state.
   */
  private operate(action: Extract<Action, { kind: "reconfigure" | "transfer" }>, durableReadies: { records: number; snapshot: boolean }[]): boolean {
    const host = this.hosts[action.node];
    const admin = this.setup.algorithm.admin;
    if (host === undefined || admin === undefined) return false;
    const outcome = action.kind === "reconfigure" ? admin.reconfigure?.(host.replica, action.changes, { joint: action.joint }) : admin.transferLeadership?.(host.replica, action.target);
    if (outcome === undefined || !outcome.accepted) return false;
    if (action.kind === "reconfigure") this.budget.reconfigurations++;
    else this.budget.transfers++;
    this.settle(action.node, undefined, durableReadies);
    return true;
  }

  private invoke(id: NodeId): void {
    const index = id - firstClientId;
    const next = this.nextOp[index] ?? 0;
    const command = must(this.setup.workload[index]?.[next], `command ${next} of client ${id}`);
    this.nextOp[index] = next + 1;
    const client = must(this.clients[index], `client ${id}`);
    const readOnly = isReadOnly(command);
    const requested = this.setup.readLevel ?? "linearizable";
    const submitted = client.submit(encodeCommand(command), requested === "linearizable" ? { readOnly } : { readOnly, readLevel: requested });
    if (submitted.kind !== "accepted") throw new Error(`client ${id} refused a request while idle: ${JSON.stringify(submitted.rejection)}`);
    const served = readOnly && requested !== "linearizable" ? (this.setup.algorithm.servedReadLevel?.(requested, this.setup.options) ?? "linearizable") : "linearizable";
    this.pendingOp[index] = this.operations.length;
    this.operations.push({
      id: this.operations.length,
      clientId: id,
      input: command,
      invokeAt: this.events++,
      completeAt: undefined,
      status: "info",
      output: undefined,
      ...(served === "linearizable" ? {} : { readLevel: served }),
    });
    this.drainClient(client);
  }

  /** drainClient sends what a client asks and records its completions; it tells whether the client had anything to do. */
  private drainClient(client: Client<unknown>): boolean {
    let any = false;
    for (let ready = client.ready(); ready !== undefined; ready = client.ready()) {
      any = true;
      for (const { to, message } of ready.messages) this.send(client.id, to, message);
      for (const completion of ready.completions) this.complete(client.id, completion.outcome);
      client.advance(ready);
    }
    return any;
  }

  private complete(clientId: NodeId, outcome: { readonly kind: "ok" | "failed" | "indeterminate"; readonly result?: Uint8Array }): void {
    const index = clientId - firstClientId;
    const at = this.pendingOp[index];
    if (at === undefined || at < 0) return;
    const operation = must(this.operations[at], `operation ${at}`);
    this.pendingOp[index] = -1;
    if (outcome.kind === "indeterminate") return;
    operation.completeAt = this.events++;
    if (outcome.kind === "ok" && outcome.result !== undefined) {
      operation.status = "ok";
      try {
        operation.output = decodeResult(outcome.result);
      } catch (error) {
        // No state machine wrote it (a liar's forgery reached the client): the history is broken whatever the order.
        if (this.failure === undefined) this.failure = { property: "linearizable", message: `client ${clientName(clientId)} accepted a result no state machine produced (${error instanceof Error ? error.message : String(error)})` };
        return;
      }
    } else {
      operation.status = "fail";
    }
    this.historyChanged = true;
  }

  private crash(id: NodeId, keep: number): void {
    if (this.hosts[id] === undefined) throw new Error(`node ${id} is already down`);
    this.hosts[id] = undefined;
    must(this.disks[id], `disk ${id}`).crash(keep);
    this.budget.crashes++;
    // A crash breaks the node's connections: what was in flight to it is lost.
    this.network = this.network.filter((envelope) => envelope.to !== id);
  }

  private boot(id: NodeId, crash: CrashPoint | undefined, durableReadies: { records: number; snapshot: boolean }[] = []): void {
    if (this.hosts[id] !== undefined) throw new Error(`node ${id} is already up`);
    const incarnation = this.incarnations[id] ?? 0;
    this.incarnations[id] = incarnation + 1;
    // A spare boots knowing the initial configuration, outside it, until a membership change adds it.
    const replicas = Array.from({ length: this.setup.nodes }, (_, node) => node);
    const { algorithm, options } = this.setup;
    const rng = createRng(deriveSeed(this.setup.seed, this.setup.symmetricStreams === true ? `replica:any:${incarnation}` : `replica:${id}:${incarnation}`));
    const router = this.router;
    this.hosts[id] = ReplicaHost.boot(
      must(this.disks[id], `disk ${id}`),
      (durable) => algorithm.createReplica({ id, replicas, rng, durable, stateMachine: new KvStateMachine(), crypto: this.setup.crypto(id), options }),
      (from, messages) => router.send(from, messages),
    );
    this.settle(id, crash, durableReadies);
  }
}

/**
 * precedenceOf writes a history as what linearizability reads of it: each
 * operation, named by its client and its place among that client's
 * operations, with its input, outcome and the operations that completed
 * before it was invoked (the real-time order: Herlihy and Wing's
 * precedence), in a fixed order. Two histories that differ only in how
 * their events are numbered (two invocations, or two completions, in either
 * order) write the same, and have the same verdict now and after any
 * further events, since those come after every event already there. The
 * partial-order reduction relies on it to let two clients' invocations, or
 * two completions, commute (reduction.ts).
 */
function precedenceOf(operations: readonly OperationRecord[]): unknown[] {
  const placeOf = new Map<number, string>();
  const counts = new Map<NodeId, number>();
  for (const operation of operations) {
    const place = counts.get(operation.clientId) ?? 0;
    counts.set(operation.clientId, place + 1);
    placeOf.set(operation.id, `${operation.clientId}.${place}`);
  }
  const written = operations.map((operation) => {
    const before = operations
      .filter((other) => other.completeAt !== undefined && other.completeAt < operation.invokeAt)
      .map((other) => placeOf.get(other.id) ?? "")
      .sort();
    return [placeOf.get(operation.id) ?? "", operation.input, operation.status, operation.output, before] as const;
  });
  return written.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** must reads `array[index]`, which the caller knows is there, and names what is missing if it is not. */
function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`explore: ${what} does not exist`);
  return value;
}

function clientName(id: NodeId): string {
  return `c${id - firstClientId}`;
}

function statusKey(status: ReplicaStatus): string {
  return `${status.role}/${status.epoch}/${status.leader}/${status.commitIndex}/${status.appliedIndex}`;
}
