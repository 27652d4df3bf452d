/** @module @concord/vr/internals */
// @concord/vr/internals: the pieces of VR that tests, benchmarks and people studying the protocol reach for, behind
// their own export path so that the package's public face stays the one every protocol shares. Nothing here is
// needed to run VR: the definition `vr` wires it all.
export { vrMessagesPerOp } from "./algorithm.ts";
export { isBetterLog } from "./replica.ts";
export { OneOpPerNumberMonitor, OnePrimaryPerViewMonitor, EpochMonitor } from "./monitor.ts";
export { validateMessage, lastOpOf, type VrMessageRejection } from "./validate.ts";
export { vrOptionSpace, vrHardPaths, vrCrashAllowed } from "./swarm.ts";
export { vrAdmin } from "./algorithm.ts";
export { startEpochError } from "./validate.ts";
export { vrRecordCodec, type VrRecord, type ViewRecord, type EntriesRecord, type SnapshotRecord } from "./messages.ts";
