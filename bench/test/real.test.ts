import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findOnPath } from "../src/real/etcd-cluster.ts";
import { runRealCommand } from "../src/real/command.ts";
import { summarizeProfile } from "../src/real/profile.ts";
import { cliLauncher } from "../src/real/launcher.ts";
import { type RealBenchResult, type RealRun, runRealBench, summarize } from "../src/real/run-real.ts";

function capture(): { io: { stdout(text: string): void; stderr(text: string): void }; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (text) => out.push(text), stderr: (text) => err.push(text) }, out, err };
}

const etcdOnPath = findOnPath("etcd") !== undefined;

// The real bench end to end in a tiny configuration: the one-node baseline,
// three Raft processes and (where etcd is on the PATH) three etcd members, one
// round of 2 s with 8 clients each, through the same command `pnpm bench
// --real` runs.
describe("pnpm bench --real", () => {
  // Made in beforeAll, not while collecting, so that a run filtering these tests out leaves no directory behind.
  let outDir = "";
  // The clusters' data directories go in a directory of this test's own, so that another bench running meanwhile cannot be mistaken for a leak.
  let clustersDir = "";
  const { io, out, err } = capture();
  let code = -1;
  let result: RealBenchResult;
  beforeAll(async () => {
    outDir = mkdtempSync(join(tmpdir(), "concord-real-bench-test-"));
    clustersDir = mkdtempSync(join(tmpdir(), "concord-real-bench-clusters-"));
    code = await runRealCommand(["--real", "--algo", "solo", "--algo", "raft", "--algo", "etcd", "--seconds", "2", "--clients", "8", "--rounds", "1", "--histories", "--tmp-dir", clustersDir, "--out", outDir], io);
    result = (JSON.parse(readFileSync(join(outDir, "results.json"), "utf8")) as { real: RealBenchResult }).real;
  }, 90_000);
  afterAll(() => {
    for (const dir of [outDir, clustersDir]) if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  it("runs every system on real processes and judges every history linearizable", () => {
    expect(code, err.join("")).toBe(0);
    const expected = etcdOnPath ? ["solo", "raft", "etcd"] : ["solo", "raft"];
    expect(result.runs.map((run) => `${run.system} n=${run.nodes} round ${run.round}`)).toEqual(expected.map((system) => `${system} n=${system === "solo" ? 1 : 3} round 1`));
    for (const run of result.runs) {
      expect(run.error, run.system).toBeUndefined();
      expect(run.report?.ops.completed, run.system).toBeGreaterThan(0);
      expect(run.report?.throughputOpsPerSec, run.system).toBeGreaterThan(0);
      expect(run.report?.latencyMs.p99, run.system).toBeGreaterThan(0);
      expect(run.report?.check, run.system).toBe("linearizable");
      expect(run.report?.finalReads, run.system).toBeGreaterThanOrEqual(1);
    }
    expect(result.summaries.map((summary) => summary.linearizable)).toEqual(expected.map(() => true));
  });

  it("gives Raft's ratios to etcd of the same round, or says why etcd was skipped", () => {
    const raft = result.summaries.find((summary) => summary.system === "raft");
    if (etcdOnPath) {
      expect(raft?.vsEtcd?.throughputRatio).toBeGreaterThan(0);
      expect(raft?.vsEtcd?.p99Ratio).toBeGreaterThan(0);
      expect(result.goal.met).not.toBeNull();
      expect(result.machine.etcd).toMatch(/etcd Version: \d/);
    } else {
      expect(result.skipped).toEqual([{ system: "etcd", reason: expect.stringContaining("etcd is not on the PATH") }]);
      expect(raft?.vsEtcd).toBeUndefined();
      expect(readFileSync(join(outDir, "report.md"), "utf8")).toContain("- skipped etcd: etcd is not on the PATH");
    }
  });

  it("says the machine, the workload and the setup in results.json and report.md, and prints the table", () => {
    expect(result.machine.cpus).toBeGreaterThan(0);
    expect(result.machine.loadAverageAtStart).toHaveLength(3);
    expect(result.machine.commit).toMatch(/^([0-9a-f]{12}(\+dirty)?|unknown)$/);
    expect(result.setup).toMatchObject({ clients: 8, seconds: 2, rounds: 1, workload: "puts", mix: { get: 0, put: 1, append: 0, cas: 0, delete: 0 } });
    const markdown = readFileSync(join(outDir, "report.md"), "utf8");
    expect(markdown).toContain("## Real clusters");
    expect(markdown).toMatch(/Machine: .*\d+ CPUs .*load average/);
    expect(markdown).toContain("Goal (Raft at least 3x etcd's throughput with a p99 at most 1x etcd's)");
    expect(readFileSync(join(outDir, "report.html"), "utf8")).toContain("<h2>Real clusters</h2>");
    expect(out.join("")).toMatch(/^system +n +runs +ok +failed +indet +ops\/s +p50 ms/);
  });

  it("keeps each run's history with --histories, under the run's own keys", () => {
    for (const run of result.runs) {
      const lines = readFileSync(join(outDir, "histories", `round-1-${run.system}.jsonl`), "utf8").trimEnd().split("\n");
      expect(lines.length, run.system).toBeGreaterThan(run.report?.ops.completed ?? 0);
      expect(lines.at(-1), run.system).toContain(run.report?.keyPrefix);
    }
  });

  it("leaves no cluster process or directory behind", () => {
    expect(readdirSync(clustersDir)).toEqual([]);
    // Every node and etcd member names its data directory on its command line.
    const processes = spawnSync("ps", ["-eo", "args"], { encoding: "utf8" }).stdout.split("\n");
    expect(processes.filter((args) => args.includes(clustersDir))).toEqual([]);
  });
});

describe("the real bench's runs", () => {
  it("retries a cluster that did not start once, on fresh directories, and measures the second", async () => {
    let launches = 0;
    const lines: string[] = [];
    const clustersDir = mkdtempSync(join(tmpdir(), "concord-real-bench-retry-"));
    try {
      const result = await runRealBench({
        systems: ["solo"],
        clients: 2,
        seconds: 1,
        rounds: 1,
        workload: "puts",
        keys: 2,
        etcdPath: undefined,
        tmpRoot: clustersDir,
        // The first node launched exits at once, as one whose port was taken would.
        launcher: (flags) => (launches++ === 0 ? { command: process.execPath, args: ["-e", "process.exit(3)"] } : cliLauncher(flags)),
        progress: (line) => lines.push(line),
      });
      expect(lines.filter((line) => line.includes("retrying once"))).toHaveLength(1);
      expect(result.runs[0]?.report?.check, lines.join("\n")).toBe("linearizable");
      expect(readdirSync(clustersDir)).toEqual([]);
    } finally {
      rmSync(clustersDir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("pnpm bench --real's flags", () => {
  it("refuses an unknown workload or system with one line and exit code 2, running nothing", async () => {
    for (const [args, message] of [
      [["--real", "--workload", "appends"], 'bench: --workload: expected puts or mixed, got "appends"\n'],
      [["--real", "--algo", "zookeeper"], 'bench: --algo: unknown system "zookeeper"; allowed: '],
      [["--real", "--seconds", "0"], 'bench: --seconds: expected an integer from 1 to 3600, got "0"\n'],
    ] as const) {
      const { io, out, err } = capture();
      expect(await runRealCommand(args, io)).toBe(2);
      expect(err.join("")).toContain(message);
      expect(out).toEqual([]);
    }
  });
});

describe("the real bench's summary", () => {
  const run = (system: string, round: number, opsPerSec: number, p99: number, linearizable: boolean | null = true): RealRun => ({
    system,
    nodes: 3,
    round,
    startupMs: 1,
    driverCpuUsPerOp: 100,
    error: undefined,
    report: {
      clients: 64,
      seconds: 10,
      mode: "closed",
      ops: { completed: opsPerSec * 10, failed: 1, indeterminate: 0 },
      throughputOpsPerSec: opsPerSec,
      latencyMs: { p50: p99 / 3, p95: p99 / 2, p99, max: p99 * 2 },
      linearizable,
      finalReads: 8,
      check: "linearizable",
      keyPrefix: "k",
    },
  });

  it("takes each ratio to etcd within a round, then the median over rounds, so that drift between rounds cancels", () => {
    // The machine slows by half in round 2 and recovers in round 3: Raft is twice etcd in every round.
    const runs = [run("raft", 1, 2000, 50), run("etcd", 1, 1000, 100), run("raft", 2, 1000, 100), run("etcd", 2, 500, 200), run("raft", 3, 2200, 40), run("etcd", 3, 1100, 100)];
    const raft = summarize("raft", runs);
    expect(raft.vsEtcd).toEqual({ throughputRatio: 2, p99Ratio: 0.5 });
    expect(raft.throughputOpsPerSec).toBe(2000);
    expect(raft.latencyMs.p99).toBe(50);
    expect(raft.ops).toEqual({ completed: 52_000, failed: 3, indeterminate: 0 });
    expect(raft.driverCpuUsPerOp).toBe(100);
    expect(summarize("etcd", runs).vsEtcd).toBeUndefined();
  });

  it("calls a system linearizable only when every run's history is, and counts failed runs", () => {
    const failed: RealRun = { system: "raft", nodes: 3, round: 3, startupMs: 1, driverCpuUsPerOp: undefined, report: undefined, error: "did not start" };
    expect(summarize("raft", [run("raft", 1, 10, 1), run("raft", 2, 10, 1, null)]).linearizable).toBeNull();
    expect(summarize("raft", [run("raft", 1, 10, 1), run("raft", 2, 10, 1, false), run("raft", 3, 10, 1, null)]).linearizable).toBe(false);
    const withFailure = summarize("raft", [run("raft", 1, 10, 1), failed]);
    expect(withFailure).toMatchObject({ rounds: 2, failedRuns: 1, linearizable: true });
  });
});

describe("the real bench's profile summary", () => {
  it("leaves out start-up and idle samples, and folds self time by function and by area", () => {
    const dir = mkdtempSync(join(tmpdir(), "concord-profile-test-"));
    try {
      const frame = (id: number, functionName: string, url: string) => ({ id, callFrame: { functionName, url, lineNumber: 9, scriptId: "1", columnNumber: 0 }, hitCount: 0 });
      const profile = {
        nodes: [frame(1, "(root)", ""), frame(2, "(idle)", ""), frame(3, "compile", "node:internal/modules/esm/utils"), frame(4, "step", `file://${dir}/packages/raft/src/raft.ts`), frame(5, "fdatasync", "")],
        startTime: 0,
        endTime: 100_000,
        // 10 ms of start-up compiling, then 30 ms idle, 45 ms in Raft's step, 15 ms in fdatasync.
        samples: [3, 2, 4, 5],
        timeDeltas: [10_000, 30_000, 45_000, 15_000],
      };
      writeFileSync(join(dir, "node.cpuprofile"), JSON.stringify(profile));
      const summary = summarizeProfile(join(dir, "node.cpuprofile"), { skipMs: 10, fileRoot: dir, sourceRoot: dir });
      expect(summary).toMatchObject({ file: "node.cpuprofile", busyMs: 60, wallMs: 90 });
      expect(summary.top).toEqual([
        { function: "step", where: "packages/raft/src/raft.ts:10", percent: 75 },
        { function: "fdatasync", where: "", percent: 25 },
      ]);
      expect(summary.byArea).toEqual([
        { area: "@concord/raft", percent: 75 },
        { area: "(fdatasync)", percent: 25 },
      ]);
      expect(summarizeProfile(join(dir, "node.cpuprofile"), { skipMs: 0, fileRoot: dir, sourceRoot: dir }).busyMs).toBe(70);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
