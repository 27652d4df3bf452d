// The scalability sweep: cluster size n (3, 5, 7, 9 for the crash-tolerant
// algorithms; 4, 7, 10 for PBFT) against messages per operation (at a light
// load, where operations rarely share a round) and peak throughput (offered
// past saturation), each with its prediction beside it.
import type { CpuModel } from "@concord/sim";
import { z } from "zod";
import { predict } from "../predict.ts";
import { predictSaturation, queueingPredictionSchema } from "../predict-queueing.ts";
import { batchCapOps, spread, spreadSchema, sweepOps, sweepWorkload } from "./plan.ts";
import { type SweepPointResult, type SweepPointSpec, sweepClients } from "./point.ts";

/** crashTolerantSizes and byzantineSizes are the sizes the sweep runs: n = 2f+1 and n = 3f+1 for f = 1 to 4 and 1 to 3. */
export const crashTolerantSizes: readonly number[] = [3, 5, 7, 9];
export const byzantineSizes: readonly number[] = [4, 7, 10];

/** scalabilitySizes lists the sizes the sweep runs for `algo` (none for the unreplicated baseline). */
export function scalabilitySizes(algo: string): readonly number[] {
  if (algo === "solo") return [];
  return algo === "pbft" ? byzantineSizes : crashTolerantSizes;
}

/** lightLoadShare and overloadFactor place the two runs of a size: a quarter of the unbatched peak, and 1.5 times the peak at the batch cap. */
const lightLoadShare = 0.25;
const overloadFactor = 1.5;

/** ScalabilityPlanOptions choose the algorithms, the seeds, the smallest run and the CPU model. */
export interface ScalabilityPlanOptions {
  readonly algorithms: readonly string[];
  readonly seeds: readonly number[];
  readonly opsMin: number;
  readonly cpu: CpuModel;
  /** sizes overrides each algorithm's sizes (a quick run takes the first two). */
  readonly sizes?: (algo: string) => readonly number[];
}

/** ScalabilityRates are the light and the overload rate of one size. */
export function scalabilityRates(algo: string, nodes: number, cpu: CpuModel, opsMin: number): { readonly light: number; readonly overload: number } {
  const model = predictSaturation(algo, nodes, cpu, { batchOps: batchCapOps(algo), workload: sweepWorkload(algo, opsMin) });
  const round = (value: number): number => Math.max(1, Math.round(value / 10) * 10);
  return { light: round(model.peakUnbatchedOpsPerSec * lightLoadShare), overload: round(Math.max(model.peakBatchedOpsPerSec, model.peakUnbatchedOpsPerSec) * overloadFactor) };
}

/** planScalability lays out two runs (light and overload) per algorithm x size x seed. */
export function planScalability(options: ScalabilityPlanOptions): SweepPointSpec[] {
  const specs: SweepPointSpec[] = [];
  for (const algo of options.algorithms) {
    for (const nodes of (options.sizes ?? scalabilitySizes)(algo)) {
      const rates = scalabilityRates(algo, nodes, options.cpu, options.opsMin);
      for (const ratePerSec of [rates.light, rates.overload]) {
        const clients = sweepClients(ratePerSec);
        for (const seed of options.seeds) specs.push({ algo, nodes, seed, ratePerSec, ops: sweepOps(clients, options.opsMin), clients, cpu: { ...options.cpu } });
      }
    }
  }
  return specs;
}

/** scalabilityPointSchema is one size of one algorithm: messages per operation and peak throughput over seeds, each beside its prediction. */
export const scalabilityPointSchema = z
  .object({
    algo: z.string(),
    nodes: z.number().int().min(1),
    seeds: z.array(z.number().int()),
    lightOpsPerSec: z.number(),
    overloadOpsPerSec: z.number(),
    /** messagesPerOp at the light load, with the batch the runs formed there. */
    messagesPerOp: spreadSchema,
    batchOpsLight: spreadSchema,
    /** predictedMessagesPerOp is predict.ts's count at the light runs' median batch; predictedMessagesPerOpUnbatched at a batch of 1. */
    predictedMessagesPerOp: z.number(),
    predictedMessagesPerOpUnbatched: z.number(),
    messagesOverPredicted: z.number().nullable(),
    peakOpsPerSec: spreadSchema,
    batchOpsAtPeak: spreadSchema,
    model: queueingPredictionSchema,
    peakOverModel: z.number().nullable(),
    violations: z.number().int().min(0),
  })
  .strict();

/** ScalabilityPoint is one size of one algorithm in the scalability sweep. */
export type ScalabilityPoint = z.output<typeof scalabilityPointSchema>;

function ratioOrNull(measured: number, predicted: number): number | null {
  return predicted > 0 ? Math.round((measured / predicted) * 1000) / 1000 : null;
}

/**
 * summarizeScalability turns the point results (in any order: a worker pool
 * returns them as they finish) into one row per algorithm and size, in the
 * order of the planned `specs`.
 */
export function summarizeScalability(specs: readonly SweepPointSpec[], results: readonly SweepPointResult[], cpu: CpuModel, opsMin: number): ScalabilityPoint[] {
  const keys = [...new Set(specs.map((spec) => `${spec.algo}\u0000${spec.nodes}`))];
  return keys.map((key) => {
    const [algo = "", nodesText = "0"] = key.split("\u0000");
    const nodes = Number(nodesText);
    const rates = scalabilityRates(algo, nodes, cpu, opsMin);
    const mine = results.filter((result) => result.spec.algo === algo && result.spec.nodes === nodes);
    const light = mine.filter((result) => result.spec.ratePerSec === rates.light);
    const overload = mine.filter((result) => result.spec.ratePerSec === rates.overload);
    const batchLight = spread(light.map((result) => result.batchOps));
    const batchPeak = spread(overload.map((result) => result.batchOps));
    const messages = spread(light.map((result) => result.messagesPerOp));
    const lightWorkload = sweepWorkload(algo, spread(light.map((result) => result.completed)).median);
    const predicted = predict(algo, nodes, { ...lightWorkload, batchOps: batchLight.median }).messagesPerOp;
    const peak = spread(overload.map((result) => result.achievedOpsPerSec));
    const bytesPerMessage = spread(light.map((result) => result.bytesPerMessage)).median;
    const model = predictSaturation(algo, nodes, cpu, { batchOps: batchPeak.median, bytesPerMessage, workload: sweepWorkload(algo, spread(overload.map((result) => result.completed)).median) });
    return {
      algo,
      nodes,
      seeds: [...new Set(mine.map((result) => result.spec.seed))].sort((a, b) => a - b),
      lightOpsPerSec: rates.light,
      overloadOpsPerSec: rates.overload,
      messagesPerOp: messages,
      batchOpsLight: batchLight,
      predictedMessagesPerOp: Math.round(predicted * 1000) / 1000,
      predictedMessagesPerOpUnbatched: Math.round(predict(algo, nodes, lightWorkload).messagesPerOp * 1000) / 1000,
      messagesOverPredicted: ratioOrNull(messages.median, predicted),
      peakOpsPerSec: peak,
      batchOpsAtPeak: batchPeak,
      model,
      peakOverModel: ratioOrNull(peak.median, model.peakBatchedOpsPerSec),
      violations: mine.reduce((sum, result) => sum + result.violations, 0),
    };
  });
}
