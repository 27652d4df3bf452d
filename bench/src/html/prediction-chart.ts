import { type Chart, algorithmColorEncoding, algorithmOf, chartWidthPx, vegaLiteSchemaUrl } from "./chart.ts";
import type { SpreadFigure } from "./latency-throughput-chart.ts";

/** PredictionRatio is one cell's measured / predicted ratio of one figure, across seeds. */
export interface PredictionRatio {
  readonly series: string;
  readonly scenario: string;
  /** figure names what was predicted, e.g. "messages per operation". */
  readonly figure: string;
  readonly ratio: SpreadFigure;
}

/**
 * predictionRatioChart draws each cell's measured / predicted ratio as a dot
 * (median across seeds) with min–max whiskers, one panel per figure, one row
 * per cluster and one colour per scenario, against a rule at 1 (the model
 * exact). The axis is logarithmic, so twice and half the prediction lie
 * equally far from it.
 */
export function predictionRatioChart(ratios: readonly PredictionRatio[]): Chart {
  const rows = ratios
    .filter((entry) => entry.ratio.min > 0)
    .map((entry) => ({ layer: "ratio", series: entry.series, algo: algorithmOf(entry.series), scenario: entry.scenario, figure: entry.figure, median: entry.ratio.median, min: entry.ratio.min, max: entry.ratio.max }));
  const figures = [...new Set(ratios.map((entry) => entry.figure))];
  const dropped = ratios.length - rows.length;
  const xTitle = "measured / predicted (log scale)";
  const yTitle = "cluster";
  const x = { type: "quantitative" as const, title: xTitle, scale: { type: "log" as const } };
  const y = { field: "series", type: "nominal", title: yTitle, sort: null } as const;
  const color = algorithmColorEncoding(rows.map((row) => row.algo));
  const scenarios = [...new Set(rows.map((row) => row.scenario))];
  const shape = { field: "scenario", type: "nominal", title: "scenario", sort: scenarios } as const;
  return {
    id: "prediction-ratios",
    title: "Measured against predicted, per cell",
    howToRead:
      "Each dot is one cell's measured figure over the analytic prediction for that protocol at that n (median across seeds, whiskers min–max), in its algorithm's colour (the same in every chart), shaped by scenario; the grey rule at 1 is the model exact. Right of it the run did more than the model counts (retries, elections, faults), left of it less (batching).",
    axisTitles: [xTitle, yTitle],
    notes: dropped > 0 ? [`${dropped} ratio${dropped === 1 ? "" : "s"} of zero left out (a log axis cannot place them)`] : [],
    spec: {
      $schema: vegaLiteSchemaUrl,
      data: { values: rows },
      facet: { column: { field: "figure", type: "nominal", title: null, sort: figures, header: { labelFontWeight: "bold" } } },
      spec: {
        width: Math.floor((chartWidthPx - 260) / Math.max(1, figures.length)),
        height: { step: 16 },
        layer: [
          { mark: { type: "rule", color: "#888", strokeDash: [4, 3] }, encoding: { x: { datum: 1, type: "quantitative", scale: { type: "log" } } } },
          { mark: { type: "rule", opacity: 0.7 }, encoding: { y, x: { ...x, field: "min" }, x2: { field: "max" }, color } },
          { mark: { type: "point", filled: true, size: 40, tooltip: true }, encoding: { y, x: { ...x, field: "median" }, color, shape } },
        ],
      },
    },
  };
}
