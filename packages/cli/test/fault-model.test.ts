// The simulator's fault model on the real protocols (issues 10 and 21): a chaos swarm's crashes lose
// unsynced records and tear them for every protocol, membership changes and leadership transfers are
// taken by the leaders that chaos asks, and concord sim --json reports what the crashes cost.
import { describe, expect, it } from "vitest";
import { runSimulation } from "@concord/sim";
import { algorithms, checkRun, clusterSizes, simulate } from "@concord/cli";

const seeds = 20;

describe.each(algorithms.filter((algorithm) => algorithm.name !== "solo").map((algorithm) => [algorithm.name, algorithm] as const))("chaos's fault model on %s", (name, algorithm) => {
  it(`crashes lose unsynced records and tear them within ${seeds} seeds, and operations act`, () => {
    const nodes = clusterSizes(algorithm, [1])[0] as number;
    const totals = { crashes: 0, lostRecords: 0, torn: 0, reconfigured: 0, transferred: 0 };
    for (let seed = 1; seed <= seeds; seed++) {
      const result = runSimulation({ algorithm, nodes, scenario: "chaos", seed, ops: 40, clients: 3 });
      totals.crashes += result.crashes.crashes;
      totals.lostRecords += result.crashes.lostRecords;
      totals.torn += result.crashes.torn;
      totals.reconfigured += result.faultLog.filter((line) => / reconfigure .*\((proposed|acceptors)/.test(line)).length;
      totals.transferred += result.faultLog.filter((line) => / transfer .*\(transfer to \d+ started\)/.test(line)).length;
    }
    expect(totals.lostRecords, JSON.stringify(totals)).toBeGreaterThan(0);
    expect(totals.torn, JSON.stringify(totals)).toBeGreaterThan(0);
    if (algorithm.admin?.reconfigure !== undefined) expect(totals.reconfigured, JSON.stringify(totals)).toBeGreaterThan(0);
    if (algorithm.admin?.transferLeadership !== undefined) expect(totals.transferred, JSON.stringify(totals)).toBeGreaterThan(0);
    expect(name).toBe(algorithm.name);
  });
});

describe("concord sim --json", () => {
  it("reports what the crashes cost, the faults without effect and the operations client restarts abandoned", () => {
    const raft = algorithms.find((algorithm) => algorithm.name === "raft");
    if (raft === undefined) throw new Error("raft is not registered");
    const { report, result } = simulate({ algorithm: raft, nodes: 3, scenario: "leader-crash", seed: 2, ops: 60 }, checkRun);
    expect(report.crashes).toEqual(result.crashes);
    expect(report.crashes.crashes).toBe(1);
    expect(report.ineffectiveFaults).toEqual([]);
    expect(report.abandonedOperations).toBe(0);
  });
});
