import type { ApplicableCell, BenchCell, BenchResults, SeedRun, Spread } from "../results-schema.ts";
import { pacelcCells, pacelcHeader, pacelcIntro } from "../report.ts";
import { type FaultRecovery, recoveryChart } from "./recovery-chart.ts";
import { type SideAvailability, availabilityChart } from "./availability-chart.ts";
import type { Chart } from "./chart.ts";
import { type LatencyThroughputCurve, latencyThroughputChart } from "./latency-throughput-chart.ts";
import { latencyCdfChart } from "./latency-cdf-chart.ts";
import { pacelcChart } from "./pacelc-chart.ts";
import { messagesPerOpChart } from "./messages-chart.ts";
import { type PredictionRow, type ReportSection, type SummaryTable, type TableCell, renderReportPage } from "./page.ts";
import { type PredictionRatio, predictionRatioChart } from "./prediction-chart.ts";
import { type ScalabilityPoint, scalabilityChart } from "./scalability-chart.ts";
import { groupBy } from "./spread.ts";
import { sweepsHtmlExtras } from "./sweeps-extras.ts";
import { type ThroughputRun, throughputOverTimeChart } from "./throughput-chart.ts";

/**
 * HtmlReportExtras are the sections results.json does not hold yet: the
 * latency-throughput and scalability sweeps and the measured/predicted
 * figures. Each is drawn when present and non-empty.
 */
export interface HtmlReportExtras {
  readonly latencyThroughput?: readonly LatencyThroughputCurve[];
  readonly scalability?: readonly ScalabilityPoint[];
  readonly predictions?: readonly PredictionRow[];
}

/** recoveryFaultsPerChartMax bounds the faults a scenario gets a row each for; past it (chaos draws many) each seed's longest recovery stands for them. */
const recoveryFaultsPerChartMax = 3;

/**
 * htmlReport renders report.html for the simulated matrix's results,
 * self-contained, opening offline. The sweeps are drawn from results.sweeps
 * when it holds them; `extras` adds or replaces sections (a test's fixture,
 * a sweep run apart).
 */
