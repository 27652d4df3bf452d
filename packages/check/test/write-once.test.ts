// The write-once register per key (the object single-decree Paxos offers, kvSemantics "write-once"): the first
// put to take effect fixes the key's value, every put answers the value the key holds, and a get answers it or
// nothing. Each history below is judged under both models, so that a test shows where they part.
import type { KvCommand, KvResult } from "@concord/kv";
import { checkKvHistory, summarizeKvHistory, writeOnceKvModel } from "@concord/check";
import { describe, expect, test } from "vitest";
import { HistoryBuilder } from "./builders.ts";

const encoder = new TextEncoder();
const bytes = (value: string): Uint8Array => encoder.encode(value);

/** WriteOnceHistory builds histories whose puts report the value the key holds. */
class WriteOnceHistory extends HistoryBuilder<KvCommand, KvResult> {
  get(client: number, from: number, to: number | undefined, key: string, value: string | undefined): this {
    return this.add(client, from, to, { type: "get", key }, { type: "get", value: value === undefined ? undefined : bytes(value) });
  }
  /** put of `value` answered with `holds`, the value the key holds after it. */
  put(client: number, from: number, to: number | undefined, key: string, value: string, holds: string | undefined, status: "ok" | "info" | "fail" = "ok"): this {
    return this.add(client, from, to, { type: "put", key, value: bytes(value) }, holds === undefined ? { type: "put" } : { type: "put", value: bytes(holds) }, status);
  }
}

function kinds(history: WriteOnceHistory): { kv: string; writeOnce: string } {
  return { kv: checkKvHistory(history.operations).kind, writeOnce: checkKvHistory(history.operations, {}, "write-once").kind };
}

describe("the write-once register model", () => {
  test("a second put that answers the first put's value, and a read after it of that value, are linearizable only as write-once", () => {
    const history = new WriteOnceHistory()
      .put(1, 0, 10, "x", "a", "a")
      .put(2, 20, 30, "x", "b", "a")
      .get(3, 40, 50, "x", "a");
    // As an overwriting store the put of b would have to be lost: a read after it still sees a.
    expect(kinds(history)).toEqual({ kv: "not-linearizable", writeOnce: "linearizable" });
  });

  test("a put that answers its own value after another put fixed the key is not linearizable", () => {
    const history = new WriteOnceHistory().put(1, 0, 10, "x", "a", "a").put(2, 20, 30, "x", "b", "b");
    expect(kinds(history).writeOnce).toBe("not-linearizable");
  });

  test("two concurrent puts may fix either value, but both must answer the same one", () => {
    expect(kinds(new WriteOnceHistory().put(1, 0, 10, "x", "a", "b").put(2, 0, 10, "x", "b", "b")).writeOnce).toBe("linearizable");
    expect(kinds(new WriteOnceHistory().put(1, 0, 10, "x", "a", "a").put(2, 0, 10, "x", "b", "b")).writeOnce).toBe("not-linearizable");
  });

  test("a read of no value after a put completed is not linearizable; before it, or concurrent, it is", () => {
    expect(kinds(new WriteOnceHistory().put(1, 0, 10, "x", "a", "a").get(2, 20, 30, "x", undefined)).writeOnce).toBe("not-linearizable");
    expect(kinds(new WriteOnceHistory().get(2, 0, 10, "x", undefined).put(1, 20, 30, "x", "a", "a")).writeOnce).toBe("linearizable");
    expect(kinds(new WriteOnceHistory().put(1, 0, 30, "x", "a", "a").get(2, 10, 20, "x", undefined)).writeOnce).toBe("linearizable");
  });

  test("a put whose outcome is unknown may fix the key later, and the value it fixed is read", () => {
    const history = new WriteOnceHistory()
      .put(1, 0, undefined, "x", "a", undefined, "info")
      .get(2, 10, 20, "x", undefined)
      .put(3, 30, 40, "x", "b", "a");
    expect(kinds(history).writeOnce).toBe("linearizable");
  });

  test("a put that failed never fixed the key", () => {
    const history = new WriteOnceHistory().put(1, 0, 10, "x", "a", undefined, "fail").put(2, 20, 30, "x", "b", "a");
    expect(kinds(history).writeOnce).toBe("not-linearizable");
  });

  test("keys are independent registers", () => {
    const history = new WriteOnceHistory().put(1, 0, 10, "x", "a", "a").put(2, 20, 30, "y", "b", "b").get(3, 40, 50, "y", "b");
    expect(kinds(history).writeOnce).toBe("linearizable");
  });

  test("a completed cas, append or delete is not an operation of the register", () => {
    const history = new HistoryBuilder<KvCommand, KvResult>().add(1, 0, 10, { type: "delete", key: "x" }, { type: "delete", existed: false });
    expect(checkKvHistory(history.operations, {}, "write-once").kind).toBe("not-linearizable");
    expect(writeOnceKvModel.step(undefined, { type: "append", key: "x", value: bytes("a") }, undefined)).toEqual({ ok: true, state: undefined });
  });

  test("the run judgement names the model's verdict", () => {
    const history = new WriteOnceHistory().put(1, 0, 10, "x", "a", "a").put(2, 20, 30, "x", "b", "b");
    expect(summarizeKvHistory(history.operations, {}, "write-once")).toMatchObject({ linearizable: false });
    expect(summarizeKvHistory(history.operations, {}, "kv")).toMatchObject({ linearizable: true });
  });
});
