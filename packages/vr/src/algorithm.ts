import { type AlgorithmAdmin, type AlgorithmDefinition, type NodeId, type ProtocolOptions, type ReadLevel, type Replica, parseConfig } from "@concord/core";
import { vrOptionsSchema } from "./options.ts";
import { createVrClient } from "./client.ts";
import { type VrMessage, vrCodec } from "./messages.ts";
import { createVrMonitors } from "./monitor.ts";
import { VrReplica } from "./replica.ts";
import { createVrPathCounter, vrCrashAllowed, vrHardPaths, vrOptionSpace } from "./swarm.ts";

/**
 * vrMessagesPerOp is the steady-state message count per committed operation
 * (docs/vr.md): one Prepare and one PrepareOk per backup per op, shared by the
 * `batchSize` requests of the op, plus each request and its reply. The
 * commit-number rides on the next Prepare; Commit messages go out only when
 * the primary is idle. The same count as Multi-Paxos's and Raft's.
 */
export function vrMessagesPerOp(n: number, batchSize: number): number {
  return (2 * (n - 1)) / batchSize + 2;
}

/**
 * vrServedReadLevel: a stale read is any replica's executed state; with leaseTicks every other read is answered by
 * the primary under its lease; without it, every other read goes through the log (§4: VR Revisited's reads are
 * ordinary operations), so a `lease` read is served linearizably.
 */
export function vrServedReadLevel(requested: ReadLevel, options: ProtocolOptions): ReadLevel {
  if (requested === "stale") return "stale";
  return parseConfig(vrOptionsSchema, options, "vr").leaseTicks > 0 ? "lease" : "linearizable";
}

function asVr(replica: Replica<VrMessage>): VrReplica {
  if (!(replica instanceof VrReplica)) throw new TypeError("vr's admin hook was handed a replica of another algorithm");
  return replica;
}

/**
 * vrAdmin drives reconfigurations (§7.1): the changes are applied to the
 * group of the primary's epoch, and the primary commits the whole new group
 * through its log, which ends the epoch. VR has no learners (a new replica is
 * brought up to date before its epoch starts) and no leadership transfer (the
 * primary of a view is view mod n).
 */
export const vrAdmin: AlgorithmAdmin<VrMessage> = {
  membership(replica) {
    return { voters: [...asVr(replica).members()], learners: [] };
  },
  reconfigure(replica, changes) {
    const primary = asVr(replica);
    const members = new Set<NodeId>(primary.members());
    for (const change of changes) {
      if (change.type === "addVoter") members.add(change.node);
      else if (change.type === "removeVoter") members.delete(change.node);
      else return { accepted: false, detail: `refused: vr has no learners (${change.type} ${change.node})` };
    }
    const result = primary.reconfigure([...members]);
    return result.kind === "proposed" ? { accepted: true, detail: `group [${result.members.join(",")}] proposed for epoch ${primary.epoch() + 1}` } : { accepted: false, detail: `refused: ${result.reason}` };
  },
};

/** vr is Viewstamped Replication's {@link AlgorithmDefinition}. */
export const vr: AlgorithmDefinition<VrMessage> = {
  name: "vr",
  description: "Viewstamped Replication Revisited: primary = view mod n, view changes by the largest last normal view, recovery from peers or from disk, reconfiguration by epochs (tolerates f crashes with 2f+1 nodes).",
  faultModel: "crash",
  codec: vrCodec,
  clusterSizeError: (n) => (Number.isInteger(n) && n >= 1 ? undefined : `vr needs at least 1 node, not ${n}`),
  replicasToTolerate: (f) => 2 * f + 1,
  faultsTolerated: (n) => Math.floor((n - 1) / 2),
  createReplica: (context) => new VrReplica(context),
  createClient: (context) => createVrClient(context),
  createMonitors: () => createVrMonitors(),
  byzantineStrategies: [],
  optionSpace: vrOptionSpace,
  hardPaths: vrHardPaths,
  createPathCounter: (_options: ProtocolOptions) => createVrPathCounter(),
  analyticMessagesPerOp: vrMessagesPerOp,
  // client -> primary, Prepare, PrepareOk, primary -> client.
  oneWayDelaysPerOp: 4,
  servedReadLevel: vrServedReadLevel,
  crashAllowed: vrCrashAllowed,
  admin: vrAdmin,
};
