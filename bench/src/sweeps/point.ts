// One point of a sweep: a pure function from plain data (a spec a worker
// thread can receive) to plain data (a result it can post back). The same spec
// gives the same result, byte for byte: the simulator runs in virtual time.
import { findAlgorithm } from "@concord/lab";
import { cpuSchema, runSimulation } from "@concord/sim";
import { z } from "zod";
import { inferBatchOps } from "../predict.ts";

/** sweepWarmupMs lets the first leader be elected before the arrivals begin, as the built-in scenarios' warm-up does. */
export const sweepWarmupMs = 500;

/** sweepPointSpecSchema is one simulated run of a sweep: algorithm, size, seed, offered rate, operations, clients and the CPU model. */
export const sweepPointSpecSchema = z
  .object({
    algo: z.string().min(1),
    nodes: z.number().int().min(1),
    seed: z.number().int().min(0),
    /** ratePerSec is the open-loop arrival rate offered. */
    ratePerSec: z.number().positive(),
    ops: z.number().int().min(1),
    /** clients bounds the operations outstanding at once; sized so that they are not the bottleneck. */
    clients: z.number().int().min(1).max(10_000),
    cpu: cpuSchema.required(),
  })
  .strict();

/** SweepPointSpec is one simulated run of a sweep. */
export type SweepPointSpec = z.output<typeof sweepPointSpecSchema>;

/** sweepPointResultSchema is what one run measured: achieved throughput, latency, traffic and health. No wall-clock figure. */
export const sweepPointResultSchema = z
  .object({
    spec: sweepPointSpecSchema,
    /**
     * achievedOpsPerSec is the rate at which the clients started operations in the run's middle (between the 10th and
     * the 90th percentile start): below saturation that is the offered rate; past it, every start waits for a client
     * that a completion freed, so it is the cluster's service rate. Starts, unlike completions, do not bunch up when
     * the first operations are slower than the rest (redirects to the leader, Paxos's first ballots), which in a run
     * of a few hundred operations skews a completion rate by 10 to 15%.
     */
    achievedOpsPerSec: z.number().min(0),
    /** wholeRunOpsPerSec is the simulator's own figure: completions over the whole workload's span. */
    wholeRunOpsPerSec: z.number().min(0),
    completed: z.number().int().min(0),
    invoked: z.number().int().min(0),
    latencyMs: z.object({ p50: z.number(), p95: z.number(), p99: z.number(), max: z.number() }).strict(),
    messagesPerOp: z.number().min(0),
    messagesByType: z.record(z.string(), z.number()),
    /** bytesPerMessage is the mean encoded size of a message, for the queueing model's perKilobyteUs term. */
    bytesPerMessage: z.number().min(0),
    /** batchOps is the mean batch the run formed, inferred from its messages (predict.ts's inferBatchOps). */
    batchOps: z.number().min(1),
    leaderChanges: z.number().int().min(0),
    violations: z.number().int().min(0),
  })
  .strict();

/** SweepPointResult is what one sweep run measured. */
export type SweepPointResult = z.output<typeof sweepPointResultSchema>;

/**
 * sweepClients sizes the clients for an offered rate: enough for 10 ms of
 * arrivals (several times the unloaded latency), so that at a rate past
 * saturation the replicas, not the number of clients, limit throughput
 * (Little's law: clients / latency caps it).
 */
export function sweepClients(ratePerSec: number): number {
  return Math.min(10_000, Math.max(8, Math.ceil(ratePerSec * 0.006)));
}

/** steadyOpsPerSec is the rate of events (operation starts) between the 10th and the 90th percentile of their times (0 with fewer than 10). */
export function steadyOpsPerSec(timesUs: readonly number[]): number {
  if (timesUs.length < 10) return 0;
  const sorted = [...timesUs].sort((a, b) => a - b);
  const low = Math.floor(sorted.length * 0.1);
  const high = Math.ceil(sorted.length * 0.9) - 1;
  const spanUs = (sorted[high] as number) - (sorted[low] as number);
  return spanUs > 0 ? Math.round(((high - low) * 1_000_000 * 10) / spanUs) / 10 : 0;
}

/**
 * runSweepPoint runs one sweep point: an open-loop workload of puts (8 keys,
 * 8-byte values) at the spec's rate on a healthy cluster with 1 ms links and
 * instant disks, the spec's CPU cost model charged, no final reads.
 */
export function runSweepPoint(spec: SweepPointSpec): SweepPointResult {
  const algorithm = findAlgorithm(spec.algo);
  if (algorithm === undefined) throw new Error(`sweep: unknown algorithm "${spec.algo}"`);
  const result = runSimulation({
    algorithm,
    nodes: spec.nodes,
    seed: spec.seed,
    scenario: {
      name: "sweep",
      description: `open-loop puts at ${spec.ratePerSec} ops/s`,
      warmupMs: sweepWarmupMs,
      disk: { syncMs: 0 },
      cpu: spec.cpu,
      workload: { kind: "open", ratePerSec: spec.ratePerSec, queueLimit: spec.ops, clients: spec.clients, ops: spec.ops, finalReads: false, mix: { get: 0, put: 100, append: 0, cas: 0, delete: 0 } },
    },
  });
  const completed = result.ops.completed;
  return {
    spec,
    achievedOpsPerSec: steadyOpsPerSec(result.history.map((operation) => operation.invokeUs)),
    wholeRunOpsPerSec: result.throughputOpsPerSec,
    completed,
    invoked: result.ops.invoked,
    latencyMs: result.latencyMs,
    messagesPerOp: result.messages.perOp,
    messagesByType: result.messages.byType,
    bytesPerMessage: result.messages.total > 0 ? Math.round((result.bytes.total / result.messages.total) * 10) / 10 : 0,
    batchOps: Math.round(inferBatchOps(spec.algo, spec.nodes, result.messages.byType, completed) * 100) / 100,
    leaderChanges: result.leaderChanges,
    violations: result.invariantViolations.length,
  };
}
