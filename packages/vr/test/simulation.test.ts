// Randomized and steady-state tests of VR in the deterministic simulator.
// Every failure names the command that replays it. CONCORD_SEEDS raises the
// chaos seed count (default 200 per cluster size).
import { assert, type ProtocolOptions } from "@concord/core";
import { replayCommand } from "@concord/lab";
import { type SimulationResult, runSimulation, scenarioNames } from "@concord/sim";
import { failuresOf, judgeRun } from "@concord/testkit";
import { vr } from "@concord/vr";
import { describe, expect, test } from "vitest";

const seedCount = Number(process.env["CONCORD_SEEDS"] ?? 200);

interface Run {
  readonly nodes: number;
  readonly scenario: string;
  readonly seed: number;
  readonly ops?: number;
  readonly protocolOptions?: ProtocolOptions;
  readonly cpu?: "none";
}

function replayOf(run: Run): string {
  return replayCommand({
    algo: "vr",
    nodes: run.nodes,
    scenario: run.scenario,
    seed: run.seed,
    ...(run.ops === undefined ? {} : { ops: run.ops }),
    ...(run.protocolOptions === undefined ? {} : { protocolOptions: run.protocolOptions }),
    ...(run.cpu === undefined ? {} : { cpu: run.cpu }),
  });
}

function simulate(run: Run): SimulationResult {
  return runSimulation({ algorithm: vr, ...run });
}

/** sweep judges each run (broken invariants, VR's monitors included; a history that is not linearizable; operations that never ended; no progress after healing) and lists the failures with their replay commands. */
function sweep(runs: readonly Run[]): string[] {
  return failuresOf(runs.map((run) => judgeRun(() => simulate(run), { replay: () => replayOf(run) })));
}

function seeds(count: number, first = 1): number[] {
  return Array.from({ length: count }, (_, i) => first + i);
}

describe("chaos (swarm testing), persisting mode: one op per op-number, one primary per view, applied logs are prefixes, linearizable, live after healing", () => {
  // Two seeds of a 2,000-seed swarm whose new replicas each held one op they had never applied and fetched one op at a
  // time (stateTransferOpsMax = 1): asked from the op after the last held, they got that op back and never moved
  // on, and the new group changed view for ever. A transitioning replica now takes committed ops from its applied point.
  test("a new replica holding an op it never applied, fetching one op at a time, still reaches its epoch's start (seeds 1109 and 919)", () => {
    const options = { stateTransferOpsMax: 1, retransmitTicks: 20, viewChangeTimeoutTicks: 12, durability: "persist" };
    const runs: Run[] = [
      { nodes: 3, scenario: "chaos", seed: 1109, protocolOptions: { ...options, batchCommandsMax: 1, checkpointEveryOps: 565, clientRetryTicks: 20, clockDriftBoundPercent: 40, commitTicks: 11, leaseTicks: 0, windowOps: 62 } },
      { nodes: 5, scenario: "chaos", seed: 919, protocolOptions: { ...options, batchCommandsMax: 31, checkpointEveryOps: 1000, clientRetryTicks: 15, clockDriftBoundPercent: 0, commitTicks: 1, leaseTicks: 3, retransmitTicks: 12, windowOps: 55 } },
    ];
    expect(sweep(runs)).toEqual([]);
  });

  for (const nodes of [3, 5]) {
    test(`${seedCount} seeds of chaos on ${nodes} nodes`, () => {
      expect(sweep(seeds(seedCount).map((seed) => ({ nodes, scenario: "chaos", seed })))).toEqual([]);
    });
  }

  const variants: [string, ProtocolOptions][] = [
    ["a checkpoint every 2 ops and state transfers of 1 op", { checkpointEveryOps: 2, stateTransferOpsMax: 1 }],
    ["a pipeline of one op of one request, and hair-trigger view changes", { windowOps: 1, batchCommandsMax: 1, commitTicks: 1, viewChangeTimeoutTicks: 2 }],
    ["primary leases and lease reads", { leaseTicks: 10, clockDriftBoundPercent: 10 }],
  ];
  const variantSeeds = Math.max(25, Math.floor(seedCount / 8));
  for (const [name, protocolOptions] of variants) {
    test(`chaos with ${name}, ${variantSeeds} seeds each on 3 and 5 nodes`, () => {
      const runs = [3, 5].flatMap((nodes) => seeds(variantSeeds, 2001).map((seed) => ({ nodes, scenario: "chaos", seed, protocolOptions })));
      expect(sweep(runs)).toEqual([]);
    });
  }
});

