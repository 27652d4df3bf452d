import { ConfigError, unreachable, type History } from "@concord/core";
import {
  HistoryParseError,
  checkHistory,
  stepsMaxDefault,
  wallClockLimitMsDefault,
  detectFormat,
  kvModel,
  kvOperation,
  stringKvModel,
  pairEvents,
  readHistoryEvents,
  registerModel,
  registerOperation,
  renderTimeline,
  toHistory,
  type HistoryEvent,
  type HistoryFormat,
  type CheckOptions,
  type Model,
  type Verdict,
} from "@concord/check";
import { type CommandIo, UsageError, writeOutputFile } from "../io.ts";

/** CheckCommandIo is what `concord check` may touch: its output streams and the files it reads and writes. */
export type CheckCommandIo = CommandIo;

/** checkExitCodes are the exit codes of `concord check`. */
export const checkExitCodes = { linearizable: 0, notLinearizable: 1, badInput: 2, unknown: 3 } as const;

/** checkUsage is the help text of `concord check`. */
export const checkUsage = `usage: concord check [--model <register|kv>] [--steps-max n] [--budget-seconds s] [--html out.html] [--format <edn|jsonl>] [--json] FILE

Checks a history for linearizability. FILE is a Jepsen EDN history (a vector of
op maps, or one op map per line) or a Concord JSON-lines history.

flags:
  --model           register: Jepsen's cas-register (read, write, cas)
                    kv: Concord's key-value store (get, put, append, cas, delete per key);
                        in EDN (Jepsen, porcupine) a missing key reads as "", as in
                        porcupine's model; in JSON lines absent (null) and "" differ
                    (default: in JSON lines, kv when every operation names a key, register
                    when none does and all are read, write or cas; required for EDN)
  --steps-max       the search's budget in steps: past it, "unknown (step budget)", the same
                    verdict on any machine (default ${stepsMaxDefault})
  --budget-seconds  the wall-clock safety net: past it, "unknown", a verdict that depends on
                    the machine (default ${wallClockLimitMsDefault / 1000})
  --html            also write a timeline of the history to this file
  --format          the file's format: edn or jsonl (default: from its extension, else its
                    first line)
  --json            print the verdict and its evidence as one JSON object
  --help            show this help

exit codes: 0 linearizable, 1 not linearizable, 2 bad flags, an unreadable or empty
file, or an unwritable --html; 3 unknown
`;

/** CheckModelName names the models `--model` takes. */
type CheckModelName = "register" | "kv";

/** CheckFlags are `concord check`'s flags, validated. */
interface CheckFlags {
  readonly model: CheckModelName | undefined;
  readonly stepsMax: number;
  readonly wallClockLimitMs: number;
  readonly html: string | undefined;
  readonly format: HistoryFormat | undefined;
  readonly json: boolean;
  readonly file: string;
}

const valueFlags = ["model", "steps-max", "budget-seconds", "html", "format"] as const;
const switchFlags = ["json", "help"] as const;
const allowedFlags = [...valueFlags, ...switchFlags].map((name) => `--${name}`).join(", ");

/**
 * runCheckCommand runs `concord check [--model <register|kv>] [--steps-max n] [--budget-seconds s]
 * [--html out.html] [--format <edn|jsonl>] [--json] FILE`: it prints `linearizable`, `not linearizable`
 * and the evidence, or `unknown` and why (with --json, one object holding the same), and returns the
 * exit code (0, 1 or 3; 2 for bad flags, a file it cannot read or that holds no operation, with the
 * line number and the reason). A usage error is one line on stderr.
 *
 * It imports neither zod nor the simulator: scripts run it once per history file, and the installed
 * command loads this module alone (see main.ts).
 */
