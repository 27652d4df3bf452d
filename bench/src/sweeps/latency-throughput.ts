// The latency-throughput sweep (Paxi's and Bamboo's curve): for each algorithm
// at each tolerated-fault count f, an open-loop workload on a ladder of offered
// rates up to and past saturation, with achieved throughput and p50/p99
// latency at each rate over several seeds, the saturation point, and the
// queueing model's prediction beside it.
import type { AnyAlgorithm } from "@concord/core";
import { isBaseline } from "@concord/lab";
import type { CpuModel } from "@concord/sim";
import { z } from "zod";
import { md1LatencyMs, predictSaturation, queueingPredictionSchema } from "../predict-queueing.ts";
import { rateLadder, type Spread, spread, spreadSchema, sweepOps, sweepWorkload } from "./plan.ts";
import { type SweepPointResult, type SweepPointSpec, sweepClients } from "./point.ts";

/** saturationLatencyFactor: a rate whose median p50 exceeds this many times the lowest rate's is past saturation. */
export const saturationLatencyFactor = 5;

/** saturationFollowShare: a rate whose median achieved throughput falls below this share of the offered rate is past saturation. */
export const saturationFollowShare = 0.9;

/** CurveId names one curve: an algorithm at a size, and the fault count that size tolerates. */
export interface CurveId {
  readonly algo: string;
  readonly nodes: number;
  /** f is the faults the size tolerates (0 for the unreplicated baseline). */
  readonly f: number;
}

/** curves lists the curves to draw: each algorithm at n tolerating each f (the baseline once, on one node). */
export function curves(algorithms: readonly AnyAlgorithm[], faults: readonly number[]): CurveId[] {
  const list: CurveId[] = [];
  for (const algorithm of algorithms) {
    if (isBaseline(algorithm)) list.push({ algo: algorithm.name, nodes: 1, f: 0 });
    else for (const f of faults) list.push({ algo: algorithm.name, nodes: algorithm.replicasToTolerate(f), f });
  }
  return list;
}

/** LatencyThroughputPlanOptions choose the curves, the seeds, the ladder's steps, the smallest run, and the CPU model. */
export interface LatencyThroughputPlanOptions {
  readonly curves: readonly CurveId[];
  readonly seeds: readonly number[];
  readonly steps: number;
  readonly opsMin: number;
  readonly cpu: CpuModel;
}

/** planLatencyThroughput lays out every point of every curve: rate x seed. */
export function planLatencyThroughput(options: LatencyThroughputPlanOptions): SweepPointSpec[] {
  const specs: SweepPointSpec[] = [];
  for (const curve of options.curves) {
    for (const ratePerSec of rateLadder(curve.algo, curve.nodes, options.cpu, options.steps, options.opsMin)) {
      const clients = sweepClients(ratePerSec);
      for (const seed of options.seeds) specs.push({ algo: curve.algo, nodes: curve.nodes, seed, ratePerSec, ops: sweepOps(clients, options.opsMin), clients, cpu: { ...options.cpu } });
    }
  }
  return specs;
}

/** ratePointSchema is one offered rate of a curve: the figures over seeds, and the M/D/1 model's latency there. */
export const ratePointSchema = z
  .object({
    offeredOpsPerSec: z.number().positive(),
    seeds: z.array(z.number().int()),
    achievedOpsPerSec: spreadSchema,
    p50Ms: spreadSchema,
    p99Ms: spreadSchema,
    messagesPerOp: spreadSchema,
    batchOps: spreadSchema,
    /** modelLatencyMs is the M/D/1 latency at this rate with the unbatched service time: null past its saturation. */
    modelLatencyMs: z.number().nullable(),
    /** violations counts broken properties over the seeds' runs (0 expected: no faults). */
    violations: z.number().int().min(0),
  })
  .strict();

/** curveSchema is one latency-throughput curve with its saturation point and the queueing model's prediction. */
export const curveSchema = z
  .object({
    algo: z.string(),
    nodes: z.number().int().min(1),
    f: z.number().int().min(0),
    points: z.array(ratePointSchema),
    saturation: z
      .object({
        /** offeredOpsPerSec is the lowest offered rate past saturation (null when the ladder never got there). */
        offeredOpsPerSec: z.number().nullable(),
        /** peakOpsPerSec is the highest median achieved throughput on the ladder, with its spread over seeds. */
        peakOpsPerSec: spreadSchema,
        /** batchOpsAtPeak is the median batch the runs formed at the peak's rate. */
        batchOpsAtPeak: z.number(),
        rule: z.string(),
      })
      .strict(),
    /** model is the queueing prediction, its batched figures at the batch the runs formed at the peak. */
    model: queueingPredictionSchema,
    /** peakOverModel is the measured peak over the model's peak at that batch. */
    peakOverModel: z.number().nullable(),
    /** peakOverUnbatched is the measured peak over the model's unbatched peak (the floor; above 1 when batching helps). */
    peakOverUnbatched: z.number().nullable(),
  })
  .strict();

