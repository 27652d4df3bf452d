import { describe, expect, test } from "vitest";
import { solo } from "@concord/core";
import { type ScenarioInput, type SimulationOptions, runSimulation } from "@concord/sim";
import { createProbeAlgorithm } from "./probe-algorithm.ts";
import { expectGuaranteesKept, replayOf } from "./helpers.ts";

// The probe replica throws an AssertionError from any method called between ready() and advance().
const faultyTimeline: ScenarioInput = {
  name: "ready-contract",
  description: "Syncs longer than a tick, a record persisted every tick, and leader-targeted faults.",
  tickMs: 1,
  disk: { syncMs: 3, tearPercent: 50 },
  workload: { ops: 300, clients: 4, spreadMs: 1500 },
  faults: [
    { type: "pause", atMs: 200, target: "leader", durationMs: 100 },
    { type: "partition", atMs: 400, isolate: ["leader"], durationMs: 100 },
    { type: "slow", atMs: 600, target: "leader", durationMs: 200, extraLatencyMs: 2, cpuFactor: 3 },
    { type: "crash", atMs: 900, target: "leader", restartAfterMs: 50 },
    { type: "crash", atMs: 1000, target: "follower", restartAfterMs: 50 },
  ],
};

describe("the Ready contract", () => {
  test.each([1, 2, 3, 4, 5])("no replica method runs between ready() and advance(), with syncs in flight while faults pick the leader (seed %i)", (seed) => {
    const { algorithm, log } = createProbeAlgorithm({ pingEveryTicks: 1, persistPings: true });
    const options: SimulationOptions = { algorithm, nodes: 3, scenario: faultyTimeline, seed };
    const result = runSimulation(options);
    expect(log.replicaObservations, replayOf(options)).toBeGreaterThan(1000);
    expectGuaranteesKept(result, options, "none");
  });

  test("messages that arrive during a sync are taken with the next Ready, even when every Ready persists (no starvation)", () => {
    const { algorithm } = createProbeAlgorithm({ pingEveryTicks: 1, persistPings: true });
    const options: SimulationOptions = {
      algorithm,
      nodes: 3,
      seed: 3,
      scenario: { name: "busy-disk", description: "A record every 1 ms tick, 3 ms syncs.", tickMs: 1, disk: { syncMs: 3, tearPercent: 0 }, workload: { ops: 100, clients: 2 } },
    };
    const result = runSimulation(options);
    expectGuaranteesKept(result, options, "completed");
    expect(result.ops.invoked, replayOf(options)).toBe(100);
    expect(result.finalReads, replayOf(options)).toEqual({ invoked: 8, completed: 8 });
    // A write travels 1 ms, waits at most for the sync in flight (3 ms), then for its own (3 ms); its reply
    // shares a Ready with the records of the ticks missed meanwhile (3 ms), then travels back (1 ms).
    expect(result.latencyMs.max, replayOf(options)).toBeLessThanOrEqual(11);
  });

  test("a paused node sends nothing, not even the messages of a sync that completes during the pause", () => {
    const { algorithm, log } = createProbeAlgorithm({ pingEveryTicks: 1, persistPings: true });
    const pausedFromUs = 500_000;
    const pausedUntilUs = 700_000;
    const options: SimulationOptions = {
      algorithm,
      nodes: 3,
      seed: 5,
      scenario: {
        name: "pause-during-sync",
        description: "Node 2 pauses while its syncs are in flight.",
        tickMs: 1,
        disk: { syncMs: 3, tearPercent: 0 },
        workload: { ops: 0 },
        healAtMs: 1000,
        faults: [{ type: "pause", atMs: pausedFromUs / 1000, target: { index: 1 }, durationMs: (pausedUntilUs - pausedFromUs) / 1000 }],
      },
    };
    runSimulation(options);
    const fromPaused = log.sends.filter((send) => send.from === 2);
    expect(fromPaused.filter((send) => send.timeUs > pausedFromUs && send.timeUs < pausedUntilUs), replayOf(options)).toEqual([]);
    expect(fromPaused.filter((send) => send.timeUs < pausedFromUs).length, replayOf(options)).toBeGreaterThan(100);
    expect(fromPaused.filter((send) => send.timeUs >= pausedUntilUs).length, replayOf(options)).toBeGreaterThan(100);
  });
});

describe("messages that arrive in the same instant", () => {
  test("are all stepped before the node's I/O, so they share one Ready (and one sync)", () => {
    const persistSizes: number[] = [];
    const counting = {
      ...solo,
      createReplica: (context: Parameters<typeof solo.createReplica>[0]) => {
        const replica = solo.createReplica(context);
        return {
          id: replica.id,
          tick: () => replica.tick(),
          step: (from: number, message: Parameters<typeof replica.step>[1]) => replica.step(from, message),
          ready: () => {
            const ready = replica.ready();
            if (ready !== undefined && ready.persist.length > 0) persistSizes.push(ready.persist.length);
            return ready;
          },
          advance: (done: Parameters<typeof replica.advance>[0]) => replica.advance(done),
          status: () => replica.status(),
        };
      },
    };
    // Four closed-loop clients in lockstep over equal links: their writes reach the server together. With the CPU off:
    // a node whose CPU is busy steps what arrived while it was busy together, after the first.
    const writes = { name: "writes", description: "", cpu: "none" as const, disk: { syncMs: 0 }, workload: { clients: 4, ops: 40, finalReads: false, mix: { get: 0, put: 100, append: 0, cas: 0, delete: 0 } } };
    const result = runSimulation({ algorithm: counting, nodes: 1, seed: 1, scenario: writes });
    expect(result.ops.completed).toBe(40);
    expect(persistSizes.reduce((sum, size) => sum + size, 0)).toBe(40);
    expect(Math.max(...persistSizes)).toBe(4);
    expect(result.latencyMs.max).toBe(2);
  });
});
