import type { NodeId } from "@concord/core";

/** FrameSink is called with each frame a transport received, in arrival order, synchronously. */
export type FrameSink = (from: NodeId, to: NodeId, payload: Uint8Array) => void;

/**
 * FrameTransport is what the runtimes need of a network: send opaque frames
 * between ids, and learn new addresses after a membership change. The TCP
 * transport is one; tests may plug in another.
 */
export interface FrameTransport {
  /** send queues one frame from the local id `from` to `to`; false when it was dropped (and counted). */
  send(from: NodeId, to: NodeId, payload: Uint8Array): boolean;
  /** flushNow, where offered, writes the queued frames at once instead of at the end of the turn. */
  flushNow?(): void;
  /** close ends every connection and timer. */
  close(): Promise<void>;
}

/** PeerBook is a transport that can be told the cluster's addresses again (a node after a membership change). */
export interface PeerBook<Address> {
  setPeers(peers: ReadonlyMap<NodeId, Address>): void;
}
