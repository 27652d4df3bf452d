// Crashes that outlast the heal (`outlastsHeal`, issue 21): the replica stays
// down to the end of the run, and the run refuses more of them (with its liars)
// than the algorithm tolerates, since its liveness judgement counts them.
import { describe, expect, test } from "vitest";
import { ConfigError } from "@concord/core";
import { type FaultInput, type SimulationOptions, runSimulation } from "@concord/sim";
import { createProbeAlgorithm } from "./probe-algorithm.ts";
import { replayOf } from "./helpers.ts";

/** pingRun runs five pinging probe replicas (the primary, 1, serving a workload until about 1.5 s) under `faults`, healed at 600 ms. */
function pingRun(faults: FaultInput[], tolerated?: number): { options: SimulationOptions; run: () => ReturnType<typeof runAndLog> } {
  const { algorithm, log } = createProbeAlgorithm({ pingEveryTicks: 1 });
  const options: SimulationOptions = {
    algorithm: tolerated === undefined ? algorithm : { ...algorithm, faultsTolerated: () => tolerated },
    nodes: 5,
    seed: 4,
    scenario: { name: "lasting-crash", description: "", workload: { ops: 40, spreadMs: 1500 }, healAtMs: 600, faults },
  };
  return { options, run: () => runAndLog(options, log) };
}

function runAndLog(options: SimulationOptions, log: ReturnType<typeof createProbeAlgorithm>["log"]): { result: ReturnType<typeof runSimulation>; sends: typeof log.sends } {
  return { result: runSimulation(options), sends: log.sends };
}

describe("crashes that outlast the heal", () => {
  test("a crash for good keeps its replica down through the heal to the end of the run; a crash without a restart ends at the heal", () => {
    const { options, run } = pingRun([
      { type: "crash", atMs: 200, target: { index: 2 }, outlastsHeal: true },
      { type: "crash", atMs: 200, target: { index: 3 } },
    ]);
    const { result, sends } = run();
    const replay = replayOf(options);
    const from = (id: number, afterUs: number): number => sends.filter((send) => send.from === id && send.timeUs > afterUs).length;
    // Node 3 crashed for good at 200 ms: it sends nothing after, though the run goes on well past the heal at 600 ms.
    expect(from(3, 200_000), replay).toBe(0);
    expect(from(4, 600_000), replay).toBeGreaterThan(0);
    expect(result.virtualSeconds, replay).toBeGreaterThan(1);
    expect(result.faultLog, replay).toContain("600.000 ms: still down (crashed for good) node 3");
    expect(result.faultLog.filter((line) => line.includes("crash (outlasts the heal) node 3")), replay).toHaveLength(1);
    expect(result.ops.completed, replay).toBe(result.ops.invoked);
    // Its fault window stays open (the replica was never lifted); the other crash's closes at the heal.
    const windows = result.faults.filter((window) => window.kind === "crash");
    expect(windows.map((window) => window.nodes), replay).toEqual([[3], [4]]);
    expect(windows[0]?.untilMs, replay).toBeNaN();
    expect(windows[1]?.untilMs, replay).toBe(600);
  });

  test("a crash for good acts on a replica another fault has down for now: it does not come back when that fault ends", () => {
    const { options, run } = pingRun([
      { type: "crash", atMs: 100, target: { index: 2 }, restartAfterMs: 200 },
      { type: "crash", atMs: 200, target: { index: 2 }, outlastsHeal: true },
    ]);
    const { result, sends } = run();
    expect(sends.filter((send) => send.from === 3 && send.timeUs > 100_000), replayOf(options)).toEqual([]);
    expect(result.ineffectiveFaults, replayOf(options)).toEqual([]);
  });

  test("more crashes for good than the algorithm tolerates (with its liars), one on every replica, or one that restarts, are refused", () => {
    const twice: FaultInput[] = [
      { type: "crash", atMs: 100, target: { index: 2 }, outlastsHeal: true },
      { type: "crash", atMs: 100, target: { index: 3 }, outlastsHeal: true },
    ];
    expect(() => pingRun(twice, 1).run()).toThrow(ConfigError);
    expect(() => pingRun(twice, 1).run()).toThrow("2 crash(es) that outlast the heal and 0 Byzantine replica(s) exceed the 1 faulty replica(s)");
    expect(() => pingRun(twice, 2).run()).not.toThrow();
    expect(() => pingRun([{ type: "crash", atMs: 100, target: "all", outlastsHeal: true }]).run()).toThrow(/crashes one replica, not "all"/);
    expect(() => pingRun([{ type: "crash", atMs: 100, target: { index: 2 }, restartAfterMs: 50, outlastsHeal: true }]).run()).toThrow(/never restarts \(got 50\)/);
    const { algorithm } = createProbeAlgorithm({ pingEveryTicks: 1 });
    const withLiar: SimulationOptions = {
      algorithm: { ...algorithm, faultsTolerated: () => 1 },
      nodes: 5,
      seed: 1,
      byzantineNodes: [5],
      byzantineStrategy: "silent",
      scenario: { name: "lasting-crash", description: "", workload: { ops: 0 }, healAtMs: 600, faults: [twice[0] as FaultInput] },
    };
    expect(() => runSimulation(withLiar)).toThrow("1 crash(es) that outlast the heal and 1 Byzantine replica(s) exceed the 1 faulty replica(s)");
  });
});
