// pnpm bench --real: real clusters of every algorithm, and etcd where it is
// on the PATH, side by side under one load driver; prints the summary table
// and writes bench/results/<run>/{results.json, report.md, report.html}.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { kvHistoryToJsonl } from "@concord/check";
import { algorithms, findAlgorithm } from "@concord/lab";
import { findOnPath } from "./etcd-cluster.ts";
import { cliLauncher } from "./launcher.ts";
import { goalLine, machineLine, realHtmlReport, realMarkdownReport, realSummaryTable } from "./report.ts";
import { type RealWorkload, etcdSystem, realWorkloadMixes, killEverythingNow, runRealBench } from "./run-real.ts";
import { type NemesisBench, nemesisFaultsFlag, nemesisHtml, nemesisMarkdown, nemesisTable, runNemesisBench } from "./nemesis.ts";

/** RealCommandIo is where the command writes: the process's streams, or a test's buffers. */
export interface RealCommandIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

const flagNames = "--real, --algo, --seconds, --clients, --rounds, --workload, --keys, --quick, --no-etcd, --histories, --profile, --tmp-dir, --out, --nemesis, --faults, --nemesis-seconds, --seed, --help";

/** promisesLinearizability tells whether a system promises linearizable histories (etcd and the consensus algorithms do; an eventually consistent store does not). */
function promisesLinearizability(system: string): boolean {
  return findAlgorithm(system)?.promisesLinearizability?.({}) ?? true;
}

/** realUsage is `pnpm bench --real --help`'s text. */
function realUsage(): string {
  const names = [...algorithms.map((algorithm) => algorithm.name), etcdSystem];
  return [
    "usage: pnpm bench --real [flags]   real clusters of node processes (and etcd) under one load driver, side by side",
    "",
    `  --algo <name>       a system to run (repeat for more); allowed: ${names.join(", ")} (default: the linearizable ones and etcd)`,
    "  --seconds <s>       seconds of load per run (default 10, --quick 3)",
    "  --clients <c>       concurrent clients (default 64)",
    "  --rounds <r>        rounds, each running every system once in turn (default 3, --quick 2)",
    `  --workload <w>      ${Object.keys(realWorkloadMixes).join(" or ")} (default puts)`,
    "  --keys <k>          keys the load spreads over (default 8)",
    "  --quick             3 s runs, 2 rounds",
    "  --no-etcd           leave etcd out",
    "  --histories         keep each run's history as JSON lines (for concord check)",
    "  --profile           profile the node processes (docs/benchmarks.md)",
    "  --tmp-dir <dir>     where the clusters' data directories go",
    "  --out <dir>         where results.json, report.md and report.html go (default bench/results/real-<time>)",
    "  --nemesis           then run each system (but solo) once more under concord test's nemesis, in network",
    "                      namespaces (needs root), and add those runs to the report (docs/testing.md)",
    "  --faults <list>     the nemesis's faults, comma-separated (default partition,kill)",
    "  --nemesis-seconds <s>  seconds of load under the nemesis per system (default 20, --quick 6)",
    "  --seed <s>          the nemesis's seed, one schedule for every system (default 17)",
    "  --help              this text",
    "",
    "exit codes: 0 every run finished with a history its system promises (linearizable, except for an eventually consistent store); 1 otherwise; 2 bad flags.",
    "",
  ].join("\n");
}

/**
 * defaultSystems puts Raft and etcd side by side at the head of each round
 * (the pair the goal compares, adjacent so that they see the same machine),
 * then the other algorithms, and the one-node baseline last.
 */
function defaultSystems(): string[] {
  const names = algorithms.map((algorithm) => algorithm.name);
  // An eventually consistent store is no peer of etcd's: compared by default are the linearizable systems.
  const rest = names.filter((name) => name !== "raft" && name !== "solo" && promisesLinearizability(name));
  return ["raft", etcdSystem, ...rest, ...(names.includes("solo") ? ["solo"] : [])];
}

class UsageError extends Error {}

function integer(flag: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) throw new UsageError(`--${flag}: expected an integer from ${min} to ${max}, got "${text}"`);
  return value;
}

