import { describe, expect, it } from "vitest";
import { cloneGraph } from "../src/clone.ts";
import { encodeCanonical, fingerprint } from "../src/fingerprint.ts";

class Counter {
  count = 0;
  readonly seen = new Map<string, number[]>();
  bump(key: string): void {
    this.count++;
    this.seen.set(key, [...(this.seen.get(key) ?? []), this.count]);
  }
}

describe("cloneGraph", () => {
  it("keeps prototypes, so the copy's methods run on the copy alone", () => {
    const original = new Counter();
    original.bump("a");
    const copy = cloneGraph(original);
    copy.bump("a");
    expect(copy).toBeInstanceOf(Counter);
    expect(original.count).toBe(1);
    expect(copy.count).toBe(2);
    expect(original.seen.get("a")).toEqual([1]);
    expect(copy.seen.get("a")).toEqual([1, 2]);
  });

  it("keeps sharing and cycles, copies typed arrays and empties weak maps", () => {
    const shared = { n: 1 };
    const bytes = Uint8Array.from([1, 2, 3]);
    const weak = new WeakMap<object, number>([[shared, 1]]);
    const root: { a: typeof shared; b: typeof shared; self?: unknown; bytes: Uint8Array; weak: WeakMap<object, number> } = { a: shared, b: shared, bytes, weak };
    root.self = root;
    const copy = cloneGraph(root);
    expect(copy.a).toBe(copy.b);
    expect(copy.a).not.toBe(shared);
    expect(copy.self).toBe(copy);
    expect(copy.bytes).toEqual(bytes);
    expect(copy.bytes).not.toBe(bytes);
    expect(copy.weak.has(copy.a)).toBe(false);
  });

  it("keeps the objects it is told to share by reference", () => {
    const codec = { name: "codec" };
    const copy = cloneGraph({ codec, list: [codec] }, new Set([codec]));
    expect(copy.codec).toBe(codec);
    expect(copy.list[0]).toBe(codec);
  });
});

describe("encodeCanonical", () => {
  it("gives equal states one encoding, however their plain objects' keys were ordered", () => {
    const one = new Counter();
    const two = new Counter();
    one.bump("a");
    two.bump("a");
    expect(encodeCanonical({ x: one, y: [1, "2"] })).toBe(encodeCanonical({ y: [1, "2"], x: two }));
  });

  it("tells apart what a protocol could tell apart: a Map's order, a class, sharing, a number from a string", () => {
    const ab = new Map([["a", 1], ["b", 2]]);
    const ba = new Map([["b", 2], ["a", 1]]);
    expect(encodeCanonical(ab)).not.toBe(encodeCanonical(ba));
    expect(encodeCanonical(new Counter())).not.toBe(encodeCanonical({ count: 0, seen: new Map() }));
    const item = { v: 1 };
    expect(encodeCanonical([item, item])).not.toBe(encodeCanonical([{ v: 1 }, { v: 1 }]));
    expect(encodeCanonical([1])).not.toBe(encodeCanonical(["1"]));
    expect(encodeCanonical(Uint8Array.from([1]))).not.toBe(encodeCanonical(Uint8Array.from([2])));
    expect(encodeCanonical(["ab", "c"])).not.toBe(encodeCanonical(["a", "bc"]));
  });

  it("hashes an encoding to a fixed-length fingerprint", () => {
    expect(fingerprint("a")).toHaveLength(22);
    expect(fingerprint("a")).not.toBe(fingerprint("b"));
  });
});
