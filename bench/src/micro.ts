// pnpm bench:micro — tinybench micro-benchmarks of the hot paths. Every module in
// ./micro is a suite that registers its tasks; results print as a table and are
// written to bench/results/<run>/micro.json (or --out). --calibrate derives the
// simulator's CPU cost model from them and writes it as the simulator's default
// (packages/sim/src/calibrated-cpu.ts).
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Bench } from "tinybench";
import { calibrate, calibrationSuites } from "./cost-model-calibrate.ts";
import { calibratedCpuModule, calibratedCpuPath, currentMachine } from "./cost-model.ts";
import { largeAppendKilobytes } from "./micro/calibration.ts";
import { type MicroResults, microResultsSchema, taskResult } from "./micro/results/micro-results.ts";

interface MicroModule {
  register(bench: Bench): void;
}

const here = dirname(fileURLToPath(import.meta.url));
const suites = readdirSync(join(here, "micro"))
  .filter((file) => file.endsWith(".ts"))
  .map((file) => file.slice(0, -".ts".length))
  .sort();

const usage = `usage: pnpm bench:micro [suite ...] [--out <dir>] [--calibrate] [--time-ms <ms>]

Runs the tinybench micro-benchmarks, prints a table, and writes micro.json
(each task's mean, median, p99 and operations per second, the Node version and the
machine) to bench/results/<time>/ or --out.

  suite ...        run only the suites whose names contain one of these words
                   (suites: ${suites.join(", ")})
  --out <dir>      write micro.json (and nothing else) to this directory
  --calibrate      run the suites the CPU cost model is calibrated from
                   (${calibrationSuites.join(", ")}) and write ${relative(process.cwd(), calibratedCpuPath) || calibratedCpuPath}
  --time-ms <ms>   how long each task is sampled (default 1000, or CONCORD_BENCH_MS)
  --help           print this
`;

function fail(message: string): never {
  process.stderr.write(`bench:micro: ${message} (see --help)\n`);
  process.exit(2);
}

let parsed;
try {
  parsed = parseArgs({
    args: process.argv.slice(2),
    options: { out: { type: "string" }, calibrate: { type: "boolean", default: false }, "time-ms": { type: "string" }, help: { type: "boolean", default: false } },
    allowPositionals: true,
    strict: true,
  });
} catch (error) {
  // node's message goes on about positionals that start with "-": its first sentence names the flag.
  fail((error as Error).message.split("\n")[0]?.split(". ")[0] ?? "bad flags");
}
const { values, positionals } = parsed;
if (values.help) {
  process.stdout.write(usage);
  process.exit(0);
}
const timeMs = Number(values["time-ms"] ?? process.env["CONCORD_BENCH_MS"] ?? 1000);
if (!Number.isFinite(timeMs) || timeMs <= 0) fail(`--time-ms: expected a positive number of milliseconds, got "${values["time-ms"] ?? process.env["CONCORD_BENCH_MS"]}"`);
if (values.calibrate && positionals.length > 0) fail(`--calibrate runs its own suites (${calibrationSuites.join(", ")}); leave out "${positionals.join(" ")}"`);
for (const word of positionals) if (!suites.some((suite) => suite.includes(word))) fail(`no suite matches "${word}"; suites: ${suites.join(", ")}`);
const chosen = values.calibrate ? calibrationSuites : positionals.length === 0 ? suites : suites.filter((suite) => positionals.some((word) => suite.includes(word)));

// Few minimum iterations: some tasks (checking a 100-client history) take most of a second each.
const bench = new Bench({ time: timeMs, iterations: 5, warmupTime: 200, warmupIterations: 2 });
const suiteOfTask = new Map<string, string>();
for (const suite of chosen) {
  const module = (await import(join(here, "micro", `${suite}.ts`))) as MicroModule;
  const before = bench.tasks.length;
  module.register(bench);
  for (const task of bench.tasks.slice(before)) suiteOfTask.set(task.name, suite);
}
process.stderr.write(`running ${bench.tasks.length} micro-benchmarks from ${chosen.length} suites (${chosen.join(", ")})...\n`);
const startedAt = new Date().toISOString();
await bench.run();

const tasks = bench.tasks.map((task) => taskResult(suiteOfTask.get(task.name) ?? "", task.name, task.result));
const command = ["pnpm bench:micro", ...process.argv.slice(2)].join(" ");
const results: MicroResults = microResultsSchema.parse({ command, startedAt, timeMs, machine: currentMachine(), suites: chosen, tasks });
console.table(
  tasks.map((task) => ({
    task: task.name,
    // Tasks slower than ten a second (a whole model checked) keep two decimals, so that their rate is still readable.
    "ops/s": task.error === undefined ? task.opsPerSec.toLocaleString("en-US", { maximumFractionDigits: task.opsPerSec < 10 ? 2 : 0 }) : "error",
    "mean (us)": task.error === undefined ? task.meanUs.toFixed(2) : "",
    "median (us)": task.error === undefined ? task.medianUs.toFixed(2) : "",
    "p99 (us)": task.error === undefined ? task.p99Us.toFixed(2) : "",
    "rme (%)": task.error === undefined ? task.rmePercent.toFixed(2) : "",
    samples: task.samples,
  })),
);

const repoRoot = join(here, "..", "..");
const outDir = values.out ?? join(repoRoot, "bench", "results", startedAt.replace(/[:.]/g, "-"));
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, "micro.json"), JSON.stringify(results, null, 2) + "\n");
process.stderr.write(`wrote ${relative(process.cwd(), join(outDir, "micro.json"))}\n`);
const errored = tasks.filter((task) => task.error !== undefined);
for (const task of errored) process.stderr.write(`bench:micro: task "${task.name}" failed: ${task.error}\n`);

if (values.calibrate) {
  if (errored.length > 0) fail("a task failed, so the cost model was not calibrated");
  const file = calibrate(tasks, { machine: results.machine, command, measuredAt: startedAt, largeAppendKilobytes: largeAppendKilobytes() });
  writeFileSync(calibratedCpuPath, calibratedCpuModule(file));
  process.stdout.write(`cost model: ${JSON.stringify(file.cpu)}\n`);
  process.stderr.write(`wrote ${relative(process.cwd(), calibratedCpuPath)}: the simulator's default CPU cost model, which moves every simulated figure that charges CPU (regenerate figures.json, the docs' tables and docs/results/simulated)\n`);
}
process.exit(errored.length > 0 ? 1 : 0);
