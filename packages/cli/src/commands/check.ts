import { z } from "zod";
import { ConfigError, unreachable, type History } from "@concord/core";
import {
  HistoryParseError,
  checkHistory,
  stepsMaxDefault,
  wallClockLimitMsDefault,
  detectFormat,
  kvModel,
  stringKvModel,
  parseKvHistory,
  parseRegisterHistory,
  registerModel,
  renderTimeline,
  type HistoryFormat,
  type CheckOptions,
  type Model,
  type Verdict,
} from "@concord/check";
import type { CommandIo } from "../io.ts";

/** CheckCommandIo is what `concord check` may touch: its output streams and the files it reads and writes. */
export type CheckCommandIo = CommandIo;

/** checkExitCodes are the exit codes of `concord check`. */
export const checkExitCodes = { linearizable: 0, notLinearizable: 1, badInput: 2, unknown: 3 } as const;

/** checkUsage is the help text of `concord check`. */
export const checkUsage = `usage: concord check --model <register|kv> [--steps-max n] [--budget-seconds s] [--html out.html] [--format <edn|jsonl>] FILE

Checks a history for linearizability. FILE is a Jepsen EDN history (a vector of
op maps, or one op map per line) or a Concord JSON-lines history.

  --model           register: Jepsen's cas-register (read, write, cas)
                    kv: Concord's key-value store (get, put, append, cas, delete per key);
                        in EDN (Jepsen, porcupine) a missing key reads as "", as in
                        porcupine's model; in JSON lines absent (null) and "" differ
  --steps-max       the search's budget in steps: past it, "unknown (step budget)", the same
                    verdict on any machine (default ${stepsMaxDefault})
  --budget-seconds  the wall-clock safety net: past it, "unknown", a verdict that depends on
                    the machine (default ${wallClockLimitMsDefault / 1000})
  --html            also write a timeline of the history to this file
  --format          the file's format (default: from its extension, else its first line)

exit codes: 0 linearizable, 1 not linearizable, 2 bad flags or unreadable file, 3 unknown
`;

const flagsSchema = z
  .object({
    model: z.enum(["register", "kv"], { message: 'must be "register" or "kv"' }),
    "steps-max": z.coerce.number({ message: "must be a whole number of steps" }).int({ message: "must be a whole number of steps" }).nonnegative({ message: "must be a whole number of steps" }).optional(),
    "budget-seconds": z.coerce.number({ message: "must be a number of seconds" }).positive({ message: "must be a positive number of seconds" }).optional(),
    html: z.string().min(1, { message: "needs a file name" }).optional(),
    format: z.enum(["edn", "jsonl"], { message: 'must be "edn" or "jsonl"' }).optional(),
    file: z.string({ message: "is missing: name the history file to check" }).min(1),
  })
  .strict();

type CheckFlags = z.output<typeof flagsSchema>;

const valueFlags = new Set(["model", "steps-max", "budget-seconds", "html", "format"]);

/**
 * runCheckCommand runs `concord check --model <register|kv> [--steps-max n] [--budget-seconds s]
 * [--html out.html] [--format <edn|jsonl>] FILE`: it prints `linearizable`, `not linearizable` and the
 * evidence, or `unknown` and why, and returns the exit code (0, 1 or 3; 2 for
 * bad flags or a file it cannot read, with the line number and the reason).
 */
export function runCheckCommand(args: readonly string[], io: CheckCommandIo): number {
  if (args.includes("--help") || args.includes("-h")) {
    io.stdout(checkUsage);
    return checkExitCodes.linearizable;
  }
  const flags = parseFlags(args);
  if (typeof flags === "string") {
    io.stderr(`concord check: ${flags}\n\n${checkUsage}`);
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
  const budget: CheckOptions = {
    stepsMax: flags["steps-max"] ?? stepsMaxDefault,
    wallClockLimitMs: flags["budget-seconds"] === undefined ? wallClockLimitMsDefault : flags["budget-seconds"] * 1000,
  };
  try {
    return flags.model === "register"
      ? checkAndReport(registerModel, parseRegisterHistory(text, format), budget, flags, io)
      : checkAndReport(format === "edn" ? stringKvModel : kvModel, parseKvHistory(text, format), budget, flags, io);
  } catch (error) {
    if (error instanceof HistoryParseError) {
      io.stderr(`concord check: ${flags.file}:${error.line}: ${error.reason} (read as ${describeFormat(format)})\n`);
      return checkExitCodes.badInput;
    }
    if (error instanceof ConfigError) {
      io.stderr(`concord check: ${flags.file}: ${error.message}\n`);
      return checkExitCodes.badInput;
    }
    throw error;
  }
}

function checkAndReport<S, I, O>(model: Model<S, I, O>, history: History<I, O>, budget: CheckOptions, flags: CheckFlags, io: CheckCommandIo): number {
  const verdict = checkHistory(model, history, budget);
  if (flags.html !== undefined) {
    io.writeFile(flags.html, renderTimeline(model, history, verdict, { title: `${flags.file} (${model.name} model)` }));
    io.stderr(`timeline written to ${flags.html}\n`);
  }
  io.stdout(report(verdict));
  return exitCode(verdict);
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

// Reads `--name value`, `--name=value` and one positional FILE; returns the flags or what is wrong with them.
function parseFlags(args: readonly string[]): CheckFlags | string {
  const raw: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("--")) {
      if (raw["file"] !== undefined) return `one history file at a time (got ${raw["file"]} and ${arg})`;
      raw["file"] = arg;
      continue;
    }
    const equals = arg.indexOf("=");
    const name = equals === -1 ? arg.slice(2) : arg.slice(2, equals);
    if (!valueFlags.has(name)) return `unknown flag --${name}`;
    const value = equals === -1 ? args[++i] : arg.slice(equals + 1);
    if (value === undefined) return `--${name} needs a value`;
    raw[name] = value;
  }
  const parsed = flagsSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.map(String).join(".");
  const name = field === "file" ? "FILE" : `--${field}`;
  const got = raw[field] === undefined ? "" : ` (got ${JSON.stringify(raw[field])})`;
  return raw[field] === undefined && field !== "file" ? `${name} is required` : `${name} ${issue.message}${got}`;
}
