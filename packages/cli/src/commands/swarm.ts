import { availableParallelism } from "node:os";
import { type AnyAlgorithm, ConfigError } from "@concord/core";
import { type ScenarioInput, type SimulationOptions, runSimulation, scenarioNames } from "@concord/sim";
import { algorithmNames, algorithms, applicability, clusterSizes, findAlgorithm, renderTable } from "@concord/lab";
import { type FlagSpec, choiceFlag, faultToleranceWarning, helpText, integerFlag, parseFlags, protocolOptionFlags, readFlagSpec, readLevelFlag } from "../flags.ts";
import { type CommandIo, UsageError } from "../io.ts";
import { protocolOptionsHelp } from "../protocol-options.ts";
import { readScenarioFile, scenarioFileUsageError } from "../scenario-file.ts";
import { type TimedOutcome, runSeedsOnWorkers } from "../swarm-pool.ts";
import type { SeedOutcome, SeedTask } from "../swarm-seed.ts";

const flags: Readonly<Record<string, FlagSpec>> = {
  algo: { type: "string", description: "algorithm to run, or all of them (required)", values: [...algorithmNames, "all"] },
  seeds: { type: "string", description: "seeds to run per algorithm (default 100)" },
  "first-seed": { type: "string", description: "the first seed; the swarm runs first-seed .. first-seed+seeds-1 (default 1)" },
  scenario: { type: "string", description: "scenario (default chaos: the fault mix is drawn from each seed)", values: scenarioNames },
  "scenario-file": { type: "string", description: "run a scenario written as JSON in this file instead of a built-in one" },
  nodes: { type: "string", description: "number of replicas (default: each algorithm's smallest cluster tolerating one fault; with --algo all, algorithms that refuse this size are skipped)" },
  ops: { type: "string", description: "operations per run (default: the scenario's)" },
  clients: { type: "string", description: "concurrent clients per run (default: the scenario's)" },
  option: { type: "string", multiple: true, description: "a protocol option as name=value (repeatable), passed to every run; each algorithm's are listed below" },
  read: readFlagSpec,
  jobs: { type: "string", description: "worker threads running seeds in parallel (default: the machine's cores)" },
  "progress-every": { type: "string", description: "when stderr is not a terminal, print a progress line every this many seeds (default: a tenth of the swarm, at most 100)" },
  json: { type: "boolean", description: "print the result as one JSON object (every failing seed, with its replay command)" },
  help: { type: "boolean", description: "show this help" },
};

const usage = "concord swarm --algo <name|all> [--seeds <n>] [--first-seed <s>] [--scenario <name> | --scenario-file <path>] [--nodes <n>] [--jobs <j>] [--option name=value] [--read <level>]";

/** failuresShownMax bounds the failing seeds the text output lists; --json lists them all. */
const failuresShownMax = 50;

/** SwarmPlan is a validated swarm: which algorithms on how many nodes, and the runs for each. */
interface SwarmPlan {
  readonly clusters: readonly { readonly algorithm: AnyAlgorithm; readonly nodes: number }[];
  readonly skipped: readonly string[];
  readonly tasks: readonly SeedTask[];
  readonly jobs: number;
  readonly scenarioName: string;
  readonly seeds: number;
  readonly firstSeed: number;
}

/** AlgorithmTally is one algorithm's share of a swarm. */
interface AlgorithmTally {
  readonly algo: string;
  readonly nodes: number;
  seeds: number;
  failed: number;
  firstStartedMs: number;
  lastFinishedMs: number;
  /** paths holds, per hard path, the seeds that reached it and the times it was taken in all. */
  readonly paths: Map<string, { seeds: number; times: number }>;
  /** crashes sums the seeds' crash counts. */
  readonly crashes: { crashes: number; lostRecords: number; torn: number };
}

/**
 * runSwarmCommand implements `concord swarm`: many seeds of one scenario
 * (chaos by default, which draws each seed's fault mix), for one algorithm or
 * all of them, run in parallel on worker threads across the machine's cores,
 * the VOPR habit. It prints progress, then the failing seeds with their replay
 * commands. Exit code 0 when every seed kept every guarantee, 1 when one did
 * not, 2 for bad flags.
 */
