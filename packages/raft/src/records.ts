import { CorruptionError, assert, createProtobufCodec, type NodeId } from "@concord/core";
import type { ClusterConfig } from "./cluster-config.ts";
import type { Entry } from "./messages.ts";
import { descriptor } from "./raft-proto.generated.ts";

/** HardState is the state Raft must keep across crashes (§5.1, Figure 2), plus the commit index to speed recovery. */
export interface HardState {
  /** term is the latest term the replica has seen (§5.1). */
  readonly term: number;
  /** vote is the candidate voted for in term, if any (§5.2). */
  readonly vote: NodeId | undefined;
  /** commit is the commit index, a recovery hint only (Figure 2 keeps it volatile). */
  readonly commit: number;
}

type WireRecord =
  | { readonly type: "hardState"; readonly term: number; readonly vote: number; readonly hasVote: boolean; readonly commit: number }
  | ({ readonly type: "entry" } & Entry);

type WireSnapshot = {
  readonly type: "snapshot";
  readonly index: number;
  readonly term: number;
  readonly voters: readonly NodeId[];
  readonly outgoing: readonly NodeId[];
  readonly learners: readonly NodeId[];
  readonly data: Uint8Array;
};

const recordCodec = createProtobufCodec<WireRecord>(descriptor, "concord.raft.RaftRecord");
const snapshotCodec = createProtobufCodec<WireSnapshot>(descriptor, "concord.raft.SnapshotFile");

/**
 * DurableRecord is one record of a replica's durable log: its hard state, or
 * an entry. Invariant: an entry record at index i replaces every entry at i
 * and after that earlier records wrote (a truncated conflicting suffix, §5.3).
 */
export type DurableRecord = { readonly type: "hardState"; readonly hardState: HardState } | { readonly type: "entry"; readonly entry: Entry };

/** encodeHardState encodes a hard-state record. */
export function encodeHardState(state: HardState): Uint8Array {
  // Written by hand (one record per Ready is the hot path); the layout is RaftRecord.hard_state of raft.proto.
  let body = 0;
  if (state.term !== 0) body += 1 + varintBytes(state.term);
  if (state.vote !== undefined) body += (state.vote !== 0 ? 1 + varintBytes(state.vote) : 0) + 2;
  if (state.commit !== 0) body += 1 + varintBytes(state.commit);
  const out = new Uint8Array(1 + varintBytes(body) + body);
  out[0] = tag(1, lengthDelimited);
  let at = writeVarint(out, 1, body);
  if (state.term !== 0) {
    out[at++] = tag(1, varint);
    at = writeVarint(out, at, state.term);
  }
  if (state.vote !== undefined && state.vote !== 0) {
    out[at++] = tag(2, varint);
    at = writeVarint(out, at, state.vote);
  }
  if (state.vote !== undefined) {
    out[at++] = tag(3, varint);
    out[at++] = 1;
  }
  if (state.commit !== 0) {
    out[at++] = tag(4, varint);
    at = writeVarint(out, at, state.commit);
  }
  return finished(out, at);
}

/**
 * encodeEntryRecord encodes an entry record. Every replica writes one per
 * entry it appends, so it is written by hand like encodeHardState, in one pass
 * into the record slab: the body first (headerRoom bytes on, each varint by
 * comparisons and shifts; a command entry's session key is near 2^52: eight
 * bytes), then its key and length right before it, and the record is a view
 * of those bytes. That costs less than sizing the record first and filling a
 * new array of its own (issue 18). The layout is RaftRecord.entry of
 * raft.proto, as protobufjs writes it (records.test.ts compares the two over
 * random entries).
 */
