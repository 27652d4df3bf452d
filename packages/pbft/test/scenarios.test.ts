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
  it("gives the same run, message for message, for the same seed under chaos and every Byzantine strategy, with or without the wire codec", () => {
    const runs = [{ scenario: "chaos" }, ...pbft.byzantineStrategies.map((s) => ({ scenario: "byzantine", byzantineStrategy: s.name }))];
    for (const run of runs) {
      const once = runSimulation({ algorithm: pbft, nodes: 4, seed: 11, ops: 10, clients: 2, ...run });
      const again = runSimulation({ algorithm: pbft, nodes: 4, seed: 11, ops: 10, clients: 2, ...run });
      expect(again.messages).toEqual(once.messages);
      expect(again.bytes).toEqual(once.bytes);
      expect(again.history).toEqual(once.history);
      // The wire codec is lossless, so a run without it (most simulated seeds, for speed) is the same run. With the CPU
      // off: the CPU model charges each message's kilobytes, and a run without the codec has no bytes to charge.
      const encoded = runSimulation({ algorithm: pbft, nodes: 4, seed: 11, ops: 10, clients: 2, cpu: "none", ...run });
      const unencoded = runSimulation({ algorithm: pbft, nodes: 4, seed: 11, ops: 10, clients: 2, cpu: "none", encode: false, ...run });
      expect(unencoded.messages).toEqual(encoded.messages);
      expect(unencoded.history).toEqual(encoded.history);
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
    description: "steady with one closed-loop client issuing only puts, so that every batch holds one request (instant disks, as steady's)",
    disk: { syncMs: 0 },
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
      // The final reads after the workload are ordered too (reported apart from the workload's operations).
      expect(result.messages.byType["prePrepare"]).toBe((result.ops.completed + result.finalReads.completed) * (nodes - 1));
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

  it("explains the figures `concord sim --algo pbft --scenario steady --cpu none` reports: a blend of writes at the analytic cost and reads at 2n messages (docs/pbft.md)", () => {
    for (const nodes of [4, 7]) {
      for (const seed of [1, 2, 3]) {
        // The link delays alone: the default, calibrated CPU model would add its microseconds to each latency.
        const result = runSimulation({ algorithm: pbft, nodes, scenario: "steady", seed, cpu: "none" });
        const isRead = (op: (typeof result.history)[number]): boolean => op.input.type === "get";
        const reads = result.history.filter(isRead).length;
        const writes = result.history.length - reads;
        // 200 operations drawn from the mix (40% gets) and a final read of each of the 8 keys.
        expect(result.history.length).toBe(208);
        const checkpointMessages = Math.floor(writes / 16) * nodes * (nodes - 1);
        const blended = (writes * (2 * nodes * nodes - nodes + 1) + checkpointMessages + reads * 2 * nodes) / (writes + reads);
        expect(result.messages.perOp).toBeCloseTo(blended, 3);
        expect(result.messages.perOp).toBeLessThan(pbft.analyticMessagesPerOp(nodes, 1));
        // Every write takes five one-way delays; a read two, or a little more while it waits for a prepared batch to execute.
        for (const op of result.history) {
          const latencyUs = (op.completeUs ?? Infinity) - op.invokeUs;
          if (isRead(op)) expect(latencyUs).toBeGreaterThanOrEqual(2000);
          if (isRead(op)) expect(latencyUs).toBeLessThan(5000);
          else expect(latencyUs).toBe(5000);
        }
        // Writes are at least half of these runs, so the reported median is a write's five delays.
        expect(writes).toBeGreaterThanOrEqual(reads);
        expect(result.latencyMs.p50).toBe(pbft.oneWayDelaysPerOp);
      }
    }
  });

  it("is charged by the simulator's CPU model for every MAC, digest and signature it computes", () => {
    const medianMs = (nodes: number, cpu: Record<string, number>, protocolOptions: Record<string, unknown> = {}): number => {
      const scenario = { ...writesOnly, name: "steady-writes-cpu", cpu, workload: { ...writesOnly.workload, ops: 32 } };
      const result = runSimulation({ algorithm: pbft, nodes, scenario, seed: 6, protocolOptions });
      expect(result.ops.completed).toBe(32);
      return result.latencyMs.p50;
    };
    const signing = { perSignatureUs: 500, perVerifyUs: 500 };
    const macMs = new Map<number, number>();
    for (const nodes of [4, 7]) {
      expect(medianMs(nodes, {})).toBe(5);
      // The normal case signs nothing with authenticators: signature costs leave a write at five link delays.
      expect(medianMs(nodes, signing)).toBe(5);
      // The primary's PRE-PREPARE authenticator and a backup's PREPARE authenticator (n - 1 MACs each) lie on every write's path.
      const withMacs = medianMs(nodes, { perMacUs: 100 });
      expect(withMacs).toBeGreaterThanOrEqual(5 + 0.1 * 2 * (nodes - 1));
      macMs.set(nodes, withMacs);
      // The primary digests the batch, and each backup digests it again to check the PRE-PREPARE.
      expect(medianMs(nodes, { perDigestUs: 100 })).toBeGreaterThanOrEqual(5.2);
      // With signatures on every message: the primary signs its PRE-PREPARE, a backup verifies it and signs its PREPARE, ...
      expect(medianMs(nodes, signing, { authentication: "signatures" })).toBeGreaterThanOrEqual(5 + 0.5 * 3);
    }
    // An authenticator holds one MAC per replica, so its cost grows with n.
    expect(macMs.get(7)).toBeGreaterThan(macMs.get(4) ?? Infinity);
  });

  it("batches under load: with many clients the messages per operation fall below the single-request cost", () => {
    const result = runSimulation({ algorithm: pbft, nodes: 4, seed: 5, scenario: { ...writesOnly, workload: { ...writesOnly.workload, clients: 32, ops: 320 } } });
    expect(result.ops.completed).toBe(320);
    expect(result.messages.byType["prePrepare"] ?? 0).toBeLessThan(320 * 3);
    expect(result.messages.perOp).toBeLessThan(pbft.analyticMessagesPerOp(4, 1));
  });
});
