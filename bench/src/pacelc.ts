// The PACELC table, measured (issue 15): for every algorithm and read level
// (or option variant), in one run of the matrix, the E of PACELC (with no
// partition, read and write latency against consistency: the `steady`
// scenario) and the P (during a partition, availability on the majority and
// on the minority side: the `partition` scenario), with the checker's verdict
// over both. It reads the matrix's own cells, so it costs no run of its own
// beyond the variants' cells (matrix.ts's pacelcVariants).
import { pacelcScenarios } from "./matrix.ts";
import type { ApplicableCell, BenchCell, PacelcRow } from "./results-schema.ts";
import { spreadOf } from "./summary.ts";

function verdictText(runs: number, linearizable: number, notLinearizable: number, undecided: number, broken: number): string {
  const undecidedText = undecided > 0 ? `, ${undecided} undecided` : "";
  if (broken > 0) return `BROKE a guarantee in ${broken} of ${runs} runs`;
  if (notLinearizable === 0) return `linearizable: ${linearizable} of ${runs} runs${undecidedText}`;
  return `not linearizable: ${notLinearizable} of ${runs} runs (promises none)${undecidedText}`;
}

/**
 * pacelcTable builds the table from the matrix's cells: per algorithm and
 * variant, its smallest cluster's cells in the steady and partition
 * scenarios (the f = 1 size where the matrix has that group, the baseline's
 * one node for solo). A row is made when either scenario ran.
 */
export function pacelcTable(cells: readonly BenchCell[]): PacelcRow[] {
  const chosen = new Map<string, { algo: string; variant: ApplicableCell["variant"]; cells: Map<string, ApplicableCell> }>();
  for (const cell of cells) {
    if (!cell.applicable || !pacelcScenarios.includes(cell.scenario)) continue;
    const key = `${cell.algo}\u0000${cell.variant?.name ?? ""}`;
    const entry = chosen.get(key) ?? { algo: cell.algo, variant: cell.variant, cells: new Map<string, ApplicableCell>() };
    const current = entry.cells.get(cell.scenario);
    if (current === undefined || cell.nodes < current.nodes) entry.cells.set(cell.scenario, cell);
    chosen.set(key, entry);
  }
  // An algorithm's rows together, its defaults first, in the order the matrix lists the algorithms.
  const algorithmOrder = [...new Set(cells.map((cell) => cell.algo))];
  const entries = [...chosen.values()].sort((a, b) => algorithmOrder.indexOf(a.algo) - algorithmOrder.indexOf(b.algo) || Number(a.variant !== undefined) - Number(b.variant !== undefined));
  return entries.map(({ algo, variant, cells: byScenario }) => {
    const steady = byScenario.get("steady");
    const partition = byScenario.get("partition");
    const runs = [...(steady?.runs ?? []), ...(partition?.runs ?? [])];
    const linearizable = runs.filter((run) => run.verdict.linearizable === true).length;
    const notLinearizable = runs.filter((run) => run.verdict.linearizable === false).length;
    const undecided = runs.length - linearizable - notLinearizable;
    const broken = runs.filter((run) => run.verdict.broken.length > 0).length;
    return {
      algo,
      variant: variant?.name ?? null,
      readLevel: runs[0]?.readLevel.served ?? variant?.readLevel ?? null,
      nodes: (steady ?? partition)?.nodes ?? 1,
      noPartition:
        steady === undefined
          ? null
          : {
              scenario: steady.scenario,
              seeds: steady.runs.length,
              readP50Ms: spreadOf(steady.runs.map((run) => run.latencyByKind.read?.p50 ?? null)),
              readP99Ms: spreadOf(steady.runs.map((run) => run.latencyByKind.read?.p99 ?? null)),
              writeP50Ms: spreadOf(steady.runs.map((run) => run.latencyByKind.write?.p50 ?? null)),
              writeP99Ms: spreadOf(steady.runs.map((run) => run.latencyByKind.write?.p99 ?? null)),
            },
      partition:
        partition === undefined
          ? null
          : { scenario: partition.scenario, seeds: partition.runs.length, minoritySide: partition.summary.availability.isolatedSide, majoritySide: partition.summary.availability.otherSide },
      verdict: { runs: runs.length, linearizable, notLinearizable, undecided, broken, text: verdictText(runs.length, linearizable, notLinearizable, undecided, broken) },
    };
  });
}
