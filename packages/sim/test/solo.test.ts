import { describe, expect, test } from "vitest";
import { ConfigError, solo } from "@concord/core";
import { type SimulationOptions, builtInScenarios, resolveScenario, runSimulation, scenarioNames, scenarioSchema } from "@concord/sim";
import { expectGuaranteesKept, mean, okLatenciesUs, replayOf } from "./helpers.ts";

describe("solo through runSimulation", () => {
  test.each([1, 2, 3])("under steady it completes every operation it invokes, each in exactly 2 x the 1 ms link latency (seed %i)", (seed) => {
    // The CPU left out (the default, calibrated model adds its microseconds): the latency is the links' alone.
    const options: SimulationOptions = { algorithm: solo, nodes: 1, scenario: "steady", seed, ops: 1000, clients: 8, cpu: "none" };
    const result = runSimulation(options);
    const replay = replayOf(options);
    // The workload's operations only: the final reads of the 8 keys are counted apart.
    expect(result.ops, replay).toEqual({ invoked: 1000, completed: 1000, failed: 0, indeterminate: 0 });
    expect(result.finalReads, replay).toEqual({ invoked: 8, completed: 8 });
    expect(result.latencyMs, replay).toEqual({ p50: 2, p95: 2, p99: 2, max: 2 });
    expect(new Set(okLatenciesUs(result)), replay).toEqual(new Set([2000]));
    expectGuaranteesKept(result, options, "completed");
    // One request and one reply per operation, final reads included; nothing else.
    expect(result.messages.total, replay).toBe(2 * (result.ops.completed + result.finalReads.completed));
    expect(result.messages.perOp, replay).toBe(solo.analyticMessagesPerOp(1, 1));
  });

  test("latency follows the link model: 2 x a 3 ms constant latency is 6 ms", () => {
    const options: SimulationOptions = {
      algorithm: solo,
      nodes: 1,
      seed: 4,
      scenario: { name: "steady-3ms", description: "3 ms links.", cpu: "none", disk: { syncMs: 0 }, link: { latency: { kind: "constant", ms: 3 } } },
    };
    expect(runSimulation(options).latencyMs, replayOf(options)).toEqual({ p50: 6, p95: 6, p99: 6, max: 6 });
  });

  test("with uniform [1, 3] ms links the mean latency is 2 x 2 ms, within 60 us (~5 standard errors over 3,000 operations)", () => {
    const options: SimulationOptions = {
      algorithm: solo,
      nodes: 1,
      seed: 5,
      scenario: { name: "steady-uniform", description: "Uniform 1-3 ms links.", disk: { syncMs: 0 }, link: { latency: { kind: "uniform", msMin: 1, msMax: 3 } }, workload: { ops: 3000 } },
    };
    const result = runSimulation(options);
    const latencies = okLatenciesUs(result);
    expect(result.ops.completed, replayOf(options)).toBe(result.ops.invoked);
    // Each leg is uniform on [1000, 3000] us (sd 577 us); two legs: sd 816 us; over ~3,000 ops the standard error is 15 us.
    expect(Math.abs(mean(latencies) - 4000), replayOf(options)).toBeLessThan(60);
    expect(Math.min(...latencies)).toBeGreaterThanOrEqual(2000);
    expect(Math.max(...latencies)).toBeLessThanOrEqual(6000);
  });

  test("a 1 ms sync adds exactly 1 ms to every write and nothing to reads", () => {
    const options: SimulationOptions = {
      algorithm: solo,
      nodes: 1,
      seed: 6,
      scenario: { name: "steady-sync", description: "1 ms syncs.", cpu: "none", disk: { syncMs: 1, tearPercent: 0 }, workload: { ops: 500, clients: 1 } },
    };
    const result = runSimulation(options);
    for (const op of result.history) {
      const latencyUs = (op.completeUs as number) - op.invokeUs;
      expect(latencyUs, `${op.input.type}: ${replayOf(options)}`).toBe(op.input.type === "get" ? 2000 : 3000);
    }
  });
});

