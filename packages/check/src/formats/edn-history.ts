// zod/mini, not zod: the same validation and messages, but its functions tree-shake, so that the bundled
// `concord check` (scripts/bundle-check.ts) loads a few kilobytes of zod rather than all of it.
import * as z from "zod/mini";
import { EdnKeyword, EdnMap, EdnSymbol, EdnSyntaxError, EdnTagged, readEdn, type EdnValue } from "./edn.ts";
import { HistoryParseError, type HistoryEvent } from "./events.ts";

const processMessage = "must be a non-negative integer or :nemesis";

const ednOperationSchema = z.looseObject({
  process: z.union([z.int({ message: processMessage }).check(z.minimum(0, { message: processMessage })), z.literal(":nemesis")], { message: processMessage }),
  type: z.enum([":invoke", ":ok", ":fail", ":info"], { message: "must be one of :invoke, :ok, :fail, :info" }),
  f: z.string({ message: "must be a keyword naming the operation" }).check(z.minLength(2)),
  value: z.optional(z.unknown()),
  key: z.optional(z.unknown()),
});

/**
 * readEdnEvents reads a Jepsen history in EDN: either one vector of op maps
 * or one op map per line (`{:process 0, :type :invoke, :f :read, :value nil}`).
 * Ops of the `:nemesis` process are skipped, and so are comments and fields
 * the models do not use (`:time`, `:index`, ...): the order of the ops in the
 * file is their real-time order. Throws a HistoryParseError naming the line.
 */
export function readEdnEvents(text: string): HistoryEvent[] {
  let forms;
  try {
    forms = readEdn(text);
  } catch (error) {
    if (error instanceof EdnSyntaxError) throw new HistoryParseError(error.line, error.reason);
    throw error;
  }
  const onlyForm = forms.length === 1 ? forms[0]! : undefined;
  const operations = onlyForm !== undefined && Array.isArray(onlyForm.value) ? (onlyForm.value as readonly EdnValue[]).map((value) => ({ value, line: lineOf(value, onlyForm.line) })) : forms;
  const events: HistoryEvent[] = [];
  for (const { value, line } of operations) {
    const event = toEvent(unwrap(value), line);
    if (event !== undefined) events.push(event);
  }
  return events;
}

function unwrap(value: EdnValue): EdnValue {
  return value instanceof EdnTagged ? unwrap(value.value) : value;
}

function lineOf(value: EdnValue, fallback: number): number {
  const unwrapped = unwrap(value);
  return unwrapped instanceof EdnMap ? unwrapped.line : fallback;
}

function toEvent(value: EdnValue, line: number): HistoryEvent | undefined {
  if (!(value instanceof EdnMap)) throw new HistoryParseError(line, `expected an op map such as {:process 0, :type :invoke, :f :read, :value nil}, got ${describe(value)}`);
  const plain = ednToPlain(value) as Record<string, unknown>;
  const parsed = ednOperationSchema.safeParse(plain);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.map(String).join(".");
    const got = field in plain ? ` (got ${JSON.stringify(plain[field]) ?? String(plain[field])})` : " (missing)";
    throw new HistoryParseError(line, `:${field} ${issue.message}${got}`);
  }
  const op = parsed.data;
  if (op.process === ":nemesis") return undefined;
  const fields: Record<string, unknown> = {};
  if ("key" in plain) fields["key"] = plain["key"];
  return { line, process: op.process, type: op.type.slice(1) as HistoryEvent["type"], f: op.f.replace(/^:/, ""), value: op.value, fields, time: undefined };
}

/** ednToPlain converts an EDN value to plain data: keywords become ":name" strings, maps objects keyed by keyword name. */
export function ednToPlain(value: EdnValue): unknown {
  if (value === null || typeof value === "boolean" || typeof value === "number" || typeof value === "string") return value;
  if (typeof value === "bigint") return value.toString();
  if (value instanceof EdnKeyword) return `:${value.name}`;
  if (value instanceof EdnSymbol) return value.name;
  if (value instanceof EdnTagged) return ednToPlain(value.value);
  if (value instanceof EdnMap) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of value.entries) out[key instanceof EdnKeyword ? key.name : String(ednToPlain(key))] = ednToPlain(item);
    return out;
  }
  return value.map(ednToPlain);
}

function describe(value: EdnValue): string {
  if (Array.isArray(value)) return "a vector";
  if (value instanceof EdnKeyword || value instanceof EdnSymbol) return value.toString();
  return JSON.stringify(ednToPlain(value)) ?? "a value";
}
