import type { AnyAlgorithm } from "@concord/core";
import { isBaseline } from "@concord/lab";
import { scenarioNames } from "@concord/sim";

/** BenchCase is one cell of the benchmark matrix. */
export interface BenchCase {
  readonly algorithm: AnyAlgorithm;
  readonly nodes: number;
  /** comparison says why this size was picked: equal tolerated faults f, or equal n. */
  readonly comparison: string;
  readonly scenario: string;
  readonly seed: number;
}

/** MatrixOptions narrow the matrix. */
export interface MatrixOptions {
  readonly algorithms: readonly AnyAlgorithm[];
  readonly scenarios: readonly string[];
  readonly seeds: number;
  readonly faults: readonly number[];
}

/**
 * buildMatrix lays out algorithm x cluster size x scenario x seed. Clusters are
 * compared at equal tolerated faults f (n = 2f+1 for crash-tolerant
 * algorithms, 3f+1 for Byzantine ones); the unreplicated baseline runs on one
 * node beside them.
 */
export function buildMatrix(options: MatrixOptions): BenchCase[] {
  const cases: BenchCase[] = [];
  for (const scenario of options.scenarios) {
    for (const algorithm of options.algorithms) {
      const sizes = new Map<number, string>();
      if (isBaseline(algorithm)) sizes.set(1, "baseline");
      else for (const f of options.faults) sizes.set(algorithm.replicasToTolerate(f), `f=${f}`);
      for (const [nodes, comparison] of sizes) {
        for (let seed = 1; seed <= options.seeds; seed++) cases.push({ algorithm, nodes, comparison, scenario, seed });
      }
    }
  }
  return cases;
}

/** defaultScenarios is what `pnpm bench` runs unless told otherwise: every built-in scenario. */
export const defaultScenarios: readonly string[] = scenarioNames;
