import { firstClientId } from "@concord/core";
import { type Action, type World, nodeName, summarize } from "@concord/explore";
import { z } from "zod";

/** viewDepthMax is how deep the Explorer shows a replica's fields: deeper objects are elided, so one huge field cannot stall the page. */
const viewDepthMax = 10;

/** viewEntriesMax is how many entries of one array, Map or Set the Explorer shows: a long log is elided past it, with a count. */
const viewEntriesMax = 100;

/**
 * toViewJson turns any value (a replica's object graph) into plain JSON for
 * the page: bytes as their length, Maps as objects (or entry lists when a key
 * is not a string or number), Sets as arrays, bigints as strings, functions
 * named, cycles and shared ancestors marked instead of followed, and depth and
 * width capped. It never throws on what a replica holds.
 */
export function toViewJson(value: unknown): unknown {
  return viewOf(value, new Set<object>(), 0);
}

function viewOf(value: unknown, ancestors: Set<object>, depth: number): unknown {
  if (value === null || value === undefined) return value ?? null;
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value) ? value : String(value);
    case "bigint":
      return `${value}n`;
    case "symbol":
      return value.toString();
    case "function":
      return `<function ${value.name || "anonymous"}>`;
    default:
      break;
  }
  const object = value as object;
  if (object instanceof Uint8Array) return `<${object.length} bytes>`;
  if (ArrayBuffer.isView(object)) return `<${object.byteLength} bytes>`;
  if (ancestors.has(object)) return "<cycle>";
  if (depth >= viewDepthMax) return "<…>";
  ancestors.add(object);
  try {
    const inner = (item: unknown): unknown => viewOf(item, ancestors, depth + 1);
    if (Array.isArray(object)) return capped(object, inner);
    if (object instanceof Set) return capped([...object], inner);
    if (object instanceof Map) {
      const entries = [...object.entries()];
      const plainKeys = entries.every(([key]) => typeof key === "string" || typeof key === "number");
      if (!plainKeys) return capped(entries, ([key, item]) => [inner(key), inner(item)]);
      const shown: Record<string, unknown> = {};
      for (const [key, item] of entries.slice(0, viewEntriesMax)) shown[String(key)] = inner(item);
      if (entries.length > viewEntriesMax) shown["…"] = `${entries.length - viewEntriesMax} more entries`;
      return shown;
    }
    const shown: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(object)) shown[key] = inner(item);
    return shown;
  } finally {
    ancestors.delete(object);
  }
}

function capped<T>(items: readonly T[], map: (item: T) => unknown): unknown[] {
  const shown = items.slice(0, viewEntriesMax).map(map);
  if (items.length > viewEntriesMax) shown.push(`… ${items.length - viewEntriesMax} more`);
  return shown;
}

/** epochNames says what each algorithm calls its epoch, so the page reads as the paper does. */
const epochNames: Readonly<Record<string, string>> = { raft: "term", multipaxos: "ballot", paxos: "round", pbft: "view", vr: "view" };

/** epochName is the word for `algorithm`'s epoch (Raft's term, Paxos' round, PBFT's view), "epoch" for any other. */
export function epochName(algorithm: string): string {
  return epochNames[algorithm] ?? "epoch";
}

/** ReplicaView is one replica on the page. */
export interface ReplicaView {
  readonly id: number;
  readonly up: boolean;
  readonly role: string | null;
  readonly epoch: number | null;
  readonly leader: number | null;
  readonly commitIndex: number | null;
  readonly appliedIndex: number | null;
  /** fields is the replica's own object as plain JSON (see toViewJson), null while it is down. */
  readonly fields: unknown;
}

/** StateView is everything the page shows of one state, without its actions. */
export interface StateView {
  readonly depth: number;
  /** key is the state's fingerprint (`World.key()`): two paths to one state show the same key. */
  readonly key: string;
  readonly epochName: string;
  readonly replicas: readonly ReplicaView[];
  readonly history: readonly { readonly id: number; readonly client: string; readonly input: string; readonly status: string; readonly output: string | null; readonly invokedAt: number; readonly completedAt: number | null }[];
  readonly inFlight: readonly { readonly type: string; readonly from: string; readonly to: string; readonly summary: string }[];
  readonly spent: { readonly crashes: number; readonly reorderings: number; readonly drops: number; readonly duplicates: number; readonly timeouts: Readonly<Record<string, number>> };
  readonly violation: { readonly property: string; readonly message: string } | null;
}

