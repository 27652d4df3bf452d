// VR in memory mode (§4.3: nothing on disk, a restarted replica recovers from
// its peers) in the deterministic simulator: safe while at most f replicas are
// without their memory at once; beyond that the loss is reported. Every
// failure names the command that replays it.
import { assert, type InvariantMonitor, type MonitorEventContext, type NodeId, type ProtocolOptions, type Replica } from "@concord/core";
import { replayCommand } from "@concord/lab";
import { type SimulationResult, runSimulation } from "@concord/sim";
import { type RunVerdict, judgeRun } from "@concord/testkit";
import { type VrMessage, VrReplica, vr } from "@concord/vr";
import { OneOpPerNumberMonitor, OnePrimaryPerViewMonitor } from "@concord/vr/internals";
import { describe, expect, test } from "vitest";

/** memorySeeds is 60 per cluster size in the regular run (the persisting mode's chaos runs 200); CONCORD_SEEDS=2000 runs 600. */
const memorySeeds = Math.max(60, Math.floor(Number(process.env["CONCORD_SEEDS"] ?? 200) * 0.3));

interface Run {
  readonly nodes: number;
  readonly scenario: string;
  readonly seed: number;
  readonly protocolOptions?: ProtocolOptions;
}

function replayOf(run: Run): string {
  return replayCommand({ algo: "vr", nodes: run.nodes, scenario: run.scenario, seed: run.seed, ...(run.protocolOptions === undefined ? {} : { protocolOptions: run.protocolOptions }) });
}

function seeds(count: number, first = 1): number[] {
  return Array.from({ length: count }, (_, i) => first + i);
}

/**
 * RecoveryWatch records when each replica leaves the recovering status, so
 * that a test can tell how long a restarted replica was without its memory.
 */
class RecoveryWatch implements InvariantMonitor<VrMessage> {
  readonly name = "vr-recovery-watch";
  readonly recoveredAtMs = new Map<NodeId, number[]>();
  /** leftAtMs is when a replica in normal status first named a group, of a later epoch than any seen before, that leaves the node out (§7). */
  readonly leftAtMs = new Map<NodeId, number>();
  private readonly last = new Map<NodeId, string>();
  private latestEpoch = 0;
  private latestMembers = new Set<NodeId>();

  observeReplica(replica: Replica<VrMessage>, context: MonitorEventContext): void {
    if (!(replica instanceof VrReplica)) return;
    const status = replica.vrStatus();
    if (status === "normal" && replica.epoch() > this.latestEpoch) {
      this.latestEpoch = replica.epoch();
      const members = new Set(replica.members());
      for (const node of [...this.latestMembers, ...replica.previousMembers()]) if (!members.has(node) && !this.leftAtMs.has(node)) this.leftAtMs.set(node, context.timeUs / 1000);
      this.latestMembers = members;
    }
    if (this.latestMembers.size === 0) this.latestMembers = new Set(replica.members());
    if (this.last.get(replica.id) === "recovering" && status !== "recovering") {
      this.recoveredAtMs.set(replica.id, [...(this.recoveredAtMs.get(replica.id) ?? []), context.timeUs / 1000]);
    }
    this.last.set(replica.id, status);
  }

  violations(): readonly never[] {
    return [];
  }
}

/**
 * mostWithoutMemory is the largest number of replicas that were without their
 * memory at once: each from its crash until it left the recovering status
 * after its restart (the end of the run if it never did), or until a later
 * epoch's group left it out: the paper's bound is on the replicas of the group
 * (§4.3, §7), and a replica reconfigured out of it takes part in nothing.
 */
