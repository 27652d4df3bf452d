// etcd behind the load driver's LoadTarget: the same encoded KV commands the
// Concord clusters get, translated to etcd v3 calls through the `etcd3`
// client, and the answers encoded back as Concord's KV results, so that the
// driver records etcd's history like any other and the same checker judges
// it.
import { type NodeId, type Outcome, type ReadLevel, dropped, firstClientId } from "@concord/core";
import { type KvCommand, type KvResult, decodeCommand, encodeResult } from "@concord/kv";
import type { Etcd3 } from "etcd3";
import { loadEtcd3 } from "./etcd-cluster.ts";
import type { LoadTarget } from "./load.ts";

/** EtcdTargetSetup says which endpoints to talk to and how long a call may take. */
export interface EtcdTargetSetup {
  readonly hosts: readonly string[];
  /** callTimeoutMs is each call's gRPC deadline; past it the call is given up (default 5000). */
  readonly callTimeoutMs?: number | undefined;
}

/**
 * EtcdTarget runs KV commands on an etcd cluster:
 * - `get` is a linearizable range read of the key (etcd's default), or with
 *   read level `stale` a serializable one, which the member the call reaches
 *   answers from its own state (etcd's stale read); `lease` is linearizable;
 * - `put` a put; `delete` a delete-range of the key (existed: one was deleted);
 * - `cas` a transaction comparing the key's value to the expected one (or its
 *   create revision to 0 for "absent") and putting the new value if it holds;
 * - `append` has no atomic etcd equivalent and is refused, never emulated by
 *   a read and a write that another client could interleave.
 *
 * The client's retries and circuit breakers are off: a retried put could take
 * effect twice, and the history must record what was sent once. A write whose
 * call fails is indeterminate (it may have been committed); a read's failure
 * is a failure (it changed nothing). Every client id shares one gRPC channel,
 * as every Concord client shares one TCP connection per replica.
 */
export class EtcdTarget implements LoadTarget {
  /** client is made once etcd3 and cockatiel are loaded (lazily: see {@link loadEtcd3}). */
  private readonly client: Promise<Etcd3>;
  private readonly callTimeoutMs: number;
  private nextClient: NodeId = firstClientId;
  private closed = false;

  constructor(setup: EtcdTargetSetup) {
    this.callTimeoutMs = setup.callTimeoutMs ?? 5_000;
    this.client = Promise.all([loadEtcd3(), import("cockatiel")]).then(
      ([{ Etcd3: Client }, { noop }]) =>
        new Client({
          hosts: [...setup.hosts],
          dialTimeout: this.callTimeoutMs,
          faultHandling: { global: noop, host: () => noop },
          defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + this.callTimeoutMs }),
        }),
    );
  }

  /** newClient names one more client; etcd needs no per-client state, so it is only a number for the history. */
  newClient(): NodeId {
    return this.nextClient++;
  }

  /** submit runs one encoded KV command and answers with its encoded result, as a Concord client would. */
  async submit(_clientId: NodeId, command: Uint8Array, readOnly: boolean, readLevel?: ReadLevel): Promise<Outcome> {
    if (this.closed) {
      // A closed etcd3 client fails every call at once; answering on a later turn keeps a closed-loop driver from spinning.
      await new Promise((resolve) => setTimeout(resolve, 10));
      return { kind: "failed", rejection: dropped("the etcd client is closed") };
    }
    const decoded = decodeCommand(command);
    if (decoded.type === "append") return { kind: "failed", rejection: dropped("etcd has no atomic append") };
    try {
      return { kind: "ok", result: encodeResult(await this.run(decoded, readOnly && readLevel === "stale")) };
    } catch (error) {
      const rejection = dropped(`etcd: ${(error as Error).message.split("\n")[0] ?? "error"}`);
      return readOnly ? { kind: "failed", rejection } : { kind: "indeterminate", rejection };
    }
  }

  /** close ends the gRPC channel. */
  close(): void {
    this.closed = true;
    void this.client.then((client) => client.close());
  }

  private async run(command: Exclude<KvCommand, { type: "append" }>, serializable: boolean): Promise<KvResult> {
    const client = await this.client;
    switch (command.type) {
      case "get": {
        const value = await client.get(command.key).serializable(serializable).buffer();
        return { type: "get", value: value === null ? undefined : new Uint8Array(value) };
      }
      case "put":
        await client.put(command.key).value(Buffer.from(command.value));
        return { type: "put" };
      case "delete": {
        const response = await client.delete().key(command.key);
        return { type: "delete", existed: Number(response.deleted) > 0 };
      }
      case "cas": {
        const guard =
          command.expected === undefined ? client.if(command.key, "Create", "==", 0) : client.if(command.key, "Value", "==", Buffer.from(command.expected));
        const response = await guard.then(client.put(command.key).value(Buffer.from(command.value))).commit();
        return { type: "cas", ok: response.succeeded };
      }
    }
  }
}
