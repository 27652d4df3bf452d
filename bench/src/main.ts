// pnpm bench — runs the simulated benchmark matrix (algorithm x cluster size x
// scenario x seed), shows progress on stderr, prints the summary table and
// writes bench/results/<run>/{results.json, report.md, report.html}.
// `pnpm bench --real` runs real clusters instead (real/command.ts).
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { algorithms } from "@concord/lab";
import { htmlReport, markdownReport, skippedSummary, summaryTable } from "./report.ts";
import { buildMatrix, defaultScenarios } from "./matrix.ts";
import { runMatrix } from "./run-matrix.ts";
import { runRealCommand } from "./real/command.ts";

// --real measures real clusters (and etcd) instead of the simulated matrix: see real/command.ts.
if (process.argv.slice(2).includes("--real")) {
  process.exit(await runRealCommand(process.argv.slice(2), { stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text) }));
}

function fail(message: string): never {
  console.error(`bench: ${message}`);
  process.exit(2);
}

let parsed;
try {
  parsed = parseArgs({
    args: process.argv.slice(2),
    options: {
      algo: { type: "string", multiple: true },
      scenario: { type: "string", multiple: true },
      seeds: { type: "string", default: "1" },
      ops: { type: "string" },
      out: { type: "string" },
    },
    strict: true,
  });
} catch (error) {
  fail(`${(error as Error).message.split("\n")[0]} (allowed flags: --algo, --scenario, --seeds, --ops, --out)`);
}
const values = parsed.values;
const names = algorithms.map((algorithm) => algorithm.name);
for (const name of values.algo ?? []) if (!names.includes(name)) fail(`--algo: unknown algorithm "${name}"; allowed: ${names.join(", ")}`);
for (const name of values.scenario ?? []) if (!defaultScenarios.includes(name)) fail(`--scenario: unknown scenario "${name}"; allowed: ${defaultScenarios.join(", ")}`);
const seeds = Number(values.seeds);
if (!Number.isInteger(seeds) || seeds < 1 || seeds > 1000) fail(`--seeds: expected an integer from 1 to 1000, got "${values.seeds}"`);
const ops = values.ops === undefined ? undefined : Number(values.ops);
if (ops !== undefined && (!Number.isInteger(ops) || ops < 1)) fail(`--ops: expected a positive integer, got "${values.ops}"`);

const chosen = values.algo === undefined ? algorithms : algorithms.filter((algorithm) => values.algo?.includes(algorithm.name));
const cases = buildMatrix({ algorithms: chosen, scenarios: values.scenario ?? defaultScenarios, seeds, faults: [1] });
const command = ["pnpm bench", ...process.argv.slice(2)].join(" ");
const started = performance.now();
const { rows, skipped } = runMatrix(cases, ops, (line) => process.stderr.write(`${line}\n`));

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const runId = new Date().toISOString().replace(/[:.]/g, "-");
const outDir = values.out ?? join(repoRoot, "bench", "results", runId);
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, "results.json"), JSON.stringify({ command, runs: rows.map((row) => ({ comparison: row.comparison, ...row.report })), skipped }, null, 2) + "\n");
writeFileSync(join(outDir, "report.md"), markdownReport(rows, command, skipped));
writeFileSync(join(outDir, "report.html"), htmlReport(rows, command, skipped));
process.stdout.write(summaryTable(rows) + skippedSummary(skipped));
process.stderr.write(`\n${rows.length} runs${skipped.length > 0 ? ` (${skipped.length} skipped as not applicable)` : ""} in ${((performance.now() - started) / 1000).toFixed(1)} s; wrote ${relative(process.cwd(), outDir) || "."}/{results.json,report.md,report.html}\n`);
