import { describe, expect, it } from "vitest";
import type { HistoryOperation } from "@concord/core";
import type { KvCommand, KvResult } from "@concord/kv";
import { type FaultRecord, type LinkShaping, type NamespaceNetwork, type PlannedFault, diskShapes, nemesisKinds, netemArguments, planNemesis, runNemesis, windowFigures } from "@concord/lab";

describe("the nemesis schedule", () => {
  it("is drawn from the seed: the same setup gives the same schedule, another seed another", () => {
    const setup = { kinds: ["partition", "kill", "pause"] as const, nodes: 5, seconds: 30, seed: 7 };
    expect(planNemesis(setup)).toEqual(planNemesis(setup));
    expect(planNemesis({ ...setup, seed: 8 })).not.toEqual(planNemesis(setup));
  });

  it("runs one fault at a time from 1 s in to 1 s before the end, each kind once before any repeats", () => {
    for (let seed = 1; seed <= 50; seed++) {
      const schedule = planNemesis({ kinds: nemesisKinds, nodes: 3, seconds: 40, seed });
      expect(schedule.length).toBeGreaterThanOrEqual(nemesisKinds.length);
      expect(new Set(schedule.slice(0, nemesisKinds.length).map((fault) => fault.kind)).size).toBe(nemesisKinds.length);
      schedule.forEach((fault, index) => {
        expect(fault.startMs).toBeGreaterThanOrEqual(1_000);
        expect(fault.endMs).toBeLessThanOrEqual(39_000);
        expect(fault.endMs).toBeGreaterThan(fault.startMs);
        if (index > 0) expect(fault.startMs).toBeGreaterThanOrEqual((schedule[index - 1] as (typeof schedule)[number]).endMs + 500);
        expect([...fault.nodes].sort()).toEqual([0, 1, 2]);
      });
    }
  });

  it("runs a clock at a quarter, half, twice or four times real time", () => {
    const rates = new Set(Array.from({ length: 40 }, (_unused, seed) => planNemesis({ kinds: ["clock"], nodes: 3, seconds: 10, seed })).flat().map((fault) => fault.amount));
    expect([...rates].sort()).toEqual([0.25, 0.5, 2, 4]);
  });

  it("fills a disk (the leader's or a random node's) or damages a killed node's log (torn or corrupt)", () => {
    const shapes = new Set(Array.from({ length: 40 }, (_unused, seed) => planNemesis({ kinds: ["disk"], nodes: 3, seconds: 10, seed })).flat().map((fault) => fault.shape));
    expect([...shapes].sort()).toEqual([...diskShapes].sort());
  });

  it("draws a bridge only where there are three nodes to make one of", () => {
    const shapes = new Set(Array.from({ length: 60 }, (_unused, seed) => planNemesis({ kinds: ["partition"], nodes: 2, seconds: 10, seed })).flat().map((fault) => fault.shape));
    expect(shapes.has("bridge")).toBe(false);
    expect(shapes.has("majority-minority")).toBe(true);
    expect(planNemesis({ kinds: [], nodes: 3, seconds: 10, seed: 1 })).toEqual([]);
  });
});

describe("running the schedule", () => {
  it("keeps each fault's planned length and the calm before it when healing the one before ran late, and leaves out one that would start too late", async () => {
    const events: string[] = [];
    const target = {
      nodes: 3,
      network: undefined as unknown as NamespaceNetwork, // kill touches only the processes
      leader: async () => 2,
      pid: () => 1,
      kill: async (node: number) => void events.push(`kill ${node}`),
      // A restart that takes 150 ms, as a node under tsx on a busy machine takes seconds.
      restart: async (node: number) => {
        await new Promise((resolve) => setTimeout(resolve, 150));
        events.push(`restart ${node}`);
      },
    };
    const kill = (startMs: number, endMs: number): PlannedFault => ({ kind: "kill", shape: "leader", nodes: [0, 1, 2], startMs, endMs });
    // The third is planned at 900 ms, and starts no earlier than 1050 ms after the first ran 150 ms late: past the last start, 800 ms.
    const records = await runNemesis(target, [kill(10, 40), kill(80, 120), kill(900, 920)], performance.now(), () => {}, () => false, 800);
    expect(events).toEqual(["kill 2", "restart 2", "kill 2", "restart 2"]);
    expect(records).toHaveLength(2);
    const [first, second] = records as [FaultRecord, FaultRecord];
    expect(first.endMs).toBeGreaterThanOrEqual(40 + 150);
    // The second starts its planned 40 ms of calm after the first really ended, and is in force its planned 40 ms before its heal begins.
    expect(second.startMs).toBeGreaterThanOrEqual(first.endMs + 40 - 1);
    expect(second.endMs - second.startMs).toBeGreaterThanOrEqual(40 + 150 - 1);
    expect(second.plannedStartMs).toBe(80);
  });
});

