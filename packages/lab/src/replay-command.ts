import type { ProtocolOptions, ReadLevel } from "@concord/core";
import type { CpuChoice, ScenarioInput, SimulationOptions } from "@concord/sim";

/**
 * ReplayRun is what a replay command needs of a run: the choices that, with
 * the same code, make the simulator repeat it byte for byte. The scenario is a
 * built-in one by name, or an object (from a file or a test).
 */
export interface ReplayRun {
  readonly algo: string;
  readonly nodes: number;
  readonly scenario: string | ScenarioInput;
  readonly seed: number;
  readonly ops?: number;
  readonly clients?: number;
  readonly byzantineStrategy?: string;
  readonly byzantineNodes?: readonly number[];
  readonly protocolOptions?: ProtocolOptions;
  /** encode false replays with `--no-encode`; absent or true, messages are encoded (the default). */
  readonly encode?: boolean;
  /** cpu is the CPU cost model that replaced the scenario's (`--cpu perMessageUs=5.9,...`, or `--cpu none`). */
  readonly cpu?: CpuChoice;
  /** readLevel is the level the workload's reads asked for (`--read`); absent or `linearizable`, the flag is left out. */
  readonly readLevel?: ReadLevel;
}

/** cpuFlagValue writes a CPU cost model as `--cpu` takes it: `name=microseconds` pairs, comma-separated, or `none`. */
export function cpuFlagValue(cpu: CpuChoice): string {
  if (cpu === "none") return "none";
  return Object.entries(cpu)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `${name}=${String(value)}`)
    .join(",");
}

/** ReplayWhere says where a scenario object came from, so that the command can carry it. */
export interface ReplayWhere {
  /** scenarioFile is the file the scenario was read from: the command then says `--scenario-file <path>`. */
  readonly scenarioFile?: string;
}

/**
 * replayCommand is the `concord sim` command that replays a run. Each flag
 * appears once (`--option` once per option name): the command is built from
 * one record keyed by flag, so no caller can add a flag a second time. A
 * scenario object that came from a file is named by `--scenario-file`; one
 * defined in code has no flag that carries it, and the command says so at its
 * end, after a `#`, so that a shell still runs the rest.
 */
export function replayCommand(run: ReplayRun, where: ReplayWhere = {}): string {
  const flags = new Map<string, string | undefined>();
  flags.set("--algo", run.algo);
  flags.set("--nodes", String(run.nodes));
  if (typeof run.scenario === "string") flags.set("--scenario", run.scenario);
  else if (where.scenarioFile !== undefined) flags.set("--scenario-file", shellQuote(where.scenarioFile));
  else flags.set("--scenario", shellQuote(run.scenario.name));
  flags.set("--seed", String(run.seed));
  if (run.ops !== undefined) flags.set("--ops", String(run.ops));
  if (run.clients !== undefined) flags.set("--clients", String(run.clients));
  if (run.byzantineStrategy !== undefined) flags.set("--byzantine-strategy", run.byzantineStrategy);
  if (run.byzantineNodes !== undefined) flags.set("--byzantine-nodes", run.byzantineNodes.join(","));
  if (run.encode === false) flags.set("--no-encode", undefined);
  if (run.cpu !== undefined) flags.set("--cpu", cpuFlagValue(run.cpu));
  if (run.readLevel !== undefined && run.readLevel !== "linearizable") flags.set("--read", run.readLevel);
  const words = ["pnpm concord sim"];
  for (const [flag, value] of flags) words.push(value === undefined ? flag : `${flag} ${value}`);
  for (const [name, value] of Object.entries(run.protocolOptions ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
    words.push(`--option ${shellQuote(`${name}=${typeof value === "string" ? value : JSON.stringify(value)}`)}`);
  }
  const command = words.join(" ");
  const inCode = typeof run.scenario !== "string" && where.scenarioFile === undefined;
  return inCode ? `${command} # the scenario "${run.scenario.name}" is an object defined in code: save it as JSON and pass --scenario-file` : command;
}

/** replayRunOf is the replay part of a simulator run's options: the algorithm by name, every other choice as given. */
export function replayRunOf(options: SimulationOptions): ReplayRun {
  return {
    algo: options.algorithm.name,
    nodes: options.nodes,
    scenario: options.scenario,
    seed: options.seed,
    ...(options.ops !== undefined ? { ops: options.ops } : {}),
    ...(options.clients !== undefined ? { clients: options.clients } : {}),
    ...(options.byzantineStrategy !== undefined ? { byzantineStrategy: options.byzantineStrategy } : {}),
    ...(options.readLevel !== undefined ? { readLevel: options.readLevel } : {}),
    ...(options.byzantineNodes !== undefined ? { byzantineNodes: options.byzantineNodes } : {}),
    ...(options.protocolOptions !== undefined ? { protocolOptions: options.protocolOptions } : {}),
    ...(options.encode !== undefined ? { encode: options.encode } : {}),
    ...(options.cpu !== undefined ? { cpu: options.cpu } : {}),
  };
}

/** shellQuote quotes a word for a POSIX shell when it holds anything but safe characters. */
export function shellQuote(word: string): string {
  return /^[\w./:@%+=,-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}
