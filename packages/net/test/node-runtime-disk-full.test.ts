import { describe, expect, it } from "vitest";
import { MemoryStorage, type NodeId, type Outcome } from "@concord/core";
import { KvStateMachine, decodeResult, encodeCommand } from "@concord/kv";
import { raft } from "@concord/raft";
import { ClusterCrypto, ClusterKeys } from "../src/cluster-crypto.ts";
import { ClientHost } from "../src/client-host.ts";
import { NodeRuntime, diskFullCode } from "../src/node-runtime.ts";
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

  override sync(): void {
    if (this.full && (this.unsynced.length > 0 || this.stagedSnapshot !== undefined)) {
      this.failedSyncs++;
      this.sendsAtFailure ??= this.sends;
      throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC", errno: -28, syscall: "write" });
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

  it("halts a follower whose sync fails with ENOSPC without acknowledging the entries it could not sync, logs one line, and a restart keeps every acknowledged write", async () => {
    const hub = new LoopbackHub();
    const storages = replicas.map(() => new FillableStorage());
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
    try {
      await until("a leader", () => nodes.some((node) => node.status.role === "leader"));
      const writer = clients.newClient();
      for (let i = 0; i < 5; i++) expect((await clients.submit(writer, put(`v${i}`), false)).kind).toBe("ok");
      const leader = nodes.findIndex((node) => node.status.role === "leader");
      // A follower: its Ready for the next entry holds the acknowledgement (AppendEntries' reply), which must wait for the sync.
      const victim = (leader + 1) % replicas.length;
      const storage = storages[victim] as FillableStorage;
      const durableBefore = storage.records.length;

      // The follower's disk fills; the next write makes it append an entry it cannot sync.
      storage.full = true;
      const during = clients.submit(writer, put("during"), false);
      await until("the follower to halt on the full disk", () => diskFull.length > 0);
      expect(diskFull).toEqual([victim]);
      expect(storage.failedSyncs).toBe(1);
      const sendsAtFailure = storage.sendsAtFailure as number;
      const fullLines = log.filter((line) => line.includes("is full"));
      expect(fullLines).toEqual([`node ${victim}: /data/node-${victim} is full (ENOSPC): halting without sending what was not synced; restart once space is freed`]);
      // Nothing leaves the halted node afterwards: not the failed Ready's messages, nor anything else.
      await new Promise((resolve) => setTimeout(resolve, 50 * tickMs));
      expect(storage.sends).toBe(sendsAtFailure);
      expect(storage.records.length).toBe(durableBefore);
      await (nodes[victim] as NodeRuntime<unknown>).stop();

      // The leader and the other follower commit the write; the halted node restarts from what it synced once space is freed.
      expect((await during).kind).toBe("ok");
      storage.crash();
      storage.full = false;
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
