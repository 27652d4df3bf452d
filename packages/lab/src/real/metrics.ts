import { createServer, type Server } from "node:http";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { PeerAddress } from "@concord/net";
import type { RealNode } from "./node.ts";

/** roles are the values of the `concord_role` gauge's label, one gauge per role set to 1 for the current one. */
const roles = ["leader", "follower", "candidate", "learner", "backup", "primary", "stopped"] as const;

/**
 * NodeMetrics is one node's Prometheus registry (prom-client): its role,
 * epoch, commit and applied index, messages and bytes by type in each
 * direction, its disk's syncs and fsync latency, and its transport's frames,
 * drops and refusals. Values are read from the node when scraped; the fsync
 * histogram is fed by the storage as each fsync returns.
 */
export class NodeMetrics {
  readonly registry = new Registry();
  private readonly fsyncSeconds: Histogram;
  private node: RealNode | undefined;

  constructor() {
    const registry = this.registry;
    this.fsyncSeconds = new Histogram({
      name: "concord_fsync_seconds",
      help: "latency of each data fsync of the node's log",
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    });
    const gauge = (name: string, help: string, read: (node: RealNode) => number): void => {
      const metric: Gauge = new Gauge({
        name,
        help,
        registers: [registry],
        collect: () => {
          if (this.node !== undefined) metric.set(read(this.node));
        },
      });
    };
    gauge("concord_epoch", "the protocol's logical clock: Raft's term, the ballot round, the PBFT view", (node) => node.runtime.status.epoch);
    gauge("concord_commit_index", "the highest log position known committed", (node) => node.runtime.status.commitIndex);
    gauge("concord_applied_index", "the highest log position applied to the state machine", (node) => node.runtime.status.appliedIndex);
    gauge("concord_leader", "the replica this one believes leads, -1 when it knows none", (node) => node.runtime.status.leader ?? -1);
    const role: Gauge = new Gauge({
      name: "concord_role",
      help: "1 for the node's current role",
      labelNames: ["role"],
      registers: [registry],
      collect: () => {
        const current = this.node?.runtime.status.role;
        for (const name of roles) role.set({ role: name }, name === current ? 1 : 0);
      },
    });
    const byType = (name: string, help: string, field: "messages" | "bytes"): void => {
      const metric: Counter = new Counter({
        name,
        help,
        labelNames: ["direction", "type"],
        registers: [registry],
        collect: () => {
          if (this.node === undefined) return;
          metric.reset();
          const counts = this.node.runtime.counts;
          for (const [direction, tally] of [["sent", counts.sent], ["received", counts.received]] as const) {
            for (const [type, entry] of tally) metric.inc({ direction, type }, entry[field]);
          }
        },
      });
    };
    byType("concord_messages_total", "protocol messages by direction and type", "messages");
    byType("concord_message_bytes_total", "protocol message payload bytes by direction and type", "bytes");
    const total = (name: string, help: string, read: (node: RealNode) => number): void => {
      const metric: Counter = new Counter({
        name,
        help,
        registers: [registry],
        collect: () => {
          if (this.node === undefined) return;
          metric.reset();
          metric.inc(read(this.node));
        },
      });
    };
    total("concord_syncs_total", "storage syncs (one per Ready that wrote something)", (node) => node.storage.counters.syncs);
    total("concord_storage_bytes_written_total", "bytes written to the node's segment and snapshot files", (node) => node.storage.counters.bytesWritten);
    total("concord_ticks_total", "protocol ticks", (node) => node.runtime.counts.ticks);
    total("concord_refused_frames_total", "frames dropped on arrival by the runtime (undecodable, misaddressed)", (node) => node.runtime.counts.refusedFrames);
    total("concord_send_drops_total", "messages the transport would not queue (full queue, unknown peer)", (node) => node.runtime.counts.sendDrops);
  }

  /** observeFsync records one fsync's latency; give it to the storage as `onFsync`. */
  readonly observeFsync = (latencyMicros: number): void => {
    this.fsyncSeconds.observe(latencyMicros / 1e6);
  };

  /** attach points the gauges at a running node. */
  attach(node: RealNode): void {
    this.node = node;
  }

  /** render is the Prometheus text exposition of every metric now. */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}

/** serveMetrics serves `GET /metrics` on `address` until the returned server is closed. */
export function serveMetrics(metrics: NodeMetrics, address: PeerAddress): Promise<Server> {
  const server = createServer((request, response) => {
    if (request.method !== "GET" || (request.url ?? "").split("?")[0] !== "/metrics") {
      response.writeHead(404, { "content-type": "text/plain" }).end("concord node: GET /metrics\n");
      return;
    }
    metrics.render().then(
      (text) => response.writeHead(200, { "content-type": metrics.registry.contentType }).end(text),
      (error: unknown) => response.writeHead(500, { "content-type": "text/plain" }).end(`${(error as Error).message}\n`),
    );
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(address.port, address.host, () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}