export async function runSwarmCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseFlags(args, flags, false);
  if (values["help"] === true) {
    io.stdout(helpText(usage, flags, [protocolOptionsHelp(algorithmNames)]));
    return 0;
  }
  const plan = planSwarm(values, io);
  if (plan.clusters.length === 0) {
    io.stderr(plan.skipped.map((line) => `swarm: ${line}\n`).join("") + "swarm: nothing to run\n");
    return 0;
  }
  const progress = progressReporter(plan.tasks.length, values, io);
  const tallies = new Map<string, AlgorithmTally>(plan.clusters.map(({ algorithm, nodes }) => [algorithm.name, newTally(algorithm.name, nodes, algorithm.hardPaths?.map((path) => path.name) ?? [])]));
  const failures: SeedOutcome[] = [];
  if (plan.skipped.length > 0) io.stderr(plan.skipped.map((line) => `swarm: ${line}\n`).join(""));
  io.stderr(`swarm: ${plan.clusters.map(({ algorithm, nodes }) => `${algorithm.name} n=${nodes}`).join(", ")} on ${plan.scenarioName}, seeds ${plan.firstSeed}..${plan.firstSeed + plan.seeds - 1}, ${plan.jobs} job${plan.jobs === 1 ? "" : "s"}\n`);
  const startedMs = performance.now();
  await runSeedsOnWorkers(plan.tasks, plan.jobs, ({ outcome, startedMs, finishedMs }: TimedOutcome) => {
    const tally = tallies.get(outcome.algo);
    if (tally !== undefined) {
      tally.seeds++;
      if (outcome.problems.length > 0) tally.failed++;
      tally.firstStartedMs = Math.min(tally.firstStartedMs, startedMs);
      tally.lastFinishedMs = Math.max(tally.lastFinishedMs, finishedMs);
      addOutcome(tally, outcome);
    }
    if (outcome.problems.length > 0) failures.push(outcome);
    progress(failures.length);
  });
  const wallSeconds = (performance.now() - startedMs) / 1000;
  failures.sort((a, b) => a.algo.localeCompare(b.algo) || a.seed - b.seed);
  const rows = [...tallies.values()];
  if (values["json"] === true) {
    const algorithmsRun = rows.map((tally) => ({
      algo: tally.algo,
      nodes: tally.nodes,
      seeds: tally.seeds,
      failed: tally.failed,
      seedsPerSecond: seedsPerSecond(tally),
      paths: Object.fromEntries(tally.paths),
      crashes: tally.crashes,
    }));
    io.stdout(JSON.stringify({ scenario: plan.scenarioName, firstSeed: plan.firstSeed, seeds: plan.seeds, jobs: plan.jobs, wallSeconds: round(wallSeconds), algorithms: algorithmsRun, failures }) + "\n");
  } else {
    io.stdout(renderSwarm(rows, failures, wallSeconds, plan.jobs));
  }
  return failures.length > 0 ? 1 : 0;
}

