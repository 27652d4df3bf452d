import { execFile } from "node:child_process";
import { appendFileSync, closeSync, mkdtempSync, openSync, readFileSync, rmSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { promisify } from "node:util";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { History, KvSemantics, ReadLevel } from "@concord/core";
import type { KvCommand, KvResult } from "@concord/kv";
import { type NemesisEvent, type Verdict, checkHistory, kvHistoryToEdn, kvHistoryToJsonl, kvModelFor, parseKvHistory, renderTimeline } from "@concord/check";
import { type ClientHost, damageFileStorage, makeDirectories } from "@concord/net";
import { findAlgorithm } from "../algorithms.ts";
import { checkRunStepsMax, checkRunWallClockLimitMs } from "../check-run.ts";
import { connectCluster } from "./client.ts";
import { EtcdCluster, etcdClientPort, etcdPeerPort } from "./etcd-cluster.ts";
import { EtcdTarget } from "./etcd-target.ts";
import { damageEtcdWal } from "./etcd-wal-damage.ts";
import { type LoadReport, type LoadTarget, latencySummaryMs, runLoad } from "./load.ts";
import { LocalCluster, type NodeLauncher } from "./local-cluster.ts";
import { type FaultMeasurement, type FaultRecord, type NemesisKind, type NemesisTarget, type PlannedFault, netemSupport, planNemesis, quietEndMs, runNemesis } from "./nemesis.ts";
import { NamespaceNetwork } from "./netns.ts";

// `concord test`: a Jepsen-style test of a cluster of real processes, each in
// its own network namespace, under a nemesis drawn from a seed, with
// closed-loop KV clients in this process (the root namespace, outside every
// node's), the history written as Jepsen EDN and Concord JSON lines, checked
// as `concord check` checks it, and availability and latency per fault window.

/** etcdSystemName is what `--algo` takes for etcd. */
export const etcdSystemName = "etcd";

/** NemesisTestSetup is one test run. */
export interface NemesisTestSetup {
  /** system is an algorithm's name or {@link etcdSystemName}. */
  readonly system: string;
  readonly nodes: number;
  readonly nemesis: readonly NemesisKind[];
  readonly seconds: number;
  readonly seed: number;
  readonly clients: number;
  readonly keys: number;
  /** outDir receives history.edn, history.jsonl, results.json, timeline.html and logs/. */
  readonly outDir: string;
  /** launcher runs `concord node` (the CLI's own). */
  readonly launcher: NodeLauncher;
  /** nodeFlags go to every Concord node (say `--option leaseReads=true`). */
  readonly nodeFlags?: readonly string[] | undefined;
  /** clientOptions are the protocol options the clients use (the same as the nodes'). */
  readonly clientOptions?: Readonly<Record<string, unknown>> | undefined;
  /** readLevel is what the load's reads ask for (`linearizable` when absent): `stale` reads are served by whichever node a client reaches (etcd's serializable reads). */
  readonly readLevel?: ReadLevel | undefined;
  /** etcdPath is the etcd binary, for {@link etcdSystemName}. */
  readonly etcdPath?: string | undefined;
  /** replay is the command line that runs this test again, for results.json. */
  readonly replay: string;
  readonly progress: (line: string) => void;
}

/** WindowFigures are what the clients saw in one window of the run: a fault's, or a calm one between faults. */
export interface WindowFigures {
  /** label names the fault (its description) or "calm". */
  readonly label: string;
  readonly kind: NemesisKind | "calm";
  readonly fromMs: number;
  readonly toMs: number;
  /** invoked counts the operations invoked in the window; ok, failed and indeterminate how they ended. */
  readonly invoked: number;
  readonly ok: number;
  readonly failed: number;
  readonly indeterminate: number;
  /**
   * availability is ok over invoked (null when nothing was invoked). Closed-loop
   * clients stuck on a dead node invoke nothing new, so read it with
   * okPerSecond: a window where few were invoked and all came back is not an
   * available one.
   */
  readonly availability: number | null;
  /** okPerSecond is the operations invoked in the window that completed, per second of the window. */
  readonly okPerSecond: number;
  readonly latencyMs: LoadReport["latencyMs"];
  /** measured is the fault's own measurement, where its mechanism gives one (latency through the relays). */
  readonly measured?: FaultMeasurement | undefined;
}

/** NemesisTestResult is what results.json holds. */
export interface NemesisTestResult {
  readonly system: string;
  readonly nodes: number;
  readonly nemesis: readonly NemesisKind[];
  readonly seconds: number;
  readonly seed: number;
  readonly clients: number;
  readonly readLevel: ReadLevel;
  readonly replay: string;
  /** schedule is the plan drawn from the seed, which replays; faults are what happened, whose timing does not. */
  readonly schedule: readonly PlannedFault[];
  readonly faults: readonly FaultRecord[];
  readonly ops: LoadReport["ops"];
  readonly throughputOpsPerSec: number;
  readonly latencyMs: LoadReport["latencyMs"];
  /** finalReads: the keys written, and how many of them a read after the heal answered (each unanswered one leaves lost writes unchecked). */
  readonly finalReads: { readonly keys: number; readonly answered: number };
  /** verdict: the checker's on history.jsonl read back, with the kv model as `concord check` uses it. */
  readonly verdict: { readonly linearizable: boolean | null; readonly summary: string; readonly ednOperations: number; readonly jsonlOperations: number };
  /** passed: linearizable and every key read back after the heal. */
  readonly passed: boolean;
  readonly windows: readonly WindowFigures[];
  readonly files: readonly string[];
}

/** ClusterUnderTest is a running system: its load target and its processes for the nemesis. */
interface ClusterUnderTest extends Omit<NemesisTarget, "network" | "nodes"> {
  readonly target: LoadTarget;
  readonly semantics: KvSemantics;
  stop(): Promise<void>;
}

/**
 * NemesisTest runs one test; {@link abort} (from a signal handler) kills
 * every process and removes the network and the data, so that an
 * interrupted run leaves nothing behind.
 */
export class NemesisTest {
  private network: NamespaceNetwork | undefined;
  private dataDir: string | undefined;
  private readonly mounts: string[] = [];
  private aborted = false;

  constructor(private readonly setup: NemesisTestSetup) {}

  /** run makes the network, starts the cluster, loads it under the nemesis, checks and writes the results, and removes what it made. */
  async run(): Promise<NemesisTestResult> {
    const { setup } = this;
    const logsDir = join(setup.outDir, "logs");
    makeDirectories(logsDir);
    const log = (index: number, line: string): void => appendFileSync(join(logsDir, `${setup.system === etcdSystemName ? "member" : "node"}-${index}.log`), `${line}\n`);
    const nemesisLog: string[] = [];
    const schedule = planNemesis({ kinds: setup.nemesis, nodes: setup.nodes, seconds: setup.seconds, seed: setup.seed });
    await removeStaleMounts();
    this.dataDir = mkdtempSync(join(tmpdir(), `${dataDirPrefix}${process.pid.toString(36)}-`));
    let cluster: ClusterUnderTest | undefined;
    try {
      if (setup.nemesis.includes("disk")) await this.mountDataDirs();
      setup.progress(`making ${setup.nodes} network namespaces on a bridge`);
      this.network = await NamespaceNetwork.create({ hosts: setup.nodes });
      const network = this.network;
      if (setup.nemesis.includes("latency")) {
        // netem where the kernel has it; else a relay in front of each node, in the path before any connection is made, and a reordering wire beside it.
        const noNetem = await netemSupport(network);
        if (noNetem !== undefined) {
          setup.progress("no netem on this kernel: latency through a delaying relay in front of each node, reordering and duplicates through a wire (a TUN device) in each namespace");
          await network.startDelayRelays(setup.system === etcdSystemName ? [etcdClientPort, etcdPeerPort] : [concordPort], setup.launcher);
          await network.startReorderWires();
        }
      }
      setup.progress(`starting ${setup.nodes} ${setup.system} ${setup.system === etcdSystemName ? "members" : "nodes"}, one per namespace`);
      cluster = setup.system === etcdSystemName ? await startEtcd(setup, network, this.dataDir, log) : await startConcord(setup, network, this.dataDir, log);
      await waitForLeader(cluster, setup.system);
      setup.progress(`load for ${setup.seconds} s with ${setup.clients} clients; ${schedule.length} faults scheduled from seed ${setup.seed}`);
      const target: NemesisTarget = { ...cluster, nodes: setup.nodes, network, fillDisk: setup.nemesis.includes("disk") ? (index) => fillDirectory(this.nodeDirectory(index)) : undefined };
      const originMs = performance.now();
      let stopNemesis = false;
      const nemesisDone = runNemesis(target, schedule, originMs, (line) => {
        nemesisLog.push(line);
        setup.progress(line);
      }, () => stopNemesis || this.aborted, setup.seconds * 1000 - quietEndMs);
      // A fault that fails (a node that will not restart) is reported when the nemesis is awaited, before the final reads; until then it must not end the process as an unhandled rejection, which would skip the clean-up.
      nemesisDone.catch(() => undefined);
      const report = await runLoad(cluster.target, {
        clients: setup.clients,
        seconds: setup.seconds,
        semantics: cluster.semantics,
        keys: setup.keys,
        mix: testMix,
        seed: setup.seed,
        ...(setup.readLevel === undefined ? {} : { readLevel: setup.readLevel }),
        originMs,
        finalReadTimeoutMs: 30_000,
        beforeFinalReads: async () => {
          stopNemesis = true;
          await nemesisDone;
          await healEverything(target);
          setup.progress("healed; reading every key");
        },
      });
      const faults = await nemesisDone;
      writeFileSync(join(logsDir, "nemesis.log"), `${nemesisLog.join("\n")}\n`);
      return writeResults(setup, cluster.semantics, schedule, faults, report);
    } finally {
      await cluster?.stop().catch(() => undefined);
      await this.cleanUp();
    }
  }

  /** abort stops the run where it is: every process in the namespaces is killed and the network and data removed. */
  async abort(): Promise<void> {
    this.aborted = true;
    await this.cleanUp();
  }

  private async cleanUp(): Promise<void> {
    await this.network?.destroy();
    for (const mount of this.mounts.splice(0)) await run("umount", ["-l", mount]).catch(() => undefined);
    if (this.dataDir !== undefined) rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** nodeDirectory is node `index`'s data directory (etcd's members are m0, m1, ...). */
  private nodeDirectory(index: number): string {
    return join(this.dataDir as string, this.setup.system === etcdSystemName ? `m${index}` : `node-${index}`);
  }

  /** mountDataDirs puts each node's data directory on a tmpfs of its own, of {@link dataDirBytes} ({@link etcdDataDirBytes} for etcd), for the disk nemesis to fill. */
  private async mountDataDirs(): Promise<void> {
    const bytes = this.setup.system === etcdSystemName ? etcdDataDirBytes : dataDirBytes;
    for (let index = 0; index < this.setup.nodes; index++) {
      const directory = this.nodeDirectory(index);
      makeDirectories(directory);
      await run("mount", ["-t", "tmpfs", "-o", `size=${bytes},mode=0700`, "tmpfs", directory]);
      this.mounts.push(directory);
    }
  }
}

const run = promisify(execFile);

/** dataDirPrefix starts the name of each run's data directory, followed by the pid in base 36: a later run can tell a dead run's. */
const dataDirPrefix = "concord-test-";
/** dataDirBytes is the size of each node's tmpfs under the disk nemesis: room for a 20-second run's log and snapshots, little enough to fill at once. */
const dataDirBytes = 64 * 1024 * 1024;
/**
 * etcdDataDirBytes is an etcd member's: its WAL segment and the next, each
 * preallocated to 64 MB, its backend, and the 64 MB copy of the segment that
 * its repair of a torn tail writes first (wal.Repair's <segment>.broken; on
 * 64 MiB that copy fails with ENOSPC and the member cannot start).
 */
const etcdDataDirBytes = 256 * 1024 * 1024;

/**
 * fillDirectory writes a file of zeros into `directory` until its file
 * system refuses with ENOSPC (in ever smaller writes, down to one byte), and
 * returns what removes it.
 */
async function fillDirectory(directory: string): Promise<() => Promise<void>> {
  const filler = join(directory, "concord-nemesis-filler");
  const fd = openSync(filler, "w");
  try {
    for (let chunk = 1 << 20; chunk >= 1; ) {
      try {
        writeSync(fd, Buffer.alloc(chunk));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
        chunk = Math.floor(chunk / 2);
      }
    }
  } finally {
    closeSync(fd);
  }
  return async () => unlinkSync(filler);
}

/** removeStaleMounts unmounts and removes the data directories of runs whose process is gone (killed before it could clean up). */
async function removeStaleMounts(): Promise<void> {
  const root = join(tmpdir(), dataDirPrefix);
  const mounts = readFileSync("/proc/mounts", "utf8").split("\n").map((line) => line.split(" ")[1] ?? "").filter((path) => path.startsWith(root));
  const stale = mounts.filter((mount) => {
    const pid = Number.parseInt(mount.slice(root.length).split("-")[0] ?? "", 36);
    return Number.isSafeInteger(pid) && pid > 0 && !processAlive(pid);
  });
  for (const mount of stale) await run("umount", ["-l", mount]).catch(() => undefined);
  for (const directory of new Set(stale.map((mount) => join(mount, "..")))) rmSync(directory, { recursive: true, force: true });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** healEverything removes every partition and loss, continues every paused process and restarts every dead one. */
async function healEverything(target: NemesisTarget): Promise<void> {
  await target.network.heal();
  for (let index = 0; index < target.nodes; index++) {
    await target.network.setLoss(index, 0);
    await target.network.setDuplication(index, 0);
    await target.network.setDelay(index, undefined);
    const pid = target.pid(index);
    if (pid === undefined) await target.restart(index);
    else {
      try {
        process.kill(pid, "SIGCONT");
      } catch {
        // gone already
      }
    }
  }
}

async function waitForLeader(cluster: ClusterUnderTest, system: string, timeoutMs = 30_000): Promise<void> {
  if (!leaderful(system)) return;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await cluster.leader()) !== undefined) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`no ${system} node said it leads within ${timeoutMs / 1000} s of starting (see the logs)`);
}

