// Issue 21: chaos's membership races (drawChaosMembershipRaces in packages/sim/src/scenarios.ts)
// must act, not only be drawn. Each cuts a voter off across a change that replaces a majority of
// the voters but keeps it, so that it misses the change, and brings it back as the new
// configuration's leader is cut off (the new voters' promises lost) or cut off from it alone (the
// new voters' refusals lost). On Multi-Paxos the returning member then wins phase 1 with the
// removed voters and, once it learns the new configuration, heartbeats the new voters, and those
// (the ones whose lease grant has run out) answer: the path of issue 21's bug 2. A test of the
// draws alone would pass with races that never line up; this one fails if none does.
import { createRng, deriveSeed } from "@concord/core";
import { multipaxos } from "@concord/multipaxos";
import { type ChaosMembershipRaceKind, drawChaosMembershipRaces, drawChaosRaces, runSimulation } from "@concord/sim";
import { describe, expect, test } from "vitest";

const nodes = 3;
const context = { messageTypes: multipaxos.codec.typeNames ?? [], transfer: false, reconfigure: true, clientRestarts: true, ops: 200 };

/** raceSeeds are the first `count` seeds whose chaos run draws a membership race of `kind` (and so no race of the first kind). */
function raceSeeds(kind: ChaosMembershipRaceKind, count: number): { seed: number; away: number; returnAtMs: number }[] {
  const found: { seed: number; away: number; returnAtMs: number }[] = [];
  for (let seed = 1; found.length < count; seed++) {
    if (drawChaosRaces(createRng(deriveSeed(seed, "chaos-races")), 3000, nodes).kind !== undefined) continue;
    const race = drawChaosMembershipRaces(createRng(deriveSeed(seed, "chaos-membership-races")), 3000, nodes, context);
    const away = race.faults[0];
    if (race.kind !== kind || away?.type !== "partition" || typeof away.isolate[0] !== "object") continue;
    found.push({ seed, away: away.isolate[0].index + 1, returnAtMs: away.atMs + away.durationMs });
  }
  return found;
}

describe("chaos's membership races act on Multi-Paxos", () => {
  test("the replace keeps the member away, which comes back, leads, heartbeats the new voters and, with leases on, hears from one", () => {
    let answered = 0;
    for (const kind of ["member-returns-as-new-leader-cut", "member-returns-cut-from-new-leader"] as const) {
      let kept = 0;
      let led = 0;
      for (const { seed, away, returnAtMs } of raceSeeds(kind, 8)) {
        // Fault times count from the end of the 500 ms warm-up; the trace's from the start of the run.
        const result = runSimulation({ algorithm: multipaxos, nodes, seed, scenario: "chaos", recordMessages: { fromMs: 500 + returnAtMs, toMs: 500 + returnAtMs + 1500 } });
        expect(result.invariantViolations, `seed ${seed}`).toEqual([]);
        if (result.faultLog.some((line) => new RegExp(`reconfigure replace: .*acceptors \\[(\\d,)*${away}(,\\d)*\\] proposed`).test(line))) kept++;
        const messages = result.messageTrace?.messages ?? [];
        const spare = (id: number): boolean => id > nodes && id <= nodes + 2;
        if (messages.some((message) => message.from === away && spare(message.to) && message.type === "heartbeat")) led++;
        if (messages.some((message) => spare(message.from) && message.to === away && message.type === "heartbeatAck" && message.dropped === undefined)) answered++;
      }
      // Measured: 7 and 6 of 8 for each kind (a replace needs a leader to ask, and the member must win phase 1 in time).
      expect(kept, `${kind}: seeds whose replace kept the member away`).toBeGreaterThanOrEqual(5);
      expect(led, `${kind}: seeds whose returning member led and heartbeated a new voter`).toBeGreaterThanOrEqual(4);
    }
    // A heartbeat is acknowledged only with leases on (drawn in some runs): 2 of the 16.
    expect(answered, "seeds whose returning member heard a new voter's acknowledgement").toBeGreaterThanOrEqual(1);
  });
});
