import { beforeAll, describe, expect, it } from "vitest";
import { solo } from "@concord/core";
import { raft } from "@concord/raft";
import { buildMatrix, findBenchScenario } from "../src/matrix.ts";
import { createProgress } from "../src/progress.ts";
import { markdownReport, notApplicableLines, summaryTables } from "../src/report.ts";
import { type BenchResults, type SeedRun, benchResultsSchema } from "../src/results-schema.ts";
import { assembleResults } from "../src/results.ts";
import { runMatrix } from "../src/run-matrix.ts";
import { cpuOverride, runSeed } from "../src/seed-run.ts";
import { benchCostModel } from "../src/cost-model.ts";

const costModel = benchCostModel();

// A small matrix: the baseline and Raft at f = 1, in a run without faults, a leader crash, the partition with clients
// on both sides, and the byzantine scenario (not applicable to solo), two seeds each, 60 operations per run (fewer leave gaps of 200 ms between a client's operations, wide enough to hide a leader crash).
const scenarios = ["steady", "leader-crash", "partition", "byzantine"];
const seeds = [1, 2];
const ops = 60;

async function runSmallMatrix(workers: number, progressLines: string[] = []): Promise<BenchResults> {
  // The PACELC table's variant cells (Raft's lease and stale reads) have a test of their own (pacelc.test.ts).
  const cells = buildMatrix({ algorithms: [solo, raft], scenarios, seeds, faults: [1], equalN: [] }).filter((cell) => cell.variant === undefined);
  const progress = createProgress({ isTTY: false, write: (text) => progressLines.push(text) }, cells.length * seeds.length, cells.length);
  const benchCells = await runMatrix(cells, { ops, workers, progress, cpu: costModel.cpu });
  return assembleResults({
    command: "pnpm bench (test)",
    options: { algorithms: ["solo", "raft"], faults: [1], equalN: [], nodes: null, scenarios, seeds, ops, quick: false, includeNotApplicable: false },
    scenarios: scenarios.map(findBenchScenario),
    cells: benchCells,
    startedAt: new Date().toISOString(),
    wallSeconds: 0,
    workers,
    sweeps: null,
    costModel,
  });
}

function runsOf(results: BenchResults): { label: string; run: SeedRun }[] {
  return results.cells.flatMap((cell) => (cell.applicable ? cell.runs.map((run) => ({ label: `${cell.algo} n=${cell.nodes} ${cell.scenario} seed ${run.seed}: ${run.replayCommand}`, run })) : []));
}

