// Multi-Paxos on the shared test kit (@concord/testkit): how to build a
// cluster of MultiPaxosReplicas; KV requests travel on core's client wire.
// The Ready loop, disks, network and crashes are the kit's.
import { createRng, type NodeId, type ProtocolOptions } from "@concord/core";
import type { KvCommand } from "@concord/kv";
import { MultiPaxosReplica, multipaxos, type MultiPaxosMessage } from "@concord/multipaxos";
import { OneValuePerSlotMonitor } from "@concord/multipaxos/internals";
import { TestCluster, type Envelope as KitEnvelope, coreClientWire } from "@concord/testkit";

/** Envelope is one Multi-Paxos message in flight. */
export type Envelope = KitEnvelope<MultiPaxosMessage>;

/** MultiPaxosCluster is a kit cluster of MultiPaxosReplicas. */
export type MultiPaxosCluster = TestCluster<MultiPaxosMessage, MultiPaxosReplica>;

/** rngFor is replica `id`'s random stream when (re)started with `seed`. */
function rngFor(seed: number, id: NodeId) {
  return createRng(seed * 1000 + id);
}

/**
 * multiPaxosCluster builds `n` replicas (ids 0..n-1) watched by the
 * one-value-per-slot monitor; `initialMembers` is the initial configuration
 * (the other ids start outside it, ready to be added).
 */
export function multiPaxosCluster(n: number, options: ProtocolOptions = {}, seed = 1, initialMembers?: readonly NodeId[]): MultiPaxosCluster {
  return new TestCluster({
    algorithm: multipaxos,
    ids: Array.from({ length: n }, (_, id) => id),
    ...(initialMembers === undefined ? {} : { initialMembers }),
    options,
    rng: (id) => rngFor(seed, id),
    monitors: [new OneValuePerSlotMonitor()],
    clientWire: coreClientWire<MultiPaxosMessage>(),
    clientLinks: "instant",
    createReplica: (context) => new MultiPaxosReplica(context),
  });
}

/** restart rebuilds replica `id` from its disk with the random stream of `seed`, as a runtime does after a crash: anything unsynced is lost. */
export function restart(cluster: MultiPaxosCluster, id: NodeId, seed = 1): MultiPaxosReplica {
  return cluster.restart(id, { rng: rngFor(seed, id) });
}

/** valueMonitor is the cluster's one-value-per-slot monitor. */
export function valueMonitor(cluster: MultiPaxosCluster): OneValuePerSlotMonitor {
  return cluster.monitors[0] as OneValuePerSlotMonitor;
}

/** put builds a KV put of a string value. */
export function put(key: string, value: string): KvCommand {
  return { type: "put", key, value: new TextEncoder().encode(value) };
}

/** isType narrows envelopes by message type. */
export function isType<T extends MultiPaxosMessage["type"]>(type: T) {
  return (envelope: Envelope): envelope is Envelope & { message: Extract<MultiPaxosMessage, { type: T }> } => envelope.message.type === type;
}
