import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import type { NodeId } from "@concord/core";
import { type PeerAddress, makeDirectories } from "@concord/net";

/** NodeLauncher turns `concord` arguments (`node` and its flags; `relay` and its, for the latency nemesis) into the command line that runs them (the CLI's own, under tsx or built). */
export type NodeLauncher = (flags: readonly string[]) => { readonly command: string; readonly args: readonly string[] };

/** LocalClusterSetup describes a cluster of node processes on this machine. */
export interface LocalClusterSetup {
  readonly algorithm: string;
  readonly nodes: number;
  /** basePort: node i listens on basePort + i; free ports are picked when absent. */
  readonly basePort?: number | undefined;
  readonly host?: string | undefined;
  /** dataDir holds a directory per node, and the cluster's secret. */
  readonly dataDir: string;
  /** extraFlags go to every node (say `--no-fsync`, `--option k=v`). */
  readonly extraFlags?: readonly string[] | undefined;
  readonly launcher: NodeLauncher;
  /** onLog receives each line a node writes on stderr. */
  readonly onLog?: ((id: NodeId, line: string) => void) | undefined;
  /** startTimeoutMs bounds how long a node may take to say it listens (default 30000). */
  readonly startTimeoutMs?: number | undefined;
  /** addresses gives each node's address (ids 0..nodes-1), overriding host, basePort and the free ports: say, one per network namespace. */
  readonly addresses?: ReadonlyMap<NodeId, PeerAddress> | undefined;
  /** spawn starts node `id`'s process (say, inside its network namespace); node's child_process.spawn when absent. */
  readonly spawn?: ((id: NodeId, command: string, args: readonly string[], options: SpawnOptions) => ChildProcess) | undefined;
}

/**
 * LocalCluster runs one `concord node` process per replica on this machine:
 * ids 0..n-1, data in `<dataDir>/node-<id>`, one shared secret file in
 * `<dataDir>/secret` (made on first start). It can kill a node (SIGKILL: no
 * sync, no goodbye) and restart it on the same data directory, and stops
 * them all with SIGTERM.
 */
export class LocalCluster {
  private readonly processes = new Map<NodeId, ChildProcess>();
  private readonly addresses: Map<NodeId, PeerAddress>;
  /** joined are the nodes started outside the initial configuration, by {@link addNode}. */
  private readonly joined = new Set<NodeId>();
  readonly secretFile: string;

  private constructor(
    private readonly setup: LocalClusterSetup,
    peers: Map<NodeId, PeerAddress>,
  ) {
    this.addresses = peers;
    this.secretFile = join(setup.dataDir, "secret");
  }

