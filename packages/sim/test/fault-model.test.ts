// The fault model of issues 10 and 21: crashes that lose unsynced writes, faults that always act (or say
// they did not), link faults that pick message types, partitions that spare the clients, client restarts,
// and membership changes and leadership transfers through an algorithm's admin hook.
import { describe, expect, test } from "vitest";
import { type AdminResult, type AlgorithmDefinition, type Client, type ClientContext, type MembershipChange, type NodeId, createRng, deriveSeed, solo } from "@concord/core";
import { type FaultInput, type ScenarioInput, type SimulationOptions, drawChaosFaults, drawChaosMembershipRaces, drawChaosOperationRaces, drawChaosSuccessionRaces, drawChaosRaces, drawChaosSetup, runSimulation } from "@concord/sim";
import { type ProbeMessage, createProbeAlgorithm } from "./probe-algorithm.ts";
import { expectGuaranteesKept, replayOf } from "./helpers.ts";

/** writes is a solo scenario of steady writes (each one a record to sync) with `faults`. */
function writes(name: string, faults: FaultInput[], extra: Partial<ScenarioInput> = {}): ScenarioInput {
  return {
    name,
    description: "",
    workload: { ops: 300, clients: 4, spreadMs: 1000, mix: { get: 0, put: 100, append: 0, cas: 0, delete: 0 } },
    healAtMs: 1500,
    faults,
    ...extra,
  };
}

