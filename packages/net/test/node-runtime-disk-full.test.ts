import { describe, expect, it } from "vitest";
import { MemoryStorage, type NodeId, type Outcome } from "@concord/core";
import { KvStateMachine, decodeResult, encodeCommand } from "@concord/kv";
import { raft } from "@concord/raft";
import { ClusterCrypto, ClusterKeys } from "../src/cluster-crypto.ts";
import { ClientHost } from "../src/client-host.ts";
import { NodeRuntime, diskFullCode } from "../src/node-runtime.ts";
import { StorageFailedError } from "../src/file-storage.ts";
import { LoopbackHub } from "./loopback-hub.ts";

const keys = new ClusterKeys(new Uint8Array(32).fill(7));
const replicas: NodeId[] = [0, 1, 2];
const tickMs = 2;

/** FillableStorage is a MemoryStorage whose sync fails with ENOSPC while `full`, as a write to a full directory does; it counts the sends made after a failed sync. */
class FillableStorage extends MemoryStorage {
  full = false;
  failedSyncs = 0;
  /** sendsAtFailure is the node's send count when the first sync failed. */
  sendsAtFailure: number | undefined;
  sends = 0;

  /** refusesRetry: after the first failed sync, refuse every later one as FileStorage refuses use after a sync it could not undo. */
  refusesRetry = false;

  override sync(): void {
    if (this.full && (this.unsynced.length > 0 || this.stagedSnapshot !== undefined)) {
      this.failedSyncs++;
      this.sendsAtFailure ??= this.sends;
      const error = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC", errno: -28, syscall: "write" });
      if (this.refusesRetry && this.failedSyncs > 1) throw new StorageFailedError("sync() refused: an earlier sync failed", { cause: error });
      throw error;
    }
    super.sync();
  }
}

async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function put(value: string): Uint8Array {
  return encodeCommand({ type: "put", key: "k", value: new TextEncoder().encode(value) });
}

function okValue(outcome: Outcome): string {
  if (outcome.kind !== "ok") throw new Error(`expected ok, got ${JSON.stringify(outcome)}`);
  const result = decodeResult(outcome.result);
  return JSON.stringify(result, (_key, value: unknown) => (value instanceof Uint8Array ? new TextDecoder().decode(value) : value));
}

