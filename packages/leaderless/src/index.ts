/** @module @concord/leaderless */
// @concord/leaderless: leaderless replicated stores behind core's Replica interface, the AP baselines beside the
// consensus algorithms (docs/leaderless.md): `eventual`, a last-writer-wins register per key with hybrid logical
// clocks and anti-entropy.
export { eventual, eventualMessagesPerOp } from "./algorithm.ts";
export { EventualReplica, type EventualCounters, type EventualRejectionReason } from "./eventual.ts";
export { EventualClient } from "./client.ts";
export { eventualOptionsSchema, type EventualOptions } from "./options.ts";
export { ConvergenceMonitor, createEventualMonitors, convergenceBoundUs } from "./monitor.ts";
export { HybridClock, compareStamps, type Stamp } from "./stamp.ts";
export { LwwStore } from "./store.ts";
export {
  leaderlessCodec,
  leaderlessRecordCodec,
  type LeaderlessMessage,
  type LeaderlessEntry,
  type LeaderlessStamp,
  type LeaderlessUpdate,
  type LeaderlessDigest,
  type LeaderlessRepair,
  type LeaderlessRecord,
  type StampFields,
} from "./messages.ts";
