// Chaos's crash at a replica's own progress, on PBFT (sim's path-crashes.ts,
// issue 21): a replica that enters a view whose NEW-VIEW chose a checkpoint
// above its stable one crashes soon after, and must come back with that
// checkpoint as its low watermark (bug 3 after a restart).
import { describe, expect, it } from "vitest";
import { type AnyAlgorithm, type InvariantMonitor, type MonitorEventContext, type NodeId, type Replica, createRng, deriveSeed } from "@concord/core";
import { type PbftMessage, PbftReplica, pbft } from "@concord/pbft";
import { drawChaosPathCrash } from "@concord/sim";
import { problemsOf } from "./simulated.ts";

/** Restart is a replica seen at its first event after a restart: when, and its low watermark and stable checkpoint then. */
interface Restart {
  readonly id: NodeId;
  readonly atMs: number;
  readonly low: number;
  readonly stable: number;
}

/** watchingRestarts is PBFT with a monitor that records each correct replica's watermarks at its first event after a restart. */
function watchingRestarts(): { algorithm: AnyAlgorithm; restarts: Restart[] } {
  const restarts: Restart[] = [];
  const replicas = new Map<NodeId, PbftReplica>();
  const watcher: InvariantMonitor<PbftMessage> = {
    name: "restarts",
    observeReplica(replica: Replica<PbftMessage>, context: MonitorEventContext) {
      if (context.faulty || !(replica instanceof PbftReplica)) return;
      const last = replicas.get(replica.id);
      replicas.set(replica.id, replica);
      if (last !== undefined && last !== replica) restarts.push({ id: replica.id, atMs: context.timeUs / 1000, low: replica.watermarks().low, stable: replica.stableCheckpoint() });
    },
    violations: () => [],
  };
  return { algorithm: { ...pbft, createMonitors: () => [...pbft.createMonitors(), watcher] } as AnyAlgorithm, restarts };
}

describe("chaos's crash at a replica's own progress, on PBFT", () => {
  it("crashes a replica soon after it adopts a NEW-VIEW's checkpoint without its state, which it still holds when it restarts", () => {
    // Seed 9 at n = 4: chaos draws a path crash on checkpoint-from-new-view (PBFT's crash path).
    const seed = 9;
    const drawn = drawChaosPathCrash(createRng(deriveSeed(seed, "chaos-path-crashes")), 3000, 1, pbft.chaosFaults);
    expect(drawn).toEqual([expect.objectContaining({ type: "path-crash", path: "checkpoint-from-new-view", count: 2 })]);
    const afterPathMs = (drawn[0] as { afterPathMs: number }).afterPathMs;

    const { algorithm, restarts } = watchingRestarts();
    const { problems, result } = problemsOf({ nodes: 4, scenario: "chaos", seed, ops: 200, clients: 4, encode: false, algorithm });
    const lines = result.faultLog;
    const report = lines.join("\n");
    // The run keeps every guarantee, the durable watermark monitor's included.
    expect(problems).toEqual([]);
    // Replica 1 walks the path, crashes afterPathMs later, and restarts.
    const walked = lines.find((line) => line.includes(`path-crash: node 1 walked checkpoint-from-new-view; it crashes in ${afterPathMs} ms`));
    expect(walked, report).toBeDefined();
    const walkedMs = Number.parseFloat(walked!);
    const crash = lines.find((line) => /: crash node 1$/.test(line) && Number.parseFloat(line) > walkedMs);
    expect(Number.parseFloat(crash!) - walkedMs, report).toBeCloseTo(afterPathMs, 6);
    // Back up, it holds the adopted checkpoint as its low watermark, above the stable checkpoint it had no state for.
    const back = restarts.find((restart) => restart.id === 1 && restart.atMs > walkedMs);
    expect(back, `${JSON.stringify(restarts)}\n${report}`).toBeDefined();
    expect(back!.low, JSON.stringify(back)).toBeGreaterThan(back!.stable);
  });
});