describe("NodeRuntime on a full disk", () => {
  it("tells ENOSPC and EDQUOT, also as the cause of a storage error, from other errors", () => {
    expect(diskFullCode(Object.assign(new Error("no space"), { code: "ENOSPC" }))).toBe("ENOSPC");
    expect(diskFullCode(new Error("refused", { cause: Object.assign(new Error("quota"), { code: "EDQUOT" }) }))).toBe("EDQUOT");
    expect(diskFullCode(Object.assign(new Error("io"), { code: "EIO" }))).toBeUndefined();
    expect(diskFullCode("ENOSPC")).toBeUndefined();
  });

  /** startCluster starts three Raft nodes on `storages` and a client host, over one loopback hub. */
  async function startCluster(storages: readonly FillableStorage[]) {
    const hub = new LoopbackHub();
    const log: string[] = [];
    const diskFull: NodeId[] = [];
    const start = (id: NodeId, seed: number): Promise<NodeRuntime<unknown>> =>
      NodeRuntime.start({
        algorithm: raft,
        id,
        replicas,
        storage: storages[id] as FillableStorage,
        stateMachine: new KvStateMachine(),
        crypto: new ClusterCrypto(id, keys),
        options: {},
        seed,
        tickMs,
        connect: async (sink) => {
          const transport = hub.transport([id], sink);
          const storage = storages[id] as FillableStorage;
          return { ...transport, send: (from, to, payload) => (storage.sends++, transport.send(from, to, payload)) };
        },
        log: (line) => log.push(line),
        storageName: `/data/node-${id}`,
        onDiskFull: () => diskFull.push(id),
      }) as Promise<NodeRuntime<unknown>>;
    const nodes = await Promise.all(replicas.map((id) => start(id, id + 1)));
    const clients = await ClientHost.start({ algorithm: raft, replicas, crypto: (id) => new ClusterCrypto(id, keys), options: {}, tickMs, connect: async (sink) => hub.transport([], sink) });
    await until("a leader", () => nodes.some((node) => node.status.role === "leader"));
    const writer = clients.newClient();
    for (let i = 0; i < 5; i++) expect((await clients.submit(writer, put(`v${i}`), false)).kind).toBe("ok");
    // A follower: its Ready for the next entry holds the acknowledgement (AppendEntries' reply), which must wait for the sync.
    const victim = (nodes.findIndex((node) => node.status.role === "leader") + 1) % replicas.length;
    return { nodes, clients, writer, victim, log, diskFull, start };
  }

  it("keeps a follower whose sync fails with ENOSPC up, holding the entries it could not sync unacknowledged and saying its disk is full, and resumes it once space is freed, losing no acknowledged write", async () => {
    const storages = replicas.map(() => new FillableStorage());
    const { nodes, clients, writer, victim, log, diskFull } = await startCluster(storages);
    try {
      const storage = storages[victim] as FillableStorage;
      const node = nodes[victim] as NodeRuntime<unknown>;
      const durableBefore = storage.records.length;

      // The follower's disk fills; the next write makes it append an entry it cannot sync.
      storage.full = true;
      const during = clients.submit(writer, put("during"), false);
      await until("the follower to find its disk full", () => storage.failedSyncs > 0);
      const sendsAtFailure = storage.sendsAtFailure as number;
      expect(log.filter((line) => line.includes("is full"))).toEqual([`node ${victim}: /data/node-${victim} is full (ENOSPC): holding what was not synced (none of it sent), taking no ticks or frames, retrying the sync every 250 ms`]);
      expect(node.statusReport().diskFull).toBe(true);
      // The leader and the other follower commit the write meanwhile; nothing leaves the full node, which retries.
      expect((await during).kind).toBe("ok");
      await until("a few retries", () => storage.failedSyncs >= 3);
      expect(storage.sends).toBe(sendsAtFailure);
      expect(storage.records.length).toBe(durableBefore);
      expect(diskFull).toEqual([]);

      // Space is freed: the held Ready is synced, then its acknowledgement sent, and the node catches up and serves.
      storage.full = false;
      await until("the node to resume", () => log.some((line) => line.includes("space freed")));
      expect(node.statusReport().diskFull).toBe(false);
      expect(storage.records.length).toBeGreaterThan(durableBefore);
      await until("the node to apply the write made while its disk was full", () => node.status.appliedIndex >= 6);
      expect(storage.sends).toBeGreaterThan(sendsAtFailure);
      expect(diskFull).toEqual([]);
      const read = await clients.submit(clients.newClient(), encodeCommand({ type: "get", key: "k" }), true);
      expect(okValue(read)).toContain("during");
    } finally {
      await clients.close();
      await Promise.all(nodes.map((node) => node.stop()));
    }
  });

  it("halts, with one line, a node whose storage cannot retry the failed sync, and a restart keeps every acknowledged write", async () => {
    const storages = replicas.map(() => new FillableStorage());
    const { nodes, clients, writer, victim, log, diskFull, start } = await startCluster(storages);
    try {
      const storage = storages[victim] as FillableStorage;
      storage.full = true;
      storage.refusesRetry = true;
      const during = clients.submit(writer, put("during"), false);
      await until("the follower to halt on the full disk", () => diskFull.length > 0);
      expect(diskFull).toEqual([victim]);
      const sendsAtFailure = storage.sendsAtFailure as number;
      expect(log.filter((line) => line.includes("cannot retry"))).toEqual([`node ${victim}: /data/node-${victim} is full (ENOSPC) and the storage cannot retry the failed sync: halting without sending what was not synced; restart once space is freed`]);
      await new Promise((resolve) => setTimeout(resolve, 50 * tickMs));
      expect(storage.sends).toBe(sendsAtFailure);
      await (nodes[victim] as NodeRuntime<unknown>).stop();
      expect((await during).kind).toBe("ok");
      storage.crash();
      storage.full = false;
      storage.refusesRetry = false;
      nodes[victim] = await start(victim, 100);
      await until("the restarted node to catch up", () => (nodes[victim] as NodeRuntime<unknown>).status.appliedIndex >= 6);
      const read = await clients.submit(clients.newClient(), encodeCommand({ type: "get", key: "k" }), true);
      expect(okValue(read)).toContain("during");
    } finally {
      await clients.close();
      await Promise.all(nodes.map((node) => node.stop()));
    }
  });
});
