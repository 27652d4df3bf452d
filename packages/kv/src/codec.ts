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
  return decodeSimpleCommand(bytes) ?? decodeCommandWithProtobuf(bytes);
}

/** decodeCommandWithProtobuf is decodeCommand's path for every frame but the simple ones, the reference for them (codec.test.ts). */
export function decodeCommandWithProtobuf(bytes: Uint8Array): KvCommand {
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
 * encodeSimpleCommand writes, without protobufjs, what decodeSimpleCommand reads: a command whose key is ASCII
 * of 1 to 127 characters and whose body is under 128 bytes, as protobufjs writes it (the key, then a cas's
 * expect_present when set and its expected value, then the value, each left out when empty). Every client
 * encodes every command it sends (issue 18). It returns undefined for any other command.
 */
function encodeSimpleCommand(command: KvCommand): Uint8Array | undefined {
  const type = command.type;
  const operation = type === "get" ? 1 : type === "put" ? 2 : type === "append" ? 3 : type === "cas" ? 4 : type === "delete" ? 5 : undefined;
  const key: unknown = command.key;
  if (operation === undefined || typeof key !== "string") return undefined;
  const keyLength = key.length;
  if (keyLength === 0 || keyLength > 127) return undefined;
  let value: Uint8Array | undefined;
  let expected: Uint8Array | undefined;
  let body = 2 + keyLength;
  if (command.type === "put" || command.type === "append" || command.type === "cas") {
    value = command.value;
    if (!(value instanceof Uint8Array)) return undefined;
    body += shortFieldBytes(value);
  }
  if (command.type === "cas" && command.expected !== undefined) {
    expected = command.expected;
    if (!(expected instanceof Uint8Array)) return undefined;
    body += 2 + shortFieldBytes(expected);
  }
  if (body > 127) return undefined;
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
  let at = 4 + keyLength;
  if (expected !== undefined) {
    out[at++] = expectPresentTag;
    out[at++] = 1;
    at = writeShortField(out, at, expectedTag, expected);
  }
  if (value !== undefined) writeShortField(out, at, operation === 4 ? casValueTag : valueTag, value);
  return out;
}

/** shortFieldBytes is the size of a bytes field of under 128 bytes (128, more than a body may hold, when longer), 0 when empty. */
function shortFieldBytes(value: Uint8Array): number {
  const length = value.length;
  return length === 0 ? 0 : length > 127 ? 128 : 2 + length;
}

function writeShortField(out: Uint8Array, at: number, tag: number, value: Uint8Array): number {
  const length = value.length;
  if (length === 0) return at;
  out[at] = tag;
  out[at + 1] = length;
  for (let i = 0; i < length; i++) out[at + 2 + i] = value[i] as number;
  return at + 2 + length;
}

// Command's fields: get 1, put 2, append 3, cas 4, delete 5; in each operation, key 1 and value 2 (a cas's 4).
const simpleOperations: readonly (undefined | KvCommand["type"])[] = [undefined, "get", "put", "append", "cas", "delete"];
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
  const key = asciiKey(bytes, keyLength);
  if (key === undefined) return undefined;
  if (operation === "get" || operation === "delete") return keyEnd === length ? { type: operation, key } : undefined;
  if (operation === "cas") return decodeSimpleCas(bytes, key, keyEnd);
  if (keyEnd === length) return { type: operation, key, value: new Uint8Array(0) };
  if (bytes[keyEnd] !== valueTag || keyEnd + 2 > length) return undefined;
  const valueLength = bytes[keyEnd + 1] as number;
  if (valueLength > 127 || keyEnd + 2 + valueLength !== length) return undefined;
  const value = new Uint8Array(valueLength);
  for (let i = 0; i < valueLength; i++) value[i] = bytes[keyEnd + 2 + i] as number;
  return { type: operation, key, value };
}

/**
 * recentKeys holds the last key decodeSimpleCommand read into each of its
 * slots (a slot is drawn from the key's length and three of its bytes). A
 * store's commands name the same few keys again and again, and every replica
 * decodes every command it applies: a key found here is the string already
 * made (its hash computed, the store's Map compares it by identity), where a
 * new one cost a string per character and a hash (issue 18). Only the
 * string's identity differs: its characters are compared with the bytes.
 */
const recentKeys: (string | undefined)[] = new Array<string | undefined>(256).fill(undefined);

