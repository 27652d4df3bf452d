/** @module @concord/raft */
// @concord/raft: Raft as a deterministic, I/O-free replica behind core's Replica interface.
// The public face every protocol package shares (docs/architecture.md, "A protocol's public face");
// the advanced pieces (progress tracking, in-flight windows, quorum arithmetic, configuration
// planning, the snapshot record codec, each monitor on its own) are in @concord/raft/internals.
export { raft, raftServedReadLevel } from "./algorithm.ts";
export { RaftReplica, type RaftRole, type RaftRejectionReason, type ProposalResult, type TransferResult, type ConfigChangeOptions } from "./raft.ts";
export { RaftClient, createRaftClient } from "./client.ts";
export { leaseTicks, raftOptionsSchema, type RaftOptions } from "./options.ts";
export {
  raftCodec,
  entryKind,
  type EntryKind,
  type Entry,
  type RaftMessage,
  type RaftPeerMessage,
  type RaftAppendEntries,
  type RaftAppendResponse,
  type RaftHeartbeat,
  type RaftHeartbeatResponse,
  type RaftRequestVote,
  type RaftVoteResponse,
  type RaftInstallSnapshot,
  type RaftSnapshotResponse,
  type RaftTimeoutNow,
} from "./messages.ts";
export { type ClusterConfig, type ConfigChange } from "./cluster-config.ts";
export { type HardState } from "./records.ts";
export { createRaftMonitors } from "./monitors.ts";
