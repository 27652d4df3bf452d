import { type Chart, algorithmColorEncoding, algorithmOf, chartId, chartWidthPx, vegaLiteSchemaUrl } from "./chart.ts";
import { groupBy, spreadOf } from "./spread.ts";

/** groupDashes draw the comparison groups: the first solid, then dashed, dotted, dash-dotted. */
const groupDashes: readonly number[][] = [[1, 0], [6, 3], [2, 2], [6, 2, 2, 2]];

/** groupOf reads a cluster's first comparison group off its label ("pbft n=4 (f=1, n=4)" is f=1). */
function groupOf(series: string): string {
  return /\(([^,)]+)/.exec(series)?.[1] ?? series;
}

/** LatencyQuantiles is one seed's latency distribution: the latency under which each fraction of completed operations finished. */
export interface LatencyQuantiles {
  readonly series: string;
  readonly seed: number;
  /** quantiles, fractions in [0, 1]; seeds of one series share the fractions. */
  readonly quantiles: readonly { readonly fraction: number; readonly latencyMs: number }[];
}

/** LatencyCdfInput is one scenario's distributions. */
export interface LatencyCdfInput {
  readonly scenario: string;
  readonly runs: readonly LatencyQuantiles[];
}

/**
 * latencyCdfChart draws each series' latency CDF: the median latency across
 * seeds at each fraction as a line, the min–max across seeds as a band. The
 * latency axis is logarithmic when the tail is more than 20 times the head,
 * which fault scenarios make common, so the body of the curve stays readable.
 */
export function latencyCdfChart(input: LatencyCdfInput): Chart {
  const rows: Record<string, string | number>[] = [];
  const notes: string[] = [];
  for (const [series, runs] of groupBy(input.runs, (run) => run.series)) {
    const byFraction = groupBy(
      runs.flatMap((run) => run.quantiles),
      (point) => String(point.fraction),
    );
    if (byFraction.size === 0) notes.push(`${series}: no completed operations, so no latency distribution`);
    for (const [fraction, points] of byFraction) {
      const spread = spreadOf(points.map((point) => point.latencyMs));
      rows.push({ series, algo: algorithmOf(series), group: groupOf(series), fraction: Number(fraction), median: spread.median, min: spread.min, max: spread.max });
    }
  }
  const latencies = rows.flatMap((row) => [Number(row["min"]), Number(row["max"])]);
  const smallest = Math.min(...latencies);
  const logarithmic = smallest > 0 && Math.max(...latencies) / smallest > 20;
  const xTitle = logarithmic ? "latency (ms, log scale)" : "latency (ms)";
  const yTitle = "operations completed within (%)";
  const x = { type: "quantitative", title: xTitle, scale: { type: logarithmic ? "log" : "linear" } } as const;
  const y = { field: "fraction", type: "quantitative" as const, title: yTitle, axis: { format: ".0%" }, scale: { domain: [0, 1] } };
  const color = algorithmColorEncoding(rows.map((row) => String(row["algo"])), { symbolType: "stroke", symbolOpacity: 1, symbolStrokeWidth: 2.5 });
  const groups = [...new Set(rows.map((row) => String(row["group"])))];
  const strokeDash = { field: "group", type: "nominal", title: "comparison group", sort: groups, scale: { domain: groups, range: groups.map((_, index) => groupDashes[index % groupDashes.length] as number[]) }, legend: { symbolType: "stroke", symbolStrokeColor: "#333", symbolStrokeWidth: 2, symbolOpacity: 1, symbolSize: 400 } } as const;
  return {
    id: chartId("latency-cdf", input.scenario),
    title: `Latency distribution: ${input.scenario}`,
    howToRead:
      "For each latency on the horizontal axis, the share of completed operations that finished within it (higher and further left is better). Colour is the algorithm (the same in every chart), the dash the comparison group its cluster size stands in; the line is the median across seeds, the band the min–max across seeds; where the line flattens near 100% is the tail (p99, max).",
    axisTitles: [xTitle, yTitle],
    notes,
    spec: {
      $schema: vegaLiteSchemaUrl,
      width: chartWidthPx,
      height: 300,
      data: { values: rows },
      layer: [
        { mark: { type: "area", orient: "horizontal", opacity: 0.2 }, encoding: { y, x: { ...x, field: "min" }, x2: { field: "max" }, color, detail: { field: "series", type: "nominal" } } },
        { mark: { type: "line", strokeWidth: 1.8, tooltip: true }, encoding: { y, x: { ...x, field: "median" }, color, strokeDash, detail: { field: "series", type: "nominal" }, order: { field: "fraction" } } },
      ],
    },
  };
}
