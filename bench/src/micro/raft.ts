// Micro-benchmarks of Raft's hot paths: a 3-node cluster stepping in one
// process with no simulator and no encoding, run until quiet after each
// proposal (or batch), and the wire codec. Each proposal is committed, applied
// and answered on the leader before the next; the followers apply it when the
// next append or heartbeat carries the new commit index (Concord's leader sends
// no message for a commit alone), so in a long run every replica applies one
// entry per proposal, one proposal behind the leader: 4 peer messages per
// proposal one at a time, 4 per batch of 64. `pnpm bench:anchors` runs
// etcd-raft 3.4's RawNode in this shape beside it (its leader broadcasts each
// commit at once: 8 messages per proposal or per one-MsgProp batch; etcd's own
// BenchmarkProposal3Nodes is not this shape: it does not wait for commit).
import { createRng, emptyDurableState, firstClientId } from "@concord/core";
import { KvStateMachine, encodeCommand } from "@concord/kv";
import { type RaftMessage, RaftReplica, raftCodec } from "@concord/raft";
import type { Bench } from "tinybench";
import { InProcessNetwork, noCrypto } from "../in-process.ts";

/** InProcessRaft steps n Raft replicas against each other through an in-memory queue; persisted records are dropped. */
export class InProcessRaft {
  private readonly replicas: RaftReplica[];
  readonly network: InProcessNetwork<RaftMessage>;
  private sequence = 0;

  constructor(n: number, options: Record<string, unknown>) {
    const ids = Array.from({ length: n }, (_, i) => i);
    this.replicas = ids.map(
      (id) => new RaftReplica({ id, replicas: ids, rng: createRng(id + 1), durable: emptyDurableState, stateMachine: new KvStateMachine(), crypto: noCrypto, options }),
    );
    this.network = new InProcessNetwork<RaftMessage>(this.replicas);
    const first = this.replicas[0] as RaftReplica;
    first.campaign();
    this.network.run(first);
    if (first.status().role !== "leader") throw new Error("replica 0 did not win the first election");
  }

  /**
   * propose steps `count` client requests into the leader, one message each,
   * and runs the cluster until it is quiet: the leader appends them in one
   * Ready and sends each follower one append holding all of them.
   */
  propose(count: number, command: Uint8Array): void {
    const leader = this.replicas[0] as RaftReplica;
    for (let i = 0; i < count; i++) {
      this.sequence++;
      const clientId = firstClientId + i;
      // A real client's session key is a random 53-bit number: as wide on the wire.
      leader.step(clientId, { type: "clientRequest", clientId, session: 2 ** 52 + clientId, sequence: this.sequence, command, readOnly: false, readLevel: 0 });
    }
    this.network.run(leader);
  }
}

/** register adds the Raft micro-benchmarks to `bench`. */
export function register(bench: Bench): void {
  const command = encodeCommand({ type: "put", key: "key", value: new Uint8Array(8) });
  const single = new InProcessRaft(3, {});
  bench.add("raft: 3 nodes in one process, one proposal committed, applied and answered", () => {
    single.propose(1, command);
  });
  const batched = new InProcessRaft(3, {});
  bench.add("raft: 3 nodes in one process, 64 proposals in one batch (divide by 64 per proposal)", () => {
    batched.propose(64, command);
  });
  const append: RaftMessage = {
    type: "appendEntries",
    term: 3,
    prevLogIndex: 12344,
    prevLogTerm: 3,
    entries: [{ term: 3, index: 12345, kind: 0, clientId: firstClientId, session: 2 ** 52 + 1, sequence: 42, command, voters: [], outgoing: [], learners: [] }],
    commit: 12343,
    readContext: 7,
  };
  bench.add("raft: encode and decode an AppendEntries of one entry", () => {
    raftCodec.decode(raftCodec.encode(append));
  });
}
