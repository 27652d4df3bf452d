// Faults timed by an election (issue 21): messages held in the network, and a cut that waits for the next leader,
// holds what the former leader sends, cuts the new one off with companions a moment after it leads, and heals
// towards the former leader first. The probe's pings show what the network did with each message.
import { describe, expect, test } from "vitest";
import { type FaultInput, type ScenarioInput, type SimulationOptions, runSimulation } from "@concord/sim";
import { handoverAlgorithm, handoverTicks } from "./handover-algorithm.ts";
import { replayOf } from "./helpers.ts";
import type { Receipt } from "./probe-algorithm.ts";

/** pinging runs pings every 5 ticks of 1 ms and a few writes spread over 1.5 s (so that the run outlasts the heal at 1 s), with the faults under test. */
function pinging(faults: FaultInput[]): ScenarioInput {
  return { name: "held", description: "Pings, with the faults under test.", tickMs: 1, disk: { syncMs: 0 }, workload: { ops: 10, clients: 1, spreadMs: 1500 }, healAtMs: 1000, faults };
}

function run(nodes: number, faults: FaultInput[]): { receipts: readonly Receipt[]; faultLog: readonly string[]; replay: string } {
  const { algorithm, log } = handoverAlgorithm({ pingEveryTicks: 5 });
  const options: SimulationOptions = { algorithm, nodes, scenario: pinging(faults), seed: 7 };
  const result = runSimulation(options);
  return { receipts: log.receipts, faultLog: result.faultLog, replay: `${replayOf(options)}\n${result.faultLog.join("\n")}` };
}

/** between lists the pings from `from` to `to` sent in ticks [fromTick, toTick). */
function between(receipts: readonly Receipt[], from: number, to: number, fromTick: number, toTick: number): Receipt[] {
  return receipts.filter((receipt) => receipt.from === from && receipt.to === to && receipt.sentTick >= fromTick && receipt.sentTick < toTick);
}

describe("held messages", () => {
  test("a link fault that holds messages delivers every one of them, in the order sent, when it ends", () => {
    const { receipts, replay } = run(3, [{ type: "link", atMs: 100, durationMs: 100, link: {}, from: { index: 0 }, to: { index: 1 }, hold: true }]);
    const held = between(receipts, 1, 2, 102, 198);
    // Pings every 5 ticks: about 19 of them sent inside the hold, none lost, none early, in order.
    expect(held.length, replay).toBeGreaterThanOrEqual(18);
    for (const receipt of held) expect(receipt.receivedTick, replay).toBeGreaterThanOrEqual(199);
    expect(held.map((receipt) => receipt.id), replay).toEqual(held.map((receipt) => receipt.id).sort((a, b) => a - b));
    // Another link, and the same link after the hold, deliver at once.
    for (const receipt of [...between(receipts, 1, 3, 102, 198), ...between(receipts, 1, 2, 210, 900)]) expect(receipt.receivedTick - receipt.sentTick, replay).toBeLessThanOrEqual(2);
  });

  test("a cut for the next leader holds the former leader's messages, cuts the new leader off with a companion after it leads, and heals towards the former leader first", () => {
    const cutMs = 100;
    const healsFirstMs = 20;
    const { receipts, faultLog, replay } = run(5, [
      {
        type: "partition",
        atMs: 100,
        isolate: ["leader"],
        nextLeader: true,
        holdLeader: "all",
        windowMs: 500,
        afterLeadsMs: 5,
        companions: 1,
        formerLeaderHealsFirstMs: healsFirstMs,
        durationMs: cutMs,
      },
    ]);
    expect(faultLog.join("\n")).toMatch(/partition armed \(next leader above epoch 1, holding what leader 1 sends to nodes 2,3,4,5\)/);
    const cut = /partition \(the next leader, epoch 2\) nodes (\d),(\d) \((\d+) held messages of node 1 leave now/.exec(faultLog.join("\n"));
    expect(cut, replay).not.toBeNull();
    const isolated = [Number(cut?.[1]), Number(cut?.[2])];
    expect(isolated, replay).toContain(2);
    const companion = isolated.find((id) => id !== 2) as number;
    expect([3, 4, 5], replay).toContain(companion);
    const outside = [3, 4, 5].filter((id) => id !== companion);
    const strikeTick = handoverTicks + 5;
    const healTick = strikeTick + cutMs;
    // Held from 1 while the cut waited: the replicas outside hear it when the cut strikes, those cut off when it heals towards 1.
    for (const to of outside) {
      const held = between(receipts, 1, to, 102, handoverTicks - 2);
      expect(held.length, replay).toBeGreaterThan(0);
      for (const receipt of held) expect(Math.abs(receipt.receivedTick - strikeTick), replay).toBeLessThanOrEqual(2);
    }
    for (const to of isolated) {
      const held = between(receipts, 1, to, 102, handoverTicks - 2);
      expect(held.length, replay).toBeGreaterThan(0);
      for (const receipt of held) expect(Math.abs(receipt.receivedTick - healTick), replay).toBeLessThanOrEqual(2);
      // Sent across the cut while it lasts: lost.
      expect(between(receipts, 1, to, strikeTick + 2, healTick - 2), replay).toEqual([]);
      // Healed towards 1 first: 1 reaches the cut-off replicas, the others do not yet.
      expect(between(receipts, 1, to, healTick + 2, healTick + healsFirstMs - 2).length, replay).toBeGreaterThan(0);
      for (const other of outside) expect(between(receipts, other, to, strikeTick + 2, healTick + healsFirstMs - 2), replay).toEqual([]);
    }
    expect(faultLog.join("\n"), replay).toMatch(/partition heals towards node 1 first nodes \d,\d \(for the rest in 20 ms\)/);
  });

  test("a cut for the next leader with no leader in its window acts on nothing, and what it held leaves at the heal", () => {
    const { receipts, faultLog, replay } = run(3, [{ type: "partition", atMs: 300, isolate: ["leader"], nextLeader: true, holdLeader: "follower", windowMs: 100, durationMs: 50 }]);
    const heldTo = Number(/holding what leader 2 sends to node (\d)/.exec(faultLog.join("\n"))?.[1]);
    expect([1, 3], replay).toContain(heldTo);
    const held = between(receipts, 2, heldTo, 302, 990);
    expect(held.length, replay).toBeGreaterThan(0);
    for (const receipt of held) expect(receipt.receivedTick, replay).toBeGreaterThanOrEqual(999);
    expect(faultLog.join("\n"), replay).not.toMatch(/the next leader/);
  });
});
