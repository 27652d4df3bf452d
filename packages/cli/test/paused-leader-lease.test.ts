// Issue 10, bug 2, as a deterministic scenario: a leader cut off from its peers (half the clients
// with it) and paused past the election timeout must not serve a stale lease read when it resumes.
// The majority elects a new leader and takes writes from the other clients meanwhile; the reads
// waiting at the old leader are served only if its lease still looks valid, which it does exactly
// when the simulator drops a paused node's ticks (mutant sim/paused-node-drops-ticks: 16 of 20
// Raft seeds and 12 of 20 Multi-Paxos seeds then fail).
import { describe, expect, it } from "vitest";
import { type ScenarioInput, runSimulation } from "@concord/sim";
import { findAlgorithm, replayCommand } from "@concord/lab";
import { judgeRun } from "@concord/testkit";

const pausedLeader: ScenarioInput = {
  name: "paused-leader-cut-off",
  description: "The leader is cut off from its peers, half the clients with it, and paused past the election timeout; lease reads on.",
  warmupMs: 500,
  workload: { clients: 8, ops: 300, spreadMs: 2000, mix: { get: 50, put: 50, append: 0, cas: 0, delete: 0 }, keys: 2 },
  faults: [
    { type: "partition", atMs: 300, isolate: ["leader"], clients: "split", durationMs: 1200 },
    { type: "pause", atMs: 300, target: "leader", durationMs: 600 },
  ],
};

const cases = [
  { algo: "raft", protocolOptions: { leaseReads: true, checkQuorum: true } },
  { algo: "multipaxos", protocolOptions: { leaseTicks: 12 } },
];

describe.each(cases)("a leader paused past the election timeout, cut off with half the clients: $algo", ({ algo, protocolOptions }) => {
  it("serves no stale lease read when it resumes (8 seeds)", () => {
    const algorithm = findAlgorithm(algo);
    if (algorithm === undefined) throw new Error(`no algorithm named ${algo}`);
    for (let seed = 1; seed <= 8; seed++) {
      const run = { nodes: 3, scenario: pausedLeader, seed, protocolOptions };
      const result = runSimulation({ algorithm, ...run });
      const verdict = judgeRun(result, { liveness: "none", undecidedIsBroken: true, replay: () => replayCommand({ algo, ...run }) });
      expect(verdict.problems, verdict.report).toEqual([]);
      expect(result.faultLog.some((line) => line.includes("pause")), `seed ${seed}`).toBe(true);
    }
  });
});
