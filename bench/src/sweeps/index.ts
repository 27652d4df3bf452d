// The sweeps as one section of results.json: plan them, run their points (in
// this thread, or on a worker pool through `runPoint`), and summarise.
import type { AnyAlgorithm } from "@concord/core";
import { z } from "zod";
import { type BenchCostModel, benchCostModel, benchCostModelSchema } from "../cost-model.ts";
import { type CurveId, curveSchema, curves, planLatencyThroughput, summarizeLatencyThroughput } from "./latency-throughput.ts";
import { sweepCpu, sweepCpuScale } from "./plan.ts";
import { type SweepPointResult, type SweepPointSpec, runSweepPoint } from "./point.ts";
import { planScalability, scalabilityPointSchema, scalabilitySizes, summarizeScalability } from "./scalability.ts";

export { runSweepPoint, sweepPointSpecSchema, sweepPointResultSchema, type SweepPointSpec, type SweepPointResult } from "./point.ts";
export { curveSchema, ratePointSchema, type Curve, type RatePoint } from "./latency-throughput.ts";
export { scalabilityPointSchema, type ScalabilityPoint } from "./scalability.ts";

/** sweepsSchema is the sweeps' section of results.json: the CPU model they charged, the settings, the curves and the scalability rows. */
export const sweepsSchema = z
  .object({
    /** costModel is the calibrated model the sweeps scaled, with its source. */
    costModel: benchCostModelSchema,
    /** cpuScale multiplied every figure of the cost model (see plan.ts's sweepCpuScale for why); cpu is the result, what the runs charged. */
    cpuScale: z.number().positive(),
    cpu: benchCostModelSchema.shape.cpu,
    quick: z.boolean(),
    seeds: z.array(z.number().int()),
    faults: z.array(z.number().int()),
    workload: z.string(),
    latencyThroughput: z.array(curveSchema),
    scalability: z.array(scalabilityPointSchema),
  })
  .strict();

/** Sweeps is the sweeps' section of results.json. */
export type Sweeps = z.output<typeof sweepsSchema>;

/** SweepOptions choose what the sweeps run. */
export interface SweepOptions {
  readonly algorithms: readonly AnyAlgorithm[];
  /** faults are the tolerated-fault counts of the latency-throughput curves (1 and 2 by default). */
  readonly faults?: readonly number[];
  /** seeds are the seeds of every point (3 by default, 1 when quick). */
  readonly seeds?: readonly number[];
  /** quick: fewer rates, seeds, sizes and operations, for a run of seconds. */
  readonly quick?: boolean;
  /** costModel is the calibrated model to scale (benchCostModel() by default). */
  readonly costModel?: BenchCostModel;
}

/** SweepPlan is every point the sweeps run, with what summarising them needs. */
export interface SweepPlan {
  readonly settings: Omit<Sweeps, "latencyThroughput" | "scalability">;
  readonly curveIds: readonly CurveId[];
  readonly latencyThroughput: readonly SweepPointSpec[];
  readonly scalability: readonly SweepPointSpec[];
  readonly opsMin: number;
}

/** sweepWorkloadText describes the sweeps' workload for the report. */
const sweepWorkloadText = "open-loop puts (Poisson arrivals at the offered rate), 8 keys, 8-byte values, 1 ms links, instant disks, clients enough for 6 ms of arrivals";

/**
 * planSweeps lays out both sweeps. Default: rate ladders of 8 steps, 3 seeds,
 * f = 1 and 2, every size; quick: 4 steps, 1 seed, f = 1, the two smallest
 * sizes, shorter runs.
 */
export function planSweeps(options: SweepOptions): SweepPlan {
  const quick = options.quick ?? false;
  const costModel = options.costModel ?? benchCostModel();
  const cpu = sweepCpu(costModel.cpu);
  const faults = options.faults ?? (quick ? [1] : [1, 2]);
  const seeds = options.seeds ?? (quick ? [1] : [1, 2, 3]);
  const opsMin = quick ? 200 : 300;
  const curveIds = curves(options.algorithms, faults);
  const names = options.algorithms.map((algorithm) => algorithm.name);
  return {
    settings: { costModel, cpuScale: sweepCpuScale, cpu, quick, seeds: [...seeds], faults: [...faults], workload: sweepWorkloadText },
    curveIds,
    latencyThroughput: planLatencyThroughput({ curves: curveIds, seeds, steps: quick ? 4 : 7, opsMin, cpu }),
    scalability: planScalability({ algorithms: names, seeds, opsMin, cpu, ...(quick ? { sizes: (algo: string) => scalabilitySizes(algo).slice(0, 2) } : {}) }),
    opsMin,
  };
}

/** summarizeSweeps turns the points' results (in any order) into the section: the same results in another order give the same section. */
export function summarizeSweeps(plan: SweepPlan, latencyThroughput: readonly SweepPointResult[], scalability: readonly SweepPointResult[]): Sweeps {
  return {
    ...plan.settings,
    latencyThroughput: summarizeLatencyThroughput(plan.curveIds, latencyThroughput, plan.settings.cpu),
    scalability: summarizeScalability(plan.scalability, scalability, plan.settings.cpu, plan.opsMin),
  };
}

/**
 * runSweeps plans, runs and summarises both sweeps. `runPoint` runs one point
 * (runSweepPoint in this thread by default; a worker pool's task, which
 * calls runSweepPoint on the spec, to run them in parallel); `progress` hears
 * one line per finished point. The result depends on the specs alone, so any
 * pool size gives the same figures.
 */
export async function runSweeps(
  options: SweepOptions,
  progress: (line: string) => void = () => {},
  runPoint: (spec: SweepPointSpec) => SweepPointResult | Promise<SweepPointResult> = runSweepPoint,
): Promise<Sweeps> {
  const plan = planSweeps(options);
  const all = [...plan.latencyThroughput, ...plan.scalability];
  let done = 0;
  const results = await Promise.all(
    all.map(async (spec) => {
      const result = await runPoint(spec);
      done++;
      progress(`[sweep ${done}/${all.length}] ${spec.algo} n=${spec.nodes} ${spec.ratePerSec} ops/s seed ${spec.seed}: ${result.achievedOpsPerSec} ops/s, p50 ${result.latencyMs.p50} ms`);
      return result;
    }),
  );
  return summarizeSweeps(plan, results.slice(0, plan.latencyThroughput.length), results.slice(plan.latencyThroughput.length));
}

export { sweepsMarkdown } from "./markdown.ts";
