// Random Raft messages and damaged frames for the differential test of the hand-written wire codec against
// protobufjs (codec.test.ts), which issue 18's measurements also ran at a larger count.
import type { Rng } from "@concord/core";
import type { Entry, RaftMessage } from "../src/messages.ts";

/** edges are the values at each varint width's boundaries, 0 to 2^53 - 1. */
const edges = [0, 1, 2, 127, 128, 255, 2 ** 14 - 1, 2 ** 14, 2 ** 21, 2 ** 28 - 1, 2 ** 28, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 35, 2 ** 42, 2 ** 49, 2 ** 52 + 7, 2 ** 53 - 1];

/** uint64 draws a safe integer: often 0 or an edge, else of a random width. */
export function uint64(rng: Rng): number {
  const draw = rng.nextInt(8);
  if (draw === 0) return 0;
  if (draw < 3) return edges[rng.nextInt(edges.length)] as number;
  const bits = rng.nextInt(54);
  return Math.floor(((rng.nextUint32() & 0x1f_ffff) * 2 ** 32 + rng.nextUint32()) / 2 ** (53 - bits));
}

function uint32(rng: Rng): number {
  const draw = rng.nextInt(6);
  if (draw === 0) return 0;
  if (draw === 1) return 2 ** 32 - 1;
  return rng.nextInt(3) === 0 ? rng.nextUint32() : rng.nextInt(200);
}

function bool(rng: Rng): boolean {
  return rng.nextInt(2) === 1;
}

function bytes(rng: Rng): Uint8Array {
  const draw = rng.nextInt(10);
  const length = draw < 3 ? 0 : draw < 9 ? rng.nextInt(80) : rng.nextInt(400);
  const out = new Uint8Array(length);
  for (let k = 0; k < length; k++) out[k] = rng.nextInt(256);
  return out;
}

function ids(rng: Rng): number[] {
  return Array.from({ length: rng.nextInt(3) === 0 ? rng.nextInt(6) : 0 }, () => uint32(rng));
}

function entry(rng: Rng): Entry {
  return { term: uint64(rng), index: uint64(rng), kind: uint32(rng), clientId: uint32(rng), session: uint64(rng), sequence: uint64(rng), command: bytes(rng), voters: ids(rng), outgoing: ids(rng), learners: ids(rng) };
}

/** randomMessage draws a message of every type of RaftMessage's oneof, with random and edge values in every field. */
export function randomMessage(rng: Rng): RaftMessage {
  switch (rng.nextInt(12)) {
    case 0: {
      const count = rng.nextInt(3) === 0 ? 0 : rng.nextInt(4) === 0 ? rng.nextInt(70) : rng.nextInt(4);
      return { type: "appendEntries", term: uint64(rng), prevLogIndex: uint64(rng), prevLogTerm: uint64(rng), entries: Array.from({ length: count }, () => entry(rng)), commit: uint64(rng), readContext: uint64(rng) };
    }
    case 1:
      return { type: "appendResponse", term: uint64(rng), index: uint64(rng), reject: bool(rng), rejectHint: uint64(rng), logTerm: uint64(rng), readContext: uint64(rng) };
    case 2:
      return { type: "heartbeat", term: uint64(rng), commit: uint64(rng), readContext: uint64(rng) };
    case 3:
      return { type: "heartbeatResponse", term: uint64(rng), readContext: uint64(rng) };
    case 4:
      return { type: "requestVote", term: uint64(rng), lastLogIndex: uint64(rng), lastLogTerm: uint64(rng), preVote: bool(rng), transfer: bool(rng) };
    case 5:
      return { type: "voteResponse", term: uint64(rng), reject: bool(rng), preVote: bool(rng), commit: uint64(rng), commitTerm: uint64(rng) };
    case 6:
      return {
        type: "installSnapshot",
        term: uint64(rng),
        snapshotIndex: uint64(rng),
        snapshotTerm: uint64(rng),
        voters: ids(rng),
        outgoing: ids(rng),
        learners: ids(rng),
        offset: uint64(rng),
        data: bytes(rng),
        done: bool(rng),
        totalBytes: uint64(rng),
      };
    case 7:
      return { type: "snapshotResponse", term: uint64(rng), snapshotIndex: uint64(rng), offset: uint64(rng) };
    case 8:
      return { type: "timeoutNow", term: uint64(rng) };
    case 9:
      return { type: "clientRequest", clientId: uint32(rng), session: uint64(rng), sequence: uint64(rng), command: bytes(rng), readOnly: bool(rng), readLevel: rng.nextInt(3) === 0 ? uint32(rng) : 0 };
    case 10:
      return { type: "clientReply", session: uint64(rng), sequence: uint64(rng), result: bytes(rng) };
    default:
      return { type: "notLeader", sequence: uint64(rng), hasLeaderHint: bool(rng), leaderHint: uint32(rng) };
  }
}

