import { type Chart, algorithmColorEncoding, algorithmOf, chartId, chartWidthPx, faultColors, faultFallbackColor, faultWindowOpacity, instantFaultColor, vegaLiteSchemaUrl } from "./chart.ts";
import { groupBy, spreadOf } from "./spread.ts";

/** ThroughputRun is one seed's throughput over time: completed operations per second in consecutive windows of virtual time. */
export interface ThroughputRun {
  /** series names the cluster, e.g. "raft n=3 (f=1)". */
  readonly series: string;
  readonly seed: number;
  /** samples hold each window's end and its throughput; seeds of one series share the window ends. */
  readonly samples: readonly { readonly timeMs: number; readonly opsPerSec: number }[];
  /** faults are the run's fault windows; an instant fault has `untilMs` equal to `atMs`. */
  readonly faults: readonly { readonly kind: string; readonly atMs: number; readonly untilMs: number }[];
}

/** ThroughputOverTimeInput is one scenario's runs. */
export interface ThroughputOverTimeInput {
  readonly scenario: string;
  /** windowMs is the width of the samples' windows, said in the caption. */
  readonly windowMs: number;
  readonly runs: readonly ThroughputRun[];
}

/**
 * throughputOverTimeChart draws, for each series in its own row, the median
 * throughput across seeds as a line, the min–max across seeds as a band, and
 * every fault window shaded by kind (instant faults as a vertical rule).
 */
export function throughputOverTimeChart(input: ThroughputOverTimeInput): Chart {
  const rows: Record<string, string | number>[] = [];
  const notes: string[] = [];
  const series = groupBy(input.runs, (run) => run.series);
  for (const [name, runs] of series) {
    const byTime = groupBy(
      runs.flatMap((run) => run.samples),
      (sample) => String(sample.timeMs),
    );
    if (byTime.size === 0) notes.push(`${name}: no throughput samples`);
    for (const [time, samples] of byTime) {
      const spread = spreadOf(samples.map((sample) => sample.opsPerSec));
      rows.push({ layer: "throughput", series: name, algo: algorithmOf(name), timeS: Number(time) / 1000, median: spread.median, min: spread.min, max: spread.max });
    }
    // Seeds of a scripted scenario share their fault windows: draw each distinct window once.
    const windows = new Map<string, { kind: string; atMs: number; untilMs: number }>();
    for (const fault of runs.flatMap((run) => run.faults)) windows.set(`${fault.kind}@${fault.atMs}-${fault.untilMs}`, fault);
    for (const fault of windows.values()) {
      // A window's kind and an instant's are fields apart, so that each gets a legend of its own (fills; dashes).
      const window = fault.untilMs > fault.atMs;
      rows.push({ layer: window ? "window" : "instant", series: name, [window ? "kind" : "instantKind"]: fault.kind, startS: fault.atMs / 1000, endS: fault.untilMs / 1000 });
    }
  }
  const hasLayer = (layer: string): boolean => rows.some((row) => row["layer"] === layer);
  const x = { field: "timeS", type: "quantitative", title: "virtual time (s)" } as const;
  // A short title: each panel is 70 px high, and a longer one ran into the next row's.
  const y = { type: "quantitative", title: "ops/s" } as const;
  const windowKinds = [...new Set(rows.flatMap((row) => (row["layer"] === "window" ? [String(row["kind"])] : [])))];
  const fault = { field: "kind", type: "nominal", title: "fault window", scale: { domain: windowKinds, range: windowKinds.map((kind) => faultColors[kind] ?? faultFallbackColor) } } as const;
  const instantKinds = [...new Set(rows.flatMap((row) => (row["layer"] === "instant" ? [String(row["instantKind"])] : [])))];
  const dashes = [[1, 0], [4, 3], [1, 2], [6, 2, 1, 2]];
  const instant = {
    field: "instantKind",
    type: "nominal",
    title: "instant fault",
    scale: { domain: instantKinds, range: instantKinds.map((_, index) => dashes[index % dashes.length]) },
    legend: { symbolType: "stroke", symbolStrokeColor: instantFaultColor, symbolStrokeWidth: 1.5 },
  } as const;
  const algorithm = algorithmColorEncoding(rows.flatMap((row) => (row["layer"] === "throughput" ? [String(row["algo"])] : [])));
  return {
    id: chartId("throughput", input.scenario),
    title: `Throughput over time: ${input.scenario}`,
    howToRead:
      `One panel per cluster, in its algorithm's colour (the same in every chart). The line is the median throughput across seeds in each ${input.windowMs} ms window of virtual time, the grey band its min–max across seeds; shaded spans are fault windows (yellow: a node's fault; violet: the network's), dark vertical rules instant faults (dashed by kind). A dip inside a window and the climb after it are what the recovery chart measures.`,
    axisTitles: [x.title, y.title],
    notes,
    spec: {
      $schema: vegaLiteSchemaUrl,
      data: { values: rows },
      // Two clusters a row: a scenario of the default matrix has sixteen, which in one column would fill three screens.
      // The panels in the order of the runs given (the matrix's: the solo baseline, then each algorithm as every table lists it).
      facet: { field: "series", type: "nominal", title: null, sort: [...series.keys()], header: { labelAngle: 0, labelAlign: "left", labelAnchor: "start", labelOrient: "top", labelFontWeight: "bold" } },
      columns: 2,
      spec: {
        width: Math.floor((chartWidthPx - 20) / 2),
        height: 70,
        // A layer with no rows draws nothing but makes Vega warn of an infinite extent: leave out fault layers a scenario lacks.
        layer: [
          ...(hasLayer("window") ? [{ transform: [{ filter: "datum.layer === 'window'" }], mark: { type: "rect" as const, opacity: faultWindowOpacity }, encoding: { x: { field: "startS", type: "quantitative" as const, title: x.title }, x2: { field: "endS" }, fill: fault } }] : []),
          ...(hasLayer("instant")
            ? [{ transform: [{ filter: "datum.layer === 'instant'" }], mark: { type: "rule" as const, strokeWidth: 1.5, color: instantFaultColor }, encoding: { x: { field: "startS", type: "quantitative" as const, title: x.title }, strokeDash: instant } }]
            : []),
          { transform: [{ filter: "datum.layer === 'throughput'" }], mark: { type: "area", opacity: 0.25, color: "#9aa3b0" }, encoding: { x, y: { ...y, field: "min" }, y2: { field: "max" } } },
          // The line's stroke is the algorithm's colour, a scale and legend apart from the fault windows' fill.
          {
            transform: [{ filter: "datum.layer === 'throughput'" }],
            mark: { type: "line", strokeWidth: 1.8, tooltip: true },
            encoding: { x, y: { ...y, field: "median" }, stroke: algorithm },
          },
        ],
      },
    },
  };
}
