// An etcd cluster of our own processes, for the real bench to measure Concord
// against and for `concord test --algo etcd` to put under the same nemesis:
// fresh data directories, a static --initial-cluster, and etcd's defaults
// otherwise (fsync on every commit, as `etcd-server` ships). Never the
// system's etcd service. On loopback (free ports) by default, or one member
// per host of a NamespaceNetwork (each on its own address, ports 2379/2380).
import { type ChildProcess, type SpawnOptions, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import type { Etcd3 } from "etcd3";
import { freePorts } from "./local-cluster.ts";
import type { NamespaceNetwork } from "./netns.ts";

/** EtcdClusterSetup says where and how big. */
export interface EtcdClusterSetup {
  /** etcdPath is the etcd binary (see {@link findOnPath}). */
  readonly etcdPath: string;
  readonly members: number;
  /** dataDir holds a directory per member; the caller removes it. */
  readonly dataDir: string;
  readonly host?: string | undefined;
  /** network: member i runs in host i's namespace, on that host's address (it needs at least `members` hosts); loopback when absent. */
  readonly network?: NamespaceNetwork | undefined;
  /** startTimeoutMs bounds how long the members may take to serve (default 30000). */
  readonly startTimeoutMs?: number | undefined;
  /** onLog receives each line a member writes on stderr, with its index. */
  readonly onLog?: ((index: number, line: string) => void) | undefined;
}

interface Member {
  readonly index: number;
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
}

/** etcdClientPort and etcdPeerPort are etcd's registered ports, used when each member has an address of its own. */
export const etcdClientPort = 2379;
export const etcdPeerPort = 2380;

/** loadEtcd3 imports the etcd v3 client on first use: it takes most of a second to load, which no other command should pay. */
export function loadEtcd3(): Promise<typeof import("etcd3")> {
  return import("etcd3");
}

/**
 * EtcdCluster runs one `etcd` process per member, each on a fresh data
 * directory and its own client and peer ports, kills and restarts one on
 * the same data directory (for a nemesis), and stops them all (SIGTERM,
 * then SIGKILL for one that lingers).
 */
export class EtcdCluster {
  private readonly processes = new Map<number, ChildProcess>();
  private readonly logTail: string[] = [];
  // One fresh token per cluster, so that members of an earlier run can never join this one.
  private readonly token = `concord-etcd-${randomBytes(6).toString("hex")}`;

  private constructor(
    private readonly setup: EtcdClusterSetup,
    private readonly members: readonly Member[],
  ) {}

  /** start launches every member and resolves once each says it serves clients. */
  static async start(setup: EtcdClusterSetup): Promise<EtcdCluster> {
    const network = setup.network;
    if (network !== undefined && network.hosts.length < setup.members) throw new Error(`EtcdCluster: ${setup.members} members need as many hosts; the network has ${network.hosts.length}`);
    const host = setup.host ?? "127.0.0.1";
    const ports = network === undefined ? await freePorts(host, setup.members * 2) : [];
    const members = Array.from({ length: setup.members }, (_unused, i): Member => {
      const address = network === undefined ? host : network.host(i).address;
      return {
        index: i,
        name: `m${i}`,
        clientUrl: `http://${address}:${network === undefined ? (ports[2 * i] as number) : etcdClientPort}`,
        peerUrl: `http://${address}:${network === undefined ? (ports[2 * i + 1] as number) : etcdPeerPort}`,
      };
    });
    const cluster = new EtcdCluster(setup, members);
    try {
      await Promise.all(members.map((member) => cluster.startMember(member)));
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** clientUrls are every member's client endpoint. */
  get clientUrls(): string[] {
    return this.members.map((member) => member.clientUrl);
  }

  /**
   * leaderUrl asks each member whom it follows, until one says it leads
   * (within `timeoutMs`): the bench's clients talk to the leader, as the
   * anchor's did, so that no put pays a follower's forwarding hop.
   */
  async leaderUrl(timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const leader = await this.leaderIndex(1_000);
      if (leader !== undefined) return (this.members[leader] as Member).clientUrl;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`no etcd member says it leads within ${timeoutMs} ms; log: ${this.logTail.join(" | ")}`);
  }

  /** leaderIndex asks each running member once whether it leads and returns the first that says so, or undefined. */
  async leaderIndex(callTimeoutMs = 1_000): Promise<number | undefined> {
    const { Etcd3: Client } = await loadEtcd3();
    for (const member of this.members) {
      if (!this.processes.has(member.index)) continue;
      const client: Etcd3 = new Client({ hosts: member.clientUrl, dialTimeout: callTimeoutMs, defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + callTimeoutMs }) });
      try {
        const status = await client.maintenance.status();
        if (status.leader !== "0" && status.leader === status.header.member_id) return member.index;
      } catch {
        // Not serving (down, paused or cut off): ask the next one.
      } finally {
        client.close();
      }
    }
    return undefined;
  }

  /** running tells whether member `index`'s process is up (a paused one is). */
  running(index: number): boolean {
    return this.processes.has(index);
  }

  /** pid is member `index`'s process id, or undefined when it is down. */
  pid(index: number): number | undefined {
    return this.processes.get(index)?.pid;
  }

  /** kill sends `signal` (SIGKILL by default: no sync, no goodbye) to member `index` and waits for it to exit. */
  async kill(index: number, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const child = this.processes.get(index);
    if (child === undefined) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill(signal);
    await exited;
    this.processes.delete(index);
  }

  /** restart starts member `index` again on its data directory (etcd then ignores the --initial-cluster flags), resolving once it serves. */
  restart(index: number): Promise<void> {
    const member = this.members[index];
    if (member === undefined) return Promise.reject(new Error(`EtcdCluster: no member ${index}`));
    if (this.processes.has(index)) return Promise.reject(new Error(`EtcdCluster: member ${index} is already running`));
    return this.startMember(member);
  }

  /** killNow SIGKILLs every member, without waiting: for an interrupted bench. */
  killNow(): void {
    for (const child of this.processes.values()) child.kill("SIGKILL");
  }

  /** stop ends every member with SIGTERM, and with SIGKILL one that is still up after 5 s. */
  async stop(): Promise<void> {
    await Promise.all(
      [...this.processes.values()].map(async (child) => {
        const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
        child.kill("SIGCONT"); // a paused member would never act on SIGTERM
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(timer);
      }),
    );
    this.processes.clear();
  }

  private flags(member: Member): string[] {
    return [
      "--name", member.name,
      "--data-dir", join(this.setup.dataDir, member.name),
      "--listen-client-urls", member.clientUrl,
      "--advertise-client-urls", member.clientUrl,
      "--listen-peer-urls", member.peerUrl,
      "--initial-advertise-peer-urls", member.peerUrl,
      "--initial-cluster", this.members.map((m) => `${m.name}=${m.peerUrl}`).join(","),
      "--initial-cluster-token", this.token,
      "--initial-cluster-state", "new",
      "--logger", "zap",
      "--log-outputs", "stderr",
    ];
  }

  private startMember(member: Member): Promise<void> {
    const network = this.setup.network;
    const options: SpawnOptions = { stdio: ["ignore", "ignore", "pipe"] };
    const child = network === undefined ? spawn(this.setup.etcdPath, this.flags(member), options) : network.spawnIn(member.index, this.setup.etcdPath, this.flags(member), options);
    this.processes.set(member.index, child);
    const timeoutMs = this.setup.startTimeoutMs ?? 30_000;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`etcd member ${member.name} did not serve within ${timeoutMs} ms; log: ${this.logTail.join(" | ")}`)), timeoutMs);
      let buffered = "";
      child.stderr?.setEncoding("utf8");
      child.stderr?.on("data", (chunk: string) => {
        buffered += chunk;
        const lines = buffered.split("\n");
        buffered = lines.pop() ?? "";
        for (const line of lines) {
          this.setup.onLog?.(member.index, line);
          this.logTail.push(`${member.name}: ${line.slice(0, 300)}`);
          if (this.logTail.length > 20) this.logTail.shift();
          // etcd 3.4's zap logger says "serving client traffic ..."; older loggers say "ready to serve client requests".
          if (line.includes("serving client traffic") || line.includes("ready to serve client requests")) {
            clearTimeout(timer);
            resolve();
          }
        }
      });
      child.once("error", (error) => {
        clearTimeout(timer);
        reject(new Error(`etcd member ${member.name} could not start: ${error.message}`));
      });
      // "close", not "exit": by then every line it wrote has been read (a member that refuses to start says why on its way out).
      child.once("close", (code, signal) => {
        if (this.processes.get(member.index) === child) this.processes.delete(member.index);
        clearTimeout(timer);
        reject(new Error(`etcd member ${member.name} exited (${signal ?? `code ${code}`}) before serving; log: ${this.logTail.join(" | ")}`));
      });
    });
  }
}

/** findOnPath returns the full path of an executable named `name` on the PATH, or undefined. */
export function findOnPath(name: string, path: string = process.env["PATH"] ?? ""): string | undefined {
  for (const dir of path.split(delimiter).filter((entry) => entry !== "")) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here: look further along the PATH.
    }
  }
  return undefined;
}

/** etcdVersion is the first line of `etcd --version` ("etcd Version: 3.4.23"), or "unknown". */
export function etcdVersion(etcdPath: string): string {
  const run = spawnSync(etcdPath, ["--version"], { encoding: "utf8", timeout: 10_000 });
  return run.stdout?.split("\n")[0]?.trim() || "unknown";
}
