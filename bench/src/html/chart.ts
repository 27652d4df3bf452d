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

/** seriesColorScheme colours algorithms and sizes; Tableau's ten are told apart by most readers, colour-blind ones included. */
export const seriesColorScheme = "tableau10";
