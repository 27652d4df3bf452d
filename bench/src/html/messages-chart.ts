import { type Chart, chartId, chartWidthPx, vegaLiteSchemaUrl } from "./chart.ts";
import { groupBy, spreadOf } from "./spread.ts";

/** MessagesRun is one seed's messages per committed operation, split by message type. */
export interface MessagesRun {
  readonly series: string;
  readonly scenario: string;
  readonly seed: number;
  readonly byType: readonly { readonly type: string; readonly perOp: number }[];
}

/** MessagesPerOpInput is the runs of one chart: one algorithm's clusters in every scenario, since each protocol has its own message types (the default matrix has 33 in all, more than any palette tells apart). */
export interface MessagesPerOpInput {
  /** label names the chart, e.g. the algorithm. */
  readonly label: string;
  readonly runs: readonly MessagesRun[];
}

/**
 * messagesPerOpChart draws one horizontal bar per cluster and scenario, stacked
 * by message type (each segment the median across seeds of that type's
 * messages per operation), with a whisker over the min–max across seeds of
 * the total.
 */
export function messagesPerOpChart(input: MessagesPerOpInput): Chart {
  const rows: Record<string, string | number>[] = [];
  for (const [, cell] of groupBy(input.runs, (run) => `${run.scenario}\u0000${run.series}`)) {
    const first = cell[0] as MessagesRun;
    const byType = groupBy(
      cell.flatMap((run) => run.byType),
      (entry) => entry.type,
    );
    for (const [type, entries] of byType) {
      // A seed that sent no message of a type still counts, as a zero, in that type's median.
      const values = [...entries.map((entry) => entry.perOp), ...new Array<number>(cell.length - entries.length).fill(0)];
      rows.push({ layer: "type", scenario: first.scenario, series: first.series, type, perOp: spreadOf(values).median });
    }
    const totals = spreadOf(cell.map((run) => run.byType.reduce((sum, entry) => sum + entry.perOp, 0)));
    rows.push({ layer: "total", scenario: first.scenario, series: first.series, median: totals.median, min: totals.min, max: totals.max });
  }
  const xTitle = "messages per committed operation";
  const yTitle = "cluster";
  const y = { field: "series", type: "nominal", title: yTitle, sort: null } as const;
  return {
    id: chartId("messages", input.label),
    title: `Messages per operation, by message type: ${input.label}`,
    howToRead:
      "Each bar counts every message sent (client requests and replies included) per committed operation, stacked by message type: each segment is that type's median across seeds; the black whisker spans the min–max of the total across seeds. Longer bars cost the network more per operation.",
    axisTitles: [xTitle, yTitle],
    notes: [],
    spec: {
      $schema: vegaLiteSchemaUrl,
      data: { values: rows },
      facet: { row: { field: "scenario", type: "nominal", title: null, sort: null, header: { labelAngle: 0, labelAlign: "left", labelAnchor: "start", labelOrient: "top", labelFontWeight: "bold" } } },
      spec: {
        width: chartWidthPx - 160,
        height: { step: 16 },
        layer: [
          {
            transform: [{ filter: "datum.layer === 'type'" }],
            mark: { type: "bar", tooltip: true },
            encoding: { y, x: { field: "perOp", type: "quantitative", stack: "zero", title: xTitle }, color: { field: "type", type: "nominal", title: "message type", scale: { scheme: "category20" } } },
          },
          {
            transform: [{ filter: "datum.layer === 'total'" }],
            mark: { type: "errorbar", ticks: true, color: "black" },
            encoding: { y, x: { field: "min", type: "quantitative", title: xTitle }, x2: { field: "max" } },
          },
        ],
      },
    },
  };
}
