// The low watermark a replica acted under survives its restart (issue 21,
// bug 3 after a restart): PbftDurableWatermarkMonitor, the check that shows a
// checkpoint a restart forgot, whether the replica made it stable or adopted
// it from a NEW-VIEW without its state.
import { describe, expect, it } from "vitest";
import type { MonitorEventContext } from "@concord/core";
import { PbftDurableWatermarkMonitor, durableWatermarkInvariant } from "@concord/pbft/internals";
import { pbftCluster, type PbftCluster } from "./kit.ts";

const small = { checkpointIntervalSeqs: 2, watermarkWindowSeqs: 4 };
const correct: MonitorEventContext = { timeUs: 0, faulty: false };

/** stableAtFour runs four writes through a cluster of four with a checkpoint every two sequence numbers: every replica's low watermark is 4. */
function stableAtFour(): PbftCluster {
  const cluster = pbftCluster(4, small);
  for (let i = 1; i <= 4; i++) {
    cluster.submit({ type: "put", key: "k", value: new TextEncoder().encode(`${i}`) });
    cluster.deliverAll();
  }
  for (const id of [0, 1, 2, 3]) expect(cluster.replica(id).watermarks().low).toBe(4);
  return cluster;
}

describe("PbftDurableWatermarkMonitor", () => {
  it("lets a replica restart with the low watermark it sent messages under", () => {
    const cluster = stableAtFour();
    const monitor = new PbftDurableWatermarkMonitor();
    monitor.observeReplica(cluster.replica(1), correct);
    const sent = cluster.sent.find((envelope) => envelope.from === 1);
    monitor.observeSend(1, 2, sent!.message, correct);
    cluster.crash(1);
    cluster.restart(1);
    monitor.observeReplica(cluster.replica(1), correct);
    expect(monitor.violations()).toEqual([]);
  });

  it("flags a replica that restarts below the low watermark it sent messages under, and names both", () => {
    const cluster = stableAtFour();
    const monitor = new PbftDurableWatermarkMonitor();
    monitor.observeReplica(cluster.replica(1), correct);
    monitor.observeSend(1, 2, cluster.sent.find((envelope) => envelope.from === 1)!.message, correct);
    // A replica 1 whose disk lost the checkpoint: a fresh one, at 0.
    const forgetful = pbftCluster(4, small).replica(1);
    monitor.observeReplica(forgetful, { timeUs: 7, faulty: false });
    expect(monitor.violations()).toEqual([
      {
        invariant: durableWatermarkInvariant,
        timeUs: 7,
        message:
          "replica 1 restarted with its low watermark at 0 (stable checkpoint 0), below 4, under which it had sent messages before the crash: an adopted or stable checkpoint it had synced was lost",
      },
    ]);
  });

  it("flags nothing for a watermark the replica never sent a message under, nor for a Byzantine replica", () => {
    const cluster = stableAtFour();
    const monitor = new PbftDurableWatermarkMonitor();
    monitor.observeReplica(cluster.replica(1), correct);
    monitor.observeReplica(pbftCluster(4, small).replica(1), correct);
    expect(monitor.violations()).toEqual([]);
    const liar = new PbftDurableWatermarkMonitor();
    liar.observeReplica(cluster.replica(2), { timeUs: 0, faulty: true });
    liar.observeSend(2, 1, cluster.sent.find((envelope) => envelope.from === 2)!.message, { timeUs: 0, faulty: true });
    liar.observeReplica(pbftCluster(4, small).replica(2), { timeUs: 0, faulty: true });
    expect(liar.violations()).toEqual([]);
  });
});