/**
 * leaderful tells whether a system has a leader (or primary) to wait for
 * before the load: single-decree Paxos (a proposer per key, whoever a client
 * asks) and the leaderless stores have none, and report none.
 */
function leaderful(system: string): boolean {
  return system !== "paxos" && system !== "eventual" && system !== "quorum";
}

/**
 * testMix is every system's operation mix, so that etcd and the Concord
 * algorithms get the same load: the store's default mix with append's weight
 * given to put, as the real bench's `mixed` (etcd has no atomic append).
 */
export const testMix = { get: 40, put: 40, append: 0, cas: 15, delete: 5 } as const;

const concordPort = 7000;
/** logTailLines is how many of each node's last lines are kept in memory. */
const logTailLines = 2_000;

/** keepLogTails wraps `log` so that it also keeps each node's last {@link logTailLines} lines, for what a restart says of a damaged log. */
function keepLogTails(log: (index: number, line: string) => void): { logAndKeep: (index: number, line: string) => void; nodeLog: NonNullable<NemesisTarget["nodeLog"]> } {
  const tails = new Map<number, { lines: string[]; total: number }>();
  return {
    logAndKeep: (index, line) => {
      const tail = tails.get(index) ?? { lines: [], total: 0 };
      tail.lines.push(line);
      tail.total++;
      if (tail.lines.length > logTailLines) tail.lines.splice(0, tail.lines.length - logTailLines);
      tails.set(index, tail);
      log(index, line);
    },
    nodeLog: {
      mark: (index) => tails.get(index)?.total ?? 0,
      since: (index, mark) => {
        const tail = tails.get(index) ?? { lines: [], total: 0 };
        return tail.lines.slice(Math.max(0, tail.lines.length - (tail.total - mark)));
      },
    },
  };
}

