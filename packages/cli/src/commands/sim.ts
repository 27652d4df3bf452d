import { kvHistoryToJsonl } from "@concord/check";
import { ConfigError, type ReadLevel } from "@concord/core";
import { type CpuChoice, type CpuModel, type CpuModelInput, type ScriptedRunRefusal, type SimulationOptions, type SimulationResult, byzantineStrategyNames, cpuCalibration, cpuSchema, sameCpu, scenarioNames, scriptedRunRefusal } from "@concord/sim";
import { type Applicability, type HistoryChecker, brokenGuarantees, type SimulationReport, algorithmNames, algorithms, applicability, clusterSizes, findAlgorithm, renderTable, replayCommand, simulate } from "@concord/lab";
import { type FlagSpec, alignedColumns, choiceFlag, faultToleranceWarning, helpText, integerFlag, parseFlags, protocolOptionFlags, readFlagSpec, readLevelFlag } from "../flags.ts";
import { type CommandIo, UsageError, writeOutputFile } from "../io.ts";
import { diagramMessagesMax, renderMessageDiagram } from "../diagram.ts";
import { protocolOptionsHelp } from "../protocol-options.ts";
import { readScenarioFile, scenarioFileUsageError } from "../scenario-file.ts";

const flags: Readonly<Record<string, FlagSpec>> = {
  algo: { type: "string", description: "algorithm to run (required)", values: algorithmNames },
  nodes: { type: "string", description: "number of replicas (default: the smallest cluster tolerating one fault)" },
  scenario: { type: "string", description: "scenario (default steady)", values: scenarioNames },
  "scenario-file": { type: "string", description: "run a scenario written as JSON in this file (see docs/testing.md) instead of a built-in one" },
  seed: { type: "string", description: "root seed; the same seed replays the same run (default 1)" },
  ops: { type: "string", description: "operations to invoke (default: the scenario's)" },
  clients: { type: "string", description: "concurrent clients (default: the scenario's)" },
  "byzantine-nodes": { type: "string", description: "which replicas are Byzantine, as ids like 1,3 (default: the scenario's count, from replica 1)" },
  "byzantine-strategy": { type: "string", description: "strategy of the Byzantine replicas in the byzantine scenario (default: the algorithm's first); each algorithm's are listed below" },
  option: { type: "string", multiple: true, description: "a protocol option as name=value (repeatable), e.g. --option preVote=false; each algorithm's are listed below" },
  history: { type: "string", description: "also write the run's history to this file as JSON lines (for concord check)" },
  diagram: { type: "string", description: `also draw the run's messages as a space-time diagram into this SVG file (at most ${diagramMessagesMax} messages: narrow with --from-ms/--to-ms)` },
  "from-ms": { type: "string", description: "with --diagram: draw the messages sent from this virtual millisecond of the run, warm-up included (default 0)" },
  "to-ms": { type: "string", description: "with --diagram: draw the messages sent up to this virtual millisecond (default: the end of the run)" },
  read: readFlagSpec,
  "no-encode": { type: "boolean", description: "do not encode messages (faster; byte counts become 0, and so does the CPU model's per-KiB charge, so timings may differ from an encoded run)" },
  cpu: {
    type: "string",
    description: `charge this CPU cost model instead of the scenario's (by default the calibrated one, which pnpm bench charges too), as name=microseconds pairs (a figure left out is 0), e.g. perMessageUs=5.9,perMacUs=2.2, or none for a free CPU; names: ${Object.keys(cpuSchema.shape).join(", ")}`,
  },
  "wall-clock": { type: "boolean", description: "add the run's wall-clock seconds (makes output vary)" },
  json: { type: "boolean", description: "print one JSON object instead of a table" },
  help: { type: "boolean", description: "show this help" },
};

const usage = "concord sim --algo <name> [--nodes <n>] [--scenario <name> | --scenario-file <path>] [--seed <s>] [--ops <k>] [--clients <c>] [--read <level>] [--diagram <file.svg> [--from-ms <a>] [--to-ms <b>]] [--json]";

/**
 * SimCommandReport is what `concord sim --json` prints: the run's report, and
 * whether the algorithm promises to tolerate the run's faults (with why not).
 */