describe("crashes that lose data", () => {
  test("a scenario without a sync latency gets one drawn from the seed (0.1 to 2 ms); one that sets it keeps it", () => {
    const drawn = new Set<number>();
    for (let seed = 1; seed <= 20; seed++) {
      const syncMs = runSimulation({ algorithm: solo, nodes: 1, seed, ops: 5, scenario: writes("drawn-sync", []) }).scenarioDefinition.disk.syncMs as number;
      expect(syncMs).toBeGreaterThanOrEqual(0.1);
      expect(syncMs).toBeLessThanOrEqual(2);
      expect(runSimulation({ algorithm: solo, nodes: 1, seed, ops: 5, scenario: writes("drawn-sync", []) }).scenarioDefinition.disk.syncMs).toBe(syncMs);
      drawn.add(syncMs);
    }
    expect(drawn.size).toBeGreaterThan(5);
    const set = runSimulation({ algorithm: solo, nodes: 1, seed: 1, ops: 5, scenario: writes("set-sync", [], { disk: { syncMs: 0.7 } }) });
    expect(set.scenarioDefinition.disk.syncMs).toBe(0.7);
    expect(runSimulation({ algorithm: solo, nodes: 1, seed: 1, ops: 5, scenario: "steady" }).scenarioDefinition.disk.syncMs).toBe(0);
  });

  test("a crash timed 'while-unsynced' strikes while the node holds unsynced records, and the result counts what it lost", () => {
    for (let seed = 1; seed <= 10; seed++) {
      const options: SimulationOptions = {
        algorithm: solo,
        nodes: 1,
        seed,
        scenario: writes("crash-unsynced", [{ type: "crash", atMs: 300, target: "all", restartAfterMs: 50, timing: "while-unsynced" }], { disk: { syncMs: 1, tearPercent: 100 } }),
      };
      const result = runSimulation(options);
      expect(result.crashes.crashes, replayOf(options)).toBe(1);
      expect(result.crashes.lostRecords, replayOf(options)).toBe(1);
      expect(result.crashes.recordsLost, replayOf(options)).toBeGreaterThanOrEqual(1);
      // tearPercent 100: the first lost record is always torn (unless it is a single byte).
      expect(result.crashes.torn, replayOf(options)).toBe(1);
      expect(result.faultLog.some((line) => line.includes("window ended")), replayOf(options)).toBe(false);
      expect(result.ineffectiveFaults, replayOf(options)).toEqual([]);
      expectGuaranteesKept(result, options, "none-failed");
    }
  });

  test("a crash at once almost never finds unsynced records on an idle node; timed inside the window it always does", () => {
    const lostAt = (timing: "at-once" | "while-unsynced"): number => {
      let lost = 0;
      for (let seed = 1; seed <= 10; seed++) {
        const scenario = writes("crash-idle", [{ type: "crash", atMs: 300, target: "all", restartAfterMs: 50, timing }], {
          disk: { syncMs: 0.2, tearPercent: 0 },
          workload: { ops: 60, clients: 1, spreadMs: 1000, mix: { get: 0, put: 100, append: 0, cas: 0, delete: 0 } },
        });
        lost += runSimulation({ algorithm: solo, nodes: 1, seed, scenario }).crashes.lostRecords;
      }
      return lost;
    };
    expect(lostAt("while-unsynced")).toBe(10);
    expect(lostAt("at-once")).toBeLessThan(5);
  });

  test("a crash timed 'after-sync' strikes between a sync and the sends that waited for it: nothing is lost, the reply never leaves", () => {
    const options: SimulationOptions = {
      algorithm: solo,
      nodes: 1,
      seed: 4,
      scenario: writes("crash-after-sync", [{ type: "crash", atMs: 300, target: "all", restartAfterMs: 50, timing: "after-sync" }], { disk: { syncMs: 1, tearPercent: 100 } }),
    };
    const result = runSimulation(options);
    expect(result.crashes, replayOf(options)).toEqual({ crashes: 1, lostRecords: 0, lostSnapshot: 0, recordsLost: 0, torn: 0 });
    expect(result.faultLog.some((line) => line.includes("crash (after-sync")), replayOf(options)).toBe(true);
    // It struck at its moment, not at the end of its window.
    expect(result.faultLog.some((line) => line.includes("window ended")), replayOf(options)).toBe(false);
    // The synced write survives the crash and the client's retry is answered from the session: every operation completes.
    expectGuaranteesKept(result, options, "completed");
  });

  test("a crash timed 'while-sending' strikes part-way through a Ready that carries two or more messages to one peer", () => {
    const { algorithm, log } = createProbeAlgorithm({});
    const options: SimulationOptions = {
      algorithm,
      nodes: 3,
      seed: 2,
      // With the CPU off, so that the leader's Ready carries the messages of every write that arrived in one instant.
      cpu: "none",
      scenario: writes("crash-while-sending", [{ type: "crash", atMs: 300, target: "leader", restartAfterMs: 50, timing: "while-sending" }]),
    };
    const result = runSimulation(options);
    const strike = result.faultLog.find((line) => line.includes("crash (while-sending, node 1:"));
    expect(strike, `${replayOf(options)}\n${result.faultLog.join("\n")}`).toBeDefined();
    const [, left, of] = /: (\d+) of (\d+) message\(s\) left/.exec(strike as string) as RegExpExecArray;
    // Some left and some did not, never all or none.
    expect(Number(left), replayOf(options)).toBeGreaterThanOrEqual(1);
    expect(Number(left), replayOf(options)).toBeLessThan(Number(of));
    expect(result.crashes.crashes, replayOf(options)).toBe(1);
    expect(result.faultLog.some((line) => line.includes("window ended")), replayOf(options)).toBe(false);
    // The messages of that Ready that left are on the wire (replicates and replies); the others never left.
    const strikeUs = Math.round(Number(strike?.split(" ms:")[0]) * 1000);
    const sentAtStrike = log.sends.filter((send) => send.from === 1 && send.timeUs === strikeUs);
    expect(sentAtStrike.length, replayOf(options)).toBe(Number(left));
    expectGuaranteesKept(result, options, "none");
  });

  test("a crash after answering strikes just after the Ready that answered a message of its type left, and nothing after it", () => {
    const { algorithm, log } = createProbeAlgorithm();
    const options: SimulationOptions = {
      algorithm,
      nodes: 3,
      seed: 4,
      scenario: writes("crash-after-answering", [{ type: "crash", atMs: 300, target: "leader", restartAfterMs: 50, timing: "after-answering", messageTypes: ["clientRequest"] }]),
    };
    const result = runSimulation(options);
    const strike = result.faultLog.find((line) => line.includes("crash (after-answering, node 1: its answer left)"));
    expect(strike, `${replayOf(options)}\n${result.faultLog.join("\n")}`).toBeDefined();
    expect(result.crashes.crashes, replayOf(options)).toBe(1);
    expect(result.faultLog.some((line) => line.includes("window ended")), replayOf(options)).toBe(false);
    // The probe's primary answers writes once they are synced: the Ready after the one that wrote them carries the
    // clients' replies and the replicates to the backups, and left in the instant of the crash; the primary sent
    // nothing more until it restarted 50 ms later.
    const strikeUs = Math.round(Number(strike?.split(" ms:")[0]) * 1000);
    const fromPrimary = log.sends.filter((send) => send.from === 1);
    expect([...new Set(fromPrimary.filter((send) => send.timeUs === strikeUs).map((send) => send.type))].sort(), replayOf(options)).toEqual(["clientReply", "replicate"]);
    expect(fromPrimary.filter((send) => send.timeUs > strikeUs && send.timeUs < strikeUs + 50_000), replayOf(options)).toEqual([]);
    expectGuaranteesKept(result, options, "none");
  });

  test("a timed crash whose moment does not come within its window strikes at the window's end, and says so", () => {
    const { algorithm } = createProbeAlgorithm({ pingEveryTicks: 1 });
    const options: SimulationOptions = {
      algorithm,
      nodes: 3,
      seed: 1,
      scenario: { name: "never-unsynced", description: "", workload: { ops: 0 }, healAtMs: 1500, faults: [{ type: "crash", atMs: 200, target: "random", timing: "while-unsynced", windowMs: 300 }] },
    };
    const result = runSimulation(options);
    expect(result.crashes.crashes, replayOf(options)).toBe(1);
    expect(result.faultLog.some((line) => line.startsWith("500.000 ms: crash window ended")), replayOf(options)).toBe(true);
    expect(result.ineffectiveFaults, replayOf(options)).toEqual([]);
  });

  test("a timed crash still waiting when the scenario heals is called off and listed as without effect", () => {
    const { algorithm } = createProbeAlgorithm({ pingEveryTicks: 1 });
    const options: SimulationOptions = {
      algorithm,
      nodes: 3,
      seed: 1,
      scenario: { name: "healed-first", description: "", workload: { ops: 0 }, healAtMs: 400, faults: [{ type: "crash", atMs: 200, target: "random", timing: "after-sync", windowMs: 1000 }] },
    };
    const result = runSimulation(options);
    expect(result.crashes.crashes, replayOf(options)).toBe(0);
    expect(result.ineffectiveFaults, replayOf(options)).toHaveLength(1);
    expect(result.ineffectiveFaults[0], replayOf(options)).toMatch(/had not come when the scenario healed/);
  });

  test("chaos draws crashes of every timing and all-node crashes, and its crashes lose unsynced records", () => {
    const timings = new Set<string>();
    let allNode = 0;
    let lostRecords = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const result = runSimulation({ algorithm: solo, nodes: 1, seed, scenario: "chaos", ops: 40 });
      for (const fault of result.scenarioDefinition.faults) {
        if (fault.type !== "crash") continue;
        timings.add(fault.timing);
        if (fault.target === "all") allNode++;
      }
      lostRecords += result.crashes.lostRecords;
    }
    expect([...timings].sort()).toEqual(["after-sync", "at-once", "while-sending", "while-unsynced"]);
    expect(allNode).toBeGreaterThan(0);
    expect(lostRecords).toBeGreaterThan(0);
  });
});