  /** start picks the ports, writes the secret, and starts every node, resolving once each says it listens. */
  static async start(setup: LocalClusterSetup): Promise<LocalCluster> {
    const host = setup.host ?? "127.0.0.1";
    const ports =
      setup.addresses !== undefined ? [] : setup.basePort === undefined ? await freePorts(host, setup.nodes) : Array.from({ length: setup.nodes }, (_unused, i) => (setup.basePort as number) + i);
    const cluster = new LocalCluster(setup, setup.addresses !== undefined ? new Map(setup.addresses) : new Map(ports.map((port, id) => [id, { host, port }] as const)));
    makeDirectories(setup.dataDir);
    if (!existsSync(cluster.secretFile)) writeFileSync(cluster.secretFile, randomBytes(32), { mode: 0o600 });
    try {
      await Promise.all([...cluster.peers.keys()].map((id) => cluster.startNode(id)));
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** peers are every node's address, the added ones included. */
  get peers(): ReadonlyMap<NodeId, PeerAddress> {
    return this.addresses;
  }

  /**
   * addNode starts one more node process with `--join` (outside the
   * configuration, waiting for a membership change to add it) on a free
   * port, and returns its id and address.
   */
  async addNode(): Promise<{ id: NodeId; address: PeerAddress }> {
    const id = Math.max(...this.addresses.keys()) + 1;
    const host = this.setup.host ?? "127.0.0.1";
    const [port] = await freePorts(host, 1);
    const address = { host, port: port as number };
    this.addresses.set(id, address);
    this.joined.add(id);
    await this.startNode(id);
    return { id, address };
  }

  /** clusterFlag is the `--cluster` value naming every node. */
  get clusterFlag(): string {
    return [...this.addresses].map(([id, address]) => `${id}=${address.host}:${address.port}`).join(",");
  }

  /** nodeFlags are the `concord node` flags of node `id`. */
  nodeFlags(id: NodeId): string[] {
    const address = this.addresses.get(id);
    if (address === undefined) throw new Error(`no node ${id} in this cluster`);
    return [
      "node",
      "--id",
      String(id),
      "--algo",
      this.setup.algorithm,
      "--listen",
      `${address.host}:${address.port}`,
      "--peers",
      this.clusterFlag,
      "--data",
      join(this.setup.dataDir, `node-${id}`),
      "--secret-file",
      this.secretFile,
      ...(this.joined.has(id) ? ["--join"] : []),
      ...(this.setup.extraFlags ?? []),
    ];
  }

  /** startNode starts node `id` (again), resolving once it listens. */
  startNode(id: NodeId): Promise<void> {
    if (this.processes.has(id)) return Promise.reject(new Error(`node ${id} is already running`));
    const { command, args } = this.setup.launcher(this.nodeFlags(id));
    const options: SpawnOptions = { stdio: ["ignore", "ignore", "pipe"] };
    const child = this.setup.spawn === undefined ? spawn(command, [...args], options) : this.setup.spawn(id, command, args, options);
    this.processes.set(id, child);
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`node ${id} did not start within ${this.setup.startTimeoutMs ?? 30_000} ms; its log: ${tail.join(" | ")}`)), this.setup.startTimeoutMs ?? 30_000);
      const tail: string[] = [];
      let buffered = "";
      child.stderr?.setEncoding("utf8");
      child.stderr?.on("data", (chunk: string) => {
        buffered += chunk;
        const lines = buffered.split("\n");
        buffered = lines.pop() ?? "";
        for (const line of lines) {
          tail.push(line);
          if (tail.length > 40) tail.shift();
          this.setup.onLog?.(id, line);
          if (line.includes(" listening on ")) {
            clearTimeout(timer);
            resolve();
          }
        }
      });
      child.once("exit", (code, signal) => {
        if (this.processes.get(id) === child) this.processes.delete(id);
        clearTimeout(timer);
        reject(new Error(`node ${id} exited (${signal ?? `code ${code}`}) before it listened; its log: ${tail.join(" | ")}`));
      });
    });
  }

  /** running tells whether node `id`'s process is up. */
  running(id: NodeId): boolean {
    return this.processes.has(id);
  }

  /** pid is node `id`'s process id, or undefined when it is down. */
  pid(id: NodeId): number | undefined {
    return this.processes.get(id)?.pid;
  }

  /** kill sends `signal` (SIGKILL by default: the process dies without syncing or closing anything) and waits for the exit. */
  async kill(id: NodeId, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const child = this.processes.get(id);
    if (child === undefined) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    // A stopped (SIGSTOP) process acts on no signal but SIGKILL until it is continued.
    if (signal !== "SIGKILL") child.kill("SIGCONT");
    child.kill(signal);
    await exited;
    this.processes.delete(id);
  }

  /** stop ends every node with SIGTERM (each syncs and closes) and waits for them. */
  async stop(): Promise<void> {
    await Promise.all([...this.processes.keys()].map((id) => this.kill(id, "SIGTERM")));
  }
}

/** freePorts asks the kernel for `count` free ports on `host` (free when asked: a busy machine may take one meanwhile). */
export async function freePorts(host: string, count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
      const server = createServer();
      server.once("error", reject);
      server.listen(0, host, () => resolve(server));
    })),
  );
  const ports = servers.map((server) => (server.address() as { port: number }).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}
