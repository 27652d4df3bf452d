import { ConfigError, firstClientId } from "@concord/core";
import {
  type Action,
  type ExploreBounds,
  type ExploreProgress,
  type ExploreResult,
  type Strategy,
  type WorldSetup,
  defaultBounds,
  defaultSometimes,
  describeAction,
  modelledStrategies,
  explore,
  nodeName,
  replay,
  worldSetup,
} from "@concord/explore";
import { algorithmNames, clusterSizes, findAlgorithm } from "@concord/lab";
import { z } from "zod";
import { type FlagSpec, choiceFlag, faultToleranceWarning, helpText, integerFlag, parseFlags, protocolOptionFlags } from "../flags.ts";
import { type CommandIo, UsageError, writeOutputFile } from "../io.ts";
import { protocolOptionsHelp } from "../protocol-options.ts";
import { explorerPortDefault, runExplorerUi } from "../explorer/server.ts";
import { writeCounterexample } from "../counterexample-out.ts";
import { exploreInParallel } from "../explore-parallel.ts";

/** exploreExitCodes are the exit codes of `concord explore`. */
export const exploreExitCodes = { noViolation: 0, violation: 1, badInput: 2, inconclusive: 3 } as const;

const flags: Readonly<Record<string, FlagSpec>> = {
  algo: { type: "string", description: "algorithm to explore (required)", values: algorithmNames },
  nodes: { type: "string", description: "number of replicas (default: the smallest cluster tolerating one fault)" },
  clients: { type: "string", description: "clients, each with its own operations (default 1)" },
  ops: { type: "string", description: "operations per client: puts and gets of one key, alternating (default 1)" },
  crashes: { type: "string", description: "the most replica crashes on one path (default 0)" },
  drops: { type: "string", description: "the most messages lost on one path (default 0)" },
  duplicates: { type: "string", description: "the most messages duplicated on one path (default 0)" },
  reorderings: { type: "string", description: "keep the network's order of sending and allow at most this many deliveries out of it (default: unordered, every order)" },
  "client-restarts": { type: "string", description: "the most client restarts on one path: a client loses its session and starts again under its old id, giving up its outstanding operation (default 0)" },
  reconfigurations: { type: "string", description: "the most membership changes an operator asks a leader for on one path, for algorithms with an admin hook (default 0)" },
  transfers: { type: "string", description: "the most leadership transfers an operator asks a leader for on one path, for algorithms with an admin hook (default 0)" },
  partitions: { type: "string", description: "the most lasting partitions on one path: a replica, alone or with clients, cut off from the rest until a heal action; --eventually then asks progress through a standing cut of the majority's clients and of stale reads (default 0)" },
  "read-level": { type: "string", description: "the level every read of the workload asks for: linearizable (default), lease or stale; reads served stale are left out of the linearizability check", values: ["linearizable", "lease", "stale"] },
  byzantine: { type: "string", description: `the Byzantine strategy the --byzantine-nodes play from the start, one whose state the model can copy: ${modelledStrategies.join(", ")}` },
  "byzantine-nodes": { type: "string", description: "with --byzantine: the lying replicas, comma-separated (default 0, the first primary)" },
  "byzantine-mid-path": { type: "boolean", description: "with --byzantine: the --byzantine-nodes start correct and each may turn liar at any step of a path (an action; the named replicas are its bound)" },
  spares: { type: "string", description: "replicas booted outside the initial configuration, for a membership change to add (default 0)" },
  timeouts: { type: "string", description: `the most timeouts each replica and client fires on one path (default ${defaultBounds.timeoutsPerNodeMax})` },
  depth: { type: "string", description: `the most actions on one path (default ${defaultBounds.depthMax})` },
  "inflight-max": { type: "string", description: `the most messages in flight in a state the search expands (default ${defaultBounds.inflightMessagesMax})` },
  "states-max": { type: "string", description: `stop after this many unique states (default ${defaultBounds.statesMax})` },
  strategy: { type: "string", description: "bfs (a shortest counterexample) or dfs (little memory) (default bfs)", values: ["bfs", "dfs"] },
  por: { type: "boolean", description: "partial-order reduction, the default: sleep sets, the monitors' memory read as sets and the history as its real-time precedence (docs/explore.md); loses no state and no violation" },
  "no-por": { type: "boolean", description: "turn the partial-order reduction off: every order of events is its own state (the counts of the full model)" },
  symmetry: { type: "boolean", description: "symmetry reduction: one state per orbit of the permutations of the replicas' ids that map the model onto itself (Raft, Paxos; the identity alone elsewhere), in the model whose replicas draw from streams seeded by incarnation, not id (docs/explore.md)" },
  eventually: { type: "string", description: "bounded eventually: in every state, with no fault from there on (down replicas restart, messages delivered oldest first, one shared clock), every client operation completes within this many steps (docs/explore.md)" },
  option: { type: "string", multiple: true, description: "a protocol option as name=value (repeatable), e.g. --option preVote=false; each algorithm's are listed below" },
  seed: { type: "string", description: "seed of the replicas' random streams and keys (default 1)" },
  "trace-out": { type: "string", description: "write a counterexample to this file as JSON (replay it with --replay)" },
  "counterexample-out": { type: "string", description: "write a counterexample as a simulator scenario to this JSON file: concord sim --scenario-file replays it step by step (docs/explore.md)" },
  diagram: { type: "string", description: "draw a counterexample as a message diagram into this SVG file (the simulator's replay of it, one step to the millisecond)" },
  replay: { type: "string", description: "replay a trace written by --trace-out, printing every step" },
  jobs: { type: "string", description: "search breadth-first on this many worker threads (default 1): the single breadth-first search's states, actions and verdict, with or without the reduction" },
  "progress-every": { type: "string", description: "report progress every this many unique states (default 50000; 0: never)" },
  json: { type: "boolean", description: "print one JSON object" },
  ui: { type: "boolean", description: "serve the Explorer, a web page to walk the model one action at a time (docs/explorer.md)" },
  port: { type: "string", description: `with --ui: the port to listen on, 0 for any free one (default ${explorerPortDefault})` },
  find: { type: "boolean", description: "with --ui: search within the bounds first, and open the page at a counterexample's first step" },
  help: { type: "boolean", description: "show this help" },
};

