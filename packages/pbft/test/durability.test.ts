import { describe, expect, it } from "vitest";
import { TestCluster } from "./harness.ts";

const value = (text: string): Uint8Array => new TextEncoder().encode(text);

function write(cluster: TestCluster, key: string, text: string, maxTicks = 500): void {
  cluster.submit({ type: "put", key, value: value(text) });
  cluster.runUntil(() => cluster.idle(), maxTicks);
}

describe("PBFT durable state through Ready.persist", () => {
  it("restarts every replica from what it persisted, with the executed state intact", () => {
    const cluster = new TestCluster(4, { checkpointIntervalSeqs: 2, watermarkWindowSeqs: 4 });
    for (let i = 0; i < 7; i++) write(cluster, `k${i % 2}`, `${i}`);
    for (const id of cluster.ids) cluster.crash(id);
    for (const id of cluster.ids) cluster.restart(id);
    for (const replica of cluster.replicas) {
      expect(replica.status().appliedIndex).toBe(7);
      expect(replica.stableCheckpoint()).toBe(6);
    }
    cluster.submit({ type: "get", key: "k0" });
    cluster.runUntil(() => cluster.idle());
    expect(cluster.results().at(-1)).toEqual({ type: "get", value: new Uint8Array(value("6")) });
    write(cluster, "k0", "after");
    expect(cluster.replicas.map((r) => r.status().appliedIndex)).toEqual([8, 8, 8, 8]);
    expect(cluster.monitor.violations()).toEqual([]);
  });

  it("lets a crashed backup rejoin and catch up after a restart", () => {
    const cluster = new TestCluster(4, { checkpointIntervalSeqs: 2, watermarkWindowSeqs: 4 });
    write(cluster, "a", "1");
    cluster.crash(2);
    for (let i = 0; i < 9; i++) write(cluster, "a", `${i}`);
    cluster.restart(2);
    write(cluster, "a", "last");
    cluster.runUntil(() => cluster.replica(2).status().appliedIndex === 11, 300);
    expect(cluster.monitor.violations()).toEqual([]);
  });

  it("keeps a restarted primary from reusing a sequence number it pre-prepared before the crash", () => {
    const cluster = new TestCluster(4);
    write(cluster, "a", "1");
    // The pre-prepare of sequence number 2 reaches nobody; then the primary crashes and restarts.
    cluster.filter = (e) => e.message.type !== "prePrepare";
    cluster.submit({ type: "put", key: "a", value: value("2") });
    cluster.deliverAll();
    cluster.crash(0);
    cluster.restart(0);
    cluster.filter = () => true;
    cluster.runUntil(() => cluster.idle(), 1000);
    expect(cluster.results()).toEqual([{ type: "put" }, { type: "put" }]);
    // Sequence number 2 was either committed with the original batch or replaced in a new view; never two batches.
    expect(cluster.monitor.violations()).toEqual([]);
  });
});
