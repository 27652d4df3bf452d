import { describe, expect, it } from "vitest";
import { MemoryStorage, type NodeId, type Outcome, type AlgorithmDefinition } from "@concord/core";
import { KvStateMachine, decodeResult, encodeCommand } from "@concord/kv";
import { raft } from "@concord/raft";
import { ClusterCrypto, ClusterKeys } from "../src/cluster-crypto.ts";
import { ClientHost } from "../src/client-host.ts";
import { NodeRuntime } from "../src/node-runtime.ts";
import { LoopbackHub } from "./loopback-hub.ts";

const keys = new ClusterKeys(new Uint8Array(32).fill(7));
const replicas: NodeId[] = [0, 1, 2];
const tickMs = 2;

async function startNode<M>(algorithm: AlgorithmDefinition<M>, hub: LoopbackHub, id: NodeId, storage: MemoryStorage, seed: number, log: string[]): Promise<NodeRuntime<M>> {
  return NodeRuntime.start({
    algorithm,
    id,
    replicas,
    storage,
    stateMachine: new KvStateMachine(),
    crypto: new ClusterCrypto(id, keys),
    options: {},
    seed,
    tickMs,
    connect: async (sink) => hub.transport([id], sink),
    log: (line) => log.push(line),
  });
}

async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function okValue(outcome: Outcome): string {
  if (outcome.kind !== "ok") throw new Error(`expected ok, got ${JSON.stringify(outcome)}`);
  const result = decodeResult(outcome.result);
  return JSON.stringify(result, (_key, value: unknown) => (value instanceof Uint8Array ? new TextDecoder().decode(value) : value));
}

describe("NodeRuntime and ClientHost over a loopback network", () => {
  it("elect a Raft leader, serve writes and reads, and keep every acknowledged write across a restart of the leader from its disk", async () => {
    const hub = new LoopbackHub();
    const storages = replicas.map(() => new MemoryStorage());
    const log: string[] = [];
    const nodes = await Promise.all(replicas.map((id) => startNode(raft, hub, id, storages[id] as MemoryStorage, id + 1, log)));
    const clients = await ClientHost.start({
      algorithm: raft,
      replicas,
      crypto: (id) => new ClusterCrypto(id, keys),
      options: {},
      tickMs,
      connect: async (sink) => hub.transport([], sink),
    });
    try {
      await until("a leader", () => nodes.some((node) => node.status.role === "leader"));
      const writer = clients.newClient();
      for (let i = 0; i < 20; i++) {
        const outcome = await clients.submit(writer, encodeCommand({ type: "put", key: "k", value: new TextEncoder().encode(`v${i}`) }), false);
        expect(outcome.kind).toBe("ok");
      }
      const leaderIndex = nodes.findIndex((node) => node.status.role === "leader");
      const leader = nodes[leaderIndex] as NodeRuntime<unknown>;
      expect(log.some((line) => line.includes("leader"))).toBe(true);

      // The leader stops (its transport closes: it is gone from the network) and comes back on the same disk.
      await leader.stop();
      nodes[leaderIndex] = await startNode(raft, hub, leaderIndex, storages[leaderIndex] as MemoryStorage, 100, log);
      const reader = clients.newClient();
      const read = await clients.submit(reader, encodeCommand({ type: "get", key: "k" }), true);
      expect(okValue(read)).toContain("v19");

      const status = await clients.admin(leaderIndex, { op: "status" }, 2_000);
      expect(status.ok).toBe(true);
      if (status.ok) {
        expect(status.status?.id).toBe(leaderIndex);
        expect(status.status?.algorithm).toBe("raft");
        // The restarted node recovered the 20 writes from its disk and learned the commit point again.
        await until("the restarted node to apply the writes", () => (nodes[leaderIndex] as NodeRuntime<unknown>).status.appliedIndex >= 20);
      }
      const bad = await clients.admin(0, { op: "transfer", target: -1 } as never, 2_000);
      expect(bad).toMatchObject({ ok: false });
      if (!bad.ok) expect(bad.error).toContain("target");
    } finally {
      await clients.close();
      await Promise.all(nodes.map((node) => node.stop()));
    }
  });
});
