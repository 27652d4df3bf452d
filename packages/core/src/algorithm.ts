import type { ByzantineClient, ByzantineStrategyDefinition } from "./byzantine.ts";
import type { Client, ReadLevel } from "./client.ts";
import type { MessageCodec } from "./codec.ts";
import type { Crypto } from "./crypto.ts";
import type { NodeId } from "./ids.ts";
import type { InvariantMonitor } from "./monitor.ts";
import type { HardPath, OptionSpace, PathCounter } from "./option-space.ts";
import type { Replica } from "./replica.ts";
import type { Rng } from "./rng.ts";
import type { StateMachine } from "./state-machine.ts";
import type { DurableState } from "./storage.ts";

/** ProtocolOptions are a protocol's own settings (timeouts in ticks, batch limits); each protocol validates them with zod. */
export type ProtocolOptions = Readonly<Record<string, unknown>>;

/** ReplicaContext is everything a runtime hands a protocol to build (or rebuild after a crash) one replica. */
export interface ReplicaContext {
  readonly id: NodeId;
  /** replicas lists every replica of the initial configuration, this one included, in ascending order. */
  readonly replicas: readonly NodeId[];
  readonly rng: Rng;
  /** durable is what this replica persisted before (empty on first start). */
  readonly durable: DurableState;
  readonly stateMachine: StateMachine;
  readonly crypto: Crypto;
  readonly options: ProtocolOptions;
}

/** ClientContext is everything a runtime hands a protocol to build one client. */
export interface ClientContext {
  /** id is the client's network address, where replies go; a restarted client may reuse it. */
  readonly id: NodeId;
  readonly replicas: readonly NodeId[];
  /** rng also draws the client's session key: give every client object its own stream, or a restart repeats the key. */
  readonly rng: Rng;
  readonly crypto: Crypto;
  readonly options: ProtocolOptions;
  /** session pins the client's session key, an integer in [1, 2^53 - 1]; drawn from `rng` when absent (see ClientSession). */
  readonly session?: number;
  /** firstSequence is the sequence of the client's first request, in [1, 2^53 - 1]; 1 when absent. */
  readonly firstSequence?: number;
}

/** MembershipChange is one step of a membership change an operator asks a leader for. */
export type MembershipChange =
  | { readonly type: "addVoter"; readonly node: NodeId }
  | { readonly type: "removeVoter"; readonly node: NodeId }
  | { readonly type: "addLearner"; readonly node: NodeId }
  | { readonly type: "removeLearner"; readonly node: NodeId };

