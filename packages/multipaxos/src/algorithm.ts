import { type AlgorithmAdmin, type AlgorithmDefinition, type NodeId, type ProtocolOptions, type ReadLevel, parseConfig } from "@concord/core";
import { createMultiPaxosClient } from "./client.ts";
import { type MultiPaxosMessage, multiPaxosCodec } from "./messages.ts";
import { createMultiPaxosMonitors } from "./monitor.ts";
import { multiPaxosOptionsSchema } from "./options.ts";
import { MultiPaxosReplica } from "./replica.ts";
import { createMultiPaxosPathCounter, electionRaceSnapshotEveryEntriesMax, multiPaxosHardPaths, multiPaxosOptionSpace } from "./swarm.ts";

/**
 * multiPaxosServedReadLevel: a stale read is any replica's applied state; with leaseTicks above 0 a leader holding
 * its lease answers every other read from its own state (Paxos Made Live's master leases); without a lease, every
 * other read, a lease read included, goes through the log as a command of its own slot.
 */
export function multiPaxosServedReadLevel(requested: ReadLevel, options: ProtocolOptions): ReadLevel {
  if (requested === "stale") return "stale";
  return parseConfig(multiPaxosOptionsSchema, options, "multipaxos").leaseTicks > 0 ? "lease" : "linearizable";
}

/**
 * multiPaxosMessagesPerOp is the steady-state message count per committed
 * operation (docs/multipaxos.md): one Accept and one Accepted per follower per
 * slot, shared by the `batchSize` commands of the slot, plus each command's
 * request and reply. The chosen watermark rides on later Accepts, and
 * heartbeats are suppressed while phase 2 traffic flows.
 */
export function multiPaxosMessagesPerOp(n: number, batchSize: number): number {
  return (2 * (n - 1)) / batchSize + 2;
}

function asMultiPaxos(replica: unknown): MultiPaxosReplica {
  if (!(replica instanceof MultiPaxosReplica)) throw new TypeError("multipaxos's admin hook was handed a replica of another algorithm");
  return replica;
}

/**
 * multiPaxosAdmin drives acceptor-set changes through the log (Paxos Made
 * Simple §3): the changes are applied to the acceptors that govern the next
 * slot, and the leader proposes the whole new set with `reconfigure`. There
 * are no learners and no leadership transfer.
 */
export const multiPaxosAdmin: AlgorithmAdmin<MultiPaxosMessage> = {
  membership(replica) {
    const paxos = asMultiPaxos(replica);
    return { voters: [...paxos.membersAt(paxos.status().commitIndex + 1)], learners: [] };
  },
  reconfigure(replica, changes) {
    const paxos = asMultiPaxos(replica);
    const members = new Set<NodeId>(paxos.membersAt(paxos.status().commitIndex + 1));
    for (const change of changes) {
      if (change.type === "addVoter") members.add(change.node);
      else if (change.type === "removeVoter") members.delete(change.node);
      else return { accepted: false, detail: `refused: multipaxos has no learners (${change.type} ${change.node})` };
    }
    const next = [...members].sort((a, b) => a - b);
    const result = paxos.reconfigure(next);
    return result.kind === "proposed" ? { accepted: true, detail: `acceptors [${next.join(",")}] proposed` } : { accepted: false, detail: `refused: ${result.reason}` };
  },
};

/** multipaxos is Multi-Paxos's {@link AlgorithmDefinition}. */
export const multipaxos: AlgorithmDefinition<MultiPaxosMessage> = {
  name: "multipaxos",
  description: "Multi-Paxos with a distinguished proposer, pipelined and batched phase 2, leases opt-in (tolerates f crashes with 2f+1 nodes).",
  faultModel: "crash",
  codec: multiPaxosCodec,
  clusterSizeError: (n) => (Number.isInteger(n) && n >= 1 ? undefined : `multipaxos needs at least 1 node, not ${n}`),
  replicasToTolerate: (f) => 2 * f + 1,
  faultsTolerated: (n) => Math.floor((n - 1) / 2),
  createReplica: (context) => new MultiPaxosReplica(context),
  createClient: (context) => createMultiPaxosClient(context),
  createMonitors: () => createMultiPaxosMonitors(),
  byzantineStrategies: [],
  optionSpace: multiPaxosOptionSpace,
  // chaos's election race plays issue 21's bug 1; with a small snapshot interval its catch-up is answered by a snapshot.
  chaosFaults: { snapshotInterval: { option: "snapshotEveryEntries", max: electionRaceSnapshotEveryEntriesMax } },
  hardPaths: multiPaxosHardPaths,
  createPathCounter: () => createMultiPaxosPathCounter(),
  analyticMessagesPerOp: multiPaxosMessagesPerOp,
  // client -> leader, Accept, Accepted, leader -> client.
  oneWayDelaysPerOp: 4,
  admin: multiPaxosAdmin,
  servedReadLevel: multiPaxosServedReadLevel,
};
