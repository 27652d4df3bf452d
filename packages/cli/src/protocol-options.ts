import { soloOptionsSchema } from "@concord/core";
import { eventualOptionsSchema, quorumOptionsSchema } from "@concord/leaderless";
import { multiPaxosOptionsSchema } from "@concord/multipaxos";
import { paxosOptionsSchema } from "@concord/paxos";
import { pbftOptionsSchema } from "@concord/pbft";
import { raftOptionsSchema } from "@concord/raft";
import { vrOptionsSchema } from "@concord/vr";
import { z } from "zod";
import { alignedColumns } from "./flags.ts";

/**
 * protocolOptionSchemas maps each algorithm's name to the zod schema that
 * validates its `--option name=value` flags. The help reads each option's
 * default and type from it, so that it cannot drift from what the protocol
 * accepts. An algorithm added to the registry (@concord/lab) needs its line
 * here: test/cli-errors.test.ts fails until it has one.
 */
const protocolOptionSchemas: ReadonlyMap<string, z.ZodObject> = new Map<string, z.ZodObject>([
  ["solo", soloOptionsSchema],
  ["raft", raftOptionsSchema],
  ["multipaxos", multiPaxosOptionsSchema],
  ["pbft", pbftOptionsSchema],
  ["paxos", paxosOptionsSchema],
  ["eventual", eventualOptionsSchema],
  ["quorum", quorumOptionsSchema],
  ["vr", vrOptionsSchema],
]);

/** ProtocolOptionDefault is one option as the help shows it: its name, default and kind of value. */
export interface ProtocolOptionDefault {
  readonly name: string;
  /** defaultValue is what the protocol uses when the option is not given; undefined when unset means "off" or "derived". */
  readonly defaultValue: unknown;
  /** kind is "integer", "number", "boolean" or the allowed values joined by "|". */
  readonly kind: string;
}

/** protocolOptionDefaults lists an algorithm's options with their defaults, in the schema's order; undefined for an algorithm whose schema is not listed here. */
export function protocolOptionDefaults(algorithmName: string): ProtocolOptionDefault[] | undefined {
  const schema = protocolOptionSchemas.get(algorithmName);
  if (schema === undefined) return undefined;
  return Object.entries(schema.shape).map(([name, field]) => {
    const defaultValue = field instanceof z.ZodDefault ? (field.def.defaultValue as unknown) : undefined;
    return { name, defaultValue, kind: kindOf(field) };
  });
}

/** kindOf names the values an option takes, looking through its default and optional wrappers. */
function kindOf(field: z.core.$ZodType): string {
  if (field instanceof z.ZodDefault || field instanceof z.ZodOptional) return kindOf(field.unwrap());
  if (field instanceof z.ZodEnum) return field.options.join("|");
  if (field instanceof z.ZodBoolean) return "boolean";
  if (field instanceof z.ZodNumber) return field.format === "safeint" ? "integer" : "number";
  return "value";
}

/**
 * protocolOptionsHelp renders the `--option` section of a command's help:
 * every option of each named algorithm with its default, one algorithm to a
 * block, in aligned columns.
 */
export function protocolOptionsHelp(algorithmNames: readonly string[]): string {
  const rowsOf = (algorithm: string): [string, string][] =>
    protocolOptionDefaults(algorithm)?.map(({ name, defaultValue, kind }): [string, string] => [`${name}=<${kind}>`, defaultValue === undefined ? "default: unset" : `default: ${String(defaultValue)}`]) ?? [
      ["(not listed)", "the protocol names any option it refuses"],
    ];
  // One column for every algorithm's block, so that the blocks line up with each other too.
  const termWidth = Math.max(0, ...algorithmNames.flatMap((algorithm) => rowsOf(algorithm).map(([term]) => term.length + 2)));
  const blocks = algorithmNames.map((algorithm) => `  ${algorithm}:\n${alignedColumns(rowsOf(algorithm), "    ", termWidth)}`);
  return `protocol options (--option name=value; the protocol validates each):\n${blocks.join("")}`;
}
