/** @module @concord/leaderless */
// @concord/leaderless: leaderless replicated stores behind core's Replica interface, the AP baselines beside the
// consensus algorithms (docs/leaderless.md): `eventual`, a last-writer-wins register per key with hybrid logical
// clocks and anti-entropy; `quorum`, Dynamo-style N/R/W replication with an ABD `atomic` option.
export { eventual, eventualMessagesPerOp, quorum, quorumMessagesPerOp } from "./algorithm.ts";
export { QuorumReplica, type QuorumCounters, type QuorumRejectionReason } from "./quorum.ts";
export { EventualReplica, type EventualCounters, type EventualRejectionReason } from "./eventual.ts";
export { EventualClient, QuorumClient, createEventualClient, createQuorumClient } from "./client.ts";
export { eventualOptionsSchema, type EventualOptions, quorumOptionsSchema, type QuorumOptions } from "./options.ts";
export { ConvergenceMonitor, createEventualMonitors, createQuorumMonitors, convergenceBoundUs } from "./monitor.ts";
export { HybridClock, compareStamps, type Stamp } from "./stamp.ts";
export { LwwStore } from "./store.ts";
export {
  leaderlessCodec,
  eventualCodec,
  quorumCodec,
  type EventualMessage,
  type QuorumMessage,
  leaderlessRecordCodec,
  type LeaderlessMessage,
  type LeaderlessEntry,
  type LeaderlessStamp,
  type LeaderlessUpdate,
  type LeaderlessDigest,
  type LeaderlessRepair,
  type LeaderlessRecord,
  type QuorumRead,
  type QuorumReadReply,
  type QuorumWrite,
  type QuorumAck,
  type StampFields,
} from "./messages.ts";
