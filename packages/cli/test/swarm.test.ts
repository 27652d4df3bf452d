// Swarm testing: the `chaos` scenario draws its own fault mix from each seed, for
// every registered algorithm. CONCORD_SWARM_SEEDS raises the seed count for long runs.
import { describe, expect, it } from "vitest";
import { algorithms, clusterSizes, replayCommand } from "@concord/lab";
import { runSimulation } from "@concord/sim";
import { failuresOf, judgeRun } from "@concord/testkit";

const seeds = Number(process.env["CONCORD_SWARM_SEEDS"] ?? 10);
const firstSeed = Number(process.env["CONCORD_SWARM_FIRST_SEED"] ?? 1);
// A long run (many seeds, PBFT at n=7 takes about 0.1 s a seed) must not hit vitest's default timeout.
const timeoutMs = Math.max(120_000, seeds * 500);

describe.each(algorithms.map((algorithm) => [algorithm.name, algorithm] as const))("swarm: chaos on %s", (_name, algorithm) => {
  const sizes = clusterSizes(algorithm, [1, 2]);
  it.each(sizes)(`keeps every guarantee on n=%i over ${seeds} seeds`, (nodes) => {
    const verdicts = Array.from({ length: seeds }, (_, index) => {
      const run = { nodes, scenario: "chaos", seed: firstSeed + index, ops: 60, clients: 3 };
      // As concord swarm judges a seed: no liveness bar beyond the simulator's own, and an undecided history fails.
      return judgeRun(() => runSimulation({ algorithm, ...run }), { liveness: "none", undecidedIsBroken: true, replay: () => replayCommand({ algo: algorithm.name, ...run }) });
    });
    const failures = failuresOf(verdicts);
    expect(failures, failures.join("\n")).toEqual([]);
  }, timeoutMs);
});
