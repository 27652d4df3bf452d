// Crashes timed by a replica's own progress (path-crashes.ts, issue 21): the
// draw's shape, and the fault acting on the probe algorithm with a path
// counter of its own (a replica handed a ping walks "ping-heard").
import { describe, expect, it } from "vitest";
import { type AlgorithmDefinition, type ChaosFaultHints, type PathCounter, createRng, deriveSeed } from "@concord/core";
import { type FaultInput, type SimulationOptions, drawChaosPathCrash, runSimulation } from "@concord/sim";
import { type ProbeMessage, createProbeAlgorithm } from "./probe-algorithm.ts";
import { replayOf } from "./helpers.ts";

const phaseMs = 3000;
const hints: ChaosFaultHints = { crashPaths: ["a-path", "another-path"] };

/** probeWithPaths is the pinging probe whose path counter counts "ping-heard" for every ping a replica is handed, and never "never-walked". */
function probeWithPaths(): ReturnType<typeof createProbeAlgorithm> {
  const probe = createProbeAlgorithm({ pingEveryTicks: 1 });
  const algorithm: AlgorithmDefinition<ProbeMessage> = {
    ...probe.algorithm,
    hardPaths: [
      { name: "ping-heard", description: "a replica was handed a ping" },
      { name: "never-walked", description: "nothing counts it" },
    ],
    createPathCounter: (): PathCounter<ProbeMessage> => {
      const counts = new Map([
        ["ping-heard", 0],
        ["never-walked", 0],
      ]);
      return {
        observeDeliver: (_replica, _from, message) => {
          if (message.type === "ping") counts.set("ping-heard", (counts.get("ping-heard") ?? 0) + 1);
        },
        counts: () => counts,
      };
    },
  };
  return { algorithm, log: probe.log };
}

function run(faults: FaultInput[]): { options: SimulationOptions; result: ReturnType<typeof runSimulation>; log: ReturnType<typeof createProbeAlgorithm>["log"] } {
  const { algorithm, log } = probeWithPaths();
  const options: SimulationOptions = { algorithm, nodes: 3, seed: 1, scenario: { name: "path-crash", description: "", workload: { ops: 0 }, healAtMs: 1500, faults } };
  return { options, result: runSimulation(options), log };
}

/** atMs reads the time stamp of the first fault-log line that contains `text`. */
function atMs(lines: readonly string[], text: string): number {
  const line = lines.find((candidate) => candidate.includes(text));
  if (line === undefined) throw new Error(`no fault-log line contains "${text}":\n${lines.join("\n")}`);
  return Number.parseFloat(line);
}

