import type { HistoryOperation, OperationStatus } from "@concord/core";
import type { KvCommand, KvResult } from "@concord/kv";
import type { RegisterInput, RegisterOutput, RegisterValue } from "../src/index.ts";

const encoder = new TextEncoder();
const bytes = (value: string): Uint8Array => encoder.encode(value);

/** HistoryBuilder collects operations with ids in the order they are added. */
export class HistoryBuilder<I, O> {
  readonly operations: HistoryOperation<I, O>[] = [];

  add(clientId: number, invokeUs: number, completeUs: number | undefined, input: I, output: O | undefined, status: OperationStatus = "ok"): this {
    this.operations.push({ id: this.operations.length, clientId, input, invokeUs, completeUs, status, output: status === "ok" ? output : undefined });
    return this;
  }
}

/** register builds register histories: `.write(1, 0, 10, 3)` is client 1 writing 3 during [0, 10]. */
export class RegisterHistory extends HistoryBuilder<RegisterInput, RegisterOutput> {
  read(client: number, from: number, to: number | undefined, value: RegisterValue, status: OperationStatus = "ok"): this {
    return this.add(client, from, to, { type: "read" }, { type: "read", value }, status);
  }
  write(client: number, from: number, to: number | undefined, value: RegisterValue, status: OperationStatus = "ok"): this {
    return this.add(client, from, to, { type: "write", value }, { type: "write" }, status);
  }
  cas(client: number, from: number, to: number | undefined, expected: RegisterValue, value: RegisterValue, ok: boolean, status: OperationStatus = "ok"): this {
    return this.add(client, from, to, { type: "cas", expected, value }, { type: "cas", ok }, status);
  }
}

/** KvHistory builds KV histories over string values. */
export class KvHistory extends HistoryBuilder<KvCommand, KvResult> {
  get(client: number, from: number, to: number | undefined, key: string, value: string | undefined, status: OperationStatus = "ok"): this {
    return this.add(client, from, to, { type: "get", key }, { type: "get", value: value === undefined ? undefined : bytes(value) }, status);
  }
  put(client: number, from: number, to: number | undefined, key: string, value: string, status: OperationStatus = "ok"): this {
    return this.add(client, from, to, { type: "put", key, value: bytes(value) }, { type: "put" }, status);
  }
  append(client: number, from: number, to: number | undefined, key: string, value: string, status: OperationStatus = "ok"): this {
    return this.add(client, from, to, { type: "append", key, value: bytes(value) }, { type: "append" }, status);
  }
  cas(client: number, from: number, to: number | undefined, key: string, expected: string | undefined, value: string, ok: boolean, status: OperationStatus = "ok"): this {
    const command: KvCommand = { type: "cas", key, expected: expected === undefined ? undefined : bytes(expected), value: bytes(value) };
    return this.add(client, from, to, command, { type: "cas", ok }, status);
  }
  delete(client: number, from: number, to: number | undefined, key: string, existed: boolean, status: OperationStatus = "ok"): this {
    return this.add(client, from, to, { type: "delete", key }, { type: "delete", existed }, status);
  }
}