/** oddValues are values protobufjs writes or refuses in its own way: the hand-written encoder must leave them to it. */
const oddValues: readonly unknown[] = [-1, -(2 ** 40), 0.5, 2.5, 2 ** 53, 2 ** 64, 2 ** 70, Number.NaN, Number.POSITIVE_INFINITY, -0, undefined, null, "7", true, 2 ** 32, 2 ** 32 + 1];

/** withOddValue returns a copy of `message` with one field (or one field of one entry, or one list item) set to an odd value. */
export function withOddValue(rng: Rng, message: RaftMessage): RaftMessage {
  const copy: Record<string, unknown> = { ...message };
  let target = copy;
  if (message.type === "appendEntries" && message.entries.length > 0 && rng.nextInt(2) === 0) {
    const entries = [...message.entries] as unknown as Record<string, unknown>[];
    const at = rng.nextInt(entries.length);
    target = { ...entries[at] };
    entries[at] = target;
    copy["entries"] = entries;
  }
  const keys = Object.keys(target).filter((key) => key !== "type");
  const key = keys[rng.nextInt(keys.length)] as string;
  const odd = oddValues[rng.nextInt(oddValues.length)];
  const value = target[key];
  if (Array.isArray(value) && value.length > 0 && rng.nextInt(2) === 0) {
    const items = [...(value as unknown[])];
    items[rng.nextInt(items.length)] = odd;
    target[key] = items;
  } else {
    target[key] = rng.nextInt(8) === 0 ? [1, 2] : rng.nextInt(8) === 0 ? new Uint8Array([1]) : odd;
  }
  return copy as unknown as RaftMessage;
}

/** varintOf encodes any non-negative integer below 2^64 as a varint of at least `minBytes` bytes (an overlong one above its need). */
function varintOf(value: bigint, minBytes = 1): number[] {
  const out: number[] = [];
  do {
    out.push(Number(value & 127n));
    value >>= 7n;
  } while (value > 0n || out.length < minBytes);
  for (let k = 0; k < out.length - 1; k++) out[k] = (out[k] as number) | 128;
  return out;
}

/**
 * damaged returns a frame made from a valid one (`frame`, of `message`) that a network or a liar could deliver:
 * a byte changed, cut short, extended, a field added, repeated or moved, a varint made overlong or too large,
 * a wire type changed, a list unpacked, or random bytes.
 */