/** asciiKey is the key of `keyLength` bytes at offset 4, or undefined when one of them is not ASCII. */
function asciiKey(bytes: Uint8Array, keyLength: number): string | undefined {
  if (keyLength === 0) return "";
  const first = bytes[4] as number;
  const last = bytes[3 + keyLength] as number;
  const middle = bytes[4 + (keyLength >> 1)] as number;
  const slot = (keyLength * 7 + first * 3 + middle * 5 + last * 11) & 255;
  const recent = recentKeys[slot];
  if (recent !== undefined && recent.length === keyLength) {
    let k = 0;
    while (k < keyLength && recent.charCodeAt(k) === bytes[4 + k]) k++;
    if (k === keyLength) return recent;
  }
  let key = "";
  for (let i = 4; i < 4 + keyLength; i++) {
    const byte = bytes[i] as number;
    if (byte > 127) return undefined;
    key += String.fromCharCode(byte);
  }
  recentKeys[slot] = key;
  return key;
}

/** decodeSimpleCas reads a cas's fields after its key (at `at`): expect_present when set, expected, value, each as encodeSimpleCommand writes it. */
function decodeSimpleCas(bytes: Uint8Array, key: string, at: number): KvCommand | undefined {
  const length = bytes.length;
  let expected: Uint8Array | undefined;
  if (bytes[at] === expectPresentTag) {
    if (bytes[at + 1] !== 1) return undefined;
    at += 2;
    expected = new Uint8Array(0);
    if (bytes[at] === expectedTag) {
      expected = shortField(bytes, at);
      if (expected === undefined) return undefined;
      at = fieldEnd;
    }
  }
  let value: Uint8Array = new Uint8Array(0);
  if (at < length) {
    if (bytes[at] !== casValueTag) return undefined;
    const read = shortField(bytes, at);
    if (read === undefined) return undefined;
    value = read;
    at = fieldEnd;
  }
  return at === length ? { type: "cas", key, expected, value } : undefined;
}

/** fieldEnd is set by shortField to where the field it read ends. */
let fieldEnd = 0;

/** shortField copies the bytes field of under 128 bytes whose tag is at `at`, or returns undefined if it runs past the frame. */
function shortField(bytes: Uint8Array, at: number): Uint8Array | undefined {
  const length = bytes[at + 1];
  if (length === undefined || length > 127 || at + 2 + length > bytes.length) return undefined;
  const value = new Uint8Array(length);
  for (let i = 0; i < length; i++) value[i] = bytes[at + 2 + i] as number;
  fieldEnd = at + 2 + length;
  return value;
}

// Result's get, put, append, cas and delete fields (numbers 1 to 5), length-delimited: (number << 3) | 2; a
// GetResult's found (1, a varint) and value (2); a CasResult's ok and a DeleteResult's existed are field 1 too.
const getResultTag = (1 << 3) | 2;
const putResultTag = (2 << 3) | 2;
const appendResultTag = (3 << 3) | 2;
const casResultTag = (4 << 3) | 2;
const deleteResultTag = (5 << 3) | 2;
const foundTag = 1 << 3;
// Cas's fields: key 1, expect_present 2 (a varint), expected 3, value 4.
const expectPresentTag = 2 << 3;
const expectedTag = (3 << 3) | 2;
const casValueTag = (4 << 3) | 2;

/** encodeResult encodes a result for a reply. */
export function encodeResult(result: KvResult): Uint8Array {
  // Every replica answers every command it executes (issue 18): a get's, a cas's and a delete's answers are
  // written here as protobufjs writes them; a put's and an append's without a value are two bytes.
  switch (result.type) {
    case "get": {
      const value: unknown = result.value;
      if (value === undefined) return emptyMessageField(getResultTag);
      if (value instanceof Uint8Array) return encodeGetResult(value);
      break;
    }
    case "put":
      // A put without a value encodes as it always has (no fields): only a write-once register's carries one.
      if (result.value === undefined) return emptyMessageField(putResultTag);
      break;
    case "append":
      return emptyMessageField(appendResultTag);
    case "cas":
      if (typeof result.ok === "boolean") return flagResult(casResultTag, result.ok);
      break;
    case "delete":
      if (typeof result.existed === "boolean") return flagResult(deleteResultTag, result.existed);
      break;
  }
  return encodeResultWithProtobuf(result);
}

/** encodeGetResult writes Result{get: GetResult{found: true, value}}: found, then the value unless it is empty. */
function encodeGetResult(value: Uint8Array): Uint8Array {
  const length = value.length;
  const body = 2 + (length === 0 ? 0 : 1 + varintBytes(length) + length);
  const out = new Uint8Array(1 + varintBytes(body) + body);
  out[0] = getResultTag;
  let at = writeVarint(out, 1, body);
  out[at++] = foundTag;
  out[at++] = 1;
  if (length !== 0) {
    out[at++] = valueTag;
    at = writeVarint(out, at, length);
    if (length <= 64) for (let i = 0; i < length; i++) out[at + i] = value[i] as number;
    else out.set(value, at);
  }
  return out;
}