describe("an algorithm's crash bound (AlgorithmDefinition.crashAllowed)", () => {
  /** mostDown is the largest number of replicas a run's crash windows had down at once. */
  function mostDown(faults: readonly { readonly kind: string; readonly nodes: readonly NodeId[]; readonly atMs: number; readonly untilMs: number }[]): number {
    const changes: [number, number][] = [];
    for (const fault of faults) {
      if (fault.kind !== "crash") continue;
      for (const _ of fault.nodes) changes.push([fault.atMs, 1], [Number.isNaN(fault.untilMs) ? Number.POSITIVE_INFINITY : fault.untilMs, -1]);
    }
    changes.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let down = 0;
    let most = 0;
    for (const [, change] of changes) most = Math.max(most, (down += change));
    return most;
  }

  test("chaos crashes only what the bound allows (here one replica down at a time), all-node crashes included; a scenario that names its crashes is not bound", () => {
    const { algorithm } = createProbeAlgorithm();
    // One replica down at a time: the target may crash only while every other replica is up.
    const bounded: AlgorithmDefinition<ProbeMessage> = { ...algorithm, crashAllowed: (_options, target, replicas) => [...replicas].every(([id, replica]) => id === target || replica !== undefined) };
    let spared = 0;
    let allNodeDrawn = 0;
    let crashed = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const options: SimulationOptions = { algorithm: bounded, nodes: 3, seed, scenario: "chaos", ops: 40 };
      const result = runSimulation(options);
      expect(mostDown(result.faults), replayOf(options)).toBeLessThanOrEqual(1);
      allNodeDrawn += result.scenarioDefinition.faults.filter((fault) => fault.type === "crash" && fault.target === "all").length;
      crashed += result.faults.filter((fault) => fault.kind === "crash").length;
      spared += result.ineffectiveFaults.filter((line) => line.includes("more replicas at once than the algorithm's options tolerate")).length;
    }
    expect(allNodeDrawn).toBeGreaterThan(0);
    expect(crashed).toBeGreaterThan(0);
    expect(spared).toBeGreaterThan(0);
    const named = runSimulation({ algorithm: bounded, nodes: 3, seed: 1, scenario: writes("all-at-once", [{ type: "crash", atMs: 200, target: "all", restartAfterMs: 100 }]) });
    expect(mostDown(named.faults)).toBe(3);
  });
});

describe("every drawn fault acts, and says so", () => {
  test("a crash or pause aimed at a random replica picks one it can act on: never one already down or paused", () => {
    const { algorithm } = createProbeAlgorithm({ pingEveryTicks: 1 });
    for (let seed = 1; seed <= 10; seed++) {
      const faults: FaultInput[] = [
        { type: "crash", atMs: 100, target: "random", restartAfterMs: 500 },
        { type: "crash", atMs: 100, target: "random", restartAfterMs: 500 },
        { type: "pause", atMs: 200, target: "random", durationMs: 500 },
        { type: "pause", atMs: 200, target: "random", durationMs: 500 },
      ];
      const options: SimulationOptions = { algorithm, nodes: 5, seed, scenario: { name: "acting", description: "", workload: { ops: 0 }, healAtMs: 1000, faults } };
      const result = runSimulation(options);
      const hit = (what: string): string[] => result.faultLog.filter((line) => line.includes(`: ${what} node`)).map((line) => line.slice(line.lastIndexOf(" ") + 1));
      expect(new Set([...hit("crash"), ...hit("pause")]).size, replayOf(options)).toBe(4);
      expect(result.crashes.crashes, replayOf(options)).toBe(2);
      expect(result.ineffectiveFaults, replayOf(options)).toEqual([]);
    }
  });

  test("a fault with nothing to act on is listed in the result with why", () => {
    const { algorithm } = createProbeAlgorithm({});
    const options: SimulationOptions = {
      algorithm,
      nodes: 3,
      seed: 1,
      scenario: {
        name: "no-effect",
        description: "",
        workload: { ops: 0 },
        healAtMs: 1000,
        faults: [
          { type: "crash", atMs: 100, target: { index: 1 }, restartAfterMs: 500 },
          { type: "crash", atMs: 200, target: { index: 1 }, restartAfterMs: 500 },
          { type: "pause", atMs: 300, target: { index: 1 }, durationMs: 100 },
          { type: "transfer", atMs: 400 },
        ],
      },
    };
    const result = runSimulation(options);
    expect(result.crashes.crashes, replayOf(options)).toBe(1);
    expect(result.ineffectiveFaults.map((line) => line.split(" (")[0]), replayOf(options)).toEqual(["200.000 ms: crash", "300.000 ms: pause", "400.000 ms: transfer"]);
    expect(result.ineffectiveFaults[2], replayOf(options)).toMatch(/no admin hook/);
  });
});