describe("latency, reordering and duplicates", () => {
  it("a latency fault shapes what its nodes send with the delay drawn, a fifth of it as jitter, a fifth of it in percent reordered and a fiftieth sent twice, and clears it at the heal", async () => {
    const calls: [number, LinkShaping | undefined][] = [];
    const network = {
      delayMechanism: "netem",
      setDelay: async (node: number, shaping: LinkShaping | undefined) => void calls.push([node, shaping]),
      takeDelayStats: async () => undefined,
      takeWireStats: async () => undefined,
    } as unknown as NamespaceNetwork;
    const target = { nodes: 3, network, leader: async () => undefined, pid: () => 1, kill: async () => {}, restart: async () => {} };
    const records = await runNemesis(target, [{ kind: "latency", shape: "all", nodes: [2, 0, 1], startMs: 0, endMs: 10, amount: 150 }], performance.now(), () => {});
    const shaping = { delayMs: 150, jitterMs: 30, reorderPercent: 30, duplicatePercent: 3 };
    expect(calls).toEqual([[2, shaping], [0, shaping], [1, shaping], [2, undefined], [0, undefined], [1, undefined]]);
    expect(records[0]?.description).toBe("latency all: 150 ms (jitter 30 ms) on what [0 1 2] send, 30% of their packets reordered and 3% sent twice, by tc netem on their links");
  });

  it("where the kernel has netem, tc is asked for its delay with jitter, reorder and duplicate", () => {
    expect(netemArguments({ delayMs: 200, jitterMs: 40, reorderPercent: 40, duplicatePercent: 4 })).toEqual(["delay", "200ms", "40ms", "reorder", "40%", "duplicate", "4%"]);
    expect(netemArguments({ delayMs: 1 })).toEqual(["delay", "1ms"]);
    expect(netemArguments({ delayMs: 50, jitterMs: 10, reorderPercent: 0, duplicatePercent: 0, lossPercent: 5 })).toEqual(["delay", "50ms", "10ms", "loss", "5%"]);
    // netem reorders by sending a share without the delay the rest wait: no delay, nothing to reorder.
    expect(() => netemArguments({ reorderPercent: 10 })).toThrow("reorderPercent needs a delay");
    expect(() => netemArguments({ delayMs: 10, duplicatePercent: 120 })).toThrow("duplicatePercent must be 0 to 100, got 120");
  });
});

describe("availability and latency per fault window", () => {
  const op = (id: number, invokeMs: number, completeMs: number | undefined, status: "ok" | "fail" | "info"): HistoryOperation<KvCommand, KvResult> => ({
    id,
    clientId: 1,
    input: { type: "get", key: "k" },
    invokeUs: invokeMs * 1000,
    completeUs: completeMs === undefined ? undefined : completeMs * 1000,
    status,
    output: status === "ok" ? { type: "get", value: undefined } : undefined,
  });
  const fault: FaultRecord = { kind: "kill", shape: "leader", nodes: [0], description: "kill leader: [0]", plannedStartMs: 1000, plannedEndMs: 2000, startMs: 1000, endMs: 2000 };

  it("splits the run into calm and fault windows and counts the operations invoked in each", () => {
    const windows = windowFigures([op(0, 100, 110, "ok"), op(1, 1100, 1400, "ok"), op(2, 1500, undefined, "info"), op(3, 1600, 1700, "fail"), op(4, 2500, 2520, "ok")], [fault], 3000);
    expect(windows.map((window) => [window.kind, window.fromMs, window.toMs, window.invoked, window.ok, window.failed, window.indeterminate, window.availability])).toEqual([
      ["calm", 0, 1000, 1, 1, 0, 0, 1],
      ["kill", 1000, 2000, 3, 1, 1, 1, 0.333],
      ["calm", 2000, 3000, 1, 1, 0, 0, 1],
    ]);
    expect(windows[1]?.latencyMs.max).toBe(300);
    expect(windows.map((window) => window.okPerSecond)).toEqual([1, 1, 1]);
  });
});
