import { escapeHtml } from "@concord/check";
import { renderTable } from "@concord/lab";
import { barChart } from "../report.ts";
import { type RealBenchResult, etcdSystem } from "./run-real.ts";

function verdict(linearizable: boolean | null): string {
  return linearizable === null ? "unknown" : linearizable ? "yes" : "NO";
}

/** realSummaryTable renders one row per system (medians over the rounds), as `pnpm bench --real` prints it. */
export function realSummaryTable(result: RealBenchResult): string {
  const header = ["system", "n", "runs", "ok", "failed", "indet", "ops/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "driver us/op", "linearizable", "ops/s vs etcd", "p99 vs etcd"];
  return renderTable([
    header,
    ...result.summaries.map((summary) => [
      summary.system,
      String(summary.nodes),
      summary.failedRuns > 0 ? `${summary.rounds - summary.failedRuns}/${summary.rounds}` : String(summary.rounds),
      String(summary.ops.completed),
      String(summary.ops.failed),
      String(summary.ops.indeterminate),
      String(summary.throughputOpsPerSec),
      summary.latencyMs.p50.toFixed(1),
      summary.latencyMs.p95.toFixed(1),
      summary.latencyMs.p99.toFixed(1),
      summary.latencyMs.max.toFixed(1),
      summary.driverCpuUsPerOp === undefined ? "-" : String(summary.driverCpuUsPerOp),
      verdict(summary.linearizable),
      summary.system === etcdSystem ? "1 (itself)" : summary.vsEtcd === undefined ? "-" : `${summary.vsEtcd.throughputRatio.toFixed(2)}x`,
      summary.system === etcdSystem ? "1 (itself)" : summary.vsEtcd === undefined ? "-" : `${summary.vsEtcd.p99Ratio.toFixed(2)}x`,
    ]),
  ]);
}

/** realRunsTable renders every run, round by round, so that the medians can be checked and the drift seen. */
export function realRunsTable(result: RealBenchResult): string {
  return renderTable([
    ["round", "system", "n", "start s", "ok", "failed", "indet", "ops/s", "p50 ms", "p99 ms", "driver us/op", "linearizable"],
    ...result.runs.map((run) =>
      run.report === undefined
        ? [String(run.round), run.system, String(run.nodes), (run.startupMs / 1000).toFixed(1), "-", "-", "-", "-", "-", "-", "-", `run failed: ${run.error?.slice(0, 120) ?? ""}`]
        : [
            String(run.round),
            run.system,
            String(run.nodes),
            (run.startupMs / 1000).toFixed(1),
            String(run.report.ops.completed),
            String(run.report.ops.failed),
            String(run.report.ops.indeterminate),
            String(run.report.throughputOpsPerSec),
            run.report.latencyMs.p50.toFixed(1),
            run.report.latencyMs.p99.toFixed(1),
            run.driverCpuUsPerOp === undefined ? "-" : String(run.driverCpuUsPerOp),
            verdict(run.report.linearizable),
          ],
    ),
  ]);
}

/** machineLine says what the figures were measured on, in one line. */
export function machineLine(result: RealBenchResult): string {
  const machine = result.machine;
  return `${machine.date}: ${machine.cpus} CPUs (${machine.cpuModel}), load average ${machine.loadAverageAtStart.join(" ")} at the start and ${machine.loadAverageAtEnd.join(" ")} at the end, Linux ${machine.kernel}, Node ${machine.node}${machine.etcd === undefined ? "" : `, ${machine.etcd}`}, Concord at ${machine.commit}`;
}

/** goalLine says whether Raft reached issue 12's target against etcd in this run. */
export function goalLine(result: RealBenchResult): string {
  const raft = result.summaries.find((summary) => summary.system === "raft");
  const target = `at least ${result.goal.throughputRatioMin}x etcd's throughput with a p99 at most ${result.goal.p99RatioMax}x etcd's`;
  if (raft?.vsEtcd === undefined) return `Goal (Raft ${target}): not measured (Raft or etcd did not run).`;
  return `Goal (Raft ${target}): ${result.goal.met === true ? "met" : "NOT met"}: Raft made ${raft.vsEtcd.throughputRatio.toFixed(2)}x etcd's throughput with ${raft.vsEtcd.p99Ratio.toFixed(2)}x its p99 (medians of the per-round ratios).`;
}

/** skippedLines lists the systems that did not run, with why. */
function skippedLines(result: RealBenchResult): string[] {
  return result.skipped.map((skip) => `skipped ${skip.system}: ${skip.reason}`);
}

/** realMarkdownReport renders report.md for `pnpm bench --real`: the "Real clusters" section of the benchmark report. */
export function realMarkdownReport(result: RealBenchResult, command: string): string {
  const setup = result.setup;
  const mix = Object.entries(setup.mix)
    .filter(([, weight]) => weight > 0)
    .map(([type, weight]) => `${type} ${weight}`)
    .join(", ");
  return [
    "# Concord benchmark report",
    "",
    "## Real clusters",
    "",
    `Produced by \`${command}\`. Each system ran as real processes on loopback, on a fresh cluster with fresh data directories per run, with fsync on (${setup.fsync}), under the same load driver: ${setup.clients} closed-loop clients for ${setup.seconds} s, the \`${setup.workload}\` workload (${mix}) over ${setup.keys} keys, then a read of every key; the recorded history of every run, etcd's included, is checked for linearizability by the same checker. Rounds run every system in turn (${setup.systems.join(", ")}), ${setup.rounds} time${setup.rounds === 1 ? "" : "s"}, so that the machine's drift falls on all alike; the table gives medians over the rounds, and each ratio to etcd is the median of the ratios within a round.`,
    "",
    `Machine: ${machineLine(result)}.`,
    "",
    goalLine(result),
    "",
    "```",
    realSummaryTable(result).trimEnd(),
    "```",
    "",
    ...(result.skipped.length > 0 ? [...skippedLines(result).map((line) => `- ${line}`), ""] : []),
    "### Every run",
    "",
    "```",
    realRunsTable(result).trimEnd(),
    "```",
    "",
    ...(profileLines(result).length > 0
      ? ["### Where the nodes spend their time", "", "The busiest node of each profiled run (`--profile`: `node --cpu-prof` on every node), from the first read served on, its self time by area and its hottest functions, as shares of its busy time (a synchronous system call such as fdatasync counts as busy: the thread waits in it):", "", "```", ...profileLines(result), "```", ""]
      : []),
    "How to read it: `ok`, `failed` and `indet` count the load's operations over every round (failed: certainly not applied; indeterminate: the client gave up, so it may have been); `ops/s` is completed operations per second; the latencies are those of completed operations; `start s` is how long the cluster took to start and serve a first read, which the figures leave out; `driver us/op` is the CPU time the load driver's own process spent per completed operation (its clients and the system's client library: Concord's TCP client or etcd3 over gRPC), which the machine's cores also had to give.",
    "",
  ].join("\n");
}

/** profileLines renders, for each run profiled, where its busiest node spent its time. */
export function profileLines(result: RealBenchResult): string[] {
  const lines: string[] = [];
  for (const run of result.runs) {
    if (run.profile === undefined) continue;
    const profile = run.profile;
    lines.push(
      `round ${run.round} ${run.system}: busiest node ${profile.busyMs} ms busy of ${profile.wallMs} ms sampled (${profile.file})`,
      `  by area: ${profile.byArea.map((entry) => `${entry.area} ${entry.percent}%`).join(", ")}`,
      ...profile.top.map((entry) => `  ${entry.percent.toFixed(1).padStart(5)}%  ${entry.function}  ${entry.where}`),
    );
  }
  return lines;
}

/** realHtmlReport renders report.html for `pnpm bench --real`: the same section, with throughput and p99 charts. */
export function realHtmlReport(result: RealBenchResult, command: string): string {
  const label = (system: string, nodes: number): string => `${system} n=${nodes}`;
  const charts =
    barChart("Throughput (median over rounds)", "ops/s", result.summaries.map((summary) => ({ label: label(summary.system, summary.nodes), value: summary.throughputOpsPerSec }))) +
    barChart("p99 latency (median over rounds)", "ms", result.summaries.map((summary) => ({ label: label(summary.system, summary.nodes), value: summary.latencyMs.p99 })));
  const text = [realSummaryTable(result), ...skippedLines(result), "", realRunsTable(result), "", ...profileLines(result)].join("\n");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Concord benchmark report: real clusters</title><style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}pre{font-size:11px;overflow-x:auto;background:#f6f6f6;padding:1em}figure{margin:1em 0}</style></head><body><h1>Concord benchmark report</h1><h2>Real clusters</h2><p>Produced by <code>${escapeHtml(command)}</code>: ${result.setup.clients} closed-loop clients for ${result.setup.seconds} s per run, the <code>${result.setup.workload}</code> workload, ${result.setup.rounds} interleaved round(s), fsync on, every history checked for linearizability.</p><p>Machine: ${escapeHtml(machineLine(result))}.</p><p>${escapeHtml(goalLine(result))}</p><pre>${escapeHtml(text)}</pre>${charts}</body></html>\n`;
}
