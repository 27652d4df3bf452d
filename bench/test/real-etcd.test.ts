import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Outcome } from "@concord/core";
import { type KvCommand, type KvResult, decodeResult, encodeCommand, isReadOnly } from "@concord/kv";
import { EtcdCluster, findOnPath } from "../src/real/etcd-cluster.ts";
import { EtcdTarget } from "../src/real/etcd-target.ts";

const etcdPath = findOnPath("etcd");
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

// The etcd adapter must answer each KV command as Concord's store would, or
// the checker would judge etcd by the wrong model. One real etcd member.
describe.skipIf(etcdPath === undefined)("the bench's etcd adapter on a real etcd", () => {
  let dataDir = "";
  let cluster: EtcdCluster | undefined;
  let target: EtcdTarget | undefined;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "concord-etcd-target-test-"));
    cluster = await EtcdCluster.start({ etcdPath: etcdPath as string, members: 1, dataDir });
    target = new EtcdTarget({ hosts: [await cluster.leaderUrl()] });
  }, 60_000);
  afterAll(async () => {
    target?.close();
    await cluster?.stop();
    if (dataDir !== "") rmSync(dataDir, { recursive: true, force: true });
  });

  async function run(command: KvCommand): Promise<KvResult | Outcome> {
    const outcome = await (target as EtcdTarget).submit((target as EtcdTarget).newClient(), encodeCommand(command), isReadOnly(command));
    return outcome.kind === "ok" ? decodeResult(outcome.result) : outcome;
  }

  it("answers get, put, cas and delete with the results of Concord's KV store", async () => {
    expect(await run({ type: "get", key: "a" })).toEqual({ type: "get", value: undefined });
    expect(await run({ type: "cas", key: "a", expected: bytes("x"), value: bytes("y") })).toEqual({ type: "cas", ok: false });
    expect(await run({ type: "cas", key: "a", expected: undefined, value: bytes("1") })).toEqual({ type: "cas", ok: true });
    expect(await run({ type: "cas", key: "a", expected: undefined, value: bytes("2") })).toEqual({ type: "cas", ok: false });
    expect(await run({ type: "get", key: "a" })).toEqual({ type: "get", value: bytes("1") });
    expect(await run({ type: "cas", key: "a", expected: bytes("1"), value: bytes("3") })).toEqual({ type: "cas", ok: true });
    expect(await run({ type: "put", key: "a", value: bytes("4") })).toEqual({ type: "put" });
    expect(await run({ type: "get", key: "a" })).toEqual({ type: "get", value: bytes("4") });
    expect(await run({ type: "delete", key: "a" })).toEqual({ type: "delete", existed: true });
    expect(await run({ type: "delete", key: "a" })).toEqual({ type: "delete", existed: false });
    expect(await run({ type: "get", key: "a" })).toEqual({ type: "get", value: undefined });
  });

  it("refuses append as certainly not applied, since etcd has no atomic append", async () => {
    expect(await run({ type: "append", key: "b", value: bytes("x") })).toEqual({ kind: "failed", rejection: { kind: "dropped", reason: "etcd has no atomic append" } });
    expect(await run({ type: "get", key: "b" })).toEqual({ type: "get", value: undefined });
  });

  it("counts a write whose call failed as indeterminate and a failed read as failed", async () => {
    const unreachable = new EtcdTarget({ hosts: ["http://127.0.0.1:1"], callTimeoutMs: 300 });
    try {
      const client = unreachable.newClient();
      expect((await unreachable.submit(client, encodeCommand({ type: "put", key: "c", value: bytes("x") }), false)).kind).toBe("indeterminate");
      expect((await unreachable.submit(client, encodeCommand({ type: "get", key: "c" }), true)).kind).toBe("failed");
    } finally {
      unreachable.close();
    }
  });
});
