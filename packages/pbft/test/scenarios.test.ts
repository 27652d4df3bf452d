import { describe, expect, it } from "vitest";
import { pbft } from "@concord/pbft";
import { runSimulation, scenarioNames } from "@concord/sim";
import { problemsOf, seedCount } from "./simulated.ts";

describe("PBFT in every built-in scenario of the simulator", () => {
  for (const scenario of scenarioNames.filter((name) => name !== "chaos")) {
    it(`stays safe, linearizable and live in ${scenario} (n = 4)`, () => {
      const failures: string[] = [];
      for (let seed = 1; seed <= seedCount(8); seed++) failures.push(...problemsOf({ nodes: 4, scenario, seed, ops: 20, clients: 3, encode: seed % 2 === 0 }).problems);
      expect(failures).toEqual([]);
    });
  }
});

describe("PBFT with Ed25519 signatures on every message (authentication: signatures)", () => {
  it("stays safe, linearizable and live against equivocating and MAC-corrupting primaries", () => {
    const failures: string[] = [];
    for (const byzantineStrategy of ["equivocate", "corrupt-macs", "forge-new-view"]) {
      for (let seed = 1; seed <= seedCount(4); seed++) {
        failures.push(...problemsOf({ nodes: 4, scenario: "byzantine", seed, ops: 10, clients: 2, byzantineStrategy, protocolOptions: { authentication: "signatures" } }).problems);
      }
    }
    expect(failures).toEqual([]);
  });
});

describe("PBFT with a small checkpoint interval and window (K = 2, L = 4): constant garbage collection and state transfer", () => {
  it("stays safe, linearizable and live under chaos and crash-restart", () => {
    const failures: string[] = [];
    for (const scenario of ["chaos", "crash-restart"]) {
      for (let seed = 1; seed <= seedCount(10); seed++) {
        failures.push(...problemsOf({ nodes: 4, scenario, seed, ops: 20, clients: 3, encode: seed % 2 === 0, protocolOptions: { checkpointIntervalSeqs: 2, watermarkWindowSeqs: 4 } }).problems);
      }
    }
    expect(failures).toEqual([]);
  });
});

describe("PBFT runs replay from their seed", () => {
  it("gives the same run, message for message, for the same seed under chaos and every Byzantine strategy", () => {
    const runs = [{ scenario: "chaos" }, ...pbft.byzantineStrategies.map((s) => ({ scenario: "byzantine", byzantineStrategy: s.name }))];
    for (const run of runs) {
      const once = runSimulation({ algorithm: pbft, nodes: 4, seed: 11, ops: 10, clients: 2, ...run });
      const again = runSimulation({ algorithm: pbft, nodes: 4, seed: 11, ops: 10, clients: 2, ...run });
      expect(again.messages).toEqual(once.messages);
      expect(again.bytes).toEqual(once.bytes);
      expect(again.history).toEqual(once.history);
    }
  });
});

describe("PBFT under chaos (swarm testing: a fault mix drawn from each seed)", () => {
  for (const [nodes, fallback] of [
    [4, 60],
    [7, 16],
  ] as const) {
    it(`stays safe, linearizable and live after every fault mix, n = ${nodes}`, () => {
      const failures: string[] = [];
      for (let seed = 1; seed <= seedCount(fallback) && failures.length < 5; seed++) {
        failures.push(...problemsOf({ nodes, scenario: "chaos", seed, ops: 20, clients: 3, encode: seed % 2 === 0 }).problems);
      }
      expect(failures).toEqual([]);
    });
  }
});

describe("PBFT steady state against the analytic model (docs/pbft.md)", () => {
  const writesOnly = {
    name: "steady-writes",
    description: "steady with one closed-loop client issuing only puts, so that every batch holds one request",
    workload: { clients: 1, ops: 64, finalReads: false, mix: { get: 0, put: 1, append: 0, cas: 0, delete: 0 } },
  };

  for (const nodes of [4, 7]) {
    it(`sends the analytic count of messages per committed write at n = ${nodes}: (2n^2 - 2n)/b + n + 1 plus n(n-1)/(Kb) for checkpoints`, () => {
      const result = runSimulation({ algorithm: pbft, nodes, scenario: writesOnly, seed: 3 });
      expect(result.ops.completed).toBe(64);
      expect(result.messages.perOp).toBeCloseTo(pbft.analyticMessagesPerOp(nodes, 1), 9);
      expect(result.messages.byType).toEqual({
        request: 64,
        prePrepare: 64 * (nodes - 1),
        prepare: 64 * (nodes - 1) * (nodes - 1),
        commit: 64 * nodes * (nodes - 1),
        reply: 64 * nodes,
        checkpoint: (64 / 16) * nodes * (nodes - 1),
      });
    });

    it(`answers a write in five one-way delays at n = ${nodes} (median within 10% of 5 ms on 1 ms links)`, () => {
      const result = runSimulation({ algorithm: pbft, nodes, scenario: writesOnly, seed: 4 });
      const predictedMs = pbft.oneWayDelaysPerOp * 1;
      expect(Math.abs(result.latencyMs.p50 - predictedMs)).toBeLessThanOrEqual(0.1 * predictedMs);
    });
  }

  it("matches the analytic count under the built-in steady scenario once reads are ordered like writes (readOnlyOptimization off)", () => {
    for (const nodes of [4, 7]) {
      const result = runSimulation({ algorithm: pbft, nodes, scenario: "steady", seed: 1, protocolOptions: { readOnlyOptimization: false } });
      expect(result.ops.completed).toBe(result.ops.invoked);
      // The steady clients move in lockstep, so every batch holds one request and the count is exact.
      expect(result.messages.byType["prePrepare"]).toBe(result.ops.completed * (nodes - 1));
      expect(result.messages.perOp).toBeCloseTo(pbft.analyticMessagesPerOp(nodes, 1), 9);
      expect(Math.abs(result.latencyMs.p50 - pbft.oneWayDelaysPerOp)).toBeLessThanOrEqual(0.1 * pbft.oneWayDelaysPerOp);
    }
  });

  it("serves each read of the built-in steady scenario with 2n messages and no agreement round (readOnlyOptimization on)", () => {
    const nodes = 4;
    const result = runSimulation({ algorithm: pbft, nodes, scenario: "steady", seed: 1 });
    const reads = result.history.filter((op) => op.input.type === "get").length;
    const writes = result.history.length - reads;
    expect(result.messages.byType["request"]).toBe(writes + nodes * reads);
    expect(result.messages.byType["reply"]).toBe(nodes * result.history.length);
    expect(result.messages.byType["prePrepare"]).toBe(writes * (nodes - 1));
  });

  it("batches under load: with many clients the messages per operation fall below the single-request cost", () => {
    const result = runSimulation({ algorithm: pbft, nodes: 4, seed: 5, scenario: { ...writesOnly, workload: { ...writesOnly.workload, clients: 32, ops: 320 } } });
    expect(result.ops.completed).toBe(320);
    expect(result.messages.byType["prePrepare"] ?? 0).toBeLessThan(320 * 3);
    expect(result.messages.perOp).toBeLessThan(pbft.analyticMessagesPerOp(4, 1));
  });
});
