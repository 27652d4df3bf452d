// Issue 10, bug 1: a snapshot must never destroy the durable term, vote or promises that
// were synced before it. `crash-restart` crashes every node with unsynced writes (a 1 ms sync),
// and each protocol's snapshot or checkpoint interval is set to its smallest values, so that
// crashes land between a snapshot and the sync that makes it durable. CONCORD_SEEDS raises the count.
import { describe, expect, it } from "vitest";
import { findAlgorithm, replayCommand } from "@concord/lab";
import { runSimulation } from "@concord/sim";
import { failuresOf, judgeRun } from "@concord/testkit";

const seeds = Number(process.env["CONCORD_SEEDS"] ?? 40);

const cases: { algo: string; nodes: number[]; seeds: number; options: Record<string, number>[] }[] = [
  { algo: "raft", nodes: [3, 5], seeds, options: [1, 2, 5].map((every) => ({ snapshotEveryEntries: every })) },
  { algo: "multipaxos", nodes: [3, 5], seeds, options: [1, 2, 5].map((every) => ({ snapshotEveryEntries: every })) },
  // PBFT runs cost about ten times as much: a quarter of the seeds.
  { algo: "pbft", nodes: [4], seeds: Math.ceil(seeds / 4), options: [1, 2].map((every) => ({ checkpointIntervalSeqs: every, watermarkWindowSeqs: 2 * every })) },
];

describe.each(cases)("crash-restart with the smallest snapshot intervals: $algo", ({ algo, nodes, seeds, options }) => {
  const algorithm = findAlgorithm(algo);
  if (algorithm === undefined) throw new Error(`no algorithm named ${algo}`);
  const runs = nodes.flatMap((n) => options.map((protocolOptions) => ({ n, protocolOptions })));
  it.each(runs)("keeps every invariant and stays linearizable on n=$n with $protocolOptions", ({ n, protocolOptions }) => {
    const verdicts = Array.from({ length: seeds }, (_, index) => {
      const run = { nodes: n, scenario: "crash-restart", seed: index + 1, protocolOptions };
      return judgeRun(() => runSimulation({ algorithm, ...run }), { liveness: "none", undecidedIsBroken: true, replay: () => replayCommand({ algo, ...run }) });
    });
    const failures = failuresOf(verdicts);
    expect(failures, failures.join("\n")).toEqual([]);
  });
});
