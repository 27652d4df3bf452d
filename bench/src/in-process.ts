// The in-process cluster the step-function micro-benchmarks share: replicas
// stepped against each other through an in-memory queue, with no simulator,
// no encoding and no disk (persisted records are dropped), run until quiet so
// that every proposal is committed and applied on every replica (etcd's
// BenchmarkProposal3Nodes does not wait for commit: not this shape; `pnpm
// bench:anchors` drives etcd-raft's RawNode in this one). Each replica is
// driven through core's ReplicaHost, as every runtime drives one.
import { type Crypto, type NodeId, type Outbound, type Replica, type Storage, ReplicaHost, emptyDurableState, firstClientId } from "@concord/core";

const zeros32 = new Uint8Array(32);
const zeros64 = new Uint8Array(64);

/**
 * noCrypto makes every digest and MAC the same 32 zero bytes and accepts every
 * signature: the protocol's own cost, with crypto free (and no allocation).
 */
export const noCrypto: Crypto = {
  digest: () => zeros32,
  mac: () => zeros32,
  sign: () => zeros64,
  verify: () => true,
  macKey: () => zeros32,
};

/** discardingStorage syncs at once and keeps nothing: the micro-benchmarks measure the protocol, not a disk. */
const discardingStorage: Storage = {
  append: () => {},
  sync: () => {},
  replaceWithSnapshot: () => {},
  recover: () => emptyDurableState,
};

interface Delivery<M> {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly message: M;
}

/**
 * InProcessNetwork delivers what replicas send until the cluster is quiet.
 * Replica ids are their indexes in `replicas`; messages to client ids are
 * counted as replies.
 */
export class InProcessNetwork<M> {
  private queue: Delivery<M>[] = [];
  private readonly hosts: readonly ReplicaHost<M>[];
  /** replies counts the messages sent to clients. */
  replies = 0;
  /** peerMessages counts the messages sent from replica to replica (what etcd-raft's rawnode driver counts as its messages). */
  peerMessages = 0;

  constructor(replicas: readonly Replica<M>[]) {
    const route = (from: NodeId, messages: readonly Outbound<M>[]): void => this.route(from, messages);
    this.hosts = replicas.map((replica) => new ReplicaHost(replica, discardingStorage, route));
  }

  /** run carries out `start`'s Ready, then delivers every message, in waves, until none is left. */
  run(start: Replica<M>): void {
    this.host(start.id).drain();
    while (this.queue.length > 0) {
      const wave = this.queue;
      this.queue = [];
      for (const { from, to, message } of wave) {
        const host = this.host(to);
        host.step(from, message);
        host.drain();
      }
    }
  }

  private host(id: NodeId): ReplicaHost<M> {
    const host = this.hosts[id];
    if (host === undefined) throw new Error(`no replica ${id}`);
    return host;
  }

  private route(from: NodeId, messages: readonly Outbound<M>[]): void {
    for (const { to, message } of messages) {
      if (to >= firstClientId) this.replies++;
      else {
        this.peerMessages++;
        this.queue.push({ from, to, message });
      }
    }
  }
}
