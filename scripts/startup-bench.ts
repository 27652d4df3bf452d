// pnpm bench:startup [--runs n]: how long the installed `concord check` takes on a
// one-operation history, start to exit, with plain Node: the cost a script pays
// per history file (issue 13 asks for under 0.3 s). It builds and packs the
// packages and installs them outside the workspace as the packaging test does
// (inside it, the packages' exports point at the TypeScript sources, which
// plain Node cannot run), then times the binary beside `node -e 0`, Node's own
// start-up on the same machine at the same moment, interleaved so that a
// change in the machine's load hits both alike.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { buildPackAndInstall, plainEnv } from "./packaging.ts";

const goalMs = 300;
const repoRoot = fileURLToPath(new URL("..", import.meta.url));
const { values } = parseArgs({ options: { runs: { type: "string", default: "20" } } });
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, not ${values.runs}`);

/** timeMs runs `node ...args` once in `cwd` and returns its wall-clock time; a failure or unexpected output throws. */
function timeMs(args: readonly string[], cwd: string, expected: string): number {
  const startedMs = performance.now();
  const result = spawnSync(process.execPath, args, { cwd, env: plainEnv(), encoding: "utf8" });
  const elapsedMs = performance.now() - startedMs;
  if (result.status !== 0 || result.stdout.trim() !== expected) throw new Error(`node ${args.join(" ")} exited ${result.status}: ${result.stdout}${result.stderr}`);
  return elapsedMs;
}

/** summary renders the minimum, median and 90th percentile of some times. */
function summary(timesMs: readonly number[]): string {
  const sorted = [...timesMs].sort((a, b) => a - b);
  const at = (quantile: number): number => sorted[Math.min(sorted.length - 1, Math.floor(quantile * sorted.length))]!;
  return `min ${sorted[0]!.toFixed(0)} ms, median ${at(0.5).toFixed(0)} ms, p90 ${at(0.9).toFixed(0)} ms`;
}

const consumer = mkdtempSync(join(tmpdir(), "concord-startup-"));
try {
  console.error("building, packing and installing the packages...");
  buildPackAndInstall(repoRoot, consumer);
  // A one-operation history in Concord's JSON lines, as `concord sim --history` writes it; its events say the model (kv).
  writeFileSync(join(consumer, "one-op.jsonl"), '{"process":1,"type":"invoke","f":"put","key":"x","value":"1","time":0}\n{"process":1,"type":"ok","f":"put","key":"x","time":10}\n');
  const check = [join(consumer, "node_modules/@concord/cli/dist/main.js"), "check", "one-op.jsonl"];
  const bare = ["-e", "console.log('linearizable')"];
  // One untimed run of each warms the file cache.
  timeMs(check, consumer, "linearizable");
  timeMs(bare, consumer, "linearizable");
  const checkMs: number[] = [];
  const bareMs: number[] = [];
  for (let run = 0; run < runs; run++) {
    checkMs.push(timeMs(check, consumer, "linearizable"));
    bareMs.push(timeMs(bare, consumer, "linearizable"));
  }
  const median = [...checkMs].sort((a, b) => a - b)[Math.floor(runs / 2)]!;
  console.log(`concord check, one-op history: ${summary(checkMs)} (${runs} runs)`);
  console.log(`node -e (Node's own start-up): ${summary(bareMs)}`);
  console.log(`goal: median under ${goalMs} ms: ${median < goalMs ? "met" : "NOT met"}`);
} finally {
  rmSync(consumer, { recursive: true, force: true });
}
