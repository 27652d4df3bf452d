// @concord/multipaxos: Multi-Paxos as a deterministic, I/O-free replica behind core's Replica interface.
export { multipaxos, multiPaxosMessagesPerOp } from "./algorithm.ts";
export { MultiPaxosReplica, type MultiPaxosRole, type MultiPaxosCounters, type ReconfigureResult, type AcceptedValue } from "./replica.ts";
export { ConfigurationHistory, type Membership } from "./configuration.ts";
export { createMultiPaxosClient } from "./client.ts";
export { OneValuePerSlotMonitor } from "./monitor.ts";
export { multiPaxosOptionsSchema, type MultiPaxosOptions } from "./options.ts";
export { LeaderLease, LeaseGrant, safeLeaseTicks } from "./lease.ts";
export { type Ballot, compareBallots, ballotEquals, formatBallot, zeroBallot } from "./ballot.ts";
export { validateMessage, type MultiPaxosMessageRejection, type MultiPaxosRejectionReason } from "./validate.ts";
export {
  type MultiPaxosMessage,
  type MultiPaxosRequest,
  type MultiPaxosReply,
  type NotLeaderReply,
  type PrepareMessage,
  type PromiseMessage,
  type NackMessage,
  type AcceptMessage,
  type AcceptedMessage,
  type HeartbeatMessage,
  type HeartbeatAckMessage,
  type CatchupRequestMessage,
  type ChosenMessage,
  type SnapshotTransferMessage,
  type Command,
  type Value,
  type Configuration,
  type SlotValue,
  type BallotFields,
  type MultiPaxosRecord,
  type PromiseRecord,
  type AcceptanceRecord,
  type SnapshotRecord,
  multiPaxosCodec,
  multiPaxosRecordCodec,
} from "./messages.ts";
