import { type AlgorithmDefinition, parseConfig } from "@concord/core";
import { createEventualClient, createQuorumClient } from "./client.ts";
import { EventualReplica } from "./eventual.ts";
import { type LeaderlessMessage, eventualCodec, quorumCodec } from "./messages.ts";
import { createEventualMonitors, createQuorumMonitors } from "./monitor.ts";
import { quorumOptionsSchema } from "./options.ts";
import { QuorumReplica } from "./quorum.ts";

/**
 * eventualMessagesPerOp is the message count of a write (docs/leaderless.md): the client's request, an Update to
 * each peer, and the reply; a get costs only the request and the reply, and anti-entropy's digests and repairs are
 * periodic, not per operation. Writes are not batched, so `batchSize` changes nothing.
 */
export function eventualMessagesPerOp(n: number, _batchSize: number): number {
  return n + 1;
}

/** eventual is the last-writer-wins store's {@link AlgorithmDefinition}: an AP baseline beside the consensus algorithms. */
export const eventual: AlgorithmDefinition<LeaderlessMessage> = {
  name: "eventual",
  description:
    "Eventually consistent last-writer-wins store (hybrid logical clocks, anti-entropy): every replica answers at once, on both sides of a partition, and may be stale (an AP baseline; promises convergence, not linearizability).",
  faultModel: "crash",
  codec: eventualCodec,
  clusterSizeError: (n) => (Number.isInteger(n) && n >= 1 ? undefined : `eventual needs at least 1 node, not ${n}`),
  // Every replica serves alone: n replicas keep serving with n - 1 down, but what they serve may be stale.
  replicasToTolerate: (f) => f + 1,
  faultsTolerated: (n) => n - 1,
  createReplica: (context) => new EventualReplica(context),
  createClient: (context) => createEventualClient(context),
  createMonitors: () => createEventualMonitors(),
  byzantineStrategies: [],
  analyticMessagesPerOp: eventualMessagesPerOp,
  // client -> replica, replica -> client: a write is answered before it spreads.
  oneWayDelaysPerOp: 2,
  kvSemantics: "registers",
  promisesLinearizability: () => false,
  // Whatever a read asks for, the replica it reaches answers at once from its own state.
  servedReadLevel: () => "stale",
};

/**
 * quorumMessagesPerOp is the message count of a plain write of `quorum` (docs/leaderless.md): the client's request,
 * a QuorumWrite to each peer, an ack from each, and the reply (2n); a plain get costs the same (QuorumRead and its
 * replies). `atomic` adds a second round to every operation (4n - 2), which this count, taking no options, leaves out.
 */
export function quorumMessagesPerOp(n: number, _batchSize: number): number {
  return 2 * n;
}

/** quorum is the Dynamo-style store's {@link AlgorithmDefinition}: N/R/W quorums, read repair, and ABD's `atomic` option. */
export const quorum: AlgorithmDefinition<LeaderlessMessage> = {
  name: "quorum",
  description:
    "Dynamo-style leaderless replication (N, R, W quorums, read repair, anti-entropy): the replica a client reaches coordinates; with atomic, multi-writer ABD makes get/put linearizable (a delete's existed answer is not, so it promises no linearizability).",
  faultModel: "crash",
  codec: quorumCodec,
  clusterSizeError: (n) => (Number.isInteger(n) && n >= 1 ? undefined : `quorum needs at least 1 node, not ${n}`),
  // With the default majority quorums, a minority may be down; smaller r and w tolerate more, and promise less.
  replicasToTolerate: (f) => 2 * f + 1,
  faultsTolerated: (n) => Math.floor((n - 1) / 2),
  createReplica: (context) => new QuorumReplica(context),
  createClient: (context) => createQuorumClient(context),
  createMonitors: () => createQuorumMonitors(),
  byzantineStrategies: [],
  analyticMessagesPerOp: quorumMessagesPerOp,
  // client -> coordinator -> replicas -> coordinator -> client.
  oneWayDelaysPerOp: 4,
  kvSemantics: "registers",
  // Not even with atomic: atomic makes get and put linearizable (ABD; R and W raised to a majority), but a delete
  // answers whether the key existed, a test-and-set of consensus number 2 (Herlihy 1991) that no emulation of
  // registers makes atomic, and the workloads draw deletes (docs/leaderless.md). The tests check get/put with
  // the deletes' answers masked.
  promisesLinearizability: () => false,
  // A get of R replicas may miss a write acknowledged by W others (stale unless R + W > N, and even then a read may
  // see a write in progress and a later one miss it); with atomic, ABD's write-back makes every get linearizable.
  servedReadLevel: (_requested, options) => (parseConfig(quorumOptionsSchema, options, "quorum").atomic ? "linearizable" : "stale"),
};
