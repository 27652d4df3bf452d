import type { AlgorithmDefinition, ReadLevel } from "@concord/core";
import { pbftByzantineStrategies, pbftChaosStrategies, pbftLeaderStrategies } from "./byzantine.ts";
import { createPbftByzantineClient, pbftByzantineClientStrategies } from "./byzantine-client.ts";
import { createPbftClient } from "./client.ts";
import { pbftCodec, type PbftMessage } from "./messages.ts";
import { createPbftMonitors } from "./monitor.ts";
import { pbftOptionsSchema } from "./options.ts";
import { clusterSizeError } from "./quorum.ts";
import { PbftReplica } from "./replica.ts";
import { createPbftPathCounter, pbftHardPaths, pbftOptionSpace } from "./swarm.ts";

const checkpointIntervalSeqsDefault = pbftOptionsSchema.parse({}).checkpointIntervalSeqs;

/**
 * pbftMessagesPerBatch counts the messages one batch of `batchSize` writes
 * costs in the normal case with n replicas (docs/pbft.md): b requests, n-1
 * pre-prepares, (n-1)^2 prepares, n(n-1) commits, b*n replies, plus a share
 * n(n-1)/K of the checkpoint messages sent every K sequence numbers.
 */
export function pbftMessagesPerBatch(n: number, batchSize: number, checkpointIntervalSeqs: number = checkpointIntervalSeqsDefault): number {
  return batchSize + (n - 1) + (n - 1) * (n - 1) + n * (n - 1) + batchSize * n + (n * (n - 1)) / checkpointIntervalSeqs;
}

/**
 * pbftServedReadLevel: PBFT has no leases, so a lease read is served as a linearizable one (2f+1 matching read-only
 * replies, or ordered like a write); a stale read takes the first authentic reply of any replica.
 */
export function pbftServedReadLevel(requested: ReadLevel): ReadLevel {
  return requested === "stale" ? "stale" : "linearizable";
}

/** pbft is PBFT's {@link AlgorithmDefinition}: `--algo pbft`. */
export const pbft: AlgorithmDefinition<PbftMessage> = {
  name: "pbft",
  description: "Practical Byzantine Fault Tolerance (Castro and Liskov 1999/2002): n = 3f+1 replicas tolerate f Byzantine ones.",
  faultModel: "byzantine",
  codec: pbftCodec,
  clusterSizeError,
  replicasToTolerate: (f) => 3 * f + 1,
  faultsTolerated: (n) => Math.max(0, Math.floor((n - 1) / 3)),
  createReplica: (context) => new PbftReplica(context),
  createClient: (context) => createPbftClient(context),
  createByzantineClient: (context, strategy) => createPbftByzantineClient(context, strategy),
  createMonitors: () => createPbftMonitors(),
  byzantineStrategies: pbftByzantineStrategies,
  optionSpace: pbftOptionSpace,
  hardPaths: pbftHardPaths,
  createPathCounter: () => createPbftPathCounter(),
  analyticMessagesPerOp: (n, batchSize) => pbftMessagesPerBatch(n, batchSize) / batchSize,
  oneWayDelaysPerOp: 5,
  servedReadLevel: pbftServedReadLevel,
  // Chaos plays liars (replicas, and a client that borrows other clients' sessions) against the checks of issue 21's
  // planted bugs, and starves a few replicas of checkpoints and state
  // transfer, or of commits, for a long window (bugs 3 and 8); the liars get an ally in the network, and a client
  // restarts in a loop; a split starvation lets one replica hear only checkpoints and state transfer while others
  // hear neither, and then crashes f replicas that vouched, for good (bug 8); a replica that enters a view whose
  // NEW-VIEW chose a checkpoint above its stable one crashes soon after (bug 3 after a restart).
  chaosFaults: {
    byzantineStrategies: pbftChaosStrategies,
    leaderStrategies: pbftLeaderStrategies,
    byzantineClientStrategies: pbftByzantineClientStrategies,
    lossGroups: [["checkpoint", "fetchState", "stateTransfer"], ["commit"]],
    stateTransferTypes: ["checkpoint", "fetchState", "stateTransfer"],
    clientRestartLoops: true,
    crashPaths: ["checkpoint-from-new-view"],
  },
};
