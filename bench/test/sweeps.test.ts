import { describe, expect, it } from "vitest";
import { solo } from "@concord/core";
import { pbft } from "@concord/pbft";
import { raft } from "@concord/raft";
import type { CpuModel } from "@concord/sim";
import { predictSaturation } from "../src/predict-queueing.ts";
import { planSweeps, runSweepPoint, summarizeSweeps, sweepsMarkdown, sweepsSchema } from "../src/sweeps/index.ts";
import { summarizeCurve } from "../src/sweeps/latency-throughput.ts";
import { rateLadder, sweepCpu } from "../src/sweeps/plan.ts";
import { type SweepPointSpec, steadyOpsPerSec, sweepClients } from "../src/sweeps/point.ts";

/** cpu is a fixed model (the calibration's order of magnitude, scaled as the sweeps scale it), so that the test does not move with a recalibration (packages/sim/src/calibrated-cpu.ts). */
const cpu: CpuModel = sweepCpu({ perMessageUs: 6, perKilobyteUs: 2, perMacUs: 2.2, perDigestUs: 1.1, perSignatureUs: 25, perVerifyUs: 70 });

function spec(algo: string, nodes: number, ratePerSec: number, seed = 1): SweepPointSpec {
  const clients = sweepClients(ratePerSec);
  return { algo, nodes, seed, ratePerSec, ops: Math.max(200, clients * 4), clients, cpu };
}

const replay = (point: SweepPointSpec): string => `replay: runSweepPoint(${JSON.stringify({ ...point, cpu: "test cpu" })})`;

describe("the latency-throughput sweep", () => {
  it("finds saturation: achieved throughput follows the offered rate below it and flattens past it, near the queueing model's peak", () => {
    for (const [algo, nodes] of [
      ["raft", 3],
      ["pbft", 4],
    ] as const) {
      const unbatched = predictSaturation(algo, nodes, cpu).peakUnbatchedOpsPerSec;
      const rates = [0.5, 4, 8].map((share) => Math.round(unbatched * share));
      const results = rates.map((rate) => runSweepPoint(spec(algo, nodes, rate)));
      const curve = summarizeCurve({ algo, nodes, f: 1 }, results, cpu);
      const [light, , top] = curve.points;
      expect(light?.achievedOpsPerSec.median, replay(results[0]!.spec)).toBeGreaterThan(0.85 * (light?.offeredOpsPerSec ?? 0));
      expect(light?.achievedOpsPerSec.median, replay(results[0]!.spec)).toBeLessThan(1.15 * (light?.offeredOpsPerSec ?? 0));
      // Doubling the offered rate past saturation adds little: the curve has flattened.
      expect(top?.achievedOpsPerSec.median ?? 0, replay(results[2]!.spec)).toBeLessThan(0.6 * (top?.offeredOpsPerSec ?? 0));
      expect(curve.saturation.offeredOpsPerSec, `${algo} n=${nodes}`).not.toBeNull();
      // The model at the batch the runs formed at the peak: within a factor of 1.35 either way (measured 0.9 to 1.2 in the full sweep).
      expect(curve.peakOverModel, `${algo} n=${nodes}`).toBeGreaterThan(1 / 1.35);
      expect(curve.peakOverModel, `${algo} n=${nodes}`).toBeLessThan(1.35);
      // Batching lifts the peak above the unbatched model's floor.
      expect(curve.peakOverUnbatched, `${algo} n=${nodes}`).toBeGreaterThan(1);
      expect(light?.modelLatencyMs).not.toBeNull();
      expect(top?.modelLatencyMs).toBeNull();
    }
  });

  it("is deterministic: the same spec gives the same figures, byte for byte", () => {
    const point = spec("raft", 3, 20_000, 7);
    expect(JSON.stringify(runSweepPoint(point))).toBe(JSON.stringify(runSweepPoint(point)));
    expect(JSON.stringify(runSweepPoint({ ...point, seed: 8 }))).not.toBe(JSON.stringify(runSweepPoint(point)));
  });

  it("lays a ladder from below the unbatched peak to past the batched one", () => {
    const ladder = rateLadder("raft", 3, cpu, 7, 300);
    const model = predictSaturation("raft", 3, cpu, { batchOps: 1024 });
    expect(ladder).toHaveLength(7);
    expect(ladder[0]).toBeLessThan(model.peakUnbatchedOpsPerSec / 2);
    expect(ladder[6]).toBeGreaterThan(model.peakBatchedOpsPerSec);
  });

  it("measures throughput in the run's steady middle", () => {
    expect(steadyOpsPerSec(Array.from({ length: 101 }, (_, i) => i * 1000))).toBe(1000);
    expect(steadyOpsPerSec([1, 2, 3])).toBe(0);
  });
});