export function htmlReport(results: BenchResults, extrasGiven: HtmlReportExtras = {}): string {
  const extras: HtmlReportExtras = { ...(results.sweeps === null ? {} : sweepsHtmlExtras(results.sweeps)), ...extrasGiven };
  const cells = results.cells.filter((cell): cell is ApplicableCell => cell.applicable);
  const scenarios = results.options.scenarios.filter((scenario) => cells.some((cell) => cell.scenario === scenario));
  const inScenario = (scenario: string): ApplicableCell[] => cells.filter((cell) => cell.scenario === scenario);
  const sections: ReportSection[] = [
    {
      id: "throughput-over-time",
      title: "Throughput over time",
      intro: "Operations completed per second of virtual time, in buckets, with every fault window shaded: how deep each fault cuts and how fast each protocol climbs back.",
      charts: scenarios.map((scenario) => {
        const windowMs = throughputWindowMs(inScenario(scenario));
        return throughputOverTimeChart({ scenario, windowMs, runs: inScenario(scenario).flatMap((cell) => cell.runs.map((run) => throughputRun(cell, run, windowMs))) });
      }),
    },
    {
      id: "latency-distributions",
      title: "Latency distributions",
      charts: scenarios.map((scenario) =>
        latencyCdfChart({
          scenario,
          runs: inScenario(scenario).flatMap((cell) => cell.runs.map((run) => ({ series: seriesName(cell), seed: run.seed, quantiles: run.latencyCdf.map((point) => ({ fraction: point.percentile / 100, latencyMs: point.latencyMs })) }))),
        }),
      ),
    },
    {
      id: "messages-by-type",
      title: "Messages per operation",
      // One chart per algorithm: each protocol has its own message types, too many together for one palette.
      charts: [...groupBy(cells, (cell) => cell.algo)].map(([algo, ofAlgo]) =>
        messagesPerOpChart({ label: algo, runs: ofAlgo.flatMap((cell) => cell.runs.map((run) => ({ series: seriesName(cell), scenario: cell.scenario, seed: run.seed, byType: Object.entries(run.messages.perOpByType).map(([type, perOp]) => ({ type, perOp })) }))) }),
      ),
    },
    {
      id: "pacelc-at-a-glance",
      title: "PACELC at a glance",
      intro: "The PACELC table (above) drawn: latency with no partition against availability during one, per algorithm and read level.",
      charts: optionalChart(results.pacelc, pacelcChart),
    },
    { id: "availability-under-partition", title: "Availability under partition", charts: optionalChart(cells.flatMap(sideAvailability), availabilityChart) },
    { id: "recovery-time", title: "Recovery time", charts: optionalChart(faultRecoveries(cells), recoveryChart) },
    {
      id: "predictions-per-cell",
      title: "Predictions per cell",
      intro: "Messages per operation and median latency against the analytic count and one-way delays for that protocol at that n (see the predictions section of docs/benchmarks.md).",
      charts: optionalChart(predictionRatios(cells), predictionRatioChart),
    },
    { id: "latency-against-throughput", title: "Latency against throughput", intro: "The open-loop sweep of offered load, up to and past saturation.", charts: optionalChart(extras.latencyThroughput ?? [], latencyThroughputChart) },
    { id: "scalability-in-n", title: "Scalability", intro: "The sweep of cluster sizes n.", charts: optionalChart(extras.scalability ?? [], scalabilityChart) },
  ];
  return renderReportPage({
    header: {
      command: results.command,
      machine: `${results.machine.cpuModel}, ${results.machine.cores} cores, ${(results.machine.memoryBytes / 2 ** 30).toFixed(1)} GiB, ${results.machine.platform}/${results.machine.arch}`,
      seeds: results.options.seeds,
      facts: [
        { label: "Node", value: results.machine.nodeVersion },
        { label: "started", value: `${results.timing.startedAt}, ${results.timing.wallSeconds.toFixed(1)} s on ${results.timing.workers} worker${results.timing.workers === 1 ? "" : "s"}` },
        { label: "comparisons", value: results.comparisons.map((comparison) => `${comparison.name}: ${comparison.description}`).join("; ") },
        ...costModels(results),
        { label: "packages", value: Object.entries(results.packages).map(([name, version]) => `${name} ${version}`).join(", ") },
      ],
    },
    summary: summaryTable(results.cells),
    pacelc: { intro: pacelcIntro, table: { header: pacelcHeader, rows: results.pacelc.map((row) => ({ cells: pacelcHtmlCells(row), broken: row.verdict.broken > 0 })) } },
    broken: results.broken.map((run) => ({ cell: `${run.algo} n=${run.nodes}, ${run.scenario}`, seed: run.seed, problems: run.problems, replay: run.replayCommand })),
    notApplicable: results.cells.flatMap((cell) => (cell.applicable ? [] : [{ cell: `${cell.algo} n=${cell.nodes} (${cell.comparisons.join(", ")}), ${cell.scenario}`, reason: cell.reason }])),
    sections,
    predictions: extras.predictions ?? [],
  });
}

/** seriesName names a cluster as every chart's legend does: algorithm, size and the comparison groups it stands in. */
function seriesName(cell: BenchCell): string {
  return `${cell.algo} n=${cell.nodes}${cell.variant === undefined ? "" : ` ${cell.variant.name}`} (${cell.comparisons.join(", ")})`;
}

function optionalChart<T>(items: readonly T[], chart: (items: readonly T[]) => Chart): Chart[] {
  return items.length === 0 ? [] : [chart(items)];
}

/** throughputWindowsMax and throughputWindowOpsMin bound the windows a throughput chart shows: about 60 across the run, each holding about 10 operations on average, so that a line is not a comb of empty and one-operation buckets. */
const throughputWindowsMax = 60;
const throughputWindowOpsMin = 10;

/**
 * throughputWindowMs picks one display window for a scenario, a multiple of
 * the results' bucket, shared by every cluster and seed in it so their lines
 * line up: wide enough for about 60 windows over the longest run and for
 * about 10 operations per window at the scenario's median throughput.
 */
