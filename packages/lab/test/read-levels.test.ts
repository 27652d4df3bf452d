// Read consistency levels, the PACELC "else" choice (issue 15): each read's level is recorded in the history and in
// the report, a run whose reads are served stale promises no linearizability (so the checker's "not linearizable" is
// its verdict, not a broken guarantee), and the report names every stale read it can attribute: which read, what it
// returned, and which completed write it missed. Linearizable and lease reads stay linearizable under chaos.
import { describe, expect, it } from "vitest";
import { ConfigError, type ReadLevel } from "@concord/core";
import { type SimulateOptions, brokenGuarantees, checkRun, findAlgorithm, replayCommand, simulate } from "@concord/lab";

function algorithm(name: string) {
  const found = findAlgorithm(name);
  if (found === undefined) throw new Error(`${name} is not registered`);
  return found;
}

function run(name: string, scenario: string, seed: number, readLevel: ReadLevel | undefined, extra: Partial<SimulateOptions> = {}) {
  const nodes = name === "pbft" ? 4 : 3;
  return simulate({ algorithm: algorithm(name), nodes, scenario, seed, ...(readLevel !== undefined ? { readLevel } : {}), ...extra }, checkRun);
}

/** minorityStaleReads are the stale reads that a client cut off with the isolated replicas invoked during the partition. */
function minorityStaleReads(report: ReturnType<typeof run>["report"]) {
  const [partition] = report.availability;
  if (partition === undefined) return [];
  return report.staleReads.filter(
    (stale) => partition.isolatedSide.clients.includes(stale.read.clientId) && stale.read.invokeUs >= partition.atMs * 1000 && stale.read.invokeUs < partition.untilMs * 1000,
  );
}

describe("the issue's run: eventual under the partition, seed 271828", () => {
  it("reports linearizable: false with every stale read named (the read, what it returned, the write it missed), and breaks no guarantee", () => {
    const { report, result } = run("eventual", "partition", 271828, undefined);
    expect(report.linearizable).toBe(false);
    expect(report.promisesLinearizability).toBe(false);
    expect(brokenGuarantees(report)).toEqual([]);
    expect(report.readLevelServed).toBe("stale");
    // eventual promises no linearizability at any level: there is no rest of the history to hold to it.
    expect(report.withoutStaleReads).toBeUndefined();
    expect(report.staleReadCount).toBeGreaterThan(0);
    expect(report.staleReads).toHaveLength(report.staleReadCount);
    const byId = new Map(result.history.map((operation) => [operation.id, operation]));
    for (const stale of report.staleReads) {
      const read = byId.get(stale.read.id);
      const missed = byId.get(stale.missed.id);
      expect(read?.input.type).toBe("get");
      expect(read?.readLevel).toBe("stale");
      expect(missed?.input.key).toBe(read?.input.key);
      // The write it missed completed before the read began.
      expect(missed?.completeUs).toBeLessThan(read?.invokeUs ?? 0);
      expect(stale.text).toContain(`op ${stale.read.id}, get ${stale.key}`);
      expect(stale.text).toContain(`returned ${stale.returned}`);
      expect(stale.text).toContain(`missing op ${stale.missed.id}`);
    }
    // The JSON report carries them as printed by `concord sim --json`.
    expect(JSON.parse(JSON.stringify(report)).staleReads).toHaveLength(report.staleReadCount);
  });
});

describe("stale reads in the CP algorithms: a replica cut off with a minority answers from its own state", () => {
  // Runs of the built-in partition scenario with 16 clients (8 on the isolated side), as
  // `concord sim --algo <algo> --scenario partition --clients 16 --seed <seed> --read stale`.
  for (const [name, seed] of [
    ["raft", 12],
    ["multipaxos", 35],
  ] as const) {
    it(`${name}, seed ${seed}: a cut-off client's stale read during the partition is found, and the run promises no linearizability`, () => {
      const { report, result } = run(name, "partition", seed, "stale", { clients: 16 });
      expect(report.readLevel).toBe("stale");
      expect(report.readLevelServed).toBe("stale");
      expect(minorityStaleReads(report).length).toBeGreaterThan(0);
      expect(report.linearizable).toBe(false);
      expect(report.promisesLinearizability).toBe(false);
      expect(brokenGuarantees(report)).toEqual([]);
      // The rest of the history, the writes and the final reads, is still linearizable, and still judged.
      expect(report.withoutStaleReads).toEqual({ linearizable: true, linearizability: "linearizable" });
      // The history records each read's level: the workload's stale, the final reads (which look for lost writes) linearizable.
      const reads = result.history.filter((operation) => operation.input.type === "get");
      const finalReads = reads.slice(reads.length - result.finalReads.invoked);
      expect(reads.slice(0, reads.length - result.finalReads.invoked).every((operation) => operation.readLevel === "stale")).toBe(true);
      expect(finalReads.every((operation) => operation.readLevel === "linearizable")).toBe(true);
      expect(result.history.filter((operation) => operation.input.type !== "get").every((operation) => operation.readLevel === undefined)).toBe(true);
      // Read linearizably, the same run's cut-off clients are refused, and the history is linearizable.
      const linearizable = run(name, "partition", seed, undefined, { clients: 16 }).report;
      expect(linearizable.readLevel).toBe("linearizable");
      expect(linearizable.promisesLinearizability).toBe(true);
      expect(linearizable.linearizable).toBe(true);
      expect(linearizable.staleReadCount).toBe(0);
    });
  }
});

