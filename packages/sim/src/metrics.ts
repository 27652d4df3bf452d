import type { InvariantViolation } from "@concord/core";
import type { CrashReport } from "./sim-storage.ts";
import { usPerMs, usPerSecond } from "./context.ts";
import type { CrashCounts, LatencySummary, OperationCounts } from "./result.ts";

/** secondsDigits is how many decimals a report keeps of a time in seconds (whole microseconds). */
const secondsDigits = 6;

/** figureDigits is how many decimals a report keeps of a rate, a ratio or a time in milliseconds. */
const figureDigits = 3;

/**
 * Metrics counts what a run's traffic and crashes cost. Traffic before the
 * workload starts (elections, idle heartbeats) is kept apart from what the
 * operations cost.
 */
export class Metrics {
  messagesTotal = 0;
  bytesTotal = 0;
  warmupMessages = 0;
  warmupBytes = 0;
  readonly messagesByType = new Map<string, number>();
  /** leaderEpochs are the epochs in which a replica (a faulty one included) was seen leading. */
  readonly leaderEpochs = new Set<number>();
  private readonly crashTally = { crashes: 0, lostRecords: 0, lostSnapshot: 0, recordsLost: 0, torn: 0 };

  /** countMessage counts one message on the wire: by type and with its bytes once measuring, apart as warm-up before. */
  countMessage(measured: boolean, type: string): void {
    if (measured) {
      this.messagesTotal++;
      this.messagesByType.set(type, (this.messagesByType.get(type) ?? 0) + 1);
    } else {
      this.warmupMessages++;
    }
  }

  /** countBytes adds the encoded size of one message. */
  countBytes(measured: boolean, bytes: number): void {
    if (measured) this.bytesTotal += bytes;
    else this.warmupBytes += bytes;
  }

  /** countCrash adds what one scheduled crash did to a node's storage. */
  countCrash(report: CrashReport): void {
    const counts = this.crashTally;
    counts.crashes++;
    if (report.lostRecords > 0) counts.lostRecords++;
    if (report.lostSnapshot) counts.lostSnapshot++;
    counts.recordsLost += report.lostRecords;
    if (report.tornBytes > 0) counts.torn++;
  }

  /** crashes reports the crash counts so far. */
  crashes(): CrashCounts {
    return { ...this.crashTally };
  }

  /** byType lists the measured messages by type, in name order. */
  byType(): Record<string, number> {
    const byType: Record<string, number> = {};
    for (const type of [...this.messagesByType.keys()].sort()) byType[type] = this.messagesByType.get(type) as number;
    return byType;
  }

  /** leaderChanges counts the changes of leader the run saw: the epochs led, less the first. */
  leaderChanges(): number {
    return Math.max(0, this.leaderEpochs.size - 1);
  }
}

/** TrafficFigures are a run's message and byte counts, per completed operation too. */
export interface TrafficFigures {
  readonly messages: { readonly total: number; readonly perOp: number; readonly byType: Record<string, number> };
  readonly bytes: { readonly total: number; readonly perOp: number };
  readonly warmup: { readonly seconds: number; readonly messages: number; readonly bytes: number };
}

/** trafficFigures divides the traffic by the completed operations. */
export function trafficFigures(metrics: Metrics, completed: number, warmupUs: number): TrafficFigures {
  return {
    messages: { total: metrics.messagesTotal, perOp: completed > 0 ? round(metrics.messagesTotal / completed, figureDigits) : 0, byType: metrics.byType() },
    bytes: { total: metrics.bytesTotal, perOp: completed > 0 ? round(metrics.bytesTotal / completed, figureDigits) : 0 },
    warmup: { seconds: seconds(warmupUs), messages: metrics.warmupMessages, bytes: metrics.warmupBytes },
  };
}

/** operationCounts splits operations by how they ended; `invoked` is how many were started. */
export function operationCounts(history: readonly { readonly status: string }[], invoked: number): OperationCounts {
  const completed = history.filter((op) => op.status === "ok").length;
  const failed = history.filter((op) => op.status === "fail").length;
  return { invoked, completed, failed, indeterminate: history.length - completed - failed };
}

/** throughputOpsPerSec is the rate of operations completed ok over the workload's span of virtual time. */
export function throughputOpsPerSec(completedOk: number, spanUs: number): number {
  return spanUs > 0 ? round((completedOk * usPerSecond) / spanUs, figureDigits) : 0;
}

/** sortedViolations merges the run's violations by time. */
export function sortedViolations(...lists: readonly (readonly InvariantViolation[])[]): InvariantViolation[] {
  const violations = lists.flat();
  violations.sort((a, b) => a.timeUs - b.timeUs);
  return violations;
}

/** summarize reports latency percentiles in milliseconds. */
export function summarize(latenciesUs: readonly number[]): LatencySummary {
  if (latenciesUs.length === 0) return { p50: 0, p95: 0, p99: 0, max: 0 };
  const sorted = [...latenciesUs].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
  const ms = (us: number): number => round(us / usPerMs, figureDigits);
  return { p50: ms(at(0.5)), p95: ms(at(0.95)), p99: ms(at(0.99)), max: ms(sorted[sorted.length - 1] as number) };
}

/** seconds converts microseconds of virtual time to seconds, as reports print them. */
export function seconds(us: number): number {
  return round(us / usPerSecond, secondsDigits);
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