/** flagResult writes a result whose message holds one bool as field 1 (a cas's ok, a delete's existed), left out when false. */
function flagResult(tag: number, flag: boolean): Uint8Array {
  if (!flag) return emptyMessageField(tag);
  const out = new Uint8Array(4);
  out[0] = tag;
  out[1] = 2;
  out[2] = foundTag;
  out[3] = 1;
  return out;
}

/** varintBytes is the length of a varint holding `value` (a length: under 2^31). */
function varintBytes(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x20_0000 ? 3 : value < 0x1000_0000 ? 4 : 5;
}

function writeVarint(out: Uint8Array, at: number, value: number): number {
  while (value >= 0x80) {
    out[at++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  out[at++] = value;
  return at;
}

/** varintEnd is set by readLength to where the varint it read ends. */
let varintEnd = 0;

/** readLength reads a varint of at most 4 bytes at `at` (ending before `end`), or returns -1. */
function readLength(bytes: Uint8Array, at: number, end: number): number {
  let value = 0;
  for (let shift = 0; shift < 28 && at < end; shift += 7) {
    const byte = bytes[at++] as number;
    value |= (byte & 0x7f) << shift;
    if (byte < 0x80) {
      varintEnd = at;
      return value;
    }
  }
  return -1;
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

/**
 * emptyMessageField is a field holding an empty message: its tag and a zero
 * length, the answer to every put and append (and to a get of nothing, a
 * failed cas, a delete of nothing). Each is one array made once and handed to
 * every caller, as every replica answers every command it executes and a new
 * array of two bytes cost more than the rest of the encoding (issue 18): an
 * encoded result is never written after it is made (a Byzantine replica that
 * corrupts results corrupts a copy), and codec.test.ts checks that these keep
 * their bytes through a run of the store.
 */
function emptyMessageField(tag: number): Uint8Array {
  switch (tag) {
    case getResultTag:
      return emptyGetResult;
    case putResultTag:
      return emptyPutResult;
    case appendResultTag:
      return emptyAppendResult;
    case casResultTag:
      return emptyCasResult;
    case deleteResultTag:
      return emptyDeleteResult;
    default:
      return Uint8Array.of(tag, 0);
  }
}

const emptyGetResult = Uint8Array.of(getResultTag, 0);
const emptyPutResult = Uint8Array.of(putResultTag, 0);
const emptyAppendResult = Uint8Array.of(appendResultTag, 0);
const emptyCasResult = Uint8Array.of(casResultTag, 0);
const emptyDeleteResult = Uint8Array.of(deleteResultTag, 0);

/** decodeResult decodes a result, throwing a {@link CorruptionError} that says why it cannot. */
export function decodeResult(bytes: Uint8Array): KvResult {
  return decodeSimpleResult(bytes) ?? decodeResultWithProtobuf(bytes);
}

/**
 * decodeSimpleResult decodes, without protobufjs, the results replicas send as encodeResult writes them: a get's
 * (found set, then a value or none; or nothing found), a put's or an append's without fields, a cas's or a
 * delete's with its flag set or not. Every client decodes every reply (issue 18). It returns undefined for any
 * other frame, which then goes through protobufjs, decoded or refused as before.
 */
function decodeSimpleResult(bytes: Uint8Array): KvResult | undefined {
  const length = bytes.length;
  // One member of the oneof, filling the frame.
  const tag = bytes[0] as number;
  const body = readLength(bytes, 1, length);
  if (body < 0 || varintEnd + body !== length) return undefined;
  const at = varintEnd;
  if (body === 0) {
    if (tag === getResultTag) return { type: "get", value: undefined };
    if (tag === putResultTag) return { type: "put" };
    if (tag === appendResultTag) return { type: "append" };
    if (tag === casResultTag) return { type: "cas", ok: false };
    if (tag === deleteResultTag) return { type: "delete", existed: false };
    return undefined;
  }
  if (body < 2 || bytes[at] !== foundTag || bytes[at + 1] !== 1) return undefined;
  if (body === 2) {
    if (tag === getResultTag) return { type: "get", value: new Uint8Array(0) };
    if (tag === casResultTag) return { type: "cas", ok: true };
    if (tag === deleteResultTag) return { type: "delete", existed: true };
    return undefined;
  }
  if (tag !== getResultTag || bytes[at + 2] !== valueTag) return undefined;
  const valueLength = readLength(bytes, at + 3, length);
  if (valueLength < 0 || varintEnd + valueLength !== length) return undefined;
  const value = new Uint8Array(valueLength);
  if (valueLength <= 64) for (let i = 0; i < valueLength; i++) value[i] = bytes[varintEnd + i] as number;
  else value.set(bytes.subarray(varintEnd, length));
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
