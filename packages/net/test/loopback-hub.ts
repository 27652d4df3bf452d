import type { NodeId } from "@concord/core";
import type { FrameSink, FrameTransport } from "../src/frame-transport.ts";

/**
 * LoopbackHub is an in-process network for the runtime tests: frames are
 * delivered on a later turn of the event loop, as a socket would deliver
 * them, and an id is reachable once it was registered or has sent a frame
 * (as a node learns a client's connection from its first frame).
 */
export class LoopbackHub {
  private readonly sinks = new Map<NodeId, FrameSink>();
  private readonly cut = new Set<NodeId>();
  delivered = 0;

  /** transport returns a transport for an endpoint whose frames go to `sink`; `ids` are reachable at once. */
  transport(ids: readonly NodeId[], sink: FrameSink): FrameTransport {
    for (const id of ids) this.sinks.set(id, sink);
    let closed = false;
    return {
      send: (from, to, payload) => {
        if (closed) return false;
        this.sinks.set(from, sink);
        const copy = new Uint8Array(payload);
        setImmediate(() => {
          const target = this.sinks.get(to);
          if (target === undefined || this.cut.has(to) || this.cut.has(from)) return;
          this.delivered++;
          target(from, to, copy);
        });
        return true;
      },
      close: async () => {
        closed = true;
        for (const [id, registered] of this.sinks) if (registered === sink) this.sinks.delete(id);
      },
    };
  }

  /** isolate cuts `id` off from everyone until `heal`. */
  isolate(id: NodeId): void {
    this.cut.add(id);
  }

  heal(id: NodeId): void {
    this.cut.delete(id);
  }
}