export type SimCommandReport = SimulationReport & { readonly applicable: boolean; readonly notApplicableReason?: string };

/**
 * runSimCommand implements `concord sim`: one simulated run, printed as a
 * table or (with --json) one JSON object. Exit code 0 when the run kept every
 * invariant and its history is linearizable (or unchecked), 1 when not, 2 for
 * bad flags. A run whose faults the algorithm does not promise to tolerate
 * (solo's only replica lying, Raft facing a corrupting replica) is reported
 * as not applicable and exits 0 whatever it broke: its figures are shown,
 * but a broken guarantee there is the design's, not a bug.
 */
export function runSimCommand(args: readonly string[], io: CommandIo, checker: HistoryChecker): number {
  const { values } = parseFlags(args, flags, false);
  if (values["help"] === true) {
    io.stdout(helpText(usage, flags, [byzantineStrategiesHelp(), protocolOptionsHelp(algorithmNames)]));
    return 0;
  }
  const algoName = choiceFlag("algo", values["algo"], algorithmNames);
  if (algoName === undefined) throw new UsageError(`--algo is required; allowed: ${algorithmNames.join(", ")}`);
  const algorithm = findAlgorithm(algoName);
  if (algorithm === undefined) throw new UsageError(`--algo: unknown algorithm "${algoName}"; allowed: ${algorithmNames.join(", ")}`);
  const scenarioName = choiceFlag("scenario", values["scenario"], scenarioNames);
  const scenarioFile = values["scenario-file"];
  if (scenarioFile !== undefined && scenarioName !== undefined) throw new UsageError("--scenario and --scenario-file exclude each other; give one");
  const scenario = typeof scenarioFile === "string" ? readScenarioFile(scenarioFile, io) : (scenarioName ?? "steady");
  const nodesDefault = clusterSizes(algorithm, [1])[0] ?? 1;
  const nodes = integerFlag("nodes", values["nodes"], 1, 256) ?? nodesDefault;
  const sizeError = algorithm.clusterSizeError(nodes);
  if (sizeError !== undefined) throw new UsageError(`--nodes: ${sizeError}`);
  const warning = faultToleranceWarning(algorithm, nodes);
  if (warning !== undefined) io.stderr(`concord: ${warning}\n`);
  const seed = integerFlag("seed", values["seed"], 0, Number.MAX_SAFE_INTEGER) ?? 1;
  const ops = integerFlag("ops", values["ops"], 1, 10_000_000);
  const clients = integerFlag("clients", values["clients"], 1, 10_000);
  const protocolOptions = protocolOptionFlags(values["option"]);
  const byzantineNodes = byzantineNodesFlag(values["byzantine-nodes"], nodes);
  const byzantineStrategy = choiceFlag("byzantine-strategy", values["byzantine-strategy"], byzantineStrategyNames(algorithm));
  const diagram = diagramFlags(values["diagram"], values["from-ms"], values["to-ms"]);
  const cpu = cpuFlag(values["cpu"]);
  const readLevel = readLevelFlag(values["read"]);

  // One description of the run serves the simulation and its replay command.
  const run = {
    nodes,
    scenario,
    seed,
    ...(ops !== undefined ? { ops } : {}),
    ...(clients !== undefined ? { clients } : {}),
    ...(byzantineStrategy !== undefined ? { byzantineStrategy } : {}),
    ...(byzantineNodes !== undefined ? { byzantineNodes } : {}),
    ...(Object.keys(protocolOptions).length > 0 ? { protocolOptions } : {}),
    ...(values["no-encode"] === true ? { encode: false } : {}),
    ...(cpu !== undefined ? { cpu } : {}),
    ...(readLevel !== undefined ? { readLevel } : {}),
  };
  if (typeof scenario === "object" && scenario.script !== undefined) refuseScriptedFlags(run, scenario.script, String(scenarioFile));
  let fit: Applicability;
  const started = performance.now();
  let report: SimulationReport;
  let result: SimulationResult;
  try {
    fit = applicability({ algorithm, ...run });
    // The trace is asked for apart from `run`: it changes nothing in the run, so the replay command leaves it out.
    const trace = diagram !== undefined ? { recordMessages: { fromMs: diagram.fromMs, ...(diagram.toMs !== undefined ? { toMs: diagram.toMs } : {}), messagesMax: diagramMessagesMax } } : {};
    ({ report, result } = simulate({ algorithm, ...run, ...trace }, checker));
  } catch (error) {
    if (error instanceof ConfigError) throw scenarioFileUsageError(error, typeof scenarioFile === "string" ? scenarioFile : undefined);
    throw error;
  }
  const wallSeconds = (performance.now() - started) / 1000;
  const historyPath = values["history"];
  if (typeof historyPath === "string") writeOutputFile(io, "history", historyPath, kvHistoryToJsonl(result.history));
  if (diagram !== undefined) writeDiagram(io, diagram, result);
  // The replay carries every option the run used, those chaos drew included (the same seed would draw them again).
  const usedOptions = Object.keys(report.options).length > 0 ? { protocolOptions: report.options } : {};
  const replay = replayCommand({ algo: algoName, ...run, ...usedOptions }, typeof scenarioFile === "string" ? { scenarioFile } : {});
  const judged: SimCommandReport = fit.applicable ? { ...report, applicable: true } : { ...report, applicable: false, notApplicableReason: fit.reason };
  if (values["json"] === true) {
    const output = values["wall-clock"] === true ? { ...judged, wallSeconds: Math.round(wallSeconds * 1000) / 1000 } : judged;
    io.stdout(JSON.stringify(output) + "\n");
  } else {
    io.stdout(renderReport(judged, values["wall-clock"] === true ? wallSeconds : undefined));
  }
  if (!fit.applicable) {
    io.stderr(`not applicable: ${fit.reason}; the figures are shown, but a guarantee broken here is the design's, not a bug (replay with: ${replay})\n`);
    return 0;
  }
  const healthy = brokenGuarantees(report).length === 0;
  if (!healthy) io.stderr(`run broke its guarantees; replay with: ${replay}\n`);
  return healthy ? 0 : 1;
}

