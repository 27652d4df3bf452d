import { beforeAll, describe, expect, it } from "vitest";
import { findAlgorithm } from "@concord/lab";
import { benchCostModel } from "../src/cost-model.ts";
import { buildMatrix, findBenchScenario } from "../src/matrix.ts";
import { createProgress } from "../src/progress.ts";
import { markdownReport } from "../src/report.ts";
import { type BenchResults, type PacelcRow, benchResultsSchema } from "../src/results-schema.ts";
import { assembleResults } from "../src/results.ts";
import { runMatrix } from "../src/run-matrix.ts";

// The PACELC table of a small matrix: Raft (CP), eventual and quorum (with its defaults, majority quorums, and with
// R + W <= N), in the two scenarios the table reads, three seeds each.
const scenarios = ["steady", "partition"];
const seeds = [1, 2, 3];
const names = ["raft", "eventual", "quorum"];

describe("the PACELC table, measured", () => {
  let results: BenchResults;
  beforeAll(async () => {
    const algorithms = names.map((name) => findAlgorithm(name) ?? (undefined as never));
    const cells = buildMatrix({ algorithms, scenarios, seeds, faults: [1], equalN: [] });
    const progress = createProgress({ isTTY: false, write: () => {} }, cells.length * seeds.length, cells.length);
    const costModel = benchCostModel();
    const benchCells = await runMatrix(cells, { ops: 120, workers: 1, progress, cpu: costModel.cpu });
    results = assembleResults({
      command: "pnpm bench (pacelc test)",
      options: { algorithms: names, faults: [1], equalN: [], nodes: null, scenarios, seeds, ops: 120, quick: false, includeNotApplicable: false },
      scenarios: scenarios.map(findBenchScenario),
      cells: benchCells,
      startedAt: new Date().toISOString(),
      wallSeconds: 0,
      workers: 1,
      sweeps: null,
      costModel,
    });
  }, 120_000);

  const row = (algo: string, variant: string | null): PacelcRow => {
    const found = results.pacelc.find((entry) => entry.algo === algo && entry.variant === variant);
    if (found === undefined) throw new Error(`no PACELC row for ${algo} ${variant ?? "(defaults)"}: ${JSON.stringify(results.pacelc.map((entry) => [entry.algo, entry.variant]))}`);
    return found;
  };

  it("has a row per algorithm and variant, at the f = 1 size, validated by the results schema", () => {
    expect(() => benchResultsSchema.parse(JSON.parse(JSON.stringify(results)))).not.toThrow();
    // Raft serves lease and stale reads as asked; eventual and quorum serve every read stale already, so they have no level rows.
    expect(results.pacelc.map((entry) => `${entry.algo} n=${entry.nodes} ${entry.variant ?? "default"}: reads ${entry.readLevel}`)).toEqual([
      "raft n=3 default: reads linearizable",
      "raft n=3 lease: reads lease",
      "raft n=3 stale: reads stale",
      "eventual n=2 default: reads stale",
      "quorum n=3 default: reads stale",
      "quorum n=3 r=1,w=1: reads stale",
    ]);
    for (const entry of results.pacelc) {
      expect(entry.noPartition?.seeds, entry.algo).toBe(3);
      expect(entry.partition?.seeds, entry.algo).toBe(3);
      expect(entry.verdict.runs, entry.algo).toBe(6);
    }
  });

  it("Raft's reads cost less as they ask less: ReadIndex's round for linearizable reads, none for lease and stale ones", () => {
    const readP50 = (variant: string | null): number => row("raft", variant).noPartition?.readP50Ms?.median ?? Number.NaN;
    expect(readP50(null)).toBeGreaterThanOrEqual(4);
    expect(readP50("lease")).toBeLessThan(readP50(null));
    expect(readP50("stale")).toBeLessThan(readP50(null));
    // Asking less breaks nothing Raft promises: a run whose reads are served stale promises no linearizability.
    expect(row("raft", "stale").verdict.broken).toBe(0);
  });

  it("Raft stays linearizable and refuses the minority side, serving the majority", () => {
    const raft = row("raft", null);
    expect(raft.verdict).toMatchObject({ linearizable: 6, notLinearizable: 0, broken: 0 });
    expect(raft.partition?.minoritySide?.max).toBe(0);
    expect(raft.partition?.majoritySide?.median).toBeGreaterThan(0.5);
    // With no partition a write takes Raft's four one-way delays (1 ms links) and more: it is not free.
    expect(raft.noPartition?.writeP50Ms?.median).toBeGreaterThanOrEqual(4);
  });

  it("eventual and quorum with R + W <= N serve both sides of the partition, and the checker finds them not linearizable, which breaks nothing they promise", () => {
    for (const entry of [row("eventual", null), row("quorum", "r=1,w=1")]) {
      const label = `${entry.algo} ${entry.variant ?? ""}`;
      expect(entry.partition?.minoritySide?.min, label).toBeGreaterThan(0.9);
      expect(entry.partition?.majoritySide?.min, label).toBeGreaterThan(0.9);
      expect(entry.verdict.notLinearizable, label).toBeGreaterThan(0);
      expect(entry.verdict.broken, label).toBe(0);
      expect(entry.verdict.text, label).toMatch(/^not linearizable: \d of 6 runs \(promises none\)/);
    }
    // An AP store answers at once: a read or write costs the client's round trip to one replica, less than Raft's.
    expect(row("eventual", null).noPartition?.readP50Ms?.median).toBeLessThan(row("raft", null).noPartition?.readP50Ms?.median ?? 0);
  });

  it("quorum with majority quorums refuses the minority side, as a CP system does", () => {
    expect(row("quorum", null).partition?.minoritySide?.max).toBe(0);
  });

  it("goes into report.md, and each variant's runs replay with its options", () => {
    const report = markdownReport(results);
    expect(report).toContain("## PACELC");
    expect(report).toMatch(/\| quorum \| 3 \| stale \(r=1,w=1\) \|/);
    expect(report).toMatch(/\| raft \| 3 \| linearizable \(default\) \|/);
    const variantCell = results.cells.find((cell) => cell.variant?.name === "r=1,w=1" && cell.scenario === "partition");
    expect(variantCell?.applicable && variantCell.runs[0]?.replayCommand).toContain("--option r=1 --option w=1");
  });
});
