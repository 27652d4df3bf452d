import { type AdminResult, type AlgorithmAdmin, type AlgorithmDefinition, type ProtocolOptions, type ReadLevel, type Rejection, parseConfig } from "@concord/core";
import { createRaftClient } from "./client.ts";
import { raftCodec, type RaftMessage } from "./messages.ts";
import { createRaftMonitors } from "./monitors.ts";
import { raftOptionsSchema } from "./options.ts";
import { RaftReplica } from "./raft.ts";
import { createRaftPathCounter, raftHardPaths, raftOptionSpace } from "./swarm.ts";

function asRaft(replica: unknown): RaftReplica {
  if (!(replica instanceof RaftReplica)) throw new TypeError("raft's admin hook was handed a replica of another algorithm");
  return replica;
}

function refused(rejection: Rejection): AdminResult {
  return { accepted: false, detail: rejection.kind === "dropped" ? `refused: ${rejection.reason}` : `refused: ${rejection.kind}` };
}

/**
 * raftAdmin drives membership changes (thesis §4: single-server, joint,
 * learners) and leadership transfer (thesis §3.10) through the replica's own
 * `proposeConfigChange` and `transferLeadership`.
 */
export const raftAdmin: AlgorithmAdmin<RaftMessage> = {
  membership(replica) {
    const config = asRaft(replica).configuration();
    return { voters: [...new Set([...config.voters, ...config.outgoing])].sort((a, b) => a - b), learners: config.learners };
  },
  transferLeadership(replica, target) {
    const result = asRaft(replica).transferLeadership(target);
    return result.kind === "started" ? { accepted: true, detail: `transfer to ${target} started` } : refused(result.rejection);
  },
  reconfigure(replica, changes, options) {
    const result = asRaft(replica).proposeConfigChange(changes, options);
    return result.kind === "accepted" ? { accepted: true, detail: `proposed at index ${result.index}` } : refused(result.rejection);
  },
};

/**
 * raftServedReadLevel: a stale read is any replica's applied state; with leaseReads every other read goes by the
 * leader's lease; without it, a lease read does where check-quorum is on (the lease needs followers that refuse
 * votes while they hear from a leader) and by ReadIndex otherwise, as every linearizable read does.
 */
export function raftServedReadLevel(requested: ReadLevel, options: ProtocolOptions): ReadLevel {
  if (requested === "stale") return "stale";
  const parsed = parseConfig(raftOptionsSchema, options, "raft");
  if (parsed.leaseReads) return "lease";
  return requested === "lease" && parsed.checkQuorum ? "lease" : "linearizable";
}

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
  admin: raftAdmin,
  servedReadLevel: raftServedReadLevel,
  chaosFaults: {
    // A follower campaigns after [electionTimeoutTicks, 2 * electionTimeoutTicks) ticks without its leader (§5.2).
    electionTimeoutTicks: (options) => parseConfig(raftOptionsSchema, options, "raft").electionTimeoutTicks,
  },
};
