// The figures the bench derives from one simulated run, beyond those the
// simulator reports: throughput over time, a latency CDF, recovery after each
// fault and availability on each side of a partition. All come from the run's
// history and fault windows, in virtual time, so that they are exact and the
// same on every machine.
import type { HistoryOperation } from "@concord/core";
import type { FaultWindow, SimulationResult } from "@concord/sim";
import type { FaultRecovery, LatencyCdfPoint, ThroughputSeries } from "./results-schema.ts";

/** WorkloadOperation is one operation of a run's history. */
type WorkloadOperation = HistoryOperation<unknown, unknown>;

const usPerMs = 1000;

/** bucketMsMin is the finest bucket of a throughput series: 50 ms shows a leader election's gap. */
export const bucketMsMin = 50;

/** bucketsMax bounds a series' length, so that a long run (a chaos seed's liveness phase) keeps results.json small. */
export const bucketsMax = 400;

/** baselineWindowMs is how far before a fault its throughput baseline reaches (less when the workload began later). */
export const baselineWindowMs = 500;

/** baselineWindowMsMin is the least workload before a fault that makes a baseline: a shorter window says too little. */
export const baselineWindowMsMin = 100;

/** recoveryWindowMs is the window over which throughput after a fault must be back to `recoveredShare` of the baseline. */
export const recoveryWindowMs = 200;

/** recoveredShare is the share of the pre-fault throughput at which the cluster counts as recovered. */
export const recoveredShare = 0.9;

/** cdfPercentiles are the points of each latency CDF: dense in the tail, where the algorithms differ. */
export const cdfPercentiles: readonly number[] = [0, 1, 2.5, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90, 95, 97.5, 99, 99.5, 99.9, 100];

/**
 * workloadOperations is the workload's part of a run's history: the final
 * reads come after every workload operation (the simulator starts them once
 * the workload is done), so they are the history's last `finalReads.invoked`.
 */
export function workloadOperations(result: Pick<SimulationResult, "history" | "finalReads">): readonly WorkloadOperation[] {
  return result.history.slice(0, result.history.length - result.finalReads.invoked);
}

/** okCompletionsMs lists, in order, when the workload's operations that completed ok completed, in milliseconds. */
function okCompletionsMs(operations: readonly WorkloadOperation[]): number[] {
  const times: number[] = [];
  for (const operation of operations) if (operation.status === "ok" && operation.completeUs !== undefined) times.push(operation.completeUs / usPerMs);
  return times.sort((a, b) => a - b);
}

/** WorkloadSpan is when the workload ran: its first invocation and its last completion, in milliseconds. */
export interface WorkloadSpan {
  readonly startMs: number;
  readonly endMs: number;
}

/** workloadSpanOf is when the workload ran: its first invocation and its last completion (failed ones too), in milliseconds. */
export function workloadSpanOf(operations: readonly WorkloadOperation[]): WorkloadSpan {
  let startMs = Number.POSITIVE_INFINITY;
  let endMs = 0;
  for (const operation of operations) {
    startMs = Math.min(startMs, operation.invokeUs / usPerMs);
    if (operation.completeUs !== undefined) endMs = Math.max(endMs, operation.completeUs / usPerMs);
  }
  return startMs === Number.POSITIVE_INFINITY ? { startMs: 0, endMs: 0 } : { startMs, endMs: Math.max(startMs, endMs) };
}

/**
 * throughputSeries buckets the workload's ok completions: `bucketMsMin`
 * buckets, widened (in steps of 50 ms) when the workload would need more than
 * `bucketsMax` of them. The last bucket may be cut short by the workload's
 * end; it is still divided by the whole bucket, so its rate is a lower bound.
 */
export function throughputSeries(operations: readonly WorkloadOperation[]): ThroughputSeries {
  const span = workloadSpanOf(operations);
  const durationMs = span.endMs - span.startMs;
  const bucketMs = bucketMsMin * Math.max(1, Math.ceil(durationMs / (bucketMsMin * bucketsMax)));
  const counts = new Array<number>(Math.max(1, Math.ceil(durationMs / bucketMs) + (durationMs % bucketMs === 0 ? 1 : 0))).fill(0);
  for (const completedMs of okCompletionsMs(operations)) {
    const index = Math.min(counts.length - 1, Math.floor((completedMs - span.startMs) / bucketMs));
    counts[index] = (counts[index] as number) + 1;
  }
  return { startMs: roundTo(span.startMs, 3), bucketMs, opsPerSec: counts.map((count) => roundTo((count * usPerMs) / bucketMs, 3)) };
}

/** latencyCdf gives the latency of the workload's ok operations at each of `cdfPercentiles`, nearest rank (the simulator's own rule for p50/p95/p99). */
export function latencyCdf(operations: readonly WorkloadOperation[]): LatencyCdfPoint[] {
  const latenciesMs: number[] = [];
  for (const operation of operations) {
    if (operation.status === "ok" && operation.completeUs !== undefined) latenciesMs.push((operation.completeUs - operation.invokeUs) / usPerMs);
  }
  if (latenciesMs.length === 0) return [];
  latenciesMs.sort((a, b) => a - b);
  return cdfPercentiles.map((percentile) => {
    const rank = Math.max(1, Math.ceil((percentile / 100) * latenciesMs.length));
    return { percentile, latencyMs: roundTo(latenciesMs[Math.min(latenciesMs.length, rank) - 1] as number, 3) };
  });
}

/** KindLatency is the latency of one kind of operation (reads or writes) completed ok: p50 and p99, nearest rank, and how many. */
export interface KindLatency {
  readonly p50: number;
  readonly p99: number;
  readonly count: number;
}