function throughputWindowMs(cells: readonly ApplicableCell[]): number {
  const runs = cells.flatMap((cell) => cell.runs);
  const bucketMs = Math.max(...runs.map((run) => run.throughputOverTime.bucketMs));
  const endMs = Math.max(...runs.map((run) => run.throughputOverTime.startMs + run.throughputOverTime.opsPerSec.length * run.throughputOverTime.bucketMs));
  const rates = runs.map((run) => run.throughputOpsPerSec).sort((a, b) => a - b);
  const medianRate = Math.max(rates[Math.floor(rates.length / 2)] ?? 0, 1e-9);
  const forSpan = endMs / throughputWindowsMax;
  const forOps = (throughputWindowOpsMin * 1000) / medianRate;
  return bucketMs * Math.max(1, Math.ceil(Math.min(Math.max(forSpan, forOps), endMs) / bucketMs));
}

/**
 * throughputRun re-buckets one seed's throughput into windows of `windowMs`
 * aligned on multiples of it from the start of the run (so every seed and
 * cluster shares them): each window's rate is the operations in the buckets
 * whose middle falls in it over those buckets' time, so a window the
 * workload covers only in part is not drawn low. Each window is placed at
 * its middle.
 */
function throughputRun(cell: ApplicableCell, run: SeedRun, windowMs: number): ThroughputRun {
  const { startMs, bucketMs, opsPerSec } = run.throughputOverTime;
  // The last bucket ends with the workload, usually short of a whole bucket (its stored rate divides by the
  // whole one): count its time as the workload's remainder, so the line does not fall at the end; and leave
  // it out when it holds less than half a bucket, where a handful of completions would read as a spike.
  const lastBucketMs = Math.min(bucketMs, run.workloadSeconds * 1000 - (opsPerSec.length - 1) * bucketMs);
  const buckets = lastBucketMs < bucketMs / 2 && opsPerSec.length > 1 ? opsPerSec.slice(0, -1) : opsPerSec;
  const windows = new Map<number, { ops: number; spanMs: number }>();
  for (const [index, rate] of buckets.entries()) {
    const window = Math.floor((startMs + (index + 0.5) * bucketMs) / windowMs);
    const sum = windows.get(window) ?? { ops: 0, spanMs: 0 };
    windows.set(window, { ops: sum.ops + (rate * bucketMs) / 1000, spanMs: sum.spanMs + (index === opsPerSec.length - 1 ? Math.max(lastBucketMs, bucketMs / 2) : bucketMs) });
  }
  const samples = [...windows].map(([window, sum]) => ({ timeMs: (window + 0.5) * windowMs, opsPerSec: (sum.ops * 1000) / sum.spanMs }));
  return { series: seriesName(cell), seed: run.seed, samples, faults: run.faults };
}

/** sideAvailability takes, for each seed and side, the lowest share over the seed's partitions, as the summary does. */
function sideAvailability(cell: ApplicableCell): SideAvailability[] {
  return cell.runs.flatMap((run) =>
    (["isolatedSide", "otherSide"] as const).flatMap((side) => {
      const shares = run.availability.flatMap((partition) => (partition[side].share === null ? [] : [partition[side].share]));
      if (shares.length === 0) return [];
      return [{ series: seriesName(cell), scenario: cell.scenario, side: side === "isolatedSide" ? "isolated side" : "majority side", seed: run.seed, availableShare: Math.min(...shares) }];
    }),
  );
}

/**
 * faultRecoveries lists each fault's recovery, one row per fault when the
 * scenario's runs have few, else (chaos draws many, at moments that differ
 * by seed) each seed's longest over its faults. The choice is the
 * scenario's, so that every cluster in it is read the same way.
 */
function faultRecoveries(cells: readonly ApplicableCell[]): FaultRecovery[] {
  const rows: FaultRecovery[] = [];
  for (const [scenario, inScenario] of groupBy(cells, (cell) => cell.scenario)) {
    const faultsMax = Math.max(0, ...inScenario.flatMap((cell) => cell.runs.map((run) => run.recovery.length)));
    if (faultsMax === 0) continue;
    const longest = (values: readonly (number | null)[]): number | null => {
      const measured = values.filter((value): value is number => value !== null);
      return measured.length === 0 ? null : Math.max(...measured);
    };
    for (const cell of inScenario) {
      for (const run of cell.runs) {
        if (faultsMax <= recoveryFaultsPerChartMax) {
          for (const [index, recovery] of run.recovery.entries()) {
            rows.push({ series: seriesName(cell), scenario, fault: `fault ${index + 1} (${recovery.kind})`, seed: run.seed, toFirstCommitMs: recovery.firstCommitMs, toThroughputMs: recovery.recoveryMs });
          }
        } else if (run.recovery.length > 0) {
          rows.push({ series: seriesName(cell), scenario, fault: "the longest over each seed's faults", seed: run.seed, toFirstCommitMs: longest(run.recovery.map((recovery) => recovery.firstCommitMs)), toThroughputMs: longest(run.recovery.map((recovery) => recovery.recoveryMs)) });
        }
      }
    }
  }
  return rows;
}

