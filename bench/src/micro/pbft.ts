// Micro-benchmarks of PBFT's hot paths: a 4-node cluster stepping in one
// process (no simulator), with the protocol alone (crypto stubbed out) and with
// real SHA-256 and HMAC-SHA256 (the simulator's node:crypto implementation), and the wire codec.
import { type Crypto, type NodeId, createRng, emptyDurableState, firstClientId } from "@concord/core";
import { KvStateMachine, encodeCommand } from "@concord/kv";
import { type PbftMessage, PbftReplica, pbftCodec } from "@concord/pbft";
import { Authenticator } from "@concord/pbft/internals";
import { KeyRing, NodeCrypto } from "@concord/sim";
import type { Bench } from "tinybench";
import { InProcessNetwork, noCrypto } from "../in-process.ts";

/** nodeCrypto gives one cluster the simulator's node:crypto keys and primitives (the normal case signs nothing). */
function nodeCrypto(): (self: NodeId) => Crypto {
  const keys = new KeyRing(1);
  return (self) => new NodeCrypto(self, keys);
}

/** InProcessPbft steps n PBFT replicas against each other through an in-memory queue; persisted records are dropped. */
class InProcessPbft {
  private readonly replicas: PbftReplica[];
  private readonly clients: Authenticator[];
  private readonly network: InProcessNetwork<PbftMessage>;
  private sequence = 0;

  constructor(n: number, crypto: (id: NodeId) => Crypto, clientCount: number) {
    const ids = Array.from({ length: n }, (_, i) => i);
    const options = { batchSizeMax: 64, inflightBatchesMax: 1 };
    this.replicas = ids.map(
      (id) => new PbftReplica({ id, replicas: ids, rng: createRng(id + 1), durable: emptyDurableState, stateMachine: new KvStateMachine(), crypto: crypto(id), options }),
    );
    this.clients = Array.from({ length: clientCount }, (_, i) => new Authenticator(crypto(firstClientId + i), firstClientId + i, ids, "macs"));
    this.network = new InProcessNetwork<PbftMessage>(this.replicas);
  }

  /** propose sends one request from each of `count` clients to the primary (replica 0) and runs until quiet. */
  propose(count: number, command: Uint8Array): void {
    this.sequence++;
    const primary = this.replicas[0] as PbftReplica;
    for (let i = 0; i < count; i++) {
      const client = this.clients[i] as Authenticator;
      const clientId = firstClientId + i;
      // A real client's session key is a random 53-bit number: as wide on the wire.
      primary.step(clientId, client.sealRequest({ type: "request", clientId, session: 2 ** 52 + clientId, sequence: this.sequence, command, readOnly: false, readLevel: 0, macs: [] }));
    }
    this.network.run(primary);
  }

  /** replies counts the replies sent to clients. */
  get replies(): number {
    return this.network.replies;
  }
}

/** register adds PBFT's tasks: requests committed by a 4-node cluster in one process, and the codec. */
export function register(bench: Bench): void {
  const command = encodeCommand({ type: "put", key: "key", value: new Uint8Array(16) });
  const variants = [
    { name: "no crypto", crypto: () => noCrypto },
    { name: "node:crypto MACs", crypto: nodeCrypto() },
  ];
  for (const variant of variants) {
    const single = new InProcessPbft(4, variant.crypto, 1);
    bench.add(`pbft: 4 nodes in one process, 1 request per batch (${variant.name})`, () => {
      const before = single.replies;
      single.propose(1, command);
      if (single.replies - before !== 4) throw new Error(`expected 4 replies, got ${single.replies - before}`);
    });
    const batched = new InProcessPbft(4, variant.crypto, 64);
    bench.add(`pbft: 4 nodes in one process, 64 requests (batched) (${variant.name})`, () => {
      const before = batched.replies;
      batched.propose(64, command);
      if (batched.replies - before !== 64 * 4) throw new Error(`expected ${64 * 4} replies, got ${batched.replies - before}`);
    });
  }
  const auth = new Authenticator(noCrypto, 0, [0, 1, 2, 3], "macs");
  const request = new Authenticator(noCrypto, firstClientId, [0, 1, 2, 3], "macs").sealRequest({ type: "request", clientId: firstClientId, session: 2 ** 52 + 1, sequence: 1, command, readOnly: false, readLevel: 0, macs: [] });
  const prePrepare = auth.sealBroadcast({ type: "prePrepare", view: 0, seq: 1, digest: new Uint8Array(32), requests: [request], replica: 0, macs: [], signature: new Uint8Array(0) });
  const bytes = pbftCodec.encode(prePrepare);
  bench.add("pbft: encode a pre-prepare with one request and its authenticators", () => {
    pbftCodec.encode(prePrepare);
  });
  bench.add("pbft: decode a pre-prepare with one request and its authenticators", () => {
    pbftCodec.decode(bytes);
  });
}
