import type { AlgorithmDefinition } from "@concord/core";
import { createPaxosClient } from "./client.ts";
import { type PaxosMessage, paxosCodec } from "./messages.ts";
import { createPaxosMonitors } from "./monitor.ts";
import { PaxosReplica } from "./replica.ts";
import { createPaxosPathCounter, paxosHardPaths, paxosOptionSpace } from "./swarm.ts";

/**
 * paxosMessagesPerOp is the message count of a put that finds its key
 * without a value (docs/paxos.md): a Prepare and a Promise per peer, an
 * Accept and an Accepted per peer, a Chosen to each peer, and the client's
 * request and reply. There is no batching (each key is its own instance), so
 * `batchSize` changes nothing; a get or put of a key already learned costs
 * only the request and the reply.
 */
export function paxosMessagesPerOp(n: number, _batchSize: number): number {
  return 5 * (n - 1) + 2;
}

/** paxos is single-decree Paxos's {@link AlgorithmDefinition}: a write-once register per key. */
export const paxos: AlgorithmDefinition<PaxosMessage> = {
  name: "paxos",
  description: "Single-decree Paxos, one instance per key: the first put chosen is the key's value for ever, a write-once register (tolerates f crashes with 2f+1 nodes).",
  faultModel: "crash",
  codec: paxosCodec,
  clusterSizeError: (n) => (Number.isInteger(n) && n >= 1 ? undefined : `paxos needs at least 1 node, not ${n}`),
  replicasToTolerate: (f) => 2 * f + 1,
  faultsTolerated: (n) => Math.floor((n - 1) / 2),
  createReplica: (context) => new PaxosReplica(context),
  createClient: (context) => createPaxosClient(context),
  createMonitors: () => createPaxosMonitors(),
  byzantineStrategies: [],
  optionSpace: paxosOptionSpace,
  hardPaths: paxosHardPaths,
  createPathCounter: () => createPaxosPathCounter(),
  analyticMessagesPerOp: paxosMessagesPerOp,
  // client -> replica, Prepare, Promise, Accept, Accepted, replica -> client.
  oneWayDelaysPerOp: 6,
  // No leases: a lease read runs a ballot as a linearizable one does; a stale get answers from what the replica learned.
  servedReadLevel: (requested) => (requested === "stale" ? "stale" : "linearizable"),
  kvSemantics: "write-once",
};
