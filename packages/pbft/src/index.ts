// @concord/pbft: Practical Byzantine Fault Tolerance as a deterministic, I/O-free replica.
export { pbft, pbftMessagesPerBatch } from "./algorithm.ts";
export { PbftReplica, type CommittedEntry, type PbftRejectionReason } from "./replica.ts";
export { PbftClient } from "./client.ts";
export { pbftOptionsSchema, parsePbftOptions, type PbftOptions } from "./options.ts";
export { Quorums, clusterSizeError } from "./quorum.ts";
export { Authenticator, type AuthenticationMode } from "./authenticator.ts";
export { decideNewView, type NewViewDecision } from "./view-change.ts";
export { PbftAgreementMonitor, agreementInvariant } from "./monitor.ts";
export {
  pbftByzantineStrategies,
  silentStrategy,
  equivocateStrategy,
  corruptDigestsStrategy,
  corruptResultsStrategy,
  corruptMacsStrategy,
  replayStrategy,
  forgeViewChangeStrategy,
  forgeNewViewStrategy,
  slowPrimaryStrategy,
  forgeRequestsStrategy,
  staleReadsStrategy,
  inventReadsStrategy,
} from "./byzantine.ts";
export {
  pbftCodec,
  encodeBatch,
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
