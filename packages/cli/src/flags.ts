import { parseArgs } from "node:util";
import { UsageError } from "./io.ts";

/** FlagSpec declares one flag: a string value or a boolean switch. */
export interface FlagSpec {
  readonly type: "string" | "boolean";
  /** multiple: the flag may be given several times; its value is then a list. */
  readonly multiple?: boolean;
  readonly description: string;
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
  try {
    const parsed = parseArgs({ args: joined, options, strict: true, allowPositionals });
    return { values: parsed.values as Record<string, string | boolean | string[] | undefined>, positionals: parsed.positionals };
  } catch (error) {
    const message = (error as Error).message.split("\n")[0] ?? "bad arguments";
    const allowed = Object.keys(specs).map((name) => `--${name}`).join(", ");
    throw new UsageError(`${message.replace(/\. To specify a positional argument.*$/, "")} (allowed flags: ${allowed})`);
  }
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

/** helpText renders the flags of a command. */
export function helpText(usage: string, specs: Readonly<Record<string, FlagSpec>>): string {
  const lines = [`usage: ${usage}`, "", "flags:"];
  for (const [name, spec] of Object.entries(specs)) lines.push(`  --${name}${spec.type === "string" ? " <value>" : ""}`.padEnd(30) + spec.description);
  return lines.join("\n") + "\n";
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
