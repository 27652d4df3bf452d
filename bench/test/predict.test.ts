import { describe, expect, it } from "vitest";
import { findAlgorithm } from "@concord/lab";
import { type CpuModel, cpuCalibration, runSimulation } from "@concord/sim";
import { chargedCpuOf, comparePrediction, inferBatchOps, measuredFigures, predict, predictRun, predictedLatencyMs } from "../src/predict.ts";
import { md1LatencyMs, peakOpsPerSec, predictSaturation, serviceTimeUs } from "../src/predict-queueing.ts";

const puts = { get: 0, put: 100, append: 0, cas: 0, delete: 0 };
const gets = { get: 100, put: 0, append: 0, cas: 0, delete: 0 };
const ops = 40;

/**
 * steadyRun runs `ops` operations from one client (so no two share a round: no
 * batching) on a healthy cluster with 1 ms links and instant disks, charging
 * `cpu` (none by default, so that a latency is exactly its delays and syncs).
 */
function steadyRun(algo: string, nodes: number, mix: typeof puts, syncMs = 0, cpu: CpuModel | "none" = "none") {
  const algorithm = findAlgorithm(algo);
  if (algorithm === undefined) throw new Error(`no algorithm ${algo}`);
  return runSimulation({ algorithm, nodes, seed: 1, cpu, scenario: { name: "predict", description: "", warmupMs: 500, disk: { syncMs }, workload: { clients: 1, ops, mix, finalReads: false } } });
}

const replay = (algo: string, nodes: number): string => `replay: steadyRun("${algo}", ${nodes}) in bench/test/predict.test.ts (seed 1)`;

