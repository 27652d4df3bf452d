import { type Chart, algorithmColorEncoding, vegaLiteSchemaUrl } from "./chart.ts";
import type { SpreadFigure } from "./latency-throughput-chart.ts";

/** ScalabilityPoint is one algorithm at one cluster size: its figures across seeds, with the analytic predictions when there are any. */
export interface ScalabilityPoint {
  readonly algo: string;
  readonly nodes: number;
  readonly messagesPerOp: SpreadFigure;
  readonly peakThroughputOpsPerSec: SpreadFigure;
  readonly predictedMessagesPerOp?: number;
  readonly predictedPeakThroughputOpsPerSec?: number;
}

/**
 * scalabilityChart draws two panels against the cluster size n: messages per
 * operation and peak throughput, each a line through the median across seeds
 * with min–max error bars, and the analytic prediction dashed beside it.
 */
export function scalabilityChart(points: readonly ScalabilityPoint[]): Chart {
  const rows: Record<string, string | number>[] = [];
  for (const point of points) {
    const measures = [
      { measure: "messages", figure: point.messagesPerOp, predicted: point.predictedMessagesPerOp },
      { measure: "peak", figure: point.peakThroughputOpsPerSec, predicted: point.predictedPeakThroughputOpsPerSec },
    ];
    for (const { measure, figure, predicted } of measures) {
      rows.push({ measure, algo: point.algo, nodes: point.nodes, source: "measured", median: figure.median, min: figure.min, max: figure.max });
      if (predicted !== undefined) rows.push({ measure, algo: point.algo, nodes: point.nodes, source: "predicted", median: predicted, min: predicted, max: predicted });
    }
  }
  const xTitle = "cluster size n (replicas)";
  const messagesTitle = "messages per operation";
  const peakTitle = "peak throughput (ops/s)";
  const color = algorithmColorEncoding(rows.map((row) => String(row["algo"])));
  const sources = rows.some((row) => row["source"] === "predicted") ? ["measured", "predicted"] : ["measured"];
  const panel = (measure: string, yTitle: string) => ({
    width: 360,
    height: 260,
    transform: [{ filter: `datum.measure === '${measure}'` }],
    layer: [
      {
        mark: { type: "line" as const },
        encoding: {
          x: { field: "nodes", type: "quantitative" as const, title: xTitle, axis: { tickMinStep: 1 }, scale: { zero: false } },
          y: { field: "median", type: "quantitative" as const, title: yTitle },
          color,
          strokeDash: { field: "source", type: "nominal" as const, title: "figure", legend: { symbolType: "stroke", symbolStrokeColor: "#333", symbolStrokeWidth: 2, symbolOpacity: 1, symbolSize: 400 }, scale: { domain: sources, range: [[1, 0], [5, 4]].slice(0, sources.length) } },
        },
      },
      // Points apart from the lines: a line with point markers draws its dash legend's symbols blank.
      {
        mark: { type: "point" as const, filled: true, size: 30, tooltip: true },
        encoding: { x: { field: "nodes", type: "quantitative" as const, title: xTitle }, y: { field: "median", type: "quantitative" as const, title: yTitle }, color },
      },
      {
        transform: [{ filter: "datum.source === 'measured'" }],
        mark: { type: "errorbar" as const, ticks: true },
        encoding: { x: { field: "nodes", type: "quantitative" as const, title: xTitle }, y: { field: "min", type: "quantitative" as const, title: yTitle }, y2: { field: "max" }, color },
      },
    ],
  });
  return {
    id: "scalability",
    title: "Scalability in n",
    howToRead:
      "Left: messages per operation against the cluster size; right: the highest throughput the rate ladder reached. Points are the median across seeds with min–max error bars; dashed lines are the analytic predictions (message count, queueing model). Leader-based protocols grow linearly in n, PBFT's all-to-all phases quadratically.",
    axisTitles: [xTitle, messagesTitle, peakTitle],
    notes: [],
    spec: {
      $schema: vegaLiteSchemaUrl,
      data: { values: rows },
      hconcat: [panel("messages", messagesTitle), panel("peak", peakTitle)],
    },
  };
}
