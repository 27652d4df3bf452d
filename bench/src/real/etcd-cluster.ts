// A three-member etcd cluster of our own processes on loopback, for the real
// bench to measure Concord against: fresh data directories, free ports, a
// static --initial-cluster, and etcd's defaults otherwise (fsync on every
// commit, as `etcd-server` ships). Never the system's etcd service.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { freePorts } from "@concord/lab";
import { Etcd3 } from "etcd3";

/** EtcdClusterSetup says where and how big. */
export interface EtcdClusterSetup {
  /** etcdPath is the etcd binary (see {@link findOnPath}). */
  readonly etcdPath: string;
  readonly members: number;
  /** dataDir holds a directory per member; the caller removes it. */
  readonly dataDir: string;
  readonly host?: string | undefined;
  /** startTimeoutMs bounds how long the members may take to serve (default 30000). */
  readonly startTimeoutMs?: number | undefined;
}

interface Member {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
}

/**
 * EtcdCluster runs one `etcd` process per member, each on a fresh data
 * directory and its own client and peer ports, and stops them all (SIGTERM,
 * then SIGKILL for one that lingers).
 */
export class EtcdCluster {
  private readonly processes = new Map<string, ChildProcess>();
  private readonly logTail: string[] = [];
  // One fresh token per cluster, so that members of an earlier run can never join this one.
  private readonly token = `concord-bench-${randomBytes(6).toString("hex")}`;

  private constructor(
    private readonly setup: EtcdClusterSetup,
    private readonly members: readonly Member[],
  ) {}

  /** start launches every member and resolves once each says it serves clients. */
  static async start(setup: EtcdClusterSetup): Promise<EtcdCluster> {
    const host = setup.host ?? "127.0.0.1";
    const ports = await freePorts(host, setup.members * 2);
    const members = Array.from({ length: setup.members }, (_unused, i) => ({
      name: `m${i}`,
      clientUrl: `http://${host}:${ports[2 * i] as number}`,
      peerUrl: `http://${host}:${ports[2 * i + 1] as number}`,
    }));
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
      for (const member of this.members) {
        const client = new Etcd3({ hosts: member.clientUrl, dialTimeout: 1_000 });
        try {
          const status = await client.maintenance.status();
          if (status.leader !== "0" && status.leader === status.header.member_id) return member.clientUrl;
        } catch {
          // Not serving yet: ask the next one.
        } finally {
          client.close();
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`no etcd member says it leads within ${timeoutMs} ms; log: ${this.logTail.join(" | ")}`);
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
    const child = spawn(this.setup.etcdPath, this.flags(member), { stdio: ["ignore", "ignore", "pipe"] });
    this.processes.set(member.name, child);
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
      child.once("exit", (code, signal) => {
        if (this.processes.get(member.name) === child) this.processes.delete(member.name);
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