async function startConcord(setup: NemesisTestSetup, network: NamespaceNetwork, dataDir: string, log: (index: number, line: string) => void): Promise<ClusterUnderTest> {
  const algorithm = findAlgorithm(setup.system);
  if (algorithm === undefined) throw new Error(`no algorithm ${setup.system}`);
  const { logAndKeep, nodeLog } = keepLogTails(log);
  // One node per namespace, each on the same port of its own address, as on machines of one LAN.
  const cluster = await LocalCluster.start({
    algorithm: algorithm.name,
    nodes: setup.nodes,
    dataDir,
    addresses: new Map(network.hosts.map((host) => [host.index, { host: host.address, port: concordPort }] as const)),
    spawn: (id, command, args, options) => {
      logAndKeep(id, `--- starting: concord ${args.slice(args.indexOf("node")).join(" ")}`);
      return network.spawnIn(id, command, args, options);
    },
    extraFlags: setup.nodeFlags,
    launcher: setup.launcher,
    onLog: logAndKeep,
  });
  let host: ClientHost<unknown>;
  try {
    host = await connectCluster({ algorithm, cluster: cluster.peers, options: setup.clientOptions ?? {}, secret: new Uint8Array(readFileSync(cluster.secretFile)) });
  } catch (error) {
    await stopWithin(cluster.stop(), log);
    throw error;
  }
  return {
    target: host,
    semantics: algorithm.kvSemantics ?? "kv",
    leader: async () => {
      const ids = [...cluster.peers.keys()].filter((id) => cluster.running(id));
      const answers = await Promise.all(ids.map((id) => host.admin(id, { op: "status" }, 500)));
      const leaders = answers.flatMap((answer) => (answer.ok && answer.status !== undefined && (answer.status.role === "leader" || answer.status.role === "primary") ? [answer.status] : []));
      // Two may claim it for a moment (an old leader cut off, not yet stepped down): the highest epoch is the real one.
      leaders.sort((a, b) => b.epoch - a.epoch);
      return leaders[0]?.id;
    },
    pid: (id) => cluster.pid(id),
    setClock: async (id, rate) => {
      const answer = await host.admin(id, { op: "clock", rate }, 2_000);
      if (!answer.ok) throw new Error(`node ${id} refused to set its clock: ${answer.error}`);
    },
    kill: async (id) => {
      await cluster.kill(id);
      log(id, "--- killed (SIGKILL)");
    },
    restart: (id) => cluster.startNode(id),
    damageStorage: (id, kind) => {
      const damage = damageFileStorage(join(dataDir, `node-${id}`, "log"), kind);
      if (damage !== undefined) logAndKeep(id, `--- damaged while down: ${damage.description}`);
      return damage;
    },
    nodeLog,
    stop: async () => {
      await host.close();
      await stopWithin(cluster.stop(), log);
    },
  };
}