/** planSwarm validates the flags and lists the runs, algorithm by algorithm, so that each algorithm's rate can be measured. */
function planSwarm(values: Record<string, string | boolean | string[] | undefined>, io: CommandIo): SwarmPlan {
  const algo = choiceFlag("algo", values["algo"], [...algorithmNames, "all"]);
  if (algo === undefined) throw new UsageError(`--algo is required; allowed: ${[...algorithmNames, "all"].join(", ")}`);
  const seeds = integerFlag("seeds", values["seeds"], 1, 100_000_000) ?? 100;
  const firstSeed = integerFlag("first-seed", values["first-seed"], 0, Number.MAX_SAFE_INTEGER - seeds) ?? 1;
  const nodesFlag = integerFlag("nodes", values["nodes"], 1, 256);
  const ops = integerFlag("ops", values["ops"], 1, 10_000_000);
  const clients = integerFlag("clients", values["clients"], 1, 10_000);
  const jobs = integerFlag("jobs", values["jobs"], 1, 256) ?? availableParallelism();
  const protocolOptions = protocolOptionFlags(values["option"]);
  const readLevel = readLevelFlag(values["read"]);
  const scenarioFlag = choiceFlag("scenario", values["scenario"], scenarioNames);
  const scenarioFile = values["scenario-file"];
  if (scenarioFile !== undefined && scenarioFlag !== undefined) throw new UsageError("--scenario and --scenario-file exclude each other; give one");
  const scenario: string | ScenarioInput = typeof scenarioFile === "string" ? readScenarioFile(scenarioFile, io) : (scenarioFlag ?? "chaos");

  const chosen = algo === "all" ? algorithms : [findAlgorithm(algo) as AnyAlgorithm];
  const clusters: { algorithm: AnyAlgorithm; nodes: number }[] = [];
  const skipped: string[] = [];
  for (const algorithm of chosen) {
    const nodes = nodesFlag ?? clusterSizes(algorithm, [1])[0] ?? 1;
    const sizeError = algorithm.clusterSizeError(nodes);
    if (sizeError !== undefined) {
      if (algo !== "all") throw new UsageError(`--nodes: ${sizeError}`);
      skipped.push(`skipping ${algorithm.name}: ${sizeError}`);
      continue;
    }
    // A scenario whose faults the algorithm does not promise to tolerate would fail every seed by design: it is skipped, and said so.
    const fit = applicability({ algorithm, nodes, scenario });
    const warning = fit.applicable ? faultToleranceWarning(algorithm, nodes) : undefined;
    if (warning !== undefined) io.stderr(`concord: ${warning}\n`);
    if (fit.applicable) clusters.push({ algorithm, nodes });
    else skipped.push(`skipping ${algorithm.name}: not applicable: ${fit.reason}`);
  }
  if (clusters.length === 0 && !skipped.some((line) => line.includes(": not applicable: "))) throw new UsageError(`--nodes: no algorithm runs on ${nodesFlag} nodes`);
  for (const { algorithm, nodes } of clusters) probeRun({ algorithm, nodes, scenario, seed: firstSeed, protocolOptions, ...(readLevel !== undefined ? { readLevel } : {}) }, typeof scenarioFile === "string" ? scenarioFile : undefined);

  const tasks: SeedTask[] = [];
  for (const { algorithm, nodes } of clusters) {
    for (let seed = firstSeed; seed < firstSeed + seeds; seed++) {
      tasks.push({
        algo: algorithm.name,
        nodes,
        scenario,
        seed,
        ...(typeof scenarioFile === "string" ? { scenarioFile } : {}),
        ...(ops !== undefined ? { ops } : {}),
        ...(clients !== undefined ? { clients } : {}),
        ...(Object.keys(protocolOptions).length > 0 ? { protocolOptions } : {}),
        ...(readLevel !== undefined ? { readLevel } : {}),
      });
    }
  }
  return { clusters, skipped, tasks, jobs, scenarioName: typeof scenario === "string" ? scenario : `${scenario.name} (${String(scenarioFile)})`, seeds, firstSeed };
}

/**
 * probeRun runs an algorithm's first seed without a workload, so that a bad
 * protocol option or a scenario the simulator refuses is a usage error
 * (exit 2, naming the field) before any worker starts, as in `concord sim`,
 * rather than the same failure on every seed.
 */
function probeRun(options: Omit<SimulationOptions, "ops">, scenarioFile: string | undefined): void {
  try {
    runSimulation({ ...options, ops: 0 });
  } catch (error) {
    if (error instanceof ConfigError) throw scenarioFileUsageError(error, scenarioFile);
    throw error;
  }
}

/**
 * progressReporter prints how far the swarm is: on a terminal, one line
 * rewritten in place (at most five times a second); otherwise a line every
 * `--progress-every` seeds, so that a log shows steady progress without
 * thousands of lines.
 */
function progressReporter(total: number, values: Record<string, string | boolean | string[] | undefined>, io: CommandIo): (failed: number) => void {
  const every = integerFlag("progress-every", values["progress-every"], 1, 100_000_000) ?? Math.max(1, Math.min(100, Math.ceil(total / 10)));
  const startedMs = performance.now();
  let done = 0;
  let shownMs = 0;
  return (failed) => {
    done++;
    const nowMs = performance.now();
    const elapsedSeconds = (nowMs - startedMs) / 1000;
    const rate = done / Math.max(elapsedSeconds, 1e-9);
    const line = `swarm: ${done}/${total} seeds, ${failed} failed, ${rate.toFixed(1)} seeds/s, ${Math.round(elapsedSeconds)} s elapsed, about ${Math.round((total - done) / rate)} s left`;
    if (io.stderrIsTty === true) {
      if (nowMs - shownMs < 200 && done < total) return;
      shownMs = nowMs;
      io.stderr(`\r${line}\x1b[K${done === total ? "\n" : ""}`);
    } else if (done % every === 0 || done === total) {
      io.stderr(line + "\n");
    }
  };
}

