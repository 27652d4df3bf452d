// pnpm bench — runs the simulated benchmark matrix (algorithm x cluster size x
// scenario x seed) on worker threads, shows progress on stderr, prints the
// summary tables and writes bench/results/<run>/{results.json, report.md,
// report.html}. `pnpm bench --real` runs real clusters instead (real/command.ts).
import { accessSync, constants, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { runRealCommand } from "./real/command.ts";
import { type BenchFlags, benchUsage, parseBenchFlags } from "./flags.ts";
import { buildMatrix, findBenchScenario } from "./matrix.ts";
import { createProgress, formatDuration } from "./progress.ts";
import { brokenLines, markdownReport, notApplicableLines, plainHtmlReport, summaryTables } from "./report.ts";
import { assembleResults } from "./results.ts";
import type { BenchResults } from "./results-schema.ts";
import { isPredicted } from "./predict.ts";
import { runMatrix } from "./run-matrix.ts";
import { benchCostModel } from "./cost-model.ts";
import { type Sweeps, runSweeps } from "./sweeps/index.ts";
import { runSweepsOnPool } from "./sweeps/pool.ts";

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

function usageError(message: string): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}

/** prepareOut makes the output directory and checks it can be written, before anything runs: a bad --out costs one line, not a whole matrix. */
function prepareOut(flags: BenchFlags, runId: string): string {
  const outDir = flags.out ?? join(repoRoot, "bench", "results", runId);
  try {
    mkdirSync(outDir, { recursive: true });
    accessSync(outDir, constants.W_OK);
  } catch (error) {
    usageError(`--out: cannot write to ${outDir}: ${(error as Error).message.split("\n")[0]}`);
  }
  return outDir;
}

/**
 * htmlReportOf draws report.html: with the charted report
 * (bench/src/html/report.ts's htmlReport) when it is there, else the plain one.
 * The path is a variable so that this file builds before that one exists.
 */
async function htmlReportOf(results: BenchResults): Promise<string> {
  const charted = "./html/report.ts";
  if (existsSync(new URL(charted, import.meta.url))) {
    const module = (await import(charted)) as { htmlReport?: unknown };
    if (typeof module.htmlReport === "function") return (module.htmlReport as (results: BenchResults) => string)(results);
  }
  return plainHtmlReport(results);
}

async function main(args: readonly string[]): Promise<number> {
  // --real measures real clusters (and etcd) instead of the simulated matrix: see real/command.ts.
  if (args.includes("--real")) process.exit(await runRealCommand(args, { stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text) }));
  const parsed = parseBenchFlags(args);
  if (parsed.kind === "help") {
    process.stdout.write(benchUsage());
    return 0;
  }
  if (parsed.kind === "error") usageError(parsed.message);
  const flags = parsed.flags;
  const cells = buildMatrix({ algorithms: flags.algorithms, scenarios: flags.scenarios, seeds: flags.seeds, faults: flags.faults, equalN: flags.equalN });
  if (cells.length === 0) usageError("the flags leave no cell to run (--faults none and --nodes none leave only the baseline, solo)");
  const startedAt = new Date();
  const outDir = prepareOut(flags, startedAt.toISOString().replace(/[:.]/g, "-"));
  const command = ["pnpm bench", ...args].join(" ");
  const runs = cells.length * flags.seeds.length;
  process.stderr.write(`bench: ${cells.length} cells x ${flags.seeds.length} seeds = ${runs} runs on ${flags.workers} worker thread${flags.workers === 1 ? "" : "s"}\n`);
  const started = performance.now();
  const progress = createProgress(process.stderr, runs, cells.length);
  // Every cell charges the calibrated CPU cost model (the simulator's default), the same for every algorithm and scenario.
  const costModel = benchCostModel();
  const benchCells = await runMatrix(cells, { ops: flags.ops, workers: flags.workers, progress, cpu: costModel.cpu, includeNotApplicable: flags.includeNotApplicable });
  // The sweeps run after the matrix, under the calibrated cost model (quick ones with --quick, in this thread, where
  // the workers' start-up would cost more than their points; the full ones on the pool).
  let sweeps: Sweeps | null = null;
  if (flags.sweeps) {
    // The sweeps set each curve beside its queueing model: an algorithm with no prediction (eventual) is left out.
    const swept = flags.algorithms.filter((algorithm) => isPredicted(algorithm.name));
    const unswept = flags.algorithms.filter((algorithm) => !isPredicted(algorithm.name)).map((algorithm) => algorithm.name);
    if (unswept.length > 0) process.stderr.write(`bench: the sweeps leave out ${unswept.join(", ")}: no analytic model to set beside the curve\n`);
    const sweepOptions = { algorithms: swept, quick: flags.quick, costModel };
    const line = (text: string): void => void process.stderr.write(process.stderr.isTTY ? `\r\u001b[K${text}` : `${text}\n`);
    sweeps = flags.quick || flags.workers === 1 ? await runSweeps(sweepOptions, line) : await runSweepsOnPool(sweepOptions, flags.workers, line);
    if (process.stderr.isTTY) process.stderr.write("\n");
  }
  const wallSeconds = (performance.now() - started) / 1000;
  const results = assembleResults({
    command,
    options: {
      algorithms: flags.algorithms.map((algorithm) => algorithm.name),
      faults: [...flags.faults],
      equalN: [...flags.equalN],
      nodes: null,
      scenarios: [...flags.scenarios],
      seeds: [...flags.seeds],
      ops: flags.ops,
      quick: flags.quick,
      includeNotApplicable: flags.includeNotApplicable,
    },
    scenarios: flags.scenarios.map(findBenchScenario),
    cells: benchCells,
    startedAt: startedAt.toISOString(),
    wallSeconds,
    workers: flags.workers,
    sweeps,
    costModel,
  });
  writeFileSync(join(outDir, "results.json"), `${JSON.stringify(results)}\n`);
  writeFileSync(join(outDir, "report.md"), markdownReport(results));
  writeFileSync(join(outDir, "report.html"), await htmlReportOf(results));
  process.stdout.write(`${summaryTables(results)}\n`);
  const notApplicable = notApplicableLines(results);
  if (notApplicable.length > 0) process.stdout.write(`not applicable (not run):\n${notApplicable.map((line) => `  ${line}\n`).join("")}`);
  const where = relative(process.cwd(), outDir) || ".";
  process.stderr.write(`\n${runs - notApplicable.length * flags.seeds.length} runs in ${formatDuration(wallSeconds)}; wrote ${where}/{results.json,report.md,report.html}\n`);
  if (results.broken.length > 0) {
    process.stdout.write(`\nBROKEN GUARANTEES in ${results.broken.length} applicable run${results.broken.length === 1 ? "" : "s"}:\n${brokenLines(results).join("\n")}\n`);
    return 1;
  }
  return 0;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`bench: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
