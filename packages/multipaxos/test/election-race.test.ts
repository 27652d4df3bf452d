// The election race (issue 21) on Multi-Paxos: the leader's link to one follower stalls, the follower is elected and
// cut off with one companion the moment it leads, the majority elects a leader of its own, and the cut heals towards
// the former leader first, whose held messages (a lower ballot's Accepts and Heartbeats) reach the cut-off leader
// with a watermark above its own. Bug 1's schedule: the catch-up that watermark starts tells that leader, while it
// still leads, that a higher ballot chose another value where it proposed; it must step down before its watermark
// makes its companion execute its losing proposal. Both of bug 1's mutants name this file in their Tests: line.
import { describe, expect, it } from "vitest";
import { multipaxos } from "@concord/multipaxos";
import { replayCommand } from "@concord/lab";
import { type ScenarioInput, runSimulation } from "@concord/sim";
import { judgeRun } from "@concord/testkit";

const scenario: ScenarioInput = {
  name: "election-race",
  description: "chaos's election race alone, on a workload spread over 3 s.",
  warmupMs: 500,
  workload: { spreadMs: 3000 },
  faults: [
    {
      type: "partition",
      atMs: 600,
      isolate: ["leader"],
      nextLeader: true,
      holdLeader: "follower",
      windowMs: 2000,
      companions: 1,
      formerLeaderHealsFirstMs: 100,
      clients: "split",
      durationMs: 800,
    },
  ],
};

describe("chaos's election race on Multi-Paxos at n = 5 (issue 21, bug 1)", () => {
  it.each([
    ["catch-up", {}],
    ["snapshot transfer", { snapshotEveryEntries: 2 }],
  ])("the new leader, most often the held follower, is cut off with a companion and hears the former leader first, and every run keeps every guarantee (learning by %s)", (_how, protocolOptions) => {
    let heldLeaderCut = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const run = { algo: "multipaxos", nodes: 5, scenario, seed, protocolOptions };
      let faultLog: readonly string[] = [];
      const verdict = judgeRun(
        () => {
          const result = runSimulation({ algorithm: multipaxos, nodes: 5, scenario, seed, protocolOptions });
          faultLog = result.faultLog;
          return result;
        },
        { liveness: "none-failed", undecidedIsBroken: true, replay: () => replayCommand(run) },
      );
      expect(verdict.problems, verdict.report).toEqual([]);
      const log = faultLog.join("\n");
      const held = /holding what leader \d+ sends to node (\d+)/.exec(log)?.[1];
      const cut = /\(the next leader, epoch \d+\) nodes (\d+),(\d+) /.exec(log);
      if (held !== undefined && cut !== null && (cut[1] === held || cut[2] === held) && /heals towards node \d+ first/.test(log)) heldLeaderCut++;
    }
    expect(heldLeaderCut).toBeGreaterThan(6);
  });
});
