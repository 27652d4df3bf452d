import type { TopLevelSpec } from "vega-lite";

/**
 * Chart is one figure of report.html: a Vega-Lite spec (plain data, escaped into
 * the page once), what it shows, and how to read it. The browser test reads
 * `axisTitles` to check that every axis the builder promised was drawn.
 */
export interface Chart {
  /** id names the figure's element in the page; unique within one report. */
  readonly id: string;
  readonly title: string;
  /** howToRead is one or two sentences under the title: what the marks, bands and colours mean. */
  readonly howToRead: string;
  readonly spec: TopLevelSpec;
  /** axisTitles are the titles of the chart's axes, each drawn at least once. */
  readonly axisTitles: readonly string[];
  /** notes are facts the chart cannot show (a fault never recovered from, a run without samples), listed under it. */
  readonly notes: readonly string[];
}

/** vegaLiteSchemaUrl names the spec's grammar; Vega-Lite reads only its version and fetches nothing. */
export const vegaLiteSchemaUrl = "https://vega.github.io/schema/vega-lite/v6.json";

/** chartWidthPx is the plotting width of a single chart: the report's column (1100 px) less axes and legends, so a laptop shows it without scrolling. */
export const chartWidthPx = 760;

/** chartId makes an element id out of a figure's kind and a free label (a scenario name, say). */
export function chartId(kind: string, label: string): string {
  return `${kind}-${label.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "")}`;
}

/**
 * algorithmColors gives every algorithm its own colour from Tableau's ten
 * (told apart by most readers, colour-blind ones included),
 * the same in every chart of every report (red is left for broken
 * guarantees); an algorithm not listed takes the spare colours in turn.
 */
export const algorithmColors: Readonly<Record<string, string>> = {
  solo: "#79706e",
  raft: "#4e79a7",
  multipaxos: "#f28e2b",
  pbft: "#76b7b2",
  paxos: "#59a14f",
  eventual: "#b07aa1",
  quorum: "#9c755f",
  vr: "#ff9da7",
};
// Tableau's yellow is left out of the spares: the fault windows (faultColors) take the yellows.
export const spareColors: readonly string[] = ["#bab0ac", "#d37295", "#a0cbe8", "#8cd17d"];

/**
 * faultColors shade each kind of fault window, the same in every chart, in hues no algorithm's line takes (nor red,
 * which is kept for broken guarantees): the faults of a node (crash, pause, slow) in yellows, those of the network
 * (partition, link) in violets, so that a window never reads as a series and the two families read apart. Drawn at
 * {@link faultWindowOpacity} under the lines.
 */
export const faultColors: Readonly<Record<string, string>> = {
  crash: "#e8bb12",
  pause: "#a88a16",
  slow: "#f2dc7d",
  partition: "#7b5fc9",
  link: "#cf9ff2",
};
/** faultFallbackColor shades a window of a kind faultColors does not list. */
export const faultFallbackColor = "#c8c85a";
/** faultWindowOpacity is the fault windows' opacity over the white plot, under the lines and bands. */
export const faultWindowOpacity = 0.25;
/** instantFaultColor draws an instant fault (a restart, a transfer, a reconfiguration) as a dark rule, dashed by kind: no algorithm is drawn in it. */
export const instantFaultColor = "#3b3b3b";

/** algorithmOf reads the algorithm off a cluster's label ("raft n=3 (f=1)"): its first word. */
export function algorithmOf(series: string): string {
  return series.split(" ")[0] ?? series;
}

/** algorithmColor is one algorithm's colour: its own, or a spare one fixed by its place among the unlisted `others`. */
export function algorithmColor(algo: string, others: readonly string[] = []): string {
  const own = algorithmColors[algo];
  if (own !== undefined) return own;
  const unlisted = others.filter((name) => algorithmColors[name] === undefined).sort();
  return spareColors[Math.max(0, unlisted.indexOf(algo)) % spareColors.length] as string;
}

/**
 * algorithmColorEncoding colours marks by their `algo` field, each algorithm
 * in its own colour (the same in every chart), with a legend that lists the
 * algorithms drawn, in the order given.
 */
export function algorithmColorEncoding(algos: readonly string[], legend: Record<string, unknown> = {}) {
  const domain = [...new Set(algos)];
  return { field: "algo", type: "nominal", title: "algorithm", sort: domain, scale: { domain, range: domain.map((algo) => algorithmColor(algo, domain)) }, legend } as const;
}
