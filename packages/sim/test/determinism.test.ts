import { describe, expect, test } from "vitest";
import { solo } from "@concord/core";
import { type SimulationOptions, runSimulation } from "@concord/sim";
import { createProbeAlgorithm } from "./probe-algorithm.ts";
import { replayOf } from "./helpers.ts";

describe("determinism", () => {
  test.each(["steady", "lossy", "crash-restart", "chaos", "partition", "slow-node"])("solo under %s: the same options give deep-equal results, history included", (scenario) => {
    const options: SimulationOptions = { algorithm: solo, nodes: 1, scenario, seed: 42 };
    const first = runSimulation(options);
    const second = runSimulation(options);
    expect(second, replayOf(options)).toEqual(first);
    expect(first.history.length).toBeGreaterThan(200);
  });

  test.each([1, 2, 3])("three probe replicas under chaos: the same seed replays the same run, fault log and history (seed %i)", (seed) => {
    const run = (): ReturnType<typeof runSimulation> => {
      const { algorithm } = createProbeAlgorithm({ pingEveryTicks: 5 });
      return runSimulation({ algorithm, nodes: 3, scenario: "chaos", seed });
    };
    const first = run();
    expect(run()).toEqual(first);
    expect(first.faultLog.length).toBeGreaterThan(0);
  });

  test("a different seed gives a different chaos run: another fault timeline and another history", () => {
    const results = [1, 2, 3, 4].map((seed) => runSimulation({ algorithm: solo, nodes: 1, scenario: "chaos", seed }));
    for (let i = 0; i < results.length; i++) {
      for (let j = i + 1; j < results.length; j++) {
        expect(results[i]?.history).not.toEqual(results[j]?.history);
        expect(results[i]?.scenarioDefinition.faults).not.toEqual(results[j]?.scenarioDefinition.faults);
      }
    }
  });

  test("a different seed gives a different history under a fixed scenario too (the workload draws from the seed)", () => {
    const a = runSimulation({ algorithm: solo, nodes: 1, scenario: "steady", seed: 1 });
    const b = runSimulation({ algorithm: solo, nodes: 1, scenario: "steady", seed: 2 });
    expect(a.history.map((op) => op.input)).not.toEqual(b.history.map((op) => op.input));
  });

  test("the simulator uses no ambient randomness or clock: Math.random and Date.now are never called", () => {
    const random = Math.random;
    const now = Date.now;
    Math.random = () => {
      throw new Error("Math.random called");
    };
    Date.now = () => {
      throw new Error("Date.now called");
    };
    try {
      const { algorithm } = createProbeAlgorithm({ pingEveryTicks: 3 });
      expect(() => runSimulation({ algorithm, nodes: 3, scenario: "chaos", seed: 8 })).not.toThrow();
    } finally {
      Math.random = random;
      Date.now = now;
    }
  });
});
