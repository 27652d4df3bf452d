// Micro-benchmarks of Multi-Paxos's hot paths: a 3-node cluster stepping in one
// process (no simulator, no encoding), and the wire codec.
import { createRng, emptyDurableState, firstClientId } from "@concord/core";
import { KvStateMachine, encodeCommand } from "@concord/kv";
import { type MultiPaxosMessage, MultiPaxosReplica, multiPaxosCodec } from "@concord/multipaxos";
import type { Bench } from "tinybench";
import { InProcessNetwork, noCrypto } from "../in-process.ts";

/** InProcessCluster steps n replicas against each other with an in-memory queue; records are synced by dropping them. */
class InProcessCluster {
  private readonly replicas: MultiPaxosReplica[];
  private readonly network: InProcessNetwork<MultiPaxosMessage>;
  private sequence = 0;

  constructor(n: number, options: Record<string, unknown>) {
    const ids = Array.from({ length: n }, (_, i) => i);
    this.replicas = ids.map(
      (id) =>
        new MultiPaxosReplica({
          id,
          replicas: ids,
          rng: createRng(id + 1),
          durable: emptyDurableState,
          stateMachine: new KvStateMachine(),
          crypto: noCrypto,
          options,
        }),
    );
    this.network = new InProcessNetwork<MultiPaxosMessage>(this.replicas);
  }

  /** propose sends `count` client requests to the leader (replica 0, the initial leader) and runs until quiet. */
  propose(count: number, command: Uint8Array): void {
    const leader = this.replicas[0] as MultiPaxosReplica;
    for (let i = 0; i < count; i++) {
      this.sequence++;
      const clientId = firstClientId + i;
      // A real client's session key is a random 53-bit number: as wide on the wire.
      leader.step(clientId, { type: "clientRequest", clientId, session: 2 ** 52 + clientId, sequence: this.sequence, command, readOnly: false, readLevel: 0 });
    }
    this.network.run(leader);
  }
}

/** register adds the Multi-Paxos micro-benchmarks to `bench`. */
export function register(bench: Bench): void {
  const command = encodeCommand({ type: "put", key: "key", value: new Uint8Array(8) });
  const single = new InProcessCluster(3, {});
  bench.add("multipaxos: 3 nodes in one process, one proposal committed and applied", () => {
    single.propose(1, command);
  });
  // The 64 requests are stepped before the leader's Ready, as a runtime steps messages that arrive together: one slot.
  const batched = new InProcessCluster(3, { batchCommandsMax: 64 });
  bench.add("multipaxos: 3 nodes in one process, 64 proposals stepped together (one batched slot)", () => {
    batched.propose(64, command);
  });
  const accept: MultiPaxosMessage = {
    type: "accept",
    ballotRound: 3,
    ballotNode: 1,
    slot: 12345,
    commands: [{ clientId: firstClientId, session: 2 ** 52 + 1, sequence: 42, command, readOnly: false }],
    members: [],
    chosenWatermark: 12344,
    leaseTick: 99,
  };
  bench.add("multipaxos: encode and decode an Accept of one command", () => {
    multiPaxosCodec.decode(multiPaxosCodec.encode(accept));
  });
}