describe("the analytic predictions against a steady run without batching", () => {
  // Exact per type, less what the prediction leaves out by design: a client's first request
  // may land on a follower (one notLeader and one more clientRequest), and PBFT checkpoints
  // come at whole multiples of K (floor(ops / K) of them, not ops / K).
  const cases: [string, number][] = [
    ["solo", 1],
    ["raft", 3],
    ["raft", 5],
    ["multipaxos", 3],
    ["multipaxos", 5],
    ["pbft", 4],
    ["pbft", 7],
    ["vr", 3],
    ["vr", 5],
  ];
  for (const [algo, nodes] of cases) {
    it(`${algo} n=${nodes}: writes cost exactly the predicted messages of each type, and the predicted one-way delays`, () => {
      const result = steadyRun(algo, nodes, puts);
      const prediction = predict(algo, nodes);
      const byType = { ...result.messages.byType };
      const redirects = byType["notLeader"] ?? 0;
      expect(redirects, replay(algo, nodes)).toBeLessThanOrEqual(1);
      delete byType["notLeader"];
      if (byType["clientRequest"] !== undefined) byType["clientRequest"] -= redirects;
      for (const message of prediction.byType) {
        const expected = message.type === "checkpoint" ? Math.floor(ops / 16) * nodes * (nodes - 1) : message.perOp * ops;
        expect(byType[message.type] ?? 0, `${message.type}; ${replay(algo, nodes)}`).toBe(expected);
      }
      expect(Object.keys(byType).sort(), replay(algo, nodes)).toEqual(prediction.byType.map((message) => message.type).sort());
      expect(result.latencyMs.p50, replay(algo, nodes)).toBe(prediction.latencyOneWayDelays.median);
    });
  }

  it("PBFT's reads take the read-only path: n requests, n replies and 2 delays each", () => {
    const result = steadyRun("pbft", 4, gets);
    const comparison = comparePrediction(predict("pbft", 4, { readShare: 1 }), measuredFigures(result));
    expect(comparison.byType.map((row) => [row.type, row.ratio])).toEqual([
      ["reply", 1],
      ["request", 1],
    ]);
    expect(comparison.latencyP50Ms.ratio).toBe(1);
  });

  it("Multi-Paxos orders reads through the log: a read costs what a write does", () => {
    const result = steadyRun("multipaxos", 3, gets);
    const comparison = comparePrediction(predict("multipaxos", 3, { readShare: 1 }), measuredFigures(result));
    expect(comparison.byType.find((row) => row.type === "accept")?.ratio).toBe(1);
    expect(comparison.latencyP50Ms.ratio).toBe(1);
  });

  it("Raft's ReadIndex reads cost one heartbeat round each, plus the idle leader's tick heartbeats, which the prediction leaves out", () => {
    const result = steadyRun("raft", 3, gets);
    const prediction = predict("raft", 3, { readShare: 1 });
    const heartbeats = result.messages.byType["heartbeat"] ?? 0;
    const predicted = (prediction.byType.find((row) => row.type === "heartbeat")?.perOp ?? 0) * ops;
    // Every extra round is one tick's heartbeat to each follower: whole rounds, at most one a tick (10 ms).
    expect(heartbeats).toBeGreaterThanOrEqual(predicted);
    expect((heartbeats - predicted) % 2).toBe(0);
    expect((heartbeats - predicted) / 2).toBeLessThanOrEqual(Math.ceil((result.virtualSeconds - 0.5) * 100) + 1);
    expect(result.messages.byType["heartbeatResponse"]).toBe(heartbeats);
    expect(result.latencyMs.p50).toBe(4);
  });

  it("counts the disk syncs on each protocol's critical path: with 1 ms syncs every write and read takes the predicted delays plus syncs", () => {
    for (const [algo, nodes] of [
      ["solo", 1],
      ["raft", 3],
      ["multipaxos", 3],
      ["pbft", 4],
      ["vr", 3],
    ] as const) {
      for (const [mix, readShare] of [
        [puts, 0],
        [gets, 1],
      ] as const) {
        const result = steadyRun(algo, nodes, mix, 1);
        const expected = predictedLatencyMs(predict(algo, nodes, { readShare }), 1, 1);
        expect(result.latencyMs.p50, `${algo} n=${nodes} ${readShare === 1 ? "reads" : "writes"} with 1 ms syncs`).toBe(expected);
      }
    }
  });

  it("adds the CPU on each protocol's critical path: with a CPU model charged, every write and read takes the predicted delays, syncs and service times", () => {
    // Whole microseconds, and no per-kilobyte price, so that the simulator's rounding and the messages' sizes do not enter.
    const cpu: CpuModel = { perMessageUs: 100, perKilobyteUs: 0, perMacUs: 20, perDigestUs: 30, perSignatureUs: 0, perVerifyUs: 0 };
    const sizes: [string, number][] = [["solo", 1], ["raft", 3], ["raft", 5], ["raft", 7], ["raft", 9], ["multipaxos", 3], ["multipaxos", 5], ["multipaxos", 7], ["pbft", 4], ["pbft", 7], ["pbft", 10], ["vr", 3], ["vr", 5]];
    for (const [algo, nodes] of sizes) {
      for (const [mix, readShare] of [
        [puts, 0],
        [gets, 1],
      ] as const) {
        for (const syncMs of [0, 1]) {
          const result = steadyRun(algo, nodes, mix, syncMs, cpu);
          const expected = predictedLatencyMs(predict(algo, nodes, { readShare }), 1, syncMs, { model: cpu, bytesPerMessage: 0 });
          expect(result.latencyMs.p50, `${algo} n=${nodes} ${readShare === 1 ? "reads" : "writes"}, ${syncMs} ms syncs, cpu ${JSON.stringify(cpu)}`).toBeCloseTo(expected, 9);
        }
      }
    }
    // Paxos's reads of fresh keys run phase 1 only; its puts here are mostly on chosen keys, answered by one replica.
    for (const nodes of [3, 5]) {
      expect(steadyRun("paxos", nodes, gets, 0, cpu).latencyMs.p50, `paxos n=${nodes} reads`).toBeCloseTo(predictedLatencyMs(predict("paxos", nodes, { readShare: 1 }), 1, 0, { model: cpu, bytesPerMessage: 0 }), 9);
    }
    // The calibrated model's fractional figures are rounded to whole microseconds a charge by the simulator: within 0.5%.
    const calibrated: CpuModel = cpuCalibration.cpu;
    for (const [algo, nodes] of sizes) {
      const result = steadyRun(algo, nodes, puts, 0, calibrated);
      const comparison = comparePrediction(predict(algo, nodes), measuredFigures(result), { cpu: { model: calibrated, bytesPerMessage: result.bytes.total / result.messages.total } });
      expect(comparison.cpuOnPathMs, `${algo} n=${nodes}`).toBeGreaterThan(0);
      expect(Math.abs((comparison.latencyP50Ms.ratio ?? 0) - 1), `${algo} n=${nodes}: ${JSON.stringify(comparison.latencyP50Ms)}`).toBeLessThan(0.005);
    }
  });

  it("single-decree Paxos: a put on a fresh key runs both phases, a put on a chosen key is answered at once", () => {
    const result = steadyRun("paxos", 3, puts);
    const freshKeys = new Set(result.history.map((operation) => operation.input.key)).size;
    const comparison = comparePrediction(predict("paxos", 3, { freshKeyShare: freshKeys / ops }), measuredFigures(result));
    for (const row of comparison.byType) expect(row.ratio, row.type).toBe(1);
    expect(comparison.latencyP50Ms.ratio).toBe(1);
  });

  it("the default steady scenario (4 clients, the default mix) is within 3% of the prediction at the run's own batch", () => {
    for (const [algo, nodes] of cases.filter(([, nodes]) => nodes <= 4)) {
      const result = runSimulation({ algorithm: findAlgorithm(algo) ?? (undefined as never), nodes, seed: 1, scenario: "steady" });
      const comparison = predictRun(result, { cpu: chargedCpuOf(result) });
      expect(comparison?.messagesPerOp.ratio, `${algo} n=${nodes}, scenario steady seed 1`).toBeGreaterThan(0.97);
      expect(comparison?.messagesPerOp.ratio, `${algo} n=${nodes}, scenario steady seed 1`).toBeLessThan(1.03);
      expect(comparison?.latencyP50Ms.ratio, `${algo} n=${nodes}, scenario steady seed 1`).toBe(1);
    }
  });
});

