import type { AnyAlgorithm, ProtocolOptions, ReadLevel } from "@concord/core";
import { checkKvHistory } from "@concord/check";
import type { KvCommand } from "@concord/kv";
import { KeyRing, NodeCrypto } from "@concord/sim";
import type { ExploreBounds, SometimesProperty } from "./search.ts";
import type { World, WorldSetup } from "./world.ts";

/** ticksPerTimeoutMaxDefault is how long a timeout action waits for a node to act: longer than any default timeout of Concord's protocols. */
export const ticksPerTimeoutMaxDefault = 200;

/** checkerStepsMax budgets the linearizability check of one history in the search: the histories are a few operations long. */
const checkerStepsMax = 1_000_000;

/**
 * defaultWorkload gives `clients` clients `ops` commands each, on one key:
 * client i writes `v<i>.<j>` at its even-numbered commands and reads at its
 * odd ones, so that two clients race on one register.
 */
export function defaultWorkload(clients: number, ops: number): KvCommand[][] {
  const encoder = new TextEncoder();
  return Array.from({ length: clients }, (_, client) =>
    Array.from({ length: ops }, (_, op): KvCommand => (op % 2 === 0 ? { type: "put", key: "x", value: encoder.encode(`v${client}.${op}`) } : { type: "get", key: "x" })),
  );
}

/** ExploreSetupOptions are what a caller chooses of a world; the rest has defaults. */
export interface ExploreSetupOptions {
  readonly nodes: number;
  readonly options?: ProtocolOptions;
  readonly workload?: readonly (readonly KvCommand[])[];
  readonly clients?: number;
  readonly ops?: number;
  readonly seed?: number;
  readonly ticksPerTimeoutMax?: number;
  /** ordered: keep the network's order of sending (for a finite reorderingsMax); default false, a multiset. */
  readonly ordered?: boolean;
  /** spares: replicas booted outside the initial configuration, for membership changes to add (WorldSetup.spares); default 0. */
  readonly spares?: number;
  /** readLevel: the level every read asks for (WorldSetup.readLevel); default linearizable. */
  readonly readLevel?: ReadLevel;
  /** byzantine: replicas that lie from the start, or with `midPath` turn liar at a step of the path, each playing the strategy (WorldSetup.byzantine). */
  readonly byzantine?: { readonly nodes: readonly number[]; readonly strategy: string; readonly midPath?: boolean | undefined };
}

/** worldSetup builds the setup of an exploration of `algorithm`: real (seeded) cryptography, the KV linearizability check. */
export function worldSetup(algorithm: AnyAlgorithm, choice: ExploreSetupOptions): WorldSetup {
  const seed = choice.seed ?? 1;
  const keys = new KeyRing(seed);
  return {
    algorithm,
    nodes: choice.nodes,
    options: choice.options ?? {},
    workload: choice.workload ?? defaultWorkload(choice.clients ?? 1, choice.ops ?? 1),
    seed,
    crypto: (id) => new NodeCrypto(id, keys),
    ticksPerTimeoutMax: choice.ticksPerTimeoutMax ?? ticksPerTimeoutMaxDefault,
    ordered: choice.ordered ?? false,
    ...(choice.spares === undefined || choice.spares === 0 ? {} : { spares: choice.spares }),
    ...(choice.readLevel === undefined || choice.readLevel === "linearizable" ? {} : { readLevel: choice.readLevel }),
    ...(choice.byzantine === undefined || choice.byzantine.nodes.length === 0 ? {} : { byzantine: choice.byzantine }),
    checkHistory: (history) => checkKvHistory(history, { stepsMax: checkerStepsMax }, algorithm.kvSemantics ?? "kv"),
    promisesLinearizability: algorithm.promisesLinearizability?.(choice.options ?? {}) ?? true,
  };
}

/** defaultBounds are small enough for a test run and name every bound. */
export const defaultBounds: ExploreBounds = {
  depthMax: 30,
  crashesMax: 0,
  reorderingsMax: Number.POSITIVE_INFINITY,
  dropsMax: 0,
  duplicatesMax: 0,
  timeoutsPerNodeMax: 2,
  inflightMessagesMax: 12,
  statesMax: 1_000_000,
};

/**
 * defaultSometimes are the states every exploration of a protocol with
 * clients should reach: a replica leads (where the protocol has leaders), a
 * replica commits, a write completes at its client.
 */
export function defaultSometimes(leaderless = false): SometimesProperty[] {
  const nodes = (world: World): number[] => Array.from({ length: world.setup.nodes }, (_, id) => id);
  const properties: SometimesProperty[] = [
    { name: "a replica commits", holds: (world) => nodes(world).some((id) => (world.status(id)?.commitIndex ?? 0) > 0) },
    { name: "a write completes", holds: (world) => world.history().some((operation) => operation.status === "ok" && operation.input.type !== "get") },
  ];
  if (!leaderless) {
    properties.unshift({
      name: "a replica leads",
      holds: (world) =>
        nodes(world).some((id) => {
          const role = world.status(id)?.role;
          return role === "leader" || role === "primary";
        }),
    });
  }
  return properties;
}
