// Single-decree Paxos on the shared test kit (@concord/testkit): how to build a cluster of PaxosReplicas
// watched by both monitors; KV requests travel on core's client wire. The Ready loop, disks, network and
// crashes are the kit's.
import { createRng, type NodeId, type ProtocolOptions } from "@concord/core";
import type { KvCommand } from "@concord/kv";
import { PaxosReplica, paxos, type PaxosMessage } from "@concord/paxos";
import { LearnedValueMonitor, OneValuePerKeyMonitor } from "@concord/paxos/internals";
import { TestCluster, type Envelope as KitEnvelope, coreClientWire } from "@concord/testkit";

/** Envelope is one Paxos message in flight. */
export type Envelope = KitEnvelope<PaxosMessage>;

/** PaxosCluster is a kit cluster of PaxosReplicas. */
export type PaxosCluster = TestCluster<PaxosMessage, PaxosReplica>;

function rngFor(seed: number, id: NodeId) {
  return createRng(seed * 1000 + id);
}

/** paxosCluster builds `n` replicas (ids 1..n) watched by the one-value-per-key and learned-value monitors. */
export function paxosCluster(n: number, options: ProtocolOptions = {}, seed = 1): PaxosCluster {
  const choices = new OneValuePerKeyMonitor();
  return new TestCluster({
    algorithm: paxos,
    ids: Array.from({ length: n }, (_, index) => index + 1),
    options,
    rng: (id) => rngFor(seed, id),
    monitors: [choices, new LearnedValueMonitor(choices)],
    clientWire: coreClientWire<PaxosMessage>(),
    clientLinks: "instant",
    createReplica: (context) => new PaxosReplica(context),
  });
}

/** restart rebuilds replica `id` from its disk, as a runtime does after a crash: anything unsynced is lost. */
export function restart(cluster: PaxosCluster, id: NodeId, seed = 1): PaxosReplica {
  return cluster.restart(id, { rng: rngFor(seed, id) });
}

const encoder = new TextEncoder();

/** put builds a KV put of a string value. */
export function put(key: string, value: string): KvCommand {
  return { type: "put", key, value: encoder.encode(value) };
}

/** get builds a KV get. */
export function get(key: string): KvCommand {
  return { type: "get", key };
}

/** bytes encodes a string value. */
export function bytes(value: string): Uint8Array {
  return encoder.encode(value);
}

/** sentBy matches envelopes of one type sent by one replica. */
export function sentBy(from: NodeId, type: PaxosMessage["type"]) {
  return (envelope: Envelope): boolean => envelope.from === from && envelope.message.type === type;
}

/** isType narrows envelopes by message type. */
export function isType<T extends PaxosMessage["type"]>(type: T) {
  return (envelope: Envelope): envelope is Envelope & { message: Extract<PaxosMessage, { type: T }> } => envelope.message.type === type;
}