/** Membership is the configuration a replica holds now: its voters (both halves of a joint one) and its learners. */
export interface Membership {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

/** AdminResult says whether a replica took an operator's request, and what happened, in words for a fault log. */
export interface AdminResult {
  readonly accepted: boolean;
  readonly detail: string;
}

/**
 * AlgorithmAdmin is the operator's side of an algorithm, for runtimes that
 * drive membership changes and leadership transfers (the simulator's
 * `transfer` and `reconfigure` operations). Every method is optional: an
 * algorithm offers what its replicas support. A runtime calls them only on
 * a replica that is between two Readies (not between `ready()` and
 * `advance()`), and drains its Ready afterwards.
 */
export interface AlgorithmAdmin<M> {
  /** membership reads the configuration `replica` holds now. */
  membership?(replica: Replica<M>): Membership;
  /** transferLeadership asks `replica` (a leader) to hand its leadership to `target`. */
  transferLeadership?(replica: Replica<M>, target: NodeId): AdminResult;
  /** reconfigure asks `replica` (a leader) to change the membership; `joint` forces a joint change where the protocol has one. */
  reconfigure?(replica: Replica<M>, changes: readonly MembershipChange[], options: { readonly joint: boolean }): AdminResult;
}

/** FaultModel is the kind of failure an algorithm tolerates. */
export type FaultModel = "crash" | "byzantine";

/**
 * KvSemantics is the sequential object an algorithm's clients see in the KV
 * store, against which their histories are judged: `kv`, the whole store
 * (every operation of @concord/kv, a put overwrites), or `write-once`, a
 * register per key that the first put to take effect fixes for ever (each
 * put answers the value the key holds; only get and put are offered), or
 * `registers`, a register per key that each put overwrites and a delete
 * clears (get, put and delete only: the leaderless stores, which cannot make
 * cas or append atomic without consensus, and refuse them).
 */
export type KvSemantics = "kv" | "write-once" | "registers";

/**
 * AlgorithmDefinition is how a protocol package plugs into the runtimes, the
 * CLI and the benchmarks: one object per algorithm, registered in one place.
 */
export interface AlgorithmDefinition<M> {
  /** name is what `--algo` takes. */
  readonly name: string;
  readonly description: string;
  readonly faultModel: FaultModel;
  readonly codec: MessageCodec<M>;
  /** clusterSizeError explains why `n` replicas cannot run this algorithm, or returns undefined. */
  clusterSizeError(n: number): string | undefined;
  /** replicasToTolerate returns the cluster size that tolerates `f` faults of the algorithm's model. */
  replicasToTolerate(f: number): number;
  /** faultsTolerated returns how many faults of the algorithm's model `n` replicas tolerate. */
  faultsTolerated(n: number): number;
  createReplica(context: ReplicaContext): Replica<M>;
  createClient(context: ClientContext): Client<M>;
  /** createMonitors returns fresh safety monitors for one run. */
  createMonitors(): InvariantMonitor<M>[];
  /** byzantineStrategies lists the ways a faulty replica of this protocol can lie. */
  readonly byzantineStrategies: readonly ByzantineStrategyDefinition<M>[];
  /** optionSpace is the legal ranges of the protocol's options, from which `chaos` draws each run's options (swarm testing). */
  readonly optionSpace?: OptionSpace;
  /** hardPaths lists the paths a swarm of runs should reach, counted per run by `createPathCounter`. */
  readonly hardPaths?: readonly HardPath[];
  /** createPathCounter returns a fresh counter of `hardPaths` for one run with these options. */
  createPathCounter?(options: ProtocolOptions): PathCounter<M>;
  /**
   * analyticMessagesPerOp is the steady-state count of messages per committed
   * operation for `n` replicas and `batchSize` operations per batch, client
   * request and reply included, as the design notes derive it.
   */
  analyticMessagesPerOp(n: number, batchSize: number): number;
  /** oneWayDelaysPerOp is how many one-way network delays a write takes in the normal case, client legs included. */
  readonly oneWayDelaysPerOp: number;
  /** admin is the operator's side (membership changes, leadership transfer), for the algorithms that have one. */
  readonly admin?: AlgorithmAdmin<M>;
  /** kvSemantics is the object the algorithm's KV clients see, which workloads draw from and checkers judge by; `kv` when absent. */
  readonly kvSemantics?: KvSemantics;
  /**
   * promisesLinearizability tells whether the algorithm, with these options, promises linearizable histories (true
   * when absent). An eventually consistent store does not: its runs are still checked and their verdict reported,
   * but a history that is not linearizable is then what it promises, not a broken guarantee.
   */
  promisesLinearizability?(options: ProtocolOptions): boolean;
  /**
   * servedReadLevel is the level at which the algorithm's replicas, with these options, serve a read asked at
   * `requested` (see {@link ReadLevel}): an algorithm without leases serves `lease` as `linearizable`, one whose
   * every read is linearizable serves `stale` as `linearizable` too. Runtimes record the served level in the
   * history, and a history with a `stale` read promises no linearizability. When absent, every read is served
   * `linearizable` (an algorithm that ignores the level answers every read as it always has).
   */
  servedReadLevel?(requested: ReadLevel, options: ProtocolOptions): ReadLevel;
  /**
   * crashAllowed tells whether, with these options, the replica `target` may crash now without the algorithm losing
   * what it acknowledged, given every replica of the run (`undefined`: down). An algorithm that keeps its state on
   * disk needs no such bound and leaves it out; one that keeps it in memory (VR's memory mode, §4.3 of VR Revisited)
   * assumes at most f replicas are without their memory at once, counting a restarted one until it has recovered.
   * Chaos (swarm testing) crashes only what this allows, so that a drawn run stays within the algorithm's own
   * assumptions; a scenario that names its crashes is not bound by it (it may mean to show the loss).
   */
  crashAllowed?(options: ProtocolOptions, target: NodeId, replicas: ReadonlyMap<NodeId, Replica<M> | undefined>): boolean;
  /** createByzantineClient builds a faulty client playing `strategy` (one of `chaosFaults.byzantineClientStrategies`). */
  createByzantineClient?(context: ClientContext, strategy: string): ByzantineClient<M>;
  /** chaosFaults is what `chaos` draws for this algorithm beyond the shared fault kinds (issue 21); nothing more when absent. */
  readonly chaosFaults?: ChaosFaultHints;
}

/**
 * ChaosFaultHints names the faults aimed at one protocol's checks that `chaos`
 * draws for it: the Byzantine strategies its faulty replicas play (only for an
 * algorithm whose fault model is `byzantine`, never more liars than it
 * tolerates), and groups of message types that are lost together on their way
 * to a few replicas for a long window (only checkpoints and state transfer,
 * only commits), which random loss of every type almost never produces.
 */
export interface ChaosFaultHints {
  /** byzantineStrategies are names from the algorithm's `byzantineStrategies`. */
  readonly byzantineStrategies?: readonly string[];
  /** leaderStrategies are those of `byzantineStrategies` that act only while leading: their liars include the first leader. */
  readonly leaderStrategies?: readonly string[];
  /** byzantineClientStrategies are what a faulty client may do, built by the algorithm's `createByzantineClient`. */
  readonly byzantineClientStrategies?: readonly string[];
  /** lossGroups are groups of the codec's type names, each lost as one. */
  readonly lossGroups?: readonly (readonly string[])[];
  /**
   * stateTransferTypes are the codec's type names by which a replica that fell behind learns of and fetches the
   * state its peers vouch for (PBFT: checkpoints and state transfer): chaos's split starvation lets one replica hear
   * only these while others lose every loss group (issue 21, bug 8).
   */
  readonly stateTransferTypes?: readonly string[];
  /**
   * electionTimeoutTicks tells, for a run's options, how many ticks a follower waits without hearing its leader
   * before it campaigns (the shortest of its randomized timeouts): chaos sizes the faults it times around an
   * election and a leader's lease by it (issue 21).
   */
  electionTimeoutTicks?(options: ProtocolOptions): number;
  /** clientRestartLoops: a client in a crash loop, restarted several times in quick succession (sessions numbered again from the start). */
  readonly clientRestartLoops?: boolean;
  /**
   * snapshotInterval names the option that sets after how many applied entries a replica compacts its log, and the
   * largest value chaos's election race draws for it: in one run of two that draws the race, the interval is drawn
   * at most this, so that the catch-up the race starts is answered by a snapshot (issue 21).
   */
  readonly snapshotInterval?: { readonly option: string; readonly max: number };
  /**
   * crashPaths are names of the algorithm's `hardPaths` after which chaos may crash the replicas that walk them
   * (sim's path-crashes.ts): a path whose effect a replica must keep across a restart (issue 21).
   */
  readonly crashPaths?: readonly string[];
}

/**
 * AnyAlgorithm is an algorithm whose message type is hidden, for registries
 * that hold several algorithms at once. It needs no `any`: every member of
 * AlgorithmDefinition, Replica, Client, MessageCodec, InvariantMonitor and the
 * admin hook that takes a message is declared as a method, and TypeScript
 * checks method parameters bivariantly, so a concrete
 * `AlgorithmDefinition<RaftMessage>` is assignable to it. What a holder gets
 * back is `unknown` messages, which it can only pass on to the same
 * algorithm's replicas, codec and monitors (as a runtime does), never read.
 * Invariant: message-typed members stay method signatures, not function-typed
 * properties (a property would be checked contravariantly and refuse the
 * assignment).
 */
export type AnyAlgorithm = AlgorithmDefinition<unknown>;
