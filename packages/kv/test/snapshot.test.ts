import { describe, expect, test } from "vitest";
import { CorruptionError, createRng, type Rng } from "@concord/core";
import { KvStateMachine, decodeResult, encodeCommand, type KvCommand } from "@concord/kv";

const text = new TextEncoder();
const v = (value: string): Uint8Array => text.encode(value);

function apply(machine: KvStateMachine, command: KvCommand): void {
  machine.apply(new Uint8Array(encodeCommand(command)));
}

function getValue(machine: KvStateMachine, key: string): Uint8Array | undefined {
  const result = decodeResult(machine.query(new Uint8Array(encodeCommand({ type: "get", key }))));
  if (result.type !== "get") throw new Error(`unexpected ${result.type}`);
  return result.value;
}

function shuffled<T>(items: readonly T[], rng: Rng): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

const content: [string, Uint8Array][] = [
  ["b", v("2")],
  ["a", v("1")],
  ["", v("empty key")],
  ["é", new Uint8Array(0)],
  ["🙂", v("smile")],
  ["\uffff", v("last of the BMP")],
  ["Z", Uint8Array.from({ length: 64 }, (_, i) => i)],
];

describe("KvStateMachine snapshots", () => {
  test("restore gives identical state: every key, its value, and no other key", () => {
    const source = new KvStateMachine();
    for (const [key, value] of content) apply(source, { type: "put", key, value });
    const restored = new KvStateMachine();
    apply(restored, { type: "put", key: "stale", value: v("gone after restore") });
    restored.restore(source.snapshot());
    for (const [key, value] of content) expect(getValue(restored, key)).toEqual(value);
    expect(getValue(restored, "stale")).toBeUndefined();
    expect(restored.store.size).toBe(content.length);
    expect(restored.snapshot()).toEqual(source.snapshot());
  });

  test("snapshots are byte-identical whatever order the keys were written in", () => {
    const rng = createRng(21);
    const reference = new KvStateMachine();
    for (const [key, value] of content) apply(reference, { type: "put", key, value });
    const expected = reference.snapshot();
    for (let trial = 0; trial < 20; trial++) {
      const machine = new KvStateMachine();
      for (const [key, value] of shuffled(content, rng)) apply(machine, { type: "put", key, value });
      expect(machine.snapshot()).toEqual(expected);
    }
  });

  test("snapshots are byte-identical for equal states reached through different histories", () => {
    const direct = new KvStateMachine();
    apply(direct, { type: "put", key: "x", value: v("ab") });
    apply(direct, { type: "put", key: "y", value: v("1") });

    const winding = new KvStateMachine();
    apply(winding, { type: "put", key: "y", value: v("0") });
    apply(winding, { type: "put", key: "gone", value: v("?") });
    apply(winding, { type: "append", key: "x", value: v("a") });
    apply(winding, { type: "append", key: "x", value: v("b") });
    apply(winding, { type: "delete", key: "gone" });
    apply(winding, { type: "cas", key: "y", expected: v("0"), value: v("1") });

    expect(winding.snapshot()).toEqual(direct.snapshot());
  });

  test("an empty store round-trips", () => {
    const snapshot = new KvStateMachine().snapshot();
    const restored = new KvStateMachine();
    apply(restored, { type: "put", key: "x", value: v("1") });
    restored.restore(snapshot);
    expect(restored.store.size).toBe(0);
    expect(restored.snapshot()).toEqual(snapshot);
  });

  test("a corrupted snapshot is a CorruptionError and changes nothing", () => {
    const source = new KvStateMachine();
    for (const [key, value] of content) apply(source, { type: "put", key, value });
    const snapshot = source.snapshot();
    const target = new KvStateMachine();
    apply(target, { type: "put", key: "keep", value: v("me") });
    const before = target.snapshot();
    let refused = 0;
    for (let length = 1; length < snapshot.length; length++) {
      try {
        target.restore(snapshot.slice(0, length));
      } catch (error) {
        expect(error).toBeInstanceOf(CorruptionError);
        expect(target.snapshot()).toEqual(before);
        refused++;
        continue;
      }
      // A cut that falls between entries is itself a valid, smaller snapshot: put the target back.
      target.restore(before);
    }
    expect(refused).toBeGreaterThan(snapshot.length / 2);
  });
});
