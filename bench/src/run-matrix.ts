import { applicability, checkRun, simulate } from "@concord/lab";
import type { BenchCase } from "./matrix.ts";
import type { BenchRow, SkippedCase } from "./report.ts";

/** MatrixRun is what running a matrix gave: a row per case that ran, and the cases skipped as not applicable. */
export interface MatrixRun {
  readonly rows: BenchRow[];
  readonly skipped: SkippedCase[];
}

/**
 * runMatrix runs each case of the matrix in order and tells `progress` what
 * happened to each, as one line. A case whose faults the algorithm does not
 * promise to tolerate (solo's only replica lying, in the byzantine scenario)
 * is skipped, with why: run, it would be a broken row by design, not a
 * figure to compare.
 */
export function runMatrix(cases: readonly BenchCase[], ops: number | undefined, progress: (line: string) => void): MatrixRun {
  const rows: BenchRow[] = [];
  const skipped: SkippedCase[] = [];
  cases.forEach((benchCase, index) => {
    const startedMs = performance.now();
    const label = `[${index + 1}/${cases.length}] ${benchCase.algorithm.name} n=${benchCase.nodes} ${benchCase.scenario} seed ${benchCase.seed}`;
    const options = { algorithm: benchCase.algorithm, nodes: benchCase.nodes, scenario: benchCase.scenario, seed: benchCase.seed, ...(ops !== undefined ? { ops } : {}) };
    const fit = applicability(options);
    if (!fit.applicable) {
      progress(`${label} ... skipped, not applicable: ${fit.reason}`);
      skipped.push({ algo: benchCase.algorithm.name, nodes: benchCase.nodes, scenario: benchCase.scenario, seed: benchCase.seed, reason: fit.reason });
      return;
    }
    const { report } = simulate(options, checkRun);
    const wallSeconds = (performance.now() - startedMs) / 1000;
    const verdict = report.linearizable === null ? "unknown" : report.linearizable ? "linearizable" : "NOT linearizable";
    progress(`${label} ... ${wallSeconds.toFixed(2)} s, ${verdict}, ${report.invariantViolations.length} violations`);
    rows.push({ comparison: benchCase.comparison, report });
  });
  return { rows, skipped };
}
