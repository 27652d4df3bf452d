import { type Chart, algorithmColorEncoding, algorithmOf, chartWidthPx, vegaLiteSchemaUrl } from "./chart.ts";
import { groupBy, spreadOf } from "./spread.ts";

/** FaultRecovery is how long one seed's cluster took to recover from one fault; null when it had not recovered when the run ended. */
export interface FaultRecovery {
  readonly series: string;
  readonly scenario: string;
  /** fault names the fault, e.g. "crash of the leader at 2.0 s"; seeds of a scenario share the names. */
  readonly fault: string;
  readonly seed: number;
  /** toFirstCommitMs runs from the fault to the first operation committed after it. */
  readonly toFirstCommitMs: number | null;
  /** toThroughputMs runs from the fault until throughput is back to 90% of its level before the fault. */
  readonly toThroughputMs: number | null;
}

/** recoveryMeasures are the two clocks the chart shows, in the order its panels read. */
const recoveryMeasures = [
  { name: "until the first commit", value: (run: FaultRecovery) => run.toFirstCommitMs },
  { name: "until throughput is back to 90%", value: (run: FaultRecovery) => run.toThroughputMs },
] as const;

/**
 * recoveryChart draws, per scenario and fault, one bar per cluster for each
 * clock (to the first commit, to 90% of the throughput before the fault): the
 * median across the seeds that recovered, with min–max error bars. Seeds that
 * never recovered are listed in the chart's notes, since a bar cannot show them.
 */
export function recoveryChart(runs: readonly FaultRecovery[]): Chart {
  const rows: Record<string, string | number>[] = [];
  for (const [, cell] of groupBy(runs, (run) => `${run.scenario}\u0000${run.fault}\u0000${run.series}`)) {
    const first = cell[0] as FaultRecovery;
    for (const measure of recoveryMeasures) {
      const recovered = cell.flatMap((run) => {
        const value = measure.value(run);
        return value === null ? [] : [value];
      });
      if (recovered.length === 0) continue;
      const spread = spreadOf(recovered);
      rows.push({ panel: `${first.scenario}: ${first.fault}`, measure: measure.name, series: first.series, algo: algorithmOf(first.series), median: spread.median, min: spread.min, max: spread.max, seeds: `${recovered.length} of ${cell.length}` });
    }
  }
  const xTitle = "time to recover (virtual ms)";
  const yTitle = "cluster";
  const y = { field: "series", type: "nominal", title: yTitle, sort: null } as const;
  const x = { type: "quantitative", title: xTitle } as const;
  const measures = recoveryMeasures.map((measure) => measure.name);
  return {
    id: "recovery",
    notes: unrecoveredNotes(runs),
    title: "Recovery after each fault",
    howToRead:
      "Bars in each algorithm's colour (the same in every chart). For each fault, how long each cluster took from the fault to its first commit after it (left) and until its throughput was back to 90% of the level before the fault (right): the median across seeds that recovered, whiskers min–max. Shorter is better; seeds with no recovery before the workload ended are listed above the chart.",
    axisTitles: [xTitle, yTitle],
    spec: {
      $schema: vegaLiteSchemaUrl,
      data: { values: rows },
      facet: {
        row: { field: "panel", type: "nominal", title: null, sort: null, header: { labelAngle: 0, labelAlign: "left", labelAnchor: "start", labelOrient: "top", labelFontWeight: "bold", labelLimit: 600 } },
        column: { field: "measure", type: "nominal", title: null, sort: measures },
      },
      spec: {
        width: Math.floor((chartWidthPx - 200) / 2),
        height: { step: 18 },
        layer: [
          { mark: { type: "bar", tooltip: true }, encoding: { y, x: { ...x, field: "median" }, color: algorithmColorEncoding(rows.map((row) => String(row["algo"]))) } },
          { mark: { type: "errorbar", ticks: true, color: "black" }, encoding: { y, x: { ...x, field: "min" }, x2: { field: "max" } } },
        ],
      },
    },
  };
}

/**
 * unrecoveredNotes says which seeds had no recovery time, one line per
 * scenario, fault and clock: "every cluster, every seed" when none recovered
 * (a fault that lasts to the end, such as a lossy link), else the clusters
 * and their seeds.
 */
function unrecoveredNotes(runs: readonly FaultRecovery[]): string[] {
  const notes: string[] = [];
  for (const [, panel] of groupBy(runs, (run) => `${run.scenario}\u0000${run.fault}`)) {
    const first = panel[0] as FaultRecovery;
    for (const measure of recoveryMeasures) {
      const stuck = panel.filter((run) => measure.value(run) === null);
      if (stuck.length === 0) continue;
      const where = `${first.scenario}, ${first.fault}: no recovery ${measure.name} before the workload ended`;
      if (stuck.length === panel.length) {
        notes.push(`${where}, for every cluster on every seed`);
        continue;
      }
      const bySeries = [...groupBy(stuck, (run) => run.series)].map(([series, seeds]) => `${series} (seed${seeds.length > 1 ? "s" : ""} ${seeds.map((run) => run.seed).join(", ")})`);
      notes.push(`${where}, for ${bySeries.join("; ")}`);
    }
  }
  return notes;
}
