/** @module @concord/pbft */
// @concord/pbft: Practical Byzantine Fault Tolerance as a deterministic, I/O-free replica.
// The public face every protocol package shares (docs/architecture.md, "A protocol's public face");
// the advanced pieces (quorum arithmetic, the authenticator, the view-change decision, each Byzantine
// strategy on its own) are in @concord/pbft/internals.
export { pbft } from "./algorithm.ts";
export { PbftReplica, type CommittedEntry, type PbftRejectionReason } from "./replica.ts";
export { PbftClient, createPbftClient } from "./client.ts";
export { PbftByzantineClient, createPbftByzantineClient, pbftByzantineClientStrategies } from "./byzantine-client.ts";
export { pbftOptionsSchema, type PbftOptions } from "./options.ts";
export { createPbftMonitors } from "./monitor.ts";
export { pbftByzantineStrategies } from "./byzantine.ts";
export {
  pbftCodec,
  type PbftMessage,
  type PbftReplicaMessage,
  type PbftRequest,
  type PbftReply,
  type PbftPrePrepare,
  type PbftPrepare,
  type PbftCommit,
  type PbftCheckpoint,
  type PbftViewChange,
  type PbftNewView,
  type PbftStatus,
  type PbftFetchState,
  type PbftStateTransfer,
  type CheckpointClaim,
  type PreparedClaim,
  type PrePreparedClaim,
  type NewViewEntry,
} from "./messages.ts";