describe("link faults that pick message types", () => {
  const scenario = (messageTypes: string[] | undefined, from?: FaultInput & { type: "link" }): ScenarioInput => ({
    name: "typed-loss",
    description: "",
    disk: { syncMs: 0 },
    workload: { ops: 100, clients: 2, spreadMs: 800, finalReads: false },
    healAtMs: 1000,
    faults: [{ type: "link", atMs: 0, durationMs: 1000, link: { dropPercent: 100 }, ...(messageTypes !== undefined ? { messageTypes } : {}), ...(from !== undefined ? { from: from.from } : {}) }],
  });

  test("dropping only pings loses every ping and no client traffic; dropping only replies loses the replies and keeps the pings", () => {
    const run = (messageTypes: string[]) => {
      const { algorithm, log } = createProbeAlgorithm({ pingEveryTicks: 1 });
      const options: SimulationOptions = { algorithm, nodes: 3, seed: 2, scenario: scenario(messageTypes) };
      const result = runSimulation(options);
      const pingsDuringFault = log.receipts.filter((receipt) => receipt.receivedTick > 60 && receipt.receivedTick < 140).length;
      const completedDuringFault = result.history.filter((op) => op.status === "ok" && (op.completeUs as number) < 1_000_000).length;
      return { result, pingsDuringFault, completedDuringFault, replay: replayOf(options) };
    };
    const pingsLost = run(["ping"]);
    expect(pingsLost.pingsDuringFault, pingsLost.replay).toBe(0);
    expect(pingsLost.completedDuringFault, pingsLost.replay).toBe(100);
    const repliesLost = run(["clientReply"]);
    expect(repliesLost.pingsDuringFault, repliesLost.replay).toBeGreaterThan(100);
    expect(repliesLost.completedDuringFault, repliesLost.replay).toBe(0);
    expect(repliesLost.result.ops.completed, repliesLost.replay).toBe(100);
  });

  test("a typed fault limited to one sender leaves the other senders' messages of that type alone", () => {
    const { algorithm, log } = createProbeAlgorithm({ pingEveryTicks: 1 });
    const options: SimulationOptions = { algorithm, nodes: 3, seed: 3, scenario: scenario(["ping"], { type: "link", atMs: 0, durationMs: 0, link: {}, from: { index: 1 } }) };
    runSimulation(options);
    const during = log.receipts.filter((receipt) => receipt.receivedTick > 60 && receipt.receivedTick < 140);
    expect(during.filter((receipt) => receipt.from === 2), replayOf(options)).toEqual([]);
    expect(during.filter((receipt) => receipt.from === 3).length, replayOf(options)).toBeGreaterThan(50);
  });

  test("a link fault limited to one receiver leaves the messages to the other receivers alone", () => {
    const { algorithm, log } = createProbeAlgorithm({ pingEveryTicks: 1 });
    const options: SimulationOptions = {
      algorithm,
      nodes: 3,
      seed: 3,
      scenario: {
        name: "to-one",
        description: "",
        disk: { syncMs: 0 },
        workload: { ops: 0 },
        healAtMs: 1000,
        faults: [{ type: "link", atMs: 0, durationMs: 1000, link: { dropPercent: 100 }, messageTypes: ["ping"], to: { index: 1 } }],
      },
    };
    runSimulation(options);
    const during = log.receipts.filter((receipt) => receipt.receivedTick > 60 && receipt.receivedTick < 140);
    expect(during.filter((receipt) => receipt.to === 2), replayOf(options)).toEqual([]);
    expect(during.filter((receipt) => receipt.to === 3 && receipt.from === 1).length, replayOf(options)).toBeGreaterThan(30);
    expect(during.filter((receipt) => receipt.to === 1 && receipt.from === 3).length, replayOf(options)).toBeGreaterThan(30);
  });

  test("chaos draws typed link faults from the algorithm's codec type names", () => {
    const drawn = new Set<string>();
    for (let seed = 1; seed <= 40; seed++) {
      for (const fault of runSimulation({ algorithm: solo, nodes: 1, seed, scenario: "chaos", ops: 5 }).scenarioDefinition.faults) {
        if (fault.type === "link" && fault.messageTypes !== undefined) for (const type of fault.messageTypes) drawn.add(type);
      }
    }
    expect(drawn.size).toBeGreaterThan(0);
    for (const type of drawn) expect(solo.codec.typeNames).toContain(type);
  });
});

