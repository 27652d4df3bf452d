import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { algorithmNames } from "@concord/lab";
import { benchUsage, defaultEqualN, defaultFaults, defaultSeedCount, parseBenchFlags, quickDefaults } from "../src/flags.ts";
import { benchScenarioNames, buildMatrix, clusterSizesOf, defaultScenarios } from "../src/matrix.ts";
import { createProgress } from "../src/progress.ts";
import { brokenLines } from "../src/report.ts";
import type { BenchResults } from "../src/results-schema.ts";
import { brokenRuns } from "../src/results.ts";
import { readFileSync } from "node:fs";
import { benchResultsSchema } from "../src/results-schema.ts";
import { raft } from "@concord/raft";
import { pbft } from "@concord/pbft";
import { solo } from "@concord/core";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

function runBench(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ["--import", "tsx", "bench/src/main.ts", ...args], { cwd: repoRoot, encoding: "utf8", timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("pnpm bench's flags", () => {
  it("defaults to every algorithm and scenario, f = 1 and 2, n = 4, five seeds, the scenarios' own operation counts", () => {
    const parsed = parseBenchFlags([]);
    if (parsed.kind !== "run") throw new Error(`expected a run, got ${parsed.kind}`);
    expect(parsed.flags.algorithms.map((algorithm) => algorithm.name)).toEqual(algorithmNames);
    expect(parsed.flags.scenarios).toEqual(defaultScenarios);
    expect(parsed.flags).toMatchObject({ faults: defaultFaults, equalN: defaultEqualN, seeds: [1, 2, 3, 4, 5], ops: null, quick: false });
    expect(defaultSeedCount).toBeGreaterThanOrEqual(5);
  });

  it("shrinks the matrix with --quick, and lets explicit flags override it", () => {
    const quick = parseBenchFlags(["--quick"]);
    if (quick.kind !== "run") throw new Error(`expected a run, got ${quick.kind}`);
    expect(quick.flags).toMatchObject({ faults: quickDefaults.faults, equalN: [], seeds: [1, 2], ops: quickDefaults.ops, quick: true });
    const overridden = parseBenchFlags(["--quick", "--seeds", "3", "--faults", "2", "--nodes", "5,7", "--algo", "raft,pbft", "--scenario", "steady", "--scenario", "chaos"]);
    if (overridden.kind !== "run") throw new Error(`expected a run, got ${overridden.kind}`);
    expect(overridden.flags).toMatchObject({ faults: [2], equalN: [5, 7], seeds: [1, 2, 3], scenarios: ["steady", "chaos"] });
    expect(overridden.flags.algorithms.map((algorithm) => algorithm.name)).toEqual(["raft", "pbft"]);
    const none = parseBenchFlags(["--nodes", "none"]);
    expect(none.kind === "run" && none.flags.equalN).toEqual([]);
  });

  it("refuses a bad flag in one line that names the flag and the value", () => {
    const messages = [["--algo", "zab"], ["--scenario", "meteor"], ["--seeds", "0"], ["--faults", "x"], ["--nodes", "1.5"], ["--workers", "0"], ["--ops", "-3"], ["--out", ""], ["--colour"]].map((args) => {
      const parsed = parseBenchFlags(args);
      return parsed.kind === "error" ? parsed.message : `accepted ${args.join(" ")}`;
    });
    expect(messages[0]).toBe(`--algo: unknown algorithm "zab"; allowed: ${algorithmNames.join(", ")}`);
    expect(messages[1]).toBe(`--scenario: unknown scenario "meteor"; allowed: ${benchScenarioNames.join(", ")}`);
    expect(messages.slice(2, 7)).toEqual([
      '--seeds: expected integers from 1 to 1000, got "0"',
      '--faults: expected integers from 1 to 5, got "x"',
      '--nodes: expected integers from 1 to 16, got "1.5"',
      '--workers: expected integers from 1 to 256, got "0"',
      expect.stringContaining("--ops"),
    ]);
    expect(messages[7]).toBe("--out: expected a directory, got an empty string");
    expect(messages[8]).toContain("Unknown option '--colour'");
    for (const message of messages) expect(message).not.toContain("\n");
  });

  it("lists every algorithm and scenario in --help", () => {
    const usage = benchUsage();
    for (const name of [...algorithmNames, ...benchScenarioNames]) expect(usage).toContain(name);
    for (const flag of ["--algo", "--nodes", "--faults", "--scenario", "--seeds", "--quick", "--out", "--workers", "--help"]) expect(usage).toContain(flag);
  });
});

describe("pnpm bench's matrix layout", () => {
  it("sizes clusters for equal f (2f+1 crash, 3f+1 Byzantine) and equal n, running a size reached both ways once, in both groups", () => {
    expect([...clusterSizesOf(raft, [1, 2], [4])]).toEqual([
      [3, ["f=1"]],
      [4, ["n=4"]],
      [5, ["f=2"]],
    ]);
    expect([...clusterSizesOf(pbft, [1, 2], [4])]).toEqual([
      [4, ["f=1", "n=4"]],
      [7, ["f=2"]],
    ]);
    expect([...clusterSizesOf(solo, [1, 2], [4])]).toEqual([[1, ["baseline"]]]);
    const cells = buildMatrix({ algorithms: [solo, raft], scenarios: ["steady", "chaos"], seeds: [1, 2, 3], faults: [1], equalN: [] });
    // The PACELC table's variants (Raft's lease and stale reads) join at the smallest f's size, in steady and partition only.
    expect(cells.map((cell) => `${cell.scenario.name} ${cell.algorithm.name}${cell.variant === undefined ? "" : ` ${cell.variant.name}`} ${cell.nodes} ${cell.seeds.length} ${cell.comparisons.join(",")}`)).toEqual([
      "steady solo 1 3 baseline",
      "steady raft 3 3 f=1",
      "steady raft lease 3 3 pacelc",
      "steady raft stale 3 3 pacelc",
      "chaos solo 1 3 baseline",
      "chaos raft 3 3 f=1",
    ]);
  });
});

describe("pnpm bench's progress", () => {
  it("draws a bar with an ETA in place on a terminal, and nothing per cell", () => {
    const written: string[] = [];
    let nowMs = 0;
    const progress = createProgress({ isTTY: true, columns: 200, write: (text) => written.push(text) }, 4, 2, () => nowMs);
    nowMs = 10_000;
    progress.runDone("raft n=3 steady seed 1");
    nowMs = 13_000;
    progress.runDone("raft n=3 steady seed 2");
    progress.cellDone("raft n=3 steady (f=1): ...");
    progress.finish();
    // The first run's 10 s hold the workers' start-up; the ETA is timed from its end: 3 s a run, 2 runs left.
    expect(written).toEqual([
      "\r\x1b[K[########----------------------] 1/4 runs 25% elapsed 10 s ETA --  raft n=3 steady seed 1",
      "\r\x1b[K[###############---------------] 2/4 runs 50% elapsed 13 s ETA 6 s  raft n=3 steady seed 2",
      "\r\x1b[K",
    ]);
  });
});

describe("pnpm bench's exit codes", () => {
  let scratch = "";
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), "bench-command-"));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it("exits 2 with one line when --out cannot be written, before running anything", () => {
    const file = join(scratch, "a-file");
    writeFileSync(file, "");
    const { status, stdout, stderr } = runBench(["--algo", "solo", "--scenario", "steady", "--out", join(file, "results")]);
    expect(status).toBe(2);
    expect(stdout).toBe("");
    expect(stderr.trimEnd().split("\n")).toEqual([expect.stringMatching(/^bench: --out: cannot write to .*a-file\/results: ENOTDIR/)]);
  });

  it("exits 2 with one line on an unknown flag, and 0 with the usage on --help", () => {
    const bad = runBench(["--algo", "zab"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe(`bench: --algo: unknown algorithm "zab"; allowed: ${algorithmNames.join(", ")}\n`);
    const help = runBench(["--help"]);
    expect(help.status).toBe(0);
    expect(help.stdout).toBe(benchUsage());
    const realHelp = runBench(["--real", "--help"]);
    expect(realHelp.status).toBe(0);
    expect(realHelp.stdout).toMatch(/^usage: pnpm bench --real \[flags\]/);
    expect(realHelp.stdout).toContain(`allowed: ${algorithmNames.join(", ")}, etcd`);
  });

  it("exits 1 when a cell breaks a guarantee, naming the cell and the command that replays it (solo's only replica Byzantine, run with --include-not-applicable)", () => {
    const out = join(scratch, "broken");
    const args = ["--algo", "solo", "--scenario", "byzantine", "--seeds", "1", "--ops", "20", "--no-sweeps", "--workers", "1"];
    // By design the cell is not applicable: not run, and the bench exits 0.
    const skipped = runBench([...args, "--out", join(scratch, "skipped")]);
    expect(skipped.status, skipped.stderr).toBe(0);
    expect(skipped.stdout).toContain("solo n=1 byzantine: solo on 1 node tolerates no faulty replica");
    // Judged as if solo promised to tolerate it: its silent replica answers nothing, which the liveness check reports.
    const { status, stdout, stderr } = runBench([...args, "--include-not-applicable", "--out", out]);
    expect(status, stderr).toBe(1);
    // The bench charges the simulator's calibrated default, so the replay command needs no --cpu.
    const replay = "pnpm concord sim --algo solo --nodes 1 --scenario byzantine --seed 1 --ops 20";
    expect(stdout).toContain("BROKEN GUARANTEES in 1 applicable run:\nsolo n=1 byzantine seed 1: [liveness]");
    expect(stdout).toContain(`\n  replay: ${replay}\n`);
    const results = benchResultsSchema.parse(JSON.parse(readFileSync(join(out, "results.json"), "utf8")));
    expect(results.broken).toEqual([expect.objectContaining({ algo: "solo", nodes: 1, scenario: "byzantine", seed: 1, replayCommand: replay })]);
    expect(results.cells[0]).toMatchObject({ applicable: true, notApplicableByDesign: expect.stringContaining("tolerates no faulty replica") });
    expect(readFileSync(join(out, "report.md"), "utf8")).toContain(`replay: \`${replay}\``);
    expect(readFileSync(join(out, "report.html"), "utf8")).toContain(replay);
    // The replay command repeats the run: the same liveness violation (concord sim exits 0 on a cell not applicable by design).
    const again = spawnSync(process.execPath, ["--import", "tsx", "packages/cli/src/main.ts", ...replay.replace(/^pnpm concord /, "").split(" "), "--json"], { cwd: repoRoot, encoding: "utf8", timeout: 60_000 });
    const report = JSON.parse(again.stdout) as { invariantViolations: { invariant: string }[]; applicable: boolean };
    expect(report.applicable).toBe(false);
    expect(report.invariantViolations.map((violation) => violation.invariant)).toContain("liveness");
  });

  it("lists each broken run with what it broke and the command that replays it", () => {
    const run = { seed: 3, replayCommand: "pnpm concord sim --algo raft --nodes 3 --scenario chaos --seed 3", verdict: { broken: ["[log-matching] two entries at index 7"] } };
    const cell = { applicable: true, algo: "raft", nodes: 3, scenario: "chaos", runs: [run, { ...run, seed: 4, verdict: { broken: [] } }] };
    const results = { broken: brokenRuns([cell] as unknown as BenchResults["cells"]) } as BenchResults;
    expect(results.broken).toEqual([{ algo: "raft", nodes: 3, scenario: "chaos", seed: 3, problems: ["[log-matching] two entries at index 7"], replayCommand: run.replayCommand }]);
    expect(brokenLines(results)).toEqual(["raft n=3 chaos seed 3: [log-matching] two entries at index 7\n  replay: pnpm concord sim --algo raft --nodes 3 --scenario chaos --seed 3"]);
  });
});
