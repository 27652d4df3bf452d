// Raft's wire codec written by hand (issue 18): the bytes protobufjs writes for raft.proto's RaftMessage, and the
// objects core's protobufjs codec decodes from them, without protobufjs's Writer, Reader, Long handling, message
// objects and conversion. Anything outside the canonical encoding of plain values goes to protobufjs, which
// decides it (and names what is wrong): codec.test.ts compares the two over random, edge-case and damaged frames.
import type { MessageCodec } from "@concord/core";
import type { Entry, RaftMessage } from "./messages.ts";
import { packedBodyBytes, varintBytes, writePacked, writeVarint } from "./records.ts";

/**
 * createRaftCodec returns a codec that gives, for every Raft message, the bytes and the decoded object
 * `fallback` (core's protobufjs codec of raft.proto) gives, and hands `fallback` what it does not write or
 * read itself: a message holding a value that is not a plain one of its field's type (a 64-bit field that is
 * not a safe non-negative integer, a uint32 field outside 0 .. 2^32 - 1, a bool that is not a boolean, bytes
 * that are not a Uint8Array, a list that is not an array), and a frame that is not the canonical encoding of
 * one message (an unknown or repeated field, fields out of order, a wire type other than the field's, a varint
 * longer than its value needs room for, a value beyond 2^53 - 1, a truncated or trailing part, two members of
 * the oneof). The objects are plain ones, with the keys in toObject's order (repeated fields first) and every
 * bytes value a Uint8Array of its own.
 */
