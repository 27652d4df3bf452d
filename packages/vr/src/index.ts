/** @module @concord/vr */
// @concord/vr: Viewstamped Replication (Liskov and Cowling 2012) as a deterministic, I/O-free replica behind core's
// Replica interface. The public face every protocol package shares (docs/architecture.md, "A protocol's public face");
// the advanced pieces (message validation, the durable records, the monitors on their own) are in @concord/vr/internals.
export { vr } from "./algorithm.ts";
export { VrReplica, type VrStatus, type VrCounters, type VrReconfigureResult, epochOfView, firstViewOfEpoch } from "./replica.ts";
export { VrClient, createVrClient } from "./client.ts";
export { vrOptionsSchema, type VrOptions } from "./options.ts";
export { createVrMonitors } from "./monitor.ts";
export { type VrRejectionReason } from "./validate.ts";
export {
  vrCodec,
  type VrMessage,
  type VrPrepare,
  type VrPrepareOk,
  type VrCommit,
  type VrStartViewChange,
  type VrDoViewChange,
  type VrStartView,
  type VrGetState,
  type VrNewState,
  type VrRecovery,
  type VrRecoveryResponse,
  type VrStartEpoch,
  type VrEpochStarted,
  type VrCommand,
  type VrEntry,
  type VrLogSuffix,
} from "./messages.ts";
