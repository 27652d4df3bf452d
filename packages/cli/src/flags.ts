import { parseArgs } from "node:util";
import { type AnyAlgorithm, type ReadLevel, readLevels } from "@concord/core";
import { UsageError } from "./io.ts";

/** FlagSpec declares one flag: a string value or a boolean switch. */
export interface FlagSpec {
  readonly type: "string" | "boolean";
  /** multiple: the flag may be given several times; its value is then a list. */
  readonly multiple?: boolean;
  readonly description: string;
  /** values lists what an enumerated flag accepts, for its help line. */
  readonly values?: readonly string[];
}

/**
 * parseFlags reads `--name value` flags with node's own parser, turning its
 * errors into a {@link UsageError} that names the flag and lists the allowed
 * ones. Positional arguments are returned in order.
 */
export function parseFlags(
  args: readonly string[],
  specs: Readonly<Record<string, FlagSpec>>,
  allowPositionals: boolean,
): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } {
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean }> = {};
  for (const [name, spec] of Object.entries(specs)) options[name] = spec.multiple === true ? { type: spec.type, multiple: true } : { type: spec.type };
  // A value that starts with "-" (say --seed -4) would read as a flag; join it so the value check can name it.
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const next = args[i + 1];
    const name = arg.startsWith("--") ? arg.slice(2) : "";
    if (specs[name]?.type === "string" && next !== undefined && next.startsWith("-") && next !== "--") {
      joined.push(`${arg}=${next}`);
      i++;
    } else {
      joined.push(arg);
    }
  }
  let parsed;
  try {
    parsed = parseArgs({ args: joined, options, strict: true, allowPositionals, tokens: true });
  } catch (error) {
    const message = (error as Error).message.split("\n")[0] ?? "bad arguments";
    const allowed = Object.keys(specs).map((name) => `--${name}`).join(", ");
    throw new UsageError(`${message.replace(/\. To specify a positional argument.*$/, "")} (allowed flags: ${allowed})`);
  }
  // node's parser keeps the last of a flag given twice; a script that says `--seed 1 ... --seed 2` more likely has a mistake in it.
  const seen = new Set<string>();
  for (const token of parsed.tokens) {
    if (token.kind !== "option" || specs[token.name]?.multiple === true) continue;
    if (seen.has(token.name)) throw new UsageError(`--${token.name} is given twice; give it once`);
    seen.add(token.name);
  }
  return { values: parsed.values as Record<string, string | boolean | string[] | undefined>, positionals: parsed.positionals };
}

/** integerFlag parses an integer flag in [min, max], naming the flag on error. */
export function integerFlag(name: string, raw: string | boolean | string[] | undefined, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== "string" || !/^-?\d+$/.test(raw.trim())) throw new UsageError(`--${name}: expected an integer from ${min} to ${max}, got "${String(raw)}"`);
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new UsageError(`--${name}: expected an integer from ${min} to ${max}, got ${raw}`);
  return value;
}

/** choiceFlag checks a flag against its allowed values, naming them on error. */
export function choiceFlag(name: string, raw: string | boolean | string[] | undefined, allowed: readonly string[]): string | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== "string" || !allowed.includes(raw)) throw new UsageError(`--${name}: unknown value "${String(raw)}"; allowed: ${allowed.join(", ")}`);
  return raw;
}

/** readLevelFlag parses --read: one of core's read levels, or undefined when the flag is absent. */
export function readLevelFlag(raw: string | boolean | string[] | undefined): ReadLevel | undefined {
  const level = choiceFlag("read", raw, readLevels);
  return level === undefined ? undefined : readLevels.find((known) => known === level);
}

/** readFlagSpec is --read as `concord sim` and `concord swarm` take it. */
export const readFlagSpec: FlagSpec = {
  type: "string",
  description:
    "consistency the workload's reads ask for (default linearizable): lease where the algorithm has leases, stale from whichever replica the client reaches (a stale run promises no linearizability; its stale reads are named)",
  values: readLevels,
};

/** helpLineWidth is where help text wraps: wide enough for a terminal's 100 columns less a margin. */
const helpLineWidth = 100;

/**
 * helpText renders the flags of a command in two aligned columns, each
 * enumerated flag with the values it accepts, followed by any further
 * sections (the protocol options, say), each ending with a newline.
 */
export function helpText(usage: string, specs: Readonly<Record<string, FlagSpec>>, sections: readonly string[] = []): string {
  const rows = Object.entries(specs).map(([name, spec]): [string, string] => [
    `--${name}${spec.type === "string" ? " <value>" : ""}`,
    spec.values === undefined ? spec.description : `${spec.description}; one of: ${spec.values.join(", ")}`,
  ]);
  return `usage: ${usage}\n\nflags:\n${alignedColumns(rows)}${sections.map((section) => `\n${section}`).join("")}`;
}

/**
 * alignedColumns renders rows of (term, text) with every text starting in
 * the same column, long texts wrapped onto lines indented to that column.
 */
export function alignedColumns(rows: readonly (readonly [string, string])[], indent = "  ", termWidthMin = 0): string {
  const termWidth = Math.max(termWidthMin, ...rows.map(([term]) => term.length + 2));
  const textWidth = Math.max(30, helpLineWidth - indent.length - termWidth);
  const lines: string[] = [];
  for (const [term, text] of rows) {
    wrapWords(text, textWidth).forEach((line, index) => lines.push(`${indent}${(index === 0 ? term : "").padEnd(termWidth)}${line}`.trimEnd()));
  }
  return lines.join("\n") + "\n";
}

/** wrapWords breaks text at spaces into lines of at most `width` characters (a longer word keeps its own line). */
function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  lines.push(line);
  return lines;
}

/**
 * faultToleranceWarning says when a replicated algorithm runs on a cluster
 * that tolerates no fault (Raft on two nodes: either one stopping stops it),
 * which is legal, and useful to watch, but rarely what was meant.
 */
export function faultToleranceWarning(algorithm: AnyAlgorithm, nodes: number): string | undefined {
  const smallest = algorithm.replicasToTolerate(1);
  // The baseline (solo) tolerates no fault at any size: it says so itself.
  if (!Number.isInteger(smallest) || smallest < 1 || algorithm.faultsTolerated(nodes) > 0) return undefined;
  return `warning: ${algorithm.name} on ${nodes} node${nodes === 1 ? "" : "s"} tolerates no fault (${smallest} tolerate one)`;
}

/**
 * protocolOptionFlags turns repeated `--option name=value` flags into
 * protocol options: `true`/`false` become booleans, numbers become numbers,
 * anything else stays a string. The protocol validates them and names the
 * offending one.
 */
export function protocolOptionFlags(raw: string | boolean | string[] | undefined): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [String(raw)];
  for (const item of list) {
    const at = item.indexOf("=");
    if (at <= 0) throw new UsageError(`--option: expected name=value, got "${item}"`);
    const name = item.slice(0, at);
    const text = item.slice(at + 1);
    if (Object.hasOwn(options, name)) throw new UsageError(`--option: ${name} is given twice`);
    options[name] = text === "true" ? true : text === "false" ? false : text.trim() !== "" && Number.isFinite(Number(text)) ? Number(text) : text;
  }
  return options;
}
