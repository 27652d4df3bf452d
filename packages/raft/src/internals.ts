/** @module @concord/raft/internals */
// @concord/raft/internals: the pieces of Raft that tests, benchmarks and people studying the protocol
// reach for, behind their own export path so that the package's public face stays the one every
// protocol shares. Nothing here is needed to run Raft: the definition `raft` wires it all.
export { planConfigChange, type ConfigPlan } from "./cluster-config.ts";
export { type RaftSnapshot, encodeSnapshot, decodeSnapshot, decodeRecord, type DurableRecord } from "./records.ts";
export { LeaderPerTermMonitor, CommittedEntryMonitor, ConfigurationMonitor } from "./monitors.ts";
export { majorityIndex, jointIndex, majorityVote, jointVote, majoritySize, type VoteResult } from "./quorum.ts";
export { Progress, Inflights, type ProgressState } from "./progress.ts";
