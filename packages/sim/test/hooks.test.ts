import { describe, expect, test } from "vitest";
import { ConfigError, solo } from "@concord/core";
import { type SimulationOptions, byzantineStrategyNames, findByzantineStrategy, runSimulation } from "@concord/sim";
import { createProbeAlgorithm, type Receipt } from "./probe-algorithm.ts";
import { expectGuaranteesKept, replayOf } from "./helpers.ts";

/** pingRun runs three pinging probe replicas for 1 s with node 2 playing `strategy`. */
function pingRun(strategy: string | undefined, seed = 1): { receipts: Receipt[]; sends: ReturnType<typeof createProbeAlgorithm>["log"]["sends"]; replay: string } {
  const { algorithm, log } = createProbeAlgorithm({ pingEveryTicks: 1 });
  const options: SimulationOptions = {
    algorithm,
    nodes: 3,
    seed,
    ...(strategy !== undefined ? { byzantineStrategy: strategy, byzantineNodes: [2] } : {}),
    scenario: { name: "ping-byzantine", description: "", workload: { ops: 0 }, healAtMs: 1000 },
  };
  runSimulation(options);
  return { receipts: log.receipts, sends: log.sends, replay: replayOf(options) };
}

function fromNode(receipts: readonly Receipt[], node: number): Receipt[] {
  return receipts.filter((receipt) => receipt.from === node);
}

describe("the Byzantine hook", () => {
  test("honest: every ping arrives once, within a tick of being sent", () => {
    const { receipts } = pingRun(undefined);
    expect(fromNode(receipts, 2).length).toBeGreaterThan(150);
    for (const receipt of receipts) expect(Math.abs(receipt.receivedTick - receipt.sentTick)).toBeLessThanOrEqual(1);
    expect(new Set(receipts.map((receipt) => `${receipt.from}>${receipt.to}#${receipt.id}`)).size).toBe(receipts.length);
  });

  test("silent: the faulty node's outbound messages are all dropped, and it still receives", () => {
    const { receipts, sends, replay } = pingRun("silent");
    expect(fromNode(receipts, 2), replay).toEqual([]);
    expect(sends.filter((send) => send.from === 2), replay).toEqual([]);
    expect(receipts.filter((receipt) => receipt.to === 2).length, replay).toBeGreaterThan(150);
    expect(fromNode(receipts, 1).length, replay).toBeGreaterThan(150);
  });

  test("delay: the faulty node's messages arrive 40 to 90 ms late, the honest nodes' on time", () => {
    const { receipts, replay } = pingRun("delay");
    const late = fromNode(receipts, 2);
    expect(late.length, replay).toBeGreaterThan(100);
    for (const receipt of late) {
      // Held 40 to 90 ms, plus 1 ms on the link: 4.1 to 9.1 ticks of 10 ms on the receiver's clock, which
      // is at most one tick off the sender's: 3 to 11 ticks apart.
      const ticks = receipt.receivedTick - receipt.sentTick;
      expect(ticks, replay).toBeGreaterThanOrEqual(3);
      expect(ticks, replay).toBeLessThanOrEqual(11);
    }
    for (const receipt of fromNode(receipts, 1)) expect(Math.abs(receipt.receivedTick - receipt.sentTick), replay).toBeLessThanOrEqual(1);
  });

  test("replay: the faulty node re-sends old messages on top of the honest ones", () => {
    const { receipts, sends, replay } = pingRun("replay");
    const faulty = fromNode(receipts, 2);
    // Each ping id is sent once by the honest code (to one peer); a replay repeats an old id, to a random peer.
    // About 2 in 3 of the ~100 outbound batches replay one (the third picks the faulty node itself).
    const distinctIds = new Set(faulty.map((receipt) => receipt.id));
    expect(faulty.length - distinctIds.size, replay).toBeGreaterThan(40);
    // Replayed pings carry their old send tick.
    expect(faulty.some((receipt) => receipt.receivedTick - receipt.sentTick > 5), replay).toBe(true);
    // The monitor sees what the strategy sent, marked as faulty.
    const faultySends = sends.filter((send) => send.from === 2);
    expect(faultySends.every((send) => send.faulty), replay).toBe(true);
    expect(faultySends.length, replay).toBe(faulty.length);
    // Honest nodes are untouched.
    const honest = fromNode(receipts, 3);
    expect(new Set(honest.map((receipt) => `${receipt.to}#${receipt.id}`)).size).toBe(honest.length);
  });

  test("strategies are looked up by name; an unknown one gives a ConfigError listing the allowed names", () => {
    expect(byzantineStrategyNames(solo)).toEqual(["silent", "replay", "corrupt", "equivocate", "delay"]);
    expect(findByzantineStrategy(solo, undefined).name).toBe("silent");
    expect(() => findByzantineStrategy(solo, "lie")).toThrow(ConfigError);
    expect(() => findByzantineStrategy(solo, "lie")).toThrow('unknown strategy "lie" for solo; allowed: silent, replay, corrupt, equivocate, delay');
  });

  test("a faulty replica is left out of the applied-prefix check and of leader counting", () => {
    const { algorithm } = createProbeAlgorithm({ divergent: true });
    // Only the divergent backups disagree with the primary: make both of them faulty.
    const options: SimulationOptions = { algorithm, nodes: 3, seed: 2, scenario: "steady", byzantineNodes: [2, 3], byzantineStrategy: "delay" };
    expectGuaranteesKept(runSimulation(options), options, "none");
  });
});

