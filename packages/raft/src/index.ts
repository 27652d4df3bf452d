// @concord/raft: Raft as a deterministic, I/O-free replica behind core's Replica interface.
export { raft } from "./algorithm.ts";
export { RaftReplica, type RaftRole, type RaftRejectionReason, type ProposalResult, type TransferResult, type ConfigChangeOptions } from "./raft.ts";
export { RaftClient, createRaftClient, raftClientAdapter } from "./client.ts";
export { leaseTicks, raftOptionsSchema, type RaftOptions } from "./options.ts";
export {
  raftCodec,
  entryKind,
  type EntryKind,
  type Entry,
  type RaftMessage,
  type PeerMessage,
  type AppendEntries,
  type AppendResponse,
  type Heartbeat,
  type HeartbeatResponse,
  type RequestVote,
  type VoteResponse,
  type InstallSnapshot,
  type SnapshotResponse,
  type TimeoutNow,
  type ClientRequest,
  type ClientReply,
  type NotLeader,
} from "./messages.ts";
export { type ClusterConfig, type ConfigChange, planConfigChange } from "./cluster-config.ts";
export { type HardState, type RaftSnapshot, encodeSnapshot, decodeSnapshot } from "./records.ts";
export { LeaderPerTermMonitor, CommittedEntryMonitor, createRaftMonitors } from "./monitors.ts";
export { majorityIndex, jointIndex, majorityVote, jointVote, majoritySize, type VoteResult } from "./quorum.ts";
export { Progress, Inflights, type ProgressState } from "./progress.ts";