/** stopWithin waits up to 5 s for the nodes' orderly stop; the network's removal then SIGKILLs whatever still runs. */
async function stopWithin(stopping: Promise<void>, log: (index: number, line: string) => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      log(0, "--- the nodes did not stop within 5 s of SIGTERM; they are killed with the namespaces");
      resolve();
    }, 5_000);
  });
  await Promise.race([stopping, late]);
  clearTimeout(timer);
}

async function startEtcd(setup: NemesisTestSetup, network: NamespaceNetwork, dataDir: string, log: (index: number, line: string) => void): Promise<ClusterUnderTest> {
  if (setup.etcdPath === undefined) throw new Error("etcd is not on the PATH (Debian's etcd-server package installs it)");
  const { logAndKeep, nodeLog } = keepLogTails(log);
  const cluster = await EtcdCluster.start({ etcdPath: setup.etcdPath, members: setup.nodes, dataDir, network, onLog: logAndKeep });
  const target = new EtcdTarget({ hosts: cluster.clientUrls, callTimeoutMs: 2_000 });
  return {
    target,
    semantics: "kv",
    leader: () => cluster.leaderIndex(500),
    pid: (index) => cluster.pid(index),
    kill: async (index) => {
      await cluster.kill(index);
      log(index, "--- killed (SIGKILL)");
    },
    restart: (index) => cluster.restart(index),
    damageStorage: (index, kind) => {
      const damage = damageEtcdWal(join(dataDir, `m${index}`, "member", "wal"), kind);
      if (damage !== undefined) logAndKeep(index, `--- damaged while down: ${damage.description}`);
      return damage;
    },
    nodeLog,
    stop: async () => {
      target.close();
      await cluster.stop();
    },
  };
}