describe("pnpm bench's matrix", () => {
  let twoWorkers: BenchResults;
  let oneWorker: BenchResults;
  const progressLines: string[] = [];
  beforeAll(async () => {
    twoWorkers = await runSmallMatrix(2, progressLines);
    oneWorker = await runSmallMatrix(1);
  }, 120_000);

  it("writes results that validate against the exported schema, through JSON and back", () => {
    expect(() => benchResultsSchema.parse(JSON.parse(JSON.stringify(twoWorkers)))).not.toThrow();
    expect(twoWorkers.cells.map((cell) => `${cell.algo} n=${cell.nodes} ${cell.scenario} ${cell.comparisons.join(",")} ${cell.applicable}`)).toEqual([
      "solo n=1 steady baseline true",
      "raft n=3 steady f=1 true",
      "solo n=1 leader-crash baseline true",
      "raft n=3 leader-crash f=1 true",
      "solo n=1 partition baseline true",
      "raft n=3 partition f=1 true",
      "solo n=1 byzantine baseline false",
      "raft n=3 byzantine f=1 true",
    ]);
  });

  it("gives identical figures in two runs with the same seeds, on two worker threads and on one", () => {
    expect(oneWorker.cells).toEqual(twoWorkers.cells);
    expect(oneWorker.broken).toEqual(twoWorkers.broken);
  });

  it("gives a worker's figures for a run also when the run is made in this thread", () => {
    const cell = twoWorkers.cells.find((candidate) => candidate.algo === "raft" && candidate.scenario === "leader-crash");
    expect(cell?.applicable).toBe(true);
    if (cell?.applicable !== true) return;
    const here = runSeed({ algo: "raft", nodes: 3, scenario: "leader-crash", scenarioFile: null, seed: 2, ops, cpu: costModel.cpu });
    expect(here.run).toEqual(cell.runs[1]);
  });

  it("gives a crash that outlasts the heal a window to the end of the run, which the schema takes", () => {
    const scenario = { name: "lasting-crash", description: "", workload: { ops: 40 }, healAtMs: 1500, faults: [{ type: "crash" as const, atMs: 800, target: { index: 1 }, outlastsHeal: true }] };
    const { run } = runSeed({ algo: "raft", nodes: 3, scenario, scenarioFile: "lasting-crash.json", seed: 1, ops: null, cpu: costModel.cpu });
    const crash = run.faults.find((fault) => fault.kind === "crash");
    expect(crash?.untilMs).toBe(run.virtualSeconds * 1000);
    expect(crash?.untilMs).toBeGreaterThan(1500);
    const written = { ...twoWorkers, cells: [{ ...(twoWorkers.cells[0] as BenchResults["cells"][number]), runs: [run] }] };
    expect(benchResultsSchema.safeParse(JSON.parse(JSON.stringify(written))).success).toBe(true);
  });

  it("charges every cell the calibrated CPU cost model, says so, and replays each run with it", () => {
    expect(costModel.source).toMatch(/^calibrated by `pnpm bench:micro --calibrate/);
    expect(twoWorkers.costModel).toEqual(costModel);
    for (const scenario of twoWorkers.scenarios) expect(scenario.costModel, scenario.name).toEqual(costModel.cpu);
    for (const { label, run } of runsOf(twoWorkers)) {
      // The simulator's default is the calibrated model: the replay command is the plain one, and charges the same.
      expect(run.replayCommand, label).not.toContain("--cpu");
      // The prediction beside each run holds the CPU on its critical path (solo's one request, Raft's three steps and more).
      if (run.prediction !== null) expect(run.prediction.cpuOnPathMs, label).toBeGreaterThan(0);
    }
    expect(markdownReport(twoWorkers)).toContain(costModel.source);
  });

  it("charges the calibrated model also in a scenario that sets its own, and then says so in the run's options", () => {
    expect(cpuOverride({ scenario: "slow-node", cpu: costModel.cpu })).toEqual({});
    const ownModel = { name: "own-cpu", description: "", cpu: { perMessageUs: 20 } };
    expect(cpuOverride({ scenario: ownModel, cpu: costModel.cpu })).toEqual({ cpu: costModel.cpu });
    expect(cpuOverride({ scenario: { ...ownModel, cpu: "none" }, cpu: costModel.cpu })).toEqual({ cpu: costModel.cpu });
  });

  it("marks solo's byzantine cell not applicable, with why, and runs none of its seeds", () => {
    const cell = twoWorkers.cells.find((candidate) => candidate.algo === "solo" && candidate.scenario === "byzantine");
    expect(cell).toMatchObject({ applicable: false, seeds: [1, 2], reason: "solo on 1 node tolerates no faulty replica, and this run makes its only replica Byzantine" });
    expect(notApplicableLines(twoWorkers)).toEqual(["solo n=1 byzantine: solo on 1 node tolerates no faulty replica, and this run makes its only replica Byzantine"]);
  });

  it("keeps every guarantee in every applicable run", () => {
    for (const { label, run } of runsOf(twoWorkers)) expect(run.verdict.broken, label).toEqual([]);
    expect(twoWorkers.broken).toEqual([]);
  });

  it("has consistent figures: throughput is completed operations over the workload's virtual time, the series adds up to them, per-type messages sum to the total", () => {
    for (const { label, run } of runsOf(twoWorkers)) {
      expect(run.ops.completed, label).toBeGreaterThan(0);
      if (run.ops.indeterminate === 0) expect(run.throughputOpsPerSec, label).toBeCloseTo(run.ops.completed / run.workloadSeconds, 1);
      expect(run.throughputOverTime.startMs / 1000 + run.workloadSeconds, label).toBeLessThanOrEqual(run.virtualSeconds);
      const series = run.throughputOverTime;
      const completedInSeries = series.opsPerSec.reduce((sum, rate) => sum + (rate * series.bucketMs) / 1000, 0);
      expect(completedInSeries, label).toBeCloseTo(run.ops.completed, 6);
      expect(Object.values(run.messages.byType).reduce((sum, count) => sum + count, 0), label).toBe(run.messages.total);
      const perOpSum = Object.values(run.messages.perOpByType).reduce((sum, perOp) => sum + perOp, 0);
      expect(Math.abs(perOpSum - run.messages.perOp), label).toBeLessThan(0.001 * Object.keys(run.messages.byType).length + 0.01);
      const cdf = run.latencyCdf;
      expect(cdf.find((point) => point.percentile === 50)?.latencyMs, label).toBeCloseTo(run.latencyMs.p50, 2);
      expect(cdf.at(-1)?.latencyMs, label).toBeCloseTo(run.latencyMs.max, 2);
      for (let i = 1; i < cdf.length; i++) expect(cdf[i]?.latencyMs ?? 0, label).toBeGreaterThanOrEqual(cdf[i - 1]?.latencyMs ?? 0);
    }
  });

  it("measures recovery inside the run, and a leader crash costs Raft a measurable recovery", () => {
    for (const { label, run } of runsOf(twoWorkers)) {
      expect(run.recovery.length, label).toBe(run.faults.length);
      for (const fault of run.recovery) {
        for (const figure of [fault.recoveryMs, fault.firstCommitMs]) {
          if (figure === null) continue;
          expect(figure, label).toBeGreaterThanOrEqual(0);
          expect(fault.atMs + figure, label).toBeLessThanOrEqual(run.virtualSeconds * 1000);
        }
      }
    }
    const crash = twoWorkers.cells.find((cell) => cell.algo === "raft" && cell.scenario === "leader-crash");
    if (crash?.applicable !== true) throw new Error("Raft's leader-crash cell did not run");
    for (const run of crash.runs) {
      expect(run.faults.map((fault) => fault.kind)).toEqual(["crash"]);
      expect(run.recovery[0]?.recoveryMs, run.replayCommand).toBeGreaterThan(0);
      expect(run.recovery[0]?.firstCommitMs, run.replayCommand).toBeGreaterThan(0);
      expect(run.leaderChanges, run.replayCommand).toBeGreaterThanOrEqual(1);
    }
    expect(crash.summary.recoveryMs?.seeds).toBe(2);
  });

  it("measures availability on both sides of the partition: Raft's leader cut off with half the clients serves none of them", () => {
    for (const { label, run } of runsOf(twoWorkers)) {
      for (const partition of run.availability) {
        for (const side of [partition.isolatedSide, partition.otherSide]) {
          expect(side.ok, label).toBeLessThanOrEqual(side.invoked);
          expect(side.share === null || (side.share >= 0 && side.share <= 1), label).toBe(true);
          if (side.share === null) expect(side.invoked, label).toBe(0);
          else expect(side.share, label).toBeCloseTo(side.ok / side.invoked, 3);
        }
      }
    }
    const partitioned = twoWorkers.cells.find((cell) => cell.algo === "raft" && cell.scenario === "partition");
    if (partitioned?.applicable !== true) throw new Error("Raft's partition cell did not run");
    for (const run of partitioned.runs) {
      const [partition] = run.availability;
      expect(partition?.isolatedSide.clients.length, run.replayCommand).toBeGreaterThan(0);
      expect(partition?.otherSide.clients.length, run.replayCommand).toBeGreaterThan(0);
      expect(partition?.isolatedSide.share, run.replayCommand).toBe(0);
      expect(partition?.otherSide.share, run.replayCommand).toBeGreaterThan(0.5);
      expect(run.replayCommand).toContain("--scenario partition ");
    }
  });

  it("sets every run beside its prediction, the ratio being measured over predicted, and steady Raft and solo within 10% of theirs", () => {
    for (const { label, run } of runsOf(twoWorkers)) {
      const prediction = run.prediction;
      if (prediction === null) throw new Error(`${label}: no prediction for a predicted algorithm`);
      expect(prediction.messagesPerOp.measured, label).toBeCloseTo(run.messages.perOp, 2);
      expect(prediction.messagesPerOp.ratio, label).toBeCloseTo(prediction.messagesPerOp.measured / prediction.messagesPerOp.predicted, 2);
    }
    for (const cell of twoWorkers.cells) {
      if (!cell.applicable || cell.scenario !== "steady") continue;
      expect(cell.summary.prediction?.messagesPerOp?.median, cell.algo).toBeGreaterThan(0.9);
      expect(cell.summary.prediction?.messagesPerOp?.median, cell.algo).toBeLessThan(1.1);
    }
  });

  it("says one plain line per cell when stderr is not a terminal", () => {
    expect(progressLines).toHaveLength(8);
    expect(progressLines.every((line) => /^\[\d\/8\] .+\n$/.test(line))).toBe(true);
    expect(progressLines.some((line) => line.includes("solo n=1 byzantine (baseline): not applicable: "))).toBe(true);
  });

  it("renders report.md with a table per group and scenario, median [min–max], and the cells not applicable", () => {
    const markdown = markdownReport(twoWorkers);
    expect(markdown).toContain("### f=1, leader-crash");
    expect(markdown).toContain("| algo | n | f | ops/s |");
    expect(markdown).toMatch(/\| raft \| 3 \| 1 \| [\d.]+ \[[\d.]+–[\d.]+\] \|/);
    expect(markdown).toContain("## Not applicable");
    expect(markdown).toContain("- solo n=1 byzantine: solo on 1 node tolerates no faulty replica");
    expect(summaryTables(twoWorkers)).toContain("partition:");
  });
});
