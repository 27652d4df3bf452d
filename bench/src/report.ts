// The simulated matrix's readable outputs: the summary `pnpm bench` prints,
// report.md, and (until bench/src/html/report.ts draws the charted one) a
// plain report.html. All read only results.json's content, so that a report
// can be redrawn from a results file.
import { escapeHtml } from "@concord/check";
import { sweepsMarkdown } from "./sweeps/index.ts";
import { renderTable } from "@concord/lab";
import type { ApplicableCell, BenchCell, BenchResults, NotApplicableCell, Spread } from "./results-schema.ts";

/** formatFigure writes a figure with as many decimals as its size deserves. */
export function formatFigure(value: number): string {
  const size = Math.abs(value);
  if (size >= 100 || Number.isInteger(value)) return Math.round(value).toString();
  if (size >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** formatSpread writes "median [min–max]", or the median alone when every seed agreed, or "–" when no seed measured it. */
export function formatSpread(spread: Spread | null, scale = 1): string {
  if (spread === null) return "–";
  const median = formatFigure(spread.median * scale);
  if (spread.min === spread.max) return median;
  return `${median} [${formatFigure(spread.min * scale)}–${formatFigure(spread.max * scale)}]`;
}

function applicableCells(results: BenchResults): ApplicableCell[] {
  return results.cells.filter((cell): cell is ApplicableCell => cell.applicable);
}

function notApplicableCells(results: BenchResults): NotApplicableCell[] {
  return results.cells.filter((cell): cell is NotApplicableCell => !cell.applicable);
}

function verdictText(cell: ApplicableCell): string {
  const forced = cell.notApplicableByDesign === undefined ? "" : " (not applicable by design; run by --include-not-applicable)";
  return `${seedsVerdict(cell)}${forced}`;
}

function seedsVerdict(cell: ApplicableCell): string {
  const broken = cell.summary.brokenSeeds;
  if (broken.length > 0) return `BROKEN (seed${broken.length > 1 ? "s" : ""} ${broken.join(",")})`;
  const undecided = cell.runs.filter((run) => run.verdict.linearizable === null).length;
  return undecided > 0 ? `ok (${undecided} undecided)` : "ok";
}

/** cellsInGroup lists a comparison group's cells of one scenario, the baseline first (it is the reference of every group). */
function cellsInGroup(results: BenchResults, group: string, scenario: string): ApplicableCell[] {
  return applicableCells(results).filter((cell) => cell.scenario === scenario && (cell.comparisons.includes(group) || cell.comparisons.includes("baseline")));
}

const tableHeader = ["algo", "n", "f", "ops/s", "p50 ms", "p99 ms", "max ms", "msgs/op", "msgs/op ÷ predicted", "bytes/op", "leader chg", "recovery ms", "1st commit ms", "avail cut-off", "avail rest", "verdict"];

function tableRow(cell: ApplicableCell): string[] {
  const summary = cell.summary;
  return [
    cell.variant === undefined ? cell.algo : `${cell.algo} ${cell.variant.name}`,
    String(cell.nodes),
    String(cell.f),
    formatSpread(summary.throughputOpsPerSec),
    formatSpread(summary.latencyMs.p50),
    formatSpread(summary.latencyMs.p99),
    formatSpread(summary.latencyMs.max),
    formatSpread(summary.messagesPerOp),
    summary.prediction === null ? "-" : formatSpread(summary.prediction.messagesPerOp),
    formatSpread(summary.bytesPerOp),
    formatSpread(summary.leaderChanges),
    formatSpread(summary.recoveryMs),
    formatSpread(summary.firstCommitMs),
    formatSpread(summary.availability.isolatedSide, 100),
    formatSpread(summary.availability.otherSide, 100),
    verdictText(cell),
  ];
}

function scenariosOf(results: BenchResults): string[] {
  return results.scenarios.map((scenario) => scenario.name).filter((name) => results.cells.some((cell) => cell.scenario === name));
}

/**
 * summaryTables renders what `pnpm bench` prints on stdout: per scenario, one
 * table of every cell that ran, medians with min–max across seeds.
 */
export function summaryTables(results: BenchResults): string {
  const parts: string[] = [];
  for (const scenario of scenariosOf(results)) {
    const cells = applicableCells(results).filter((cell) => cell.scenario === scenario);
    if (cells.length === 0) continue;
    parts.push(`${scenario}:\n${renderTable([["algo", "n", "groups", ...tableHeader.slice(3)], ...cells.map((cell) => [...tableRow(cell).slice(0, 2), cell.comparisons.join(" "), ...tableRow(cell).slice(3)])])}`);
  }
  return parts.join("\n");
}

/** notApplicableLines lists the cells not run, one line each. */
export function notApplicableLines(results: BenchResults): string[] {
  return notApplicableCells(results).map((cell) => `${cell.algo} n=${cell.nodes} ${cell.scenario}: ${cell.reason}`);
}

/** brokenLines lists every broken run with what it broke and its replay command, one block each. */
export function brokenLines(results: BenchResults): string[] {
  return results.broken.map((run) => `${run.algo} n=${run.nodes} ${run.scenario} seed ${run.seed}: ${run.problems.slice(0, 3).join("; ")}\n  replay: ${run.replayCommand}`);
}

function markdownTable(rows: readonly (readonly string[])[]): string[] {
  const [header, ...body] = rows;
  if (header === undefined) return [];
  const line = (cells: readonly string[]): string => `| ${cells.map((cell) => cell.replaceAll("|", "\\|")).join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...body.map(line)];
}

function byTypeText(cell: ApplicableCell): string {
  return Object.entries(cell.summary.messagesPerOpByType)
    .filter(([, spread]) => spread.median > 0)
    .map(([type, spread]) => `${type} ${formatFigure(spread.median)}`)
    .join(", ");
}

const howToRead = [
  "## How to read it",
  "",
  "Every figure is measured in virtual time by the deterministic simulator: the same code, options and seed give the same figure on any machine. Each cell (algorithm x cluster size x scenario) ran once per seed; a figure is shown as the median across seeds, with the min and max in brackets (the median alone when every seed agreed).",
  "",
  "- `ops/s`: workload operations completed ok per second of virtual time, from the first invocation to the last completion.",
  "- `p50`/`p99`/`max ms`: latency of the operations completed ok.",
  "- `msgs/op`, `bytes/op`: every message the run sent from the workload's start (client requests and replies included), per operation completed ok (the final reads that look for lost writes included).",
  "- `leader chg`: changes of leader, view or ballot.",
  "- `recovery ms`: per fault, from the fault until the throughput over the next 200 ms is back to 90% of its level in the 500 ms before the fault; a seed's figure is its longest over its faults. `1st commit ms`: from the fault to the first completion of an operation invoked after it. `–` where there was no fault, no workload before it, or no recovery before the workload ended.",
  "- `avail cut-off` / `avail rest` (%): during each partition, the share of the operations invoked by the clients cut off with the isolated replicas (and by all the other clients) that completed ok before the partition healed; a seed's figure is its lowest over its partitions.",
  "- `verdict`: `ok` when every seed's history was linearizable and no invariant broke (`undecided` when the checker's step budget ran out); `BROKEN` names the seeds that broke a guarantee, listed below with the command that replays each.",
  "- Comparison groups: `f=<f>` compares the algorithms at equal tolerated faults (crash-tolerant ones with n = 2f+1, PBFT with 3f+1); `n=<n>` at equal cluster size; `baseline` is one unreplicated node, repeated in each group as the floor.",
  "",
];

/** markdownReport renders report.md: how to read it, then per comparison group and scenario a table, the messages by type, broken guarantees and the cells not applicable. */
export function markdownReport(results: BenchResults): string {
  const lines = [
    "# Concord benchmark report",
    "",
    `Produced by \`${results.command}\` on ${results.machine.cpuModel} (${results.machine.cores} cores, ${(results.machine.memoryBytes / 2 ** 30).toFixed(1)} GiB, ${results.machine.platform}/${results.machine.arch}), Node ${results.machine.nodeVersion}, seeds ${results.options.seeds.join(", ")}, ${results.options.ops ?? "each scenario's"} operations per run.`,
    "",
    `CPU cost model charged by every cell, in place of each scenario's own (the same for every algorithm and scenario): ${costModelText(results.costModel.cpu)} (microseconds); ${results.costModel.source}.`,
    "",
    ...howToRead,
  ];
  for (const group of results.comparisons) {
    if (group.name === "baseline") continue;
    lines.push(`## ${group.name}`, "", group.description, "");
    for (const scenario of scenariosOf(results)) {
      const cells = cellsInGroup(results, group.name, scenario);
      if (cells.length === 0) continue;
      lines.push(`### ${group.name}, ${scenario}`, "", ...markdownTable([tableHeader, ...cells.map(tableRow)]), "");
    }
    const steady = cellsInGroup(results, group.name, scenariosOf(results)[0] ?? "");
    if (steady.length > 0) {
      lines.push(`### ${group.name}: messages per operation by type (${steady[0]?.scenario}, medians)`, "", ...markdownTable([["algo", "n", "messages per op by type"], ...steady.map((cell) => [cell.algo, String(cell.nodes), byTypeText(cell)])]), "");
    }
  }
  if (results.comparisons.length === 1 && results.comparisons[0]?.name === "baseline") {
    for (const scenario of scenariosOf(results)) lines.push(`### baseline, ${scenario}`, "", ...markdownTable([tableHeader, ...cellsInGroup(results, "baseline", scenario).map(tableRow)]), "");
  }
  lines.push(...pacelcSection(results));
  lines.push(...predictionSection(results));
  if (results.sweeps !== null) lines.push(sweepsMarkdown(results.sweeps).trimEnd(), "");
  lines.push("## Broken guarantees", "");
  if (results.broken.length === 0) lines.push("None: every applicable run kept every guarantee.", "");
  else for (const run of results.broken) lines.push(`- ${run.algo} n=${run.nodes} ${run.scenario} seed ${run.seed}: ${run.problems.slice(0, 4).join("; ")}`, `  replay: \`${run.replayCommand}\``);
  lines.push("", "## Not applicable", "");
  const notApplicable = notApplicableLines(results);
  if (notApplicable.length === 0) lines.push("Every cell was applicable.");
  else lines.push("Cells not run: the algorithm does not promise to tolerate the scenario's faults by design, so a broken guarantee there would not be a bug.", "", ...notApplicable.map((line) => `- ${line}`));
  lines.push("", "## Scenarios and cost model", "", `Every run charged the CPU cost model above, ${results.costModel.source}; the table gives what each scenario's runs charged.`, "", ...markdownTable([["scenario", "what it does", "CPU cost model charged (us)"], ...results.scenarios.map((scenario) => [scenario.name, scenario.description, costModelText(scenario.costModel)])]), "");
  return `${lines.join("\n")}\n`;
}

/** pacelcHeader is the PACELC table's header, shared by report.md and report.html. */
export const pacelcHeader = ["algo", "n", "reads served (asked)", "checker's verdict", "read p50 ms", "read p99 ms", "write p50 ms", "write p99 ms", "ok on majority side %", "ok on minority side %"];

/** pacelcCells writes one PACELC row's cells: latencies as median [min–max] over seeds, availability in percent. */
export function pacelcCells(row: BenchResults["pacelc"][number]): string[] {
  const e = row.noPartition;
  const p = row.partition;
  return [
    row.algo,
    String(row.nodes),
    row.readLevel === null ? (row.variant ?? "default") : `${row.readLevel}${row.variant === null ? " (default)" : row.variant === row.readLevel ? "" : ` (${row.variant})`}`,
    row.verdict.text,
    e === null ? "not run" : formatSpread(e.readP50Ms),
    e === null ? "not run" : formatSpread(e.readP99Ms),
    e === null ? "not run" : formatSpread(e.writeP50Ms),
    e === null ? "not run" : formatSpread(e.writeP99Ms),
    p === null ? "not run" : formatSpread(p.majoritySide, 100),
    p === null ? "not run" : formatSpread(p.minoritySide, 100),
  ];
}

/** pacelcIntro says what the PACELC table measures and how to read it. */
export const pacelcIntro =
  "PACELC, measured in this run: with no partition (the steady scenario), what each algorithm and read level costs in read and write latency (E: latency against consistency); during the partition scenario's partition (the old leader cut off with half of the clients), the share of operations that succeeded on the majority side and on the minority side (P: availability against consistency); and the checker's verdict over both scenarios' runs. A CP algorithm stays linearizable and refuses the minority side; an AP store (eventual, quorum with R + W <= N) serves both sides and is not linearizable. The minority side is the clients cut off with the old leader (solo's only replica: there the cut-off side is served and the other side, with no replica, is not). Latencies are medians over seeds of each seed's p50 and p99, with min–max; availability the median over seeds of the share of operations invoked on that side during the partition that completed ok before it healed.";

function pacelcSection(results: BenchResults): string[] {
  if (results.pacelc.length === 0) return [];
  return ["## PACELC", "", pacelcIntro, "", ...markdownTable([pacelcHeader, ...results.pacelc.map(pacelcCells)]), ""];
}

/**
 * predictionSection sets each algorithm's measured messages per operation and median latency beside the analytic
 * ones (predict.ts) in the first scenario (steady by default), one row per algorithm and size.
 */
function predictionSection(results: BenchResults): string[] {
  const scenario = scenariosOf(results)[0];
  const cells = results.cells.filter((cell): cell is ApplicableCell => cell.applicable && cell.scenario === scenario && cell.runs.some((run) => run.prediction !== null));
  if (cells.length === 0) return [];
  const rows = cells.map((cell) => {
    const first = cell.runs.find((run) => run.prediction !== null)?.prediction;
    const prediction = cell.summary.prediction;
    return [
      cell.variant === undefined ? cell.algo : `${cell.algo} ${cell.variant.name}`,
      String(cell.nodes),
      first === null || first === undefined ? "-" : first.messagesPerOp.predicted.toFixed(2),
      formatSpread(cell.summary.messagesPerOp),
      prediction === null ? "-" : formatSpread(prediction.messagesPerOp),
      first === null || first === undefined ? "-" : `${first.prediction.latencyOneWayDelays.median} delays, ${first.latencyP50Ms.predicted.toFixed(3)} ms (CPU ${(first.cpuOnPathMs * 1000).toFixed(0)} us)`,
      formatSpread(cell.summary.latencyMs.p50),
      prediction === null ? "-" : formatSpread(prediction.latencyP50Ms),
    ];
  });
  return [
    `## Predictions beside the measurements (${scenario})`,
    "",
    "The analytic messages per committed operation and median latency for each protocol at this n: one-way delays x the link delay + the disk syncs on the path + the CPU service times on the path under the charged cost model, at the run's own batch size and share of reads (docs/benchmarks.md, \"Predictions\"), beside the measured medians; ratio = measured / predicted, median [min-max] over seeds.",
    "",
    ...markdownTable([["algo", "n", "predicted msgs/op", "measured msgs/op", "ratio", "predicted p50", "measured p50 ms", "ratio"], ...rows]),
    "",
  ];
}

function costModelText(model: BenchResults["scenarios"][number]["costModel"]): string {
  const parts = Object.entries(model)
    .filter(([, value]) => value > 0)
    .map(([name, value]) => `${name} ${value}`);
  return parts.length === 0 ? "none (CPU free)" : parts.join(", ");
}

/** barChart draws one horizontal SVG bar chart, inline, with no scripts or network. */
export function barChart(title: string, unit: string, bars: readonly { label: string; value: number }[]): string {
  const max = Math.max(1e-9, ...bars.map((bar) => bar.value));
  const rowHeight = 18;
  const labelWidth = 260;
  const width = 760;
  const height = bars.length * rowHeight + 30;
  const body = bars
    .map((bar, i) => {
      const y = 24 + i * rowHeight;
      const length = Math.max(1, ((width - labelWidth - 90) * bar.value) / max);
      return `<text x="${labelWidth - 6}" y="${y + 12}" text-anchor="end">${escapeHtml(bar.label)}</text><rect x="${labelWidth}" y="${y + 2}" width="${length.toFixed(1)}" height="${rowHeight - 5}" fill="#4a7bd0"/><text x="${(labelWidth + length + 4).toFixed(1)}" y="${y + 12}">${bar.value.toFixed(2)} ${escapeHtml(unit)}</text>`;
    })
    .join("");
  return `<figure><svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11"><text x="0" y="14" font-weight="bold" font-size="13">${escapeHtml(title)}</text>${body}</svg></figure>`;
}

/**
 * plainHtmlReport renders a plain report.html (inline SVG bars of the medians
 * and report.md's tables): the fallback while bench/src/html/report.ts, the
 * charted report, is not there.
 */
export function plainHtmlReport(results: BenchResults): string {
  const sections = scenariosOf(results)
    .map((scenario) => {
      const cells = applicableCells(results).filter((cell) => cell.scenario === scenario);
      const label = (cell: BenchCell): string => `${cell.algo} n=${cell.nodes} (${cell.comparisons.join(", ")})`;
      return `<section><h2>${escapeHtml(scenario)}</h2>${barChart("Throughput (median)", "ops/s", cells.map((cell) => ({ label: label(cell), value: cell.summary.throughputOpsPerSec.median })))}${barChart("p99 latency (median)", "ms", cells.map((cell) => ({ label: label(cell), value: cell.summary.latencyMs.p99.median })))}${barChart("Messages per operation (median)", "msgs", cells.map((cell) => ({ label: label(cell), value: cell.summary.messagesPerOp.median })))}</section>`;
    })
    .join("\n");
  const broken = results.broken.length === 0 ? "" : `<h2 style="color:#b00">Broken guarantees</h2><pre style="color:#b00">${escapeHtml(brokenLines(results).join("\n"))}</pre>`;
  const table = `<pre>${escapeHtml(summaryTables(results))}</pre>`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Concord benchmark report</title><style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}pre{font-size:11px;overflow-x:auto;background:#f6f6f6;padding:1em}figure{margin:1em 0}</style></head><body><h1>Concord benchmark report</h1><p>Produced by <code>${escapeHtml(results.command)}</code>. Figures are virtual-time measurements from the deterministic simulator (median across seeds): exact and reproducible from the seed.</p>${broken}${table}${sections}</body></html>\n`;
}
