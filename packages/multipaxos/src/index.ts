/** @module @concord/multipaxos */
// @concord/multipaxos: Multi-Paxos as a deterministic, I/O-free replica behind core's Replica interface.
// The public face every protocol package shares (docs/architecture.md, "A protocol's public face");
// the advanced pieces (leases, ballot arithmetic, message validation, the configuration history,
// the durable records, the monitor on its own) are in @concord/multipaxos/internals.
export { multipaxos } from "./algorithm.ts";
export { MultiPaxosReplica, type MultiPaxosRole, type MultiPaxosCounters, type ReconfigureResult, type AcceptedValue } from "./replica.ts";
export { MultiPaxosClient, createMultiPaxosClient } from "./client.ts";
export { multiPaxosOptionsSchema, type MultiPaxosOptions } from "./options.ts";
export { createMultiPaxosMonitors } from "./monitor.ts";
export { type Ballot } from "./ballot.ts";
export { type MultiPaxosRejectionReason } from "./validate.ts";
export {
  multiPaxosCodec,
  type MultiPaxosMessage,
  type MultiPaxosPrepare,
  type MultiPaxosPromise,
  type MultiPaxosNack,
  type MultiPaxosAccept,
  type MultiPaxosAccepted,
  type MultiPaxosHeartbeat,
  type MultiPaxosHeartbeatAck,
  type MultiPaxosCatchupRequest,
  type MultiPaxosChosen,
  type MultiPaxosSnapshotTransfer,
  type Command,
  type Value,
  type Configuration,
  type SlotValue,
  type BallotFields,
} from "./messages.ts";