describe("partitions on the read paths", () => {
  /** served counts the operations the primary (replica 1, isolated) completes while cut off, with the clients placed as asked. */
  const served = (clients: "rest" | "isolated" | "split" | "both"): { completed: number; pings: number; replay: string } => {
    const { algorithm, log } = createProbeAlgorithm({ pingEveryTicks: 1 });
    const options: SimulationOptions = {
      algorithm,
      nodes: 3,
      seed: 5,
      scenario: {
        name: "clients-placed",
        description: "",
        disk: { syncMs: 0 },
        workload: { ops: 200, clients: 4, spreadMs: 400, finalReads: false },
        healAtMs: 600,
        livenessTimeoutMs: 5000,
        faults: [{ type: "partition", atMs: 0, isolate: [{ index: 0 }], clients, durationMs: 600 }],
      },
    };
    const result = runSimulation(options);
    const completedInPartition = result.history.filter((op) => op.status === "ok" && (op.completeUs as number) < 600_000).length;
    const pings = log.receipts.filter((receipt) => receipt.from === 1 && receipt.receivedTick > 5 && receipt.receivedTick < 55).length;
    return { completed: completedInPartition, pings, replay: replayOf(options) };
  };

  test("a partition that spares the clients cuts the replica off from its peers only", () => {
    const both = served("both");
    expect(both.pings, both.replay).toBe(0);
    expect(both.completed, both.replay).toBe(200);
    const rest = served("rest");
    expect(rest.pings, rest.replay).toBe(0);
    expect(rest.completed, rest.replay).toBe(0);
  });

  test("clients placed with the isolated replica reach it; split clients, half of them", () => {
    const isolated = served("isolated");
    expect(isolated.completed, isolated.replay).toBe(200);
    const split = served("split");
    expect(split.completed, split.replay).toBeGreaterThan(0);
    expect(split.completed, split.replay).toBeLessThan(200);
  });

  test("a one-way partition cuts what the isolated replica sends (outbound) or what it receives (inbound)", () => {
    const received = (direction: "outbound" | "inbound") => {
      const { algorithm, log } = createProbeAlgorithm({ pingEveryTicks: 1 });
      const options: SimulationOptions = {
        algorithm,
        nodes: 3,
        seed: 6,
        scenario: { name: "one-way", description: "", workload: { ops: 0 }, healAtMs: 1000, faults: [{ type: "partition", atMs: 0, isolate: [{ index: 1 }], oneWay: true, direction, durationMs: 1000 }] },
      };
      runSimulation(options);
      const during = log.receipts.filter((receipt) => receipt.receivedTick > 60 && receipt.receivedTick < 140);
      return { fromIsolated: during.filter((r) => r.from === 2).length, toIsolated: during.filter((r) => r.to === 2).length, replay: replayOf(options) };
    };
    const outbound = received("outbound");
    expect(outbound.fromIsolated, outbound.replay).toBe(0);
    expect(outbound.toIsolated, outbound.replay).toBeGreaterThan(50);
    const inbound = received("inbound");
    expect(inbound.toIsolated, inbound.replay).toBe(0);
    expect(inbound.fromIsolated, inbound.replay).toBeGreaterThan(50);
  });

  test("chaos draws partitions that spare or strand the clients, one-way cuts both ways, and pauses longer than an election", () => {
    const seen = new Set<string>();
    for (let seed = 1; seed <= 40; seed++) {
      for (const fault of runSimulation({ algorithm: solo, nodes: 1, seed, scenario: "chaos", ops: 5 }).scenarioDefinition.faults) {
        if (fault.type === "partition") seen.add(fault.oneWay ? `one-way ${fault.direction}` : `clients ${fault.clients}`);
        if (fault.type === "pause" && fault.durationMs >= 500) seen.add("long pause");
      }
    }
    expect([...seen].sort()).toEqual(["clients both", "clients isolated", "clients rest", "clients split", "long pause", "one-way inbound", "one-way outbound"]);
  });

  test("chaos cuts the leader alone off from its peers with half or all of the clients still reaching it, for at least 300 ms", () => {
    const placements = new Set<string>();
    for (let seed = 1; seed <= 60; seed++) {
      for (const fault of drawChaosFaults(createRng(seed), 3000, { messageTypes: [], transfer: false, reconfigure: false, clientRestarts: false, ops: 5 })) {
        if (fault.type !== "partition" || fault.oneWay || fault.isolate.length !== 1 || fault.isolate[0] !== "leader" || fault.durationMs < 300) continue;
        if (fault.clients === "split" || fault.clients === "both") placements.add(fault.clients);
      }
    }
    expect([...placements].sort()).toEqual(["both", "split"]);
  });

  test("chaos races: in about half the runs, the leader's inbound links lag and then it is cut off, or a follower comes back as it is cut off", () => {
    const kinds = new Map<string, number>();
    for (let seed = 1; seed <= 60; seed++) {
      const race = drawChaosRaces(createRng(deriveSeed(seed, "chaos-races")), 3000, 3);
      kinds.set(race.kind ?? "none", (kinds.get(race.kind ?? "none") ?? 0) + 1);
      if (race.kind === undefined) {
        expect(race.faults).toEqual([]);
        continue;
      }
      const [first, cut] = race.faults;
      // Both end with the leader cut off alone, some or all of its clients still with it, right as the first fault ends.
      expect(cut).toMatchObject({ type: "partition", isolate: ["leader"], oneWay: false });
      if (cut?.type !== "partition" || first === undefined) throw new Error("a race ends with a partition");
      expect(["split", "both"]).toContain(cut.clients);
      expect(cut.durationMs).toBeGreaterThanOrEqual(300);
      if (race.kind === "lagging-cut-leader") {
        // The replicas' messages into the leader lag, the clients' do not, until just after the cut.
        expect(first).toMatchObject({ type: "link", from: "all", to: "leader" });
        if (first.type !== "link") throw new Error("a lag is a link fault");
        expect(first.link.latency?.kind).toBe("constant");
        expect(first.atMs + first.durationMs).toBe(cut.atMs + 1);
      } else {
        expect(first).toMatchObject({ type: "partition", isolate: ["follower"], clients: "rest" });
        if (first.type !== "partition") throw new Error("a follower away is a partition");
        expect(first.atMs + first.durationMs).toBe(cut.atMs);
      }
    }
    expect([...kinds.keys()].sort()).toEqual(["follower-returns-as-leader-cut", "lagging-cut-leader", "none"]);
    expect(kinds.get("none")).toBeGreaterThan(15);
    expect(kinds.get("none")).toBeLessThan(45);
  });

  test("chaos's operation races: in about a third of the runs of an algorithm with membership changes, a demotion in one change, or a removal and a transfer to the voter it removes, in one instant", () => {
    const operations = { messageTypes: [], transfer: true, reconfigure: true, clientRestarts: true, ops: 40 };
    const kinds = new Map<string, number>();
    for (let seed = 1; seed <= 90; seed++) {
      const race = drawChaosOperationRaces(createRng(deriveSeed(seed, "chaos-operation-races")), 3000, operations);
      kinds.set(race.kind ?? "none", (kinds.get(race.kind ?? "none") ?? 0) + 1);
      if (race.kind === "demotion-attempt") expect(race.faults).toMatchObject([{ type: "reconfigure", change: "demote" }]);
      if (race.kind === "transfer-to-removed") {
        const [removal, transfer] = race.faults;
        expect(removal).toMatchObject({ type: "reconfigure", change: "remove-voter" });
        expect(transfer).toMatchObject({ type: "transfer", to: "removed" });
        expect(transfer?.atMs).toBe(removal?.atMs);
      }
      // Without membership changes nothing is drawn; without transfers no transfer.
      expect(drawChaosOperationRaces(createRng(deriveSeed(seed, "chaos-operation-races")), 3000, { ...operations, reconfigure: false }).kind).toBeUndefined();
      expect(drawChaosOperationRaces(createRng(deriveSeed(seed, "chaos-operation-races")), 3000, { ...operations, transfer: false }).kind).not.toBe("transfer-to-removed");
    }
    expect([...kinds.keys()].sort()).toEqual(["demotion-attempt", "none", "transfer-to-removed"]);
    expect(kinds.get("none")).toBeGreaterThan(45);
    expect(kinds.get("none")).toBeLessThan(75);
  });

  test("chaos's succession race: in about a quarter of the runs of three or more replicas, the leader cut off, the cut moved onto its successor, and the leader after that crashed as it first commits", () => {
    let drawn = 0;
    for (let seed = 1; seed <= 80; seed++) {
      const race = drawChaosSuccessionRaces(createRng(deriveSeed(seed, "chaos-succession-races")), 3000, 3);
      expect(drawChaosSuccessionRaces(createRng(deriveSeed(seed, "chaos-succession-races")), 3000, 2).kind).toBeUndefined();
      if (race.kind === undefined) continue;
      drawn++;
      const [cut, moved, crash] = race.faults;
      expect(cut).toMatchObject({ type: "partition", isolate: ["leader"], clients: "both" });
      expect(moved).toMatchObject({ type: "partition", nextLeader: true, clients: "both" });
      expect(crash).toMatchObject({ type: "crash", timing: "after-commit", nextLeader: true, target: "all" });
      if (cut?.type !== "partition" || moved?.type !== "partition") throw new Error("a succession race starts with two cuts");
      // The successor is cut off while the first leader's cut lasts, and stays cut off after it ends.
      expect(moved.windowMs).toBe(cut.durationMs);
      expect(moved.durationMs).toBeGreaterThan(cut.durationMs);
    }
    expect(drawn).toBeGreaterThan(8);
    expect(drawn).toBeLessThan(35);
  });

  test("a chaos run with a race splits its clients into readers and writers, and has the race's faults; a cluster of one draws none", () => {
    const context = { messageTypes: [], transfer: false, reconfigure: false, clientRestarts: true, ops: 40 };
    const seed = Array.from({ length: 40 }, (_, i) => i + 1).find(
      (candidate) => drawChaosRaces(createRng(deriveSeed(candidate, "chaos-races")), 3000, 3).kind !== undefined && !drawChaosSetup(createRng(deriveSeed(candidate, "chaos-setup")), context).readersAndWriters,
    )!;
    const { algorithm } = createProbeAlgorithm();
    const options: SimulationOptions = { algorithm, nodes: 3, seed, scenario: "chaos", ops: 40 };
    const result = runSimulation(options);
    const race = drawChaosRaces(createRng(deriveSeed(seed, "chaos-races")), 3000, 3);
    for (const fault of race.faults) expect(result.scenarioDefinition.faults, replayOf(options)).toContainEqual(fault);
    const clientIds = [...new Set(result.history.map((operation) => operation.clientId))].sort((a, b) => a - b);
    const firstHalf = new Set(clientIds.slice(0, Math.ceil(clientIds.length / 2)));
    for (const operation of result.history) if (firstHalf.has(operation.clientId)) expect(operation.input.type, replayOf(options)).toBe("get");
    expect(drawChaosRaces(createRng(deriveSeed(seed, "chaos-races")), 3000, 1).kind).toBeUndefined();
  });

  test("chaos membership races: in about half the runs, a voter is cut off across a replace that keeps it and returns as the new leader is cut off, or cut off from it alone", () => {
    const context = { messageTypes: ["promise", "nack"], transfer: false, reconfigure: true, clientRestarts: true, ops: 40 };
    const kinds = new Map<string, number>();
    let promisesLost = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const race = drawChaosMembershipRaces(createRng(deriveSeed(seed, "chaos-membership-races")), 3000, 3, context);
      kinds.set(race.kind ?? "none", (kinds.get(race.kind ?? "none") ?? 0) + 1);
      if (race.kind === undefined) {
        expect(race).toEqual({ kind: undefined, faults: [], spares: 0 });
        continue;
      }
      // Two spares: a majority of three voters replaced.
      expect(race.spares).toBe(2);
      const [away, change, ...atReturn] = race.faults;
      if (away?.type !== "partition" || change?.type !== "reconfigure") throw new Error("a membership race starts with a voter cut off and a replace");
      const member = away.isolate[0];
      // One of the initial voters after the first, by index, away with no client, for one to two seconds.
      expect(away).toMatchObject({ isolate: [{ index: expect.any(Number) }], oneWay: false, clients: "rest" });
      if (typeof member !== "object") throw new Error("the member away is named by index");
      expect(member.index).toBeGreaterThanOrEqual(1);
      expect(member.index).toBeLessThan(3);
      expect(away.durationMs).toBeGreaterThanOrEqual(1000);
      // The replace comes 10 to 100 ms into the absence and keeps the member away.
      expect(change).toMatchObject({ change: "replace", keep: member });
      expect(change.atMs - away.atMs).toBeGreaterThanOrEqual(10);
      expect(change.atMs - away.atMs).toBeLessThanOrEqual(100);
      const returnAtMs = away.atMs + away.durationMs;
      for (const fault of atReturn) expect(fault.atMs).toBe(returnAtMs);
      if (race.kind === "member-returns-as-new-leader-cut") {
        expect(atReturn[0]).toMatchObject({ type: "partition", isolate: ["leader"], oneWay: false });
        // In some runs every spare's promises are lost while the cut lasts.
        const lost = atReturn.slice(1);
        if (lost.length > 0) promisesLost++;
        if (lost.length > 0) expect(lost).toEqual([3, 4].map((index) => expect.objectContaining({ type: "link", link: { dropPercent: 100 }, messageTypes: ["promise"], from: { index } })));
      } else {
        // The returning member and the new leader cannot hear each other; the spares' Nacks are lost.
        expect(atReturn.slice(0, 2)).toEqual([
          expect.objectContaining({ type: "link", link: { dropPercent: 100 }, from: member, to: "leader" }),
          expect.objectContaining({ type: "link", link: { dropPercent: 100 }, from: "leader", to: member }),
        ]);
        expect(atReturn.slice(2)).toEqual([3, 4].map((index) => expect.objectContaining({ type: "link", messageTypes: ["nack"], from: { index } })));
      }
    }
    expect([...kinds.keys()].sort()).toEqual(["member-returns-as-new-leader-cut", "member-returns-cut-from-new-leader", "none"]);
    expect(promisesLost).toBeGreaterThan(0);
    expect(promisesLost).toBeLessThan(kinds.get("member-returns-as-new-leader-cut")!);
    expect(kinds.get("none")).toBeGreaterThan(15);
    expect(kinds.get("none")).toBeLessThan(45);
    // None for an algorithm that cannot change its membership, or a cluster too small to replace a majority of.
    for (let seed = 1; seed <= 20; seed++) {
      expect(drawChaosMembershipRaces(createRng(deriveSeed(seed, "chaos-membership-races")), 3000, 3, { ...context, reconfigure: false }).kind).toBeUndefined();
      expect(drawChaosMembershipRaces(createRng(deriveSeed(seed, "chaos-membership-races")), 3000, 2, context).kind).toBeUndefined();
    }
  });

  test("chaos splits the clients into readers and writers in some runs: the readers' operations are reads only", () => {
    const context = { messageTypes: [], transfer: false, reconfigure: false, clientRestarts: true, ops: 40 };
    const split = Array.from({ length: 40 }, (_, i) => i + 1).filter((seed) => drawChaosSetup(createRng(deriveSeed(seed, "chaos-setup")), context).readersAndWriters);
    expect(split.length).toBeGreaterThan(2);
    expect(split.length).toBeLessThan(25);
    const seed = split[0]!;
    const result = runSimulation({ algorithm: solo, nodes: 1, seed, scenario: "chaos", ops: 40 });
    const readers = result.history.filter((operation) => operation.input.type === "get");
    const clientIds = [...new Set(result.history.map((operation) => operation.clientId))].sort((a, b) => a - b);
    const firstHalf = new Set(clientIds.slice(0, Math.ceil(clientIds.length / 2)));
    const writes = result.history.filter((operation) => operation.input.type !== "get");
    expect(writes.length, replayOf({ algorithm: solo, nodes: 1, seed, scenario: "chaos", ops: 40 })).toBeGreaterThan(0);
    for (const write of writes) expect(firstHalf.has(write.clientId)).toBe(false);
    expect(readers.some((operation) => firstHalf.has(operation.clientId))).toBe(true);
  });
});