function newTally(algo: string, nodes: number, hardPaths: readonly string[]): AlgorithmTally {
  const paths = new Map(hardPaths.map((name) => [name, { seeds: 0, times: 0 }]));
  return { algo, nodes, seeds: 0, failed: 0, firstStartedMs: Infinity, lastFinishedMs: 0, paths, crashes: { crashes: 0, lostRecords: 0, torn: 0 } };
}

/** addOutcome adds one seed's hard paths and crash counts to its algorithm's tally. */
function addOutcome(tally: AlgorithmTally, outcome: SeedOutcome): void {
  for (const [name, times] of Object.entries(outcome.paths)) {
    const path = tally.paths.get(name) ?? { seeds: 0, times: 0 };
    if (times > 0) {
      path.seeds++;
      path.times += times;
    }
    tally.paths.set(name, path);
  }
  tally.crashes.crashes += outcome.crashes.crashes;
  tally.crashes.lostRecords += outcome.crashes.lostRecords;
  tally.crashes.torn += outcome.crashes.torn;
}

/** renderPaths prints, per algorithm, its crashes and the seeds that reached each hard path: a path no seed reached is a hole in the fault model. */
function renderPaths(rows: readonly AlgorithmTally[]): string {
  let out = "";
  for (const tally of rows) {
    const { crashes, lostRecords, torn } = tally.crashes;
    out += `\n${tally.algo}: ${crashes} crashes, ${lostRecords} of them lost unsynced records, ${torn} tore one\n`;
    if (tally.paths.size === 0) continue;
    const table = [["hard path", "seeds", "times"]];
    for (const [name, path] of tally.paths) table.push([name, String(path.seeds), String(path.times)]);
    out += renderTable(table);
    const holes = [...tally.paths].filter(([, path]) => path.seeds === 0).map(([name]) => name);
    if (holes.length > 0) out += `no seed reached: ${holes.join(", ")}\n`;
  }
  return out;
}

/** renderSwarm prints the per-algorithm table, then each failing seed with its problems and replay command. */
function renderSwarm(rows: readonly AlgorithmTally[], failures: readonly SeedOutcome[], wallSeconds: number, jobs: number): string {
  const table = [["algo", "nodes", "seeds", "failed", "seconds", "seeds/s"]];
  for (const tally of rows) {
    table.push([tally.algo, String(tally.nodes), String(tally.seeds), String(tally.failed), ((tally.lastFinishedMs - tally.firstStartedMs) / 1000).toFixed(1), seedsPerSecond(tally).toFixed(1)]);
  }
  const seeds = rows.reduce((sum, tally) => sum + tally.seeds, 0);
  let out = renderTable(table) + renderPaths(rows) + `\n${seeds} seeds in ${wallSeconds.toFixed(1)} s on ${jobs} job${jobs === 1 ? "" : "s"} (${(seeds / Math.max(wallSeconds, 1e-9)).toFixed(1)} seeds/s)\n`;
  if (failures.length === 0) return out + "every seed kept every guarantee\n";
  out += `\n${failures.length} failing seed${failures.length === 1 ? "" : "s"}:\n`;
  for (const failure of failures.slice(0, failuresShownMax)) {
    out += `  ${failure.algo} n=${failure.nodes} seed ${failure.seed}: ${failure.problems.slice(0, 3).join("; ")}\n    replay: ${failure.replay}\n`;
  }
  if (failures.length > failuresShownMax) out += `  ... and ${failures.length - failuresShownMax} more (--json lists every one)\n`;
  return out;
}

/** seedsPerSecond is an algorithm's rate over the wall-clock window its seeds ran in. */
function seedsPerSecond(tally: AlgorithmTally): number {
  const seconds = (tally.lastFinishedMs - tally.firstStartedMs) / 1000;
  return seconds > 0 ? round(tally.seeds / seconds) : 0;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
