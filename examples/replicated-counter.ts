// A replicated counter on three Raft replicas, in one process: the smallest
// complete use of a Concord algorithm. Run it with `pnpm example`.
//
// Your application is a StateMachine; the replicas are deterministic state
// machines that you drive: tick them on a timer, step them with the messages
// that arrive, and carry out what ready() returns, in order: persist (sync),
// then send, then advance. A ReplicaHost does that last part for you, through
// a Storage and a send callback. Here the "network" is an in-memory queue and
// the "disk" is @concord/core's in-memory storage; a real deployment puts TCP
// and files there (@concord/net has both). It needs nothing from the
// simulator: the messages are authenticated with @concord/net's ClusterCrypto,
// on node:crypto, as on a real cluster.
import { randomBytes } from "node:crypto";
import { type ClientReady, type NodeId, type Outbound, type StateMachine, MemoryStorage, ReplicaHost, createRng, firstClientId } from "@concord/core";
import { ClusterCrypto, ClusterKeys } from "@concord/net";
import { type RaftMessage, raft } from "@concord/raft";

/** Counter is the application: commands are "add n" as one byte; the result is the new total. */
class Counter implements StateMachine {
  private total = 0;
  apply(command: Uint8Array): Uint8Array {
    this.total += command[0] ?? 0;
    return Uint8Array.of(this.total);
  }
  query(): Uint8Array {
    return Uint8Array.of(this.total);
  }
  snapshot(): Uint8Array {
    return Uint8Array.of(this.total);
  }
  restore(snapshot: Uint8Array): void {
    this.total = snapshot[0] ?? 0;
  }
}

/** runExample replicates a few additions and returns what the client saw. */
export function runExample(log: (line: string) => void): number[] {
  const ids: NodeId[] = [1, 2, 3];
  // Every replica and client derives its keys from one secret, shared out of band.
  const keys = new ClusterKeys(randomBytes(32));
  const network: { from: NodeId; to: NodeId; message: RaftMessage }[] = [];
  const send = (from: NodeId, messages: readonly Outbound<RaftMessage>[]): void => {
    for (const { to, message } of messages) network.push({ from, to, message });
  };
  const disks = ids.map(() => new MemoryStorage());
  // Each replica boots from what its disk recovers (nothing, the first time), behind a host.
  const replicas = ids.map((id, index) =>
    ReplicaHost.boot(
      disks[index]!,
      (durable) => raft.createReplica({ id, replicas: ids, rng: createRng(id), durable, stateMachine: new Counter(), crypto: new ClusterCrypto(id, keys), options: {} }),
      send,
    ),
  );
  const clientId = firstClientId;
  const client = raft.createClient({ id: clientId, replicas: ids, rng: createRng(99), crypto: new ClusterCrypto(clientId, keys), options: {} });
  const results: number[] = [];

  // 1. persist and sync, 2. then send, 3. then advance: the host's drain, until the replica is quiet.
  const handleReplica = (index: number): void => {
    replicas[index]!.drain();
  };
  const handleClient = (): void => {
    for (let ready: ClientReady<RaftMessage> | undefined = client.ready(); ready !== undefined; ready = client.ready()) {
      client.advance(ready);
      send(clientId, ready.messages);
      for (const completion of ready.completions) {
        if (completion.outcome.kind === "ok") results.push(completion.outcome.result[0] ?? 0);
        log(`request ${completion.sequence}: ${completion.outcome.kind}${completion.outcome.kind === "ok" ? `, total is now ${completion.outcome.result[0]}` : ""}`);
      }
    }
  };
  const deliverAll = (): void => {
    while (network.length > 0) {
      const { from, to, message } = network.shift()!;
      if (to === clientId) {
        client.step(from, message);
        handleClient();
      } else {
        const index = ids.indexOf(to);
        replicas[index]!.step(from, message);
        handleReplica(index);
      }
    }
  };

  // Tick until a leader is elected (the election timeout is randomized, in ticks).
  for (let tick = 0; tick < 100 && !replicas.some((replica) => replica.status().role === "leader"); tick++) {
    replicas.forEach((replica, index) => {
      replica.tick();
      handleReplica(index);
    });
    deliverAll();
  }
  const leader = replicas.find((replica) => replica.status().role === "leader");
  log(`replica ${leader?.id} leads term ${leader?.status().epoch}`);

  // One outstanding request at a time per client; the client follows redirects to the leader.
  for (const amount of [5, 7, 30]) {
    client.submit(Uint8Array.of(amount), { readOnly: false });
    handleClient();
    for (let tick = 0; tick < 50 && client.outstanding(); tick++) {
      deliverAll();
      if (!client.outstanding()) break;
      client.tick();
      handleClient();
      replicas.forEach((replica, index) => {
        replica.tick();
        handleReplica(index);
      });
    }
  }
  log(`records on each disk: ${disks.map((disk) => disk.records.length).join(", ")}`);
  return results;
}

const isMain = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, "/"));
if (isMain) runExample((line) => console.log(line));
