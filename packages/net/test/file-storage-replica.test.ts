import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { ReplicaHost, createRng, type Client, type Completion, type Crypto, type NodeId, type Outbound, type Rng } from "@concord/core";
import { KvStateMachine, encodeCommand } from "@concord/kv";
import { raft, type RaftMessage } from "@concord/raft";
import { FileStorage } from "@concord/net";

// Three Raft replicas, each behind core's ReplicaHost on its own FileStorage,
// on a small in-process network: replicas crash (their unsynced Ready
// dropped with the process) and reboot from their directories, then the
// whole cluster restarts from disk. Every put a client saw acknowledged must
// be in every replica's store afterwards. Raft snapshots every few entries
// and the segments are small, so compaction and rotation run too.

const replicas: readonly NodeId[] = [0, 1, 2];
const clientId: NodeId = 1_000_000;
const options = { snapshotEveryEntries: 7, electionTimeoutTicks: 10, heartbeatTicks: 2, clientRetryTicks: 15, clientGiveUpTicks: 200 };
const deliveriesPerTickMax = 10_000;

const noCrypto: Crypto = {
  digest: () => {
    throw new Error("raft does not hash");
  },
  mac: () => {
    throw new Error("raft does not MAC");
  },
  sign: () => {
    throw new Error("raft does not sign");
  },
  verify: () => {
    throw new Error("raft does not verify");
  },
  macKey: () => {
    throw new Error("raft has no MAC keys");
  },
};

const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly message: RaftMessage;
}

interface Node {
  readonly storage: FileStorage;
  readonly host: ReplicaHost<RaftMessage>;
  readonly kv: KvStateMachine;
}

class Cluster {
  readonly nodes = new Map<NodeId, Node>();
  readonly network: Envelope[] = [];
  readonly directories: ReadonlyMap<NodeId, string>;
  boots = 0;
  generationsSeen = 0;
  segmentsCreated = 0;

  constructor(
    private readonly seed: number,
    private readonly onCompletions: (completions: readonly Completion[]) => void,
  ) {
    const root = mkdtempSync(join(tmpdir(), "concord-raft-files-"));
    directories.push(root);
    this.directories = new Map(replicas.map((id) => [id, join(root, `node-${id}`)]));
    for (const id of replicas) this.boot(id);
  }

  boot(id: NodeId): void {
    // fsync off: these crashes are process crashes, which keep what was written; the durability of fsync is the disk's business, and 3 ms a sync would make this test slow.
    const storage = FileStorage.open(this.directories.get(id) as string, { identity: { algorithm: "raft", nodeId: id }, segmentBytesMax: 400, fsync: false });
    const kv = new KvStateMachine();
    const rng = createRng(this.seed * 1000 + this.boots++);
    const host = ReplicaHost.boot(storage, (durable) => raft.createReplica({ id, replicas, rng, durable, stateMachine: kv, crypto: noCrypto, options }), (from, messages) => this.send(from, messages));
    this.nodes.set(id, { storage, host, kv });
  }

  /** crash drops replica `id` like a killed process: a Ready written and not synced is lost with it. */
  crash(id: NodeId, midReady: boolean): void {
    const node = this.nodes.get(id);
    if (node === undefined) return;
    if (midReady) node.host.begin();
    this.generationsSeen = Math.max(this.generationsSeen, node.storage.generation);
    this.segmentsCreated += node.storage.counters.segmentsCreated;
    node.storage.close();
    this.nodes.delete(id);
  }

  send(from: NodeId, messages: readonly Outbound<RaftMessage>[]): void {
    for (const { to, message } of messages) this.network.push({ from, to, message });
  }

  /** tick advances every running replica one tick and delivers until the network is quiet. */
  tick(client: Client<RaftMessage>, rng: Rng): void {
    for (const node of this.nodes.values()) node.host.tick();
    client.tick();
    this.drainAll(client);
    for (let delivered = 0; this.network.length > 0; delivered++) {
      expect(delivered).toBeLessThan(deliveriesPerTickMax);
      // The network reorders a little: it delivers one of the first few messages in flight.
      const [envelope] = this.network.splice(rng.nextInt(Math.min(3, this.network.length)), 1) as [Envelope];
      if (envelope.to === clientId) client.step(envelope.from, envelope.message);
      else this.nodes.get(envelope.to)?.host.step(envelope.from, envelope.message);
      this.drainAll(client);
    }
  }

  private drainAll(client: Client<RaftMessage>): void {
    for (const node of this.nodes.values()) node.host.drain();
    const ready = client.ready();
    if (ready === undefined) return;
    this.send(clientId, ready.messages);
    this.onCompletions(ready.completions);
    client.advance(ready);
  }
}

function run(seed: number): { acknowledged: string[]; cluster: Cluster; crashes: number } {
  const rng = createRng(seed);
  const acknowledged: string[] = [];
  let pendingKey: string | undefined;
  let nextKey = 0;
  let crashes = 0;
  const cluster = new Cluster(seed, (completions) => {
    for (const completion of completions) if (completion.outcome.kind === "ok" && pendingKey !== undefined) acknowledged.push(pendingKey);
  });
  const client = raft.createClient({ id: clientId, replicas, rng: createRng(seed + 77), crypto: noCrypto, options });
  const down = new Map<NodeId, number>();
  for (let tick = 0; tick < 1000; tick++) {
    if (!client.outstanding()) {
      pendingKey = `k${nextKey++}`;
      client.submit(encodeCommand({ type: "put", key: pendingKey, value: new TextEncoder().encode(`v-${pendingKey}`) }), { readOnly: false });
    }
    // Now and then one replica crashes (never two at once, so that a quorum stays) and comes back 20 ticks later.
    if (down.size === 0 && rng.chance(1, 40)) {
      const id = replicas[rng.nextInt(replicas.length)] as NodeId;
      cluster.crash(id, rng.chance(1, 2));
      down.set(id, tick + 20);
      crashes++;
    }
    for (const [id, at] of down) {
      if (tick < at) continue;
      down.delete(id);
      cluster.boot(id);
    }
    cluster.tick(client, rng);
  }
  // Every replica crashes at once, mid-Ready where it has one, and the whole cluster restarts from its files.
  for (const id of replicas) cluster.crash(id, true);
  for (const id of replicas) cluster.boot(id);
  for (let tick = 0; tick < 200; tick++) cluster.tick(client, rng);
  return { acknowledged, cluster, crashes };
}

describe("Raft on FileStorage through core's ReplicaHost", () => {
  test.each([1, 2, 3])("every acknowledged put survives replica crashes and a whole-cluster restart from the files (seed %i)", (seed) => {
    const replay = `seed ${seed} (replay: pnpm vitest run --project net file-storage-replica -t "seed ${seed}")`;
    const { acknowledged, cluster, crashes } = run(seed);
    expect(acknowledged.length, `too few puts acknowledged to test anything, ${replay}`).toBeGreaterThan(500);
    expect(crashes, replay).toBeGreaterThan(10);
    // Raft snapshotted and the logs rotated, so recovery read snapshots, later generations and several segments.
    expect(cluster.generationsSeen, replay).toBeGreaterThan(50);
    expect(cluster.segmentsCreated, replay).toBeGreaterThan(100);
    const decoder = new TextDecoder();
    for (const [id, node] of cluster.nodes) {
      const missing = acknowledged.filter((key) => decoder.decode(node.kv.store.get(key)) !== `v-${key}`);
      expect(missing, `replica ${id} lost acknowledged puts, ${replay}`).toEqual([]);
    }
  });
});