/** nemesisEvents are the history files' nemesis lines: each fault's start and end. */
function nemesisEvents(faults: readonly FaultRecord[]): NemesisEvent[] {
  return faults.flatMap((fault) => [
    { timeUs: fault.startMs * 1000, f: `start-${fault.kind}`, value: fault.description },
    { timeUs: fault.endMs * 1000, f: `stop-${fault.kind}`, value: fault.description },
  ]);
}

/** jsonlWithNemesis is kvHistoryToJsonl's lines with the nemesis's merged in by time (`"process": "nemesis"`, which checkers skip). */
function jsonlWithNemesis(history: History<KvCommand, KvResult>, events: readonly NemesisEvent[]): string {
  const lines = kvHistoryToJsonl(history).split("\n").filter((line) => line !== "");
  const timeOf = (line: string): number => (JSON.parse(line) as { time: number }).time;
  const nemesisLines = events.map((event) => ({ time: event.timeUs, line: JSON.stringify({ process: "nemesis", type: "info", f: event.f, value: event.value, time: event.timeUs }) }));
  const merged = [...lines.map((line, order) => ({ time: timeOf(line), order, line })), ...nemesisLines.map((entry, order) => ({ ...entry, order: -1 - order }))];
  merged.sort((a, b) => a.time - b.time || a.order - b.order);
  return merged.map((entry) => entry.line).join("\n") + "\n";
}

