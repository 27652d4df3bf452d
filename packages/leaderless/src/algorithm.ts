import type { AlgorithmDefinition } from "@concord/core";
import { EventualClient } from "./client.ts";
import { EventualReplica } from "./eventual.ts";
import { type LeaderlessMessage, leaderlessCodec } from "./messages.ts";
import { createEventualMonitors } from "./monitor.ts";

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
  codec: leaderlessCodec,
  clusterSizeError: (n) => (Number.isInteger(n) && n >= 1 ? undefined : `eventual needs at least 1 node, not ${n}`),
  // Every replica serves alone: n replicas keep serving with n - 1 down, but what they serve may be stale.
  replicasToTolerate: (f) => f + 1,
  faultsTolerated: (n) => n - 1,
  createReplica: (context) => new EventualReplica(context),
  createClient: (context) => new EventualClient(context),
  createMonitors: () => createEventualMonitors(),
  byzantineStrategies: [],
  analyticMessagesPerOp: eventualMessagesPerOp,
  // client -> replica, replica -> client: a write is answered before it spreads.
  oneWayDelaysPerOp: 2,
  kvSemantics: "registers",
  promisesLinearizability: () => false,
};
