import { describe, expect, it } from "vitest";
import { MemoryStorage, type NodeId } from "@concord/core";
import { KvStateMachine } from "@concord/kv";
import { raft } from "@concord/raft";
import { ClusterCrypto, ClusterKeys } from "../src/cluster-crypto.ts";
import { ClientHost } from "../src/client-host.ts";
import { NodeRuntime } from "../src/node-runtime.ts";
import { LoopbackHub } from "./loopback-hub.ts";

const keys = new ClusterKeys(new Uint8Array(32).fill(5));

describe("an operator's peers order", () => {
  it("is kept on disk before the transport uses it; a disk that refuses it (ENOSPC) leaves the old peers and the node running, and says why", async () => {
    const hub = new LoopbackHub();
    const id: NodeId = 0;
    const kept: string[] = [];
    const used: string[] = [];
    let diskFull = false;
    const logs: string[] = [];
    const node = await NodeRuntime.start({
      algorithm: raft,
      id,
      replicas: [0],
      storage: new MemoryStorage(),
      stateMachine: new KvStateMachine(),
      crypto: new ClusterCrypto(id, keys),
      options: {},
      seed: 1,
      tickMs: 2,
      onPeersLearned: (peers) => {
        if (diskFull) throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
        kept.push([...peers.keys()].join(","));
      },
      connect: async (sink) => Object.assign(hub.transport([id], sink), { setPeers: (peers: ReadonlyMap<NodeId, unknown>) => void used.push([...peers.keys()].join(",")) }),
      log: (line) => logs.push(line),
    });
    const clients = await ClientHost.start({ algorithm: raft, replicas: [0], crypto: (client) => new ClusterCrypto(client, keys), options: {}, tickMs: 2, connect: async (sink) => hub.transport([], sink) });
    try {
      const first = await clients.admin(0, { op: "peers", peers: { "1": "10.0.0.2:7000" } }, 2_000);
      expect(first.ok).toBe(true);
      expect(kept).toEqual(["1"]);
      expect(used).toEqual(["1"]);

      diskFull = true;
      const second = await clients.admin(0, { op: "peers", peers: { "1": "10.0.0.2:7000", "2": "10.0.0.3:7000" } }, 2_000);
      expect(second.ok).toBe(false);
      if (!second.ok) expect(second.error).toBe("could not keep the new peers on disk (ENOSPC: no space left on device, write); the node keeps its old ones");
      // The transport still has what the disk says: the first order's peers.
      expect(used).toEqual(["1"]);
      expect(logs.filter((line) => line.includes("could not keep the new peers"))).toHaveLength(1);
      // And the node still answers.
      const status = await clients.admin(0, { op: "status" }, 2_000);
      expect(status.ok).toBe(true);
    } finally {
      await clients.close();
      await node.stop();
    }
  });
});
