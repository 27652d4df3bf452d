import { describe, expect, it } from "vitest";
import { pbftCluster, replicasOf, type PbftCluster } from "./kit.ts";

const value = (text: string): Uint8Array => new TextEncoder().encode(text);
const small = { checkpointIntervalSeqs: 2, watermarkWindowSeqs: 4 };

function writeMany(cluster: PbftCluster, count: number, from = 0): void {
  for (let i = 0; i < count; i++) {
    cluster.submit({ type: "put", key: `k${(from + i) % 3}`, value: value(`${from + i}`) });
    cluster.runUntil(() => cluster.idle(), 500);
  }
}

describe("PBFT checkpoints, watermarks and garbage collection (PBFT §4.3)", () => {
  it("makes a checkpoint stable with 2f+1 matching checkpoint messages and discards the log below it", () => {
    const cluster = pbftCluster(4, small);
    writeMany(cluster, 9);
    for (const replica of replicasOf(cluster)) {
      expect(replica.status().appliedIndex).toBe(9);
      expect(replica.stableCheckpoint()).toBe(8);
      expect(replica.watermarks()).toEqual({ low: 8, high: 12 });
      // Only sequence number 9 is left above the stable checkpoint.
      expect(replica.logSize()).toBe(1);
    }
    expect(cluster.countSent("checkpoint")).toBe(4 * 3 * 4);
  });

  it("does not make a checkpoint stable on f+1 votes alone", () => {
    const cluster = pbftCluster(4, small);
    // Replicas 2 and 3 never hear checkpoints: each has only its own and at most one other vote.
    cluster.drop = (e) => e.message.type === "checkpoint" && (e.to === 2 || e.to === 3);
    writeMany(cluster, 2);
    expect(cluster.replica(2).stableCheckpoint()).toBe(0);
    expect(cluster.replica(0).stableCheckpoint()).toBe(2);
  });

  it("drops and counts a pre-prepare whose sequence number lies above the high watermark", () => {
    const cluster = pbftCluster(4, small);
    const replica = cluster.replica(1);
    // Replica 1 sees no checkpoints, so its low watermark stays at 0 while the others move on.
    cluster.drop = (e) => e.to === 1 && e.message.type === "checkpoint";
    writeMany(cluster, 6);
    expect(replica.watermarks().high).toBe(4);
    expect(replica.rejections().get("outsideWatermarks") ?? 0).toBeGreaterThan(0);
    expect(replica.status().appliedIndex).toBe(4);
  });

  it("brings a replica that fell behind the stable checkpoint up to date by state transfer", () => {
    const cluster = pbftCluster(4, small);
    cluster.drop = (e) => e.to === 3 || e.from === 3;
    writeMany(cluster, 11);
    expect(cluster.replica(3).status().appliedIndex).toBe(0);
    expect(cluster.replica(0).stableCheckpoint()).toBe(10);
    cluster.drop = undefined;
    writeMany(cluster, 1, 11);
    cluster.runUntil(() => cluster.replica(3).status().appliedIndex === 12, 300);
    expect(cluster.countSent("fetchState")).toBeGreaterThan(0);
    expect(cluster.countSent("stateTransfer")).toBeGreaterThan(0);
    // It now answers reads from the transferred state like everyone else.
    cluster.submit({ type: "get", key: "k1" });
    cluster.runUntil(() => cluster.idle());
    expect(cluster.results().at(-1)).toEqual({ type: "get", value: new Uint8Array(value("10")) });
    expect(cluster.violations()).toEqual([]);
  });
});
