import { describe, expect, test } from "vitest";
import { KvStateMachine, KvStore, decodeResult, encodeCommand, isReadOnly, kvOperationTypes, type KvCommand, type KvResult } from "@concord/kv";

const text = new TextEncoder();
const v = (value: string): Uint8Array => text.encode(value);

/** run applies commands to a fresh store and returns the last result. */
function run(store: KvStore, ...commands: KvCommand[]): KvResult | undefined {
  let last: KvResult | undefined;
  for (const command of commands) last = store.execute(command);
  return last;
}

/** applyBytes runs a command through the state machine's wire path. */
function applyBytes(machine: KvStateMachine, command: KvCommand): KvResult {
  return decodeResult(machine.apply(new Uint8Array(encodeCommand(command))));
}

describe("KvStore semantics", () => {
  test("get of an absent key returns no value", () => {
    expect(new KvStore().execute({ type: "get", key: "x" })).toEqual({ type: "get", value: undefined });
  });

  test("put then get returns the value; a second put overwrites it", () => {
    const store = new KvStore();
    expect(store.execute({ type: "put", key: "x", value: v("1") })).toEqual({ type: "put" });
    expect(store.execute({ type: "get", key: "x" })).toEqual({ type: "get", value: v("1") });
    run(store, { type: "put", key: "x", value: v("2") });
    expect(store.execute({ type: "get", key: "x" })).toEqual({ type: "get", value: v("2") });
  });

  test("put of an empty value makes the key present with an empty value (not absent)", () => {
    const store = new KvStore();
    run(store, { type: "put", key: "x", value: new Uint8Array(0) });
    expect(store.execute({ type: "get", key: "x" })).toEqual({ type: "get", value: new Uint8Array(0) });
    expect(store.size).toBe(1);
  });

  test("append to an absent key creates it; append to a present key concatenates", () => {
    const store = new KvStore();
    expect(store.execute({ type: "append", key: "x", value: v("a") })).toEqual({ type: "append" });
    run(store, { type: "append", key: "x", value: v("bc") }, { type: "append", key: "x", value: new Uint8Array(0) });
    expect(store.get("x")).toEqual(v("abc"));
  });

  test("append does not change the value an earlier get returned", () => {
    const store = new KvStore();
    run(store, { type: "put", key: "x", value: v("a") });
    const before = store.execute({ type: "get", key: "x" });
    run(store, { type: "append", key: "x", value: v("b") });
    expect(before).toEqual({ type: "get", value: v("a") });
  });

  test("cas on an absent key succeeds when expecting absence, and sets the value", () => {
    const store = new KvStore();
    expect(store.execute({ type: "cas", key: "x", expected: undefined, value: v("1") })).toEqual({ type: "cas", ok: true });
    expect(store.get("x")).toEqual(v("1"));
  });

  test("cas on an absent key fails when expecting any value, even an empty one, and changes nothing", () => {
    const store = new KvStore();
    expect(store.execute({ type: "cas", key: "x", expected: v("1"), value: v("2") })).toEqual({ type: "cas", ok: false });
    expect(store.execute({ type: "cas", key: "x", expected: new Uint8Array(0), value: v("2") })).toEqual({ type: "cas", ok: false });
    expect(store.get("x")).toBeUndefined();
    expect(store.size).toBe(0);
  });

  test("cas on a present key fails when expecting absence", () => {
    const store = new KvStore();
    run(store, { type: "put", key: "x", value: new Uint8Array(0) });
    expect(store.execute({ type: "cas", key: "x", expected: undefined, value: v("2") })).toEqual({ type: "cas", ok: false });
    expect(store.get("x")).toEqual(new Uint8Array(0));
  });

  test("cas with a mismatching expected value fails and changes nothing (same length, other length)", () => {
    const store = new KvStore();
    run(store, { type: "put", key: "x", value: v("abc") });
    for (const expected of [v("abd"), v("ab"), v("abcd"), new Uint8Array(0)]) {
      expect(store.execute({ type: "cas", key: "x", expected, value: v("new") })).toEqual({ type: "cas", ok: false });
    }
    expect(store.get("x")).toEqual(v("abc"));
  });

  test("cas with the matching value succeeds and writes the new value", () => {
    const store = new KvStore();
    run(store, { type: "put", key: "x", value: v("abc") });
    expect(store.execute({ type: "cas", key: "x", expected: v("abc"), value: v("def") })).toEqual({ type: "cas", ok: true });
    expect(store.get("x")).toEqual(v("def"));
    run(store, { type: "put", key: "e", value: new Uint8Array(0) });
    expect(store.execute({ type: "cas", key: "e", expected: new Uint8Array(0), value: v("z") })).toEqual({ type: "cas", ok: true });
  });

  test("delete reports whether the key existed; deleting an absent key changes nothing", () => {
    const store = new KvStore();
    run(store, { type: "put", key: "x", value: v("1") }, { type: "put", key: "y", value: v("2") });
    expect(store.execute({ type: "delete", key: "x" })).toEqual({ type: "delete", existed: true });
    expect(store.get("x")).toBeUndefined();
    expect(store.execute({ type: "delete", key: "x" })).toEqual({ type: "delete", existed: false });
    expect(store.execute({ type: "delete", key: "nope" })).toEqual({ type: "delete", existed: false });
    expect(store.sortedEntries()).toEqual([["y", v("2")]]);
  });

  test("keys are exact strings: case, whitespace, unicode normalisation and the empty key are distinct", () => {
    const store = new KvStore();
    const keys = ["k", "K", "k ", "", "é", "e\u0301", "🙂"];
    keys.forEach((key, i) => run(store, { type: "put", key, value: v(String(i)) }));
    expect(store.size).toBe(keys.length);
    keys.forEach((key, i) => expect(store.get(key)).toEqual(v(String(i))));
  });

  test("the same commands in the same order give the same results and state (determinism)", () => {
    const commands: KvCommand[] = [];
    for (let i = 0; i < 200; i++) {
      const key = `k${(i * 7) % 5}`;
      const value = v(String(i % 3));
      const op = kvOperationTypes[(i * 11) % 5];
      if (op === "get" || op === "delete") commands.push({ type: op, key });
      else if (op === "cas") commands.push({ type: "cas", key, expected: i % 2 === 0 ? undefined : value, value: v(`c${i}`) });
      else commands.push({ type: op ?? "put", key, value });
    }
    const left = new KvStore();
    const right = new KvStore();
    expect(commands.map((command) => left.execute(command))).toEqual(commands.map((command) => right.execute(command)));
    expect(left.sortedEntries()).toEqual(right.sortedEntries());
  });
});

