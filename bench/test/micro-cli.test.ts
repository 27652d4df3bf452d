import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { microResultsSchema, taskResult } from "../src/micro/results/micro-results.ts";

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

function micro(...args: string[]) {
  return spawnSync(process.execPath, ["--import", "tsx", join(repoRoot, "bench", "src", "micro.ts"), ...args], { cwd: repoRoot, encoding: "utf8" });
}

describe("pnpm bench:micro", () => {
  it("--help lists every suite and the flags, and exits 0", () => {
    const run = micro("--help");
    expect(run.status).toBe(0);
    for (const suite of ["calibration", "check", "explore", "multipaxos", "pbft", "raft", "sim"]) expect(run.stdout).toContain(suite);
    for (const flag of ["--out", "--calibrate", "--time-ms"]) expect(run.stdout).toContain(flag);
  });

  it("says what is wrong with a bad flag or suite on one line, and exits 2", () => {
    for (const args of [["--bogus"], ["--calibrate", "raft"]]) {
      const run = micro(...args);
      expect(run.status, args.join(" ")).toBe(2);
      expect(run.stderr.trim().split("\n"), args.join(" ")).toHaveLength(1);
      expect(run.stderr).toMatch(/^bench:micro: /);
    }
  });
});

describe("micro.json", () => {
  it("holds a task's figures in microseconds, or the error it threw", () => {
    const figures = taskResult("raft", "a task", {
      state: "completed",
      latency: { mean: 0.01, p50: 0.008, p99: 0.05, rme: 1.5, samplesCount: 200 },
      throughput: { mean: 100_000 },
    } as never);
    expect(figures).toEqual({ suite: "raft", name: "a task", meanUs: 10, medianUs: 8, p99Us: 50, opsPerSec: 100_000, rmePercent: 1.5, samples: 200 });
    expect(taskResult("raft", "broken", { state: "errored", error: new Error("boom") } as never).error).toContain("boom");
    const machine = { cpuModel: "x", cpus: 2, platform: "linux", release: "6", arch: "x64", totalMemoryMb: 1, node: "v20" };
    expect(microResultsSchema.safeParse({ command: "pnpm bench:micro", startedAt: "2026-12-04T20:00:00.000Z", timeMs: 1000, machine, suites: ["raft"], tasks: [figures] }).success).toBe(true);
  });
});
