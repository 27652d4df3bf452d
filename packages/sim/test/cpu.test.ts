import { describe, expect, test } from "vitest";
import { solo } from "@concord/core";
import { KeyRing, NodeCrypto, type ScenarioInput, type SimulationOptions, runSimulation } from "@concord/sim";
import { createProbeAlgorithm } from "./probe-algorithm.ts";
import { replayOf } from "./helpers.ts";

/** openLoop is an open-loop scenario offering `ratePerSec` operations per second to one node with a CPU cost. */
function openLoop(ratePerSec: number, cpu: ScenarioInput["cpu"], ops: number): ScenarioInput {
  return {
    name: "open-loop",
    description: "Open-loop arrivals against a CPU-bound node (instant disk).",
    cpu,
    disk: { syncMs: 0 },
    workload: { kind: "open", ratePerSec, ops, clients: 400, queueLimit: 1_000_000, finalReads: false },
  };
}

describe("the CPU cost model", () => {
  test.each([100, 250])("a single node saturates at 1e6 / perMessageUs messages per second, within 2 percent (perMessageUs %i)", (perMessageUs) => {
    const capacity = 1_000_000 / perMessageUs;
    // Offered load is twice the capacity; each operation is one message into the node (the reply costs the client nothing).
    const options: SimulationOptions = { algorithm: solo, nodes: 1, seed: 1, scenario: openLoop(2 * capacity, { perMessageUs }, 10_000) };
    const result = runSimulation(options);
    const replay = replayOf(options);
    expect(result.ops.completed, replay).toBe(10_000);
    expect(Math.abs(result.throughputOpsPerSec / capacity - 1), `${result.throughputOpsPerSec} ops/s: ${replay}`).toBeLessThan(0.02);
  });

  test("below capacity the node keeps up: throughput follows the offered rate, within 5%", () => {
    // 4,000 ops/s offered to a node that could do 10,000.
    const options: SimulationOptions = { algorithm: solo, nodes: 1, seed: 2, scenario: openLoop(4000, { perMessageUs: 100 }, 10_000) };
    const result = runSimulation(options);
    expect(Math.abs(result.throughputOpsPerSec / 4000 - 1), `${result.throughputOpsPerSec} ops/s: ${replayOf(options)}`).toBeLessThan(0.05);
  });

  test("an idle node adds exactly its per-message and per-kilobyte cost to a request's latency", () => {
    const options: SimulationOptions = {
      algorithm: solo,
      nodes: 1,
      seed: 3,
      scenario: { name: "cpu-latency", description: "", cpu: { perMessageUs: 300 }, disk: { syncMs: 0 }, workload: { ops: 200, clients: 1 } },
    };
    expect(runSimulation(options).latencyMs, replayOf(options)).toEqual({ p50: 2.3, p95: 2.3, p99: 2.3, max: 2.3 });
  });

  test("crypto work is charged: signatures and MACs the replica computes delay its reply by their configured cost", () => {
    const { algorithm } = createProbeAlgorithm({ signsPerRequest: 1, macsPerRequest: 3 });
    const options: SimulationOptions = {
      algorithm,
      nodes: 1,
      seed: 4,
      scenario: { name: "crypto-cost", description: "", cpu: { perSignatureUs: 500, perMacUs: 100 }, disk: { syncMs: 0 }, workload: { ops: 100, clients: 1 } },
    };
    // 2 ms of links + 1 signature (0.5 ms) + 3 MACs (0.3 ms).
    expect(runSimulation(options).latencyMs, replayOf(options)).toEqual({ p50: 2.8, p95: 2.8, p99: 2.8, max: 2.8 });
  });

  test("crypto work bounds throughput: one 200 us signature per request saturates a node at 5,000 operations per second", () => {
    const { algorithm } = createProbeAlgorithm({ signsPerRequest: 1 });
    const options: SimulationOptions = { algorithm, nodes: 1, seed: 5, scenario: openLoop(10_000, { perSignatureUs: 200 }, 5000) };
    const result = runSimulation(options);
    expect(Math.abs(result.throughputOpsPerSec / 5000 - 1), `${result.throughputOpsPerSec} ops/s: ${replayOf(options)}`).toBeLessThan(0.02);
  });

  test("a slow node's cpuFactor multiplies its costs", () => {
    const options: SimulationOptions = {
      algorithm: solo,
      nodes: 1,
      seed: 6,
      scenario: {
        name: "slow-cpu",
        description: "",
        cpu: { perMessageUs: 100 },
        disk: { syncMs: 0 },
        workload: { ops: 50, clients: 1, finalReads: false },
        faults: [{ type: "slow", atMs: 0, target: { index: 0 }, durationMs: 100_000, extraLatencyMs: 0, cpuFactor: 4 }],
      },
    };
    expect(runSimulation(options).latencyMs.max, replayOf(options)).toBe(2.4);
  });
});