/** scriptedRunFlags names the flag of each run option a scripted run refuses (scriptedRunRefusal). */
const scriptedRunFlags: Readonly<Record<ScriptedRunRefusal["option"], string>> = {
  ops: "--ops",
  clients: "--clients",
  cpu: "--cpu",
  readLevel: "--read",
  encode: "--no-encode",
  byzantineNodes: "--byzantine-nodes",
  byzantineStrategy: "--byzantine-strategy",
};

/**
 * refuseScriptedFlags refuses, with exit 2 and one line naming the flag and
 * why, a flag that a scenario file's script would silently override: the
 * run would be the script's whatever the flag said.
 */
function refuseScriptedFlags(run: Partial<SimulationOptions>, script: { readonly readLevel?: ReadLevel | undefined }, path: string): void {
  const refused = scriptedRunRefusal(run, { readLevel: script.readLevel ?? "linearizable" });
  if (refused !== undefined) throw new UsageError(`${scriptedRunFlags[refused.option]}: ${path} is a scripted scenario, which cannot honour it: ${refused.why}`);
}

/** DiagramRequest is what --diagram, --from-ms and --to-ms ask for. */
interface DiagramRequest {
  readonly path: string;
  readonly fromMs: number;
  readonly toMs: number | undefined;
}

/** diagramFlags checks --diagram's window: --from-ms and --to-ms need --diagram, and the window must not be empty. */
function diagramFlags(path: string | boolean | string[] | undefined, rawFromMs: string | boolean | string[] | undefined, rawToMs: string | boolean | string[] | undefined): DiagramRequest | undefined {
  const fromMs = integerFlag("from-ms", rawFromMs, 0, Number.MAX_SAFE_INTEGER);
  const toMs = integerFlag("to-ms", rawToMs, 0, Number.MAX_SAFE_INTEGER);
  if (typeof path !== "string") {
    if (fromMs !== undefined || toMs !== undefined) throw new UsageError("--from-ms and --to-ms choose the window of --diagram; give --diagram <file.svg> too");
    return undefined;
  }
  if (fromMs !== undefined && toMs !== undefined && toMs <= fromMs) throw new UsageError(`--to-ms: must be after --from-ms (${fromMs}), got ${toMs}`);
  return { path, fromMs: fromMs ?? 0, toMs };
}

