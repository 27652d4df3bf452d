import { createProtobufCodec, type NodeId } from "@concord/core";
import { descriptor } from "./raft-proto.generated.ts";

/** entryKind names the kinds of log entry, as numbers on the wire. */
export const entryKind = {
  /** command is a client request executed through the session table. */
  command: 0,
  /** noop is the empty entry a new leader appends to commit its term (thesis §6.4). */
  noop: 1,
  /** config carries the whole configuration it installs (thesis §4.3). */
  config: 2,
} as const;

/** EntryKind is one of {@link entryKind}'s values. */
export type EntryKind = (typeof entryKind)[keyof typeof entryKind];

/**
 * Entry is one log entry. Command entries use clientId, sequence and command;
 * config entries use voters, outgoing and learners; the other fields are empty.
 */
export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly kind: number;
  readonly clientId: NodeId;
  readonly sequence: number;
  readonly command: Uint8Array;
  readonly voters: readonly NodeId[];
  readonly outgoing: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

/** AppendEntries replicates entries after (prevLogIndex, prevLogTerm) and carries the commit index (§5.3). */
export interface AppendEntries {
  readonly type: "appendEntries";
  readonly term: number;
  readonly prevLogIndex: number;
  readonly prevLogTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
  readonly readContext: number;
}

/** AppendResponse acknowledges a match up to `index`, or rejects with a conflict hint for fast back-off. */
export interface AppendResponse {
  readonly type: "appendResponse";
  readonly term: number;
  readonly index: number;
  readonly reject: boolean;
  readonly rejectHint: number;
  readonly logTerm: number;
  readonly readContext: number;
}

/** Heartbeat keeps followers from campaigning, carries the commit index and confirms leadership for reads. */
export interface Heartbeat {
  readonly type: "heartbeat";
  readonly term: number;
  readonly commit: number;
  readonly readContext: number;
}

/** HeartbeatResponse answers a heartbeat, echoing its read context. */
export interface HeartbeatResponse {
  readonly type: "heartbeatResponse";
  readonly term: number;
  readonly readContext: number;
}

/** RequestVote asks for a vote (§5.2), or a pre-vote (thesis §9.6) when `preVote` is set. */
export interface RequestVote {
  readonly type: "requestVote";
  readonly term: number;
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
  readonly preVote: boolean;
  /** transfer marks a campaign started by TimeoutNow, which may disrupt a live leader (thesis §3.10). */
  readonly transfer: boolean;
}

/**
 * VoteResponse grants or rejects a vote or pre-vote, and carries the voter's
 * commit index with the term of its entry there (a commit hint, see raft.proto).
 */
export interface VoteResponse {
  readonly type: "voteResponse";
  readonly term: number;
  readonly reject: boolean;
  readonly preVote: boolean;
  readonly commit: number;
  readonly commitTerm: number;
}

/** InstallSnapshot carries one chunk of the leader's snapshot to a follower that fell behind its log (§7). */
export interface InstallSnapshot {
  readonly type: "installSnapshot";
  readonly term: number;
  readonly snapshotIndex: number;
  readonly snapshotTerm: number;
  readonly voters: readonly NodeId[];
  readonly outgoing: readonly NodeId[];
  readonly learners: readonly NodeId[];
  readonly offset: number;
  readonly data: Uint8Array;
  readonly done: boolean;
  readonly totalBytes: number;
}

/** SnapshotResponse asks for the chunk of snapshot `snapshotIndex` that starts at `offset`. */
export interface SnapshotResponse {
  readonly type: "snapshotResponse";
  readonly term: number;
  readonly snapshotIndex: number;
  readonly offset: number;
}

/** TimeoutNow tells the target of a leadership transfer to start an election now (thesis §3.10). */
export interface TimeoutNow {
  readonly type: "timeoutNow";
  readonly term: number;
}

/** ClientRequest is a client's session request (thesis §6.3). */
export interface ClientRequest {
  readonly type: "clientRequest";
  readonly clientId: NodeId;
  readonly sequence: number;
  readonly command: Uint8Array;
  readonly readOnly: boolean;
}

/** ClientReply is the leader's answer to request `sequence`. */
export interface ClientReply {
  readonly type: "clientReply";
  readonly sequence: number;
  readonly result: Uint8Array;
}

/** NotLeader tells a client to try elsewhere, with the replica's guess of the leader. */
export interface NotLeader {
  readonly type: "notLeader";
  readonly sequence: number;
  readonly hasLeaderHint: boolean;
  readonly leaderHint: NodeId;
}

/** PeerMessage is every message replicas exchange among themselves. */
export type PeerMessage =
  | AppendEntries
  | AppendResponse
  | Heartbeat
  | HeartbeatResponse
  | RequestVote
  | VoteResponse
  | InstallSnapshot
  | SnapshotResponse
  | TimeoutNow;

/** RaftMessage is every message Raft sends, defined once in `raft.proto`. */
export type RaftMessage = PeerMessage | ClientRequest | ClientReply | NotLeader;

/** raftCodec encodes Raft messages with protobufjs. */
export const raftCodec = createProtobufCodec<RaftMessage>(descriptor, "concord.raft.RaftMessage");
