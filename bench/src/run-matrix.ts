import { fileURLToPath } from "node:url";
import { applicability, replayCommand } from "@concord/lab";
import type { CpuModel } from "@concord/sim";
import Tinypool from "tinypool";
import type { MatrixCell } from "./matrix.ts";
import type { Progress } from "./progress.ts";
import type { BenchCell, SeedRun } from "./results-schema.ts";
import { type SeedOutcome, type SeedTask, cpuOverride } from "./seed-run.ts";
import { summarizeCell } from "./summary.ts";

/** RunMatrixOptions say how to run the matrix: operations per run, worker threads, and where progress goes. */
export interface RunMatrixOptions {
  /** ops overrides every scenario's operation count (null: each scenario's own). */
  readonly ops: number | null;
  readonly workers: number;
  readonly progress: Progress;
  /** cpu is the CPU cost model every cell charges, whatever its scenario's own (benchCostModel(): the simulator's calibrated default). */
  readonly cpu: CpuModel;
  /** includeNotApplicable runs the cells not applicable by design too, judged as if they were (--include-not-applicable). */
  readonly includeNotApplicable?: boolean;
}

const workerFile = fileURLToPath(new URL("./cell-worker.mjs", import.meta.url));

/** cellLabel names a cell for people: "raft n=3 leader-crash (f=1)", "quorum n=3 r=1,w=1 partition (pacelc)". */
export function cellLabel(cell: Pick<MatrixCell, "algorithm" | "nodes" | "scenario" | "comparisons" | "variant">): string {
  return `${cell.algorithm.name} n=${cell.nodes}${cell.variant === undefined ? "" : ` ${cell.variant.name}`} ${cell.scenario.name} (${cell.comparisons.join(", ")})`;
}

function cellKey(cell: MatrixCell): Omit<BenchCell, "applicable" | "runs" | "summary" | "reason" | "seeds"> {
  return {
    algo: cell.algorithm.name,
    ...(cell.variant === undefined ? {} : { variant: { name: cell.variant.name, ...(cell.variant.protocolOptions !== undefined ? { protocolOptions: { ...cell.variant.protocolOptions } } : {}), ...(cell.variant.readLevel !== undefined ? { readLevel: cell.variant.readLevel } : {}) } }),
    nodes: cell.nodes,
    f: cell.algorithm.faultsTolerated(cell.nodes),
    faultModel: cell.algorithm.faultModel,
    comparisons: [...cell.comparisons],
    scenario: cell.scenario.name,
  };
}

function doneLine(cell: MatrixCell, runs: readonly SeedRun[], wallMs: number): string {
  const broken = runs.filter((run) => run.verdict.broken.length > 0).map((run) => run.seed);
  const verdict = broken.length > 0 ? `BROKE a guarantee in seed${broken.length > 1 ? "s" : ""} ${broken.join(", ")}` : "every guarantee kept";
  return `${cellLabel(cell)}: ${runs.length} seed${runs.length === 1 ? "" : "s"} in ${(wallMs / 1000).toFixed(1)} s, ${verdict}`;
}

/**
 * runMatrix runs every applicable cell's seeds on a pool of `workers` worker
 * threads and returns the cells in matrix order. A cell the algorithm does
 * not promise to tolerate (Raft against a lying replica, solo's only replica
 * Byzantine) is not run: it is returned with the reason, since its broken
 * guarantees would be the design's, not a bug. The results depend only on
 * the cells and seeds: each run is deterministic and is put back in its
 * place, whichever worker finished it and when.
 */
export async function runMatrix(cells: readonly MatrixCell[], options: RunMatrixOptions): Promise<BenchCell[]> {
  const pool = new Tinypool({ filename: workerFile, minThreads: options.workers, maxThreads: options.workers });
  try {
    const pending = cells.map(async (cell): Promise<BenchCell> => {
      const fit = applicability({ algorithm: cell.algorithm, nodes: cell.nodes, scenario: cell.scenario.run, ...(cell.variant?.protocolOptions !== undefined ? { protocolOptions: cell.variant.protocolOptions } : {}) });
      if (!fit.applicable && options.includeNotApplicable !== true) {
        options.progress.cellDone(`${cellLabel(cell)}: not applicable: ${fit.reason}`);
        return { ...cellKey(cell), applicable: false, reason: fit.reason, seeds: [...cell.seeds] };
      }
      const outcomes = await Promise.all(cell.seeds.map((seed) => runOnPool(pool, cell, seed, options)));
      const runs = outcomes.map((outcome) => outcome.run);
      options.progress.cellDone(doneLine(cell, runs, outcomes.reduce((sum, outcome) => sum + outcome.wallMs, 0)));
      return { ...cellKey(cell), applicable: true, ...(fit.applicable ? {} : { notApplicableByDesign: fit.reason }), runs, summary: summarizeCell(runs) };
    });
    return await Promise.all(pending);
  } finally {
    options.progress.finish();
    await pool.destroy();
  }
}

async function runOnPool(pool: Tinypool, cell: MatrixCell, seed: number, options: RunMatrixOptions): Promise<SeedOutcome> {
  const task: SeedTask = {
    algo: cell.algorithm.name,
    nodes: cell.nodes,
    scenario: cell.scenario.run,
    scenarioFile: cell.scenario.file,
    seed,
    ops: options.ops,
    cpu: options.cpu,
    ...(cell.variant?.protocolOptions !== undefined ? { protocolOptions: { ...cell.variant.protocolOptions } } : {}),
    ...(cell.variant?.readLevel !== undefined ? { readLevel: cell.variant.readLevel } : {}),
  };
  try {
    const outcome = (await pool.run(task)) as SeedOutcome;
    options.progress.runDone(`${cell.algorithm.name} n=${cell.nodes}${cell.variant === undefined ? "" : ` ${cell.variant.name}`} ${cell.scenario.name} seed ${seed}`);
    return outcome;
  } catch (error) {
    const replay = replayCommand({ algo: task.algo, nodes: task.nodes, scenario: task.scenario, seed, ...cpuOverride(task), ...(task.ops !== null ? { ops: task.ops } : {}), ...(task.protocolOptions !== undefined ? { protocolOptions: task.protocolOptions } : {}) }, task.scenarioFile !== null ? { scenarioFile: task.scenarioFile } : {});
    throw new Error(`${cellLabel(cell)} seed ${seed} threw: ${(error as Error).message}; replay: ${replay}`, { cause: error });
  }
}
