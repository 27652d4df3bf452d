import { describe, expect, it } from "vitest";
import { createRng, type History, type HistoryOperation, type Rng } from "@concord/core";
import type { KvCommand, KvResult } from "@concord/kv";
import { checkHistory, checkKvHistory, generateKvHistory, kvModel, registerModel, type Model, type RegisterInput, type RegisterOutput } from "@concord/check";

const seeds = Number(process.env["CONCORD_SEEDS"] ?? 40);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

type KvOperation = HistoryOperation<KvCommand, KvResult>;

// Brute force: every order of each key's operations that respects real time, tried in full.
function bruteForceLinearizable<S, I, O>(model: Model<S, I, O>, history: History<I, O>): boolean {
  const parts = model.partition === undefined ? [history] : model.partition(history).map((part) => part.history);
  return parts.every((part) => bruteForcePart(model, part));
}

// Independent of the checker's machinery: a plain recursion over orders, its
// memo a set of strings naming (placed operations, state).
function bruteForcePart<S, I, O>(model: Model<S, I, O>, history: History<I, O>): boolean {
  const operations = history.filter((operation) => operation.status !== "fail");
  const returnUs = operations.map((o) => (o.status === "ok" && o.completeUs !== undefined ? o.completeUs : Number.POSITIVE_INFINITY));
  const placed = operations.map(() => false);
  const failed = new Set<string>();
  const search = (state: S, remaining: number): boolean => {
    if (remaining === 0) return true;
    const key = `${placed.map((p) => (p ? "1" : "0")).join("")}|${model.describeState(state)}`;
    if (failed.has(key)) return false;
    failed.add(key);
    for (let i = 0; i < operations.length; i++) {
      if (placed[i]) continue;
      const operation = operations[i]!;
      const mustWait = operations.some((_, j) => !placed[j] && j !== i && returnUs[j]! < operation.invokeUs);
      if (mustWait) continue;
      const result = model.step(state, operation.input, operation.status === "ok" ? operation.output : undefined);
      if (!result.ok) continue;
      placed[i] = true;
      const found = search(result.state, remaining - 1);
      placed[i] = false;
      if (found) return true;
    }
    return false;
  };
  return search(model.init(), operations.length);
}

function withOutput(operation: KvOperation, output: KvResult): KvOperation {
  return { ...operation, output };
}

// Replaces one completed operation's output with a random, possibly wrong, one.
function mutateOutput(rng: Rng, history: History<KvCommand, KvResult>): History<KvCommand, KvResult> {
  const completed = history.filter((operation) => operation.status === "ok");
  if (completed.length === 0) return history;
  const victim = completed[rng.nextInt(completed.length)]!;
  const values = [undefined, encoder.encode("v0"), encoder.encode("v1"), encoder.encode("v0v1")];
  let output: KvResult;
  switch (victim.input.type) {
    case "get":
      output = { type: "get", value: values[rng.nextInt(values.length)] };
      break;
    case "cas":
      output = { type: "cas", ok: rng.chance(1, 2) };
      break;
    case "delete":
      output = { type: "delete", existed: rng.chance(1, 2) };
      break;
    case "put":
    case "append":
      return history.map((operation) => (operation === victim ? { ...operation, status: rng.chance(1, 2) ? "fail" : "info", output: undefined } : operation));
  }
  return history.map((operation) => (operation === victim ? withOutput(operation, output) : operation));
}

function toRegisterHistory(history: History<KvCommand, KvResult>): History<RegisterInput, RegisterOutput> {
  const value = (bytes: Uint8Array | undefined): string | null => (bytes === undefined ? null : decoder.decode(bytes));
  const out: HistoryOperation<RegisterInput, RegisterOutput>[] = [];
  for (const operation of history) {
    const { input, output } = operation;
    let registerInput: RegisterInput;
    let registerOutput: RegisterOutput | undefined;
    if (input.type === "get") {
      registerInput = { type: "read" };
      registerOutput = output?.type === "get" ? { type: "read", value: value(output.value) } : undefined;
    } else if (input.type === "put") {
      registerInput = { type: "write", value: value(input.value) };
      registerOutput = output === undefined ? undefined : { type: "write" };
    } else if (input.type === "cas") {
      registerInput = { type: "cas", expected: value(input.expected), value: value(input.value) };
      registerOutput = output?.type === "cas" ? { type: "cas", ok: output.ok } : undefined;
    } else {
      continue;
    }
    out.push({ ...operation, input: registerInput, output: registerOutput });
  }
  return out;
}

