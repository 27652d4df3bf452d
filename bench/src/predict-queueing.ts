// A queueing model of saturation, as Bamboo (ICDCS 2021) sets one beside its
// measurements: the busiest replica (leader, primary) is a single server whose
// service time per operation is what the simulator's CPU cost model charges
// it (predict.ts counts the work); peak throughput is one over that time, and
// latency against offered load follows an M/D/1 queue: Poisson arrivals (the
// simulator's open-loop workload draws exponential gaps) and a deterministic
// service time (the cost model charges fixed costs per message and per MAC).
import type { CpuModel } from "@concord/sim";
import { z } from "zod";
import { type BottleneckWork, type PredictionWorkloadInput, predict } from "./predict.ts";

/** defaultBytesPerMessage is the encoded size assumed of a received message when the caller knows none (Raft's and Multi-Paxos's small messages run 25 to 45 bytes, PBFT's about 150). */
export const defaultBytesPerMessage = 64;

/** serviceTimeSchema is the busiest replica's service time per operation, split by what the cost model charges. */
export const serviceTimeSchema = z
  .object({
    /** totalUs is the sum of the parts: one operation's CPU time at the busiest replica. */
    totalUs: z.number().min(0),
    messagesUs: z.number().min(0),
    bytesUs: z.number().min(0),
    cryptoUs: z.number().min(0),
    /** batchOps is the batch the time was computed at. */
    batchOps: z.number().min(1),
  })
  .strict();

/** ServiceTime is the busiest replica's service time per operation. */
export type ServiceTime = z.output<typeof serviceTimeSchema>;

/**
 * serviceTimeUs prices the busiest replica's work per operation with `cpu`:
 * each received message perMessageUs plus its kilobytes (at `bytesPerMessage`
 * each) times perKilobyteUs, and each MAC, digest, signature and verification
 * at its price. The simulator charges exactly these (cluster.ts: a message's
 * cost when it is stepped, crypto when it is done); sending costs nothing.
 */
export function serviceTimeUs(work: BottleneckWork, cpu: CpuModel, batchOps: number, bytesPerMessage: number = defaultBytesPerMessage): ServiceTime {
  const messagesUs = work.receivedMessages * cpu.perMessageUs;
  const bytesUs = (work.receivedMessages * bytesPerMessage * cpu.perKilobyteUs) / 1024;
  const cryptoUs = work.macs * cpu.perMacUs + work.digests * cpu.perDigestUs + work.signatures * cpu.perSignatureUs + work.verifications * cpu.perVerifyUs;
  return { totalUs: messagesUs + bytesUs + cryptoUs, messagesUs, bytesUs, cryptoUs, batchOps };
}

/** peakOpsPerSec is one over the service time: the rate at which the bottleneck is busy all the time (infinite for a free one). */
export function peakOpsPerSec(service: ServiceTime): number {
  return service.totalUs > 0 ? 1_000_000 / service.totalUs : Number.POSITIVE_INFINITY;
}

/**
 * md1LatencyMs is the M/D/1 response time at `offeredOpsPerSec`: the
 * unloaded latency `baseLatencyMs` (network delays) plus the service time plus
 * the mean wait in queue, rho S / (2 (1 - rho)) (Pollaczek-Khinchine with
 * deterministic service). Past saturation (rho >= 1) the queue grows without
 * bound: null.
 */
export function md1LatencyMs(offeredOpsPerSec: number, service: ServiceTime, baseLatencyMs: number): number | null {
  const serviceMs = service.totalUs / 1000;
  const rho = (offeredOpsPerSec * service.totalUs) / 1_000_000;
  if (rho >= 1) return null;
  return baseLatencyMs + serviceMs + (rho * serviceMs) / (2 * (1 - rho));
}

/** queueingPredictionSchema is the model's saturation prediction for one protocol at one size and cost model. */
export const queueingPredictionSchema = z
  .object({
    algo: z.string(),
    nodes: z.number().int().min(1),
    /** unbatched is the service time with every operation its own round of agreement (Bamboo's model); its peak is a floor. */
    unbatched: serviceTimeSchema,
    peakUnbatchedOpsPerSec: z.number().min(0),
    /** batched is the service time at `batched.batchOps` operations per round (a batch seen in a run at its peak, or the protocol's cap). */
    batched: serviceTimeSchema,
    peakBatchedOpsPerSec: z.number().min(0),
    /** baseLatencyMs is the unloaded latency: the mean one-way delays times the link's one-way delay. */
    baseLatencyMs: z.number().min(0),
    model: z.string(),
  })
  .strict();

/** QueueingPrediction is the model's saturation prediction. */
export type QueueingPrediction = z.output<typeof queueingPredictionSchema>;

/** finite keeps a JSON-safe number: an infinite peak (a free bottleneck) is reported as 0, meaning "no bound". */
function finite(value: number): number {
  return Number.isFinite(value) ? Math.round(value * 10) / 10 : 0;
}

/**
 * predictSaturation applies the model to `algo` on `nodes` replicas under
 * `cpu`: the unbatched service time and peak, and the same at `batchOps`
 * operations per round, with the unloaded latency for the M/D/1 curve.
 */
export function predictSaturation(
  algo: string,
  nodes: number,
  cpu: CpuModel,
  options: { readonly workload?: PredictionWorkloadInput; readonly batchOps?: number; readonly bytesPerMessage?: number; readonly oneWayDelayMs?: number } = {},
): QueueingPrediction {
  const workload = options.workload ?? {};
  const unbatchedPrediction = predict(algo, nodes, { ...workload, batchOps: 1 });
  const batchOps = Math.max(1, options.batchOps ?? 1);
  const batchedPrediction = predict(algo, nodes, { ...workload, batchOps });
  const unbatched = serviceTimeUs(unbatchedPrediction.bottleneck, cpu, 1, options.bytesPerMessage);
  const batched = serviceTimeUs(batchedPrediction.bottleneck, cpu, batchOps, options.bytesPerMessage);
  return {
    algo,
    nodes,
    unbatched,
    peakUnbatchedOpsPerSec: finite(peakOpsPerSec(unbatched)),
    batched,
    peakBatchedOpsPerSec: finite(peakOpsPerSec(batched)),
    baseLatencyMs: unbatchedPrediction.latencyOneWayDelays.mean * (options.oneWayDelayMs ?? 1),
    model: `M/D/1 at ${unbatchedPrediction.bottleneck.replica}: service time S = received messages x perMessageUs + their KiB x perKilobyteUs + crypto operations x their price; peak = 1/S; latency = base + S + rho S / (2 (1 - rho)), rho = offered rate x S`,
  };
}