describe("scenarios", () => {
  test("every built-in scenario validates against the scenario schema", () => {
    expect(scenarioNames).toEqual(["steady", "leader-crash", "partition", "lossy", "slow-node", "crash-restart", "byzantine", "chaos"]);
    for (const scenario of builtInScenarios) expect(() => scenarioSchema.parse(scenario), scenario.name).not.toThrow();
  });

  test.each(scenarioNames.filter((name) => name !== "byzantine"))("solo runs %s to the end: every operation completes and no invariant breaks", (scenario) => {
    const options: SimulationOptions = { algorithm: solo, nodes: 1, scenario, seed: 3 };
    const result = runSimulation(options);
    const replay = replayOf(options);
    expect(result.scenario).toBe(scenario);
    expectGuaranteesKept(result, options, "completed");
    expect(result.ops.invoked, replay).toBeGreaterThanOrEqual(200);
  });

  test("solo under byzantine runs, with its only replica faulty, and reports the lost liveness (solo tolerates no fault)", () => {
    const options: SimulationOptions = { algorithm: solo, nodes: 1, scenario: "byzantine", seed: 3 };
    const result = runSimulation(options);
    expect(result.byzantineNodes).toEqual([1]);
    expect(result.byzantineStrategy).toBe("silent");
    expect(result.ops.completed).toBe(0);
    expect(result.invariantViolations.map((violation) => violation.invariant)).toEqual(["liveness"]);
  });

  test("the fault phases of built-in scenarios fire at their scheduled times, after the 500 ms warm-up", () => {
    const log = (scenario: string): readonly string[] => runSimulation({ algorithm: solo, nodes: 1, scenario, seed: 1 }).faultLog;
    // leader-crash arms its crash at 1000 ms; it strikes within the next 200 ms, once the leader holds unsynced writes.
    const leaderCrash = log("leader-crash");
    expect(leaderCrash[0]).toBe("1000.000 ms: crash armed (while-unsynced) node 1");
    const struck = Number.parseFloat(leaderCrash[1] ?? "");
    expect(leaderCrash[1]).toMatch(/crash \(while-unsynced, node 1 holding \d+ unsynced record\(s\)\) node 1$/);
    expect(struck).toBeGreaterThanOrEqual(1000);
    expect(struck).toBeLessThanOrEqual(1200);
    const restarted = Number.parseFloat(leaderCrash.find((line) => line.includes("end crash")) ?? "");
    expect(restarted - struck).toBeGreaterThanOrEqual(10);
    expect(restarted - struck).toBeLessThanOrEqual(1000);
    expect(log("partition")).toEqual(expect.arrayContaining(["1000.000 ms: partition (clients: split) node 1", "2500.000 ms: end partition node 1"]));
  });

  test("the workload starts after the warm-up, so the first operation is invoked at warmupMs", () => {
    const result = runSimulation({ algorithm: solo, nodes: 1, scenario: "steady", seed: 1, ops: 5 });
    expect(result.scenarioDefinition.warmupMs).toBe(500);
    expect(Math.min(...result.history.map((operation) => operation.invokeUs))).toBe(500_000);
  });

  test("a malformed scenario object gives a ConfigError naming the field and the value", () => {
    const attempt = (scenario: unknown): unknown => runSimulation({ algorithm: solo, nodes: 1, seed: 1, scenario: scenario as never });
    const cases: [unknown, string, RegExp][] = [
      [{ name: "bad", description: "", workload: { ops: -5 } }, "scenario.workload.ops", /-5/],
      [{ name: "bad", description: "", link: { dropPercent: 150 } }, "scenario.link.dropPercent", /150/],
      [{ name: "bad", description: "", link: { latency: { kind: "gaussian", ms: 1 } } }, "scenario.link.latency.kind", /gaussian/],
      [{ name: "bad", description: "", tickMs: "fast" }, "scenario.tickMs", /fast/],
      [{ name: "bad", description: "", faults: [{ type: "crash", atMs: 1, target: "everyone" }] }, "scenario.faults.0.target", /everyone/],
      [{ name: "bad", description: "", colour: "blue" }, "scenario", /colour/],
      [{ name: "bad", description: "", healAtMs: 1000, faults: [{ type: "pause", atMs: 1500, target: "all", durationMs: 10 }] }, "scenario.faults.0.atMs", /1500/],
    ];
    for (const [scenario, field, value] of cases) {
      let error: unknown;
      try {
        attempt(scenario);
      } catch (caught) {
        error = caught;
      }
      expect(error, field).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).field, field).toBe(field);
      expect((error as ConfigError).message, field).toMatch(value);
    }
  });

  test("an unknown scenario name gives a ConfigError listing the allowed names", () => {
    expect(() => resolveScenario("sunny")).toThrow(ConfigError);
    expect(() => resolveScenario("sunny")).toThrow(`unknown scenario "sunny"; allowed: ${scenarioNames.join(", ")}`);
  });

  test("bad run options give a ConfigError naming the option", () => {
    const attempt = (options: Partial<SimulationOptions>): unknown => runSimulation({ algorithm: solo, nodes: 1, seed: 1, scenario: "steady", ...options });
    expect(() => attempt({ nodes: 3 })).toThrow(/^nodes: solo runs on exactly 1 node, not 3/);
    expect(() => attempt({ seed: -1 })).toThrow(/^seed: .*-1/);
    expect(() => attempt({ ops: 1.5 })).toThrow(/^ops: .*1\.5/);
    expect(() => attempt({ ops: 20_000_000 })).toThrow(/^ops: .*20000000/);
    expect(() => attempt({ clients: 0 })).toThrow(/^clients: .*0/);
    expect(() => attempt({ clients: 1_000_000 })).toThrow(/^clients: .*1000000/);
    expect(() => attempt({ byzantineNodes: [4] })).toThrow(/^byzantineNodes: node 4 is not a replica/);
  });
});

describe("open-loop latency", () => {
  test("counts the time an arrival waits for a free client, so overload shows in latency", () => {
    // One client turns around a request every 2 ms (500/s); arrivals come at 2000/s, so a queue builds.
    const result = runSimulation({
      algorithm: solo,
      nodes: 1,
      seed: 3,
      scenario: { name: "overload", description: "open loop above capacity", cpu: "none" as const, disk: { syncMs: 0 }, workload: { kind: "open", clients: 1, ops: 100, ratePerSec: 2000, finalReads: false } },
    });
    expect(result.ops.completed).toBe(100);
    expect(result.latencyMs.p50).toBeGreaterThan(10);
    expect(result.latencyMs.max).toBeGreaterThan(50);
    // Each operation still spends exactly 2 ms between its invocation and its completion.
    for (const operation of result.history) expect((operation.completeUs as number) - operation.invokeUs).toBe(2000);
  });
});