export function createRaftCodec(fallback: MessageCodec<RaftMessage>): MessageCodec<RaftMessage> {
  return {
    ...(fallback.typeNames === undefined ? {} : { typeNames: fallback.typeNames }),
    encode(message: RaftMessage): Uint8Array {
      return encodeMessage(message) ?? fallback.encode(message);
    },
    decode(bytes: Uint8Array): RaftMessage {
      return decodeMessage(bytes) ?? fallback.decode(bytes);
    },
    typeName(message: RaftMessage): string {
      return message.type;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Encoding: a pass that sizes the message (and checks each value is one this encoder writes as protobufjs does),
// then one that writes it into a buffer of exactly that size. protobufjs (proto3) leaves out a field holding its
// default (0, false, empty bytes, an empty list) and writes the fields in field-number order.

/** unusual is set by the sizing pass when a value is not a plain one of its field's type: protobufjs encodes that message. */
let unusual = false;
/** entrySizes holds the body size of each entry of the AppendEntries being encoded, from the sizing pass to the writing one. */
const entrySizes: number[] = [];

const maxSafe = Number.MAX_SAFE_INTEGER;
const maxUint32 = 0xffff_ffff;

function u64Bytes(value: number): number {
  if (value === 0) return 0;
  if (!(value > 0 && value <= maxSafe && Math.floor(value) === value)) unusual = true;
  return 1 + varintBytes(value);
}

function u32Bytes(value: number): number {
  if (value === 0) return 0;
  if (!(value > 0 && value <= maxUint32 && Math.floor(value) === value)) unusual = true;
  return 1 + varintBytes(value);
}

function boolBytes(value: boolean): number {
  if (value === false) return 0;
  if (value !== true) unusual = true;
  return 2;
}

function bytesBytes(value: Uint8Array): number {
  if (!(value instanceof Uint8Array)) {
    unusual = true;
    return 0;
  }
  const length = value.length;
  return length === 0 ? 0 : 1 + varintBytes(length) + length;
}

function packedBytes(values: readonly number[]): number {
  if (!Array.isArray(values)) {
    unusual = true;
    return 0;
  }
  if (values.length === 0) return 0;
  for (let k = 0; k < values.length; k++) {
    const value = values[k] as number;
    if (!(value >= 0 && value <= maxUint32 && Math.floor(value) === value)) unusual = true;
  }
  const body = packedBodyBytes(values);
  return 1 + varintBytes(body) + body;
}

/** A length-delimited field's size: its key, its length and its body. */
function delimitedBytes(body: number): number {
  return 1 + varintBytes(body) + body;
}

function writeU64(out: Uint8Array, at: number, key: number, value: number): number {
  if (value === 0) return at;
  out[at] = key;
  return writeVarint(out, at + 1, value);
}

function writeBool(out: Uint8Array, at: number, key: number, value: boolean): number {
  if (!value) return at;
  out[at] = key;
  out[at + 1] = 1;
  return at + 2;
}

function writeBytes(out: Uint8Array, at: number, key: number, value: Uint8Array): number {
  const length = value.length;
  if (length === 0) return at;
  out[at] = key;
  at = writeVarint(out, at + 1, length);
  // Commands and results are a few dozen bytes: a loop copies that faster than set(), which has a call's fixed cost.
  if (length <= 64) for (let k = 0; k < length; k++) out[at + k] = value[k] as number;
  else out.set(value, at);
  return at + length;
}

function writePackedField(out: Uint8Array, at: number, key: number, values: readonly number[]): number {
  return values.length === 0 ? at : writePacked(out, at, key, packedBodyBytes(values), values);
}

/** Field keys: (field number << 3) | wire type, 0 for a varint, 2 for a length-delimited field. */
const k1 = 8;
const k2 = 16;
const k3 = 24;
const k4 = 32;
const k5 = 40;
const k6 = 48;
const k7 = 56;
const k9 = 72;
const k10 = 80;
const d2 = 18;
const d3 = 26;
const d4 = 34;
const d5 = 42;
const d6 = 50;
const d7 = 58;
const d8 = 66;
const d9 = 74;

/** oneofFields numbers each message type as RaftMessage's oneof does. */
const oneofFields: Readonly<Record<string, number>> = {
  appendEntries: 1,
  appendResponse: 2,
  heartbeat: 3,
  heartbeatResponse: 4,
  requestVote: 5,
  voteResponse: 6,
  installSnapshot: 7,
  snapshotResponse: 8,
  timeoutNow: 9,
  clientRequest: 10,
  clientReply: 11,
  notLeader: 12,
};

function entryBytes(entry: Entry): number {
  if (entry === null || typeof entry !== "object") {
    unusual = true;
    return 0;
  }
  return (
    u64Bytes(entry.term) +
    u64Bytes(entry.index) +
    u32Bytes(entry.kind) +
    u32Bytes(entry.clientId) +
    u64Bytes(entry.sequence) +
    bytesBytes(entry.command) +
    packedBytes(entry.voters) +
    packedBytes(entry.outgoing) +
    packedBytes(entry.learners) +
    u64Bytes(entry.session)
  );
}

function writeEntry(out: Uint8Array, at: number, entry: Entry): number {
  at = writeU64(out, at, k1, entry.term);
  at = writeU64(out, at, k2, entry.index);
  at = writeU64(out, at, k3, entry.kind);
  at = writeU64(out, at, k4, entry.clientId);
  at = writeU64(out, at, k5, entry.sequence);
  at = writeBytes(out, at, d6, entry.command);
  at = writePackedField(out, at, d7, entry.voters);
  at = writePackedField(out, at, d8, entry.outgoing);
  at = writePackedField(out, at, d9, entry.learners);
  return writeU64(out, at, k10, entry.session);
}

/** bodyBytes sizes a message's body (the oneof member's bytes), or returns -1 for a type the oneof does not hold. */
function bodyBytes(m: RaftMessage): number {
  switch (m.type) {
    case "appendEntries": {
      let size = u64Bytes(m.term) + u64Bytes(m.prevLogIndex) + u64Bytes(m.prevLogTerm) + u64Bytes(m.commit) + u64Bytes(m.readContext);
      const entries = m.entries;
      if (!Array.isArray(entries)) {
        unusual = true;
        return 0;
      }
      for (let i = 0; i < entries.length; i++) {
        const entry = entryBytes(entries[i] as Entry);
        entrySizes[i] = entry;
        size += delimitedBytes(entry);
      }
      return size;
    }
    case "appendResponse":
      return u64Bytes(m.term) + u64Bytes(m.index) + boolBytes(m.reject) + u64Bytes(m.rejectHint) + u64Bytes(m.logTerm) + u64Bytes(m.readContext);
    case "heartbeat":
      return u64Bytes(m.term) + u64Bytes(m.commit) + u64Bytes(m.readContext);
    case "heartbeatResponse":
      return u64Bytes(m.term) + u64Bytes(m.readContext);
    case "requestVote":
      return u64Bytes(m.term) + u64Bytes(m.lastLogIndex) + u64Bytes(m.lastLogTerm) + boolBytes(m.preVote) + boolBytes(m.transfer);
    case "voteResponse":
      return u64Bytes(m.term) + boolBytes(m.reject) + boolBytes(m.preVote) + u64Bytes(m.commit) + u64Bytes(m.commitTerm);
    case "installSnapshot":
      return (
        u64Bytes(m.term) +
        u64Bytes(m.snapshotIndex) +
        u64Bytes(m.snapshotTerm) +
        packedBytes(m.voters) +
        packedBytes(m.outgoing) +
        packedBytes(m.learners) +
        u64Bytes(m.offset) +
        bytesBytes(m.data) +
        boolBytes(m.done) +
        u64Bytes(m.totalBytes)
      );
    case "snapshotResponse":
      return u64Bytes(m.term) + u64Bytes(m.snapshotIndex) + u64Bytes(m.offset);
    case "timeoutNow":
      return u64Bytes(m.term);
    case "clientRequest":
      return u32Bytes(m.clientId) + u64Bytes(m.sequence) + bytesBytes(m.command) + boolBytes(m.readOnly) + u64Bytes(m.session) + u32Bytes(m.readLevel);
    case "clientReply":
      return u64Bytes(m.sequence) + bytesBytes(m.result) + u64Bytes(m.session);
    case "notLeader":
      return u64Bytes(m.sequence) + boolBytes(m.hasLeaderHint) + u32Bytes(m.leaderHint);
    default:
      return -1;
  }
}

/** writeBody writes a message's body, sized by bodyBytes, at `at`. */
function writeBody(out: Uint8Array, at: number, m: RaftMessage): number {
  switch (m.type) {
    case "appendEntries": {
      at = writeU64(out, at, k1, m.term);
      at = writeU64(out, at, k2, m.prevLogIndex);
      at = writeU64(out, at, k3, m.prevLogTerm);
      const entries = m.entries;
      for (let i = 0; i < entries.length; i++) {
        out[at] = d4;
        at = writeVarint(out, at + 1, entrySizes[i] as number);
        at = writeEntry(out, at, entries[i] as Entry);
      }
      at = writeU64(out, at, k5, m.commit);
      return writeU64(out, at, k6, m.readContext);
    }
    case "appendResponse":
      at = writeU64(out, at, k1, m.term);
      at = writeU64(out, at, k2, m.index);
      at = writeBool(out, at, k3, m.reject);
      at = writeU64(out, at, k4, m.rejectHint);
      at = writeU64(out, at, k5, m.logTerm);
      return writeU64(out, at, k6, m.readContext);
    case "heartbeat":
      at = writeU64(out, at, k1, m.term);
      at = writeU64(out, at, k2, m.commit);
      return writeU64(out, at, k3, m.readContext);
    case "heartbeatResponse":
      at = writeU64(out, at, k1, m.term);
      return writeU64(out, at, k2, m.readContext);
    case "requestVote":
      at = writeU64(out, at, k1, m.term);
      at = writeU64(out, at, k2, m.lastLogIndex);
      at = writeU64(out, at, k3, m.lastLogTerm);
      at = writeBool(out, at, k4, m.preVote);
      return writeBool(out, at, k5, m.transfer);
    case "voteResponse":
      at = writeU64(out, at, k1, m.term);
      at = writeBool(out, at, k2, m.reject);
      at = writeBool(out, at, k3, m.preVote);
      at = writeU64(out, at, k4, m.commit);
      return writeU64(out, at, k5, m.commitTerm);
    case "installSnapshot":
      at = writeU64(out, at, k1, m.term);
      at = writeU64(out, at, k2, m.snapshotIndex);
      at = writeU64(out, at, k3, m.snapshotTerm);
      at = writePackedField(out, at, d4, m.voters);
      at = writePackedField(out, at, d5, m.outgoing);
      at = writePackedField(out, at, d6, m.learners);
      at = writeU64(out, at, k7, m.offset);
      at = writeBytes(out, at, d8, m.data);
      at = writeBool(out, at, k9, m.done);
      return writeU64(out, at, k10, m.totalBytes);
    case "snapshotResponse":
      at = writeU64(out, at, k1, m.term);
      at = writeU64(out, at, k2, m.snapshotIndex);
      return writeU64(out, at, k3, m.offset);
    case "timeoutNow":
      return writeU64(out, at, k1, m.term);
    case "clientRequest":
      at = writeU64(out, at, k1, m.clientId);
      at = writeU64(out, at, k2, m.sequence);
      at = writeBytes(out, at, d3, m.command);
      at = writeBool(out, at, k4, m.readOnly);
      at = writeU64(out, at, k5, m.session);
      return writeU64(out, at, k6, m.readLevel);
    case "clientReply":
      at = writeU64(out, at, k1, m.sequence);
      at = writeBytes(out, at, d2, m.result);
      return writeU64(out, at, k3, m.session);
    case "notLeader":
      at = writeU64(out, at, k1, m.sequence);
      at = writeBool(out, at, k2, m.hasLeaderHint);
      return writeU64(out, at, k3, m.leaderHint);
  }
}

/** encodeMessage encodes RaftMessage{<type>: message} as protobufjs does, or returns undefined for a message it leaves to protobufjs. */
function encodeMessage(message: RaftMessage): Uint8Array | undefined {
  if (message === null || typeof message !== "object") return undefined;
  unusual = false;
  const body = bodyBytes(message);
  if (body < 0 || unusual) return undefined;
  const field = oneofFields[message.type] as number;
  const out = new Uint8Array(delimitedBytes(body));
  out[0] = (field << 3) | 2;
  const at = writeBody(out, writeVarint(out, 1, body), message);
  // The two passes must agree: a difference is a bug here, not bad input.
  if (at !== out.length) throw new Error(`raft codec wrote ${at} of ${out.length} bytes of a ${message.type}`);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Decoding: one pass over the frame that accepts only the canonical encoding of plain values (what the encoder
// above and protobufjs write, and harmless variants such as a default written out or a varint longer than its
// value needs), and gives up (failed) at anything else, for protobufjs to decode or refuse. One reader a message
// type, alike in shape as protobufjs's generated decoders are: a reader driven by a table of each type's fields
// (kinds by field number, read into slots, then a maker per type) cost 10% more CPU per simulated Raft operation.

/**
 * noIds is every decoded entry's absent id list (a command's voters, outgoing and learners): one array shared
 * as the leader's own entries share theirs (raft.ts's noopBody), where each list was an array of its own that
 * the follower's log then kept (issue 18). Entries are read-only.
 */
const noIds: readonly number[] = [];

let frame: Uint8Array = new Uint8Array(0);
let pos = 0;
let failed = false;

/** readVarint reads a varint of at most 8 bytes (56 bits) ending before `end`. */
function readVarint(end: number): number {
  if (pos < end) {
    const first = frame[pos] as number;
    if (first < 128) {
      pos++;
      return first;
    }
  }
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 8 && pos < end; i++) {
    const byte = frame[pos++] as number;
    value += (byte & 127) * scale;
    if (byte < 128) return value;
    scale *= 128;
  }
  failed = true;
  return 0;
}

/** readU64 reads a uint64 field's value, which must be a safe integer (protobufjs's path refuses the others, naming them). */
function readU64(end: number): number {
  const value = readVarint(end);
  if (value > maxSafe) failed = true;
  return value;
}

/** readU32 reads a uint32 field's value, which must be at most 2^32 - 1 (protobufjs keeps the low 32 bits of more). */
function readU32(end: number): number {
  const value = readVarint(end);
  if (value > maxUint32) failed = true;
  return value;
}

function readBool(end: number): boolean {
  if (pos >= end) {
    failed = true;
    return false;
  }
  const byte = frame[pos++] as number;
  if (byte > 1) failed = true;
  return byte === 1;
}

/** readLength reads a length-delimited field's length and returns where the field ends, within `end`. */
function readLength(end: number): number {
  const length = readU32(end);
  const fieldEnd = pos + length;
  if (fieldEnd > end) failed = true;
  return fieldEnd;
}

function readBytes(end: number): Uint8Array {
  const fieldEnd = readLength(end);
  if (failed) return new Uint8Array(0);
  const length = fieldEnd - pos;
  const out = new Uint8Array(length);
  if (length <= 64) for (let k = 0; k < length; k++) out[k] = frame[pos + k] as number;
  else out.set(frame.subarray(pos, fieldEnd));
  pos = fieldEnd;
  return out;
}

function readPacked(end: number): number[] {
  const fieldEnd = readLength(end);
  const values: number[] = [];
  while (!failed && pos < fieldEnd) values.push(readU32(fieldEnd));
  return values;
}

/**
 * nextKey reads the key of the next field of a message, which must come after field `last`'s key (or be another
 * item of the repeated field `repeatedKey` right after one); it fails (returning 0) otherwise, and on a key of two
 * bytes or more, which names no field of raft.proto.
 */
function nextKey(last: number, repeatedKey: number): number {
  const key = frame[pos++] as number;
  if (key >= 128 || (key >>> 3 <= last >>> 3 && (key !== repeatedKey || last !== repeatedKey))) {
    failed = true;
    return 0;
  }
  return key;
}

function readEntry(end: number): Entry {
  let term = 0;
  let index = 0;
  let kind = 0;
  let clientId = 0;
  let sequence = 0;
  let command: Uint8Array | undefined;
  let voters: number[] | undefined;
  let outgoing: number[] | undefined;
  let learners: number[] | undefined;
  let session = 0;
  let key = 0;
  while (!failed && pos < end) {
    key = nextKey(key, -1);
    switch (key) {
      case k1:
        term = readU64(end);
        break;
      case k2:
        index = readU64(end);
        break;
      case k3:
        kind = readU32(end);
        break;
      case k4:
        clientId = readU32(end);
        break;
      case k5:
        sequence = readU64(end);
        break;
      case d6:
        command = readBytes(end);
        break;
      case d7:
        voters = readPacked(end);
        break;
      case d8:
        outgoing = readPacked(end);
        break;
      case d9:
        learners = readPacked(end);
        break;
      case k10:
        session = readU64(end);
        break;
      default:
        failed = true;
    }
  }
  return {
    voters: voters ?? noIds,
    outgoing: outgoing ?? noIds,
    learners: learners ?? noIds,
    term,
    index,
    kind,
    clientId,
    sequence,
    command: command ?? new Uint8Array(0),
    session,
  };
}

function readAppendEntries(end: number): RaftMessage {
  let term = 0;
  let prevLogIndex = 0;
  let prevLogTerm = 0;
  const entries: Entry[] = [];
  let commit = 0;
  let readContext = 0;
  let key = 0;
  while (!failed && pos < end) {
    key = nextKey(key, d4);
    switch (key) {
      case k1:
        term = readU64(end);
        break;
      case k2:
        prevLogIndex = readU64(end);
        break;
      case k3:
        prevLogTerm = readU64(end);
        break;
      case d4: {
        const entryEnd = readLength(end);
        if (!failed) entries.push(readEntry(entryEnd));
        if (pos !== entryEnd) failed = true;
        break;
      }
      case k5:
        commit = readU64(end);
        break;
      case k6:
        readContext = readU64(end);
        break;
      default:
        failed = true;
    }
  }
  return { type: "appendEntries", entries, term, prevLogIndex, prevLogTerm, commit, readContext };
}

function readAppendResponse(end: number): RaftMessage {
  let term = 0;
  let index = 0;
  let reject = false;
  let rejectHint = 0;
  let logTerm = 0;
  let readContext = 0;
  let key = 0;
  while (!failed && pos < end) {
    key = nextKey(key, -1);
    switch (key) {
      case k1:
        term = readU64(end);
        break;
      case k2:
        index = readU64(end);
        break;
      case k3:
        reject = readBool(end);
        break;
      case k4:
        rejectHint = readU64(end);
        break;
      case k5:
        logTerm = readU64(end);
        break;
      case k6:
        readContext = readU64(end);
        break;
      default:
        failed = true;
    }
  }
  return { type: "appendResponse", term, index, reject, rejectHint, logTerm, readContext };
}

function readHeartbeat(end: number): RaftMessage {
  let term = 0;
  let commit = 0;
  let readContext = 0;
  let key = 0;
  while (!failed && pos < end) {
    key = nextKey(key, -1);
    switch (key) {
      case k1:
        term = readU64(end);
        break;
      case k2:
        commit = readU64(end);
        break;
      case k3:
        readContext = readU64(end);
        break;
      default:
        failed = true;
    }
  }
  return { type: "heartbeat", term, commit, readContext };
}

function readHeartbeatResponse(end: number): RaftMessage {
  let term = 0;
  let readContext = 0;
  let key = 0;
  while (!failed && pos < end) {
    key = nextKey(key, -1);
    switch (key) {
      case k1:
        term = readU64(end);
        break;
      case k2:
        readContext = readU64(end);
        break;
      default:
        failed = true;
    }
  }
  return { type: "heartbeatResponse", term, readContext };
}

function readRequestVote(end: number): RaftMessage {
  let term = 0;
  let lastLogIndex = 0;
  let lastLogTerm = 0;
  let preVote = false;
  let transfer = false;
  let key = 0;
  while (!failed && pos < end) {
    key = nextKey(key, -1);
    switch (key) {
      case k1:
        term = readU64(end);
        break;
      case k2:
        lastLogIndex = readU64(end);
        break;
      case k3:
        lastLogTerm = readU64(end);
        break;
      case k4:
        preVote = readBool(end);
        break;
      case k5:
        transfer = readBool(end);
        break;
      default:
        failed = true;
    }
  }
  return { type: "requestVote", term, lastLogIndex, lastLogTerm, preVote, transfer };
}

function readVoteResponse(end: number): RaftMessage {
  let term = 0;
  let reject = false;
  let preVote = false;
  let commit = 0;
  let commitTerm = 0;
  let key = 0;
  while (!failed && pos < end) {
    key = nextKey(key, -1);
    switch (key) {
      case k1:
        term = readU64(end);
        break;
      case k2:
        reject = readBool(end);
        break;
      case k3:
        preVote = readBool(end);
        break;
      case k4:
        commit = readU64(end);
        break;
      case k5:
        commitTerm = readU64(end);
        break;
      default:
        failed = true;
    }
  }
  return { type: "voteResponse", term, reject, preVote, commit, commitTerm };
}

function readInstallSnapshot(end: number): RaftMessage {
  let term = 0;
  let snapshotIndex = 0;
  let snapshotTerm = 0;
  let voters: number[] | undefined;
  let outgoing: number[] | undefined;
  let learners: number[] | undefined;
  let offset = 0;
  let data: Uint8Array | undefined;
  let done = false;
  let totalBytes = 0;
  let key = 0;
  while (!failed && pos < end) {
    key = nextKey(key, -1);
    switch (key) {
      case k1:
        term = readU64(end);
        break;
      case k2:
        snapshotIndex = readU64(end);
        break;
      case k3:
        snapshotTerm = readU64(end);
        break;
      case d4:
        voters = readPacked(end);
        break;
      case d5:
        outgoing = readPacked(end);
        break;
      case d6:
        learners = readPacked(end);
        break;
      case k7:
        offset = readU64(end);
        break;
      case d8:
        data = readBytes(end);
        break;
      case k9:
        done = readBool(end);
        break;
      case k10:
        totalBytes = readU64(end);
        break;
      default:
        failed = true;
    }
  }
  return {
    type: "installSnapshot",
    voters: voters ?? [],
    outgoing: outgoing ?? [],
    learners: learners ?? [],
    term,
    snapshotIndex,
    snapshotTerm,
    offset,
    data: data ?? new Uint8Array(0),
    done,
    totalBytes,
  };
}

function readSnapshotResponse(end: number): RaftMessage {
  let term = 0;
  let snapshotIndex = 0;
  let offset = 0;
  let key = 0;
  while (!failed && pos < end) {
    key = nextKey(key, -1);
    switch (key) {
      case k1:
        term = readU64(end);
        break;
      case k2:
        snapshotIndex = readU64(end);
        break;
      case k3:
        offset = readU64(end);
        break;
      default:
        failed = true;
    }
  }
  return { type: "snapshotResponse", term, snapshotIndex, offset };
}

function readTimeoutNow(end: number): RaftMessage {
  let term = 0;
  let key = 0;
  while (!failed && pos < end) {
    key = nextKey(key, -1);
    if (key === k1) term = readU64(end);
    else failed = true;
  }
  return { type: "timeoutNow", term };
}

function readClientRequest(end: number): RaftMessage {
  let clientId = 0;
  let sequence = 0;
  let command: Uint8Array | undefined;
  let readOnly = false;
  let session = 0;
  let readLevel = 0;
  let key = 0;
  while (!failed && pos < end) {
    key = nextKey(key, -1);
    switch (key) {
      case k1:
        clientId = readU32(end);
        break;
      case k2:
        sequence = readU64(end);
        break;
      case d3:
        command = readBytes(end);
        break;
      case k4:
        readOnly = readBool(end);
        break;
      case k5:
        session = readU64(end);
        break;
      case k6:
        readLevel = readU32(end);
        break;
      default:
        failed = true;
    }
  }
  return { type: "clientRequest", clientId, sequence, command: command ?? new Uint8Array(0), readOnly, session, readLevel };
}

function readClientReply(end: number): RaftMessage {
  let sequence = 0;
  let result: Uint8Array | undefined;
  let session = 0;
  let key = 0;
  while (!failed && pos < end) {
    key = nextKey(key, -1);
    switch (key) {
      case k1:
        sequence = readU64(end);
        break;
      case d2:
        result = readBytes(end);
        break;
      case k3:
        session = readU64(end);
        break;
      default:
        failed = true;
    }
  }
  return { type: "clientReply", sequence, result: result ?? new Uint8Array(0), session };
}

function readNotLeader(end: number): RaftMessage {
  let sequence = 0;
  let hasLeaderHint = false;
  let leaderHint = 0;
  let key = 0;
  while (!failed && pos < end) {
    key = nextKey(key, -1);
    switch (key) {
      case k1:
        sequence = readU64(end);
        break;
      case k2:
        hasLeaderHint = readBool(end);
        break;
      case k3:
        leaderHint = readU32(end);
        break;
      default:
        failed = true;
    }
  }
  return { type: "notLeader", sequence, hasLeaderHint, leaderHint };
}

/** decodeMessage decodes a frame holding one canonically encoded RaftMessage, or returns undefined for protobufjs to decide it. */
function decodeMessage(bytes: Uint8Array): RaftMessage | undefined {
  const end = bytes.length;
  if (end < 2) return undefined;
  frame = bytes;
  failed = false;
  const key = bytes[0] as number;
  // One length-delimited member of the oneof (fields 1 to 12), filling the rest of the frame.
  if ((key & 7) !== 2 || key < 10 || key > 98) return release(undefined);
  pos = 1;
  const bodyEnd = readLength(end);
  if (failed || bodyEnd !== end) return release(undefined);
  let message: RaftMessage;
  switch (key >>> 3) {
    case 1:
      message = readAppendEntries(end);
      break;
    case 2:
      message = readAppendResponse(end);
      break;
    case 3:
      message = readHeartbeat(end);
      break;
    case 4:
      message = readHeartbeatResponse(end);
      break;
    case 5:
      message = readRequestVote(end);
      break;
    case 6:
      message = readVoteResponse(end);
      break;
    case 7:
      message = readInstallSnapshot(end);
      break;
    case 8:
      message = readSnapshotResponse(end);
      break;
    case 9:
      message = readTimeoutNow(end);
      break;
    case 10:
      message = readClientRequest(end);
      break;
    case 11:
      message = readClientReply(end);
      break;
    default:
      message = readNotLeader(end);
  }
  // Every read stays within its field's end and the body's loop runs to the frame's end: when nothing failed the
  // whole frame is read.
  return release(failed ? undefined : message);
}

/** release drops the module's reference to the frame (so that it does not pin a large receive buffer) and returns `result`. */
function release(result: RaftMessage | undefined): RaftMessage | undefined {
  frame = emptyFrame;
  return result;
}

const emptyFrame = new Uint8Array(0);
