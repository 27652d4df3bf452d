import { createProtobufCodec, type ClientWireMessage, type NodeId } from "@concord/core";
import { createRaftCodec } from "./codec.ts";
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
 * Entry is one log entry. Command entries use clientId, session, sequence and command;
 * config entries use voters, outgoing and learners; the other fields are empty.
 */
export interface Entry {
  /** term is the term of the leader that created the entry (§5.3). */
  readonly term: number;
  /** index is the entry's position in the log, from 1. */
  readonly index: number;
  /** kind is one of {@link entryKind}. */
  readonly kind: number;
  /** clientId is the client the command's reply goes to (command entries). */
  readonly clientId: NodeId;
  /** session is the client object's session key, the session table's key (command entries, thesis §6.3). */
  readonly session: number;
  /** sequence is the request's number in its session, for exactly-once execution (thesis §6.3). */
  readonly sequence: number;
  /** command is the encoded state machine command (command entries). */
  readonly command: Uint8Array;
  /** voters are the voters of the configuration the entry installs (config entries). */
  readonly voters: readonly NodeId[];
  /** outgoing are the old voters while the configuration is joint, else empty (thesis §4.3). */
  readonly outgoing: readonly NodeId[];
  /** learners are the non-voting members of the configuration the entry installs. */
  readonly learners: readonly NodeId[];
}

/** RaftAppendEntries replicates entries after (prevLogIndex, prevLogTerm) and carries the commit index (§5.3). */
export interface RaftAppendEntries {
  /** type is the message kind. */
  readonly type: "appendEntries";
  /** term is the leader's term. */
  readonly term: number;
  /** prevLogIndex is the index of the entry just before `entries`. */
  readonly prevLogIndex: number;
  /** prevLogTerm is the term of the entry at prevLogIndex, for the consistency check (§5.3). */
  readonly prevLogTerm: number;
  /** entries are the entries to append, consecutive from prevLogIndex + 1 (empty for a probe). */
  readonly entries: readonly Entry[];
  /** commit is the leader's commit index. */
  readonly commit: number;
  /** readContext is the leader's latest read context, echoed back to confirm leadership for reads (thesis §6.4). */
  readonly readContext: number;
}

/** RaftAppendResponse acknowledges a match up to `index`, or rejects with a conflict hint for fast back-off. */
export interface RaftAppendResponse {
  /** type is the message kind. */
  readonly type: "appendResponse";
  /** term is the follower's term. */
  readonly term: number;
  /** index is on success the last index the follower now matches; on rejection the rejected prevLogIndex. */
  readonly index: number;
  /** reject is whether the consistency check failed. */
  readonly reject: boolean;
  /** rejectHint is on rejection, the last index at or below prevLogIndex whose term is at most prevLogTerm. */
  readonly rejectHint: number;
  /** logTerm is on rejection, the term of the entry at rejectHint. */
  readonly logTerm: number;
  /** readContext is the read context of the append this answers. */
  readonly readContext: number;
}

/** RaftHeartbeat keeps followers from campaigning, carries the commit index and confirms leadership for reads. */
export interface RaftHeartbeat {
  /** type is the message kind. */
  readonly type: "heartbeat";
  /** term is the leader's term. */
  readonly term: number;
  /** commit is min(the follower's match, the leader's commit index): what the follower may commit. */
  readonly commit: number;
  /** readContext is the leader's latest read context (thesis §6.4). */
  readonly readContext: number;
}

/** RaftHeartbeatResponse answers a heartbeat, echoing its read context. */
export interface RaftHeartbeatResponse {
  /** type is the message kind. */
  readonly type: "heartbeatResponse";
  /** term is the follower's term. */
  readonly term: number;
  /** readContext is the read context of the heartbeat this answers. */
  readonly readContext: number;
}

/** RaftRequestVote asks for a vote (§5.2), or a pre-vote (thesis §9.6) when `preVote` is set. */
export interface RaftRequestVote {
  /** type is the message kind. */
  readonly type: "requestVote";
  /** term is the term the candidate campaigns in (for a pre-vote, the term it would campaign in). */
  readonly term: number;
  /** lastLogIndex is the index of the candidate's last entry (§5.4.1). */
  readonly lastLogIndex: number;
  /** lastLogTerm is the term of the candidate's last entry (§5.4.1). */
  readonly lastLogTerm: number;
  /** preVote is whether this is a pre-vote, which binds the voter to nothing (thesis §9.6). */
  readonly preVote: boolean;
  /** transfer marks a campaign started by TimeoutNow, which may disrupt a live leader (thesis §3.10). */
  readonly transfer: boolean;
}