function mostWithoutMemory(result: SimulationResult, watch: RecoveryWatch): number {
  // Each replica's spans without memory, merged: a replica crashed again before it recovered is one replica down.
  const spans = new Map<NodeId, [number, number][]>();
  for (const fault of result.faults) {
    if (fault.kind !== "crash") continue;
    for (const node of fault.nodes) {
      const restartedMs = Number.isNaN(fault.untilMs) ? Number.POSITIVE_INFINITY : fault.untilMs;
      const backMs = Math.min((watch.recoveredAtMs.get(node) ?? []).find((ms) => ms >= restartedMs) ?? Number.POSITIVE_INFINITY, watch.leftAtMs.get(node) ?? Number.POSITIVE_INFINITY);
      if (backMs > fault.atMs) spans.set(node, [...(spans.get(node) ?? []), [fault.atMs, backMs]]);
    }
  }
  const changes: [number, number][] = [];
  for (const list of spans.values()) {
    list.sort((a, b) => a[0] - b[0]);
    let current: [number, number] | undefined;
    for (const [from, until] of list) {
      if (current !== undefined && from <= current[1]) current[1] = Math.max(current[1], until);
      else {
        if (current !== undefined) changes.push([current[0], 1], [current[1], -1]);
        current = [from, until];
      }
    }
    if (current !== undefined) changes.push([current[0], 1], [current[1], -1]);
  }
  changes.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let down = 0;
  let most = 0;
  for (const [, change] of changes) {
    down += change;
    most = Math.max(most, down);
  }
  return most;
}

interface MemoryVerdict {
  readonly verdict: RunVerdict;
  /** abandoned counts the recoveries given up because more than f replicas had lost their memory. */
  readonly abandoned: number;
  readonly mostWithoutMemory: number;
}

function judgeMemoryRun(run: Run): MemoryVerdict {
  let oracle: OneOpPerNumberMonitor | undefined;
  let watch: RecoveryWatch | undefined;
  const algorithm = { ...vr, createMonitors: () => [(oracle = new OneOpPerNumberMonitor()), new OnePrimaryPerViewMonitor(), (watch = new RecoveryWatch())] };
  const verdict = judgeRun(() => runSimulation({ algorithm, ...run }), { replay: () => replayOf(run) });
  assert(oracle !== undefined && watch !== undefined && verdict.result !== undefined, "the run built its monitors and finished");
  return { verdict, abandoned: oracle.amnesiaSeen(), mostWithoutMemory: mostWithoutMemory(verdict.result, watch) };
}

describe("chaos in memory mode (§4.3): chaos keeps within the paper's assumption of at most f replicas without memory at once, and then nothing is lost", () => {
  for (const nodes of [3, 5]) {
    test(`${memorySeeds} seeds of chaos on ${nodes} nodes`, () => {
      const f = vr.faultsTolerated(nodes);
      const problems: string[] = [];
      let spared = 0;
      let atBound = 0;
      for (const seed of seeds(memorySeeds)) {
        const run = { nodes, scenario: "chaos", seed, protocolOptions: { durability: "memory" } };
        const { verdict, abandoned, mostWithoutMemory } = judgeMemoryRun(run);
        if (!verdict.ok) problems.push(verdict.report);
        if (abandoned > 0 || mostWithoutMemory > f) problems.push(`${mostWithoutMemory} replicas without memory at once, ${abandoned} recoveries abandoned\n  replay: ${verdict.replay || replayOf(run)}`);
        if (mostWithoutMemory === f) atBound++;
        if (verdict.result?.ineffectiveFaults.some((line) => line.includes("more replicas at once than the algorithm's options tolerate")) === true) spared++;
      }
      expect(problems).toEqual([]);
      // The sweep has teeth: some runs had f replicas without memory at once, and chaos held back some crashes.
      expect(atBound).toBeGreaterThan(0);
      expect(spared).toBeGreaterThan(0);
    });
  }
});

describe("crash-restart in memory mode", () => {
  test("crash-restart in memory mode: every node restarts without memory at once, so every recovery is abandoned and the group starts over, reported", () => {
    for (const nodes of [3, 5]) {
      const { verdict, abandoned, mostWithoutMemory } = judgeMemoryRun({ nodes, scenario: "crash-restart", seed: 101, protocolOptions: { durability: "memory" } });
      expect(mostWithoutMemory).toBe(nodes);
      expect(abandoned).toBeGreaterThanOrEqual(nodes - vr.faultsTolerated(nodes));
      // What was acknowledged before the crash is gone: the history says so (a read after it misses a write).
      expect(verdict.problems.some((problem) => /linearizab/.test(problem))).toBe(true);
    }
  });

});
