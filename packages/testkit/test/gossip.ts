// A toy algorithm for the kit's own tests: replicas that ping every peer on a
// tick and answer pings, with a JSON codec that counts its work, so that the
// network's filters and re-encoding can be seen without a real protocol (the
// kit may not depend on one).
import type { AlgorithmDefinition, MessageCodec, NodeId, Ready, Replica, ReplicaContext, ReplicaStatus } from "@concord/core";

/** GossipMessage is a ping or its pong. */
export type GossipMessage = { readonly type: "ping"; readonly round: number } | { readonly type: "pong"; readonly round: number };

/** countingCodec encodes as JSON and counts what it encodes and decodes. */
export const countingCodec = {
  encoded: 0,
  decoded: 0,
  encode(message: GossipMessage): Uint8Array {
    this.encoded++;
    return new TextEncoder().encode(JSON.stringify(message));
  },
  decode(bytes: Uint8Array): GossipMessage {
    this.decoded++;
    return JSON.parse(new TextDecoder().decode(bytes)) as GossipMessage;
  },
  typeName(message: GossipMessage): string {
    return message.type;
  },
} satisfies MessageCodec<GossipMessage> & { encoded: number; decoded: number };

/** GossipReplica pings its peers on every tick, persists one record per pong it receives, and remembers whom it heard from. */
export class GossipReplica implements Replica<GossipMessage> {
  readonly id: NodeId;
  readonly heardFrom: NodeId[] = [];
  /** recovered is how many records the replica found on its disk at boot. */
  readonly recovered: number;
  private round = 0;
  private readonly peers: readonly NodeId[];
  private outbox: { to: NodeId; message: GossipMessage }[] = [];
  private persist: Uint8Array[] = [];

  constructor(context: ReplicaContext) {
    this.id = context.id;
    this.peers = context.replicas.filter((id) => id !== context.id);
    this.recovered = context.durable.records.length;
  }

  tick(): void {
    this.round++;
    for (const to of this.peers) this.outbox.push({ to, message: { type: "ping", round: this.round } });
  }

  step(from: NodeId, message: GossipMessage): void {
    this.heardFrom.push(from);
    if (message.type === "ping") this.outbox.push({ to: from, message: { type: "pong", round: message.round } });
    else this.persist.push(new Uint8Array([from, message.round]));
  }

  ready(): Ready<GossipMessage> | undefined {
    if (this.outbox.length === 0 && this.persist.length === 0) return undefined;
    return { snapshot: undefined, persist: this.persist, messages: this.outbox };
  }

  advance(): void {
    this.outbox = [];
    this.persist = [];
  }

  status(): ReplicaStatus {
    return { id: this.id, role: "follower", epoch: 0, leader: undefined, commitIndex: 0, appliedIndex: 0 };
  }
}

/** gossip is the toy algorithm's definition. */
export const gossip: AlgorithmDefinition<GossipMessage> = {
  name: "gossip",
  description: "toy: ping every peer on a tick",
  faultModel: "crash",
  codec: countingCodec,
  clusterSizeError: () => undefined,
  replicasToTolerate: (f) => 2 * f + 1,
  faultsTolerated: (n) => Math.floor((n - 1) / 2),
  createReplica: (context) => new GossipReplica(context),
  createClient: () => {
    throw new Error("gossip has no clients");
  },
  createMonitors: () => [],
  byzantineStrategies: [],
  analyticMessagesPerOp: () => 0,
  oneWayDelaysPerOp: 0,
};
