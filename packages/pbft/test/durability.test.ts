import { describe, expect, it } from "vitest";
import { pbftCluster, replicasOf, type PbftCluster } from "./kit.ts";

const value = (text: string): Uint8Array => new TextEncoder().encode(text);

function write(cluster: PbftCluster, key: string, text: string, ticksMax = 500): void {
  cluster.submit({ type: "put", key, value: value(text) });
  cluster.runUntil(() => cluster.idle(), ticksMax);
}

describe("PBFT durable state through Ready.persist", () => {
  it("restarts every replica from what it persisted, with the executed state intact", () => {
    const cluster = pbftCluster(4, { checkpointIntervalSeqs: 2, watermarkWindowSeqs: 4 });
    for (let i = 0; i < 7; i++) write(cluster, `k${i % 2}`, `${i}`);
    for (const id of cluster.ids) cluster.crash(id);
    for (const id of cluster.ids) cluster.restart(id);
    for (const replica of replicasOf(cluster)) {
      expect(replica.status().appliedIndex).toBe(7);
      expect(replica.stableCheckpoint()).toBe(6);
    }
    cluster.submit({ type: "get", key: "k0" });
    cluster.runUntil(() => cluster.idle());
    expect(cluster.results().at(-1)).toEqual({ type: "get", value: new Uint8Array(value("6")) });
    write(cluster, "k0", "after");
    expect(replicasOf(cluster).map((r) => r.status().appliedIndex)).toEqual([8, 8, 8, 8]);
    expect(cluster.violations()).toEqual([]);
  });

  it("lets a crashed backup rejoin and catch up after a restart", () => {
    const cluster = pbftCluster(4, { checkpointIntervalSeqs: 2, watermarkWindowSeqs: 4 });
    write(cluster, "a", "1");
    cluster.crash(2);
    for (let i = 0; i < 9; i++) write(cluster, "a", `${i}`);
    cluster.restart(2);
    write(cluster, "a", "last");
    cluster.runUntil(() => cluster.replica(2).status().appliedIndex === 11, 300);
    expect(cluster.violations()).toEqual([]);
  });

  it("keeps a restarted primary from reusing a sequence number it pre-prepared before the crash", () => {
    const cluster = pbftCluster(4);
    write(cluster, "a", "1");
    // The pre-prepare of sequence number 2 reaches nobody; then the primary crashes and restarts.
    cluster.drop = (e) => e.message.type === "prePrepare";
    cluster.submit({ type: "put", key: "a", value: value("2") });
    cluster.deliverAll();
    cluster.crash(0);
    cluster.restart(0);
    cluster.drop = undefined;
    cluster.runUntil(() => cluster.idle(), 1000);
    expect(cluster.results()).toEqual([{ type: "put" }, { type: "put" }]);
    // Sequence number 2 was either committed with the original batch or replaced in a new view; never two batches.
    expect(cluster.violations()).toEqual([]);
  });
});

/**
 * crashInFirstSnapshot watches the first Ready with a snapshot that replica
 * `id` writes: its steps (the snapshot staged, then each record appended) are
 * counted in the returned probe, and the replica crashes just after step
 * `crashAtStep`, before the sync, if one is given, with the `crashAtStep`
 * records appended before that moment on its disk, unsynced.
 */
function crashInFirstSnapshot(cluster: PbftCluster, id: number, crashAtStep: number | undefined): { steps: number } {
  const probe = { steps: 0 };
  let done = false;
  cluster.beforeSync = (who, ready) => {
    if (who !== id || done || ready.snapshot === undefined) return "sync";
    done = true;
    probe.steps = 1 + ready.persist.length;
    return crashAtStep !== undefined && crashAtStep < probe.steps ? { crashKeepingUnsyncedRecords: crashAtStep } : "sync";
  };
  return probe;
}

describe("PBFT recovery from a crash between persist and sync of a checkpoint snapshot (Storage: a snapshot is durable only at the next sync)", () => {
  const small = { checkpointIntervalSeqs: 2, watermarkWindowSeqs: 4 };

  /**
   * runTaken has six clients write at once, so that the primary, replica 0,
   * fills its window and, in the step in which checkpoint 2 becomes stable,
   * writes the snapshot and then pre-prepares the waiting batches (records
   * after the snapshot in the same Ready); it crashes at `crashAtStep` of
   * that write.
   */
  function runTaken(crashAtStep: number | undefined): { cluster: PbftCluster; steps: number } {
    const cluster = pbftCluster(4, small, 6);
    const probe = crashInFirstSnapshot(cluster, 0, crashAtStep);
    for (let c = 0; c < 6; c++) cluster.submit({ type: "put", key: "a", value: value(`${c}`) }, c);
    cluster.runUntil(() => cluster.idle(), 1000);
    return { cluster, steps: probe.steps };
  }

  /** runInstalled cuts replica 3 off while the others pass two stable checkpoints, then lets it install the state by state transfer, crashing it at `crashAtStep` of the snapshot's write. */
  function runInstalled(crashAtStep: number | undefined): { cluster: PbftCluster; steps: number } {
    const cluster = pbftCluster(4, small);
    cluster.drop = (e) => e.to === 3 || e.from === 3;
    for (let i = 0; i < 7; i++) write(cluster, "a", `${i}`);
    const probe = crashInFirstSnapshot(cluster, 3, crashAtStep);
    cluster.drop = undefined;
    write(cluster, "a", "7");
    cluster.runUntil(() => !cluster.isRunning(3) || cluster.replica(3).status().appliedIndex === 8, 300);
    expect(cluster.countSent("stateTransfer")).toBeGreaterThan(0);
    return { cluster, steps: probe.steps };
  }

  // The taken snapshot is followed by the primary's next pre-prepare in the same Ready; the installed one stands alone.
  for (const [what, run, id, minSteps] of [
    ["taken", runTaken, 0, 2],
    ["installed by state transfer", runInstalled, 3, 1],
  ] as const) {
    it(`keeps the earlier durable state, and then catches up, after a crash at every step of writing a checkpoint snapshot ${what}`, () => {
      const { steps } = run(undefined);
      expect(steps).toBeGreaterThanOrEqual(minSteps);
      for (let crashAtStep = 0; crashAtStep < steps; crashAtStep++) {
        const { cluster } = run(crashAtStep);
        expect(!cluster.isRunning(id)).toBe(true);
        // Nothing of the interrupted Ready is durable: the replica recovers the stable checkpoint it had synced before.
        cluster.restart(id);
        expect(cluster.replica(id).stableCheckpoint()).toBe(0);
        for (let i = 0; i < 5; i++) write(cluster, "a", `after${i}`);
        const applied = cluster.replica(0).status().appliedIndex;
        cluster.runUntil(() => cluster.replica(id).status().appliedIndex === applied, 500);
        cluster.submit({ type: "get", key: "a" });
        cluster.runUntil(() => cluster.idle());
        expect(cluster.results().at(-1)).toEqual({ type: "get", value: new Uint8Array(value("after4")) });
        expect(cluster.violations()).toEqual([]);
      }
    });
  }
});