describe("stale reads in PBFT: the cut-off primary answers from its executed state", () => {
  // The built-in partition with a read-mostly workload (8 clients, 90% gets): a PBFT client blocked on a write on the
  // isolated side stays blocked for the rest of the partition, so the built-in mix gives the isolated side few reads.
  const readMostlyPartition = {
    name: "partition-read-mostly",
    description: "The built-in partition scenario with 8 clients, 90% of whose operations are gets.",
    workload: { spreadMs: 2500, clients: 8, mix: { get: 90, put: 10, append: 0, cas: 0, delete: 0 } },
    faults: [{ type: "partition" as const, atMs: 500, isolate: ["leader" as const], clients: "split" as const, durationMs: 1500 }],
  };

  it("seed 1: a cut-off client's stale read during the partition is found, one authentic reply sufficing", () => {
    const { report } = simulate({ algorithm: algorithm("pbft"), nodes: 4, scenario: readMostlyPartition, seed: 1, readLevel: "stale" }, checkRun);
    expect(report.readLevelServed).toBe("stale");
    expect(minorityStaleReads(report).length).toBeGreaterThan(0);
    expect(report.availability[0]?.isolatedSide.ok).toBeGreaterThan(0);
    expect(report.linearizable).toBe(false);
    expect(report.withoutStaleReads?.linearizable).toBe(true);
    expect(brokenGuarantees(report)).toEqual([]);
    const linearizable = simulate({ algorithm: algorithm("pbft"), nodes: 4, scenario: readMostlyPartition, seed: 1 }, checkRun).report;
    expect(linearizable.linearizable).toBe(true);
    expect(linearizable.staleReadCount).toBe(0);
    expect(linearizable.withoutStaleReads).toBeUndefined();
  });
});

describe("linearizable and lease reads stay linearizable", () => {
  const seeds = Array.from({ length: 25 }, (_, i) => i + 1);
  for (const [name, level] of [
    ["raft", "lease"],
    ["raft", "linearizable"],
    ["multipaxos", "lease"],
    ["multipaxos", "linearizable"],
  ] as const) {
    it(`${name} with ${level} reads over ${seeds.length} chaos seeds, and under the partition, crash and loss scenarios`, () => {
      for (const seed of seeds) {
        const { report } = run(name, "chaos", seed, level);
        expect(report.promisesLinearizability, `seed ${seed}`).toBe(true);
        expect(brokenGuarantees(report, { undecidedIsBroken: true }), `seed ${seed}`).toEqual([]);
        expect(report.staleReadCount, `seed ${seed}`).toBe(0);
      }
      for (const scenario of ["partition", "leader-crash", "lossy", "crash-restart"]) {
        const { report } = run(name, scenario, 1, level);
        expect(report.linearizable, scenario).toBe(true);
      }
    });
  }

  it("pbft with lease reads (served linearizably: it has no leases) over chaos seeds", () => {
    for (const seed of [1, 2]) {
      const { report } = run("pbft", "chaos", seed, "lease");
      expect(report.readLevelServed).toBe("linearizable");
      expect(brokenGuarantees(report, { undecidedIsBroken: true }), `seed ${seed}`).toEqual([]);
    }
  });
});

describe("the read level option", () => {
  it("is recorded as asked and as served, linearizable by default", () => {
    const plain = run("raft", "steady", 1, undefined).report;
    expect([plain.readLevel, plain.readLevelServed]).toEqual(["linearizable", "linearizable"]);
    const lease = run("raft", "steady", 1, "lease").report;
    expect([lease.readLevel, lease.readLevelServed]).toEqual(["lease", "lease"]);
    const noLease = run("pbft", "steady", 1, "lease").report;
    expect([noLease.readLevel, noLease.readLevelServed]).toEqual(["lease", "linearizable"]);
  });

  it("is carried by the replay command when it is not linearizable", () => {
    const run = { algo: "raft", nodes: 3, scenario: "partition", seed: 14, clients: 16 };
    expect(replayCommand({ ...run, readLevel: "stale" })).toBe("pnpm concord sim --algo raft --nodes 3 --scenario partition --seed 14 --clients 16 --read stale");
    expect(replayCommand({ ...run, readLevel: "linearizable" })).toBe(replayCommand(run));
  });

  it("refuses an unknown level with a ConfigError naming it", () => {
    expect(() => run("raft", "steady", 1, "eventual" as ReadLevel)).toThrow(ConfigError);
    expect(() => run("raft", "steady", 1, "eventual" as ReadLevel)).toThrow(/readLevel.*linearizable, lease, stale.*eventual/);
  });
});
