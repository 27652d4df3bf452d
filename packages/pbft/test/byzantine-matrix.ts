// The Byzantine strategy matrix: f replicas (the first primary among them)
// play each strategy at once; every seed must stay safe, linearizable and live.
import { describe, expect, it } from "vitest";
import { pbft } from "@concord/pbft";
import { problemsOf, seedCount } from "./simulated.ts";

/** describeByzantineMatrix declares one test per strategy for a cluster of `nodes`. */
export function describeByzantineMatrix(nodes: number): void {
  const f = (nodes - 1) / 3;
  const liars = f === 1 ? "the primary plays" : `${f} replicas, the primary among them, play`;
  const lyingBackups = f === 1 ? "a backup plays" : `${f} backups play`;
  const seeds = seedCount(100);
  describe(`PBFT with f = ${f} Byzantine replicas of n = ${nodes} (${seeds} seeds per strategy)`, () => {
    for (const strategy of pbft.byzantineStrategies) {
      it(`stays safe, linearizable and live while ${liars} ${strategy.name}`, () => {
        const failures: string[] = [];
        for (let seed = 1; seed <= seeds; seed++) {
          // One seed in ten also puts every message through the wire codec (a lie must survive encoding); the
          // rest skip it, which costs about as much as the run itself.
          const { problems, result } = problemsOf({ nodes, scenario: "byzantine", seed, ops: 8, clients: 2, byzantineStrategy: strategy.name, encode: seed % 10 === 1 });
          expect(result.byzantineNodes).toHaveLength(f);
          // The simulator numbers replicas 1..n, so replica 1 is the primary of view 0.
          expect(result.byzantineNodes).toContain(1);
          failures.push(...problems);
          if (failures.length >= 5) break;
        }
        expect(failures).toEqual([]);
      });

      it(`stays safe, linearizable and live while ${lyingBackups} ${strategy.name}, with checkpoints every 2 sequence numbers`, () => {
        const failures: string[] = [];
        const backups = nodes === 4 ? [3] : [3, 6];
        for (let seed = 1; seed <= Math.ceil(seeds / 10); seed++) {
          const run = { nodes, scenario: "byzantine", seed, ops: 16, clients: 2, byzantineStrategy: strategy.name, byzantineNodes: backups, encode: seed % 5 === 0 };
          failures.push(...problemsOf({ ...run, protocolOptions: { checkpointIntervalSeqs: 2, watermarkWindowSeqs: 4 } }).problems);
          if (failures.length >= 5) break;
        }
        expect(failures).toEqual([]);
      });
    }
  });
}
