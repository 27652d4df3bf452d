import { describe, expect, test } from "vitest";
import { type ScenarioInput, type SimulationOptions, runSimulation } from "@concord/sim";
import { handoverAlgorithm } from "./handover-algorithm.ts";
import { replayOf } from "./helpers.ts";

const quiet: ScenarioInput = { name: "handover", description: "No workload; the run lasts until the heal at 1 s.", tickMs: 1, disk: { syncMs: 0 }, workload: { ops: 0 }, healAtMs: 1000 };

describe("leaderChanges", () => {
  test("counts a change of leader and epoch", () => {
    const options: SimulationOptions = { algorithm: handoverAlgorithm().algorithm, nodes: 3, scenario: quiet, seed: 1 };
    expect(runSimulation(options).leaderChanges, replayOf(options)).toBe(1);
  });

  test("counts a change away from a faulty leader too (a view its silent primary led, then lost)", () => {
    const options: SimulationOptions = { algorithm: handoverAlgorithm().algorithm, nodes: 3, scenario: quiet, seed: 1, byzantineNodes: [1], byzantineStrategy: "silent" };
    const result = runSimulation(options);
    expect(result.byzantineNodes, replayOf(options)).toEqual([1]);
    expect(result.leaderChanges, replayOf(options)).toBe(1);
  });
});
