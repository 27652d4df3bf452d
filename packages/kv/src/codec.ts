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
  return encodeSimpleCommand(command) ?? encodeCommandWithProtobuf(command);
}

/** encodeCommandWithProtobuf is encodeCommand's protobufjs path: every command, the reference for the others (codec.test.ts). */
export function encodeCommandWithProtobuf(command: KvCommand): Uint8Array {
  if (command.type === "cas") {
    const { key, expected, value } = command;
    return commandType.encode({ cas: { key, expectPresent: expected !== undefined, expected: expected ?? empty, value } }).finish();
  }
  return commandType.encode({ [command.type]: command }).finish();
}

/** decodeCommand decodes a command, throwing a {@link CorruptionError} that says why it cannot. */
export function decodeCommand(bytes: Uint8Array): KvCommand {
  const simple = decodeSimpleCommand(bytes);
  if (simple !== undefined) return simple;
  const object = decodeOneof(commandType, commandMembers, bytes, "command");
  const body = object.body;
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

/**
 * encodeSimpleCommand writes, without protobufjs, what decodeSimpleCommand reads: a get, put, append or delete
 * whose key is ASCII of 1 to 127 characters and whose value (a put's or an append's) is under 128 bytes, its
 * body under 128 bytes, as protobufjs writes it (the key, then the value unless it is empty). Every client
 * encodes every command it sends (issue 18). It returns undefined for any other command.
 */
function encodeSimpleCommand(command: KvCommand): Uint8Array | undefined {
  const type = command.type;
  const operation = type === "get" ? 1 : type === "put" ? 2 : type === "append" ? 3 : type === "delete" ? 5 : undefined;
  const key: unknown = command.key;
  if (operation === undefined || typeof key !== "string") return undefined;
  const keyLength = key.length;
  if (keyLength === 0 || keyLength > 127) return undefined;
  let valueLength = 0;
  let value: Uint8Array | undefined;
  if (command.type === "put" || command.type === "append") {
    value = command.value;
    if (!(value instanceof Uint8Array)) return undefined;
    valueLength = value.length;
  }
  const body = 2 + keyLength + (valueLength === 0 ? 0 : 2 + valueLength);
  if (valueLength > 127 || body > 127) return undefined;
  const out = new Uint8Array(2 + body);
  out[0] = (operation << 3) | 2;
  out[1] = body;
  out[2] = keyTag;
  out[3] = keyLength;
  for (let i = 0; i < keyLength; i++) {
    const code = key.charCodeAt(i);
    if (code > 127) return undefined;
    out[4 + i] = code;
  }
  if (value !== undefined && valueLength !== 0) {
    const at = 4 + keyLength;
    out[at] = valueTag;
    out[at + 1] = valueLength;
    for (let i = 0; i < valueLength; i++) out[at + 2 + i] = value[i] as number;
  }
  return out;
}

// Command's fields: get 1, put 2, append 3, cas 4, delete 5; in each operation, key 1 and value 2.
const simpleOperations: readonly (undefined | "get" | "put" | "append" | "delete")[] = [undefined, "get", "put", "append", undefined, "delete"];
const keyTag = (1 << 3) | 2;
const valueTag = (2 << 3) | 2;

/**
 * decodeSimpleCommand decodes, without protobufjs, the commands every
 * client sends as encodeCommand writes them: a get, put, append or delete
 * whose body is its key (ASCII, under 128 bytes) and, for a put or an
 * append, then its value (under 128 bytes), each length in one byte, and
 * nothing else. It returns undefined for any other frame, which then goes
 * through protobufjs (so every other frame, well-formed or not, decodes or is
 * refused exactly as before). protobufjs's decoder builds a message object
 * per level and deletes the oneof's other members from it (which makes the
 * object slow): every replica decodes every command it applies.
 */
function decodeSimpleCommand(bytes: Uint8Array): KvCommand | undefined {
  const length = bytes.length;
  if (length < 4 || length > 127) return undefined;
  const tag = bytes[0] as number;
  const operation = (tag & 7) === 2 ? simpleOperations[tag >> 3] : undefined;
  if (operation === undefined || bytes[1] !== length - 2 || bytes[2] !== keyTag) return undefined;
  const keyLength = bytes[3] as number;
  const keyEnd = 4 + keyLength;
  if (keyLength > 127 || keyEnd > length) return undefined;
  let key = "";
  for (let i = 4; i < keyEnd; i++) {
    const byte = bytes[i] as number;
    if (byte > 127) return undefined;
    key += String.fromCharCode(byte);
  }
  if (operation === "get" || operation === "delete") return keyEnd === length ? { type: operation, key } : undefined;
  if (keyEnd === length) return { type: operation, key, value: new Uint8Array(0) };
  if (bytes[keyEnd] !== valueTag || keyEnd + 2 > length) return undefined;
  const valueLength = bytes[keyEnd + 1] as number;
  if (valueLength > 127 || keyEnd + 2 + valueLength !== length) return undefined;
  const value = new Uint8Array(valueLength);
  for (let i = 0; i < valueLength; i++) value[i] = bytes[keyEnd + 2 + i] as number;
  return { type: operation, key, value };
}

// Result's get, put, append, cas and delete fields (numbers 1 to 5), length-delimited: (number << 3) | 2; a
// GetResult's found (1, a varint) and value (2); a CasResult's ok and a DeleteResult's existed are field 1 too.
const getResultTag = (1 << 3) | 2;
const putResultTag = (2 << 3) | 2;
const appendResultTag = (3 << 3) | 2;
const casResultTag = (4 << 3) | 2;
const deleteResultTag = (5 << 3) | 2;
const foundTag = 1 << 3;

/** encodeResult encodes a result for a reply. */
export function encodeResult(result: KvResult): Uint8Array {
  if (result.type === "get") {
    const value: unknown = result.value;
    // A get's answer as protobufjs writes it (found, then the value unless empty), when it fits in 127 bytes.
    if (value === undefined) return emptyMessageField(getResultTag);
    if (value instanceof Uint8Array && value.length <= 123) {
      const length = value.length;
      const out = new Uint8Array(length === 0 ? 4 : 6 + length);
      out[0] = getResultTag;
      out[1] = out.length - 2;
      out[2] = foundTag;
      out[3] = 1;
      if (length !== 0) {
        out[4] = valueTag;
        out[5] = length;
        for (let i = 0; i < length; i++) out[6 + i] = value[i] as number;
      }
      return out;
    }
    return encodeResultWithProtobuf(result);
  }
  return encodeResultWithProtobuf(result);
}

/** encodeResultWithProtobuf is encodeResult's path for every result but a short get's, the reference for it (codec.test.ts). */
export function encodeResultWithProtobuf(result: KvResult): Uint8Array {
  if (result.type === "get") {
    return resultType.encode({ get: { found: result.value !== undefined, value: result.value ?? empty } }).finish();
  }
  if (result.type === "put") {
    // A put without a value encodes as it always has (no fields): only a write-once register's carries one.
    // Every write answers so: its two bytes (field 2, an empty message) are written out rather than encoded.
    if (result.value === undefined) return emptyMessageField(putResultTag);
    return resultType.encode({ put: { holdsValue: true, value: result.value } }).finish();
  }
  if (result.type === "append") return emptyMessageField(appendResultTag);
  return resultType.encode({ [result.type]: result }).finish();
}

/** emptyMessageField is a field holding an empty message: its tag and a zero length (Uint8Array.of's generic path cost more than the write). */
function emptyMessageField(tag: number): Uint8Array {
  const out = new Uint8Array(2);
  out[0] = tag;
  return out;
}

/** decodeResult decodes a result, throwing a {@link CorruptionError} that says why it cannot. */
export function decodeResult(bytes: Uint8Array): KvResult {
  return decodeSimpleResult(bytes) ?? decodeResultWithProtobuf(bytes);
}

/**
 * decodeSimpleResult decodes, without protobufjs, the results replicas send as encodeResult writes them: a get's
 * (found set, then a value of 1 to 127 bytes or none; or nothing found), a put's or an append's without fields, a
 * cas's or a delete's with its flag set or not. Every client decodes every reply (issue 18). It returns
 * undefined for any other frame, which then goes through protobufjs, decoded or refused as before.
 */
function decodeSimpleResult(bytes: Uint8Array): KvResult | undefined {
  const length = bytes.length;
  // One member of the oneof whose length is one byte, filling the frame.
  if (length < 2 || length > 129 || bytes[1] !== length - 2) return undefined;
  const tag = bytes[0] as number;
  if (length === 2) {
    if (tag === getResultTag) return { type: "get", value: undefined };
    if (tag === putResultTag) return { type: "put" };
    if (tag === appendResultTag) return { type: "append" };
    if (tag === casResultTag) return { type: "cas", ok: false };
    if (tag === deleteResultTag) return { type: "delete", existed: false };
    return undefined;
  }
  if (length < 4 || bytes[2] !== foundTag || bytes[3] !== 1) return undefined;
  if (length === 4) {
    if (tag === getResultTag) return { type: "get", value: new Uint8Array(0) };
    if (tag === casResultTag) return { type: "cas", ok: true };
    if (tag === deleteResultTag) return { type: "delete", existed: true };
    return undefined;
  }
  if (tag !== getResultTag || bytes[4] !== valueTag || bytes[5] !== length - 6) return undefined;
  const value = new Uint8Array(length - 6);
  for (let i = 0; i < value.length; i++) value[i] = bytes[6 + i] as number;
  return { type: "get", value };
}

/** decodeResultWithProtobuf is decodeResult's path for every frame but the simple ones, the reference for them (codec.test.ts). */
export function decodeResultWithProtobuf(bytes: Uint8Array): KvResult {
  const object = decodeOneof(resultType, resultMembers, bytes, "result");
  const body = object.body;
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

/** oneofMembers lists the members of a type's `oneof body` in field-number order, as toObject visits them. */
function oneofMembers(type: protobuf.Type): readonly string[] {
  const members = type.oneofs?.["body"]?.fieldsArray ?? [];
  return [...members].sort((a, b) => a.id - b.id).map((member) => member.name);
}

const commandMembers = oneofMembers(commandType);
const resultMembers = oneofMembers(resultType);

/**
 * decodeOneof decodes a message whose `oneof body` names the operation and
 * returns the operation and its decoded body, read as `toObject` with
 * `defaults` would give them without building that object (which makes an
 * empty Buffer for every absent bytes field): where more than one member of
 * the oneof is set, the last by field number is the operation. The decoder
 * sets only the fields on the wire; the others read as the defaults its
 * message prototypes hold (null for a message, "" for a string, false for a
 * bool, an empty array for bytes), which are toObject's defaults.
 */
function decodeOneof(type: protobuf.Type, members: readonly string[], bytes: Uint8Array, what: string): { type: string; body: Fields } {
  let decoded: protobuf.Message;
  try {
    decoded = type.decode(bytes);
  } catch (error) {
    throw new CorruptionError(`kv ${what}: undecodable ${bytes.length} bytes (${(error as Error).message})`);
  }
  const fields = decoded as unknown as Record<string, Fields | null>;
  let which: string | undefined;
  for (const member of members) if (fields[member] != null) which = member;
  if (which === undefined) throw new CorruptionError(`kv ${what}: no operation set`);
  return { type: which, body: fields[which] as Fields };
}

/** Fields are a decoded message's fields by name (set or the prototype's default). */
type Fields = Readonly<Record<string, unknown>>;

/**
 * asBytes copies a decoded bytes field into a plain Uint8Array. protobufjs
 * returns views into the frame, and the store keeps values: a view would tie
 * the replicated state to a buffer its caller may reuse.
 */
function asBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return new Uint8Array(value);
  return new Uint8Array(0);
}