describe("clients that restart, and large sequence numbers", () => {
  test("a restarted client's outstanding operation is indeterminate, and the fresh client goes on with the workload", () => {
    const options: SimulationOptions = {
      algorithm: solo,
      nodes: 1,
      seed: 7,
      scenario: writes("client-restart", [
        { type: "crash", atMs: 290, target: "all", restartAfterMs: 100 },
        { type: "restart-client", atMs: 300, client: { index: 0 } },
      ]),
    };
    const result = runSimulation(options);
    expect(result.faultLog.some((line) => /restart client \d+ \(its operation \d+ is indeterminate\)/.test(line)), replayOf(options)).toBe(true);
    expect(result.abandonedOperations, replayOf(options)).toBe(1);
    const firstClient = result.history.filter((op) => op.clientId === result.history[0]?.clientId);
    expect(firstClient.some((op) => op.status === "info"), replayOf(options)).toBe(true);
    expect(firstClient.filter((op) => op.invokeUs > 900_000 && op.status === "ok").length, replayOf(options)).toBeGreaterThan(0);
    expectGuaranteesKept(result, options, "none");
  });

  test("a workload's first sequence reaches every client object, restarted ones too, and a run near 2^53 completes", () => {
    const contexts: ClientContext[] = [];
    const algorithm: AlgorithmDefinition<unknown> = {
      ...(solo as AlgorithmDefinition<unknown>),
      createClient: (context) => {
        contexts.push(context);
        return solo.createClient(context) as Client<unknown>;
      },
    };
    const firstSequence = Number.MAX_SAFE_INTEGER - 1000;
    const options: SimulationOptions = {
      algorithm,
      nodes: 1,
      seed: 8,
      scenario: writes("far-sequences", [{ type: "restart-client", atMs: 300, client: { index: 1 } }], {
        workload: { ops: 200, clients: 4, spreadMs: 1000, firstSequence, mix: { get: 0, put: 100, append: 0, cas: 0, delete: 0 } },
      }),
    };
    const result = runSimulation(options);
    expect(contexts.map((context) => context.firstSequence), replayOf(options)).toEqual([firstSequence, firstSequence, firstSequence, firstSequence, firstSequence]);
    // The restarted client (the fifth object) has the second one's network id.
    expect(contexts[4]?.id, replayOf(options)).toBe(contexts[1]?.id);
    expectGuaranteesKept(result, options, "completed");
  });

  test("chaos draws first sequences just below 2^32 and near 2^53, leaving room for every request of the run", () => {
    const firsts = new Set<string>();
    for (let seed = 1; seed <= 30; seed++) {
      const result = runSimulation({ algorithm: solo, nodes: 1, seed, scenario: "chaos", ops: 5 });
      const first = result.scenarioDefinition.workload.firstSequence;
      firsts.add(first === undefined ? "one" : first < 2 ** 32 ? "below 2^32" : first > 2 ** 52 ? "near 2^53" : "other");
      if (first !== undefined) expect(first + 2 * 5 + result.scenarioDefinition.workload.keys).toBeLessThanOrEqual(Number.MAX_SAFE_INTEGER);
      if (first !== undefined && first < 2 ** 32) expect(first).toBeGreaterThan(2 ** 32 - 21);
    }
    expect([...firsts].sort()).toEqual(["below 2^32", "near 2^53", "one"]);
  });

  test("chaos draws client restarts when its context asks for them, and never otherwise", () => {
    const restarts = (clientRestarts: boolean): number => {
      let count = 0;
      for (let seed = 1; seed <= 30; seed++) {
        const faults = drawChaosFaults(createRng(seed), 3000, { messageTypes: [], transfer: false, reconfigure: false, clientRestarts, ops: 5 });
        count += faults.filter((fault) => fault.type === "restart-client").length;
      }
      return count;
    };
    expect(restarts(true)).toBeGreaterThan(0);
    expect(restarts(false)).toBe(0);
  });
});

