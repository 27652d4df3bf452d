import { describe, expect, test } from "vitest";
import { runSimulation } from "@concord/sim";
import { createProbeAlgorithm } from "./probe-algorithm.ts";

// The structured fault windows are what the benchmarks measure recovery and per-side availability against: each must
// say when its fault acted, on whom, and when it was lifted, in the run's own clock.
describe("fault windows", () => {
  test("each fault that acted is a window with its kind, its replicas, its clients and when it was lifted", () => {
    const { algorithm } = createProbeAlgorithm({ pingEveryTicks: 1 });
    const result = runSimulation({
      algorithm,
      nodes: 5,
      seed: 4,
      scenario: {
        name: "windows",
        description: "One fault of each shape: a partition with the clients split, a crash with a restart, a pause cut short by the heal, a restart that has no duration.",
        workload: { ops: 0, clients: 4 },
        warmupMs: 100,
        healAtMs: 900,
        faults: [
          { type: "partition", atMs: 100, isolate: [{ index: 0 }, { index: 1 }], clients: "split", durationMs: 300 },
          { type: "crash", atMs: 200, target: { index: 4 }, restartAfterMs: 50 },
          { type: "pause", atMs: 600, target: { index: 3 }, durationMs: 5000 },
          { type: "crash", atMs: 700, target: { index: 2 } },
          { type: "restart", atMs: 800, target: { index: 2 } },
        ],
      },
    });
    const clientIds = [1_000_000, 1_000_001, 1_000_002, 1_000_003];
    expect(result.faults).toEqual([
      { atMs: 200, kind: "partition", nodes: [1, 2], untilMs: 500, clients: clientIds.slice(0, 2) },
      { atMs: 300, kind: "crash", nodes: [5], untilMs: 350 },
      { atMs: 700, kind: "pause", nodes: [4], untilMs: 1000 },
      { atMs: 800, kind: "crash", nodes: [3], untilMs: 900 },
      { atMs: 900, kind: "restart", nodes: [3], untilMs: 900 },
    ]);
  });
});