describe("the sweeps' plan and section", () => {
  it("plans f = 1 and 2 with three seeds by default, and the scalability sizes 3..9 and 4, 7, 10", () => {
    const plan = planSweeps({ algorithms: [solo, raft, pbft] });
    expect(plan.curveIds).toEqual([
      { algo: "solo", nodes: 1, f: 0 },
      { algo: "raft", nodes: 3, f: 1 },
      { algo: "raft", nodes: 5, f: 2 },
      { algo: "pbft", nodes: 4, f: 1 },
      { algo: "pbft", nodes: 7, f: 2 },
    ]);
    expect(new Set(plan.latencyThroughput.map((point) => point.seed))).toEqual(new Set([1, 2, 3]));
    expect([...new Set(plan.scalability.map((point) => `${point.algo} ${point.nodes}`))]).toEqual(["raft 3", "raft 5", "raft 7", "raft 9", "pbft 4", "pbft 7", "pbft 10"]);
    const quick = planSweeps({ algorithms: [solo, raft, pbft], quick: true });
    expect(quick.latencyThroughput.length).toBeLessThan(plan.latencyThroughput.length / 4);
  });

  it("summarises into a section that validates against sweepsSchema", () => {
    const plan = planSweeps({ algorithms: [solo], quick: true, costModel: { cpu: { perMessageUs: 6, perKilobyteUs: 2, perMacUs: 2, perDigestUs: 1, perSignatureUs: 25, perVerifyUs: 70 }, source: "test" } });
    const latencyThroughput = plan.latencyThroughput.map(runSweepPoint);
    const scalability = plan.scalability.map(runSweepPoint);
    const sweeps = summarizeSweeps(plan, latencyThroughput, scalability);
    expect(sweepsSchema.safeParse(JSON.parse(JSON.stringify(sweeps))).success).toBe(true);
    // A pool hands results back as they finish: the order must not matter.
    expect(JSON.stringify(summarizeSweeps(plan, [...latencyThroughput].reverse(), [...scalability].reverse()))).toBe(JSON.stringify(sweeps));
    expect(sweeps.latencyThroughput[0]?.points).toHaveLength(4);
    expect(sweeps.cpu.perMessageUs).toBe(60);
    const markdown = sweepsMarkdown(sweeps);
    expect(markdown).toContain("### Saturation beside the queueing model");
    expect(markdown).toContain("### solo n=1 (f=0)");
    expect(markdown).toMatch(/^solo\s+1\s+0\s+[\d,]+/m);
  });
});

describe("the sweeps on a worker pool", () => {
  it("give the same section on 2 workers as in this thread", async () => {
    const { runSweeps } = await import("../src/sweeps/index.ts");
    const { runSweepsOnPool } = await import("../src/sweeps/pool.ts");
    const options = { algorithms: [solo], quick: true, costModel: { cpu: { perMessageUs: 6, perKilobyteUs: 2, perMacUs: 2, perDigestUs: 1, perSignatureUs: 25, perVerifyUs: 70 }, source: "test" } };
    const here = JSON.stringify(await runSweeps(options));
    const lines: string[] = [];
    expect(JSON.stringify(await runSweepsOnPool(options, 2, (line) => lines.push(line)))).toBe(here);
    expect(lines).toHaveLength(4);
  });
});
