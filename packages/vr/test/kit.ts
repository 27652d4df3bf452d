// VR on the shared test kit (@concord/testkit): how to build a cluster of
// VrReplicas; KV requests travel on core's client wire. The Ready loop, disks,
// network and crashes are the kit's.
import { createRng, firstClientId, type NodeId, type ProtocolOptions } from "@concord/core";
import { decodeCommand, encodeCommand, type KvCommand } from "@concord/kv";
import { type VrCommand, type VrEntry, type VrLogSuffix, VrReplica, vr, type VrMessage } from "@concord/vr";
import { EpochMonitor, OneOpPerNumberMonitor, OnePrimaryPerViewMonitor } from "@concord/vr/internals";
import { TestCluster, type Envelope as KitEnvelope, coreClientWire } from "@concord/testkit";

/** Envelope is one VR message in flight. */
export type Envelope = KitEnvelope<VrMessage>;

/** VrCluster is a kit cluster of VrReplicas. */
export type VrCluster = TestCluster<VrMessage, VrReplica>;

function rngFor(seed: number, id: NodeId) {
  return createRng(seed * 1000 + id);
}

/**
 * vrCluster builds `n` replicas (ids 0..n-1) watched by VR's monitors; with `spares`, the last `spares` of them boot
 * outside the group (ids n - spares .. n - 1), for reconfigurations to add (§7).
 */
export function vrCluster(n: number, options: ProtocolOptions = {}, seed = 1, spares = 0): VrCluster {
  const ids = Array.from({ length: n }, (_, id) => id);
  return new TestCluster({
    algorithm: vr,
    ids,
    initialMembers: ids.slice(0, n - spares),
    options,
    rng: (id) => rngFor(seed, id),
    monitors: [new OneOpPerNumberMonitor(), new OnePrimaryPerViewMonitor(), new EpochMonitor()],
    clientWire: coreClientWire<VrMessage>(),
    clientLinks: "instant",
    createReplica: (context) => new VrReplica(context),
  });
}

/** restart rebuilds replica `id` from its disk, as a runtime does after a crash: anything unsynced is lost. */
export function restart(cluster: VrCluster, id: NodeId, seed = 1): VrReplica {
  return cluster.restart(id, { rng: rngFor(seed, id) });
}

/** put builds a KV put of a string value. */
export function put(key: string, value: string): KvCommand {
  return { type: "put", key, value: new TextEncoder().encode(value) };
}

/** command builds one logged put request of client `clientId`. */
export function command(sequence: number, key: string, value: string, clientId = firstClientId): VrCommand {
  // Copied into a plain Uint8Array: protobufjs hands out Buffers under Node, which compare unequal to decoded bytes.
  return { clientId, session: clientId, sequence, command: new Uint8Array(encodeCommand(put(key, value))), readOnly: false };
}

/** entry builds a one-request log entry. */
export function entry(sequence: number, key: string, value: string): VrEntry {
  return { commands: [command(sequence, key, value)], config: [] };
}

/** suffix builds a log suffix without state from its entries, starting after `checkpointOp`. */
export function suffix(entries: readonly VrEntry[], checkpointOp = 0): VrLogSuffix {
  return { checkpointOp, hasState: false, state: new Uint8Array(0), entries };
}

/** sentBy matches the messages of one type that `from` sent. */
export function sentBy(from: NodeId, type: VrMessage["type"]) {
  return (envelope: Envelope): boolean => envelope.from === from && envelope.message.type === type;
}

/** isType narrows envelopes by message type. */
export function isType<T extends VrMessage["type"]>(type: T) {
  return (envelope: Envelope): envelope is Envelope & { message: Extract<VrMessage, { type: T }> } => envelope.message.type === type;
}

/** valuesOf reads each entry of a log as the values its puts write, for comparing logs in tests ("?" for an op not held). */
export function valuesOf(entries: readonly (VrEntry | undefined)[]): string[] {
  const decoder = new TextDecoder();
  return entries.map((logged) => {
    if (logged === undefined) return "?";
    return logged.commands
      .map((request) => {
        const decoded = decodeCommand(request.command);
        return decoded.type === "put" ? decoder.decode(decoded.value) : decoded.type;
      })
      .join("+");
  });
}

/** logOf reads replica `id`'s log from op `from` through its op-number. */
export function logOf(replica: VrReplica, from = replica.checkpoint() + 1): string[] {
  const entries: (VrEntry | undefined)[] = [];
  for (let op = from; op <= replica.opNumber(); op++) entries.push(replica.entryAt(op));
  return valuesOf(entries);
}