/** writeDiagram draws the traced window into --diagram's file, or refuses a window too busy to draw (exit 2, naming the flags that narrow it). */
function writeDiagram(io: CommandIo, request: DiagramRequest, result: SimulationResult): void {
  const trace = result.messageTrace;
  if (trace === undefined) throw new Error("the run recorded no message trace although --diagram asked for one");
  const window = `from ${request.fromMs} ms to ${request.toMs === undefined ? "the end" : `${request.toMs} ms`}`;
  if (trace.truncated) {
    throw new UsageError(`--diagram: the window ${window} holds more than ${diagramMessagesMax} messages, too many to draw; narrow it with --from-ms/--to-ms`);
  }
  const svg = renderMessageDiagram({
    title: `${result.algo}, ${result.nodes} nodes, ${result.scenario}, seed ${result.seed}: messages ${window}`,
    replicas: Array.from({ length: result.nodes }, (_, index) => index + 1),
    messages: trace.messages,
    faults: result.faults,
    fromMs: request.fromMs,
    toMs: request.toMs ?? Number.POSITIVE_INFINITY,
  });
  writeOutputFile(io, "diagram", request.path, svg);
}

/** cpuFlag reads `--cpu name=us,...` (or `--cpu none`) into a CPU cost model, refusing an unknown name or a value that is not a non-negative number. */
function cpuFlag(value: unknown): CpuChoice | undefined {
  if (typeof value !== "string") return undefined;
  if (value.trim() === "none") return "none";
  const names = Object.keys(cpuSchema.shape);
  const cpu: Record<string, number> = {};
  for (const pair of value.split(",").filter((part) => part.trim() !== "")) {
    const [name = "", figure, ...rest] = pair.split("=").map((part) => part.trim());
    if (!names.includes(name)) throw new UsageError(`--cpu: unknown figure "${name}"; allowed: ${names.join(", ")}`);
    const us = Number(figure);
    if (figure === undefined || figure === "" || rest.length > 0 || !Number.isFinite(us) || us < 0) throw new UsageError(`--cpu: ${name} must be a non-negative number of microseconds, not "${figure ?? ""}"`);
    cpu[name] = us;
  }
  if (Object.keys(cpu).length === 0) throw new UsageError(`--cpu: expected name=microseconds pairs, e.g. perMessageUs=5.9; names: ${names.join(", ")}`);
  return cpu as CpuModelInput;
}

/** byzantineStrategiesHelp lists, per algorithm, the strategies --byzantine-strategy takes: the protocol's own, then the generic ones. */
function byzantineStrategiesHelp(): string {
  return `byzantine strategies (--byzantine-strategy):\n${alignedColumns(algorithms.map((algorithm) => [`${algorithm.name}:`, byzantineStrategyNames(algorithm).join(", ")]))}`;
}

