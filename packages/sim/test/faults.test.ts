import { describe, expect, test } from "vitest";
import { solo } from "@concord/core";
import { type FaultInput, type SimulationOptions, runSimulation } from "@concord/sim";
import { createProbeAlgorithm } from "./probe-algorithm.ts";
import { replayOf } from "./helpers.ts";

/** pingSends runs five pinging probe replicas under `faults` until 1.5 s and returns the replica sends the monitor saw. */
function pingSends(faults: FaultInput[], seed = 1): { sends: ReturnType<typeof createProbeAlgorithm>["log"]["sends"]; replay: string } {
  const { algorithm, log } = createProbeAlgorithm({ pingEveryTicks: 1 });
  const options: SimulationOptions = { algorithm, nodes: 5, seed, scenario: { name: "ping-faults", description: "", workload: { ops: 0 }, healAtMs: 1500, faults } };
  runSimulation(options);
  return { sends: log.sends, replay: replayOf(options) };
}

describe("fault timelines", () => {
  test("overlapping pauses of one node last until the last of them ends", () => {
    const { sends, replay } = pingSends([
      { type: "pause", atMs: 200, target: { index: 1 }, durationMs: 300 },
      { type: "pause", atMs: 300, target: { index: 1 }, durationMs: 500 },
    ]);
    const fromPaused = sends.filter((send) => send.from === 2);
    // Paused from 200 ms (first pause) to 800 ms (end of the second), not to 500 ms (end of the first).
    expect(fromPaused.filter((send) => send.timeUs > 200_000 && send.timeUs < 800_000), replay).toEqual([]);
    expect(fromPaused.some((send) => send.timeUs >= 800_000), replay).toBe(true);
  });

  test("a paused node's clock keeps running: on resume it has seen every tick of the pause, before any message (issue 10)", () => {
    const { algorithm, log } = createProbeAlgorithm({ pingEveryTicks: 1 });
    const options: SimulationOptions = {
      algorithm,
      nodes: 3,
      seed: 3,
      scenario: { name: "pause-clock", description: "", workload: { ops: 0 }, healAtMs: 1500, faults: [{ type: "pause", atMs: 200, target: { index: 1 }, durationMs: 300 }] },
    };
    runSimulation(options);
    const ticksSeenBy = (id: number) => Math.max(...log.receipts.filter((receipt) => receipt.from === id && receipt.to === 1).map((receipt) => receipt.sentTick));
    // A 10 ms tick: the node paused for 300 ms has counted as many ticks as one that ran throughout, not 30 fewer.
    expect(Math.abs(ticksSeenBy(2) - ticksSeenBy(3)), replayOf(options)).toBeLessThanOrEqual(1);
    // The missed ticks are seen at once on resume: pings 21 to 50 all leave together.
    const resumedTicks = log.receipts.filter((receipt) => receipt.from === 2 && receipt.to === 1 && receipt.sentTick > 20 && receipt.sentTick <= 50);
    expect(new Set(resumedTicks.map((receipt) => receipt.receivedTick)).size, replayOf(options)).toBeLessThanOrEqual(2);
  });

  test("overlapping slow faults of one node keep it slow until the last ends", () => {
    const { algorithm, log } = createProbeAlgorithm({ pingEveryTicks: 1 });
    const options: SimulationOptions = {
      algorithm,
      nodes: 3,
      seed: 2,
      scenario: {
        name: "slow-overlap",
        description: "",
        workload: { ops: 0 },
        healAtMs: 1500,
        faults: [
          { type: "slow", atMs: 200, target: { index: 1 }, durationMs: 300, extraLatencyMs: 30, cpuFactor: 1 },
          { type: "slow", atMs: 300, target: { index: 1 }, durationMs: 500, extraLatencyMs: 30, cpuFactor: 1 },
        ],
      },
    };
    runSimulation(options);
    // A ping from node 1 to node 2 sent at tick t arrives ~3 ticks later while node 2 is slow (30 ms extra on a 10 ms tick).
    const toSlow = log.receipts.filter((receipt) => receipt.from === 1 && receipt.to === 2);
    const late = toSlow.filter((receipt) => receipt.receivedTick - receipt.sentTick >= 2);
    // Slow from 200 ms to 800 ms: about 60 ticks of pings arrive late, not 30.
    expect(late.length, replayOf(options)).toBeGreaterThan(55);
    expect(late.length, replayOf(options)).toBeLessThan(65);
  });

  test("a crash with no restart lasts until the scenario heals, then the node restarts from its durable state", () => {
    const options: SimulationOptions = {
      algorithm: solo,
      nodes: 1,
      seed: 3,
      scenario: { name: "crash-until-heal", description: "", workload: { ops: 100, spreadMs: 1000 }, healAtMs: 1200, faults: [{ type: "crash", atMs: 300, target: "all" }] },
    };
    const result = runSimulation(options);
    expect(result.faultLog, replayOf(options)).toEqual(["300.000 ms: crash node 1", "1200.000 ms: heal all"]);
    expect(result.ops.completed, replayOf(options)).toBe(result.ops.invoked);
  });

  test("a random fault target depends on the seed only, not on the workload's draws", () => {
    const hit = (ratePerSec: number): readonly string[] => {
      const { algorithm } = createProbeAlgorithm({});
      return runSimulation({
        algorithm,
        nodes: 5,
        seed: 9,
        scenario: {
          name: "random-target",
          description: "",
          workload: { kind: "open", ratePerSec, ops: 400, clients: 4 },
          faults: [
            { type: "pause", atMs: 300, target: "random", durationMs: 10 },
            { type: "pause", atMs: 350, target: "random", durationMs: 10 },
            { type: "pause", atMs: 390, target: "random", durationMs: 10 },
          ],
        },
      }).faultLog.filter((line) => line.includes("pause"));
    };
    expect(hit(1000)).toEqual(hit(2000));
  });
});

describe("chaos", () => {
  test("chaos draws 2 to 8 faults over the fault phase, and within healAtMs when the scenario sets one", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const drawn = runSimulation({ algorithm: solo, nodes: 1, seed, scenario: "chaos", ops: 10 }).scenarioDefinition.faults;
      expect(drawn.length).toBeGreaterThanOrEqual(2);
      expect(drawn.length).toBeLessThanOrEqual(8);
      for (const fault of drawn) expect(fault.atMs).toBeLessThan(3000);
      const bounded = runSimulation({ algorithm: solo, nodes: 1, seed, ops: 10, scenario: { name: "short-chaos", description: "", chaos: true, healAtMs: 400, workload: { spreadMs: 3000 } } });
      for (const fault of bounded.scenarioDefinition.faults) expect(fault.atMs).toBeLessThan(400);
      expect(bounded.healedAtSeconds).toBe(0.4);
    }
  });
});
