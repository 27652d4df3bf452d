import { type AnyAlgorithm, solo } from "@concord/core";

/**
 * algorithms is the one place where an algorithm is registered: the CLI, the
 * simulator runs and the benchmarks all take their list from here.
 */
export const algorithms: readonly AnyAlgorithm[] = [solo];

/** algorithmNames lists what `--algo` accepts. */
export const algorithmNames: readonly string[] = algorithms.map((algorithm) => algorithm.name);

/** findAlgorithm looks an algorithm up by name. */
export function findAlgorithm(name: string): AnyAlgorithm | undefined {
  return algorithms.find((algorithm) => algorithm.name === name);
}
