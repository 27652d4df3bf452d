import { CorruptionError } from "@concord/core";
import { NodeMetrics, algorithmNames, serveMetrics, startRealNode, type RealNode } from "@concord/lab";
import { type FlagSpec, helpText, integerFlag, parseFlags, protocolOptionFlags } from "../flags.ts";
import { type CommandIo, UsageError } from "../io.ts";
import { protocolOptionsHelp } from "../protocol-options.ts";
import { algorithmFlag, asUsage, clusterFlag, realClusterFlags, secretFlag, tickMsFlag, tlsFlags } from "./real-flags.ts";
import { diskFullExitCode, parseAddress } from "@concord/net";

const flags: Readonly<Record<string, FlagSpec>> = {
  id: { type: "string", description: "this node's replica id (required), one of the ids in --peers" },
  algo: { type: "string", description: "the algorithm every node of the cluster runs (required)", values: algorithmNames },
  listen: { type: "string", description: "host:port to listen on for peers and clients (required)" },
  peers: { type: "string", description: "id=host:port,... for every replica of the initial configuration, this one included (required)" },
  data: { type: "string", description: "the data directory: created on first start, refused if another algorithm or node id wrote it (required)" },
  join: { type: "boolean", description: "start outside the initial configuration and wait to be added (concord member add)" },
  metrics: { type: "string", description: "host:port to serve Prometheus metrics on (GET /metrics)" },
  "no-fsync": { type: "boolean", description: "do not fsync (a machine crash then loses acknowledged writes): for measurements that say so" },
  ...realClusterFlags,
  help: { type: "boolean", description: "show this help" },
};

const usage = "concord node --id <id> --algo <name> --listen <host:port> --peers <id=host:port,...> --data <dir> [--tls-cert f --tls-key f --tls-ca f] [--metrics <host:port>]";

/**
 * runNodeCommand runs one replica process until SIGTERM or SIGINT, then
 * stops it cleanly (its last Ready synced) and returns 0. A bad flag, a data
 * directory of another node, or a port in use print one line and return 2.
 * A full data directory (ENOSPC or EDQUOT on a sync) keeps the node up,
 * holding what it could not sync until a retry succeeds; a failed sync the
 * storage cannot retry halts it with one line, nothing unsynced sent, and
 * returns diskFullExitCode (75).
 */
export async function runNodeCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseFlags(args, flags, false);
  if (values["help"] === true) {
    io.stdout(helpText(usage, flags, [protocolOptionsHelp(algorithmNames)]));
    return 0;
  }
  const algorithm = algorithmFlag(values["algo"]);
  const id = integerFlag("id", values["id"], 0, 999_999);
  if (id === undefined) throw new UsageError("--id is required: this node's replica id");
  const listenText = values["listen"];
  const listen = typeof listenText === "string" ? parseAddress(listenText) : undefined;
  if (listen === undefined) throw new UsageError(`--listen: expected host:port, got ${listenText === undefined ? "nothing" : `"${String(listenText)}"`}`);
  const peers = clusterFlag("peers", values["peers"]);
  const dataDir = values["data"];
  if (typeof dataDir !== "string") throw new UsageError("--data is required: the node's data directory");
  const metricsText = values["metrics"];
  const metricsAddress = metricsText === undefined ? undefined : typeof metricsText === "string" ? parseAddress(metricsText) : undefined;
  if (metricsText !== undefined && metricsAddress === undefined) throw new UsageError(`--metrics: expected host:port, got "${String(metricsText)}"`);
  const log = (line: string): void => io.stderr(`${new Date().toISOString()} ${line}\n`);
  const metrics = metricsAddress === undefined ? undefined : new NodeMetrics();
  let node: RealNode;
  // A full data directory halts the node (nothing unsynced leaves) and ends the wait below: exit diskFullExitCode.
  let diskFull = false;
  let endWait = (): void => {};
  try {
    node = await asUsageAsync(() =>
      startRealNode({
        algorithm,
        id,
        listen,
        peers,
        dataDir,
        options: protocolOptionFlags(values["option"]),
        secret: secretFlag(values),
        tls: tlsFlags(values),
        tickMs: tickMsFlag(values),
        join: values["join"] === true,
        fsync: values["no-fsync"] !== true,
        ...(metrics === undefined ? {} : { onFsync: metrics.observeFsync }),
        onDiskFull: () => {
          diskFull = true;
          endWait();
        },
        log,
      }),
    );
  } catch (error) {
    // A data directory that fails its checks is bad input too: one line naming the file and offset, nothing changed.
    if (error instanceof CorruptionError) throw new UsageError(`--data: ${error.message}`);
    const { code, path, syscall } = error as NodeJS.ErrnoException;
    // A data directory the process cannot create, read or write (a file in the way, no permission, a full disk) is
    // the user's to fix: one line naming it, exit 2. Its message names the operation and the path.
    if (typeof path === "string" && syscall !== "listen") throw new UsageError(`${path === dataDir || path.startsWith(`${dataDir}/`) || dataDir.startsWith(`${path}/`) ? "--data: " : ""}${(error as Error).message}`);
    if (code === "EADDRINUSE") throw new UsageError(`--listen: ${listenText as string} is in use`);
    if (code === "EADDRNOTAVAIL") throw new UsageError(`--listen: ${listenText as string} is not an address of this machine`);
    if (code === "EACCES") throw new UsageError(`--listen: not allowed to listen on ${listenText as string}`);
    throw error;
  }
  metrics?.attach(node);
  const metricsServer =
    metrics === undefined || metricsAddress === undefined
      ? undefined
      : await serveMetrics(metrics, metricsAddress).catch(async (error: unknown) => {
          await node.stop();
          throw new UsageError(`--metrics: cannot listen on ${metricsText as string}: ${(error as Error).message}`);
        });
  log(`node ${id} listening on ${node.address.host}:${node.address.port}${metricsServer === undefined ? "" : `, metrics on ${metricsText as string}`}`);
  await new Promise<void>((resolve) => {
    endWait = resolve;
    if (diskFull) resolve();
    let stopping = false;
    // The handlers stay: a second signal while the node syncs and closes must not kill it half-way.
    const stop = (signal: string): void => {
      log(stopping ? `node ${id}: ${signal} again, still stopping` : `node ${id}: ${signal}, stopping`);
      if (stopping) return;
      stopping = true;
      resolve();
    };
    const onTerm = (): void => stop("SIGTERM");
    const onInt = (): void => stop("SIGINT");
    process.on("SIGTERM", onTerm);
    process.on("SIGINT", onInt);
  });
  await new Promise<void>((resolve) => (metricsServer === undefined ? resolve() : metricsServer.close(() => resolve())));
  await node.stop();
  if (diskFull) {
    log(`node ${id} stopped (exit ${diskFullExitCode}: data directory full)`);
    return diskFullExitCode;
  }
  log(`node ${id} stopped`);
  return 0;
}

/** asUsageAsync is asUsage for a promise: a ConfigError becomes one line and exit 2. */
async function asUsageAsync<T>(run: () => Promise<T>): Promise<T> {
  const promise = asUsage(run);
  return promise.catch((error: unknown) => asUsage(() => {
    throw error;
  }));
}