/** stateView reads `world` for the page. */
export function stateView(world: World, algorithm: string): StateView {
  const spent = world.spent();
  return {
    depth: world.depth,
    key: world.key(),
    epochName: epochName(algorithm),
    replicas: Array.from({ length: world.setup.nodes }, (_, id): ReplicaView => {
      const status = world.status(id);
      return {
        id,
        up: world.isUp(id),
        role: status?.role ?? null,
        epoch: status?.epoch ?? null,
        leader: status?.leader ?? null,
        commitIndex: status?.commitIndex ?? null,
        appliedIndex: status?.appliedIndex ?? null,
        fields: world.isUp(id) ? toViewJson(world.replica(id)) : null,
      };
    }),
    history: world.history().map((operation) => ({
      id: operation.id,
      client: nodeName(operation.clientId),
      input: readable(operation.input),
      status: operation.status,
      output: operation.output === undefined ? null : readable(operation.output),
      invokedAt: operation.invokeUs,
      completedAt: operation.completeUs ?? null,
    })),
    inFlight: world.inFlight().map((envelope) => ({ type: envelope.type, from: nodeName(envelope.from), to: nodeName(envelope.to), summary: summarize(envelope.message) })),
    spent: {
      crashes: spent.crashes,
      reorderings: spent.reorderings,
      drops: spent.drops,
      duplicates: spent.duplicates,
      timeouts: Object.fromEntries([...spent.timeouts].sort((a, b) => a[0] - b[0]).map(([id, count]) => [nodeName(id), count])),
    },
    violation: world.violation ?? null,
  };
}

/** readable writes a KV command or result with its bytes as text: the workload's values are short strings. */
function readable(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => (item instanceof Uint8Array ? new TextDecoder().decode(item) : item));
}

const nodeIdSchema = z.number().int().min(0);
const crashPointSchema = z.object({ ready: z.number().int().min(0), keep: z.union([z.number().int().min(0), z.literal("after-sync")]) }).strict();
const actionSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("deliver"), key: z.string(), crash: crashPointSchema.optional() }).strict(),
  z.object({ kind: z.literal("drop"), key: z.string() }).strict(),
  z.object({ kind: z.literal("duplicate"), key: z.string() }).strict(),
  z.object({ kind: z.literal("timeout"), node: nodeIdSchema, crash: crashPointSchema.optional() }).strict(),
  z.object({ kind: z.literal("invoke"), client: nodeIdSchema.min(firstClientId) }).strict(),
  z.object({ kind: z.literal("crash"), node: nodeIdSchema }).strict(),
  z.object({ kind: z.literal("restart"), node: nodeIdSchema, crash: crashPointSchema.optional() }).strict(),
  // The operator's and the clients' actions and the lasting partitions, which the Explorer offers when their bounds allow.
  z.object({ kind: z.literal("client-restart"), client: nodeIdSchema.min(firstClientId) }).strict(),
  z.object({ kind: z.literal("reconfigure"), node: nodeIdSchema, changes: z.array(z.object({ type: z.enum(["addVoter", "removeVoter", "addLearner", "removeLearner"]), node: nodeIdSchema }).strict()).min(1), joint: z.boolean() }).strict(),
  z.object({ kind: z.literal("transfer"), node: nodeIdSchema, target: nodeIdSchema }).strict(),
  z.object({ kind: z.literal("partition"), side: z.array(nodeIdSchema).min(1) }).strict(),
  z.object({ kind: z.literal("heal") }).strict(),
  z.object({ kind: z.literal("turn-liar"), node: nodeIdSchema }).strict(),
]);

/** PathError is a path that does not decode or does not replay: the API answers it with 400 and its message. */
export class PathError extends Error {
  override readonly name = "PathError";
}

/** encodePath writes a list of actions as the URL-safe token that names the state they lead to (base64url of their JSON). */
export function encodePath(actions: readonly Action[]): string {
  return actions.length === 0 ? "" : Buffer.from(JSON.stringify(actions), "utf8").toString("base64url");
}

/** decodePath reads a token written by encodePath, checking every action's shape; it throws PathError naming what is wrong. */
export function decodePath(token: string): Action[] {
  if (token === "") return [];
  if (!/^[A-Za-z0-9_-]+$/.test(token)) throw new PathError(`path: not base64url (only A-Z, a-z, 0-9, "-" and "_"): "${token.slice(0, 40)}"`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw new PathError("path: does not decode to JSON (expected base64url of a JSON list of actions)");
  }
  const result = z.array(actionSchema).safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new PathError(`path: not a list of actions: at ${issue === undefined || issue.path.length === 0 ? "the top" : `action ${issue.path.join(".")}`}: ${issue?.message ?? "invalid"}`);
  }
  return result.data.map((action) => withoutUndefined(action));
}

/** withoutUndefined drops an absent crash point, so a decoded action is the same JSON (and fingerprint input) as the one encoded. */
function withoutUndefined(action: z.output<typeof actionSchema>): Action {
  if ("crash" in action && action.crash === undefined) {
    const { crash: _crash, ...rest } = action;
    return rest as Action;
  }
  return action as Action;
}