describe("the formulas", () => {
  it("give DESIGN.md's counts: Raft 2(n-1) per batch + 2, PBFT 2n^2 - n + 1 unbatched with no checkpoints", () => {
    expect(predict("raft", 5, { batchOps: 4 }).messagesPerOp).toBe(2 + 8 / 4);
    expect(predict("pbft", 7, { checkpointIntervalSeqs: 1e9 }).messagesPerOp).toBeCloseTo(2 * 49 - 7 + 1, 6);
  });

  it("infer the batch a run formed from its round messages", () => {
    expect(inferBatchOps("raft", 3, { appendEntries: 20, heartbeat: 0 }, 40)).toBe(4);
    expect(inferBatchOps("pbft", 4, { prePrepare: 30 }, 40)).toBe(4);
    expect(inferBatchOps("solo", 1, {}, 40)).toBe(1);
  });

  it("refuse an algorithm they have no formula for", () => {
    expect(() => predict("eventual", 3)).toThrow(/no prediction for "eventual"/);
  });
});

describe("the queueing model", () => {
  const cpu: CpuModel = { perMessageUs: 10, perKilobyteUs: 0, perMacUs: 2, perDigestUs: 1, perSignatureUs: 0, perVerifyUs: 0 };

  it("charges the leader's received messages: Raft n=3 unbatched is 3 messages an operation", () => {
    const service = serviceTimeUs(predict("raft", 3).bottleneck, cpu, 1);
    expect(service.totalUs).toBe(30);
    expect(peakOpsPerSec(service)).toBeCloseTo(33_333.3, 1);
  });

  it("charges PBFT's primary its MACs and digests as well", () => {
    const model = predictSaturation("pbft", 4, cpu, { batchOps: 1 });
    // 1 request + 3 prepares + 3 commits + 3/16 checkpoints; 2 + 12 + 6/16 MACs; 1 + 1/16 digests.
    expect(model.unbatched.totalUs).toBeCloseTo(10 * (7 + 3 / 16) + 2 * (14 + 6 / 16) + (1 + 1 / 16), 6);
  });

  it("draws an M/D/1 curve that starts at the unloaded latency and has no value past saturation", () => {
    const service = serviceTimeUs(predict("solo", 1).bottleneck, cpu, 1);
    expect(md1LatencyMs(0, service, 2)).toBeCloseTo(2.01, 6);
    expect(md1LatencyMs(50_000, service, 2)).toBeCloseTo(2 + 0.01 + (0.5 * 0.01) / (2 * 0.5), 9);
    expect(md1LatencyMs(100_000, service, 2)).toBeNull();
  });
});
