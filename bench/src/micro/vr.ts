// Micro-benchmarks of VR's hot paths: a 3-node group stepping in one process
// (no simulator, no encoding), and the wire codec.
import { createRng, emptyDurableState, firstClientId } from "@concord/core";
import { KvStateMachine, encodeCommand } from "@concord/kv";
import { type VrMessage, VrReplica, vrCodec } from "@concord/vr";
import type { Bench } from "tinybench";
import { InProcessNetwork, noCrypto } from "../in-process.ts";

/** InProcessGroup steps n replicas against each other with an in-memory queue; records are synced by dropping them. */
class InProcessGroup {
  private readonly replicas: VrReplica[];
  private readonly network: InProcessNetwork<VrMessage>;
  private sequence = 0;

  constructor(n: number, options: Record<string, unknown>) {
    const ids = Array.from({ length: n }, (_, i) => i);
    this.replicas = ids.map(
      (id) =>
        new VrReplica({
          id,
          replicas: ids,
          rng: createRng(id + 1),
          durable: emptyDurableState,
          stateMachine: new KvStateMachine(),
          crypto: noCrypto,
          options,
        }),
    );
    this.network = new InProcessNetwork<VrMessage>(this.replicas);
  }

  /** propose sends `count` client requests to the primary of view 0 (replica 0) and runs until quiet. */
  propose(count: number, command: Uint8Array): void {
    const primary = this.replicas[0] as VrReplica;
    for (let i = 0; i < count; i++) {
      this.sequence++;
      const clientId = firstClientId + i;
      // A real client's session key is a random 53-bit number: as wide on the wire.
      primary.step(clientId, { type: "clientRequest", clientId, session: 2 ** 52 + clientId, sequence: this.sequence, command, readOnly: false, readLevel: 0 });
    }
    this.network.run(primary);
  }
}

/** register adds the VR micro-benchmarks to `bench`. */
export function register(bench: Bench): void {
  const command = encodeCommand({ type: "put", key: "key", value: new Uint8Array(8) });
  const single = new InProcessGroup(3, {});
  bench.add("vr: 3 nodes in one process, one request committed and executed", () => {
    single.propose(1, command);
  });
  const memory = new InProcessGroup(3, { durability: "memory" });
  bench.add("vr: 3 nodes in one process in memory mode (§4.3: nothing written), one request committed and executed", () => {
    memory.propose(1, command);
  });
  // The 64 requests are stepped before the primary's Ready, as a runtime steps messages that arrive together: one op.
  const batched = new InProcessGroup(3, { batchCommandsMax: 64 });
  bench.add("vr: 3 nodes in one process, 64 requests stepped together (one batched op)", () => {
    batched.propose(64, command);
  });
  const prepare: VrMessage = {
    type: "prepare",
    view: 3,
    op: 12345,
    entry: { commands: [{ clientId: firstClientId, session: 2 ** 52 + 1, sequence: 42, command, readOnly: false }], config: [] },
    commit: 12344,
    leaseTick: 0,
  };
  bench.add("vr: encode and decode a Prepare of one request", () => {
    vrCodec.decode(vrCodec.encode(prepare));
  });
}