export function damaged(rng: Rng, frame: Uint8Array): Uint8Array {
  const bytes = [...frame];
  const body = bytes.slice(bodyStart(frame));
  const envelope = (inner: number[], field = frame[0] as number): Uint8Array => new Uint8Array([field, ...varintOf(BigInt(inner.length)), ...inner]);
  switch (rng.nextInt(15)) {
    case 0: {
      if (bytes.length > 0) bytes[rng.nextInt(bytes.length)] = rng.nextInt(256);
      return new Uint8Array(bytes);
    }
    case 1:
      return new Uint8Array(bytes.slice(0, rng.nextInt(bytes.length + 1)));
    case 2:
      return new Uint8Array([...bytes, ...Array.from({ length: 1 + rng.nextInt(4) }, () => rng.nextInt(256))]);
    case 3:
      return new Uint8Array(Array.from({ length: rng.nextInt(16) }, () => rng.nextInt(256)));
    case 4: {
      // A field of the body with a value of any 64-bit size, or of a field number no type has.
      const field = 1 + rng.nextInt(rng.nextInt(4) === 0 ? 40 : 11);
      const value = BigInt(rng.nextUint32()) * (rng.nextInt(2) === 0 ? 1n : 2n ** 32n) + BigInt(rng.nextUint32());
      const extra = [...varintOf(BigInt(field << 3)), ...varintOf(value, 1 + rng.nextInt(3) * rng.nextInt(5))];
      return envelope(rng.nextInt(2) === 0 ? [...body, ...extra] : [...extra, ...body]);
    }
    case 5: {
      // The body's first field again after the rest, or twice at the start.
      const first = fieldSpan(body, 0);
      if (first === undefined) return envelope(body);
      const part = body.slice(0, first);
      return envelope(rng.nextInt(2) === 0 ? [...body, ...part] : [...part, ...body]);
    }
    case 13: {
      // A field of the body written twice (a list's second part, for a packed list).
      const parts = fieldsOf(body);
      if (parts === undefined || parts.length === 0) return envelope(body);
      const at = rng.nextInt(parts.length);
      parts.splice(at + 1, 0, parts[at] as number[]);
      return envelope(parts.flat());
    }
    case 6: {
      // The body's fields in reverse order.
      const parts = fieldsOf(body);
      return envelope(parts === undefined ? body : parts.reverse().flat());
    }
    case 7: {
      // Another member of the oneof, after this one or before it.
      const other = [((1 + rng.nextInt(12)) << 3) | 2, 0];
      return new Uint8Array(rng.nextInt(2) === 0 ? [...bytes, ...other] : [...other, ...bytes]);
    }
    case 8: {
      // A varint key made overlong (two bytes for one).
      if (body.length === 0) return envelope(body);
      const key = body[0] as number;
      if (key >= 128) return envelope(body);
      return envelope([key | 128, 0, ...body.slice(1)]);
    }
    case 9: {
      // The first varint field's value made overlong, up to ten bytes.
      if (body.length === 0 || ((body[0] as number) & 7) !== 0) return envelope(body);
      const end = fieldSpan(body, 0);
      if (end === undefined) return envelope(body);
      const value = readVarintBig(body, 1);
      return envelope([body[0] as number, ...varintOf(value, 2 + rng.nextInt(9)), ...body.slice(end)]);
    }
    case 10: {
      // The first field's wire type changed.
      if (body.length === 0) return envelope(body);
      return envelope([((body[0] as number) & ~7) | rng.nextInt(8), ...body.slice(1)]);
    }
    case 11:
      // The envelope's field with another wire type or number.
      return new Uint8Array([rng.nextInt(2) === 0 ? ((frame[0] as number) & ~7) | rng.nextInt(8) : ((1 + rng.nextInt(14)) << 3) | 2, ...bytes.slice(1)]);
    case 12: {
      // A value of 2^53 .. 2^64 - 1 in the first varint field.
      if (body.length === 0 || ((body[0] as number) & 7) !== 0) return envelope(body);
      const end = fieldSpan(body, 0);
      if (end === undefined) return envelope(body);
      const big = 2n ** BigInt(32 + rng.nextInt(32)) + BigInt(rng.nextUint32());
      return envelope([body[0] as number, ...varintOf(big), ...body.slice(end)]);
    }
    default:
      // The frame inside a longer buffer's view (a receive buffer), unchanged.
      return new Uint8Array([9, 9, ...bytes, 9]).subarray(2, 2 + bytes.length);
  }
}

function bodyStart(frame: Uint8Array): number {
  let at = 1;
  while (at < frame.length && (frame[at] as number) >= 128) at++;
  return at + 1;
}

function readVarintBig(bytes: readonly number[], at: number): bigint {
  let value = 0n;
  let shift = 0n;
  for (; at < bytes.length; at++) {
    const byte = bytes[at] as number;
    value |= BigInt(byte & 127) << shift;
    if (byte < 128) break;
    shift += 7n;
  }
  return value;
}

/** fieldsOf splits a message's body into its fields' bytes, or returns undefined where it cannot. */
function fieldsOf(body: readonly number[]): number[][] | undefined {
  const parts: number[][] = [];
  for (let at = 0; at < body.length; ) {
    const end = fieldSpan(body, at);
    if (end === undefined) return undefined;
    parts.push(body.slice(at, end));
    at = end;
  }
  return parts;
}

/** fieldSpan returns where the field starting at `at` ends (wire types 0 and 2), or undefined. */
function fieldSpan(bytes: readonly number[], at: number): number | undefined {
  if (at >= bytes.length) return undefined;
  const wireType = (bytes[at] as number) & 7;
  let next = at;
  while (next < bytes.length && (bytes[next] as number) >= 128) next++;
  next++;
  if (wireType === 0) {
    while (next < bytes.length && (bytes[next] as number) >= 128) next++;
    return next < bytes.length ? next + 1 : undefined;
  }
  if (wireType === 2) {
    const length = Number(readVarintBig(bytes, next));
    while (next < bytes.length && (bytes[next] as number) >= 128) next++;
    const end = next + 1 + length;
    return end <= bytes.length ? end : undefined;
  }
  return undefined;
}

/** outcome gives a decoded message or a thrown error as a string that tells apart every difference that matters: key order, a Uint8Array from a Buffer or an array, the error's class and message. */
export function outcome(run: () => unknown): string {
  try {
    return `ok ${JSON.stringify(run(), (_key, value: unknown) => (value instanceof Uint8Array ? { [value.constructor.name]: [...value] } : value))}`;
  } catch (error) {
    return `${(error as Error).constructor.name}: ${(error as Error).message}`;
  }
}