describe("generated linearizable histories", () => {
  it("are linearizable, across client counts, keys, and failed and indeterminate operations", () => {
    for (let seed = 0; seed < seeds; seed++) {
      const history = generateKvHistory({
        clients: 2 + (seed % 12),
        operations: 300,
        keys: 1 + (seed % 4),
        seed,
        indeterminatePercent: seed % 3 === 0 ? 5 : 0,
        failedPercent: seed % 5 === 0 ? 5 : 0,
      });
      expect(checkKvHistory(history).kind, `seed ${seed}`).toBe("linearizable");
    }
  });

  it("become not linearizable when one get returns a value nobody wrote", () => {
    for (let seed = 0; seed < seeds; seed++) {
      const history = generateKvHistory({ clients: 2 + (seed % 8), operations: 200, keys: 2, seed, indeterminatePercent: 3 });
      const gets = history.filter((operation) => operation.status === "ok" && operation.input.type === "get");
      const victim = gets[createRng(seed).nextInt(gets.length)]!;
      const mutated = history.map((operation) => (operation === victim ? withOutput(operation, { type: "get", value: encoder.encode("<never>") }) : operation));
      const verdict = checkKvHistory(mutated);
      expect(verdict.kind, `seed ${seed}`).toBe("not-linearizable");
      if (verdict.kind === "not-linearizable") expect(verdict.evidence.operationIds, `seed ${seed}`).toContain(victim.id);
    }
  });

  it("become not linearizable when one get returns a value written only after it completed", () => {
    let mutatedCount = 0;
    for (let seed = 0; seed < seeds; seed++) {
      const history = generateKvHistory({ clients: 2 + (seed % 8), operations: 200, keys: 2, seed });
      const rng = createRng(seed);
      const gets = history.filter((operation) => operation.status === "ok" && operation.input.type === "get");
      const victim = gets[rng.nextInt(gets.length)]!;
      const future = history.find(
        (operation) =>
          operation.input.type === "put" && operation.input.key === victim.input.key && operation.invokeUs > victim.completeUs!,
      );
      if (future === undefined || future.input.type !== "put") continue;
      mutatedCount++;
      const mutated = history.map((operation) => (operation === victim ? withOutput(operation, { type: "get", value: future.input.type === "put" ? future.input.value : undefined }) : operation));
      expect(checkKvHistory(mutated).kind, `seed ${seed}`).toBe("not-linearizable");
    }
    expect(mutatedCount).toBeGreaterThan(seeds / 2);
  });
});

describe("small random histories against a brute-force search", () => {
  const oracleSeeds = seeds * 25;

  it("agree on the KV model, with one random mutation in half of them", () => {
    let illegal = 0;
    for (let seed = 0; seed < oracleSeeds; seed++) {
      const rng = createRng(seed + 1_000_000);
      let history = generateKvHistory({ clients: 3, operations: 7, keys: 1 + (seed % 2), seed, valueCount: 2, indeterminatePercent: 10, failedPercent: 5 });
      if (rng.chance(1, 2)) history = mutateOutput(rng, history);
      const expected = bruteForceLinearizable(kvModel, history);
      if (!expected) illegal++;
      expect(checkKvHistory(history).kind, `seed ${seed}`).toBe(expected ? "linearizable" : "not-linearizable");
    }
    expect(illegal).toBeGreaterThan(oracleSeeds / 10);
  });

  it("agree on longer KV histories, whose linearized sets span several bitset words", () => {
    let illegal = 0;
    const longSeeds = Math.max(10, seeds * 2);
    for (let seed = 0; seed < longSeeds; seed++) {
      const rng = createRng(seed + 3_000_000);
      let history = generateKvHistory({ clients: 3, operations: 70, keys: 1, seed, valueCount: 3, indeterminatePercent: 4, failedPercent: 4 });
      if (rng.chance(1, 2)) history = mutateOutput(rng, history);
      const expected = bruteForceLinearizable(kvModel, history);
      if (!expected) illegal++;
      expect(checkKvHistory(history).kind, `seed ${seed}`).toBe(expected ? "linearizable" : "not-linearizable");
    }
    expect(illegal).toBeGreaterThan(0);
  });

  it("agree on the register model", () => {
    let illegal = 0;
    for (let seed = 0; seed < oracleSeeds; seed++) {
      const rng = createRng(seed + 2_000_000);
      let kvHistory = generateKvHistory({ clients: 3, operations: 8, keys: 1, seed, valueCount: 2, indeterminatePercent: 10, failedPercent: 5 });
      if (rng.chance(1, 2)) kvHistory = mutateOutput(rng, kvHistory);
      const history = toRegisterHistory(kvHistory);
      const expected = bruteForceLinearizable(registerModel, history);
      if (!expected) illegal++;
      expect(checkHistory(registerModel, history).kind, `seed ${seed}`).toBe(expected ? "linearizable" : "not-linearizable");
    }
    expect(illegal).toBeGreaterThan(oracleSeeds / 10);
  });
});
