import type { PacelcRow } from "../results-schema.ts";
import { type Chart, algorithmColorEncoding, chartWidthPx, vegaLiteSchemaUrl } from "./chart.ts";

/** pacelcRowLabel names a PACELC row on the chart's axis: the algorithm and the level its reads were served at (with the variant's options). */
export function pacelcRowLabel(row: PacelcRow): string {
  const level = row.readLevel ?? "default";
  return `${row.algo} n=${row.nodes} ${level}${row.variant !== null && row.variant !== row.readLevel ? ` (${row.variant})` : ""}`;
}

/**
 * pacelcChart draws the PACELC table at a glance: a row per algorithm and read
 * level, in three panels sharing it: the median read latency and write latency
 * with no partition (E, whiskers min–max over seeds), and the share of the
 * minority side's operations served during the partition (P). Bars are in the
 * algorithm's colour; a row whose history the checker found not linearizable
 * is drawn paler (the legend says so).
 */
export function pacelcChart(rows: readonly PacelcRow[]): Chart {
  const data: Record<string, string | number>[] = [];
  for (const row of rows) {
    const label = pacelcRowLabel(row);
    const consistency = row.verdict.notLinearizable > 0 ? "not linearizable" : "linearizable";
    const add = (panel: string, spread: { median: number; min: number; max: number } | null | undefined, scale: number): void => {
      if (spread === null || spread === undefined) return;
      data.push({ panel, label, algo: row.algo, consistency, median: spread.median * scale, min: spread.min * scale, max: spread.max * scale });
    };
    add("read p50 ms", row.noPartition?.readP50Ms, 1);
    add("write p50 ms", row.noPartition?.writeP50Ms, 1);
    add("minority side served %", row.partition?.minoritySide, 100);
  }
  // A panel with no figure (a run without the steady or the partition scenario) is left out: Vega warns of an empty one.
  const panels = (["read p50 ms", "write p50 ms", "minority side served %"] as const).filter((name) => data.some((entry) => entry["panel"] === name));
  const titles: Record<string, string> = {
    "read p50 ms": "read p50, no partition (ms)",
    "write p50 ms": "write p50, no partition (ms)",
    "minority side served %": "minority side served (%)",
  };
  const yTitle = "algorithm and read level";
  const labels = [...new Set(data.map((entry) => String(entry["label"])))];
  const color = algorithmColorEncoding(data.map((entry) => String(entry["algo"])));
  const panel = (name: string, withAxis: boolean) => ({
    width: Math.floor((chartWidthPx - 300) / panels.length),
    height: { step: 18 },
    transform: [{ filter: `datum.panel === '${name}'` }],
    encoding: { y: { field: "label", type: "nominal" as const, title: withAxis ? yTitle : null, sort: labels, axis: withAxis ? { labelLimit: 240, titlePadding: 8 } : { labels: false, ticks: false, domain: false } } },
    layer: [
      {
        mark: { type: "bar" as const, tooltip: true },
        encoding: {
          x: { field: "median", type: "quantitative" as const, title: (titles[name] ?? name), ...(name === "minority side served %" ? { scale: { domain: [0, 100] } } : {}) },
          color,
          opacity: { field: "consistency", type: "nominal" as const, title: "checker's verdict", sort: ["linearizable", "not linearizable"], scale: { domain: ["linearizable", "not linearizable"], range: [1, 0.45] } },
        },
      },
      { mark: { type: "errorbar" as const, ticks: true, color: "black" }, encoding: { x: { field: "min", type: "quantitative" as const, title: (titles[name] ?? name) }, x2: { field: "max" } } },
    ],
  });
  return {
    id: "pacelc-chart",
    title: "PACELC at a glance",
    howToRead:
      "One row per algorithm and the level its reads were served at. Left and middle: what reads and writes cost with no partition (the E of PACELC: latency against consistency); right: the share of the minority side's operations served during the partition (the P: availability against consistency). Bars are in the algorithm's colour, paler where the checker found the history not linearizable; whiskers span the seeds. A CP algorithm is slower and serves nothing on the minority side; an AP store is faster and serves it, at the price of linearizability.",
    axisTitles: [yTitle, ...panels.map((name) => (titles[name] ?? name))],
    notes: [],
    spec: {
      $schema: vegaLiteSchemaUrl,
      data: { values: data },
      hconcat: panels.map((name, index) => panel(name, index === 0)),
      resolve: { scale: { y: "shared" } },
    },
  };
}
