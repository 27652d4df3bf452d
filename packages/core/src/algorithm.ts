import type { ByzantineStrategyDefinition } from "./byzantine.ts";
import type { Client } from "./client.ts";
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

/** FaultModel is the kind of failure an algorithm tolerates. */
export type FaultModel = "crash" | "byzantine";

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
}

/**
 * AnyAlgorithm is an algorithm whose message type is hidden, for registries
 * that hold several algorithms at once.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyAlgorithm = AlgorithmDefinition<any>;
