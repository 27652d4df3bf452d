import protobuf from "protobufjs/light.js";
import { CorruptionError } from "@concord/core";
import { descriptor } from "./kv-proto.generated.ts";
import type { KvCommand, KvResult } from "./operations.ts";

const root = protobuf.Root.fromJSON(descriptor);
const commandType = root.lookupType("concord.kv.Command");
const resultType = root.lookupType("concord.kv.Result");
const snapshotType = root.lookupType("concord.kv.Snapshot");
const conversion: protobuf.IConversionOptions = { defaults: true, oneofs: true, arrays: true, longs: Number };
const empty = new Uint8Array(0);

/** encodeCommand encodes a command for a log entry or a request. */
export function encodeCommand(command: KvCommand): Uint8Array {
  if (command.type === "cas") {
    const { key, expected, value } = command;
    return commandType.encode({ cas: { key, expectPresent: expected !== undefined, expected: expected ?? empty, value } }).finish();
  }
  return commandType.encode({ [command.type]: command }).finish();
}

/** decodeCommand decodes a command, throwing a {@link CorruptionError} that says why it cannot. */
export function decodeCommand(bytes: Uint8Array): KvCommand {
  const object = decodeOneof(commandType, bytes, "command");
  const body = object.body as Record<string, unknown>;
  const key = body["key"] as string;
  switch (object.type) {
    case "get":
      return { type: "get", key };
    case "put":
      return { type: "put", key, value: asBytes(body["value"]) };
    case "append":
      return { type: "append", key, value: asBytes(body["value"]) };
    case "cas":
      return {
        type: "cas",
        key,
        expected: body["expectPresent"] === true ? asBytes(body["expected"]) : undefined,
        value: asBytes(body["value"]),
      };
    case "delete":
      return { type: "delete", key };
    default:
      throw new CorruptionError(`kv command: unknown operation ${object.type}`);
  }
}

/** encodeResult encodes a result for a reply. */
export function encodeResult(result: KvResult): Uint8Array {
  if (result.type === "get") {
    return resultType.encode({ get: { found: result.value !== undefined, value: result.value ?? empty } }).finish();
  }
  if (result.type === "put") {
    // A put without a value encodes as it always has (no fields): only a write-once register's carries one.
    return resultType.encode({ put: result.value === undefined ? {} : { holdsValue: true, value: result.value } }).finish();
  }
  return resultType.encode({ [result.type]: result }).finish();
}

/** decodeResult decodes a result, throwing a {@link CorruptionError} that says why it cannot. */
export function decodeResult(bytes: Uint8Array): KvResult {
  const object = decodeOneof(resultType, bytes, "result");
  const body = object.body as Record<string, unknown>;
  switch (object.type) {
    case "get":
      return { type: "get", value: body["found"] === true ? asBytes(body["value"]) : undefined };
    case "put":
      return body["holdsValue"] === true ? { type: "put", value: asBytes(body["value"]) } : { type: "put" };
    case "append":
      return { type: "append" };
    case "cas":
      return { type: "cas", ok: body["ok"] === true };
    case "delete":
      return { type: "delete", existed: body["existed"] === true };
    case "invalid":
      return { type: "invalid", reason: String(body["reason"]) };
    default:
      throw new CorruptionError(`kv result: unknown type ${object.type}`);
  }
}

/** encodeSnapshot encodes store entries, which must be sorted by key. */
export function encodeSnapshotEntries(entries: readonly (readonly [string, Uint8Array])[]): Uint8Array {
  return snapshotType.encode({ entries: entries.map(([key, value]) => ({ key, value })) }).finish();
}

/** decodeSnapshotEntries decodes what {@link encodeSnapshotEntries} wrote. */
export function decodeSnapshotEntries(bytes: Uint8Array): [string, Uint8Array][] {
  let decoded: protobuf.Message;
  try {
    decoded = snapshotType.decode(bytes);
  } catch (error) {
    throw new CorruptionError(`kv snapshot: undecodable (${(error as Error).message})`);
  }
  const object = snapshotType.toObject(decoded, conversion) as { entries: { key: string; value: Uint8Array }[] };
  return object.entries.map((entry) => [entry.key, asBytes(entry.value)]);
}

function decodeOneof(type: protobuf.Type, bytes: Uint8Array, what: string): { type: string; body: unknown } {
  let decoded: protobuf.Message;
  try {
    decoded = type.decode(bytes);
  } catch (error) {
    throw new CorruptionError(`kv ${what}: undecodable ${bytes.length} bytes (${(error as Error).message})`);
  }
  const object = type.toObject(decoded, conversion) as Record<string, unknown>;
  const which = object["body"];
  if (typeof which !== "string") throw new CorruptionError(`kv ${what}: no operation set`);
  return { type: which, body: object[which] };
}

/**
 * asBytes copies a decoded bytes field into a plain Uint8Array. protobufjs
 * returns views into the frame, and the store keeps values: a view would tie
 * the replicated state to a buffer its caller may reuse.
 */
function asBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return new Uint8Array(value);
  return new Uint8Array(0);
}