const usage =
  "concord explore --algo <name> [--nodes <n>] [--clients <c>] [--ops <k>] [--crashes <x>] [--client-restarts <r>] [--reconfigurations <m>] [--transfers <t>] [--partitions <p>] [--spares <s>] [--drops <d>] [--duplicates <u>] [--reorderings <r>] [--timeouts <t>] [--read-level <level>] [--byzantine <strategy>] [--depth <d>] [--strategy bfs|dfs] [--jobs <j>] [--no-por] [--symmetry] [--eventually <k>] [--counterexample-out <file>] [--diagram <file>] [--json]\n" +
  "       concord explore --replay <trace.json>\n" +
  "       concord explore --ui [--port <p>] [--find] --algo <name> [model flags]\n\n" +
  "Walks every state of the algorithm's replicas reachable within the bounds, checking the\n" +
  "algorithm's invariant monitors and the linearizability of the clients' history in each.\n" +
  "exit codes: 0 no violation within the bounds, 1 a violation (its steps printed),\n" +
  "2 bad flags, 3 inconclusive (the state limit stopped the search, or it never reached\n" +
  "a replica committing or a write completing, so passing would be vacuous)";

/** ExploreRun is everything that fixes one exploration: enough to run it again, and what a trace file holds. */
export interface ExploreRun {
  readonly algo: string;
  readonly nodes: number;
  readonly clients: number;
  readonly ops: number;
  readonly seed: number;
  readonly options: Record<string, unknown>;
  readonly ordered: boolean;
  /** spares: replicas outside the initial configuration (absent: none). */
  readonly spares?: number;
  /** readLevel: the level every read asks for (absent: linearizable). */
  readonly readLevel?: "lease" | "stale";
  /** byzantine: the lying replicas and their strategy (absent: every replica correct). */
  readonly byzantine?: { readonly nodes: readonly number[]; readonly strategy: string; readonly midPath?: boolean | undefined };
  /** symmetry: searched with symmetry reduction, in the model whose replicas' streams are seeded by incarnation (WorldSetup.symmetricStreams); absent: not. */
  readonly symmetry?: boolean;
}

