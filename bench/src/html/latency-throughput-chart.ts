import { type Chart, chartWidthPx, seriesColorScheme, vegaLiteSchemaUrl } from "./chart.ts";
import { groupBy, spreadOf } from "./spread.ts";

/** LoadStep is one seed's run at one offered load of an open-loop sweep. */
export interface LoadStep {
  readonly offeredOpsPerSec: number;
  readonly seed: number;
  readonly achievedOpsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
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

/**
 * latencyThroughputChart draws the classic latency-throughput curves: offered
 * load against p50 (solid) and p99 (dashed) latency, median across seeds with a
 * min–max band, one colour per cluster, on a logarithmic latency axis (latency
 * grows without bound past saturation). The measured saturation point is a
 * solid vertical rule, the model's a dotted one.
 */
export function latencyThroughputChart(curves: readonly LatencyThroughputCurve[]): Chart {
  const rows: Record<string, string | number>[] = [];
  for (const curve of curves) {
    for (const [offered, steps] of groupBy(curve.steps, (step) => String(step.offeredOpsPerSec))) {
      for (const percentile of ["p50", "p99"] as const) {
        const spread = spreadOf(steps.map((step) => (percentile === "p50" ? step.p50Ms : step.p99Ms)));
        // Log scales cannot place zero: a latency below a microsecond is drawn at one.
        const floor = (value: number): number => Math.max(value, 0.001);
        rows.push({ layer: "curve", series: curve.series, percentile, offered: Number(offered), median: floor(spread.median), min: floor(spread.min), max: floor(spread.max), achieved: spreadOf(steps.map((step) => step.achievedOpsPerSec)).median });
      }
    }
    if (curve.saturationOpsPerSec !== undefined) rows.push({ layer: "saturation", series: curve.series, source: "measured", offered: curve.saturationOpsPerSec });
    if (curve.predictedSaturationOpsPerSec !== undefined) rows.push({ layer: "saturation", series: curve.series, source: "predicted (queueing model)", offered: curve.predictedSaturationOpsPerSec });
  }
  const xTitle = "offered load (ops/s)";
  const yTitle = "latency (ms, log scale)";
  const x = { field: "offered", type: "quantitative", title: xTitle } as const;
  const y = { type: "quantitative", title: yTitle, scale: { type: "log" } } as const;
  const color = { field: "series", type: "nominal", title: "cluster", sort: null, scale: { scheme: seriesColorScheme }, legend: { symbolType: "stroke", symbolOpacity: 1, symbolStrokeWidth: 2.5 } } as const;
  const curve = (filter: string): { filter: string }[] => [{ filter: `datum.layer === 'curve' && ${filter}` }];
  return {
    id: "latency-throughput",
    title: "Latency against offered load",
    howToRead:
      "Each cluster is driven open-loop at a ladder of offered loads. Solid lines are p50 latency, dashed lines p99 (median across seeds, band min–max). Latency stays flat until the cluster saturates, then climbs steeply; the solid vertical rule marks the measured saturation point, the dotted one the queueing model's prediction.",
    axisTitles: [xTitle, yTitle],
    notes: [],
    spec: {
      $schema: vegaLiteSchemaUrl,
      width: chartWidthPx,
      height: 340,
      data: { values: rows },
      layer: [
        { transform: curve("true"), mark: { type: "area", opacity: 0.15 }, encoding: { x, y: { ...y, field: "min" }, y2: { field: "max" }, color, detail: { field: "percentile", type: "nominal" } } },
        {
          transform: curve("true"),
          mark: { type: "line", point: true, strokeWidth: 1.8, tooltip: true },
          encoding: { x, y: { ...y, field: "median" }, color, strokeDash: { field: "percentile", type: "nominal", title: "percentile", legend: { symbolType: "stroke", symbolStrokeColor: "#333", symbolStrokeWidth: 2 }, scale: { domain: ["p50", "p99"], range: [[1, 0], [6, 3]] } } },
        },
        // Vega warns of an infinite extent for a layer with no rows: the rules only when a saturation point is known.
        ...(rows.some((row) => row["layer"] === "saturation") ? [{
          transform: [{ filter: "datum.layer === 'saturation'" }],
          mark: { type: "rule" as const, strokeWidth: 1.5, tooltip: true },
          encoding: { x, color, strokeDash: { field: "source", type: "nominal" as const, title: "saturation point", legend: { symbolType: "stroke", symbolStrokeColor: "#333", symbolStrokeWidth: 2 }, scale: { domain: ["measured", "predicted (queueing model)"], range: [[1, 0], [2, 2]] } } },
        }] : []),
      ],
      resolve: { scale: { strokeDash: "independent" } },
    },
  };
}
