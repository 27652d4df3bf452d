import { type Chart, algorithmColorEncoding, algorithmOf, chartWidthPx, vegaLiteSchemaUrl } from "./chart.ts";
import { groupBy, spreadOf } from "./spread.ts";

/** SideAvailability is one seed's availability on one side of a partition: the share of operations invoked there during it that succeeded. */
export interface SideAvailability {
  readonly series: string;
  readonly scenario: string;
  /** side names the side, e.g. "majority" or "minority"; the chart keeps the order in which sides first appear. */
  readonly side: string;
  readonly seed: number;
  /** availableShare, in [0, 1]. */
  readonly availableShare: number;
}

/**
 * availabilityChart draws, per partition scenario, one bar per cluster and
 * partition side: the median share of operations that succeeded on that side
 * during the partition, with min–max error bars across seeds.
 */
export function availabilityChart(runs: readonly SideAvailability[]): Chart {
  const rows: Record<string, string | number>[] = [];
  for (const [, cell] of groupBy(runs, (run) => `${run.scenario}\u0000${run.series}\u0000${run.side}`)) {
    const first = cell[0] as SideAvailability;
    const spread = spreadOf(cell.map((run) => run.availableShare));
    rows.push({ scenario: first.scenario, series: first.series, side: first.side, median: spread.median, min: spread.min, max: spread.max });
  }
  const sides = [...new Set(runs.map((run) => run.side))];
  const xTitle = "operations ok during the partition";
  const yTitle = "cluster";
  const y = { field: "series", type: "nominal", title: yTitle, sort: null } as const;
  for (const row of rows) row["algo"] = algorithmOf(String(row["series"]));
  const color = algorithmColorEncoding(rows.map((row) => String(row["algo"])));
  const x = { type: "quantitative" as const, title: xTitle, axis: { format: ".0%" }, scale: { domain: [0, 1] } };
  return {
    id: "availability",
    title: "Availability on each side of a partition",
    howToRead:
      "Bars in each algorithm's colour (the same in every chart), a column per side. For each partition scenario, the share of operations invoked on each side of the partition while it lasted that succeeded (median across seeds, whiskers min–max). A quorum-based protocol should keep the majority side available and refuse on the minority side rather than answer wrongly.",
    axisTitles: [xTitle, yTitle],
    notes: [],
    spec: {
      $schema: vegaLiteSchemaUrl,
      data: { values: rows },
      facet: {
        row: { field: "scenario", type: "nominal", title: null, sort: null, header: { labelAngle: 0, labelAlign: "left", labelAnchor: "start", labelOrient: "top", labelFontWeight: "bold" } },
        column: { field: "side", type: "nominal", title: "partition side", sort: sides },
      },
      spec: {
        width: Math.floor((chartWidthPx - 200) / Math.max(1, sides.length)),
        height: { step: 18 },
        layer: [
          { mark: { type: "bar", tooltip: true }, encoding: { y, x: { ...x, field: "median" }, color } },
          { mark: { type: "errorbar", ticks: true, color: "black" }, encoding: { y, x: { ...x, field: "min" }, x2: { field: "max" } } },
        ],
      },
    },
  };
}