describe("crashes timed by a walk of a hard path", () => {
  it("are drawn in about one run of two for an algorithm that names crash paths, never without, up to f+1 replicas, inside the phase", () => {
    const paths = new Set<string>();
    let drawn = 0;
    for (let seed = 1; seed <= 400; seed++) {
      expect(drawChaosPathCrash(createRng(deriveSeed(seed, "chaos-path-crashes")), phaseMs, 1, undefined)).toEqual([]);
      expect(drawChaosPathCrash(createRng(deriveSeed(seed, "chaos-path-crashes")), phaseMs, 1, {})).toEqual([]);
      const faults = drawChaosPathCrash(createRng(deriveSeed(seed, "chaos-path-crashes")), phaseMs, 2, hints);
      if (faults.length === 0) continue;
      drawn++;
      expect(faults).toHaveLength(1);
      const fault = faults[0];
      if (fault?.type !== "path-crash") throw new Error(`a path crash (got ${JSON.stringify(fault)})`);
      paths.add(fault.path);
      expect(fault.target).toBe("all");
      expect(fault.count).toBe(3);
      expect(fault.atMs).toBeLessThan(phaseMs / 4);
      expect(fault.atMs + fault.windowMs).toBe(phaseMs);
      expect(fault.afterPathMs).toBeGreaterThanOrEqual(2);
      expect(fault.afterPathMs).toBeLessThanOrEqual(100);
      expect(fault.restartAfterMs).toBeGreaterThanOrEqual(10);
      expect(fault.restartAfterMs).toBeLessThanOrEqual(200);
    }
    expect(drawn).toBeGreaterThan(160);
    expect(drawn).toBeLessThan(240);
    expect([...paths].sort()).toEqual(["a-path", "another-path"]);
  });

  it("crash the watched replica afterPathMs after it walked the path, once, and restart it restartAfterMs later", () => {
    const { options, result, log } = run([{ type: "path-crash", atMs: 200, path: "ping-heard", target: { index: 1 }, afterPathMs: 20, restartAfterMs: 100, windowMs: 500 }]);
    const lines = result.faultLog;
    const replay = `${replayOf(options)}\n${lines.join("\n")}`;
    // Armed 500 ms into the run (the warm-up), node 2 is handed a ping within a tick and crashes 20 ms later.
    const walkedMs = atMs(lines, "path-crash: node 2 walked ping-heard; it crashes in 20 ms");
    expect(walkedMs, replay).toBeGreaterThanOrEqual(200);
    expect(walkedMs, replay).toBeLessThan(215);
    const crashMs = atMs(lines, "crash node 2");
    expect(crashMs - walkedMs, replay).toBeCloseTo(20, 6);
    expect(atMs(lines, "end crash node 2") - crashMs, replay).toBeCloseTo(100, 6);
    // Once: the replica walks the path again after its restart, and is not crashed again.
    expect(lines.filter((line) => line.includes("walked")), replay).toHaveLength(1);
    expect(lines.filter((line) => /: crash node/.test(line)), replay).toHaveLength(1);
    expect(result.ineffectiveFaults, replay).toEqual([]);
    // Down for those 100 ms: node 2 sends nothing between its crash and its restart, and sends again after.
    const fromTwo = log.sends.filter((send) => send.from === 2);
    expect(fromTwo.filter((send) => send.timeUs > crashMs * 1000 && send.timeUs < (crashMs + 100) * 1000), replay).toEqual([]);
    expect(fromTwo.some((send) => send.timeUs > (crashMs + 100) * 1000), replay).toBe(true);
  });

  it("crash up to `count` replicas, each the first time it walks the path", () => {
    const { options, result } = run([{ type: "path-crash", atMs: 200, path: "ping-heard", count: 2, afterPathMs: 30, restartAfterMs: 50, windowMs: 500 }]);
    const lines = result.faultLog;
    const crashed = lines.flatMap((line) => /: crash node (\d+)$/.exec(line)?.[1] ?? []);
    expect(crashed, `${replayOf(options)}\n${lines.join("\n")}`).toHaveLength(2);
    expect(new Set(crashed).size).toBe(2);
  });

  it("are listed as without effect when no watched replica walks the path in their window", () => {
    const { result } = run([{ type: "path-crash", atMs: 200, path: "never-walked", afterPathMs: 20, restartAfterMs: 100, windowMs: 500 }]);
    expect(result.faultLog.filter((line) => /: crash node/.test(line))).toEqual([]);
    expect(result.ineffectiveFaults).toHaveLength(1);
    expect(result.ineffectiveFaults[0]).toContain("no replica it watches walked never-walked within its window");
  });

  it("are listed as without effect when the replica that walked the path is down when its crash comes after the window", () => {
    const { options, result } = run([
      { type: "path-crash", atMs: 200, path: "ping-heard", target: { index: 1 }, afterPathMs: 50, restartAfterMs: 100, windowMs: 20 },
      { type: "crash", atMs: 230, target: { index: 1 }, restartAfterMs: 100 },
    ]);
    const lines = result.faultLog;
    const replay = `${replayOf(options)}\n${lines.join("\n")}`;
    expect(lines.filter((line) => line.includes("path-crash: node 2 went down before its crash")), replay).toHaveLength(1);
    expect(lines.filter((line) => /: crash node/.test(line)), replay).toHaveLength(1);
    expect(result.ineffectiveFaults, replay).toHaveLength(1);
    expect(result.ineffectiveFaults[0], replay).toContain("the replicas that walked ping-heard were down, or past the crash bound, when their crash came");
  });

  it("refuse a path the algorithm does not count, naming its paths", () => {
    expect(() => run([{ type: "path-crash", atMs: 200, path: "no-such-path", restartAfterMs: 100, windowMs: 500 }])).toThrow(
      /scenario\.faults\.0\.path: must name one of probe's hard paths \(ping-heard, never-walked\) \(got "no-such-path"\)/,
    );
  });
});
