/** @module @concord/multipaxos/internals */
// @concord/multipaxos/internals: the pieces of Multi-Paxos that tests, benchmarks and people studying
// the protocol reach for, behind their own export path so that the package's public face stays the one
// every protocol shares. Nothing here is needed to run Multi-Paxos: the definition `multipaxos` wires it all.
export { multiPaxosMessagesPerOp } from "./algorithm.ts";
export { ConfigurationHistory, type EffectiveConfiguration } from "./configuration.ts";
export { OneValuePerSlotMonitor } from "./monitor.ts";
export { LeaderLease, LeaseGrant, safeLeaseTicks } from "./lease.ts";
export { compareBallots, ballotEquals, formatBallot, zeroBallot } from "./ballot.ts";
export { validateMessage, type MultiPaxosMessageRejection } from "./validate.ts";
export {
  multiPaxosRecordCodec,
  type MultiPaxosRecord,
  type PromiseRecord,
  type AcceptanceRecord,
  type SnapshotRecord,
} from "./messages.ts";
