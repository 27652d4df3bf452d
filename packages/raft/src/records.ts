import { CorruptionError, createProtobufCodec, type NodeId } from "@concord/core";
import protobuf from "protobufjs/minimal.js";
import type { ClusterConfig } from "./cluster-config.ts";
import type { Entry } from "./messages.ts";
import { descriptor } from "./raft-proto.generated.ts";

/** HardState is the state Raft must keep across crashes (§5.1, Figure 2), plus the commit index to speed recovery. */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId | undefined;
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
  const writer = protobuf.Writer.create();
  writer.uint32(tag(1, lengthDelimited)).fork();
  if (state.term !== 0) writer.uint32(tag(1, varint)).uint64(state.term);
  if (state.vote !== undefined) writer.uint32(tag(2, varint)).uint32(state.vote).uint32(tag(3, varint)).bool(true);
  if (state.commit !== 0) writer.uint32(tag(4, varint)).uint64(state.commit);
  return writer.ldelim().finish();
}

/** encodeEntryRecord encodes an entry record. */
export function encodeEntryRecord(entry: Entry): Uint8Array {
  // Written by hand like encodeHardState; the layout is RaftRecord.entry of raft.proto.
  const writer = protobuf.Writer.create();
  writer.uint32(tag(2, lengthDelimited)).fork();
  if (entry.term !== 0) writer.uint32(tag(1, varint)).uint64(entry.term);
  if (entry.index !== 0) writer.uint32(tag(2, varint)).uint64(entry.index);
  if (entry.kind !== 0) writer.uint32(tag(3, varint)).uint32(entry.kind);
  if (entry.clientId !== 0) writer.uint32(tag(4, varint)).uint32(entry.clientId);
  if (entry.sequence !== 0) writer.uint32(tag(5, varint)).uint64(entry.sequence);
  if (entry.command.length !== 0) writer.uint32(tag(6, lengthDelimited)).bytes(entry.command);
  writePacked(writer, 7, entry.voters);
  writePacked(writer, 8, entry.outgoing);
  writePacked(writer, 9, entry.learners);
  return writer.ldelim().finish();
}

const varint = 0;
const lengthDelimited = 2;

function tag(field: number, wireType: number): number {
  return (field << 3) | wireType;
}

function writePacked(writer: protobuf.Writer, field: number, values: readonly number[]): void {
  if (values.length === 0) return;
  writer.uint32(tag(field, lengthDelimited)).fork();
  for (const value of values) writer.uint32(value);
  writer.ldelim();
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
  readonly index: number;
  readonly term: number;
  readonly config: ClusterConfig;
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
