import { describe, expect, test } from "vitest";
import { createRng, solo } from "@concord/core";
import { KeyChooser, OperationGenerator, type SimulationOptions, keyName, runSimulation, workloadSchema } from "@concord/sim";
import { replayOf } from "./helpers.ts";

function draws(chooser: KeyChooser, count: number, seed: number): number[] {
  const rng = createRng(seed);
  const counts = new Array<number>(100).fill(0);
  for (let i = 0; i < count; i++) {
    const key = chooser.next(rng);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

describe("workload: key distributions", () => {
  test("zipfian draws are skewed: rank 1 is the most frequent, and rank r is drawn about 1 / r^s as often", () => {
    const keys = 100;
    const counts = draws(new KeyChooser(keys, "zipfian", 0.99), 200_000, 1).slice(0, keys);
    const first = counts[0] as number;
    expect(Math.max(...counts)).toBe(first);
    // The expected share of rank r is (1 / r^0.99) / H, with H = sum over all ranks.
    let harmonic = 0;
    for (let rank = 1; rank <= keys; rank++) harmonic += 1 / Math.pow(rank, 0.99);
    for (const rank of [1, 2, 5, 10, 50]) {
      const expected = (200_000 / Math.pow(rank, 0.99)) / harmonic;
      // 5 standard deviations of a binomial count.
      expect(Math.abs((counts[rank - 1] as number) - expected), `rank ${rank}`).toBeLessThan(5 * Math.sqrt(expected));
    }
    // Counts fall with rank.
    expect(first).toBeGreaterThan(1.8 * (counts[1] as number));
    expect(counts[1] as number).toBeGreaterThan(counts[9] as number);
  });

  test("uniform draws are uniform: every key within 5 standard deviations of its expected count", () => {
    const keys = 100;
    const counts = draws(new KeyChooser(keys, "uniform", 0.99), 200_000, 2).slice(0, keys);
    const expected = 200_000 / keys;
    const sd = Math.sqrt(expected * (1 - 1 / keys));
    for (const count of counts) expect(Math.abs(count - expected)).toBeLessThan(5 * sd);
  });

  test("zipfian with exponent 0 is uniform", () => {
    const counts = draws(new KeyChooser(10, "zipfian", 0), 100_000, 3).slice(0, 10);
    for (const count of counts) expect(Math.abs(count - 10_000)).toBeLessThan(5 * Math.sqrt(10_000 * 0.9));
  });
});

describe("workload: operations", () => {
  test("the operation mix is drawn by weight, and writes carry unique values", () => {
    const workload = workloadSchema.parse({ keys: 4, mix: { get: 50, put: 25, append: 0, cas: 25, delete: 0 } });
    const generator = new OperationGenerator(workload, createRng(4));
    const counts = new Map<string, number>();
    const values = new Set<string>();
    const keys = new Set<string>();
    for (let i = 0; i < 40_000; i++) {
      const command = generator.next(i % 3);
      counts.set(command.type, (counts.get(command.type) ?? 0) + 1);
      keys.add(command.key);
      if (command.type === "put" || command.type === "cas") values.add(new TextDecoder().decode(command.value));
    }
    expect([...keys].sort()).toEqual(["k0", "k1", "k2", "k3"]);
    expect(counts.get("append")).toBeUndefined();
    expect(counts.get("delete")).toBeUndefined();
    // Binomial standard deviation for 40,000 draws at p = 0.5: 100; at 0.25: 87.
    expect(Math.abs((counts.get("get") as number) - 20_000)).toBeLessThan(500);
    expect(Math.abs((counts.get("put") as number) - 10_000)).toBeLessThan(435);
    expect(values.size).toBe((counts.get("put") as number) + (counts.get("cas") as number));
  });

  test("a compare-and-set expects the last value its client saw for the key", () => {
    const workload = workloadSchema.parse({ keys: 1, mix: { get: 0, put: 0, append: 0, cas: 100, delete: 0 } });
    const generator = new OperationGenerator(workload, createRng(5));
    expect(generator.next(0)).toMatchObject({ type: "cas", expected: undefined });
    generator.observe(0, keyName(0), Uint8Array.of(7));
    expect(generator.next(0)).toMatchObject({ type: "cas", expected: Uint8Array.of(7) });
    expect(generator.next(1)).toMatchObject({ type: "cas", expected: undefined });
  });

  test("readers and writers: the first half of the clients (rounded up) only read, the rest draw only the mix's writes", () => {
    const workload = workloadSchema.parse({ clients: 5, keys: 4 });
    const generator = new OperationGenerator(workload, createRng(8), true);
    const types = Array.from({ length: 5 }, () => new Set<string>());
    for (let i = 0; i < 5_000; i++) types[i % 5]!.add(generator.next(i % 5).type);
    for (const reader of [0, 1, 2]) expect([...types[reader]!]).toEqual(["get"]);
    for (const writer of [3, 4]) expect([...types[writer]!].sort()).toEqual(["append", "cas", "delete", "put"]);
    // A lone client cannot be split, and a mix of reads alone leaves the writers reading.
    const lone = new OperationGenerator(workloadSchema.parse({ clients: 1 }), createRng(9), true);
    expect(new Set(Array.from({ length: 200 }, () => lone.next(0).type)).size).toBe(5);
    const readsOnly = new OperationGenerator(workloadSchema.parse({ clients: 2, mix: { get: 100, put: 0, append: 0, cas: 0, delete: 0 } }), createRng(10), true);
    expect(readsOnly.next(1).type).toBe("get");
  });

  test("written values are padded to valueBytes", () => {
    const workload = workloadSchema.parse({ valueBytes: 32, mix: { get: 0, put: 100, append: 0, cas: 0, delete: 0 } });
    const command = new OperationGenerator(workload, createRng(6)).next(0);
    expect(command.type === "put" ? command.value.length : 0).toBe(32);
  });
});

describe("workload: clients in the simulator", () => {
  test("open-loop arrivals follow the configured rate: 10,000 arrivals at 1,000/s span 10 s, within 5%", () => {
    const options: SimulationOptions = {
      algorithm: solo,
      nodes: 1,
      seed: 7,
      scenario: { name: "open-rate", description: "", workload: { kind: "open", ratePerSec: 1000, ops: 10_000, clients: 16, finalReads: false } },
    };
    const result = runSimulation(options);
    const invokes = result.history.map((op) => op.invokeUs);
    expect(invokes.length, replayOf(options)).toBe(10_000);
    // Inter-arrival gaps are exponential with mean 1 ms: the span of n gaps has sd sqrt(n) ms = 100 ms (1%).
    const spanUs = (invokes[invokes.length - 1] as number) - (invokes[0] as number);
    expect(Math.abs(spanUs / 10_000_000 - 1), replayOf(options)).toBeLessThan(0.05);
    // Exponential gaps: about e^-1 = 36.8% of gaps exceed the mean (sd 0.5 points).
    let longGaps = 0;
    for (let i = 1; i < invokes.length; i++) if ((invokes[i] as number) - (invokes[i - 1] as number) > 1000) longGaps++;
    expect(Math.abs(longGaps / (invokes.length - 1) - Math.exp(-1)), replayOf(options)).toBeLessThan(0.025);
  });

  test("an open-loop workload over its queue limit rejects the overflow rather than queueing it", () => {
    const options: SimulationOptions = {
      algorithm: solo,
      nodes: 1,
      seed: 8,
      scenario: {
        name: "open-overflow",
        description: "",
        link: { latency: { kind: "constant", ms: 50 } },
        workload: { kind: "open", ratePerSec: 10_000, ops: 2000, clients: 1, queueLimit: 10, finalReads: false },
      },
    };
    const result = runSimulation(options);
    expect(result.ops.invoked, replayOf(options)).toBeLessThan(200);
    expect(result.ops.completed, replayOf(options)).toBe(result.ops.invoked);
  });

  test("a closed-loop workload keeps one operation outstanding per client and paces them by spreadMs", () => {
    const options: SimulationOptions = {
      algorithm: solo,
      nodes: 1,
      seed: 9,
      scenario: { name: "closed-spread", description: "", workload: { ops: 400, clients: 4, spreadMs: 2000, finalReads: false } },
    };
    const result = runSimulation(options);
    for (const clientId of new Set(result.history.map((op) => op.clientId))) {
      const ops = result.history.filter((op) => op.clientId === clientId);
      for (let i = 1; i < ops.length; i++) expect((ops[i] as { invokeUs: number }).invokeUs).toBeGreaterThanOrEqual(ops[i - 1]?.completeUs as number);
    }
    // 100 ops per client, each followed by 2000 * 4 / 400 = 20 ms of think time.
    const lastInvokeUs = Math.max(...result.history.map((op) => op.invokeUs));
    expect(lastInvokeUs, replayOf(options)).toBeGreaterThan(1_900_000);
  });

  test("final reads read every key once after the workload, and appear at the end of the history", () => {
    const options: SimulationOptions = {
      algorithm: solo,
      nodes: 1,
      seed: 10,
      scenario: { name: "final-reads", description: "", workload: { ops: 100, clients: 3, keys: 5 } },
    };
    const result = runSimulation(options);
    expect(result.history.length, replayOf(options)).toBe(105);
    const finals = result.history.slice(100);
    expect(finals.map((op) => op.input).sort((a, b) => a.key.localeCompare(b.key))).toEqual(["k0", "k1", "k2", "k3", "k4"].map((key) => ({ type: "get", key })));
    const workloadEndUs = Math.max(...result.history.slice(0, 100).map((op) => op.completeUs as number));
    for (const op of finals) {
      expect(op.status).toBe("ok");
      expect(op.invokeUs).toBeGreaterThanOrEqual(workloadEndUs);
    }
    // Final reads are left out of the latency figures and of the workload's counts: they are counted apart.
    expect(result.ops.invoked).toBe(100);
    expect(result.finalReads).toEqual({ invoked: 5, completed: 5 });
  });

  test("with finalReads off the history holds only the workload", () => {
    const result = runSimulation({ algorithm: solo, nodes: 1, seed: 11, scenario: { name: "no-final-reads", description: "", workload: { ops: 50, finalReads: false } } });
    expect(result.history.length).toBe(50);
  });
});
