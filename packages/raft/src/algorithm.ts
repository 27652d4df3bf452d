import type { AlgorithmDefinition } from "@concord/core";
import { createRaftClient } from "./client.ts";
import { raftCodec, type RaftMessage } from "./messages.ts";
import { createRaftMonitors } from "./monitors.ts";
import { RaftReplica } from "./raft.ts";
import { createRaftPathCounter, raftHardPaths, raftOptionSpace } from "./swarm.ts";

/**
 * raft is Raft's {@link AlgorithmDefinition}. In steady state a batch costs
 * one append and one acknowledgement per follower, 2(n-1) messages, plus the
 * client's request and reply; a write takes four one-way delays (request,
 * append, acknowledgement, reply).
 */
export const raft: AlgorithmDefinition<RaftMessage> = {
  name: "raft",
  description: "Raft (Ongaro and Ousterhout 2014) with pre-vote, check-quorum, ReadIndex, leadership transfer, snapshots and membership changes.",
  faultModel: "crash",
  codec: raftCodec,
  clusterSizeError: (n) => (Number.isInteger(n) && n >= 1 ? undefined : `raft needs a positive whole number of replicas, not ${n}`),
  replicasToTolerate: (f) => 2 * f + 1,
  faultsTolerated: (n) => Math.floor((n - 1) / 2),
  createReplica: (context) => new RaftReplica(context),
  createClient: (context) => createRaftClient(context),
  createMonitors: () => createRaftMonitors(),
  byzantineStrategies: [],
  optionSpace: raftOptionSpace,
  hardPaths: raftHardPaths,
  createPathCounter: (options) => createRaftPathCounter(options),
  analyticMessagesPerOp: (n, batchSize) => (2 * (n - 1)) / batchSize + 2,
  oneWayDelaysPerOp: 4,
};