describe("NodeCrypto", () => {
  test("counts digests, MACs, signatures and verifications", () => {
    const ring = new KeyRing(1);
    const alice = new NodeCrypto(1, ring);
    const bob = new NodeCrypto(2, ring);
    const data = Uint8Array.of(1, 2, 3);
    alice.digest(data);
    const mac = alice.mac(alice.macKey(2), data);
    const signature = alice.sign(data);
    alice.sign(data);
    expect(bob.verify(1, data, signature)).toBe(true);
    expect(bob.verify(2, data, signature)).toBe(false);
    expect(bob.verify(1, Uint8Array.of(9), signature)).toBe(false);
    expect(alice.counters).toEqual({ digests: 1, macs: 1, signatures: 2, verifications: 0 });
    expect(bob.counters).toEqual({ digests: 0, macs: 0, signatures: 0, verifications: 3 });
    // Pairwise MAC keys are shared by both ends: Bob computes the same MAC.
    expect(bob.mac(bob.macKey(1), data)).toEqual(mac);
  });

  test("keys derive from the seed: the same seed signs the same bytes the same way, another seed does not", () => {
    const data = Uint8Array.of(4, 5, 6);
    const one = new NodeCrypto(1, new KeyRing(7)).sign(data);
    expect(new NodeCrypto(1, new KeyRing(7)).sign(data)).toEqual(one);
    expect(new NodeCrypto(1, new KeyRing(8)).sign(data)).not.toEqual(one);
    expect(new NodeCrypto(1, new KeyRing(7)).macKey(2)).not.toEqual(new NodeCrypto(1, new KeyRing(7)).macKey(3));
  });

  test("the cpu option replaces the scenario's cost model whole: what it leaves out is 0, and the run records what it charged", () => {
    // slow-node charges 20 us a message of its own; the option's 100 us replaces it, and its MACs are 0.
    const options: SimulationOptions = { algorithm: solo, nodes: 1, seed: 4, scenario: "steady", ops: 20, cpu: { perMessageUs: 100 } };
    const charged = runSimulation(options);
    const free = runSimulation({ ...options, cpu: {} });
    expect(charged.scenarioDefinition.cpu, replayOf(options)).toEqual({ perMessageUs: 100, perKilobyteUs: 0, perMacUs: 0, perDigestUs: 0, perSignatureUs: 0, perVerifyUs: 0 });
    // One request into the idle node: its latency is the two one-way delays plus the 100 us it was charged.
    expect(charged.latencyMs.p50, replayOf(options)).toBe(2.1);
    expect(free.latencyMs.p50).toBe(2);
    expect(runSimulation({ ...options, scenario: "slow-node", cpu: { perMessageUs: 0 } }).scenarioDefinition.cpu.perMessageUs).toBe(0);
    expect(() => runSimulation({ ...options, cpu: { perMessageUs: -1 } })).toThrow(/cpu\.perMessageUs/);
  });
});
