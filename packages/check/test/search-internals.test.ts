import { describe, expect, it } from "vitest";
import { createRng, type History } from "@concord/core";
import type { KvCommand, KvResult } from "@concord/kv";
import { checkHistory, generateKvHistory, kvModel, registerModel, stringKvModel, type Model, type RegisterInput, type RegisterOutput } from "@concord/check";
import { appendHash, emptyStringHash, hashString } from "../src/models/hash.ts";
import { borrowScratch, returnScratch } from "../src/scratch.ts";
import { sortedByKey } from "../src/search.ts";

const encoder = new TextEncoder();

describe("the search's sort", () => {
  it("orders indexes by key, ties (infinities included) in index order, as a stable sort does", () => {
    const rng = createRng(7);
    const scratch = borrowScratch();
    try {
      for (let trial = 0; trial < 300; trial++) {
        const count = rng.nextInt(trial < 100 ? 12 : 300);
        const keys = new Float64Array(count);
        // Few distinct keys, so that ties are common; some at infinity, as an indeterminate operation's return is.
        for (let i = 0; i < count; i++) keys[i] = rng.chance(1, 10) ? Number.POSITIVE_INFINITY : rng.nextInt(1 + (trial % 20));
        const expected = Array.from({ length: count }, (_, i) => i).sort((a, b) => (keys[a] === keys[b] ? a - b : keys[a]! - keys[b]!));
        expect(Array.from(sortedByKey(keys, count, scratch)), `trial ${trial}`).toEqual(expected);
      }
    } finally {
      returnScratch(scratch);
    }
  });
});

describe("state hashes", () => {
  it("hash a whole string, and appendHash continues a hash over a suffix", () => {
    expect(hashString("")).toBe(emptyStringHash);
    expect(hashString("x 1 0 yx 2 0 y")).not.toBe(hashString("x 2 0 yx 1 0 y"));
    const rng = createRng(3);
    for (let trial = 0; trial < 200; trial++) {
      const a = String.fromCharCode(...Array.from({ length: rng.nextInt(40) }, () => rng.nextInt(256)));
      const b = String.fromCharCode(...Array.from({ length: rng.nextInt(40) }, () => rng.nextInt(256)));
      expect(appendHash(hashString(a), b)).toBe(hashString(a + b));
    }
  });

  it("of the KV models: hashAfter gives hash(after) for every step, appends to absent, empty and long values included", () => {
    const rng = createRng(11);
    const value = (): Uint8Array => encoder.encode(["", "a", "bc", "x 7 0 y"][rng.nextInt(4)]!);
    for (const model of [kvModel, stringKvModel]) {
      for (let walk = 0; walk < 50; walk++) {
        let state = model.init();
        let hash = model.hash(state);
        for (let step = 0; step < 40; step++) {
          const key = "k";
          const roll = rng.nextInt(10);
          const command: KvCommand =
            roll < 5
              ? { type: "append", key, value: value() }
              : roll < 7
                ? { type: "put", key, value: value() }
                : roll < 9
                  ? { type: "cas", key, expected: rng.chance(1, 2) ? undefined : value(), value: value() }
                  : { type: "delete", key };
          const after = model.step(state, command, undefined).state;
          hash = model.hashAfter!(hash, state, command, after);
          expect(hash, `${model.name}, walk ${walk}, step ${step}`).toBe(model.hash(after));
          state = after;
        }
      }
    }
  });
});

describe("the search's borrowed arrays", () => {
  it("are one borrower's at a time", () => {
    const first = borrowScratch();
    const second = borrowScratch();
    expect(second).not.toBe(first);
    returnScratch(first);
    returnScratch(second);
  });

  it("leave verdicts alone when a search runs inside another (a model whose step checks a history)", () => {
    const inner: History<RegisterInput, RegisterOutput> = [
      { id: 0, clientId: 1, input: { type: "write", value: 1 }, invokeUs: 0, completeUs: 10, status: "ok", output: { type: "write" } },
      { id: 1, clientId: 2, input: { type: "read" }, invokeUs: 2, completeUs: 4, status: "ok", output: { type: "read", value: 1 } },
      { id: 2, clientId: 3, input: { type: "read" }, invokeUs: 5, completeUs: 6, status: "ok", output: { type: "read", value: null } },
    ];
    let innerChecks = 0;
    // The KV model, its step checking another history now and then before answering.
    const nesting: Model<unknown, KvCommand, KvResult> = {
      ...(kvModel as Model<unknown, KvCommand, KvResult>),
      step: (state, command, result) => {
        if (innerChecks++ % 7 === 0) expect(checkHistory(registerModel, inner).kind).toBe("not-linearizable");
        return (kvModel as Model<unknown, KvCommand, KvResult>).step(state, command, result);
      },
    };
    const verdicts = new Set<string>();
    for (let seed = 0; seed < 40; seed++) {
      const history = corrupted(generateKvHistory({ clients: 4, operations: 40, keys: 2, seed, valueCount: 3, indeterminatePercent: 5 }), seed);
      const expected = checkHistory(kvModel, history).kind;
      verdicts.add(expected);
      expect(checkHistory(nesting, history).kind, `seed ${seed}`).toBe(expected);
    }
    expect(innerChecks).toBeGreaterThan(100);
    expect([...verdicts].sort()).toEqual(["linearizable", "not-linearizable"]);
  });
});

// In even seeds, the history with its fourth completed get returning a value nobody wrote.
function corrupted(history: History<KvCommand, KvResult>, seed: number): History<KvCommand, KvResult> {
  if (seed % 2 === 1) return history;
  let gets = 0;
  return history.map((operation) =>
    operation.output?.type === "get" && ++gets === 4 ? { ...operation, output: { type: "get", value: encoder.encode("nobody wrote this") } } : operation,
  );
}
