import { describe, expect, it } from "vitest";
import { encodeCommand } from "@concord/kv";
import { type PbftRequest } from "@concord/pbft";
import { Authenticator, agreementInvariant, encodeBatch } from "@concord/pbft/internals";
import { FakeCrypto, pbftCluster, firstTestClient } from "./kit.ts";

const noBytes = new Uint8Array(0);

describe("PBFT agreement monitor", () => {
  it("reports two correct replicas committing different batches at one sequence number once f+1 replicas lie", () => {
    // Replicas 0 (the primary) and 1 are faulty: one more than n = 4 tolerates.
    const cluster = pbftCluster(4);
    const client = new Authenticator(new FakeCrypto(firstTestClient), firstTestClient, cluster.ids, "macs");
    const request = (text: string): PbftRequest =>
      client.sealRequest({ type: "request", clientId: firstTestClient, session: firstTestClient, sequence: 1, command: encodeCommand({ type: "put", key: "x", value: new TextEncoder().encode(text) }), readOnly: false, readLevel: 0, macs: [] });
    const batches = { 2: [request("a")], 3: [request("b")] };
    for (const victim of [2, 3] as const) {
      const requests = batches[victim];
      const digest = new FakeCrypto(0).digest(encodeBatch(requests));
      for (const liar of [0, 1]) {
        const seal = new Authenticator(new FakeCrypto(liar), liar, cluster.ids, "macs");
        if (liar === 0) cluster.inject(0, victim, seal.sealBroadcast({ type: "prePrepare", view: 0, seq: 1, digest, requests, replica: 0, macs: [], signature: noBytes }));
        else cluster.inject(1, victim, seal.sealBroadcast({ type: "prepare", view: 0, seq: 1, digest, replica: 1, macs: [], signature: noBytes }));
        cluster.inject(liar, victim, seal.sealBroadcast({ type: "commit", view: 0, seq: 1, digest, replica: liar, macs: [], signature: noBytes }));
      }
    }
    // Keep the two correct replicas from hearing each other, as an adversary controlling the network may.
    cluster.drop = (e) => (e.from === 2 && e.to === 3) || (e.from === 3 && e.to === 2);
    cluster.deliverAll();
    expect(cluster.replica(2).committedDigestAt(1)).toBeDefined();
    expect(cluster.replica(3).committedDigestAt(1)).toBeDefined();
    expect(cluster.replica(2).committedDigestAt(1)).not.toBe(cluster.replica(3).committedDigestAt(1));
    expect(cluster.violations()).toEqual([expect.objectContaining({ invariant: agreementInvariant })]);
  });

  it("stays quiet when every correct replica commits the same batch", () => {
    const cluster = pbftCluster(4);
    cluster.submit({ type: "put", key: "x", value: new Uint8Array([1]) });
    cluster.deliverAll();
    expect(cluster.violations()).toEqual([]);
  });
});
