// Randomized and steady-state tests in the deterministic simulator. Every
// failure names its seed and the command that replays it.
import { type ProtocolOptions, assert } from "@concord/core";
import { multipaxos } from "@concord/multipaxos";
import { OneValuePerSlotMonitor } from "@concord/multipaxos/internals";
import { replayCommand } from "@concord/lab";
import { type SimulationResult, runSimulation, scenarioNames } from "@concord/sim";
import { failuresOf, judgeRun } from "@concord/testkit";
import { describe, expect, test } from "vitest";

/** seedCount is 200 in the regular run; CONCORD_SEEDS=2000 runs more. */
const seedCount = Number(process.env["CONCORD_SEEDS"] ?? 200);

interface Run {
  readonly nodes: number;
  readonly scenario: string;
  readonly seed: number;
  readonly ops?: number;
  readonly protocolOptions?: ProtocolOptions;
  readonly cpu?: "none";
}

function simulate(run: Run): SimulationResult {
  return runSimulation({ algorithm: multipaxos, ...run });
}

/** sweep judges each run (broken invariants, the one-value-per-slot oracle included; a history that is not linearizable; operations that never ended) and lists the failures, each with the command that replays it. */
function sweep(runs: readonly Run[]): string[] {
  return failuresOf(
    runs.map((run) =>
      judgeRun(simulate(run), {
        check: { budgetMs: 20_000 },
        replay: () =>
          replayCommand({
            algo: "multipaxos",
            nodes: run.nodes,
            scenario: run.scenario,
            seed: run.seed,
            ...(run.ops === undefined ? {} : { ops: run.ops }),
            ...(run.protocolOptions === undefined ? {} : { protocolOptions: run.protocolOptions }),
          }),
      }),
    ),
  );
}

function seeds(count: number, first = 1): number[] {
  return Array.from({ length: count }, (_, i) => first + i);
}