/** runRealCommand runs `pnpm bench --real` with `args` (the flags after `bench`), returning the exit code: 0 when every run finished with a linearizable history, 1 otherwise, 2 for bad flags. */
export async function runRealCommand(args: readonly string[], io: RealCommandIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: {
        real: { type: "boolean" },
        algo: { type: "string", multiple: true },
        seconds: { type: "string" },
        clients: { type: "string" },
        rounds: { type: "string" },
        workload: { type: "string" },
        keys: { type: "string" },
        quick: { type: "boolean" },
        "no-etcd": { type: "boolean" },
        histories: { type: "boolean" },
        profile: { type: "boolean" },
        "tmp-dir": { type: "string" },
        out: { type: "string" },
        nemesis: { type: "boolean" },
        faults: { type: "string" },
        "nemesis-seconds": { type: "string" },
        seed: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }).values;
    if (parsed.help === true) {
      io.stdout(realUsage());
      return 0;
    }
    const allowed = [...algorithms.map((algorithm) => algorithm.name), etcdSystem];
    for (const name of parsed.algo ?? []) if (!allowed.includes(name)) throw new UsageError(`--algo: unknown system "${name}"; allowed: ${allowed.join(", ")}`);
    if (parsed.workload !== undefined && !(parsed.workload in realWorkloadMixes)) throw new UsageError(`--workload: expected puts or mixed, got "${parsed.workload}"`);
  } catch (error) {
    io.stderr(`bench: ${(error as Error).message.split("\n")[0]}${error instanceof UsageError ? "" : ` (allowed flags: ${flagNames})`}\n`);
    return 2;
  }
  let seconds, clients, rounds, keys, faults, nemesisSeconds, seed;
  try {
    faults = nemesisFaultsFlag(parsed.faults);
    nemesisSeconds = integer("nemesis-seconds", parsed["nemesis-seconds"], 2, 3_600) ?? (parsed.quick === true ? 6 : 20);
    seed = integer("seed", parsed.seed, 0, 2 ** 31 - 1) ?? 17;
    seconds = integer("seconds", parsed.seconds, 1, 3_600) ?? (parsed.quick === true ? 3 : 10);
    clients = integer("clients", parsed.clients, 1, 10_000) ?? 64;
    rounds = integer("rounds", parsed.rounds, 1, 100) ?? (parsed.quick === true ? 2 : 3);
    keys = integer("keys", parsed.keys, 1, 1_000_000) ?? 8;
  } catch (error) {
    io.stderr(`bench: ${(error as Error).message}\n`);
    return 2;
  }
  // A system named twice would run twice a round and be summarized twice: once is meant.
  const systems = [...new Set(parsed.algo ?? defaultSystems())];
  const etcdPath = parsed["no-etcd"] === true ? undefined : findOnPath("etcd");
  const etcdMissingReason = parsed["no-etcd"] === true ? "--no-etcd was given" : "etcd is not on the PATH (install etcd 3.4, e.g. Debian's etcd-server, to compare)";
  const command = ["pnpm bench", ...args].join(" ");
  const startedMs = performance.now();
  const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
  const outDir = parsed.out ?? join(repoRoot, "bench", "results", `real-${new Date().toISOString().replace(/[:.]/g, "-")}`);
  mkdirSync(outDir, { recursive: true });
  // --histories keeps each run's history as JSON lines, for `concord check` to judge again.
  const onHistory =
    parsed.histories === true
      ? (system: string, round: number, history: Parameters<typeof kvHistoryToJsonl>[0]): void => {
          mkdirSync(join(outDir, "histories"), { recursive: true });
          writeFileSync(join(outDir, "histories", `round-${round}-${system}.jsonl`), kvHistoryToJsonl(history));
        }
      : undefined;
  // Ctrl-C (or a kill's SIGTERM) stops the clusters running now rather than leaving node and etcd processes behind.
  const interrupt = (signal: NodeJS.Signals): void => {
    io.stderr(`\nbench: ${signal}; killing the clusters and removing their data\n`);
    killEverythingNow();
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  process.once("SIGINT", interrupt);
  process.once("SIGTERM", interrupt);
  let result;
  try {
    result = await runRealBench({
      systems,
      clients,
      seconds,
      rounds,
      workload: (parsed.workload ?? "puts") as RealWorkload,
      keys,
      etcdPath,
      etcdMissingReason,
      launcher: cliLauncher,
      onHistory,
      tmpRoot: parsed["tmp-dir"],
      profileDir: parsed.profile === true ? join(outDir, "profiles") : undefined,
      progress: (line) => io.stderr(`${line}\n`),
    });
  } finally {
    process.off("SIGINT", interrupt);
    process.off("SIGTERM", interrupt);
  }
  let nemesis: NemesisBench | undefined;
  if (parsed.nemesis === true) {
    process.once("SIGINT", interrupt);
    process.once("SIGTERM", interrupt);
    try {
      nemesis = await runNemesisBench({ systems, faults, seconds: nemesisSeconds, seed, clients: 5, keys: 5, outDir, etcdPath, launcher: cliLauncher, progress: (line) => io.stderr(`${line}\n`) });
    } finally {
      process.off("SIGINT", interrupt);
      process.off("SIGTERM", interrupt);
    }
  }
  writeFileSync(join(outDir, "results.json"), JSON.stringify({ command, real: result, ...(nemesis === undefined ? {} : { nemesis }) }, null, 2) + "\n");
  writeFileSync(join(outDir, "report.md"), realMarkdownReport(result, command) + (nemesis === undefined ? "" : `\n${nemesisMarkdown(nemesis)}`));
  writeFileSync(join(outDir, "report.html"), nemesis === undefined ? realHtmlReport(result, command) : realHtmlReport(result, command).replace("</body>", `${nemesisHtml(nemesis)}</body>`));
  io.stdout(`${realSummaryTable(result)}${result.skipped.map((skip) => `skipped ${skip.system}: ${skip.reason}\n`).join("")}${goalLine(result)}\nmachine: ${machineLine(result)}\n`);
  if (nemesis !== undefined) io.stdout(nemesis.skipped === undefined ? `\nunder a nemesis (${faults.join(",")}, seed ${seed}, ${nemesisSeconds} s):\n${nemesisTable(nemesis)}` : `\nnemesis not run: ${nemesis.skipped}\n`);
  io.stderr(`\n${result.runs.length} runs in ${((performance.now() - startedMs) / 1000).toFixed(1)} s; wrote ${relative(process.cwd(), outDir) || "."}/{results.json,report.md,report.html}\n`);
  const clean = result.runs.every((run) => run.report !== undefined && (run.report.linearizable === true || !promisesLinearizability(run.system)));
  const nemesisClean = (nemesis?.runs ?? []).every((run) => run.result !== undefined && (run.result.passed || !promisesLinearizability(run.system)));
  return clean && nemesisClean ? 0 : 1;
}