/**
 * latencyByKind splits the workload's ok operations into reads (get) and
 * writes (put, append, cas, delete) and gives each kind's p50 and p99
 * (nearest rank, as the simulator's own), null for a kind with none: the
 * PACELC table's latency against consistency.
 */
export function latencyByKind(operations: readonly WorkloadOperation[]): { read: KindLatency | null; write: KindLatency | null } {
  const latencies = { read: [] as number[], write: [] as number[] };
  for (const operation of operations) {
    if (operation.status !== "ok" || operation.completeUs === undefined) continue;
    const type = (operation.input as { readonly type?: unknown } | undefined)?.type;
    latencies[type === "get" ? "read" : "write"].push((operation.completeUs - operation.invokeUs) / usPerMs);
  }
  const summary = (values: number[]): KindLatency | null => {
    if (values.length === 0) return null;
    values.sort((a, b) => a - b);
    const at = (percentile: number): number => roundTo(values[Math.min(values.length, Math.max(1, Math.ceil((percentile / 100) * values.length))) - 1] as number, 3);
    return { p50: at(50), p99: at(99), count: values.length };
  };
  return { read: summary(latencies.read), write: summary(latencies.write) };
}

/** countIn counts the sorted times in (fromMs, toMs]. */
function countIn(sortedMs: readonly number[], fromMs: number, toMs: number): number {
  return upperBound(sortedMs, toMs) - upperBound(sortedMs, fromMs);
}

/** upperBound is the number of sorted times at or below `ms`. */
function upperBound(sortedMs: readonly number[], ms: number): number {
  let low = 0;
  let high = sortedMs.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if ((sortedMs[middle] as number) <= ms) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * faultRecovery measures the recovery from each fault of a run.
 *
 * - baseline: ok completions per second over up to `baselineWindowMs` before
 *   the fault (null with less than `baselineWindowMsMin` of workload before
 *   it, or none completed there);
 * - recoveryMs: the least t >= 0 such that the window (fault + t, fault + t +
 *   `recoveryWindowMs`] holds at least `recoveredShare` of the baseline's rate,
 *   the window lying inside the workload (null when no such window exists:
 *   the workload ended first). 0 means the fault never cost 10% of throughput.
 *   Exact: the count in a sliding window grows only when its end passes a
 *   completion, so only the fault itself and those moments need testing;
 * - firstCommitMs: from the fault to the first ok completion of an operation
 *   invoked at or after it (null when none was).
 */
export function faultRecovery(operations: readonly WorkloadOperation[], faults: readonly FaultWindow[]): FaultRecovery[] {
  const completionsMs = okCompletionsMs(operations);
  const span = workloadSpanOf(operations);
  return faults.map((fault, index) => {
    const fromMs = Math.max(span.startMs, fault.atMs - baselineWindowMs);
    const baselineMs = fault.atMs - fromMs;
    const before = baselineMs >= baselineWindowMsMin ? countIn(completionsMs, fromMs, fault.atMs) : 0;
    const baselineOpsPerSec = before > 0 ? (before * usPerMs) / baselineMs : null;
    return {
      fault: index,
      kind: fault.kind,
      atMs: fault.atMs,
      baselineOpsPerSec: baselineOpsPerSec === null ? null : roundTo(baselineOpsPerSec, 3),
      recoveryMs: baselineOpsPerSec === null ? null : recoveryMs(completionsMs, fault.atMs, span.endMs, baselineOpsPerSec),
      firstCommitMs: firstCommitMs(operations, fault.atMs),
    };
  });
}

function recoveryMs(completionsMs: readonly number[], faultMs: number, workloadEndMs: number, baselineOpsPerSec: number): number | null {
  const needed = (recoveredShare * baselineOpsPerSec * recoveryWindowMs) / usPerMs;
  const starts = [faultMs, ...completionsMs.map((ms) => ms - recoveryWindowMs).filter((ms) => ms > faultMs)];
  for (const startMs of starts) {
    if (startMs + recoveryWindowMs > workloadEndMs) return null;
    if (countIn(completionsMs, startMs, startMs + recoveryWindowMs) >= needed) return roundTo(startMs - faultMs, 3);
  }
  return null;
}

function firstCommitMs(operations: readonly WorkloadOperation[], faultMs: number): number | null {
  let firstMs = Number.POSITIVE_INFINITY;
  for (const operation of operations) {
    if (operation.status === "ok" && operation.completeUs !== undefined && operation.invokeUs / usPerMs >= faultMs) firstMs = Math.min(firstMs, operation.completeUs / usPerMs);
  }
  return firstMs === Number.POSITIVE_INFINITY ? null : roundTo(firstMs - faultMs, 3);
}

/** partitionAvailability is lab's measure of availability on each side of each partition (see @concord/lab). */
export { partitionAvailability } from "@concord/lab";

/** perOpByType divides each message type's count by the operations the simulator divides `messages.perOp` by (the ok ones, final reads included). */
export function perOpByType(result: Pick<SimulationResult, "messages" | "ops" | "finalReads">): Record<string, number> {
  const completed = result.ops.completed + result.finalReads.completed;
  const figures: Record<string, number> = {};
  for (const [type, count] of Object.entries(result.messages.byType).sort(([a], [b]) => (a < b ? -1 : 1))) figures[type] = completed > 0 ? roundTo(count / completed, 4) : 0;
  return figures;
}

/** roundTo rounds to `digits` decimals, so that results.json stays readable and free of float noise. */
export function roundTo(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
