// Swarm testing: the `chaos` scenario draws its own fault mix from each seed, for
// every registered algorithm. CONCORD_SWARM_SEEDS raises the seed count for long runs.
import { describe, expect, it } from "vitest";
import { algorithms, checkRun, clusterSizes, replayCommand, simulate } from "@concord/lab";

const seeds = Number(process.env["CONCORD_SWARM_SEEDS"] ?? 10);
const firstSeed = Number(process.env["CONCORD_SWARM_FIRST_SEED"] ?? 1);
// A long run (many seeds, PBFT at n=7 takes about 0.1 s a seed) must not hit vitest's default timeout.
const timeoutMs = Math.max(120_000, seeds * 500);

describe.each(algorithms.map((algorithm) => [algorithm.name, algorithm] as const))("swarm: chaos on %s", (_name, algorithm) => {
  const sizes = clusterSizes(algorithm, [1, 2]);
  it.each(sizes)(`keeps every guarantee on n=%i over ${seeds} seeds`, (nodes) => {
    const failures: string[] = [];
    for (let seed = firstSeed; seed < firstSeed + seeds; seed++) {
      const ops = 60;
      const { report } = simulate({ algorithm, nodes, scenario: "chaos", seed, ops, clients: 3 }, checkRun);
      const problems = [
        ...report.invariantViolations.map((violation) => `[${violation.invariant}] ${violation.message}`),
        ...(report.linearizable === false ? [report.linearizability] : []),
        ...(report.linearizable === null ? [`checker gave no verdict: ${report.linearizability}`] : []),
      ];
      if (problems.length > 0) {
        failures.push(`seed ${seed}: ${problems.slice(0, 3).join("; ")}\n  replay: ${replayCommand({ algo: algorithm.name, nodes, scenario: "chaos", seed, ops, clients: 3 })}`);
      }
    }
    expect(failures, failures.join("\n")).toEqual([]);
  }, timeoutMs);
});
