import { z } from "zod";
import { ConfigError } from "./errors.ts";
import { firstClientId } from "./ids.ts";

/** nodeIdSchema validates a replica id: a non-negative integer below the client id range. */
export const nodeIdSchema = z
  .number()
  .int()
  .min(0)
  .max(firstClientId - 1, { message: `replica ids must be below ${firstClientId} (client ids start there)` });

/** replicaSetSchema validates the replica ids of a cluster: at least one, no duplicates. */
export const replicaSetSchema = z
  .array(nodeIdSchema)
  .min(1, { message: "a cluster needs at least one replica" })
  .refine((ids) => new Set(ids).size === ids.length, { message: "replica ids must be distinct" });

/**
 * parseConfig validates `input` against `schema`, throwing a
 * {@link ConfigError} that names the first offending field and its value.
 */
export function parseConfig<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue === undefined) throw new ConfigError("", `${what}: invalid`);
  const path = issue.path.map(String).join(".");
  const value = valueAt(input, issue.path);
  const shown = value === undefined ? "" : ` (got ${show(value)})`;
  throw new ConfigError(path === "" ? what : `${what}.${path}`, `${issue.message}${shown}`);
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = input;
  for (const key of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/** show renders an offending value as its author wrote it: NaN as NaN (JSON would say null), bigints without throwing. */
function show(value: unknown): string {
  if (typeof value === "number") return String(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "function" || typeof value === "symbol") return String(value);
  try {
    return JSON.stringify(value, (_key, inner: unknown) => (typeof inner === "bigint" ? `${inner}n` : inner)) ?? String(value);
  } catch {
    return String(value); // a cycle
  }
}