export function encodeEntryRecord(entry: Entry): Uint8Array {
  const { term, index, kind, clientId, sequence, command, session, voters, outgoing, learners } = entry;
  const commandLength = command.length;
  // Each varint takes at most 8 bytes and its key 1; each id at most 10.
  const most = headerRoom + 9 * 6 + 9 + commandLength + 3 * 9 + 10 * (voters.length + outgoing.length + learners.length);
  const out = slabWithRoom(most);
  const bodyStart = slabUsed + headerRoom;
  let at = bodyStart;
  if (term !== 0) {
    out[at++] = tag(1, varint);
    at = writeVarint(out, at, term);
  }
  if (index !== 0) {
    out[at++] = tag(2, varint);
    at = writeVarint(out, at, index);
  }
  if (kind !== 0) {
    out[at++] = tag(3, varint);
    at = writeVarint(out, at, kind);
  }
  if (clientId !== 0) {
    out[at++] = tag(4, varint);
    at = writeVarint(out, at, clientId);
  }
  if (sequence !== 0) {
    out[at++] = tag(5, varint);
    at = writeVarint(out, at, sequence);
  }
  if (commandLength !== 0) {
    out[at++] = tag(6, lengthDelimited);
    at = writeVarint(out, at, commandLength);
    // Below 16 bytes a loop copies faster than set(), which has a call's fixed cost; above, set() is faster.
    if (commandLength < 16) for (let k = 0; k < commandLength; k++) out[at + k] = command[k] as number;
    else out.set(command, at);
    at += commandLength;
  }
  if (voters.length !== 0) at = writePacked(out, at, tag(7, lengthDelimited), packedBodyBytes(voters), voters);
  if (outgoing.length !== 0) at = writePacked(out, at, tag(8, lengthDelimited), packedBodyBytes(outgoing), outgoing);
  if (learners.length !== 0) at = writePacked(out, at, tag(9, lengthDelimited), packedBodyBytes(learners), learners);
  if (session !== 0) {
    out[at++] = tag(10, varint);
    at = writeVarint(out, at, session);
  }
  const body = at - bodyStart;
  const start = bodyStart - 1 - varintBytes(body);
  out[start] = tag(2, lengthDelimited);
  writeVarint(out, start + 1, body);
  slabUsed = at;
  return new Uint8Array(slabBuffer, start, at - start);
}

/** headerRoom is how far past slabUsed encodeEntryRecord starts a record's body: room for its key and the body's length (at most 5 bytes). */
const headerRoom = 6;

/**
 * The entry records are views of a slab shared by every replica of the
 * process, each written once and never again: a full slab is left to the
 * records that view it (collected with the last of them) and a new one taken.
 * A view costs one object, where an array of its own costs its buffer too. A
 * storage copies a record it keeps (into its file or frames), or keeps the
 * view (MemoryStorage), and with it the slab.
 */
const slabBytes = 1 << 16;
let slab = new Uint8Array(slabBytes);
/** slabBuffer is slab's buffer, kept apart so that a record's view does not ask the slab for it. */
let slabBuffer = slab.buffer;
/** slabUsed is where the slab's unwritten part starts. */
let slabUsed = 0;

/** slabWithRoom returns the slab, with at least `bytes` unwritten from slabUsed on (a new one when it has not). */
function slabWithRoom(bytes: number): Uint8Array {
  if (slabUsed + bytes > slab.length) {
    slab = new Uint8Array(Math.max(slabBytes, bytes));
    slabBuffer = slab.buffer;
    slabUsed = 0;
  }
  return slab;
}

const varint = 0;
const lengthDelimited = 2;

/** tag is a field's key byte (field numbers below 16 only). */
function tag(field: number, wireType: number): number {
  return (field << 3) | wireType;
}

/** varintBytes is the length of a protobuf varint holding a non-negative safe integer. */
export function varintBytes(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x20_0000) return 3;
  if (value < 0x1000_0000) return 4;
  if (value < 0x8_0000_0000) return 5;
  if (value < 0x400_0000_0000) return 6;
  if (value < 0x2_0000_0000_0000) return 7;
  return 8; // below 2^56, which holds every safe integer
}

/** packedBodyBytes is the length of a packed repeated field's body, 0 for an empty one (which is not written). */
export function packedBodyBytes(values: readonly number[]): number {
  let body = 0;
  for (let k = 0; k < values.length; k++) body += varintBytes(values[k] as number);
  return body;
}

