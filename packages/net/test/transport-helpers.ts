// Helpers of the transport tests: small clusters of listening nodes on
// 127.0.0.1 with ports picked by the system, frame recorders, and a wait for a
// condition on real sockets (these tests run in real time, so they poll).
import { TcpTransport, type PeerAddress, type TlsFiles, type TransportLimits } from "@concord/net";
import type { NodeId } from "@concord/core";

/** Received is one frame as a handler saw it. */
export interface Received {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly text: string;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** bytes encodes a test payload. */
export function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/** TestNode is one listening transport and what it received. */
export interface TestNode {
  readonly id: NodeId;
  transport: TcpTransport;
  readonly received: Received[];
  readonly log: string[];
}

/** fastLimits make reconnection quick enough for tests. */
export const fastLimits: Partial<TransportLimits> = { backoffInitialMs: 10, backoffMaxMs: 40, helloTimeoutMs: 2_000, closeTimeoutMs: 200 };

/** listenNode starts one node on 127.0.0.1 (port 0 unless given) with no peers yet. */
export async function listenNode(
  id: NodeId,
  options: { protocol?: string; port?: number; tls?: TlsFiles; limits?: Partial<TransportLimits>; onFrame?: (node: TestNode, from: NodeId, to: NodeId, payload: Uint8Array) => void } = {},
  reuse?: TestNode,
): Promise<TestNode> {
  const node: TestNode = reuse ?? { id, transport: undefined as unknown as TcpTransport, received: [], log: [] };
  node.transport = await TcpTransport.listen({
    self: id,
    protocol: options.protocol ?? "raft",
    listen: { host: "127.0.0.1", port: options.port ?? 0 },
    peers: new Map(),
    onFrame: (from, to, payload) => {
      node.received.push({ from, to, text: decoder.decode(payload) });
      options.onFrame?.(node, from, to, payload);
    },
    tls: options.tls,
    limits: { ...fastLimits, ...options.limits },
    log: (line) => node.log.push(line),
  });
  return node;
}

/** addressBook maps each node to its bound address. */
export function addressBook(nodes: readonly TestNode[]): Map<NodeId, PeerAddress> {
  return new Map(nodes.map((node) => [node.id, node.transport.address!]));
}

/** cluster starts nodes with the given ids and tells each the others' addresses. */
export async function cluster(ids: readonly NodeId[], options: Parameters<typeof listenNode>[1] = {}): Promise<TestNode[]> {
  const nodes: TestNode[] = [];
  for (const id of ids) nodes.push(await listenNode(id, options));
  const book = addressBook(nodes);
  for (const node of nodes) node.transport.setPeers(book);
  return nodes;
}

/** waitFor polls `condition` until it holds, failing with `what` after `timeoutMs`. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** connected waits until every node has a connection to every other. */
export async function connected(nodes: readonly TestNode[]): Promise<void> {
  for (const node of nodes) {
    const others = nodes.filter((other) => other !== node).map((other) => other.id);
    await waitFor(`node ${node.id} connected to ${others.join(",")}`, () => others.every((id) => node.transport.connectedPeers().includes(id)));
  }
}

/** closeAll closes every transport. */
export async function closeAll(transports: readonly (TcpTransport | undefined)[]): Promise<void> {
  await Promise.all(transports.map((transport) => transport?.close()));
}
