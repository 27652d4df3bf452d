import { type AnyAlgorithm, ConfigError, type NodeId, type ProtocolOptions } from "@concord/core";
import { ClientHost, ClusterCrypto, TcpTransport, parseAddress, type PeerAddress, type TlsFiles } from "@concord/net";
import { clusterKeysFor } from "./node.ts";

/** ClusterClientConfig is how a client process reaches a running cluster. */
export interface ClusterClientConfig {
  readonly algorithm: AnyAlgorithm;
  /** cluster is every replica's address, as the nodes were started. */
  readonly cluster: ReadonlyMap<NodeId, PeerAddress>;
  readonly options: ProtocolOptions;
  readonly secret: Uint8Array | undefined;
  readonly tls?: TlsFiles | undefined;
  readonly tickMs?: number | undefined;
  /** log receives the transport's lines (connections, refusals); none when absent. */
  readonly log?: ((line: string) => void) | undefined;
}

/** connectCluster starts a client host on one dialer transport to the cluster's replicas. */
export function connectCluster(config: ClusterClientConfig): Promise<ClientHost<unknown>> {
  const keys = clusterKeysFor(config.algorithm, config.secret);
  return ClientHost.start({
    algorithm: config.algorithm,
    replicas: [...config.cluster.keys()].sort((a, b) => a - b),
    crypto: (id) => new ClusterCrypto(id, keys),
    options: config.options,
    tickMs: config.tickMs,
    connect: async (sink) => TcpTransport.dialer({ protocol: config.algorithm.name, peers: config.cluster, onFrame: sink, ...(config.tls === undefined ? {} : { tls: config.tls }), log: config.log }),
  });
}

/**
 * parseCluster reads `id=host:port,...` (the form of `--peers` and
 * `--cluster`), refusing a repeated id, a bad id or a bad address with a
 * ConfigError that names the entry.
 */
export function parseCluster(flag: string, text: string): Map<NodeId, PeerAddress> {
  const peers = new Map<NodeId, PeerAddress>();
  for (const entry of text.split(",").map((part) => part.trim()).filter((part) => part !== "")) {
    const at = entry.indexOf("=");
    const idText = entry.slice(0, at);
    const id = Number(idText);
    if (at <= 0 || !/^\d+$/.test(idText) || !Number.isSafeInteger(id) || id >= 1_000_000) {
      throw new ConfigError(`--${flag}`, `"${entry}" is not id=host:port with a replica id from 0 to 999999`);
    }
    const address = parseAddress(entry.slice(at + 1));
    if (address === undefined) throw new ConfigError(`--${flag}`, `"${entry}": "${entry.slice(at + 1)}" is not host:port`);
    if (peers.has(id)) throw new ConfigError(`--${flag}`, `node ${id} is named twice`);
    peers.set(id, address);
  }
  if (peers.size === 0) throw new ConfigError(`--${flag}`, `no nodes given; expected id=host:port,...`);
  return peers;
}
