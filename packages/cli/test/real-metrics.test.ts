import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { encodeCommand } from "@concord/kv";
import { NodeMetrics, connectCluster, findAlgorithm, freePorts, serveMetrics, startRealNode } from "@concord/lab";

// A node's --metrics: after three puts, the Prometheus text shows its role,
// its applied index, the client messages by type and the fsyncs it did.
it("a node serves its role, indexes, messages by type and fsync latency as Prometheus text", async () => {
  const algorithm = findAlgorithm("solo");
  if (algorithm === undefined) throw new Error("solo");
  const dataDir = mkdtempSync(join(tmpdir(), "concord-metrics-"));
  const [port, metricsPort] = await freePorts("127.0.0.1", 2);
  const listen = { host: "127.0.0.1", port: port as number };
  const metrics = new NodeMetrics();
  const node = await startRealNode({ algorithm, id: 0, listen, peers: new Map([[0, listen]]), dataDir, options: {}, secret: undefined, onFsync: metrics.observeFsync, log: () => {} });
  metrics.attach(node);
  const server = await serveMetrics(metrics, { host: "127.0.0.1", port: metricsPort as number });
  const clients = await connectCluster({ algorithm, cluster: new Map([[0, listen]]), options: {}, secret: undefined });
  try {
    const client = clients.newClient();
    for (let i = 0; i < 3; i++) expect((await clients.submit(client, encodeCommand({ type: "put", key: "k", value: new Uint8Array([i]) }), false)).kind).toBe("ok");
    const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toMatch(/^concord_role\{role="leader"\} 1$/m);
    expect(text).toMatch(/^concord_applied_index 3$/m);
    expect(text).toMatch(/^concord_messages_total\{direction="received",type="clientRequest"\} 3$/m);
    expect(text).toMatch(/^concord_messages_total\{direction="sent",type="clientReply"\} 3$/m);
    expect(text).toMatch(/^concord_fsync_seconds_count [3-9]\d*$/m);
    expect(text).toMatch(/^concord_syncs_total [3-9]\d*$/m);
    expect((await fetch(`http://127.0.0.1:${metricsPort}/other`)).status).toBe(404);
  } finally {
    await clients.close();
    await new Promise((resolve) => server.close(resolve));
    await node.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
