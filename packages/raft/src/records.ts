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
  const out = new ByteWriter(1 + varintBytes(body) + body);
  out.tag(1, lengthDelimited).varint(body);
  if (state.term !== 0) out.tag(1, varint).varint(state.term);
  if (state.vote !== undefined && state.vote !== 0) out.tag(2, varint).varint(state.vote);
  if (state.vote !== undefined) out.tag(3, varint).varint(1);
  if (state.commit !== 0) out.tag(4, varint).varint(state.commit);
  return out.finish();
}

/** encodeEntryRecord encodes an entry record. */
export function encodeEntryRecord(entry: Entry): Uint8Array {
  // Written by hand like encodeHardState; the layout is RaftRecord.entry of raft.proto.
  const body = entryBodyBytes(entry);
  const out = new ByteWriter(1 + varintBytes(body) + body);
  out.tag(2, lengthDelimited).varint(body);
  if (entry.term !== 0) out.tag(1, varint).varint(entry.term);
  if (entry.index !== 0) out.tag(2, varint).varint(entry.index);
  if (entry.kind !== 0) out.tag(3, varint).varint(entry.kind);
  if (entry.clientId !== 0) out.tag(4, varint).varint(entry.clientId);
  if (entry.sequence !== 0) out.tag(5, varint).varint(entry.sequence);
  if (entry.command.length !== 0) out.tag(6, lengthDelimited).varint(entry.command.length).bytes(entry.command);
  out.packed(7, entry.voters).packed(8, entry.outgoing).packed(9, entry.learners);
  if (entry.session !== 0) out.tag(10, varint).varint(entry.session);
  return out.finish();
}

function entryBodyBytes(entry: Entry): number {
  let size = 0;
  if (entry.term !== 0) size += 1 + varintBytes(entry.term);
  if (entry.index !== 0) size += 1 + varintBytes(entry.index);
  if (entry.kind !== 0) size += 1 + varintBytes(entry.kind);
  if (entry.clientId !== 0) size += 1 + varintBytes(entry.clientId);
  if (entry.sequence !== 0) size += 1 + varintBytes(entry.sequence);
  if (entry.command.length !== 0) size += 1 + varintBytes(entry.command.length) + entry.command.length;
  if (entry.session !== 0) size += 1 + varintBytes(entry.session);
  return size + packedBytes(entry.voters) + packedBytes(entry.outgoing) + packedBytes(entry.learners);
}

const varint = 0;
const lengthDelimited = 2;

/** varintBytes is the length of a protobuf varint holding a non-negative safe integer. */
function varintBytes(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x20_0000) return 3;
  let bytes = 4;
  value = Math.floor(value / 0x20_0000);
  while (value >= 128) {
    value = Math.floor(value / 128);
    bytes++;
  }
  return bytes;
}

function packedBytes(values: readonly number[]): number {
  if (values.length === 0) return 0;
  let body = 0;
  for (const value of values) body += varintBytes(value);
  return 1 + varintBytes(body) + body;
}

/** ByteWriter writes protobuf wire format into a buffer of known size (field numbers below 16 only). */
class ByteWriter {
  private readonly buffer: Uint8Array;
  private position = 0;

  constructor(size: number) {
    this.buffer = new Uint8Array(size);
  }

  tag(field: number, wireType: number): this {
    this.buffer[this.position++] = (field << 3) | wireType;
    return this;
  }

  varint(value: number): this {
    const buffer = this.buffer;
    let position = this.position;
    // Above 2^31 - 1 a value no longer fits the bit operators' 32 bits: its low 28 bits go out as four
    // bytes of seven, and the rest (under 2^25 for a safe integer) goes on with shifts.
    if (value > 0x7fff_ffff) {
      const low = value % 0x1000_0000;
      buffer[position++] = (low & 127) | 128;
      buffer[position++] = ((low >>> 7) & 127) | 128;
      buffer[position++] = ((low >>> 14) & 127) | 128;
      buffer[position++] = ((low >>> 21) & 127) | 128;
      value = Math.floor(value / 0x1000_0000);
      while (value > 0x7fff_ffff) {
        buffer[position++] = (value % 128) | 128;
        value = Math.floor(value / 128);
      }
    }
    while (value >= 128) {
      buffer[position++] = (value & 127) | 128;
      value >>>= 7;
    }
    buffer[position++] = value;
    this.position = position;
    return this;
  }

  bytes(value: Uint8Array): this {
    this.buffer.set(value, this.position);
    this.position += value.length;
    return this;
  }

  packed(field: number, values: readonly number[]): this {
    if (values.length === 0) return this;
    let body = 0;
    for (const value of values) body += varintBytes(value);
    this.tag(field, lengthDelimited).varint(body);
    for (const value of values) this.varint(value);
    return this;
  }

  finish(): Uint8Array {
    assert(this.position === this.buffer.length, () => `record encoder wrote ${this.position} of ${this.buffer.length} bytes`);
    return this.buffer;
  }
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
