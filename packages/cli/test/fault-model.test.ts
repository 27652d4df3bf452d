// The simulator's fault model on the real protocols (issues 10 and 21): a chaos swarm's crashes lose
// unsynced records and tear them for every protocol, membership changes and leadership transfers are
// taken by the leaders that chaos asks, and concord sim --json reports what the crashes cost.
import { describe, expect, it } from "vitest";
import type { AlgorithmDefinition, Ready } from "@concord/core";
import { createRng, deriveSeed } from "@concord/core";
import { type ScenarioInput, drawChaosOperationRaces, drawChaosSuccessionRaces, runSimulation } from "@concord/sim";
import { algorithms, checkRun, clusterSizes, replayCommand, simulate } from "@concord/lab";
import { type JudgeOptions, type RunVerdict, judgeRun } from "@concord/testkit";

const seeds = 20;

/**
 * seedsFor is how many seeds look for lost and torn records. A write-once register (paxos) writes records only
 * while a key has no value, and the 8 keys of a run are fixed by its first puts, so its crashes find unsynced
 * records more rarely: 40 seeds (its first torn record is at seed 23).
 */
function seedsFor(algorithm: AlgorithmDefinition<unknown>): number {
  return algorithm.kvSemantics === "write-once" ? 2 * seeds : seeds;
}