/**
 * RaftVoteResponse grants or rejects a vote or pre-vote, and carries the voter's
 * commit index with the term of its entry there (a commit hint, see raft.proto).
 */
export interface RaftVoteResponse {
  /** type is the message kind. */
  readonly type: "voteResponse";
  /** term is the voter's term, or the pre-vote's term when a pre-vote is granted. */
  readonly term: number;
  /** reject is whether the vote is refused. */
  readonly reject: boolean;
  /** preVote is whether this answers a pre-vote. */
  readonly preVote: boolean;
  /** commit is the voter's commit index. */
  readonly commit: number;
  /** commitTerm is the term of the voter's entry at commit. */
  readonly commitTerm: number;
}

/** RaftInstallSnapshot carries one chunk of the leader's snapshot to a follower that fell behind its log (§7). */
export interface RaftInstallSnapshot {
  /** type is the message kind. */
  readonly type: "installSnapshot";
  /** term is the leader's term. */
  readonly term: number;
  /** snapshotIndex is the last index the snapshot covers. */
  readonly snapshotIndex: number;
  /** snapshotTerm is the term of the entry at snapshotIndex. */
  readonly snapshotTerm: number;
  /** voters are the voters of the configuration in force at snapshotIndex. */
  readonly voters: readonly NodeId[];
  /** outgoing are the old voters, if that configuration is joint. */
  readonly outgoing: readonly NodeId[];
  /** learners are the learners of that configuration. */
  readonly learners: readonly NodeId[];
  /** offset is where this chunk starts in the snapshot's data. */
  readonly offset: number;
  /** data is the chunk, at most messageBytesMax bytes. */
  readonly data: Uint8Array;
  /** done is whether this is the last chunk. */
  readonly done: boolean;
  /** totalBytes is the size of the whole snapshot's data. */
  readonly totalBytes: number;
}

/** RaftSnapshotResponse asks for the chunk of snapshot `snapshotIndex` that starts at `offset`. */
export interface RaftSnapshotResponse {
  /** type is the message kind. */
  readonly type: "snapshotResponse";
  /** term is the follower's term. */
  readonly term: number;
  /** snapshotIndex is the snapshot the follower is receiving. */
  readonly snapshotIndex: number;
  /** offset is the offset of the next chunk the follower wants. */
  readonly offset: number;
}

/** RaftTimeoutNow tells the target of a leadership transfer to start an election now (thesis §3.10). */
export interface RaftTimeoutNow {
  /** type is the message kind. */
  readonly type: "timeoutNow";
  /** term is the leader's term. */
  readonly term: number;
}

/** RaftPeerMessage is every message replicas exchange among themselves. */
export type RaftPeerMessage =
  | RaftAppendEntries
  | RaftAppendResponse
  | RaftHeartbeat
  | RaftHeartbeatResponse
  | RaftRequestVote
  | RaftVoteResponse
  | RaftInstallSnapshot
  | RaftSnapshotResponse
  | RaftTimeoutNow;

/**
 * RaftMessage is every message Raft sends, defined once in `raft.proto`: the
 * peer messages and core's client wire (thesis §6), which the shared
 * LeaderClient speaks.
 */
export type RaftMessage = RaftPeerMessage | ClientWireMessage;

/** raftProtobufCodec encodes Raft messages with protobufjs, as raft.proto's RaftMessage: the reference raftCodec matches. */
export const raftProtobufCodec = createProtobufCodec<RaftMessage>(descriptor, "concord.raft.RaftMessage");

/**
 * raftCodec encodes Raft messages as raft.proto's RaftMessage: by hand (codec.ts) to the bytes and objects
 * protobufjs gives, which it leaves the frames and values outside the canonical encoding to (issue 18).
 */
export const raftCodec = createRaftCodec(raftProtobufCodec);