describe("KvStateMachine", () => {
  test("applies commands from their wire bytes and answers with encoded results", () => {
    const machine = new KvStateMachine();
    expect(applyBytes(machine, { type: "put", key: "x", value: v("1") })).toEqual({ type: "put" });
    expect(applyBytes(machine, { type: "append", key: "x", value: v("2") })).toEqual({ type: "append" });
    expect(applyBytes(machine, { type: "cas", key: "x", expected: v("12"), value: v("3") })).toEqual({ type: "cas", ok: true });
    expect(applyBytes(machine, { type: "get", key: "x" })).toEqual({ type: "get", value: v("3") });
    expect(applyBytes(machine, { type: "delete", key: "x" })).toEqual({ type: "delete", existed: true });
    expect(applyBytes(machine, { type: "get", key: "x" })).toEqual({ type: "get", value: undefined });
  });

  test("keeps its own copy of written values: reusing the command buffer afterwards changes nothing", () => {
    const machine = new KvStateMachine();
    const frame = new Uint8Array(encodeCommand({ type: "put", key: "x", value: v("hello") }));
    machine.apply(frame);
    frame.fill(0x41);
    expect(applyBytes(machine, { type: "get", key: "x" })).toEqual({ type: "get", value: v("hello") });
    const snapshot = new Uint8Array(machine.snapshot());
    const restored = new KvStateMachine();
    restored.restore(snapshot);
    snapshot.fill(0);
    expect(applyBytes(restored, { type: "get", key: "x" })).toEqual({ type: "get", value: v("hello") });
  });

  test("an undecodable command gets an `invalid` result that says why, and changes nothing", () => {
    const machine = new KvStateMachine();
    applyBytes(machine, { type: "put", key: "x", value: v("1") });
    const before = machine.snapshot();
    for (const garbage of [new Uint8Array([0xff, 0xff]), new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array([0x12, 0x05, 0x0a])]) {
      const outcome = decodeResult(machine.apply(garbage));
      expect(outcome.type).toBe("invalid");
      expect(outcome.type === "invalid" && outcome.reason).toMatch(/kv command/);
    }
    expect(machine.snapshot()).toEqual(before);
  });

  test("an undecodable command gives the same `invalid` result on every replica", () => {
    const garbage = new Uint8Array([0x0a, 0x10, 0x01]);
    expect(new KvStateMachine().apply(garbage)).toEqual(new KvStateMachine().apply(garbage));
  });

  test("query answers a get without changing anything", () => {
    const machine = new KvStateMachine();
    applyBytes(machine, { type: "put", key: "x", value: v("1") });
    const before = machine.snapshot();
    expect(decodeResult(machine.query(new Uint8Array(encodeCommand({ type: "get", key: "x" }))))).toEqual({ type: "get", value: v("1") });
    expect(machine.snapshot()).toEqual(before);
  });

  test("query refuses every command that is not read-only, and changes nothing", () => {
    const machine = new KvStateMachine();
    applyBytes(machine, { type: "put", key: "x", value: v("1") });
    const before = machine.snapshot();
    const writes: KvCommand[] = [
      { type: "put", key: "x", value: v("2") },
      { type: "append", key: "x", value: v("2") },
      { type: "cas", key: "x", expected: v("1"), value: v("2") },
      { type: "delete", key: "x" },
    ];
    for (const command of writes) {
      expect(isReadOnly(command)).toBe(false);
      const outcome = decodeResult(machine.query(new Uint8Array(encodeCommand(command))));
      expect(outcome).toEqual({ type: "invalid", reason: `${command.type} is not read-only` });
    }
    expect(machine.snapshot()).toEqual(before);
    expect(isReadOnly({ type: "get", key: "x" })).toBe(true);
  });

  test("query of undecodable bytes is `invalid` too", () => {
    expect(decodeResult(new KvStateMachine().query(new Uint8Array([0xff]))).type).toBe("invalid");
  });
});