/** RatePoint is one offered rate of a curve. */
export type RatePoint = z.output<typeof ratePointSchema>;
/** Curve is one latency-throughput curve. */
export type Curve = z.output<typeof curveSchema>;

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group === undefined) groups.set(k, [item]);
    else group.push(item);
  }
  return groups;
}

function ratioOrNull(measured: number, predicted: number): number | null {
  return predicted > 0 ? Math.round((measured / predicted) * 1000) / 1000 : null;
}

/**
 * summarizeCurve turns one curve's point results (every rate x seed) into the
 * curve: figures over seeds per rate; the saturation point, the lowest rate
 * whose median achieved throughput falls below {@link saturationFollowShare}
 * of the offered rate or whose median p50 exceeds
 * {@link saturationLatencyFactor} times the lowest rate's; the peak; and the
 * queueing model beside them.
 */
export function summarizeCurve(id: CurveId, results: readonly SweepPointResult[], cpu: CpuModel): Curve {
  const byRate = [...groupBy(results, (result) => String(result.spec.ratePerSec)).values()].sort((a, b) => (a[0]?.spec.ratePerSec ?? 0) - (b[0]?.spec.ratePerSec ?? 0));
  const lowest = byRate[0] ?? [];
  const bytesPerMessage = spread(lowest.map((result) => result.bytesPerMessage)).median;
  const workload = sweepWorkload(id.algo, spread(results.map((result) => result.completed)).median);
  const unbatchedModel = predictSaturation(id.algo, id.nodes, cpu, { bytesPerMessage, workload });
  const points: RatePoint[] = byRate.map((group) => {
    const offered = group[0]?.spec.ratePerSec ?? 0;
    return {
      offeredOpsPerSec: offered,
      seeds: group.map((result) => result.spec.seed).sort((a, b) => a - b),
      achievedOpsPerSec: spread(group.map((result) => result.achievedOpsPerSec)),
      p50Ms: spread(group.map((result) => result.latencyMs.p50)),
      p99Ms: spread(group.map((result) => result.latencyMs.p99)),
      messagesPerOp: spread(group.map((result) => result.messagesPerOp)),
      batchOps: spread(group.map((result) => result.batchOps)),
      modelLatencyMs: roundOrNull(md1LatencyMs(offered, unbatchedModel.unbatched, unbatchedModel.baseLatencyMs)),
      violations: group.reduce((sum, result) => sum + result.violations, 0),
    };
  });
  const baseP50 = points[0]?.p50Ms.median ?? 0;
  const past = points.find((point) => point.achievedOpsPerSec.median < saturationFollowShare * point.offeredOpsPerSec || (baseP50 > 0 && point.p50Ms.median > saturationLatencyFactor * baseP50));
  const peak = points.reduce<RatePoint | undefined>((best, point) => (best === undefined || point.achievedOpsPerSec.median > best.achievedOpsPerSec.median ? point : best), undefined);
  const peakSpread: Spread = peak?.achievedOpsPerSec ?? { median: 0, min: 0, max: 0 };
  const batchOpsAtPeak = peak?.batchOps.median ?? 1;
  const model = predictSaturation(id.algo, id.nodes, cpu, { batchOps: batchOpsAtPeak, bytesPerMessage, workload });
  return {
    ...id,
    points,
    saturation: {
      offeredOpsPerSec: past?.offeredOpsPerSec ?? null,
      peakOpsPerSec: peakSpread,
      batchOpsAtPeak,
      rule: `the lowest offered rate whose median achieved throughput is below ${saturationFollowShare} x the offered rate, or whose median p50 is above ${saturationLatencyFactor} x the lowest rate's; the peak is the highest median achieved throughput`,
    },
    model,
    peakOverModel: ratioOrNull(peakSpread.median, model.peakBatchedOpsPerSec),
    peakOverUnbatched: ratioOrNull(peakSpread.median, model.peakUnbatchedOpsPerSec),
  };
}

function roundOrNull(value: number | null): number | null {
  return value === null ? null : Math.round(value * 1000) / 1000;
}

/** summarizeLatencyThroughput groups point results by curve (in the curves' order) and summarises each. */
export function summarizeLatencyThroughput(ids: readonly CurveId[], results: readonly SweepPointResult[], cpu: CpuModel): Curve[] {
  return ids.map((id) =>
    summarizeCurve(
      id,
      results.filter((result) => result.spec.algo === id.algo && result.spec.nodes === id.nodes),
      cpu,
    ),
  );
}