/** renderReport prints one run as a readable table; a run that is not applicable says so, and why, under its verdicts. */
export function renderReport(report: SimCommandReport, wallSeconds: number | undefined): string {
  const rows: string[][] = [
    ["field", "value"],
    ["algo", report.algo],
    ["nodes", String(report.nodes)],
    ["scenario", report.scenario],
    ["seed", String(report.seed)],
    ["ops invoked / ok / failed / indeterminate", `${report.ops.invoked} / ${report.ops.completed} / ${report.ops.failed} / ${report.ops.indeterminate}`],
    ["final reads invoked / ok", `${report.finalReads.invoked} / ${report.finalReads.completed}`],
    ["virtual seconds", String(report.virtualSeconds)],
    ["throughput (ops/s)", String(report.throughputOpsPerSec)],
    ["latency p50 / p95 / p99 / max (ms)", `${report.latencyMs.p50} / ${report.latencyMs.p95} / ${report.latencyMs.p99} / ${report.latencyMs.max}`],
    ["messages (total, per op)", `${report.messages.total}, ${report.messages.perOp}`],
    ["bytes (total, per op)", `${report.bytes.total}, ${report.bytes.perOp}`],
    ["warm-up (s, messages, bytes; not counted above)", `${report.warmup.seconds}, ${report.warmup.messages}, ${report.warmup.bytes}`],
    ["leader changes", String(report.leaderChanges)],
    ["CPU cost model", cpuModelText(report.cpu)],
    ["reads asked / served", `${report.readLevel} / ${report.readLevelServed}`],
    ["linearizable", report.linearizable === null ? `unknown (${report.linearizability})` : report.linearizable ? "yes" : `NO (${report.linearizability})`],
    ["stale reads found", String(report.staleReadCount)],
    ...(report.withoutStaleReads !== undefined
      ? [["linearizable without the stale reads", report.withoutStaleReads.linearizable === null ? `unknown (${report.withoutStaleReads.linearizability})` : report.withoutStaleReads.linearizable ? "yes" : `NO (${report.withoutStaleReads.linearizability})`]]
      : []),
    ["invariant violations", String(report.invariantViolations.length)],
    ["applicable", report.applicable ? "yes" : `NO: ${report.notApplicableReason ?? "?"}`],
  ];
  if (report.byzantine.nodes.length > 0) rows.push(["byzantine", `nodes ${report.byzantine.nodes.join(",")} play ${report.byzantine.strategy ?? "?"}`]);
  if (report.byzantine.client !== null) rows.push(["byzantine client", `client ${report.byzantine.client.id} plays ${report.byzantine.client.strategy}`]);
  if (wallSeconds !== undefined) rows.push(["wall seconds", wallSeconds.toFixed(3)]);
  let out = renderTable(rows);
  const types = Object.entries(report.messages.byType);
  if (types.length > 0) out += "\n" + renderTable([["message type", "count"], ...types.map(([type, count]) => [type, String(count)])]);
  const drawn = Object.entries(report.drawnOptions);
  if (drawn.length > 0) out += "\noptions drawn from the seed:\n" + drawn.map(([name, value]) => `  ${name}=${String(value)}`).join("\n") + "\n";
  const paths = Object.entries(report.paths);
  if (paths.length > 0) out += "\n" + renderTable([["hard path", "times reached"], ...paths.map(([name, count]) => [name, String(count)])]);
  if (report.faultLog.length > 0) out += "\nfaults:\n" + report.faultLog.map((line) => `  ${line}`).join("\n") + "\n";
  if (report.staleReads.length > 0) {
    out += "\nstale reads (each read returned a value overwritten before it began):\n" + report.staleReads.slice(0, 10).map((stale) => `  ${stale.text}`).join("\n") + "\n";
    if (report.staleReadCount > 10) out += `  ... ${report.staleReadCount - 10} more (--json lists up to ${report.staleReads.length})\n`;
  }
  if (report.invariantViolations.length > 0) {
    out += "\nviolations:\n" + report.invariantViolations.slice(0, 20).map((v) => `  [${v.invariant}] at ${v.timeUs / 1000} ms: ${v.message}`).join("\n") + "\n";
  }
  return out;
}

/**
 * cpuModelText says in a few words which CPU cost model a run charged: "calibrated" (the default, pnpm bench's; the
 * figures are in --json's `cpu`), "none", or the figures given that are not 0, in microseconds.
 */
export function cpuModelText(cpu: CpuModel): string {
  if (sameCpu(cpu, cpuCalibration.cpu)) return "calibrated";
  const given = Object.entries(cpu).filter(([, us]) => us > 0);
  return given.length === 0 ? "none" : given.map(([name, us]) => `${name}=${us}`).join(",");
}

/** byzantineNodesFlag parses `--byzantine-nodes 1,3`: distinct replica ids from 1 to n. */
function byzantineNodesFlag(raw: string | boolean | string[] | undefined, nodes: number): number[] | undefined {
  if (raw === undefined) return undefined;
  const text = String(raw);
  const ids = text.split(",").map((part) => part.trim());
  const parsed = ids.map((id) => (/^\d+$/.test(id) ? Number(id) : Number.NaN));
  if (parsed.some((id) => !Number.isInteger(id) || id < 1 || id > nodes)) {
    throw new UsageError(`--byzantine-nodes: expected replica ids from 1 to ${nodes} separated by commas, got "${text}"`);
  }
  if (new Set(parsed).size !== parsed.length) throw new UsageError(`--byzantine-nodes: "${text}" names a replica twice`);
  return parsed;
}