export function runCheckCommand(args: readonly string[], io: CheckCommandIo): number {
  if (args.includes("--help") || args.includes("-h")) {
    io.stdout(checkUsage);
    return checkExitCodes.linearizable;
  }
  let flags: CheckFlags;
  try {
    flags = parseFlags(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr(`concord check: ${error.message}\n`);
    return checkExitCodes.badInput;
  }
  let text: string;
  try {
    text = io.readFile(flags.file);
  } catch (error) {
    io.stderr(`concord check: cannot read ${flags.file}: ${error instanceof Error ? error.message : String(error)}\n`);
    return checkExitCodes.badInput;
  }
  const format = flags.format ?? detectFormat(text, flags.file);
  const budget: CheckOptions = { stepsMax: flags.stepsMax, wallClockLimitMs: flags.wallClockLimitMs };
  try {
    const events = readHistoryEvents(text, format);
    if (events.length === 0) throw new UsageError(`${flags.file} holds no operations: nothing to check`);
    const model = flags.model ?? inferModel(events, format);
    const operations = pairEvents(events);
    return model === "register"
      ? checkAndReport(registerModel, toHistory(operations, registerOperation), budget, flags, format, io)
      : checkAndReport(format === "edn" ? stringKvModel : kvModel, toHistory(operations, kvOperation), budget, flags, format, io);
  } catch (error) {
    if (error instanceof HistoryParseError) {
      io.stderr(`concord check: ${flags.file}:${error.line}: ${error.reason} (read as ${describeFormat(format)})\n`);
      return checkExitCodes.badInput;
    }
    if (error instanceof ConfigError) {
      io.stderr(`concord check: ${flags.file}: ${error.message}\n`);
      return checkExitCodes.badInput;
    }
    if (error instanceof UsageError) {
      io.stderr(`concord check: ${error.message}\n`);
      return checkExitCodes.badInput;
    }
    throw error;
  }
}

/** registerOperations are the operations of Jepsen's cas-register, the register model's only ones. */
const registerOperations = new Set(["read", "write", "cas"]);

/**
 * inferModel reads the model from a JSON-lines history, where each event
 * says what it is: Concord's key-value events each name a key (as
 * `concord sim --history` and `concord load --history` write them), register
 * events name none and are reads, writes and compare-and-sets. An EDN history
 * does not say (Jepsen's `independent` register histories carry keys inside
 * their values), so there --model is required, and so it is for a JSON-lines
 * file that mixes the two.
 */
function inferModel(events: readonly HistoryEvent[], format: HistoryFormat): CheckModelName {
  if (format === "edn") throw new UsageError("--model is required for a Jepsen EDN history: register or kv");
  const keyed = events.filter((event) => "key" in event.fields).length;
  if (keyed === events.length) return "kv";
  if (keyed === 0 && events.every((event) => registerOperations.has(event.f))) return "register";
  throw new UsageError("--model is required: the history's events do not say which model (kv events all name a key; register events name none)");
}

function checkAndReport<S, I, O>(model: Model<S, I, O>, history: History<I, O>, budget: CheckOptions, flags: CheckFlags, format: HistoryFormat, io: CheckCommandIo): number {
  const verdict = checkHistory(model, history, budget);
  if (flags.html !== undefined) {
    writeOutputFile(io, "html", flags.html, renderTimeline(model, history, verdict, { title: `${flags.file} (${model.name} model)` }));
    io.stderr(`timeline written to ${flags.html}\n`);
  }
  io.stdout(flags.json ? `${JSON.stringify(jsonReport(verdict, flags, format, model.name, history.length))}\n` : report(verdict));
  return exitCode(verdict);
}

/**
 * jsonReport is what `concord check --json` prints: the file, how it was read,
 * the verdict's kind as `verdict`, and the rest of the verdict as the checker
 * gave it (the search's steps; the evidence of a failure; the limit and
 * reason of an unknown).
 */
function jsonReport(verdict: Verdict, flags: CheckFlags, format: HistoryFormat, model: string, operations: number): Record<string, unknown> {
  const { kind, ...rest } = verdict;
  return { file: flags.file, format, model, operations, verdict: kind, ...rest };
}

function report(verdict: Verdict): string {
  switch (verdict.kind) {
    case "linearizable":
      return "linearizable\n";
    case "not-linearizable":
      return `not linearizable\n${verdict.evidence.text}\n`;
    case "unknown":
      return `unknown: ${verdict.reason}\n`;
    default:
      return unreachable(verdict);
  }
}

function exitCode(verdict: Verdict): number {
  switch (verdict.kind) {
    case "linearizable":
      return checkExitCodes.linearizable;
    case "not-linearizable":
      return checkExitCodes.notLinearizable;
    case "unknown":
      return checkExitCodes.unknown;
    default:
      return unreachable(verdict);
  }
}

function describeFormat(format: HistoryFormat): string {
  return format === "edn" ? "Jepsen EDN" : "JSON lines";
}

/**
 * parseFlags reads `--name value`, `--name=value`, the switches and one
 * positional FILE. It parses by hand, not with zod, to keep zod's start-up
 * off this command (the flags are few and simple). Throws a UsageError
 * naming the flag and what was wrong with its value.
 */
function parseFlags(args: readonly string[]): CheckFlags {
  const raw = new Map<string, string>();
  let json = false;
  let file: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("--")) {
      if (file !== undefined) throw new UsageError(`one history file at a time (got ${file} and ${arg})`);
      file = arg;
      continue;
    }
    const equals = arg.indexOf("=");
    const name = equals === -1 ? arg.slice(2) : arg.slice(2, equals);
    if (name === "json" && equals === -1) {
      if (json) throw new UsageError("--json is given twice; give it once");
      json = true;
      continue;
    }
    if (!(valueFlags as readonly string[]).includes(name)) throw new UsageError(`unknown flag --${name} (allowed flags: ${allowedFlags})`);
    const value = equals === -1 ? args[++i] : arg.slice(equals + 1);
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    if (raw.has(name)) throw new UsageError(`--${name} is given twice; give it once`);
    raw.set(name, value);
  }
  if (file === undefined || file === "") throw new UsageError("FILE is missing: name the history file to check");
  return {
    model: oneOf("model", raw.get("model"), ["register", "kv"] as const),
    stepsMax: wholeNumber("steps-max", raw.get("steps-max")) ?? stepsMaxDefault,
    wallClockLimitMs: (positiveSeconds("budget-seconds", raw.get("budget-seconds")) ?? wallClockLimitMsDefault / 1000) * 1000,
    html: nonEmpty("html", raw.get("html")),
    format: oneOf("format", raw.get("format"), ["edn", "jsonl"] as const),
    json,
    file,
  };
}

function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`--${name} must be ${allowed.map((choice) => `"${choice}"`).join(" or ")} (got ${JSON.stringify(value)})`);
  return value as T;
}

function wholeNumber(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (value.trim() === "" || !Number.isSafeInteger(number) || number < 0) throw new UsageError(`--${name} must be a whole number of steps (got ${JSON.stringify(value)})`);
  return number;
}

function positiveSeconds(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (value.trim() === "" || !Number.isFinite(number)) throw new UsageError(`--${name} must be a number of seconds (got ${JSON.stringify(value)})`);
  if (number <= 0) throw new UsageError(`--${name} must be a positive number of seconds (got ${JSON.stringify(value)})`);
  return number;
}

function nonEmpty(name: string, value: string | undefined): string | undefined {
  if (value === "") throw new UsageError(`--${name} needs a file name`);
  return value;
}
