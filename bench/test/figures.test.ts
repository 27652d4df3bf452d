import { describe, expect, it } from "vitest";
import type { HistoryOperation } from "@concord/core";
import type { FaultWindow } from "@concord/sim";
import { faultRecovery, latencyCdf, partitionAvailability, throughputSeries } from "../src/figures.ts";
import { spreadOf } from "../src/summary.ts";

/** operation builds one history entry with times in milliseconds. */
function operation(id: number, clientId: number, invokeMs: number, completeMs: number | undefined, status: "ok" | "fail" | "info" = "ok"): HistoryOperation<unknown, unknown> {
  return { id, clientId, input: undefined, invokeUs: invokeMs * 1000, completeUs: completeMs === undefined ? undefined : completeMs * 1000, status, output: undefined };
}

/** steadyThenGap: one op completing every 10 ms from 0 to 1000 ms, none from 500 to 800 ms (a fault at 500 ms stalls the cluster for 300 ms). */
function steadyThenGap(): HistoryOperation<unknown, unknown>[] {
  const operations: HistoryOperation<unknown, unknown>[] = [];
  for (let ms = 10; ms <= 1000; ms += 10) {
    if (ms > 500 && ms < 800) continue;
    operations.push(operation(operations.length, 1000 + (operations.length % 2), ms - 10, ms));
  }
  return operations;
}

describe("the bench's figures from a history", () => {
  it("finds the recovery from a stall exactly: back to 90% of the pre-fault rate when a window of 200 ms after the fault holds 18 completions", () => {
    const fault: FaultWindow = { atMs: 500, kind: "crash", nodes: [0], untilMs: 700 };
    const [recovery] = faultRecovery(steadyThenGap(), [fault]);
    // 100 ops/s before; completions resume at 800 ms; the window (t, t+200] first holds 18 of them (800 to 970) at t = 970 - 200.
    expect(recovery).toEqual({ fault: 0, kind: "crash", atMs: 500, baselineOpsPerSec: 100, recoveryMs: 270, firstCommitMs: 300 });
  });

  it("gives no recovery time when the workload ends first, and none without a baseline before the fault", () => {
    const operations = steadyThenGap();
    const late: FaultWindow = { atMs: 950, kind: "pause", nodes: [1], untilMs: 990 };
    const early: FaultWindow = { atMs: 50, kind: "link", nodes: [], untilMs: 300 };
    const [lateRecovery, earlyRecovery] = faultRecovery(operations, [late, early]);
    expect(lateRecovery?.recoveryMs).toBeNull();
    expect(earlyRecovery).toMatchObject({ baselineOpsPerSec: null, recoveryMs: null });
  });

  it("counts a fault that costs nothing as recovered at once", () => {
    const [recovery] = faultRecovery(steadyThenGap(), [{ atMs: 250, kind: "slow", nodes: [2], untilMs: 300 }]);
    expect(recovery?.recoveryMs).toBe(0);
  });

  it("buckets ok completions in 50 ms, failed ones left out, adding up to the completed count", () => {
    const operations = [operation(0, 1000, 0, 10), operation(1, 1000, 10, 40), operation(2, 1001, 0, 60), operation(3, 1001, 60, 120, "fail")];
    expect(throughputSeries(operations)).toEqual({ startMs: 0, bucketMs: 50, opsPerSec: [40, 20, 0] });
  });

  it("splits availability by side of a partition: the operations invoked during it that completed ok before it healed", () => {
    const operations = [
      operation(0, 1000, 100, 150), // isolated side, completed during: ok
      operation(1, 1000, 200, 900), // isolated side, completed after the heal: not available
      operation(2, 1001, 210, undefined, "info"),
      operation(3, 1002, 220, 230),
      operation(4, 1002, 50, 60), // before the partition: not counted
    ];
    const partition: FaultWindow = { atMs: 100, kind: "partition", nodes: [0], untilMs: 500, clients: [1000, 1001] };
    expect(partitionAvailability(operations, [partition])).toEqual([
      { fault: 0, atMs: 100, untilMs: 500, isolatedReplicas: [0], isolatedSide: { clients: [1000, 1001], invoked: 3, ok: 1, share: 0.3333 }, otherSide: { clients: [1002], invoked: 1, ok: 1, share: 1 } },
    ]);
  });

  it("reads the latency CDF by nearest rank, as the simulator's percentiles", () => {
    const operations = Array.from({ length: 100 }, (_, i) => operation(i, 1000, 0, i + 1));
    const cdf = latencyCdf(operations);
    expect(cdf.find((point) => point.percentile === 50)?.latencyMs).toBe(50);
    expect(cdf.find((point) => point.percentile === 99)?.latencyMs).toBe(99);
    expect(cdf[0]).toEqual({ percentile: 0, latencyMs: 1 });
    expect(cdf.at(-1)).toEqual({ percentile: 100, latencyMs: 100 });
  });

  it("summarises seeds as median, min and max, leaving out seeds that did not measure the figure", () => {
    expect(spreadOf([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3, seeds: 3 });
    expect(spreadOf([4, null, 1, 2, 3])).toEqual({ median: 2.5, min: 1, max: 4, seeds: 4 });
    expect(spreadOf([null, null])).toBeNull();
  });
});
