// The Byzantine strategy matrix: f replicas (the first primary among them)
// play each strategy at once; every seed must stay safe, linearizable and live.
import { describe, expect, it } from "vitest";
import type { InvariantMonitor, Replica } from "@concord/core";
import { pbft, type PbftMessage } from "@concord/pbft";
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

    // The primary of view 0 does not start a view by NEW-VIEW, so forge-new-view's tampering as primary needs a liar
    // that leads a later view: here the first primary crashes (at n = 7 it is itself a liar) and the next one lies.
    const liarsLeadingView1 = nodes === 4 ? [2] : [1, 2];
    it(`rejects the tampered NEW-VIEW of a lying next primary (${liarsLeadingView1.join(" and ")} play forge-new-view, replica 1 crashes) and stays safe, linearizable and live`, () => {
      const failures: string[] = [];
      for (let seed = 1; seed <= Math.ceil(seeds / 5) && failures.length < 5; seed++) {
        const probe = new ViewProbe(new Set(liarsLeadingView1));
        const scenario = {
          name: "byzantine-next-primary-crash",
          description: "the first primary crashes as the workload starts, for 1.5 s; the primary of view 1 plays forge-new-view",
          warmupMs: 500,
          workload: { spreadMs: 2000 },
          byzantine: liarsLeadingView1.length,
          faults: [{ type: "crash" as const, atMs: 0, target: { index: 0 }, restartAfterMs: 1500 }],
        };
        const algorithm = { ...pbft, createMonitors: () => [...pbft.createMonitors(), probe] };
        const run = { nodes, scenario, seed, ops: 8, clients: 2, byzantineStrategy: "forge-new-view", byzantineNodes: liarsLeadingView1, algorithm };
        failures.push(...problemsOf(run).problems);
        // Correct replicas reached view 1 (led by a liar), never ran it, and moved on to view 2 or later.
        if (probe.highestView < 2 || probe.activeInLiarsView) failures.push(`seed ${seed}: highest view ${probe.highestView}, ran a liar's view: ${probe.activeInLiarsView}`);
      }
      expect(failures).toEqual([]);
    });
  });
}

/** ViewProbe watches the views correct replicas reach, and whether any of them ran a view led by a liar after view 0. */
class ViewProbe implements InvariantMonitor<PbftMessage> {
  readonly name = "view-probe";
  highestView = 0;
  activeInLiarsView = false;
  constructor(private readonly liars: ReadonlySet<number>) {}
  observeReplica(replica: Replica<PbftMessage>, context: { readonly faulty: boolean }): void {
    if (context.faulty) return;
    const status = replica.status();
    this.highestView = Math.max(this.highestView, status.epoch);
    if (status.epoch > 0 && status.leader !== undefined && this.liars.has(status.leader) && (replica as unknown as { isViewActive(): boolean }).isViewActive()) {
      this.activeInLiarsView = true;
    }
  }
  violations(): [] {
    return [];
  }
}