/** predictionRatios lists each cell's measured / predicted ratios, for the algorithms the predictions cover. */
function predictionRatios(cells: readonly ApplicableCell[]): PredictionRatio[] {
  return cells.flatMap((cell) => {
    const prediction = cell.summary.prediction;
    if (prediction === null) return [];
    const figures = [
      { figure: "messages per operation", ratio: prediction.messagesPerOp },
      { figure: "median latency", ratio: prediction.latencyP50Ms },
    ];
    return figures.flatMap(({ figure, ratio }) => (ratio === null ? [] : [{ series: seriesName(cell), scenario: cell.scenario, figure, ratio }]));
  });
}

/** costModels says which CPU cost model every cell charged (the same for every algorithm and scenario) and where its figures came from. */
function costModels(results: BenchResults): { label: string; value: string }[] {
  const model = results.costModel.cpu;
  const figures = `${model.perMessageUs} µs per message, ${model.perKilobyteUs} µs per KB, ${model.perMacUs} µs per MAC, ${model.perDigestUs} µs per digest, ${model.perSignatureUs} µs per signature, ${model.perVerifyUs} µs per verification`;
  return [{ label: "CPU cost model", value: `${figures}, charged by every cell in place of its scenario's own; ${results.costModel.source}` }];
}

/** pacelcHtmlCells are report.md's PACELC cells with each spread's min–max drawn small under its median, so the table fits the page. */
function pacelcHtmlCells(row: BenchResults["pacelc"][number]): TableCell[] {
  const text = pacelcCells(row);
  const percent = (figure: Spread | null): Spread | null => (figure === null ? null : { ...figure, median: figure.median * 100, min: figure.min * 100, max: figure.max * 100 });
  const e = row.noPartition;
  const p = row.partition;
  const figures: TableCell[] = [
    ...[e?.readP50Ms, e?.readP99Ms, e?.writeP50Ms, e?.writeP99Ms].map((figure) => (e === null ? "not run" : spread(figure ?? null, 2))),
    ...[p?.majoritySide, p?.minoritySide].map((figure) => (p === null ? "not run" : spread(percent(figure ?? null), 0))),
  ];
  return [...text.slice(0, 4), ...figures];
}

function spread(figure: Spread | null, decimals: number): TableCell {
  if (figure === null) return "–";
  if (figure.min === figure.max) return figure.median.toFixed(decimals);
  return { value: figure.median.toFixed(decimals), range: `${figure.min.toFixed(decimals)}–${figure.max.toFixed(decimals)}` };
}

function summaryTable(cells: readonly BenchCell[]): SummaryTable {
  return {
    header: ["cluster", "scenario", "ops/s", "p50 ms", "p99 ms", "msgs/op", "bytes/op", "leader changes", "recovery ms", "first commit ms", "guarantees"],
    rows: cells.flatMap((cell) => {
      if (!cell.applicable) return [];
      const summary = cell.summary;
      const broken = summary.brokenSeeds.length > 0;
      return [
        {
          broken,
          cells: [
            seriesName(cell),
            cell.scenario,
            spread(summary.throughputOpsPerSec, 1),
            spread(summary.latencyMs.p50, 2),
            spread(summary.latencyMs.p99, 2),
            spread(summary.messagesPerOp, 2),
            spread(summary.bytesPerOp, 0),
            spread(summary.leaderChanges, 0),
            spread(summary.recoveryMs, 0),
            spread(summary.firstCommitMs, 0),
            broken ? `BROKEN: seed${summary.brokenSeeds.length > 1 ? "s" : ""} ${summary.brokenSeeds.join(", ")}` : `kept (${cell.runs.length} seeds)`,
          ],
        },
      ];
    }),
  };
}