describe("membership changes and leadership transfers through the admin hook", () => {
  /** withAdmin gives the probe an admin hook that records its calls and holds a membership of its own. */
  function withAdmin(accept: boolean): { algorithm: AlgorithmDefinition<ProbeMessage>; calls: string[]; booted: NodeId[] } {
    const { algorithm } = createProbeAlgorithm({});
    const calls: string[] = [];
    const booted: NodeId[] = [];
    let voters: NodeId[] = [1, 2, 3];
    let learners: NodeId[] = [];
    const result = (detail: string): AdminResult => ({ accepted: accept, detail });
    return {
      calls,
      booted,
      algorithm: {
        ...algorithm,
        createReplica: (context) => {
          booted.push(context.id);
          expect(context.replicas).toEqual([1, 2, 3]);
          return algorithm.createReplica(context);
        },
        admin: {
          membership: () => ({ voters, learners }),
          transferLeadership: (replica, target) => {
            calls.push(`transfer ${replica.status().id} -> ${target}`);
            return result("started");
          },
          reconfigure: (replica, changes: readonly MembershipChange[], options) => {
            calls.push(`reconfigure at ${replica.status().id}${options.joint ? " joint" : ""}: ${changes.map((change) => `${change.type} ${change.node}`).join(", ")}`);
            if (accept) {
              for (const change of changes) {
                if (change.type === "addVoter") voters = [...voters, change.node].sort();
                if (change.type === "removeVoter") voters = voters.filter((id) => id !== change.node);
                if (change.type === "addLearner") learners = [...learners, change.node];
                learners = learners.filter((id) => !voters.includes(id));
              }
            }
            return result(accept ? "proposed" : "refused: busy");
          },
        },
      },
    };
  }

  test("spares boot outside the initial configuration, and named changes resolve against the membership in force", () => {
    const { algorithm, calls, booted } = withAdmin(true);
    const faults: FaultInput[] = [
      { type: "reconfigure", atMs: 100, change: "add-learner" },
      { type: "reconfigure", atMs: 200, change: "promote-learner" },
      { type: "reconfigure", atMs: 300, change: "remove-leader" },
      { type: "reconfigure", atMs: 400, change: "replace", joint: true },
      { type: "transfer", atMs: 500, to: { index: 1 } },
    ];
    const options: SimulationOptions = { algorithm, nodes: 3, seed: 1, scenario: { name: "admin", description: "", spares: 2, workload: { ops: 0 }, healAtMs: 1000, faults } };
    const result = runSimulation(options);
    expect([...new Set(booted)].sort(), replayOf(options)).toEqual([1, 2, 3, 4, 5]);
    expect(calls[0], replayOf(options)).toMatch(/^reconfigure at 1: addLearner [45]$/);
    const learner = calls[0]?.slice(-1);
    expect(calls[1], replayOf(options)).toBe(`reconfigure at 1: addVoter ${learner}`);
    expect(calls[2], replayOf(options)).toBe("reconfigure at 1: removeVoter 1");
    // Voters are 2, 3 and the promoted learner; the outsiders are the removed 1 and the other spare: two voters are replaced, jointly.
    expect(calls[3], replayOf(options)).toMatch(/^reconfigure at 1 joint: removeVoter \d, addVoter \d, removeVoter \d, addVoter \d$/);
    expect(calls[4], replayOf(options)).toBe("transfer 1 -> 2");
    expect(result.ineffectiveFaults, replayOf(options)).toEqual([]);
  });

  test("a replace that keeps a voter replaces a majority of the others, never the kept one", () => {
    const kept = new Set<string>();
    for (let seed = 1; seed <= 12; seed++) {
      const { algorithm, calls } = withAdmin(true);
      const options: SimulationOptions = {
        algorithm,
        nodes: 3,
        seed,
        scenario: { name: "keep", description: "", spares: 2, workload: { ops: 0 }, healAtMs: 1000, faults: [{ type: "reconfigure", atMs: 100, change: "replace", keep: { index: 1 } }] },
      };
      runSimulation(options);
      expect(calls, replayOf(options)).toHaveLength(1);
      expect(calls[0], replayOf(options)).toMatch(/^reconfigure at 1: removeVoter [13], addVoter [45], removeVoter [13], addVoter [45]$/);
      kept.add(calls[0]!);
    }
    // Both orders of removal are drawn: the kept voter is excluded, not the draw fixed.
    expect(kept.size).toBeGreaterThan(1);
  });

  test("a refused operation is listed as without effect, with the algorithm's words", () => {
    const { algorithm } = withAdmin(false);
    const options: SimulationOptions = {
      algorithm,
      nodes: 3,
      seed: 1,
      scenario: { name: "refused", description: "", spares: 1, workload: { ops: 0 }, healAtMs: 1000, faults: [{ type: "reconfigure", atMs: 100, change: "add-voter" }] },
    };
    const result = runSimulation(options);
    expect(result.ineffectiveFaults, replayOf(options)).toHaveLength(1);
    expect(result.ineffectiveFaults[0], replayOf(options)).toMatch(/refused: busy/);
  });

  test("an algorithm without an admin hook boots no spares", () => {
    const { algorithm, log } = createProbeAlgorithm({});
    runSimulation({ algorithm, nodes: 3, seed: 1, scenario: { name: "no-admin", description: "", spares: 2, workload: { ops: 0 }, healAtMs: 100 } });
    expect(log.replicasCreated).toBe(3);
  });
});