/** writeResults writes the history files, checks history.jsonl read back as `concord check` would, and writes results.json and timeline.html. */
function writeResults(setup: NemesisTestSetup, semantics: KvSemantics, schedule: readonly PlannedFault[], faults: readonly FaultRecord[], report: LoadReport): NemesisTestResult {
  const events = nemesisEvents(faults);
  const jsonl = jsonlWithNemesis(report.history, events);
  const edn = kvHistoryToEdn(report.history, events);
  writeFileSync(join(setup.outDir, "history.jsonl"), jsonl);
  writeFileSync(join(setup.outDir, "history.edn"), edn);
  const readBack = parseKvHistory(readFileSync(join(setup.outDir, "history.jsonl"), "utf8"), "jsonl");
  const ednOperations = parseKvHistory(readFileSync(join(setup.outDir, "history.edn"), "utf8"), "edn").length;
  const model = kvModelFor(semantics);
  const budget = { stepsMax: checkRunStepsMax, wallClockLimitMs: checkRunWallClockLimitMs };
  setup.progress(`checking ${readBack.length} operations`);
  const verdict = checkHistory(model, readBack, budget);
  const linearizable = verdict.kind === "linearizable" ? true : verdict.kind === "not-linearizable" ? false : null;
  const loadOperations = report.history.length - report.finalReads;
  const finalReadOps = report.history.slice(loadOperations);
  const keys = new Set(report.history.slice(0, loadOperations).map((operation) => operation.input.key));
  const answered = new Set(finalReadOps.filter((operation) => operation.status === "ok").map((operation) => operation.input.key));
  const windows = windowFigures(report.history.slice(0, loadOperations), faults, setup.seconds * 1000);
  writeFileSync(
    join(setup.outDir, "timeline.html"),
    renderTimeline(model, readBack, verdict, {
      title: `concord test --algo ${setup.system} --nemesis ${setup.nemesis.join(",")} --seed ${setup.seed}`,
      windows: faults.map((fault) => ({ label: fault.description, fromUs: fault.startMs * 1000, toUs: fault.endMs * 1000 })),
    }),
  );
  const result: NemesisTestResult = {
    system: setup.system,
    nodes: setup.nodes,
    nemesis: setup.nemesis,
    seconds: setup.seconds,
    seed: setup.seed,
    clients: setup.clients,
    readLevel: setup.readLevel ?? "linearizable",
    replay: setup.replay,
    schedule,
    faults,
    ops: report.ops,
    throughputOpsPerSec: report.throughputOpsPerSec,
    latencyMs: report.latencyMs,
    finalReads: { keys: keys.size, answered: [...keys].filter((key) => answered.has(key)).length },
    verdict: { linearizable, summary: verdictSummary(verdict), ednOperations, jsonlOperations: readBack.length },
    passed: linearizable === true && [...keys].every((key) => answered.has(key)),
    windows,
    files: ["history.edn", "history.jsonl", "results.json", "timeline.html", "logs/"],
  };
  writeFileSync(join(setup.outDir, "results.json"), `${JSON.stringify(result, null, 2)}\n`);
  return result;
}