describe("built-in scenarios", () => {
  for (const scenario of scenarioNames) {
    test(`${scenario} runs on 3 and 5 nodes with no broken invariant and a linearizable history`, () => {
      const runs = [3, 5].flatMap((nodes) => seeds(5).map((seed) => ({ nodes, scenario, seed })));
      expect(sweep(runs)).toEqual([]);
    });
  }

  test("crash-restart in the persisting mode loses no acknowledged write: final reads see every write acknowledged before the crash", () => {
    const runs = [3, 5].flatMap((nodes) => seeds(20, 101).map((seed) => ({ nodes, scenario: "crash-restart", seed })));
    expect(sweep(runs)).toEqual([]);
    const result = simulate({ nodes: 3, scenario: "crash-restart", seed: 101 });
    const { warmupMs, faults } = result.scenarioDefinition;
    const crash = faults[0];
    assert(crash?.type === "crash" && crash.restartAfterMs !== undefined, "crash-restart crashes and restarts the nodes");
    const crashUs = (warmupMs + crash.atMs) * 1000;
    const acknowledgedBefore = result.history.filter((op) => op.status === "ok" && op.input.type !== "get" && (op.completeUs ?? Infinity) < crashUs);
    expect(acknowledgedBefore.length).toBeGreaterThan(10);
  });

  test("a lost primary is replaced: leader-crash and partition each change the view and finish every operation", () => {
    for (const scenario of ["leader-crash", "partition"]) {
      const result = simulate({ nodes: 3, scenario, seed: 3 });
      expect(result.leaderChanges, scenario).toBeGreaterThanOrEqual(1);
      expect(result.ops.completed, scenario).toBe(result.ops.invoked);
    }
  });
});

describe("steady state (§4.1)", () => {
  test("with leases on, a read takes two one-way delays and no op; writes still take four", () => {
    const nodes = 3;
    const result = simulate({ nodes, scenario: "steady", seed: 1, protocolOptions: { leaseTicks: 10, batchCommandsMax: 1 } });
    const median = (values: number[]): number => values.sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
    const latencyMs = (reads: boolean): number =>
      median(result.history.filter((op) => op.status === "ok" && (op.input.type === "get") === reads && op.completeUs !== undefined).map((op) => ((op.completeUs as number) - op.invokeUs) / 1000));
    expect(latencyMs(true)).toBeCloseTo(2, 1);
    expect(latencyMs(false)).toBeCloseTo(4, 1);
    const writes = result.history.filter((op) => op.input.type !== "get").length;
    expect(result.messages.byType["prepare"]).toBe((nodes - 1) * writes);
    expect(judgeRun(result).problems).toEqual([]);
  });

  for (const nodes of [3, 5]) {
    test(`on ${nodes} nodes the median latency is the link model's 4 one-way delays, within 10%`, () => {
      const result = simulate({ nodes, scenario: "steady", seed: 1 });
      const { link, disk } = result.scenarioDefinition;
      assert(link.latency.kind === "constant" && link.jitterMs === 0, "steady links have a constant latency");
      expect(disk.syncMs).toBe(0);
      const predictedMs = vr.oneWayDelaysPerOp * link.latency.ms;
      expect(Math.abs(result.latencyMs.p50 - predictedMs)).toBeLessThanOrEqual(predictedMs * 0.1);
      expect(judgeRun(result).problems).toEqual([]);
    });

    test(`on ${nodes} nodes the messages per operation stay at or under the analytic 2(n-1) + 2`, () => {
      // With the CPU off the four clients run in lockstep and their requests share ops. (Under the default, calibrated
      // model the primary steps the first of two simultaneous requests alone, and from then on each arrives alone.)
      const result = simulate({ nodes, scenario: "steady", seed: 1, cpu: "none" });
      expect(judgeRun(result).problems).toEqual([]);
      expect(result.messages.perOp).toBeLessThanOrEqual(vr.analyticMessagesPerOp(nodes, 1));
      // Batching shows: fewer ops (one Prepare per backup each) than committed requests.
      const completed = result.ops.completed + result.finalReads.completed;
      const ops = (result.messages.byType["prepare"] ?? 0) / (nodes - 1);
      expect(ops).toBeLessThan(completed * 0.75);
    });

    test(`on ${nodes} nodes with one request per op each further operation costs exactly the analytic 2(n-1) + 2 messages`, () => {
      const small = simulate({ nodes, scenario: "steady", seed: 1, ops: 200, protocolOptions: { batchCommandsMax: 1 } });
      const large = simulate({ nodes, scenario: "steady", seed: 1, ops: 400, protocolOptions: { batchCommandsMax: 1 } });
      const marginal = (large.messages.total - small.messages.total) / (large.ops.completed - small.ops.completed);
      expect(marginal).toBe(vr.analyticMessagesPerOp(nodes, 1));
      // No Commit while Prepares flow, and no view change or state transfer traffic.
      for (const type of ["commit", "startViewChange", "doViewChange", "startView", "getState", "newState", "recovery"]) expect(large.messages.byType[type] ?? 0, type).toBe(0);
    });
  }

  test("memory mode writes nothing on the normal path, so a write's latency does not include the disk's sync", () => {
    const slowDisk = { name: "steady-slow-disk", description: "steady, with 5 ms syncs", warmupMs: 500, disk: { syncMs: 5 } };
    const persisting = runSimulation({ algorithm: vr, nodes: 3, scenario: slowDisk, seed: 1 });
    const memory = runSimulation({ algorithm: vr, nodes: 3, scenario: slowDisk, seed: 1, protocolOptions: { durability: "memory" } });
    expect(judgeRun(persisting).problems).toEqual([]);
    expect(judgeRun(memory).problems).toEqual([]);
    // Persisting, a write waits for the primary's and a backup's syncs (in parallel): about 4 delays plus 5 ms.
    expect(persisting.latencyMs.p50).toBeGreaterThanOrEqual(memory.latencyMs.p50 + 4);
    expect(memory.latencyMs.p50).toBeLessThanOrEqual(vr.oneWayDelaysPerOp * 1.1);
  });
});