describe.each(algorithms.filter((algorithm) => algorithm.name !== "solo").map((algorithm) => [algorithm.name, algorithm] as const))("chaos's fault model on %s", (name, algorithm) => {
  it(`crashes lose unsynced records and tear them within ${seedsFor(algorithm)} seeds, and operations act`, () => {
    const nodes = clusterSizes(algorithm, [1])[0] as number;
    const totals = { crashes: 0, lostRecords: 0, torn: 0, reconfigured: 0, transferred: 0 };
    for (let seed = 1; seed <= seedsFor(algorithm); seed++) {
      const result = runSimulation({ algorithm, nodes, scenario: "chaos", seed, ops: 40, clients: 3 });
      totals.crashes += result.crashes.crashes;
      totals.lostRecords += result.crashes.lostRecords;
      totals.torn += result.crashes.torn;
      totals.reconfigured += result.faultLog.filter((line) => / reconfigure .*\((proposed|acceptors|group)/.test(line)).length;
      totals.transferred += result.faultLog.filter((line) => / transfer .*\(transfer to \d+ started\)/.test(line)).length;
    }
    expect(totals.lostRecords, JSON.stringify(totals)).toBeGreaterThan(0);
    expect(totals.torn, JSON.stringify(totals)).toBeGreaterThan(0);
    if (algorithm.admin?.reconfigure !== undefined) expect(totals.reconfigured, JSON.stringify(totals)).toBeGreaterThan(0);
    if (algorithm.admin?.transferLeadership !== undefined) expect(totals.transferred, JSON.stringify(totals)).toBeGreaterThan(0);
    expect(name).toBe(algorithm.name);
  });
});

/** judged runs a registered algorithm and judges the run with the test kit (no undecided history passes), with the command that replays it. */
function judged(run: { algo: string; nodes: number; scenario: string | ScenarioInput; seed: number; protocolOptions?: Record<string, unknown> }, liveness: NonNullable<JudgeOptions["liveness"]>): RunVerdict {
  const algorithm = algorithms.find((candidate) => candidate.name === run.algo);
  if (algorithm === undefined) throw new Error(`${run.algo} is not registered`);
  const { algo: _algo, ...options } = run;
  return judgeRun(() => runSimulation({ algorithm, ...options }), { liveness, undecidedIsBroken: true, replay: () => replayCommand(run) });
}

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

describe("membership changes and transfers racing crashes, partitions and leases", () => {
  const scenario: ScenarioInput = {
    name: "membership-race",
    description: "Spares added, the leader removed, a joint replacement and transfers, with crashes inside unsynced windows and a partition that spares the clients.",
    warmupMs: 500,
    spares: 2,
    workload: { ops: 120, clients: 4, spreadMs: 2500 },
    faults: [
      { type: "reconfigure", atMs: 100, change: "add-voter" },
      { type: "transfer", atMs: 400 },
      { type: "crash", atMs: 500, target: "follower", restartAfterMs: 200, timing: "while-unsynced" },
      { type: "reconfigure", atMs: 800, change: "remove-leader" },
      { type: "partition", atMs: 1100, isolate: ["leader"], clients: "both", durationMs: 400 },
      { type: "reconfigure", atMs: 1300, change: "add-learner" },
      { type: "reconfigure", atMs: 1700, change: "replace", joint: true },
      { type: "crash", atMs: 1800, target: "leader", restartAfterMs: 100, timing: "after-sync" },
      { type: "transfer", atMs: 2100 },
      { type: "reconfigure", atMs: 2300, change: "promote-learner" },
    ],
  };
  it.each(["raft", "multipaxos"])("%s keeps every invariant, stays linearizable and takes some of the changes", (name) => {
    const algorithm = algorithms.find((candidate) => candidate.name === name);
    if (algorithm === undefined) throw new Error(`${name} is not registered`);
    for (let seed = 1; seed <= 6; seed++) {
      for (const protocolOptions of [{}, name === "raft" ? { leaseReads: true, checkQuorum: true, preVote: true } : { leaseTicks: 10 }]) {
        const verdict = judged({ algo: name, nodes: 3, scenario, seed, protocolOptions }, "none-failed");
        expect(verdict.problems, verdict.report).toEqual([]);
        const faultLog = verdict.result?.faultLog ?? [];
        const taken = faultLog.filter((line) => / (reconfigure|transfer) .*\((proposed|acceptors|transfer to)/.test(line)).length;
        expect(taken, `seed ${seed} ${JSON.stringify(protocolOptions)}\n${faultLog.join("\n")}`).toBeGreaterThan(0);
      }
    }
  });
});

describe("chaos's operation races on Raft (issue 21)", () => {
  const raft = algorithms.find((algorithm) => algorithm.name === "raft");
  if (raft === undefined) throw new Error("raft is not registered");
  const context = { messageTypes: [], transfer: true, reconfigure: true, clientRestarts: true, ops: 40 };
  const seedsOf = (kind: string): number[] =>
    Array.from({ length: 80 }, (_, i) => i + 1)
      .filter((seed) => drawChaosOperationRaces(createRng(deriveSeed(seed, "chaos-operation-races")), 3000, context).kind === kind)
      .slice(0, 5);

  it("a demotion in one change is asked of the leader and refused, and the run keeps every guarantee", () => {
    const refused = seedsOf("demotion-attempt").filter((seed) => {
      const verdict = judged({ algo: "raft", nodes: 3, scenario: "chaos", seed }, "none-failed");
      expect(verdict.problems, verdict.report).toEqual([]);
      return (verdict.result?.ineffectiveFaults ?? []).some((line) => /reconfigure .*"demote".*remove it rather than demote it/.test(line));
    });
    expect(refused.length).toBeGreaterThan(0);
  });

  it("a transfer aims at the voter whose removal was asked in the same instant, and the run keeps every guarantee", () => {
    const raced = seedsOf("transfer-to-removed").filter((seed) => {
      const verdict = judged({ algo: "raft", nodes: 3, scenario: "chaos", seed }, "none-failed");
      expect(verdict.problems, verdict.report).toEqual([]);
      const log = verdict.result?.faultLog ?? [];
      return log.some((line, index) => {
        const removed = / reconfigure remove-voter: removeVoter (\d+) .*\(proposed/.exec(line)?.[1];
        return removed !== undefined && log.slice(index + 1).some((later) => new RegExp(` transfer \\d+ -> ${removed} .*\\(transfer to ${removed} started\\)`).test(later));
      });
    });
    expect(raced.length).toBeGreaterThan(0);
  });
});

describe("chaos's succession race on Raft (issue 21, Figure 8)", () => {
  it("cuts off the successor the moment it leads and crashes the leader after it as it first commits, and the runs keep every guarantee", () => {
    const seeds = Array.from({ length: 60 }, (_, i) => i + 1)
      .filter((seed) => drawChaosSuccessionRaces(createRng(deriveSeed(seed, "chaos-succession-races")), 3000, 3).kind !== undefined)
      .slice(0, 6);
    let moved = 0;
    let crashedAfterCommit = 0;
    for (const seed of seeds) {
      // One entry per append, as the race needs for a new leader to spread an old entry alone (Figure 8's (c)).
      const verdict = judged({ algo: "raft", nodes: 3, scenario: "chaos", seed, protocolOptions: { batchEntriesMax: 1 } }, "none-failed");
      expect(verdict.problems, verdict.report).toEqual([]);
      const log = verdict.result?.faultLog ?? [];
      if (log.some((line) => /\(the next leader, epoch \d+\)/.test(line))) moved++;
      if (log.some((line) => / crash \(after-commit, node \d+: commit \d+ -> \d+\)/.test(line))) crashedAfterCommit++;
    }
    expect(moved, `seeds ${seeds.join(", ")}`).toBeGreaterThan(0);
    expect(crashedAfterCommit, `seeds ${seeds.join(", ")}`).toBeGreaterThan(0);
  });
});

describe("a lone replica crashed while it holds unsynced writes (issue 21: the leader's own write counts once synced)", () => {
  const scenario: ScenarioInput = {
    name: "lone-crash",
    description: "One node takes puts; it crashes inside a sync window and restarts, so an entry it counted before the sync is lost.",
    warmupMs: 500,
    disk: { syncMs: 1, tearPercent: 0 },
    workload: { ops: 200, clients: 4, spreadMs: 1000, mix: { get: 0, put: 100, append: 0, cas: 0, delete: 0 } },
    faults: [{ type: "crash", atMs: 300, target: "all", restartAfterMs: 50, timing: "while-unsynced" }],
  };
  it.each(["raft", "multipaxos"])("%s applies one history and stays linearizable", (name) => {
    const algorithm = algorithms.find((candidate) => candidate.name === name);
    if (algorithm === undefined) throw new Error(`${name} is not registered`);
    for (let seed = 1; seed <= 8; seed++) {
      const verdict = judged({ algo: name, nodes: 1, scenario, seed }, "none");
      expect(verdict.problems, verdict.report).toEqual([]);
      expect(verdict.result?.crashes.lostRecords, `seed ${seed}: the crash must land inside a sync window`).toBeGreaterThan(0);
    }
  });
});

/**
 * forgetful wraps an algorithm so that its replicas hand the runtime no records
 * to persist (a protocol that forgets to write its state): a crash then loses
 * everything, synced or not.
 */
function forgetful<M>(algorithm: AlgorithmDefinition<M>): AlgorithmDefinition<M> {
  return {
    ...algorithm,
    createReplica(context) {
      const inner = algorithm.createReplica(context);
      const handedOut = new WeakMap<Ready<M>, Ready<M>>();
      return {
        id: inner.id,
        tick: () => inner.tick(),
        step: (from, message) => inner.step(from, message),
        status: () => inner.status(),
        ready() {
          const ready = inner.ready();
          if (ready === undefined) return undefined;
          const dropped: Ready<M> = { snapshot: undefined, persist: [], messages: ready.messages };
          handedOut.set(dropped, ready);
          return dropped;
        },
        advance: (done) => inner.advance(handedOut.get(done) ?? done),
      };
    },
  };
}

describe("a replica that persists nothing", () => {
  // Raft is caught on every seed (the durable-epoch check below), PBFT on every seed by the durable-snapshot check
  // (one replica that forgets its state is within PBFT's f, so the history cannot show it, but the restarted
  // replica recovers a stable checkpoint below the one it synced), solo by its lost writes, Multi-Paxos on some
  // seeds: its restarted replica usually learns back what it forgot before it acts, and with an empty disk it boots
  // as on its first day, in the ballot it led before.
  it.each([
    { name: "raft", nodes: 3, seeds: 3, atLeast: 3 },
    { name: "pbft", nodes: 4, seeds: 3, atLeast: 3 },
    { name: "solo", nodes: 1, seeds: 3, atLeast: 3 },
    { name: "multipaxos", nodes: 3, seeds: 10, atLeast: 1 },
  ])("is caught by leader-crash seeds on $name", ({ name, nodes, seeds, atLeast }) => {
    const algorithm = algorithms.find((candidate) => candidate.name === name);
    if (algorithm === undefined) throw new Error(`${name} is not registered`);
    const caughtOn: number[] = [];
    for (let seed = 1; seed <= seeds; seed++) {
      const honest = judged({ algo: name, nodes, scenario: "leader-crash", seed }, "none");
      expect(honest.problems, honest.report).toEqual([]);
      const forgot = judgeRun(runSimulation({ algorithm: forgetful(algorithm), nodes, scenario: "leader-crash", seed }), { liveness: "none" });
      if (!forgot.ok) caughtOn.push(seed);
    }
    expect(caughtOn.length, `caught on seeds ${caughtOn.join(", ")}`).toBeGreaterThanOrEqual(atLeast);
  });

  it("is caught on Raft by the simulator's durable-epoch check: the restarted leader recovers a term below the one it synced", () => {
    const raft = algorithms.find((candidate) => candidate.name === "raft");
    if (raft === undefined) throw new Error("raft is not registered");
    const { report } = simulate({ algorithm: forgetful(raft), nodes: 3, scenario: "leader-crash", seed: 1 }, checkRun);
    expect(report.invariantViolations.map((violation) => violation.invariant)).toContain("durable-epoch");
  });

  it("is caught on PBFT by the simulator's durable-snapshot check: the restarted primary recovers a stable checkpoint below the one it synced", () => {
    const pbft = algorithms.find((candidate) => candidate.name === "pbft");
    if (pbft === undefined) throw new Error("pbft is not registered");
    const { report } = simulate({ algorithm: forgetful(pbft), nodes: 4, scenario: "leader-crash", seed: 1 }, checkRun);
    expect(report.linearizable).toBe(true); // within f: the clients saw nothing wrong
    expect(report.invariantViolations.map((violation) => violation.invariant)).toEqual(["durable-snapshot"]);
  });
});
