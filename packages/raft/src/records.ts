import { CorruptionError, createProtobufCodec, type NodeId } from "@concord/core";
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
  return recordCodec.encode({ type: "hardState", term: state.term, vote: state.vote ?? 0, hasVote: state.vote !== undefined, commit: state.commit });
}

/** encodeEntryRecord encodes an entry record. */
export function encodeEntryRecord(entry: Entry): Uint8Array {
  return recordCodec.encode({ type: "entry", ...entry });
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
