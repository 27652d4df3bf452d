import { type AnyAlgorithm, ConfigError, type NodeId, type ProtocolOptions } from "@concord/core";
import { closeSync, fsyncSync, openSync, readFileSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { KvStateMachine } from "@concord/kv";
import { ClusterCrypto, ClusterKeys, FileStorage, NodeRuntime, makeDirectories, TcpTransport, type PeerAddress, type TlsFiles } from "@concord/net";

/**
 * publicClusterSecret keys a crash-tolerant cluster started without a secret
 * (its protocols compute no MACs or signatures, so the keys are never used
 * to protect anything). A Byzantine-tolerant algorithm refuses it.
 */
export const publicClusterSecret = new TextEncoder().encode("concord: a public secret for crash-tolerant clusters");

/** RealNodeConfig is one node process's configuration, as `concord node` reads it from its flags. */
export interface RealNodeConfig {
  readonly algorithm: AnyAlgorithm;
  readonly id: NodeId;
  readonly listen: PeerAddress;
  /** peers are every replica's address, this node's included. */
  readonly peers: ReadonlyMap<NodeId, PeerAddress>;
  readonly dataDir: string;
  readonly options: ProtocolOptions;
  /** secret keys the cluster's MACs and signatures ({@link ClusterKeys}); required for a Byzantine-tolerant algorithm. */
  readonly secret: Uint8Array | undefined;
  readonly tls?: TlsFiles | undefined;
  readonly tickMs?: number | undefined;
  /** join: this node is not in the initial configuration; it waits to be added by a membership change. */
  readonly join?: boolean | undefined;
  /** fsync: false only for tests and measurements that say so. */
  readonly fsync?: boolean | undefined;
  /** onFsync is told each fsync's latency (for a metrics histogram). */
  readonly onFsync?: ((latencyMicros: number) => void) | undefined;
  /** onDiskFull is told that the node halted because its data directory is full (see NodeRuntimeSetup's onDiskFull); the caller stops it and ends the process. */
  readonly onDiskFull?: (() => void) | undefined;
  readonly log: (line: string) => void;
}

/** RealNode is a running node: its runtime, its storage, and how to stop it cleanly. */
export interface RealNode {
  readonly runtime: NodeRuntime<unknown>;
  readonly storage: FileStorage;
  readonly address: PeerAddress;
  stop(): Promise<void>;
}

/** clusterKeysFor returns the keys of a cluster with this secret, refusing a missing one where the algorithm's fault model needs it. */
export function clusterKeysFor(algorithm: AnyAlgorithm, secret: Uint8Array | undefined): ClusterKeys {
  if (secret === undefined && algorithm.faultModel === "byzantine") {
    throw new ConfigError("--secret-file", `${algorithm.name} tolerates Byzantine replicas and authenticates every message: give every node and client the same --secret-file (32 random bytes)`);
  }
  return new ClusterKeys(secret ?? publicClusterSecret);
}

/**
 * startRealNode starts one replica for real: its data directory (refused if
 * another algorithm or node id wrote it), its transport listening on
 * `listen`, and the runtime on a tick timer. Everything is checked before
 * anything is written.
 */
export async function startRealNode(config: RealNodeConfig): Promise<RealNode> {
  const { algorithm, id, peers } = config;
  if (!peers.has(id)) throw new ConfigError("--peers", `the peer list (${[...peers.keys()].join(", ")}) does not name this node (${id})`);
  const asked = [...peers.keys()].filter((peer) => !(config.join === true && peer === id)).sort((a, b) => a - b);
  const sizeError = config.join === true ? undefined : algorithm.clusterSizeError(asked.length);
  if (sizeError !== undefined) throw new ConfigError("--peers", sizeError);
  const keys = clusterKeysFor(algorithm, config.secret);
  const replicas = claimNodeDirectory(config.dataDir, { algorithm: algorithm.name, id, initialReplicas: asked });
  const storage = FileStorage.open(join(config.dataDir, "log"), { identity: { algorithm: algorithm.name, nodeId: id }, fsync: config.fsync ?? true, ...(config.onFsync === undefined ? {} : { onFsync: config.onFsync }) });
  const torn = storage.recoveredTornTail;
  if (torn !== undefined) config.log(`node ${id}: recovery dropped a torn tail of ${torn.bytes} bytes at byte ${torn.offset} of ${torn.file} (an append a crash cut short, never synced); every record before it recovered`);
  const others = new Map([...withLearnedPeers(config.dataDir, peers, config.log)].filter(([peer]) => peer !== id));
  let transport: TcpTransport | undefined;
  let runtime: NodeRuntime<unknown>;
  try {
    runtime = await NodeRuntime.start({
      algorithm,
      id,
      replicas,
      storage,
      stateMachine: new KvStateMachine(),
      crypto: new ClusterCrypto(id, keys),
      options: config.options,
      seed: (Date.now() ^ (id * 0x9e3779b1)) >>> 0,
      tickMs: config.tickMs,
      onPeersLearned: (learned) =>
        writeFileAtomically(config.dataDir, learnedPeersFile, `${JSON.stringify(Object.fromEntries([...learned].map(([peer, address]) => [String(peer), address])))}\n`),
      connect: async (sink) => {
        transport = await TcpTransport.listen({ self: id, protocol: algorithm.name, listen: config.listen, peers: others, onFrame: sink, ...(config.tls === undefined ? {} : { tls: config.tls }), log: config.log });
        return transport;
      },
      log: config.log,
      storageName: config.dataDir,
      ...(config.onDiskFull === undefined ? {} : { onDiskFull: config.onDiskFull }),
    });
  } catch (error) {
    await transport?.close();
    storage.close();
    throw error;
  }
  const address = transport?.address ?? config.listen;
  let stopping: Promise<void> | undefined;
  return {
    runtime,
    storage,
    address,
    stop: () => {
      stopping ??= (async () => {
        await runtime.stop();
        storage.close();
      })();
      return stopping;
    },
  };
}

/** NodeRecord is what a node's data directory says about the node, written on its first start: `node.json`. */
interface NodeRecord {
  readonly algorithm: string;
  readonly id: NodeId;
  /** initialReplicas is the configuration the replica was first built with; a restart builds it with the same, whatever --peers says. */
  readonly initialReplicas: readonly NodeId[];
}

const nodeRecordFile = "node.json";

/**
 * claimNodeDirectory makes `directory` this node's, or checks that it is,
 * and returns the initial configuration to build the replica with. On the
 * first start it writes `node.json` (atomically: a temporary file, fsync,
 * rename, fsync of the directory) before anything else; later starts read it
 * back, so that a restart after a membership change, whose --peers name the
 * new members too, still builds the replica with the configuration it was
 * born with (the log carries every change since, as etcd's data directory
 * makes --initial-cluster matter only once). A directory that holds other
 * files and no `node.json`, or whose `node.json` names another algorithm or
 * node, is refused with a ConfigError, nothing in it changed.
 */
function claimNodeDirectory(directory: string, record: NodeRecord): readonly NodeId[] {
  makeDirectories(directory);
  const names = readdirSync(directory);
  if (names.includes(nodeRecordFile)) {
    let stored: NodeRecord;
    try {
      stored = JSON.parse(readFileSync(join(directory, nodeRecordFile), "utf8")) as NodeRecord;
    } catch (error) {
      throw new ConfigError("--data", `${join(directory, nodeRecordFile)} is not readable JSON (${(error as Error).message}); refusing to guess whose directory this is`);
    }
    if (stored.algorithm !== record.algorithm || stored.id !== record.id) {
      throw new ConfigError("--data", `${directory} belongs to node ${stored.id} running ${stored.algorithm}, not node ${record.id} running ${record.algorithm}`);
    }
    if (!Array.isArray(stored.initialReplicas) || !stored.initialReplicas.every((replica) => Number.isSafeInteger(replica) && replica >= 0)) {
      throw new ConfigError("--data", `${join(directory, nodeRecordFile)} has no valid initialReplicas list`);
    }
    return stored.initialReplicas;
  }
  const foreign = names.filter((name) => name !== `${nodeRecordFile}.tmp`);
  if (foreign.length > 0) {
    throw new ConfigError("--data", `${directory} holds ${foreign.length} entries (${foreign.slice(0, 5).join(", ")}) and no ${nodeRecordFile}: it is not a Concord node's directory; give an empty or missing one`);
  }
  writeFileAtomically(directory, nodeRecordFile, `${JSON.stringify(record)}\n`);
  return record.initialReplicas;
}

/** writeFileAtomically replaces `directory/name` with `text` so that a crash leaves the old file or the new one: temporary file, fsync, rename, fsync of the directory. */
function writeFileAtomically(directory: string, name: string, text: string): void {
  const temporary = join(directory, `${name}.tmp`);
  writeFileSync(temporary, text);
  const fd = openSync(temporary, "r");
  fsyncSync(fd);
  closeSync(fd);
  renameSync(temporary, join(directory, name));
  const dirFd = openSync(directory, "r");
  fsyncSync(dirFd);
  closeSync(dirFd);
}

const learnedPeersFile = "peers.json";

/**
 * withLearnedPeers adds to `peers` the addresses this node learned from an
 * operator (`concord member add` tells every node the new member's address)
 * and kept in `peers.json`, so that a node restarted with the --peers it was
 * first given still reaches the members added since. An address in --peers
 * wins over a learned one for the same id (the operator's newer word).
 */
function withLearnedPeers(directory: string, peers: ReadonlyMap<NodeId, PeerAddress>, log: (line: string) => void): Map<NodeId, PeerAddress> {
  const merged = new Map(peers);
  let stored: Record<string, { host: string; port: number }>;
  try {
    stored = JSON.parse(readFileSync(join(directory, learnedPeersFile), "utf8")) as typeof stored;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return merged;
    throw new ConfigError("--data", `${join(directory, learnedPeersFile)} is not readable JSON (${(error as Error).message})`);
  }
  const added: string[] = [];
  for (const [idText, address] of Object.entries(stored)) {
    const id = Number(idText);
    if (!Number.isSafeInteger(id) || id < 0 || typeof address?.host !== "string" || !Number.isInteger(address.port)) {
      throw new ConfigError("--data", `${join(directory, learnedPeersFile)}: bad entry ${idText}`);
    }
    if (merged.has(id)) continue;
    merged.set(id, { host: address.host, port: address.port });
    added.push(`${id}=${address.host}:${address.port}`);
  }
  if (added.length > 0) log(`node: peers learned before this start and not in --peers: ${added.join(",")}`);
  return merged;
}
