/** @module @concord/pbft/internals */
// @concord/pbft/internals: the pieces of PBFT that tests, benchmarks and people studying the protocol
// reach for, behind their own export path so that the package's public face stays the one every
// protocol shares. Nothing here is needed to run PBFT: the definition `pbft` wires it all.
export { pbftMessagesPerBatch } from "./algorithm.ts";
export { parsePbftOptions } from "./options.ts";
export { Quorums, clusterSizeError } from "./quorum.ts";
export { Authenticator, authenticatedBytes, type AuthenticationMode } from "./authenticator.ts";
export { decideNewView, type NewViewDecision } from "./view-change.ts";
export { PbftAgreementMonitor, PbftDurableWatermarkMonitor, agreementInvariant, durableWatermarkInvariant } from "./monitor.ts";
export {
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
export { encodeBatch, encodeDurableRecord, decodeDurableRecord, pbftCodec, pbftProtobufCodec, type DurableRecord } from "./messages.ts";
export { descriptor as pbftProtoDescriptor } from "./pbft-proto.generated.ts";
export { sealedBytesOf, sealless } from "./sealed-bytes.ts";