export function writePacked(out: Uint8Array, at: number, key: number, body: number, values: readonly number[]): number {
  out[at++] = key;
  at = writeVarint(out, at, body);
  for (let k = 0; k < values.length; k++) at = writeVarint(out, at, values[k] as number);
  return at;
}

/** writeVarint writes a non-negative safe integer as a protobuf varint at `at` and returns the position after it. */
export function writeVarint(out: Uint8Array, at: number, value: number): number {
  // Most varints are under 2^21 (terms, indexes, lengths, client ids, sequences): each byte written without a loop.
  if (value < 0x80) {
    out[at] = value;
    return at + 1;
  }
  if (value < 0x4000) {
    out[at] = (value & 127) | 128;
    out[at + 1] = value >>> 7;
    return at + 2;
  }
  if (value < 0x20_0000) {
    out[at] = (value & 127) | 128;
    out[at + 1] = ((value >>> 7) & 127) | 128;
    out[at + 2] = value >>> 14;
    return at + 3;
  }
  return writeLongVarint(out, at, value);
}

/** writeLongVarint is writeVarint for any non-negative safe integer. */
function writeLongVarint(out: Uint8Array, at: number, value: number): number {
  if (value > 0x7fff_ffff) {
    // Past 31 bits the bit operators no longer hold the value: its low 32 bits (ToUint32 is the value modulo
    // 2^32) give the first four bytes of seven bits, and bits 28 up (under 2^25 for a safe integer) go on below.
    const low = value >>> 0;
    const high = (value - low) / 0x1_0000_0000;
    out[at++] = (low & 127) | 128;
    out[at++] = ((low >>> 7) & 127) | 128;
    out[at++] = ((low >>> 14) & 127) | 128;
    out[at++] = ((low >>> 21) & 127) | 128;
    value = (low >>> 28) | (high << 4);
  }
  while (value >= 128) {
    out[at++] = (value & 127) | 128;
    value >>>= 7;
  }
  out[at++] = value;
  return at;
}

function finished(out: Uint8Array, at: number): Uint8Array {
  if (at !== out.length) assert(false, `record encoder wrote ${at} of ${out.length} bytes`);
  return out;
}

/** decodeRecord decodes a durable record, throwing a CorruptionError for bytes that are not one. */
export function decodeRecord(bytes: Uint8Array): DurableRecord {
  const record = recordCodec.decode(bytes);
  if (record.type === "hardState") {
    return { type: "hardState", hardState: { term: record.term, vote: record.hasVote ? record.vote : undefined, commit: record.commit } };
  }
  const { type: _type, ...entry } = record;
  return { type: "entry", entry };
}

/** RaftSnapshot is a snapshot: the state machine as of `index` (term `term`) and the configuration in force there (§7). */
export interface RaftSnapshot {
  /** index is the last index the snapshot covers. */
  readonly index: number;
  /** term is the term of the entry at index. */
  readonly term: number;
  /** config is the configuration in force at index. */
  readonly config: ClusterConfig;
  /** data is the state machine and session table, as `snapshot()` returned them. */
  readonly data: Uint8Array;
}

/** encodeSnapshot encodes a snapshot for `Ready.snapshot`. */
export function encodeSnapshot(snapshot: RaftSnapshot): Uint8Array {
  return snapshotCodec.encode({ type: "snapshot", index: snapshot.index, term: snapshot.term, ...snapshot.config, data: snapshot.data });
}

/** decodeSnapshot decodes a durable snapshot. */
export function decodeSnapshot(bytes: Uint8Array): RaftSnapshot {
  const wire = snapshotCodec.decode(bytes);
  if (wire.voters.length === 0) throw new CorruptionError("raft snapshot: configuration without voters");
  return { index: wire.index, term: wire.term, config: { voters: wire.voters, outgoing: wire.outgoing, learners: wire.learners }, data: wire.data };
}
