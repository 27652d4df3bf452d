/** @module @concord/paxos */
// @concord/paxos: single-decree Paxos (Paxos Made Simple §2), one instance per key, as a deterministic,
// I/O-free replica behind core's Replica interface. The public face every protocol package shares
// (docs/architecture.md, "A protocol's public face"); the advanced pieces (ballot arithmetic, message
// validation, the durable records, the monitors on their own, the swarm's option space) are in
// @concord/paxos/internals.
export { paxos } from "./algorithm.ts";
export { PaxosReplica, type PaxosCounters } from "./replica.ts";
export { PaxosClient, createPaxosClient } from "./client.ts";
export { paxosOptionsSchema, type PaxosOptions } from "./options.ts";
export { createPaxosMonitors } from "./monitor.ts";
export { type PaxosRejectionReason } from "./validate.ts";
export {
  paxosCodec,
  type PaxosMessage,
  type PaxosPrepare,
  type PaxosPromise,
  type PaxosNack,
  type PaxosAccept,
  type PaxosAccepted,
  type PaxosChosen,
} from "./messages.ts";
