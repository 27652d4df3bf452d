// The in-process cluster the step-function micro-benchmarks share: replicas
// stepped against each other through an in-memory queue, with no simulator,
// no encoding and no disk (persisted records are dropped), as etcd-io/raft's
// BenchmarkProposal3Nodes measures.
import { type Crypto, type NodeId, type Outbound, type Replica, firstClientId } from "@concord/core";

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
  /** replies counts the messages sent to clients. */
  replies = 0;

  constructor(private readonly replicas: readonly Replica<M>[]) {}

  /** run carries out `start`'s Ready, then delivers every message, in waves, until none is left. */
  run(start: Replica<M>): void {
    this.drain(start);
    while (this.queue.length > 0) {
      const wave = this.queue;
      this.queue = [];
      for (const { from, to, message } of wave) {
        const replica = this.replicas[to];
        if (replica === undefined) throw new Error(`no replica ${to}`);
        replica.step(from, message);
        this.drain(replica);
      }
    }
  }

  private drain(replica: Replica<M>): void {
    for (let ready = replica.ready(); ready !== undefined; ready = replica.ready()) {
      this.route(replica.id, ready.messages);
      replica.advance(ready);
    }
  }

  private route(from: NodeId, messages: readonly Outbound<M>[]): void {
    for (const { to, message } of messages) {
      if (to >= firstClientId) this.replies++;
      else this.queue.push({ from, to, message });
    }
  }
}
