// What the sweeps run: the sweep's CPU model, each protocol's batch cap, the
// rate ladders and the statistics over seeds that both sweeps share.
import { multiPaxosOptionsSchema } from "@concord/multipaxos";
import { pbftOptionsSchema } from "@concord/pbft";
import { raftOptionsSchema } from "@concord/raft";
import { vrOptionsSchema } from "@concord/vr";
import type { CpuModel } from "@concord/sim";
import { z } from "zod";
import { expectedFreshKeyShare, type PredictionWorkloadInput } from "../predict.ts";
import { predictSaturation } from "../predict-queueing.ts";

/** sweepKeys is the number of keys the sweeps' puts draw from uniformly (the built-in scenarios' 8). */
export const sweepKeys = 8;

/**
 * sweepWorkload is what the predictions assume of a sweep run of `ops` puts:
 * no reads, and for Paxos the share of puts that find their key unchosen
 * (a write-once register: only those run a ballot).
 */
export function sweepWorkload(algo: string, ops: number): PredictionWorkloadInput {
  return algo === "paxos" ? { readShare: 0, freshKeyShare: expectedFreshKeyShare(ops, sweepKeys, 1) } : { readShare: 0 };
}

/**
 * sweepCpuScale multiplies the calibrated costs in the sweeps. The simulator's
 * links take 1 ms one way, about ten times a LAN's; charging ten times this
 * machine's measured CPU costs keeps the ratio of CPU to network time a real
 * LAN cluster on this machine would have, and keeps the saturation rates (and
 * so the clients and operations a sweep needs) small enough for the budget.
 */
export const sweepCpuScale = 10;

/** sweepCpu scales every figure of the calibrated model by {@link sweepCpuScale}. */
export function sweepCpu(cpu: CpuModel, scale: number = sweepCpuScale): CpuModel {
  return {
    perMessageUs: cpu.perMessageUs * scale,
    perKilobyteUs: cpu.perKilobyteUs * scale,
    perMacUs: cpu.perMacUs * scale,
    perDigestUs: cpu.perDigestUs * scale,
    perSignatureUs: cpu.perSignatureUs * scale,
    perVerifyUs: cpu.perVerifyUs * scale,
  };
}

/**
 * batchCapOps is the most operations one round of agreement carries under the
 * protocol's default options (1 for a protocol that does not batch): the
 * batch the queueing model's upper peak assumes.
 */
export function batchCapOps(algo: string): number {
  switch (algo) {
    case "raft":
      return raftOptionsSchema.parse({}).batchEntriesMax;
    case "multipaxos":
      return multiPaxosOptionsSchema.parse({}).batchCommandsMax;
    case "pbft":
      return pbftOptionsSchema.parse({}).batchSizeMax;
    case "vr":
      return vrOptionsSchema.parse({}).batchCommandsMax;
    default:
      return 1;
  }
}

/**
 * rateLadder lays `steps` offered rates geometrically from a quarter of the
 * model's unbatched peak (every operation its own round: the lowest the
 * saturation can be) to 1.5 times its peak at the protocol's batch cap (the
 * highest), so that the ladder starts well below saturation and ends past it
 * whatever batch the protocol forms. Rates are rounded to 2 significant digits.
 */
export function rateLadder(algo: string, nodes: number, cpu: CpuModel, steps: number, opsMin: number): number[] {
  const model = predictSaturation(algo, nodes, cpu, { batchOps: batchCapOps(algo), workload: sweepWorkload(algo, opsMin) });
  const low = model.peakUnbatchedOpsPerSec * 0.25;
  const high = Math.max(model.peakBatchedOpsPerSec, model.peakUnbatchedOpsPerSec) * 1.5;
  if (!(low > 0) || !(high > low)) throw new Error(`sweep: no rate ladder for ${algo} n=${nodes}: the cost model charges it nothing`);
  const rates: number[] = [];
  for (let i = 0; i < steps; i++) rates.push(roundSignificant(low * (high / low) ** (i / Math.max(1, steps - 1)), 2));
  return [...new Set(rates)];
}

function roundSignificant(value: number, digits: number): number {
  const magnitude = 10 ** (Math.floor(Math.log10(value)) - digits + 1);
  return Math.round(value / magnitude) * magnitude;
}

/** spreadSchema is a figure over seeds: median, min and max. */
export const spreadSchema = z.object({ median: z.number(), min: z.number(), max: z.number() }).strict();

/** Spread is a figure over seeds. */
export type Spread = z.output<typeof spreadSchema>;

/** spread takes the median (the mean of the middle two for an even count), min and max of `values`. */
export function spread(values: readonly number[]): Spread {
  if (values.length === 0) return { median: 0, min: 0, max: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  const round = (value: number): number => Math.round(value * 1000) / 1000;
  return { median: round(median), min: round(sorted[0] as number), max: round(sorted[sorted.length - 1] as number) };
}

/**
 * sweepOps is how many operations a point runs at `ratePerSec`: enough for each
 * client to run several, so that the clients' first requests (a redirect to
 * the leader for most) do not dominate, and at least `opsMin`.
 */
export function sweepOps(clients: number, opsMin: number): number {
  return Math.max(opsMin, clients * 4);
}
