import type { PbftMessage } from "./messages.ts";
import { descriptor } from "./pbft-proto.generated.ts";

/** ReturnsItsArgument is a base class whose constructor returns the object it is given, so that a subclass's private fields go on that object. */
class ReturnsItsArgument {
  constructor(target: object) {
    // The return override: a subclass's constructor then defines its private fields on `target` (ECMA-262 §10.2.1.3).
    return target;
  }
}

/**
 * SealedBytesStamp puts a message's sealed bytes on the message itself, in a private field: no key, symbol,
 * spread, JSON, structuredClone or equality check sees it, and a copy of the message never carries it.
 */
class SealedBytesStamp extends ReturnsItsArgument {
  #bytes: Uint8Array;

  private constructor(target: object, bytes: Uint8Array) {
    super(target);
    this.#bytes = bytes;
  }

  static get(message: object): Uint8Array | undefined {
    return #bytes in message ? (message as SealedBytesStamp).#bytes : undefined;
  }

  static set(message: object, bytes: Uint8Array): void {
    if (#bytes in message) (message as SealedBytesStamp).#bytes = bytes;
    else if (Object.isExtensible(message)) new SealedBytesStamp(message, bytes);
  }
}

/**
 * sealedBytes remembers, per message object, the bytes its seal (its MACs or
 * signature) covers: its encoding with those fields at their defaults (for a
 * request nested in a pre-prepare, the encoding of that request alone, as its
 * client sends it). A message sealed by the authenticator, decoded from a
 * canonical frame, or checked once is not encoded again to be checked or
 * sent (issue 18). Messages are immutable, so the identity of the object
 * fixes its bytes.
 *
 * The bytes are kept on the message itself, in a private field of a class
 * whose constructor returns the message ({@link SealedBytesStamp}): invisible
 * to keys, JSON, spreads, structuredClone and test equality, so that a copy of
 * a message (a spread with a field changed) never carries them. Before, a
 * WeakMap held them: its entries, one per message and some 30 per operation
 * of a PBFT run, cost the garbage collector about 5% of the run (ephemeron
 * tables; issue 18), and a non-enumerable property after it cost about as
 * much to define. A message that cannot be extended (frozen) is not
 * remembered, and its bytes are encoded when asked.
 *
 * Invariant: sealedBytes.get(message) is, byte for byte, the encoding of
 * {@link sealless}(message) (of a nested request, with `type: "request"`).
 */
export const sealedBytes = { get: SealedBytesStamp.get, set: SealedBytesStamp.set };

/** sealedBytesOf returns the bytes remembered for a message (sealed, decoded or checked), for tests that compare them with an encoding. */
export function sealedBytesOf(message: object): Uint8Array | undefined {
  return sealedBytes.get(message);
}

/**
 * sealFields names, per message type, the fields its seal is made of: the
 * authenticator (TOCS §3.2, one MAC per receiving replica), a replica's MAC
 * on a reply, or a signature (OSDI §4). The bytes the seal covers are the
 * message's encoding with these fields at their defaults, which the encoding
 * leaves out. This is the one definition of what a seal covers: the
 * authenticator encodes by it ({@link sealless}), the codec cuts decoded
 * frames and splices encodings by it.
 */
export const sealFields: { readonly [Type in PbftMessage["type"]]: readonly string[] } = {
  request: ["macs"],
  reply: ["mac"],
  prePrepare: ["macs", "signature"],
  prepare: ["macs", "signature"],
  commit: ["macs", "signature"],
  checkpoint: ["macs", "signature"],
  viewChange: ["signature"],
  newView: ["signature"],
  status: ["macs", "signature"],
  fetchState: ["macs", "signature"],
  stateTransfer: ["macs", "signature"],
};

/** The kinds of field the canonical decoder reads. */
const kindUint32 = 0;
const kindUint64 = 1;
const kindBool = 2;
const kindBytes = 3;
const kindMessage = 4;

/**
 * emptyBytes is every decoded message's absent byte string: one array, frozen, of no bytes. A decoded message's
 * byte strings are never written to (messages are immutable), and an empty one has nothing to write.
 */
const emptyBytes = Object.freeze(new Uint8Array(0)) as Uint8Array;

function defaultOf(kind: number): unknown {
  switch (kind) {
    case kindBool:
      return false;
    case kindBytes:
      return emptyBytes;
    case kindMessage:
      return null;
    default:
      return 0;
  }
}

interface FieldRule {
  readonly name: string;
  readonly id: number;
  /** tag: the field's one-byte tag, its number and wire type. */
  readonly tag: number;
  readonly kind: number;
  readonly repeated: boolean;
  readonly nested: TypeRule | undefined;
}

interface TypeRule {
  /** byId holds the fields by field number (each below 16, so that every tag is one byte). */
  readonly byId: readonly (FieldRule | undefined)[];
  /** byTag holds the fields by their one-byte tag (number and wire type): a tag of another wire type finds none. */
  readonly byTag: readonly (FieldRule | undefined)[];
  /** order lists the fields in the order of the keys of a decoded message: repeated ones, then the others, each by number. */
  readonly order: readonly FieldRule[];
  /** sorted lists the fields by number, the order the codec writes them in. */
  readonly sorted: readonly FieldRule[];
  /** repeated lists the repeated fields, each of which a decoded message holds an array of its own for. */
  readonly repeated: readonly FieldRule[];
  /** make makes a decoded value of this type with every field at its default ({@link compileMake}). */
  readonly make: () => Record<string, unknown>;
  /** copy copies a decoded value of this type ({@link compileCopy}). */
  readonly copy: (source: Record<string, unknown>) => Record<string, unknown>;
  /** encoder writes a value of this type as protobufjs does ({@link compileEncoder}). */
  readonly encoder: Encoder;
}

/** A Member is a message type of the envelope's oneof, by the tag that frames it. */
interface Member {
  readonly type: PbftMessage["type"];
  readonly tag: number;
  readonly rule: TypeRule;
  /** seal: the seal's fields, by ascending number. */
  readonly seal: readonly FieldRule[];
  /** sealFromId: the lowest number of a seal field; sealLast: every other field's number is below it, so the seal ends a canonical body. */
  readonly sealFromId: number;
  readonly sealLast: boolean;
  /**
   * sealToId: the highest number of a seal field; sealRun: every field numbered from sealFromId to sealToId is a
   * seal field, so the seal is one run of a canonical body's bytes (a request's MACs, a reply's MAC), which the
   * decoder notes as it reads (0 where the seal is not one run).
   */
  readonly sealToId: number;
  /** make and copy: the rule's, with the message's `type` key first ({@link compileMake}, {@link compileCopy}). */
  readonly make: () => Record<string, unknown>;
  readonly copy: (source: Record<string, unknown>) => Record<string, unknown>;
  /** sealless writes the message without its seal's fields: the bytes its seal covers ({@link compileEncoder}). */
  readonly sealless: Encoder;
}

interface DescriptorType {
  readonly fields?: Record<string, { readonly type: string; readonly id: number; readonly rule?: string }>;
  readonly oneofs?: Record<string, { readonly oneof: readonly string[] }>;
}

const scalarKinds: Record<string, number> = { uint32: kindUint32, uint64: kindUint64, bool: kindBool, bytes: kindBytes };

const protoTypes = (descriptor as { nested: { concord: { nested: { pbft: { nested: Record<string, DescriptorType> } } } } }).nested.concord.nested.pbft.nested;
const compiledTypes = new Map<string, TypeRule | null>();

/**
 * compileType builds the decoder's and encoder's view of a type of pbft.proto,
 * once. A type with a field they do not read (another scalar type, a oneof, a
 * repeated number, which would be packed, a field number above 15) is left
 * out with every type that holds it: its values always take protobufjs's path.
 */
function compileType(name: string, depth = 0): TypeRule | undefined {
  const known = compiledTypes.get(name);
  if (known !== undefined) return known ?? undefined;
  const type = protoTypes[name];
  let rule: TypeRule | null = null;
  if (type?.fields !== undefined && type.oneofs === undefined && depth < 8) {
    const byId: (FieldRule | undefined)[] = [];
    const fields: FieldRule[] = [];
    for (const [fieldName, field] of Object.entries(type.fields)) {
      const repeated = field.rule === "repeated";
      const scalar = scalarKinds[field.type];
      const nested = scalar === undefined ? compileType(field.type, depth + 1) : undefined;
      const readable = scalar === undefined ? nested !== undefined : !repeated || scalar === kindBytes;
      if (!readable || field.id < 1 || field.id > 15 || byId[field.id] !== undefined) {
        compiledTypes.set(name, null);
        return undefined;
      }
      const kind = scalar ?? kindMessage;
      const fieldRule = { name: fieldName, id: field.id, tag: (field.id << 3) | (kind === kindBytes || kind === kindMessage ? 2 : 0), kind, repeated, nested };
      byId[field.id] = fieldRule;
      fields.push(fieldRule);
    }
    fields.sort((a, b) => a.id - b.id);
    const order = [...fields.filter((f) => f.repeated), ...fields.filter((f) => !f.repeated)];
    const byTag: (FieldRule | undefined)[] = Array.from({ length: 128 }, () => undefined);
    for (const field of fields) byTag[field.tag] = field;
    rule = { byId, byTag, order, sorted: fields, repeated: order.filter((f) => f.repeated), make: compileMake(order, undefined), copy: compileCopy(order, undefined), encoder: compileEncoder(fields) };
  }
  compiledTypes.set(name, rule);
  return rule ?? undefined;
}

/** compileMembers lists the message types of the envelope's oneof, by the tag that frames each, with its seal. */
function compileMembers(): readonly (Member | undefined)[] {
  const envelope = protoTypes["PbftMessage"];
  const members: (Member | undefined)[] = [];
  for (const memberName of envelope?.oneofs?.["body"]?.oneof ?? []) {
    const field = envelope?.fields?.[memberName];
    const type = memberName as PbftMessage["type"];
    const rule = field === undefined ? undefined : compileType(field.type);
    if (field === undefined || rule === undefined || field.id < 1 || field.id > 15 || !(type in sealFields)) continue;
    const seal = sealFields[type].map((name) => rule.order.find((f) => f.name === name));
    if (seal.some((f) => f === undefined)) continue;
    const tag = (field.id << 3) | 2;
    const sorted = (seal as FieldRule[]).sort((a, b) => a.id - b.id);
    const sealFromId = sorted[0]?.id ?? 16;
    const sealLast = rule.sorted.every((field) => sorted.includes(field) || field.id < sealFromId);
    const highest = sorted.at(-1)?.id ?? 0;
    const sealRun = rule.sorted.every((field) => sorted.includes(field) || field.id < sealFromId || field.id > highest);
    members[tag] = { type, tag, rule, seal: sorted, sealFromId, sealLast, sealToId: sealRun ? highest : 0, make: compileMake(rule.order, type), copy: compileCopy(rule.order, type), sealless: compileEncoder(rule.sorted.filter((field) => !sorted.includes(field))) };
  }
  return members;
}

const members = compileMembers();
const memberByType = new Map(members.flatMap((member) => (member === undefined ? [] : [[member.type, member] as const])));
const requestTag = members.findIndex((member) => member?.type === "request");
const requestMember = members[requestTag];

/** sealless returns a copy of a message with its seal's fields at their defaults: the message whose encoding its seal covers. */
export function sealless<M extends PbftMessage>(message: M): M {
  const copy: Record<string, unknown> = { ...message };
  const member = memberByType.get(message.type);
  if (member === undefined) throw new Error(`pbft: no seal known for messages of type ${String(message.type)}`);
  for (const field of member.seal) copy[field.name] = field.repeated ? [] : field.kind === kindBytes ? new Uint8Array(0) : defaultOf(field.kind);
  return copy as M;
}

const safeIntegerMax = Number.MAX_SAFE_INTEGER;

/** A PendingRequest is a request of a pre-prepare being decoded, with where its body and its seal's run lie in the frame. */
interface PendingRequest {
  readonly request: object;
  readonly start: number;
  readonly end: number;
  readonly sealStart: number;
  readonly sealEnd: number;
}

/**
 * decodeCanonical decodes a canonical frame: exactly what the codec writes
 * for the message it holds, field for field (each field known, of its wire
 * type, in ascending number and at most once, a repeated field's items
 * together, none at its default, which the codec leaves out, every varint in
 * its shortest form and within its type, a boolean 1, every nested message
 * canonical too). The message is the object protobufjs's path makes of the
 * frame (the same keys in the same order, the same values, each byte string a
 * copy of its own), and since re-encoding it gives the frame back, the bytes
 * its seal covers are cut from the frame and remembered, and so are those of
 * each request of a pre-prepare. Any other frame (unknown fields, a padded
 * varint, fields out of order or twice, what another encoder or a faulty
 * sender may send, or no message at all) gives undefined: protobufjs decodes
 * or refuses it as before, and its seal is checked over its re-encoding, so
 * that every frame's check covers exactly the bytes it covered before.
 */
export function decodeCanonical(frame: Uint8Array): PbftMessage | undefined {
  const tag = frame[0];
  if (tag === undefined) return undefined;
  const member = members[tag];
  if (member === undefined) return undefined;
  const lengthEnd = varintEnd(frame, 1, frame.length, 5);
  if (lengthEnd < 0 || varintValue(frame, 1, lengthEnd) !== frame.length - lengthEnd) return undefined;
  const message = member.make();
  const requests: PendingRequest[] | undefined = member.type === "prePrepare" ? [] : undefined;
  sealStart = -1;
  sealEnd = -1;
  if (!decodeBody(member.rule, frame, lengthEnd, frame.length, message, requests, member.sealToId > 0 ? member.sealFromId : 0, member.sealToId)) return undefined;
  // Where the seal is one run of the body (it ends the body, or is a request's MACs), the bytes it covers are the body around it.
  const covered = member.sealToId > 0 ? cutRun(tag, frame, lengthEnd, sealStart, sealEnd, frame.length) : withoutSeal(member, tag, frame, lengthEnd, frame.length);
  sealedBytes.set(message, covered);
  lastCanonical = message;
  if (requests !== undefined && requestMember !== undefined) {
    for (const request of requests) {
      const bytes = requestMember.sealToId > 0 ? cutRun(requestTag, frame, request.start, request.sealStart, request.sealEnd, request.end) : withoutSeal(requestMember, requestTag, frame, request.start, request.end);
      sealedBytes.set(request.request, bytes);
    }
  }
  return message as unknown as PbftMessage;
}

/** lastCanonical is the message {@link decodeCanonical} made last, untouched by any other decode since: the one {@link copyDecoded} copies. */
let lastCanonical: object | undefined;

/**
 * copyDecoded returns a copy of the message {@link decodeCanonical} decoded last, equal to what decoding its frame
 * again gives (the same keys in the same order, the same values, each byte string a copy of its own, the same
 * bytes remembered for its seal and for each request of a pre-prepare) and sharing nothing with it but those
 * remembered bytes, which nothing changes. The simulator hands the other recipients of a broadcast such copies
 * of the first one's message instead of decoding the one frame again for each (issue 18). Any other message,
 * or one that another decode has followed, gives undefined: its frame is then decoded again.
 */
export function copyDecoded(message: PbftMessage): PbftMessage | undefined {
  if (message !== lastCanonical) return undefined;
  const member = memberByType.get(message.type);
  const covered = sealedBytes.get(message);
  if (member === undefined || covered === undefined) return undefined;
  const copy = member.copy(message as unknown as Record<string, unknown>);
  sealedBytes.set(copy, covered);
  if (message.type === "prePrepare") {
    const requests = (copy as unknown as PbftMessage & { type: "prePrepare" }).requests;
    message.requests.forEach((request, i) => {
      const bytes = sealedBytes.get(request);
      if (bytes !== undefined) sealedBytes.set(requests[i] as object, bytes);
    });
  }
  return copy as unknown as PbftMessage;
}

/**
 * compileMake compiles, once per type, the function that makes a decoded value of it with every field at its
 * default, keyed in protobufjs's order (`type` first, at the top, when given; then `order`): one object literal,
 * each repeated field a new array, each absent byte string the one frozen empty array. A literal of its own per
 * type takes some 15 ns where spreading a template ({ type, ...template }) took 55 to 80, the spread's call
 * site seeing every type's shape (issue 18); the values are the same. A field name a literal cannot hold as an
 * own key (__proto__) keeps the spread.
 */
function compileMake(order: readonly FieldRule[], type: string | undefined): () => Record<string, unknown> {
  if (order.some((field) => field.name === "__proto__")) {
    const template: Record<string, unknown> = {};
    for (const field of order) template[field.name] = field.repeated ? [] : defaultOf(field.kind);
    const repeated = order.filter((field) => field.repeated).map((field) => field.name);
    return () => {
      const out: Record<string, unknown> = type === undefined ? { ...template } : { type, ...template };
      for (const name of repeated) out[name] = [];
      return out;
    };
  }
  const keys = order.map((field) => `${JSON.stringify(field.name)}: ${field.repeated ? "[]" : field.kind === kindBytes ? "empty" : JSON.stringify(defaultOf(field.kind))}`);
  if (type !== undefined) keys.unshift(`"type": type`);
  return new Function("type", "empty", `return function make() { return { ${keys.join(", ")} }; };`)(type, emptyBytes) as () => Record<string, unknown>;
}

/**
 * compileCopy compiles, once per type, the function that copies a decoded value of it into a new object of the
 * decoder's shape (the keys of {@link compileMake} in its order): scalars as they are, each byte string a copy of
 * its own but the one frozen empty array of absent fields, which stays shared, each nested value by its type's
 * copy, each repeated field a new array. One object literal per type, where a loop over the fields wrote each
 * one into a made object (issue 18); the values are the same.
 */
function compileCopy(order: readonly FieldRule[], type: string | undefined): (source: Record<string, unknown>) => Record<string, unknown> {
  const nested: ((source: Record<string, unknown>) => Record<string, unknown>)[] = [];
  const keys = order.map((field) => {
    const value = `s[${JSON.stringify(field.name)}]`;
    let item: string;
    if (field.kind === kindBytes) item = "bytes";
    else if (field.kind === kindMessage) {
      nested.push((field.nested as TypeRule).copy);
      item = `nested[${nested.length - 1}]`;
    } else item = "";
    const copied = field.repeated ? (item === "" ? `${value}.slice()` : `list(${value}, ${item})`) : item === "" ? value : field.kind === kindBytes ? `bytes(${value})` : `(${value} === null ? null : ${item}(${value}))`;
    return `${field.name === "__proto__" ? `[${JSON.stringify(field.name)}]` : JSON.stringify(field.name)}: ${copied}`;
  });
  if (type !== undefined) keys.unshift(`"type": type`);
  return new Function("type", "bytes", "list", "nested", `return function copy(s) { return { ${keys.join(", ")} }; };`)(type, copyBytes, copyList, nested) as (source: Record<string, unknown>) => Record<string, unknown>;
}

/** copyBytes copies one decoded byte string: the frozen empty array of absent fields stays shared, any other is copied. */
function copyBytes(bytes: Uint8Array): Uint8Array {
  return bytes === emptyBytes ? emptyBytes : copyOf(bytes, 0, bytes.length);
}

/** copyList copies a decoded repeated field's items, each by `copyItem`, into a new array. */
function copyList(items: readonly unknown[], copyItem: (item: never) => unknown): unknown[] {
  const list: unknown[] = [];
  for (let i = 0; i < items.length; i++) list.push(copyItem(items[i] as never));
  return list;
}

/** sealStart is where decodeBody met the first field numbered `sealFromId` or above, or -1. */
let sealStart = -1;

/** sealEnd is where decodeBody met the first field numbered above `sealToId`, or -1. */
let sealEnd = -1;

function decodeBody(
  rule: TypeRule,
  bytes: Uint8Array,
  start: number,
  end: number,
  out: Record<string, unknown>,
  requests: PendingRequest[] | undefined,
  sealFromId: number,
  sealToId: number,
): boolean {
  const byTag = rule.byTag;
  let pos = start;
  let lastId = 0;
  while (pos < end) {
    const tagAt = pos;
    // A tag of one byte names a field of its wire type; any other (unknown, of another wire type, longer) is not canonical.
    const field = byTag[bytes[pos++] as number];
    if (field === undefined) return false;
    const id = field.id;
    if (id < lastId || (id === lastId && !field.repeated)) return false;
    if (sealFromId > 0 && lastId < id) {
      if (id >= sealFromId && lastId < sealFromId) sealStart = tagAt;
      if (id > sealToId && lastId <= sealToId) sealEnd = tagAt;
    }
    lastId = id;
    const kind = field.kind;
    // Every varint in one byte is in its shortest form; longer ones take varintEnd's checks.
    let value = pos < end ? (bytes[pos] as number) : 0x80;
    if (value < 0x80) pos++;
    else {
      const valueEnd = varintEnd(bytes, pos, end, kind === kindUint64 ? 8 : 5);
      if (valueEnd < 0) return false;
      value = varintValue(bytes, pos, valueEnd);
      pos = valueEnd;
    }
    if (kind === kindBytes || kind === kindMessage) {
      const length = value;
      if (length > end - pos) return false;
      let item: unknown;
      if (kind === kindBytes) {
        if (length === 0 && !field.repeated) return false;
        item = copyOf(bytes, pos, pos + length);
      } else {
        const nested = field.nested as TypeRule;
        const message = nested.make();
        if (requests !== undefined && nested === requestMember?.rule) {
          // A request of a pre-prepare: where its own seal's run lies, for the bytes its client's authenticator covers.
          const outerStart = sealStart;
          const outerEnd = sealEnd;
          sealStart = -1;
          sealEnd = -1;
          const requestSeal = requestMember.sealToId;
          if (!decodeBody(nested, bytes, pos, pos + length, message, undefined, requestSeal > 0 ? requestMember.sealFromId : 0, requestSeal)) return false;
          requests.push({ request: message, start: pos, end: pos + length, sealStart, sealEnd });
          sealStart = outerStart;
          sealEnd = outerEnd;
        } else if (!decodeBody(nested, bytes, pos, pos + length, message, undefined, 0, 0)) return false;
        item = message;
      }
      pos += length;
      if (field.repeated) (out[field.name] as unknown[]).push(item);
      else out[field.name] = item;
      continue;
    }
    if (value === 0) return false;
    if (kind === kindBool) {
      if (value !== 1) return false;
      out[field.name] = true;
    } else {
      if (kind === kindUint32 ? value > 0xffffffff : value > safeIntegerMax) return false;
      out[field.name] = value;
    }
  }
  return pos === end;
}

/**
 * cutRun frames under `tag` the body bytes[start, end) without the run [sealStart, sealEnd) of its seal's fields
 * (none when sealStart is -1; up to the end when sealEnd is -1): the bytes the seal covers.
 */
function cutRun(tag: number, bytes: Uint8Array, start: number, sealStart: number, sealEnd: number, end: number): Uint8Array {
  const runStart = sealStart < 0 ? end : sealStart;
  const runEnd = sealStart < 0 || sealEnd < 0 ? end : sealEnd;
  const length = runStart - start + (end - runEnd);
  const out = new Uint8Array(1 + varintSize(length) + length);
  out[0] = tag;
  const at = copyRange(out, writeVarint(out, 1, length), bytes, start, runStart);
  copyRange(out, at, bytes, runEnd, end);
  return out;
}

/** copyOf copies bytes[from, to) into a plain Uint8Array of its own (never a view of the frame, which may be a Buffer). */
function copyOf(bytes: Uint8Array, from: number, to: number): Uint8Array {
  // A plain array's slice is a copy of its own type (about 29 ns for 32 bytes, against 46 for a new array filled in
  // a loop); a Buffer's slice is a view of it, and a subclass's a copy of the subclass.
  if (Object.getPrototypeOf(bytes) === Uint8Array.prototype) return bytes.slice(from, to);
  const copy = new Uint8Array(to - from);
  if (to - from > 64) copy.set(bytes.subarray(from, to));
  else for (let i = from; i < to; i++) copy[i - from] = bytes[i] as number;
  return copy;
}

/** varintEnd returns where the varint at `pos` ends, or -1 when it runs past `end`, is longer than `bytesMax` or is not in its shortest form. */
function varintEnd(bytes: Uint8Array, pos: number, end: number, bytesMax: number): number {
  const limit = Math.min(end, pos + bytesMax);
  for (let i = pos; i < limit; i++) {
    const byte = bytes[i] as number;
    if (byte < 0x80) return byte === 0 && i > pos ? -1 : i + 1;
  }
  return -1;
}

/** varintValue reads a varint already bounded by {@link varintEnd} (at most 8 bytes: exact up to 2^53, and above it still greater). */
function varintValue(bytes: Uint8Array, pos: number, end: number): number {
  let value = 0;
  let scale = 1;
  for (let i = pos; i < end; i++) {
    value += ((bytes[i] as number) & 0x7f) * scale;
    scale *= 128;
  }
  return value;
}

/** fieldEnd returns where the field whose tag is at `pos` ends, in bytes already found canonical (or written by the codec). */
function fieldEnd(bytes: Uint8Array, pos: number): number {
  const wire = (bytes[pos] as number) & 7;
  let at = pos + 1;
  if (wire === 0) {
    while ((bytes[at++] as number) >= 0x80);
    return at;
  }
  let length = 0;
  let scale = 1;
  let byte: number;
  do {
    byte = bytes[at++] as number;
    length += (byte & 0x7f) * scale;
    scale *= 128;
  } while (byte >= 0x80);
  return at + length;
}

function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

function writeVarint(out: Uint8Array, pos: number, value: number): number {
  while (value >= 0x80) {
    out[pos++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  out[pos++] = value;
  return pos;
}

function copyRange(out: Uint8Array, at: number, bytes: Uint8Array, from: number, to: number): number {
  if (to - from > 64) out.set(bytes.subarray(from, to), at);
  else for (let i = from; i < to; i++) out[at + i - from] = bytes[i] as number;
  return at + to - from;
}

function isSeal(member: Member, id: number): boolean {
  const seal = member.seal;
  for (let i = 0; i < seal.length; i++) if ((seal[i] as FieldRule).id === id) return true;
  return false;
}

/** withoutSeal cuts the seal's fields out of a canonical message body and frames the rest under `tag`: what its seal covers. */
function withoutSeal(member: Member, tag: number, bytes: Uint8Array, start: number, end: number): Uint8Array {
  let sealLength = 0;
  for (let pos = start; pos < end; ) {
    const next = fieldEnd(bytes, pos);
    if (isSeal(member, (bytes[pos] as number) >>> 3)) sealLength += next - pos;
    pos = next;
  }
  const bodyLength = end - start - sealLength;
  const out = new Uint8Array(1 + varintSize(bodyLength) + bodyLength);
  out[0] = tag;
  let at = writeVarint(out, 1, bodyLength);
  let runStart = start;
  for (let pos = start; pos < end; ) {
    const next = fieldEnd(bytes, pos);
    if (isSeal(member, (bytes[pos] as number) >>> 3)) {
      at = copyRange(out, at, bytes, runStart, pos);
      runStart = next;
    }
    pos = next;
  }
  copyRange(out, at, bytes, runStart, end);
  return out;
}

/**
 * encodeSealed encodes a message whose sealless bytes are remembered by
 * putting its seal's fields back between them where the codec writes them
 * (by field number; a signature or MAC only when not empty, each MAC of a
 * vector as an item of its own): the bytes encoding the whole message gives.
 * It returns undefined for a message it knows no bytes of, or whose seal is
 * not byte strings, which the caller then encodes in full.
 */
export function encodeSealed(message: PbftMessage): Uint8Array | undefined {
  const base = sealedBytes.get(message);
  if (base === undefined) return undefined;
  const tag = base[0] as number;
  const member = members[tag];
  if (member === undefined || member.type !== message.type) return undefined;
  const fields = message as unknown as Record<string, unknown>;
  let sealLength = 0;
  for (const field of member.seal) {
    const value = fields[field.name];
    if (value === undefined || value === null) continue;
    if (field.kind !== kindBytes) return undefined;
    if (field.repeated) {
      if (!Array.isArray(value)) return undefined;
      for (const item of value) {
        if (!(item instanceof Uint8Array)) return undefined;
        sealLength += 1 + varintSize(item.length) + item.length;
      }
    } else {
      if (!(value instanceof Uint8Array)) return undefined;
      if (value.length > 0) sealLength += 1 + varintSize(value.length) + value.length;
    }
  }
  const lengthEnd = varintEnd(base, 1, base.length, 5);
  const bodyLength = base.length - lengthEnd + sealLength;
  const out = new Uint8Array(1 + varintSize(bodyLength) + bodyLength);
  out[0] = tag;
  let at = writeVarint(out, 1, bodyLength);
  const seal = member.seal;
  let sealIndex = 0;
  let runStart = lengthEnd;
  // Where the seal ends the body, it goes after all of it; elsewhere each seal field goes before the first field numbered above it.
  for (let pos = member.sealLast ? base.length : lengthEnd; pos < base.length; pos = fieldEnd(base, pos)) {
    const id = (base[pos] as number) >>> 3;
    if (sealIndex < seal.length && (seal[sealIndex] as FieldRule).id < id) {
      at = copyRange(out, at, base, runStart, pos);
      runStart = pos;
      while (sealIndex < seal.length && (seal[sealIndex] as FieldRule).id < id) at = writeSeal(out, at, seal[sealIndex++] as FieldRule, fields);
    }
  }
  at = copyRange(out, at, base, runStart, base.length);
  while (sealIndex < seal.length) at = writeSeal(out, at, seal[sealIndex++] as FieldRule, fields);
  return out;
}

function writeSeal(out: Uint8Array, at: number, field: FieldRule, fields: Record<string, unknown>): number {
  const value = fields[field.name] as Uint8Array | readonly Uint8Array[] | undefined | null;
  if (value === undefined || value === null) return at;
  if (!field.repeated) return (value as Uint8Array).length === 0 ? at : writeBytesField(out, at, field.id, value as Uint8Array);
  for (const item of value as readonly Uint8Array[]) at = writeBytesField(out, at, field.id, item);
  return at;
}

function writeBytesField(out: Uint8Array, at: number, id: number, item: Uint8Array): number {
  out[at++] = (id << 3) | 2;
  at = writeVarint(out, at, item.length);
  out.set(item, at);
  return at + item.length;
}

/**
 * encodeCanonical writes a message's frame as protobufjs writes it, byte for byte, in one pass over its
 * values (its size first, then its bytes, into one array), leaving out its seal's fields when `leaveSealOut`
 * (the bytes the seal covers). It returns undefined for a message holding a value protobufjs would write
 * differently from a plain one (a number negative, fractional or above 2^53 - 1 or a Long, a byte string that
 * is not a Uint8Array, a boolean that is not one, unknown fields kept from a decode): protobufjs encodes it.
 */
export function encodeCanonical(message: PbftMessage, leaveSealOut: boolean): Uint8Array | undefined {
  const member = memberByType.get(message.type);
  if (member === undefined) return undefined;
  return encodeFramed(leaveSealOut ? member.sealless : member.rule.encoder, message as unknown as Record<string, unknown>, member.tag);
}

/** encodeFramed writes a value's body ({@link encodeCanonical}), framed under `tag` as a member of a oneof unless it is -1. */
function encodeFramed(encoder: Encoder, value: Record<string, unknown>, tag: number): Uint8Array | undefined {
  const bodyLength = encoder.size(value);
  if (bodyLength < 0) return undefined;
  const headerLength = tag < 0 ? 0 : 1 + varintSize(bodyLength);
  const out = new Uint8Array(headerLength + bodyLength);
  if (tag >= 0) {
    out[0] = tag;
    writeVarint(out, 1, bodyLength);
  }
  encoder.write(value, out, headerLength);
  return out;
}

/** A OneofMember is a member of a oneof of pbft.proto: the tag that frames it and its type's rule. */
interface OneofMember {
  readonly tag: number;
  readonly rule: TypeRule | undefined;
}

const oneofMembers = new Map<string, Map<string, OneofMember>>();

/**
 * encodeProtoValue writes a value of a type of pbft.proto as protobufjs writes it, byte for byte, alone or
 * (with `member`) as that member of the oneof of an envelope type (a durable record's body), or returns
 * undefined for a value protobufjs would write differently from a plain one ({@link encodeCanonical}).
 */
export function encodeProtoValue(typeName: string, value: object, member?: string): Uint8Array | undefined {
  if (member === undefined) {
    const rule = compileType(typeName);
    return rule === undefined ? undefined : encodeFramed(rule.encoder, value as Record<string, unknown>, -1);
  }
  let byMember = oneofMembers.get(typeName);
  if (byMember === undefined) {
    byMember = new Map();
    const envelope = protoTypes[typeName];
    const names = Object.values(envelope?.oneofs ?? {}).flatMap((oneof) => oneof.oneof);
    // Only an envelope whose fields all belong to its one oneof: encoding one member writes the whole value.
    if (envelope?.fields !== undefined && Object.keys(envelope.oneofs ?? {}).length === 1 && names.length === Object.keys(envelope.fields).length) {
      for (const name of names) {
        const field = envelope.fields[name];
        if (field !== undefined && field.rule === undefined && field.id >= 1 && field.id <= 15) byMember.set(name, { tag: (field.id << 3) | 2, rule: compileType(field.type) });
      }
    }
    oneofMembers.set(typeName, byMember);
  }
  const found = byMember.get(member);
  if (found?.rule === undefined) return undefined;
  return encodeFramed(found.rule.encoder, value as Record<string, unknown>, found.tag);
}

/** An Encoder sizes and writes the body of a value of one type (without some of its fields, for the bytes a seal covers). */
interface Encoder {
  /** size returns the length of the value's body as protobufjs writes it, or -1 for a value it would write differently ({@link encodeCanonical}). */
  readonly size: (value: Record<string, unknown>) => number;
  /** write writes a body `size` measured, at `at`, and returns where it ends. */
  readonly write: (value: Record<string, unknown>, out: Uint8Array, at: number) => number;
}

/**
 * compileEncoder compiles, once per type (and per seal left out), the functions that size and write a value's
 * body field by field in ascending number, as protobufjs writes it: a field undefined or null is left out, a
 * singular one too unless it is the value's own property or at its default (0, false, an empty byte string),
 * each item of a repeated one is written, a nested value by its type's encoder; a value protobufjs would write
 * differently from a plain one (a number negative, fractional or above its type's range, a byte string that is
 * not a Uint8Array, a boolean that is not one, a repeated field that is not an array, unknown fields kept from
 * a decode) makes `size` -1. One function of named loads per type, where a loop over the fields read each
 * through a keyed load whose names vary (issue 18); the bytes are the same.
 */
function compileEncoder(fields: readonly FieldRule[]): Encoder {
  const nested: Encoder[] = [];
  const sizes: string[] = [];
  const writes: string[] = [];
  for (const field of fields) {
    const key = JSON.stringify(field.name);
    const tag = field.tag;
    let k = -1;
    if (field.kind === kindMessage) {
      nested.push((field.nested as TypeRule).encoder);
      k = nested.length - 1;
    }
    let size: string;
    let write: string;
    if (field.repeated) {
      const check = field.kind === kindBytes ? "if (!(item instanceof Uint8Array)) return -1; n = item.length;" : `if (item === null || typeof item !== "object") return -1; n = nested[${k}].size(item); if (n < 0) return -1;`;
      size = `if (!Array.isArray(v)) return -1; for (let j = 0; j < v.length; j++) { const item = v[j]; ${check} size += 1 + varintSize(n) + n; }`;
      write = `for (let j = 0; j < v.length; j++) { out[at++] = ${tag}; ${field.kind === kindBytes ? "at = writeBytes(out, at, v[j]);" : `at = writeVarint(out, at, nested[${k}].size(v[j])); at = nested[${k}].write(v[j], out, at);`} }`;
    } else {
      switch (field.kind) {
        case kindUint32:
        case kindUint64:
          size = `if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > ${field.kind === kindUint32 ? 0xffffffff : Number.MAX_SAFE_INTEGER}) return -1; if (v !== 0) size += 1 + varintSize(v);`;
          write = `if (v !== 0) { out[at++] = ${tag}; at = writeVarint(out, at, v); }`;
          break;
        case kindBool:
          size = `if (typeof v !== "boolean") return -1; if (v) size += 2;`;
          write = `if (v !== false) { out[at++] = ${tag}; out[at++] = 1; }`;
          break;
        case kindBytes:
          size = `if (!(v instanceof Uint8Array)) return -1; if (v.length !== 0) size += 1 + varintSize(v.length) + v.length;`;
          write = `if (v.length !== 0) { out[at++] = ${tag}; at = writeBytes(out, at, v); }`;
          break;
        default:
          size = `if (typeof v !== "object") return -1; n = nested[${k}].size(v); if (n < 0) return -1; size += 1 + varintSize(n) + n;`;
          write = `out[at++] = ${tag}; at = writeVarint(out, at, nested[${k}].size(v)); at = nested[${k}].write(v, out, at);`;
      }
      size = `if (hasOwn.call(m, ${key})) { ${size} }`;
      write = `if (hasOwn.call(m, ${key})) { ${write} }`;
    }
    sizes.push(`v = m[${key}]; if (v !== undefined && v !== null) { ${size} }`);
    writes.push(`v = m[${key}]; if (v !== undefined && v !== null) { ${write} }`);
  }
  const body = [
    `function size(m) { if (m["$unknowns"] !== undefined) return -1; let size = 0; let n = 0; let v; ${sizes.join(" ")} return size; }`,
    `function write(m, out, at) { let v; ${writes.join(" ")} return at; }`,
    "return { size, write };",
  ].join("\n");
  return new Function("hasOwn", "varintSize", "writeVarint", "writeBytes", "nested", body)(Object.prototype.hasOwnProperty, varintSize, writeVarint, writeBytes, nested) as Encoder;
}

function writeBytes(out: Uint8Array, at: number, bytes: Uint8Array): number {
  at = writeVarint(out, at, bytes.length);
  return copyRange(out, at, bytes, 0, bytes.length);
}
