import { describe, expect, test } from "vitest";
import type { FaultInput, SimulationOptions } from "@concord/sim";
import { runSimulation } from "@concord/sim";
import { createProbeAlgorithm } from "./probe-algorithm.ts";
import { expectGuaranteesKept, replayOf } from "./helpers.ts";

const startUs = 500_000;
const endUs = 1_500_000;

/**
 * runPings runs five probe replicas that ping each other every tick, under
 * one partition fault from 500 ms to 1.5 s, and returns for every ping sent
 * whether it was delivered.
 */
function runPings(fault: FaultInput, seed: number): { sends: { from: number; to: number; timeUs: number; delivered: boolean }[]; replay: string } {
  const { algorithm, log } = createProbeAlgorithm({ pingEveryTicks: 1 });
  const options: SimulationOptions = {
    algorithm,
    nodes: 5,
    seed,
    scenario: { name: "ping-partition", description: "Pings across a scheduled partition.", workload: { ops: 0 }, healAtMs: 2500, faults: [fault] },
  };
  const result = runSimulation(options);
  const delivered = new Set(log.receipts.map((receipt) => `${receipt.from}>${receipt.to}#${receipt.id}`));
  const lastSendUs = result.virtualSeconds * 1_000_000 - 2000; // later pings may still be in flight when the run ends
  const sends = log.sends
    .filter((send) => send.type === "ping" && send.timeUs <= lastSendUs)
    .map((send) => ({ from: send.from, to: send.to, timeUs: send.timeUs, delivered: delivered.has(`${send.from}>${send.to}#${send.id}`) }));
  return { sends, replay: replayOf(options) };
}

type Phase = "before" | "during" | "after";

function phase(timeUs: number): Phase {
  if (timeUs < startUs) return "before";
  return timeUs < endUs ? "during" : "after";
}

/** tally counts sent and delivered pings per link and phase. */
function tally(sends: ReturnType<typeof runPings>["sends"]): Map<string, { sent: number; delivered: number }> {
  const counts = new Map<string, { sent: number; delivered: number }>();
  for (const send of sends) {
    const key = `${send.from}>${send.to} ${phase(send.timeUs)}`;
    const entry = counts.get(key) ?? { sent: 0, delivered: 0 };
    entry.sent++;
    if (send.delivered) entry.delivered++;
    counts.set(key, entry);
  }
  return counts;
}

const links: [number, number][] = [];
for (let from = 1; from <= 5; from++) for (let to = 1; to <= 5; to++) if (from !== to) links.push([from, to]);

describe("partitions, end to end", () => {
  test.each([1, 2])("a partition of nodes 1 and 2 blocks exactly the links across it, both ways, from 500 ms until it heals at 1.5 s (seed %i)", (seed) => {
    const { sends, replay } = runPings({ type: "partition", atMs: 500, isolate: [{ index: 0 }, { index: 1 }], oneWay: false, durationMs: 1000 }, seed);
    const counts = tally(sends);
    const minority = new Set([1, 2]);
    for (const [from, to] of links) {
      const crosses = minority.has(from) !== minority.has(to);
      for (const when of ["before", "during", "after"] as const) {
        const entry = counts.get(`${from}>${to} ${when}`);
        expect(entry?.sent ?? 0, `${from}>${to} ${when}: ${replay}`).toBeGreaterThan(40);
        const expectedDelivered = crosses && when === "during" ? 0 : entry?.sent;
        expect(entry?.delivered, `${from}>${to} ${when}: ${replay}`).toBe(expectedDelivered);
      }
    }
  });

  test("a one-way partition of node 3 blocks only what node 3 sends, then heals", () => {
    const { sends, replay } = runPings({ type: "partition", atMs: 500, isolate: [{ index: 2 }], oneWay: true, durationMs: 1000 }, 4);
    const counts = tally(sends);
    for (const [from, to] of links) {
      for (const when of ["before", "during", "after"] as const) {
        const entry = counts.get(`${from}>${to} ${when}`);
        const expectedDelivered = from === 3 && when === "during" ? 0 : entry?.sent;
        expect(entry?.delivered, `${from}>${to} ${when}: ${replay}`).toBe(expectedDelivered);
      }
    }
  });

  test("a partition cuts clients off from the isolated replica, and they complete their operations once it heals", () => {
    const { algorithm } = createProbeAlgorithm({});
    const options: SimulationOptions = {
      algorithm,
      nodes: 3,
      seed: 6,
      scenario: {
        name: "client-partition",
        description: "The primary is isolated while clients run.",
        workload: { ops: 60, clients: 3, spreadMs: 1000 },
        faults: [{ type: "partition", atMs: 300, isolate: [{ index: 0 }], durationMs: 600 }],
      },
    };
    const result = runSimulation(options);
    const replay = replayOf(options);
    // No operation completes while the partition holds (a reply already in flight at 300 ms lands by 301 ms).
    const completedDuring = result.history.filter((op) => op.status === "ok" && (op.completeUs as number) > 301_000 && (op.completeUs as number) < 900_000);
    expect(completedDuring, replay).toEqual([]);
    expectGuaranteesKept(result, options, "completed");
  });
});

describe("link faults, end to end", () => {
  test("a link fault with 20% drop loses about 20% of messages while it lasts, and none before or after", () => {
    const { sends, replay } = runPings({ type: "link", atMs: 500, durationMs: 1000, link: { dropPercent: 20 } }, 3);
    const byPhase = new Map<Phase, { sent: number; delivered: number }>();
    for (const send of sends) {
      const entry = byPhase.get(phase(send.timeUs)) ?? { sent: 0, delivered: 0 };
      entry.sent++;
      if (send.delivered) entry.delivered++;
      byPhase.set(phase(send.timeUs), entry);
    }
    const during = byPhase.get("during") as { sent: number; delivered: number };
    expect(byPhase.get("before")?.delivered, replay).toBe(byPhase.get("before")?.sent);
    expect(byPhase.get("after")?.delivered, replay).toBe(byPhase.get("after")?.sent);
    // 2,000 pings during the fault: the loss rate's standard deviation is 0.9 points; allow 5.
    const lossPercent = (100 * (during.sent - during.delivered)) / during.sent;
    expect(during.sent, replay).toBeGreaterThan(1900);
    expect(Math.abs(lossPercent - 20), replay).toBeLessThan(4.5);
  });
});

describe("duplication, end to end", () => {
  test("each copy of a duplicated message is delivered as its own decoded object", () => {
    const { algorithm, log } = createProbeAlgorithm({ pingEveryTicks: 1 });
    runSimulation({
      algorithm,
      nodes: 2,
      seed: 1,
      scenario: { name: "all-duplicated", description: "", link: { duplicatePercent: 100 }, workload: { ops: 0 }, healAtMs: 200 },
    });
    const copies = log.receipts.filter((receipt) => receipt.from === 1 && receipt.id === 5);
    expect(copies.length).toBe(2);
    expect(copies[0]?.message).toEqual(copies[1]?.message);
    expect(copies[0]?.message).not.toBe(copies[1]?.message);
  });
});