const traceSchema = z
  .object({
    run: z.object({
      algo: z.string(),
      nodes: z.number().int().min(1),
      clients: z.number().int().min(0),
      ops: z.number().int().min(0),
      seed: z.number().int().min(0),
      options: z.record(z.string(), z.unknown()),
      ordered: z.boolean(),
      spares: z.number().int().min(0).optional(),
      readLevel: z.enum(["lease", "stale"]).optional(),
      byzantine: z.object({ nodes: z.array(z.number().int().min(0)), strategy: z.string(), midPath: z.boolean().optional() }).optional(),
      symmetry: z.boolean().optional(),
    }),
    violation: z.object({ property: z.string(), message: z.string(), continuationFrom: z.number().int().min(0).optional() }).optional(),
    steps: z.array(z.object({ action: z.record(z.string(), z.unknown()), description: z.string() })),
  })
  .strict();

/**
 * runExploreCommand implements `concord explore`: a bounded model check of
 * one algorithm, or the replay of a counterexample it wrote. It returns the
 * exit code (see {@link exploreExitCodes}).
 */
export function runExploreCommand(args: readonly string[], io: CommandIo): number | Promise<number> {
  const { values } = parseFlags(args, flags, false);
  if (values["help"] === true) {
    io.stdout(helpText(usage, flags, [protocolOptionsHelp(algorithmNames)]));
    return exploreExitCodes.noViolation;
  }
  const replayPath = values["replay"];
  if (typeof replayPath === "string") return replayTrace(replayPath, io);
  const algoName = choiceFlag("algo", values["algo"], algorithmNames);
  if (algoName === undefined) throw new UsageError(`--algo is required; allowed: ${algorithmNames.join(", ")}`);
  const algorithm = findAlgorithm(algoName);
  if (algorithm === undefined) throw new UsageError(`--algo: unknown algorithm "${algoName}"; allowed: ${algorithmNames.join(", ")}`);
  const nodes = integerFlag("nodes", values["nodes"], 1, 9) ?? clusterSizes(algorithm, [1])[0] ?? 1;
  const sizeError = algorithm.clusterSizeError(nodes);
  if (sizeError !== undefined) throw new UsageError(`--nodes: ${sizeError}`);
  const warning = faultToleranceWarning(algorithm, nodes);
  if (warning !== undefined) io.stderr(`concord: ${warning}\n`);
  const reorderings = integerFlag("reorderings", values["reorderings"], 0, 1000);
  const spares = integerFlag("spares", values["spares"], 0, 4) ?? 0;
  const readLevel = choiceFlag("read-level", values["read-level"], ["linearizable", "lease", "stale"]);
  const liars = byzantineFlags(values["byzantine"], values["byzantine-nodes"], nodes, algoName);
  if (values["byzantine-mid-path"] === true && liars === undefined) throw new UsageError("--byzantine-mid-path needs --byzantine <strategy>");
  const byzantine = liars !== undefined && values["byzantine-mid-path"] === true ? { ...liars, midPath: true } : liars;
  const reconfigurations = integerFlag("reconfigurations", values["reconfigurations"], 0, 100) ?? 0;
  const transfers = integerFlag("transfers", values["transfers"], 0, 100) ?? 0;
  if ((reconfigurations > 0 || transfers > 0) && algorithm.admin?.membership === undefined) throw new UsageError(`--${reconfigurations > 0 ? "reconfigurations" : "transfers"}: ${algoName} has no admin hook (no membership changes or leadership transfers)`);
  if (reconfigurations > 0 && algorithm.admin?.reconfigure === undefined) throw new UsageError(`--reconfigurations: ${algoName} has no membership changes`);
  if (transfers > 0 && algorithm.admin?.transferLeadership === undefined) throw new UsageError(`--transfers: ${algoName} has no leadership transfer`);
  if (spares > 0 && algorithm.admin?.reconfigure === undefined) throw new UsageError(`--spares: ${algoName} has no membership changes to add a spare`);
  const run: ExploreRun = {
    algo: algoName,
    nodes,
    clients: integerFlag("clients", values["clients"], 0, 8) ?? 1,
    ops: integerFlag("ops", values["ops"], 0, 16) ?? 1,
    seed: integerFlag("seed", values["seed"], 0, Number.MAX_SAFE_INTEGER) ?? 1,
    options: protocolOptionFlags(values["option"]),
    ordered: reorderings !== undefined,
    ...(spares > 0 ? { spares } : {}),
    ...(readLevel === "lease" || readLevel === "stale" ? { readLevel } : {}),
    ...(byzantine === undefined ? {} : { byzantine }),
    ...(values["symmetry"] === true ? { symmetry: true } : {}),
  };
  const bounds: ExploreBounds = {
    depthMax: integerFlag("depth", values["depth"], 1, 10_000) ?? defaultBounds.depthMax,
    crashesMax: integerFlag("crashes", values["crashes"], 0, 100) ?? 0,
    reorderingsMax: reorderings ?? Number.POSITIVE_INFINITY,
    dropsMax: integerFlag("drops", values["drops"], 0, 100) ?? 0,
    duplicatesMax: integerFlag("duplicates", values["duplicates"], 0, 100) ?? 0,
    timeoutsPerNodeMax: integerFlag("timeouts", values["timeouts"], 0, 100) ?? defaultBounds.timeoutsPerNodeMax,
    inflightMessagesMax: integerFlag("inflight-max", values["inflight-max"], 1, 10_000) ?? defaultBounds.inflightMessagesMax,
    statesMax: integerFlag("states-max", values["states-max"], 1, 1_000_000_000) ?? defaultBounds.statesMax,
    clientRestartsMax: integerFlag("client-restarts", values["client-restarts"], 0, 100) ?? 0,
    reconfigurationsMax: reconfigurations,
    transfersMax: transfers,
    partitionsMax: integerFlag("partitions", values["partitions"], 0, 100) ?? 0,
  };
  const strategy = (choiceFlag("strategy", values["strategy"], ["bfs", "dfs"]) ?? "bfs") as Strategy;
  const progressEvery = integerFlag("progress-every", values["progress-every"], 0, 1_000_000_000) ?? 50_000;
  const setup = setupOf(run);
  if (values["ui"] !== true && (values["port"] !== undefined || values["find"] === true)) throw new UsageError(`--${values["port"] !== undefined ? "port" : "find"} belongs to the Explorer: add --ui`);
  if (values["por"] === true && values["no-por"] === true) throw new UsageError("--por and --no-por contradict each other: give one (the reduction is on by default)");
  if (values["ui"] === true && (values["por"] === true || values["no-por"] === true)) throw new UsageError(`--${values["por"] === true ? "por" : "no-por"} belongs to the search: the Explorer (--ui) offers every action`);
  const eventually = integerFlag("eventually", values["eventually"], 1, 100_000);
  if (values["ui"] === true && eventually !== undefined) throw new UsageError("--eventually belongs to the search: the Explorer (--ui) walks the model's own actions, and the check's continuation runs a shared clock the model does not offer");
  for (const output of ["counterexample-out", "diagram"]) {
    if (values["ui"] === true && values[output] !== undefined) throw new UsageError(`--${output} belongs to the search: the Explorer (--ui) shows a counterexample as a page`);
  }
  if (run.symmetry === true) {
    if (values["ui"] === true) throw new UsageError("--symmetry belongs to the search: the Explorer (--ui) offers every state");
    if (eventually !== undefined) throw new UsageError("--symmetry and --eventually exclude each other: the check's continuation ticks replicas and delivers messages in id order, which no renaming of the ids preserves");
    for (const output of ["counterexample-out", "diagram"]) {
      if (values[output] !== undefined) throw new UsageError(`--${output} and --symmetry exclude each other: under symmetry the replicas draw from streams seeded by incarnation, the simulator's by id, so its replay could leave the path (--trace-out and --replay keep the model)`);
    }
  }
  if (values["ui"] === true) return runExplorerUi({ algo: algoName, setup, bounds, strategy, find: values["find"] === true, port: integerFlag("port", values["port"], 0, 65535) ?? explorerPortDefault }, io);
  const leaderless = algorithm.kvSemantics === "write-once";
  const jobs = integerFlag("jobs", values["jobs"], 1, 64) ?? 1;
  const onProgress = (progress: ExploreProgress): void => {
    const rate = Math.round(progress.uniqueStates / Math.max(progress.elapsedMs / 1000, 0.001));
    const line = `explored ${progress.uniqueStates.toLocaleString("en-US")} unique states (${rate.toLocaleString("en-US")}/s), depth ${progress.depth}, ${progress.queued.toLocaleString("en-US")} queued`;
    io.stderr(io.stderrIsTty === true ? `\r${line}` : `${line}\n`);
  };
  if (jobs > 1) {
    if (strategy !== "bfs") throw new UsageError("--jobs searches breadth-first: leave out --strategy dfs");
    if (run.symmetry === true) throw new UsageError("--jobs and --symmetry exclude each other: the parallel search keys states by World.key, not by orbit");
    const parallel = exploreInParallel({
      ...(eventually !== undefined ? { eventually } : {}),
      run,
      setup,
      bounds,
      identity: values["no-por"] === true ? "ordered" : "unordered",
      jobs,
      sometimes: defaultSometimes(leaderless),
      progressEveryStates: progressEvery === 0 ? Number.MAX_SAFE_INTEGER : progressEvery,
      onProgress,
    });
    return parallel.then((result) => report(result, jobs));
  }
  let result: ExploreResult;
  try {
    result = explore(setup, {
      bounds,
      strategy,
      por: values["no-por"] !== true,
      ...(run.symmetry === true ? { symmetry: true } : {}),
      ...(eventually === undefined ? {} : { eventually }),
      sometimes: defaultSometimes(leaderless),
      progressEveryStates: progressEvery === 0 ? Number.MAX_SAFE_INTEGER : progressEvery,
      onProgress,
    });
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
  return report(result, 1);

  /** report prints the search's verdict (and writes what was asked of a counterexample), returning the exit code. */
  function report(result: ExploreResult, workers: number): number {
    if (io.stderrIsTty === true && result.uniqueStates >= progressEvery) io.stderr("\n");
    const traceOut = values["trace-out"];
    if (typeof traceOut === "string" && result.violation !== undefined) {
      writeOutputFile(io, "trace-out", traceOut, JSON.stringify({ run, violation: { property: result.violation.property, message: result.violation.message, ...(result.violation.continuationFrom === undefined ? {} : { continuationFrom: result.violation.continuationFrom }) }, steps: result.violation.steps }, null, 2) + "\n");
    }
    const written = result.violation === undefined ? [] : writeCounterexample(io, { scenarioPath: stringFlag(values["counterexample-out"]), diagramPath: stringFlag(values["diagram"]) }, setup, result.violation);
    const code = exitCode(result);
    if (values["json"] === true) {
      io.stdout(JSON.stringify({ run, ...result, bounds: boundsForJson(result.bounds), jobs: workers, exitCode: code }) + "\n");
      return code;
    }
    const parallel =
      workers > 1
        ? [`parallel search on ${workers} worker threads, the single breadth-first search's states and actions${result.por ? `; ${result.reexpanded ?? 0} state(s) expanded again because their sleep set shrank after they were handed out` : ""}`]
        : [];
    io.stdout(renderResult(run, result, typeof traceOut === "string" ? traceOut : undefined) + [...parallel, ...written].map((line) => `${line}\n`).join(""));
    return code;
  }
}

/** stringFlag reads a flag that takes a path. */
function stringFlag(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** setupOf builds the world of a run (the command, a trace file, each worker of a parallel search). */
export function setupOf(run: ExploreRun): WorldSetup {
  const algorithm = findAlgorithm(run.algo);
  if (algorithm === undefined) throw new UsageError(`unknown algorithm "${run.algo}"; allowed: ${algorithmNames.join(", ")}`);
  const setup = worldSetup(algorithm, { nodes: run.nodes, clients: run.clients, ops: run.ops, seed: run.seed, options: run.options, ordered: run.ordered, ...(run.spares === undefined ? {} : { spares: run.spares }), ...(run.readLevel === undefined ? {} : { readLevel: run.readLevel }), ...(run.byzantine === undefined ? {} : { byzantine: run.byzantine }) });
  return run.symmetry === true ? { ...setup, symmetricStreams: true } : setup;
}

function exitCode(result: ExploreResult): number {
  if (result.outcome === "violation") return exploreExitCodes.violation;
  if (result.outcome === "stopped") return exploreExitCodes.inconclusive;
  const vacuous = result.sometimes.some((property) => property.name !== "a replica leads" && !property.reached);
  return vacuous ? exploreExitCodes.inconclusive : exploreExitCodes.noViolation;
}

/** boundsForJson writes an unbounded reordering bound as null (JSON has no Infinity). */
function boundsForJson(bounds: ExploreBounds): Record<string, number | null> {
  return Object.fromEntries(Object.entries(bounds).map(([name, value]) => [name, Number.isFinite(value) ? (value ?? 0) : null]));
}

/** byzantineFlags reads --byzantine and --byzantine-nodes: a strategy the model can play, on replicas of the cluster. */
function byzantineFlags(strategy: unknown, nodesFlag: unknown, nodes: number, algoName: string): { readonly nodes: readonly number[]; readonly strategy: string } | undefined {
  if (strategy === undefined) {
    if (nodesFlag !== undefined) throw new UsageError("--byzantine-nodes needs --byzantine <strategy>");
    return undefined;
  }
  if (typeof strategy !== "string" || !modelledStrategies.includes(strategy)) throw new UsageError(`--byzantine: "${String(strategy)}" is not a strategy the model can play; allowed: ${modelledStrategies.join(", ")}`);
  const algorithm = findAlgorithm(algoName);
  if (algorithm !== undefined && strategy !== "silent" && !algorithm.byzantineStrategies.some((definition) => definition.name === strategy)) throw new UsageError(`--byzantine: ${algoName} has no strategy "${strategy}"`);
  const ids = typeof nodesFlag === "string" ? nodesFlag.split(",").map((part) => Number(part.trim())) : [0];
  for (const id of ids) if (!Number.isInteger(id) || id < 0 || id >= nodes) throw new UsageError(`--byzantine-nodes: ${String(nodesFlag)} names no replica of 0..${nodes - 1}`);
  return { nodes: [...new Set(ids)].sort((a, b) => a - b), strategy };
}

/** describeOperations restates the bounds of the operator's and the clients' restarts, when any is offered. */
function describeOperations(run: ExploreRun, bounds: ExploreBounds): string | undefined {
  const parts: string[] = [];
  if ((bounds.clientRestartsMax ?? 0) > 0) parts.push(`client restarts <= ${bounds.clientRestartsMax}`);
  if ((bounds.reconfigurationsMax ?? 0) > 0) parts.push(`membership changes <= ${bounds.reconfigurationsMax}`);
  if ((bounds.transfersMax ?? 0) > 0) parts.push(`leadership transfers <= ${bounds.transfersMax}`);
  if ((bounds.partitionsMax ?? 0) > 0) parts.push(`lasting partitions <= ${bounds.partitionsMax} (each a cut of one replica, with any clients, until healed)`);
  if ((run.spares ?? 0) > 0) parts.push(`${run.spares} spare replica(s) outside the configuration`);
  if (run.byzantine !== undefined) parts.push(`replica(s) ${run.byzantine.nodes.join(", ")} Byzantine, playing ${run.byzantine.strategy}${run.byzantine.midPath === true ? " from a step of the path on (each turns liar once, or never)" : ""}`);
  if (run.readLevel !== undefined) parts.push(`reads asked at the ${run.readLevel} level (stale-served reads left out of the linearizability check)`);
  return parts.length === 0 ? undefined : parts.join(", ");
}

/** describeBounds restates the bounds in words, as the verdict holds only within them. */
function describeBounds(run: ExploreRun, bounds: ExploreBounds): string {
  const network = Number.isFinite(bounds.reorderingsMax) ? `messages in order of sending but ${bounds.reorderingsMax} overtaking` : "messages in any order";
  return [
    `${run.nodes} replicas, ${run.clients} client(s) with ${run.ops} operation(s) each`,
    `depth <= ${bounds.depthMax} actions, crashes <= ${bounds.crashesMax}, drops <= ${bounds.dropsMax}, duplicates <= ${bounds.duplicatesMax}`,
    `timeouts <= ${bounds.timeoutsPerNodeMax} per node, <= ${bounds.inflightMessagesMax} messages in flight, ${network}`,
    ...[describeOperations(run, bounds)].filter((part): part is string => part !== undefined),
  ].join("; ");
}

/** renderResult prints an exploration's verdict, the bounds it holds within, which bounds cut it, and a counterexample's steps. */
export function renderResult(run: ExploreRun, result: ExploreResult, tracePath: string | undefined): string {
  const lines: string[] = [];
  const seconds = (result.elapsedMs / 1000).toFixed(1);
  const states = result.uniqueStates.toLocaleString("en-US");
  const speed = Math.round(result.uniqueStates / Math.max(result.elapsedMs / 1000, 0.001)).toLocaleString("en-US");
  if (result.outcome === "violation" && result.violation !== undefined) {
    lines.push(`VIOLATION of ${result.violation.property}: ${result.violation.message}`);
    lines.push(`after ${result.violation.steps.length} steps (${result.strategy === "bfs" ? "no shorter path exists within these bounds" : "depth-first: a shorter path may exist"}), ${states} unique states explored in ${seconds} s:`);
    const from = result.violation.continuationFrom;
    if (from !== undefined) lines.push(`  (steps 1-${from} lead to the state the check started in, the shortest such path; from step ${from + 1} on, the fault-free continuation)`);
    result.violation.steps.forEach((step, index) => lines.push(`  ${String(index + 1).padStart(3)}. ${from === index ? "then, with no fault: " : ""}${step.description}`));
    if (tracePath !== undefined) lines.push(`trace written to ${tracePath}; replay it with: pnpm concord explore --replay ${tracePath}`);
  } else if (result.outcome === "stopped") {
    lines.push(`STOPPED at the state limit: ${states} unique states in ${seconds} s (${speed}/s), depth ${result.depthReached}; not exhaustive, no violation found so far`);
  } else {
    lines.push(`${states} unique states, no violation within these bounds (${seconds} s, ${speed}/s, deepest path ${result.depthReached})`);
  }
  lines.push(`bounds: ${describeBounds(run, result.bounds)}`);
  if (result.eventually !== undefined) {
    const { stepsMax, checked, steps } = result.eventually;
    lines.push(`eventually (within ${stepsMax} fault-free steps): checked in ${checked.toLocaleString("en-US")} states, ${steps.toLocaleString("en-US")} continuation steps run (${checked === 0 ? 0 : (steps / checked).toFixed(1)} a state)`);
  }
  lines.push(
    result.por
      ? `partial-order reduction on (--no-por turns it off): states counted as the reduction sees them (the monitors' memory as sets, the history as its real-time precedence), ${result.slept.toLocaleString("en-US")} actions asleep (not taken: another order reaches their states), ${result.transitions.toLocaleString("en-US")} taken`
      : `partial-order reduction off: every order of events is its own state, ${result.transitions.toLocaleString("en-US")} actions taken`,
  );
  if (result.symmetry === true) {
    lines.push(
      `symmetry reduction on: one state per orbit of the permutations of the replicas' ids that map the model onto itself, in the model whose replicas' streams are seeded by incarnation; ${(result.symmetric ?? 0).toLocaleString("en-US")} of the states had more than the identity (docs/explore.md says where ids are not interchangeable)`,
    );
  }
  const cuts = Object.entries(result.cutBy).filter(([, count]) => count > 0);
  lines.push(cuts.length === 0 ? "no bound cut the search: it is exhaustive for this model" : `cut by: ${cuts.map(([name, count]) => `${name} (${count.toLocaleString("en-US")} times)`).join(", ")}`);
  for (const property of result.sometimes) {
    lines.push(property.reached ? `reached: ${property.name} (first at depth ${property.depth})` : `NEVER reached: ${property.name}${property.name === "a replica leads" ? " (the algorithm may have no leader)" : ": a pass here would be vacuous"}`);
  }
  return lines.join("\n") + "\n";
}

/** replayTrace runs a trace's steps again from the initial state, printing each step and the replicas' status after it. */
function replayTrace(path: string, io: CommandIo): number {
  let parsed: z.output<typeof traceSchema>;
  try {
    parsed = traceSchema.parse(JSON.parse(io.readFile(path)));
  } catch (error) {
    if (error instanceof z.ZodError) {
      const issue = error.issues[0];
      throw new UsageError(`--replay ${path}: not a trace written by --trace-out: ${issue?.path.join(".") ?? ""} ${issue?.message ?? ""}`.trim());
    }
    throw new UsageError(`--replay ${path}: ${(error as Error).message}`);
  }
  const { spares, readLevel, byzantine, symmetry, ...fixed } = parsed.run;
  const setup = setupOf({ ...fixed, ...(spares === undefined ? {} : { spares }), ...(readLevel === undefined ? {} : { readLevel }), ...(byzantine === undefined ? {} : { byzantine }), ...(symmetry === undefined ? {} : { symmetry }) });
  const actions = parsed.steps.map((step) => step.action as unknown as Action);
  let worlds;
  try {
    worlds = replay(setup, actions);
  } catch (error) {
    throw new UsageError(`--replay ${path}: the trace does not replay on this code: ${(error as Error).message}`);
  }
  const lines: string[] = [];
  actions.forEach((action, index) => {
    const before = worlds[index];
    const after = worlds[index + 1];
    if (before === undefined || after === undefined) return;
    lines.push(`${String(index + 1).padStart(3)}. ${describeAction(before, action)}`);
    const statuses = Array.from({ length: setup.nodes }, (_, id) => {
      const status = after.status(id);
      return status === undefined ? `${id}: down` : `${id}: ${status.role} epoch ${status.epoch} commit ${status.commitIndex}`;
    });
    lines.push(`       ${statuses.join(" | ")}; in flight ${after.inFlight().length}`);
  });
  const last = worlds[worlds.length - 1];
  // A bounded "eventually" counterexample ends in no bad state: its verdict is the work still left after its fault-free continuation.
  const from = parsed.violation?.continuationFrom;
  const start = from === undefined ? undefined : worlds[from];
  const gaveUp = start === undefined || last === undefined ? [] : last.gaveUp().filter((id) => !start.gaveUp().includes(id)).map((id) => `operation ${id} was given up (indeterminate)`);
  const left = start !== undefined && last !== undefined ? [...gaveUp, ...last.unfinished()] : [];
  const violation = last?.violation ?? (left.length > 0 ? { property: parsed.violation?.property ?? "eventually", message: `after the trace's fault-free continuation ${left.join(", ")}` } : undefined);
  lines.push(violation === undefined ? "the trace ends with no violation on this code" : `VIOLATION of ${violation.property}: ${violation.message}`);
  const clients = setup.workload.map((_, index) => nodeName(firstClientId + index));
  if (clients.length > 0 && last !== undefined) {
    for (const operation of last.history()) lines.push(`  ${nodeName(operation.clientId)} ${operation.input.type} -> ${operation.status}${operation.output !== undefined ? ` ${JSON.stringify(operation.output, (_key, value: unknown) => (value instanceof Uint8Array ? new TextDecoder().decode(value) : value))}` : ""}`);
  }
  io.stdout(lines.join("\n") + "\n");
  return violation === undefined ? exploreExitCodes.noViolation : exploreExitCodes.violation;
}
