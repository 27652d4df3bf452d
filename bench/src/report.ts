import { escapeHtml } from "@concord/check";
import { type SimulationReport, brokenGuarantees, renderTable } from "@concord/lab";

/** BenchRow is one finished run of the matrix. */
export interface BenchRow {
  readonly comparison: string;
  readonly report: SimulationReport;
}

/** SkippedCase is a cell of the matrix that did not run: the algorithm does not promise to tolerate its scenario's faults. */
export interface SkippedCase {
  readonly algo: string;
  readonly nodes: number;
  readonly scenario: string;
  readonly seed: number;
  readonly reason: string;
}

/** skippedSummary lists the skipped cells, one line per algorithm, size and scenario (the seeds share the reason). */
export function skippedSummary(skipped: readonly SkippedCase[]): string {
  const lines = new Map<string, string>();
  for (const cell of skipped) lines.set(`${cell.algo} n=${cell.nodes} ${cell.scenario}`, cell.reason);
  return [...lines].map(([cell, reason]) => `skipped ${cell}: not applicable: ${reason}\n`).join("");
}

/** summaryTable renders the runs as the table `pnpm bench` prints and report.md holds. */
export function summaryTable(rows: readonly BenchRow[]): string {
  const header = ["algo", "n", "cmp", "scenario", "seed", "ok/invoked", "ops/s", "p50 ms", "p99 ms", "msgs/op", "bytes/op", "leader chg", "linearizable", "violations"];
  return renderTable([
    header,
    ...rows.map(({ comparison, report }) => [
      report.algo,
      String(report.nodes),
      comparison,
      report.scenario,
      String(report.seed),
      `${report.ops.completed}/${report.ops.invoked}`,
      report.throughputOpsPerSec.toFixed(1),
      report.latencyMs.p50.toFixed(2),
      report.latencyMs.p99.toFixed(2),
      report.messages.perOp.toFixed(2),
      report.bytes.perOp.toFixed(0),
      String(report.leaderChanges),
      report.linearizable === null ? "unknown" : report.linearizable ? "yes" : "NO",
      String(report.invariantViolations.length),
    ]),
  ]);
}

/** markdownReport renders report.md: how to read it, then the table and any broken guarantees. */
export function markdownReport(rows: readonly BenchRow[], command: string, skipped: readonly SkippedCase[] = []): string {
  const lines = [
    "# Concord benchmark report",
    "",
    `Produced by \`${command}\`. Every figure is measured in virtual time by the deterministic simulator, so it is exact and reproducible: replay any row with \`pnpm concord sim --algo <algo> --nodes <n> --scenario <scenario> --seed <seed>\`.`,
    "",
    "How to read it: `ops/s` is completed operations per virtual second over the workload; `p50`/`p99` are latency percentiles of completed operations; `msgs/op` and `bytes/op` count every message sent (client requests and replies included) per completed operation; `cmp` says whether the row compares clusters at equal tolerated faults (`f=1`) or is the unreplicated `baseline`; `linearizable` is the checker's verdict on the run's history; `violations` counts broken safety or liveness properties.",
    "",
    "```",
    summaryTable(rows).trimEnd(),
    "```",
    "",
  ];
  if (skipped.length > 0) lines.push("## Not applicable (skipped)", "", ...skippedSummary(skipped).trimEnd().split("\n").map((line) => `- ${line}`), "");
  const broken = rows.filter((row) => brokenGuarantees(row.report).length > 0);
  if (broken.length > 0) {
    lines.push("## Broken guarantees", "");
    for (const { report } of broken) {
      lines.push(`- ${report.algo} n=${report.nodes} ${report.scenario} seed ${report.seed}: ${brokenGuarantees(report).slice(0, 4).join("; ")}`);
    }
    lines.push("");
  }
  return lines.join("\n");
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

/** htmlReport renders report.html: self-contained (inline SVG charts), viewable offline. */
export function htmlReport(rows: readonly BenchRow[], command: string, skipped: readonly SkippedCase[] = []): string {
  const scenarios = [...new Set(rows.map((row) => row.report.scenario))];
  const sections = scenarios
    .map((scenario) => {
      const inScenario = rows.filter((row) => row.report.scenario === scenario && row.report.seed === 1);
      const label = (row: BenchRow): string => `${row.report.algo} n=${row.report.nodes} (${row.comparison})`;
      return `<section><h2>${escapeHtml(scenario)}</h2>${barChart("Throughput", "ops/s", inScenario.map((row) => ({ label: label(row), value: row.report.throughputOpsPerSec })))}${barChart("p99 latency", "ms", inScenario.map((row) => ({ label: label(row), value: row.report.latencyMs.p99 })))}${barChart("Messages per operation", "msgs", inScenario.map((row) => ({ label: label(row), value: row.report.messages.perOp })))}</section>`;
    })
    .join("\n");
  const table = `<pre>${escapeHtml(summaryTable(rows) + skippedSummary(skipped))}</pre>`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Concord benchmark report</title><style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}pre{font-size:11px;overflow-x:auto;background:#f6f6f6;padding:1em}figure{margin:1em 0}</style></head><body><h1>Concord benchmark report</h1><p>Produced by <code>${escapeHtml(command)}</code>. Figures are virtual-time measurements from the deterministic simulator: exact and reproducible from the seed.</p>${table}${sections}</body></html>\n`;
}