describe("invariant hooks", () => {
  test("replicas that apply different commands trigger the applied-prefix violation", () => {
    const { algorithm } = createProbeAlgorithm({ divergent: true });
    const options: SimulationOptions = { algorithm, nodes: 3, seed: 3, scenario: "steady" };
    const result = runSimulation(options);
    const found = result.invariantViolations.filter((violation) => violation.invariant === "applied-prefix");
    expect(found.length, replayOf(options)).toBeGreaterThan(0);
    expect(found[0]?.message).toMatch(/replica [23] applied a different command sequence/);
  });

  test("honest primary-backup replication keeps applied sequences prefixes of each other", () => {
    const { algorithm } = createProbeAlgorithm({});
    const options: SimulationOptions = { algorithm, nodes: 3, seed: 3, scenario: "steady" };
    const result = runSimulation(options);
    expectGuaranteesKept(result, options, "completed");
  });

  test("a replica restarted from its log re-applies the same sequence, and the check spans its restarts", () => {
    const { algorithm } = createProbeAlgorithm({});
    const options: SimulationOptions = {
      algorithm,
      nodes: 1,
      seed: 4,
      scenario: { name: "restart", description: "", disk: { syncMs: 1, tearPercent: 100 }, workload: { ops: 300, spreadMs: 1000 }, faults: [{ type: "crash", atMs: 500, target: "all", restartAfterMs: 100 }] },
    };
    expectGuaranteesKept(runSimulation(options), options, "none");
  });

  test("a monitor from createMonitors sees every replica send and inspects replicas after their events", () => {
    const { algorithm, log } = createProbeAlgorithm({ pingEveryTicks: 2 });
    const options: SimulationOptions = { algorithm, nodes: 3, seed: 5, scenario: "steady" };
    const result = runSimulation(options);
    const clientRequests = result.messages.byType["clientRequest"] ?? 0;
    // Every message but the clients' requests is sent by a replica (warm-up traffic is counted apart).
    expect(log.sends.length, replayOf(options)).toBe(result.messages.total + result.warmup.messages - clientRequests);
    expect(log.sends.filter((send) => send.type === "clientReply").length).toBe(result.messages.byType["clientReply"]);
    expect(log.sends.every((send) => !send.faulty)).toBe(true);
    expect(log.replicaObservations).toBeGreaterThan(log.sends.length / 2);
    expect(log.faultyReplicaObservations).toBe(0);
  });

  test("monitors learn which replica is faulty", () => {
    const { algorithm, log } = createProbeAlgorithm({ pingEveryTicks: 2 });
    runSimulation({ algorithm, nodes: 3, seed: 6, scenario: "steady", byzantineNodes: [3], byzantineStrategy: "replay" });
    expect(log.faultyReplicaObservations).toBeGreaterThan(0);
    expect(log.sends.filter((send) => send.faulty).every((send) => send.from === 3)).toBe(true);
  });
});

describe("liveness checks", () => {
  test("a run that cannot finish its workload within virtualMsMax reports a liveness violation", () => {
    const options: SimulationOptions = {
      algorithm: solo,
      nodes: 1,
      seed: 7,
      scenario: { name: "too-slow", description: "", virtualMsMax: 500, workload: { ops: 100, clients: 1, spreadMs: 5000 } },
    };
    const result = runSimulation(options);
    expect(result.invariantViolations.map((violation) => violation.invariant), replayOf(options)).toEqual(["liveness"]);
    expect(result.invariantViolations[0]?.message).toMatch(/limit of 500 ms of virtual time/);
    expect(result.virtualSeconds).toBeLessThanOrEqual(0.5);
  });

  test("a cluster that stops answering after the faults heal reports a liveness violation once livenessTimeoutMs passes", () => {
    const options: SimulationOptions = {
      algorithm: solo,
      nodes: 1,
      seed: 8,
      byzantineNodes: [1],
      byzantineStrategy: "silent",
      scenario: { name: "mute", description: "", livenessTimeoutMs: 2000, workload: { ops: 10 } },
    };
    const result = runSimulation(options);
    expect(result.invariantViolations.map((violation) => violation.invariant), replayOf(options)).toEqual(["liveness"]);
    expect(result.invariantViolations[0]?.message).toMatch(/no operation completed for 2000 ms/);
    // The watchdog looks every 100 ms.
    expect(result.virtualSeconds).toBeGreaterThan(2);
    expect(result.virtualSeconds).toBeLessThanOrEqual(2.2);
  });

  test("idle spells longer than livenessTimeoutMs (think time, sparse open-loop arrivals) are not a liveness violation", () => {
    const closed: SimulationOptions = {
      algorithm: solo,
      nodes: 1,
      seed: 9,
      // 40 s of think time after each of 6 operations.
      scenario: { name: "slow-think", description: "", workload: { ops: 6, clients: 1, spreadMs: 240_000 } },
    };
    const closedResult = runSimulation(closed);
    expectGuaranteesKept(closedResult, closed, "completed");
    expect(closedResult.ops.completed, replayOf(closed)).toBe(6);
    expect(closedResult.finalReads.completed, replayOf(closed)).toBe(8);
    const open: SimulationOptions = {
      algorithm: solo,
      nodes: 1,
      seed: 10,
      // One arrival every 50 s on average.
      scenario: { name: "sparse-arrivals", description: "", workload: { kind: "open", ratePerSec: 0.02, ops: 5, clients: 1 } },
    };
    const openResult = runSimulation(open);
    expectGuaranteesKept(openResult, open, "completed");
    expect(openResult.ops.completed, replayOf(open)).toBe(5);
    expect(openResult.finalReads.completed, replayOf(open)).toBe(8);
  });

  test("the liveness clock runs only while operations are outstanding: think time between failed attempts does not count", () => {
    const options: SimulationOptions = {
      algorithm: solo,
      nodes: 1,
      seed: 11,
      byzantineNodes: [1],
      byzantineStrategy: "silent",
      // Each attempt gives up after 2 s, then the client thinks 1 s: 15 attempts make 30 s outstanding.
      scenario: { name: "mute-with-think", description: "", workload: { ops: 100, clients: 1, spreadMs: 100_000 } },
    };
    const result = runSimulation(options);
    expect(result.invariantViolations.map((violation) => violation.invariant), replayOf(options)).toEqual(["liveness"]);
    expect(result.virtualSeconds, replayOf(options)).toBeGreaterThan(30 + 14);
  });
});

