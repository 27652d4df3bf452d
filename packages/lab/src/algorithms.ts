import { type AnyAlgorithm, solo } from "@concord/core";
import { eventual, quorum } from "@concord/leaderless";
import { multipaxos } from "@concord/multipaxos";
import { paxos } from "@concord/paxos";
import { pbft } from "@concord/pbft";
import { raft } from "@concord/raft";
import { vr } from "@concord/vr";

/**
 * algorithms is the one place where an algorithm is registered: the concord
 * command, the benchmarks and the tests that run every algorithm all take
 * their list from here.
 */
export const algorithms: readonly AnyAlgorithm[] = [solo, raft, multipaxos, pbft, paxos, eventual, quorum, vr];

/** algorithmNames lists what `--algo` accepts. */
export const algorithmNames: readonly string[] = algorithms.map((algorithm) => algorithm.name);

/** findAlgorithm looks an algorithm up by name. */
export function findAlgorithm(name: string): AnyAlgorithm | undefined {
  return algorithms.find((algorithm) => algorithm.name === name);
}

/**
 * isBaseline tells whether an algorithm tolerates no fault at any size (the
 * unreplicated baseline), so that it runs on one node beside the others.
 */
export function isBaseline(algorithm: AnyAlgorithm): boolean {
  const n = algorithm.replicasToTolerate(1);
  return !Number.isInteger(n) || n < 1;
}

/** clusterSizes lists the sizes that tolerate each of `faults` (1 for the baseline). */
export function clusterSizes(algorithm: AnyAlgorithm, faults: readonly number[]): number[] {
  if (isBaseline(algorithm)) return [1];
  return [...new Set(faults.map((f) => algorithm.replicasToTolerate(f)))];
}