describe("chaos (swarm testing): at most one value chosen per slot, applied logs are prefixes, histories linearizable, progress after healing", () => {
  for (const nodes of [3, 5]) {
    test(`${seedCount} seeds of chaos on ${nodes} nodes`, () => {
      const failures = sweep(seeds(seedCount).map((seed) => ({ nodes, scenario: "chaos", seed })));
      expect(failures).toEqual([]);
    });
  }

  const variants: [string, ProtocolOptions][] = [
    ["frequent snapshots and state transfer", { snapshotEveryEntries: 4 }],
    ["leader leases and lease reads", { leaseTicks: 10, snapshotEveryEntries: 16 }],
    ["a window of 2 slots, batches of 2 and catch-up of 2 slots", { windowSlots: 2, batchCommandsMax: 2, catchupSlotsMax: 2, snapshotEveryEntries: 3 }],
    ["hair-trigger elections (duelling proposers)", { heartbeatTicks: 1, electionTimeoutTicks: 2 }],
  ];
  const variantSeeds = Math.max(40, Math.floor(seedCount / 5));
  for (const [name, protocolOptions] of variants) {
    test(`chaos with ${name}, ${variantSeeds} seeds each on 3 and 5 nodes`, () => {
      const runs = [3, 5].flatMap((nodes) => seeds(variantSeeds, 1001).map((seed) => ({ nodes, scenario: "chaos", seed, protocolOptions })));
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

  test("crash-restart loses no acknowledged write: final reads see every write acknowledged before the crash", () => {
    const runs = [3, 5].flatMap((nodes) => seeds(20, 101).map((seed) => ({ nodes, scenario: "crash-restart", seed })));
    expect(sweep(runs)).toEqual([]);
    // The check has teeth: writes were acknowledged before every node crashed, and reads of those same keys
    // completed after every node restarted (fault times count from the end of the warm-up).
    const result = simulate({ nodes: 3, scenario: "crash-restart", seed: 101 });
    const { warmupMs, faults } = result.scenarioDefinition;
    const crash = faults[0];
    assert(crash?.type === "crash" && crash.restartAfterMs !== undefined, "crash-restart crashes and restarts the nodes");
    const crashUs = (warmupMs + crash.atMs) * 1000;
    const restartedUs = crashUs + crash.restartAfterMs * 1000;
    const acknowledgedBefore = result.history.filter((op) => op.status === "ok" && op.input.type !== "get" && (op.completeUs ?? Infinity) < crashUs);
    const keysWritten = new Set(acknowledgedBefore.map((op) => op.input.key));
    const readsAfter = result.history.filter((op) => op.status === "ok" && op.input.type === "get" && op.invokeUs > restartedUs && keysWritten.has(op.input.key));
    expect(acknowledgedBefore.length).toBeGreaterThan(10);
    expect(readsAfter.length).toBeGreaterThan(0);
  });

  test("a lost leader is replaced: leader-crash and partition each change the leader and finish every operation", () => {
    for (const scenario of ["leader-crash", "partition"]) {
      const result = simulate({ nodes: 3, scenario, seed: 3 });
      expect(result.leaderChanges, scenario).toBeGreaterThanOrEqual(1);
      expect(result.ops.completed, scenario).toBe(result.ops.invoked);
    }
  });
});

describe("the oracle in the simulator", () => {
  test("compares what every learner learned, as well as the acceptances it sees sent", () => {
    let monitor: OneValuePerSlotMonitor | undefined;
    const watched = { ...multipaxos, createMonitors: () => [(monitor = new OneValuePerSlotMonitor())] };
    const result = runSimulation({ algorithm: watched, nodes: 3, scenario: "crash-restart", seed: 1 });
    expect(judgeRun(result).problems).toEqual([]);
    assert(monitor !== undefined, "the simulator built the monitor");
    // Every replica learned every committed slot (at least one per operation is shared by a batch, and restarted
    // replicas learn theirs again): more comparisons than slots one replica knows.
    expect(monitor.learnedSlotsChecked()).toBeGreaterThan(result.ops.completed / 4);
  });
});

describe("steady state", () => {
  test("with leases on, a read takes two one-way delays and no log slot; writes still take four", () => {
    const nodes = 3;
    // One command per slot, so that the Accept count says exactly how many slots the operations took.
    const result = simulate({ nodes, scenario: "steady", seed: 1, protocolOptions: { leaseTicks: 10, batchCommandsMax: 1 } });
    const median = (values: number[]): number => values.sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
    const latencyMs = (type: "read" | "write"): number =>
      median(
        result.history
          .filter((op) => op.status === "ok" && (op.input.type === "get") === (type === "read") && op.completeUs !== undefined)
          .map((op) => ((op.completeUs as number) - op.invokeUs) / 1000),
      );
    expect(latencyMs("read")).toBeCloseTo(2, 1);
    expect(latencyMs("write")).toBeCloseTo(4, 1);
    const writes = result.history.filter((op) => op.input.type !== "get").length;
    expect(result.messages.byType["accept"]).toBe((nodes - 1) * writes);
    expect(judgeRun(result).problems).toEqual([]);
  });

  for (const nodes of [3, 5]) {
    test(`on ${nodes} nodes the median latency is the link model's 4 one-way delays, within 10%`, () => {
      const result = simulate({ nodes, scenario: "steady", seed: 1 });
      // The link model's prediction: oneWayDelaysPerOp constant one-way delays (steady has no jitter and instant disks).
      const { link, disk } = result.scenarioDefinition;
      assert(link.latency.kind === "constant" && link.jitterMs === 0, "steady links have a constant latency");
      expect(disk.syncMs).toBe(0);
      const predictedMs = multipaxos.oneWayDelaysPerOp * link.latency.ms;
      expect(Math.abs(result.latencyMs.p50 - predictedMs)).toBeLessThanOrEqual(predictedMs * 0.1);
      expect(judgeRun(result).problems).toEqual([]);
    });

    test(`on ${nodes} nodes the messages per operation that concord sim --cpu none reports stay at or under the analytic 2(n-1) + 2, because commands arriving together share a slot`, () => {
      // With no CPU charged the four clients run in lockstep, and their commands reach the leader in one instant. (The
      // default, calibrated CPU model steps the first of them alone, which sets the clients apart by microseconds:
      // from then on each command arrives alone and takes a slot of its own.)
      const result = simulate({ nodes, scenario: "steady", seed: 1, cpu: "none" });
      expect(judgeRun(result).problems).toEqual([]);
      expect(result.messages.perOp).toBeLessThanOrEqual(multipaxos.analyticMessagesPerOp(nodes, 1));
      // The traffic counts the final reads after the workload too (reported apart from its operations).
      const completed = result.ops.completed + result.finalReads.completed;
      // Batching shows: fewer slots (one Accept per follower each) than committed operations.
      const slots = (result.messages.byType["accept"] ?? 0) / (nodes - 1);
      expect(slots).toBeLessThan(completed * 0.75);
      // Every message is accounted for by the analytic count at the run's mean batch size, plus at most one redirect
      // (NotLeader and the resent Request) per client.
      const meanBatch = completed / slots;
      const clients = 4;
      expect(result.messages.total).toBeLessThanOrEqual(multipaxos.analyticMessagesPerOp(nodes, meanBatch) * completed + 2 * clients + 1e-9);
    });

    test(`on ${nodes} nodes with one command per slot each further operation costs exactly the analytic 2(n-1) + 2 messages`, () => {
      // The marginal cost (messages of 400 operations minus those of 200, per operation) leaves out the fixed
      // start-up cost: each client's first request may land on a follower and be redirected once.
      const small = simulate({ nodes, scenario: "steady", seed: 1, ops: 200, protocolOptions: { batchCommandsMax: 1 } });
      const large = simulate({ nodes, scenario: "steady", seed: 1, ops: 400, protocolOptions: { batchCommandsMax: 1 } });
      const marginal = (large.messages.total - small.messages.total) / (large.ops.completed - small.ops.completed);
      expect(marginal).toBe(multipaxos.analyticMessagesPerOp(nodes, 1));
      // Beyond the analytic count, a run pays only a fixed start-up cost: one redirect (NotLeader and a resent
      // Request) per client at most. The idle leader's heartbeats before the workload are reported apart, as warm-up.
      const clients = 4;
      expect(large.messages.total).toBeLessThanOrEqual(multipaxos.analyticMessagesPerOp(nodes, 1) * (large.ops.completed + large.finalReads.completed) + 2 * clients);
      expect(large.warmup.messages).toBeGreaterThan(0);
      // No heartbeat while phase 2 traffic flows, and no election or catch-up traffic.
      for (const type of ["heartbeat", "prepare", "promise", "nack", "catchupRequest", "chosen"]) expect(large.messages.byType[type] ?? 0, type).toBe(0);
    });
  }
});