describe("replicas that throw", () => {
  test("a replica that throws stops for good, the run goes on, and a correct one's stop is a violation", async () => {
    const { solo } = await import("@concord/core");
    const { runSimulation } = await import("@concord/sim");
    const exploding = {
      ...solo,
      createReplica: (context: Parameters<typeof solo.createReplica>[0]) => {
        const replica = solo.createReplica(context);
        let steps = 0;
        return {
          id: replica.id,
          tick: () => replica.tick(),
          step: (from: number, message: Parameters<typeof replica.step>[1]) => {
            if (++steps === 20) throw new Error("impossible state");
            replica.step(from, message);
          },
          ready: () => replica.ready(),
          advance: (done: Parameters<typeof replica.advance>[0]) => replica.advance(done),
          status: () => replica.status(),
        };
      },
    };
    const result = runSimulation({ algorithm: exploding, nodes: 1, scenario: "steady", seed: 1, ops: 40 });
    expect(result.invariantViolations.map((violation) => violation.invariant)).toContain("replica-stopped");
    expect(result.invariantViolations.find((violation) => violation.invariant === "replica-stopped")?.message).toMatch(/replica 1 stopped on Error: impossible state/);
    expect(result.ops.completed).toBeLessThan(40);
    expect(result.faultLog.some((line) => line.includes("stopped (Error: impossible state)"))).toBe(true);
  });
});

describe("the corrupt strategy", () => {
  test("changes one field of a copy and leaves the original and its type alone", async () => {
    const { corruptFields } = await import("@concord/sim");
    const { createRng } = await import("@concord/core");
    const original = { type: "append", term: 3, index: 7, commit: true, data: Uint8Array.of(1, 2, 3) };
    const rng = createRng(5);
    let changed = 0;
    for (let i = 0; i < 100; i++) {
      const copy = corruptFields(original, rng) as typeof original;
      expect(copy.type).toBe("append");
      const differing = (["term", "index", "commit", "data"] as const).filter((field) => JSON.stringify(copy[field]) !== JSON.stringify(original[field]));
      expect(differing.length).toBeLessThanOrEqual(1);
      changed += differing.length;
    }
    expect(changed).toBeGreaterThan(80);
    expect(original).toEqual({ type: "append", term: 3, index: 7, commit: true, data: Uint8Array.of(1, 2, 3) });
  });
});

describe("the generic equivocate strategy", () => {
  test("lies to the same half of its peers every time and tells the others the truth", async () => {
    const { genericByzantineStrategies } = await import("@concord/sim");
    const { createRng } = await import("@concord/core");
    const definition = genericByzantineStrategies.find((strategy) => strategy.name === "equivocate");
    expect(definition).toBeDefined();
    const strategy = definition!.create(1);
    const context = { self: 1, replicas: [1, 2, 3, 4, 5], rng: createRng(3), crypto: undefined as never, replica: undefined as never, timeUs: 0 };
    const liedTo = new Set<number>();
    for (let round = 0; round < 50; round++) {
      const message = { type: "vote", term: 4, granted: true };
      const out = strategy.outbound([2, 3, 4, 5].map((to) => ({ to, message })), context);
      for (const outbound of out) if (JSON.stringify(outbound.message) !== JSON.stringify(message)) liedTo.add(outbound.to);
    }
    expect(liedTo.size).toBe(2);
  });
});