function verdictSummary(verdict: Verdict): string {
  switch (verdict.kind) {
    case "linearizable":
      return "linearizable";
    case "not-linearizable":
      return `not linearizable: ${verdict.evidence.text.split("\n")[0] ?? ""}`;
    case "unknown":
      return `unknown (${verdict.limit}): ${verdict.reason}`;
  }
}

/** windowFigures splits the run into fault windows and the calm between them, and counts what the operations invoked in each did. */
export function windowFigures(history: History<KvCommand, KvResult>, faults: readonly FaultRecord[], runMs: number): WindowFigures[] {
  const windows: { label: string; kind: NemesisKind | "calm"; fromMs: number; toMs: number; measured?: FaultMeasurement | undefined }[] = [];
  let atMs = 0;
  for (const fault of [...faults].sort((a, b) => a.startMs - b.startMs)) {
    if (fault.startMs > atMs) windows.push({ label: "calm", kind: "calm", fromMs: atMs, toMs: fault.startMs });
    windows.push({ label: fault.description, kind: fault.kind, fromMs: fault.startMs, toMs: fault.endMs, ...(fault.measured === undefined ? {} : { measured: fault.measured }) });
    atMs = Math.max(atMs, fault.endMs);
  }
  // The last window runs to the end of the load, or past the last invocation (one a hair after the deadline).
  const endMs = history.reduce((latest, operation) => Math.max(latest, Math.floor(operation.invokeUs / 1000) + 1), runMs);
  if (endMs > atMs) windows.push({ label: "calm", kind: "calm", fromMs: atMs, toMs: endMs });
  return windows.map((window) => {
    const inside = history.filter((operation) => operation.invokeUs >= window.fromMs * 1000 && operation.invokeUs < window.toMs * 1000);
    const ok = inside.filter((operation) => operation.status === "ok" && operation.completeUs !== undefined);
    const failed = inside.filter((operation) => operation.status === "fail").length;
    return {
      ...window,
      invoked: inside.length,
      ok: ok.length,
      failed,
      indeterminate: inside.length - ok.length - failed,
      availability: inside.length === 0 ? null : Math.round((ok.length / inside.length) * 1000) / 1000,
      okPerSecond: window.toMs > window.fromMs ? Math.round((ok.length * 1000) / (window.toMs - window.fromMs)) : 0,
      latencyMs: latencySummaryMs(ok.map((operation) => (operation.completeUs as number) - operation.invokeUs)),
    };
  });
}
