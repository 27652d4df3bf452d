import { type Chart, algorithmColorEncoding, algorithmOf, chartWidthPx, vegaLiteSchemaUrl } from "./chart.ts";
import type { Spread } from "./spread.ts";

/** SpreadFigure is a figure across seeds as the sweeps store it: median, min and max. */
export type SpreadFigure = Pick<Spread, "median" | "min" | "max">;

/** LoadStep is one offered load of an open-loop sweep, its figures across seeds. */
export interface LoadStep {
  readonly offeredOpsPerSec: number;
  readonly p50Ms: SpreadFigure;
  readonly p99Ms: SpreadFigure;
  /** modelLatencyMs is the queueing model's latency at this load: null past the model's saturation, absent without a model. */
  readonly modelLatencyMs?: number | null;
}

/** LatencyThroughputCurve is one cluster's rate ladder, with its saturation point (measured, and predicted when a model gives one). */
export interface LatencyThroughputCurve {
  readonly series: string;
  readonly steps: readonly LoadStep[];
  /** saturationOpsPerSec is the offered load past which the cluster stopped keeping up, as the sweep measured it. */
  readonly saturationOpsPerSec?: number;
  /** predictedSaturationOpsPerSec is the queueing model's saturation throughput, drawn beside the measured one. */
  readonly predictedSaturationOpsPerSec?: number;
}

// Log scales cannot place zero: a latency below a microsecond is drawn at one.
const floorMs = (value: number): number => Math.max(value, 0.001);

/**
 * latencyThroughputChart draws the classic latency-throughput curves: offered
 * load against p50 (solid) and p99 (dashed) latency, median across seeds with a
 * min–max band, one colour per cluster, on a logarithmic latency axis (latency
 * grows without bound past saturation), with the queueing model's latency
 * dotted beside them. The measured saturation point is a solid vertical rule,
 * the model's a dotted one.
 */
export function latencyThroughputChart(curves: readonly LatencyThroughputCurve[]): Chart {
  const rows: Record<string, string | number>[] = [];
  for (const curve of curves) {
    for (const step of curve.steps) {
      for (const [percentile, figure] of [["p50", step.p50Ms], ["p99", step.p99Ms]] as const) {
        rows.push({ layer: "curve", series: curve.series, line: `${percentile} measured`, offered: step.offeredOpsPerSec, median: floorMs(figure.median), min: floorMs(figure.min), max: floorMs(figure.max) });
      }
      if (step.modelLatencyMs !== undefined && step.modelLatencyMs !== null) rows.push({ layer: "model", series: curve.series, line: "queueing model", offered: step.offeredOpsPerSec, median: floorMs(step.modelLatencyMs) });
    }
    if (curve.saturationOpsPerSec !== undefined) rows.push({ layer: "saturation", series: curve.series, source: "measured", offered: curve.saturationOpsPerSec });
    if (curve.predictedSaturationOpsPerSec !== undefined) rows.push({ layer: "saturation", series: curve.series, source: "predicted (queueing model)", offered: curve.predictedSaturationOpsPerSec });
  }
  const has = (layer: string): boolean => rows.some((row) => row["layer"] === layer);
  const xTitle = "offered load (ops/s)";
  const yTitle = "latency (ms, log scale)";
  const x = { field: "offered", type: "quantitative", title: xTitle } as const;
  const y = { type: "quantitative", title: yTitle, scale: { type: "log" } } as const;
  for (const row of rows) {
    row["algo"] = algorithmOf(String(row["series"]));
    row["cluster"] = String(row["series"]).replace(/^\S+ /, "");
  }
  const color = algorithmColorEncoding(rows.map((row) => String(row["algo"])), { symbolType: "stroke", symbolOpacity: 1, symbolStrokeWidth: 2.5 });
  // An algorithm's curves at f = 1 and f = 2 share its colour: the points' shape tells the sizes apart.
  const clusters = [...new Set(rows.map((row) => String(row["cluster"])))];
  const shape = { field: "cluster", type: "nominal", title: "cluster size", sort: clusters } as const;
  const series = { field: "series", type: "nominal" } as const;
  const dashLegend = { symbolType: "stroke", symbolStrokeColor: "#333", symbolStrokeWidth: 2, symbolOpacity: 1, symbolSize: 400 } as const;
  const lines = ["p50 measured", "p99 measured", ...(has("model") ? ["queueing model"] : [])];
  const lineDashes = [[1, 0], [6, 3], [1, 3]].slice(0, lines.length);
  return {
    id: "latency-throughput",
    title: "Latency against offered load",
    howToRead:
      "Each cluster is driven open-loop at a ladder of offered loads. Colour is the algorithm (the same in every chart), the points' shape the cluster size. Solid lines are p50 latency, dashed lines p99 (median across seeds, band min–max), dotted lines the queueing model's latency. Latency stays flat until the cluster saturates, then climbs steeply; the solid vertical rule marks the measured saturation point, the dotted one the queueing model's prediction.",
    axisTitles: [xTitle, yTitle],
    notes: [],
    spec: {
      $schema: vegaLiteSchemaUrl,
      width: chartWidthPx,
      height: 340,
      data: { values: rows },
      // Vega warns of an infinite extent for a layer with no rows: the model and rule layers only when there is something to draw.
      layer: [
        { transform: [{ filter: "datum.layer === 'curve'" }], mark: { type: "area", opacity: 0.15 }, encoding: { x, y: { ...y, field: "min" }, y2: { field: "max" }, color, detail: [series, { field: "line", type: "nominal" }] } },
        {
          transform: [{ filter: "datum.layer === 'curve' || datum.layer === 'model'" }],
          mark: { type: "line", strokeWidth: 1.8 },
          encoding: { x, y: { ...y, field: "median" }, color, detail: series, strokeDash: { field: "line", type: "nominal", title: "line", legend: dashLegend, scale: { domain: lines, range: lineDashes } } },
        },
        // The points apart from the lines: a line with point markers draws its dash legend's symbols blank.
        { transform: [{ filter: "datum.layer === 'curve'" }], mark: { type: "point", filled: true, size: 30, tooltip: true }, encoding: { x, y: { ...y, field: "median" }, color, shape, detail: [series, { field: "line", type: "nominal" }] } },
        ...(has("saturation")
          ? [
              {
                transform: [{ filter: "datum.layer === 'saturation'" }],
                mark: { type: "rule" as const, strokeWidth: 1.5, tooltip: true },
                encoding: { x, color, detail: series, strokeDash: { field: "source", type: "nominal" as const, title: "saturation point", legend: dashLegend, scale: { domain: ["measured", "predicted (queueing model)"], range: [[1, 0], [2, 2]] } } },
              },
            ]
          : []),
      ],
      resolve: { scale: { strokeDash: "independent" } },
    },
  };
}
