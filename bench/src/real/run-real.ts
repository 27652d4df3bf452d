// The real bench: clusters of real processes on loopback, each algorithm's and
// etcd's, loaded one after the other by one load driver (lab's runLoad) and
// judged by one checker, in interleaved rounds so that the machine's drift
// cancels in the ratios (the anchors' A B A B).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { availableParallelism, cpus, loadavg, release, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { KvSemantics } from "@concord/core";
import type { Workload } from "@concord/sim";
import { encodeCommand } from "@concord/kv";
import { LocalCluster, type LoadReport, type LoadTarget, type NodeLauncher, connectCluster, findAlgorithm, isBaseline, runLoad } from "@concord/lab";
import { EtcdCluster, etcdVersion } from "./etcd-cluster.ts";
import { EtcdTarget } from "./etcd-target.ts";
import { type ProfileSummary, busiestProfile } from "./profile.ts";

/** repoRoot shortens the source paths that profiles name. */
const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));

/** etcdSystem is the name the bench gives the etcd cluster among the algorithms. */
export const etcdSystem = "etcd";

/** RealWorkload names the operation mixes the bench offers, identical for every system. */
export type RealWorkload = "puts" | "mixed";

/**
 * realWorkloadMixes are the comparison workloads. `puts` is the anchor's
 * (etcd's benchmark put): every operation a put. `mixed` is the store's
 * default mix with append's weight given to put, since etcd has no atomic
 * append (cas is a transaction comparing the value, delete a delete-range).
 */
export const realWorkloadMixes: Readonly<Record<RealWorkload, Workload["mix"]>> = {
  puts: { get: 0, put: 1, append: 0, cas: 0, delete: 0 },
  mixed: { get: 40, put: 40, append: 0, cas: 15, delete: 5 },
};

/** RealBenchSetup says what to run. */
export interface RealBenchSetup {
  /** systems in the order each round runs them: algorithm names and {@link etcdSystem}. */
  readonly systems: readonly string[];
  readonly clients: number;
  readonly seconds: number;
  readonly rounds: number;
  readonly workload: RealWorkload;
  readonly keys: number;
  /** etcdPath is the etcd binary, or undefined when there is none (etcd is then skipped, saying so). */
  readonly etcdPath: string | undefined;
  /** etcdMissingReason says why etcdPath is undefined, for the report. */
  readonly etcdMissingReason?: string | undefined;
  readonly launcher: NodeLauncher;
  /**
   * profileDir: when set, every Concord node runs under `node --cpu-prof`,
   * writing its profile to `<profileDir>/round-<r>-<system>/` when it exits,
   * and each run's summary names the busiest node's hottest functions (the
   * launcher's command must be node). etcd is not profiled.
   */
  readonly profileDir?: string | undefined;
  /** onHistory receives each finished run's recorded history (to keep it as a file, say), before it is dropped from memory. */
  readonly onHistory?: ((system: string, round: number, history: LoadReport["history"]) => void) | undefined;
  /** tmpRoot is where the clusters' data directories are made (and removed); the OS's temp dir when absent. */
  readonly tmpRoot?: string | undefined;
  readonly progress: (line: string) => void;
}

/** MachineInfo says what the figures were measured on. */
export interface MachineInfo {
  /** date is when the bench began (ISO 8601). */
  readonly date: string;
  readonly cpus: number;
  readonly cpuModel: string;
  /** loadAverageAtStart is the 1, 5 and 15 minute load averages when the bench began; the machine is shared, so it matters. */
  readonly loadAverageAtStart: readonly number[];
  readonly loadAverageAtEnd: readonly number[];
  readonly kernel: string;
  readonly node: string;
  readonly etcd: string | undefined;
  /** commit is the checkout's commit the nodes ran ("+dirty" when it had uncommitted changes), or "unknown" outside git. */
  readonly commit: string;
}

/** RealRun is one system's run in one round: its load report (without the history), or why it failed. */
export interface RealRun {
  readonly system: string;
  readonly nodes: number;
  readonly round: number;
  readonly startupMs: number;
  /**
   * driverCpuUsPerOp is the CPU time the load driver's own process (its
   * clients, the system's client library, the recording) spent per completed
   * operation, between the load's first and last progress ticks; undefined
   * when the run was too short to have two. On a 2-core machine the driver
   * competes with the cluster, so a client library that costs more per call
   * leaves its servers less CPU.
   */
  readonly driverCpuUsPerOp: number | undefined;
  readonly report: Omit<LoadReport, "history"> | undefined;
  /** profile is the busiest node's CPU profile, folded, with --profile. */
  readonly profile?: ProfileSummary | undefined;
  readonly error: string | undefined;
}

/** RealSummary is one system over every round: medians of the figures, sums of the counts. */
export interface RealSummary {
  readonly system: string;
  readonly nodes: number;
  readonly rounds: number;
  readonly failedRuns: number;
  readonly ops: { readonly completed: number; readonly failed: number; readonly indeterminate: number };
  readonly throughputOpsPerSec: number;
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly p99: number; readonly max: number };
  /** driverCpuUsPerOp is the median of the runs' (see {@link RealRun}); undefined when no run measured it. */
  readonly driverCpuUsPerOp: number | undefined;
  /** linearizable: every run's history linearizable (true), any not (false), else undecided (null). */
  readonly linearizable: boolean | null;
  /** vsEtcd: the median over rounds of this system's figure over etcd's in the same round; undefined without etcd. */
  readonly vsEtcd: { readonly throughputRatio: number; readonly p99Ratio: number } | undefined;
}

/** RealBenchResult is everything the real bench measured, as results.json holds it. */
export interface RealBenchResult {
  readonly machine: MachineInfo;
  readonly setup: { readonly systems: readonly string[]; readonly clients: number; readonly seconds: number; readonly rounds: number; readonly workload: RealWorkload; readonly mix: Workload["mix"]; readonly keys: number; readonly fsync: string };
  readonly runs: readonly RealRun[];
  readonly summaries: readonly RealSummary[];
  readonly skipped: readonly { readonly system: string; readonly reason: string }[];
  /** goal is issue 12's target for Raft: at least 3x etcd's throughput with a p99 no worse, in the same run. */
  readonly goal: { readonly throughputRatioMin: number; readonly p99RatioMax: number; readonly met: boolean | null };
}

/** goalThroughputRatioMin and goalP99RatioMax are the Raft-against-etcd target. */
const goalThroughputRatioMin = 3;
const goalP99RatioMax = 1;

/** liveRuns are the runs under way, each with a synchronous way to end it, so that an interrupted bench still leaves nothing behind. */
const liveRuns = new Set<() => void>();

/**
 * killEverythingNow SIGKILLs every process of the clusters running now and
 * removes their directories, synchronously: an interrupt cannot wait for an
 * orderly stop, since the load's clients may keep the event loop busy (a
 * closed client answers at once), and the runs' data is thrown away anyway.
 */
export function killEverythingNow(): void {
  killChildProcessesNow();
  for (const kill of [...liveRuns]) kill();
}

/**
 * killChildProcessesNow SIGKILLs every child of this process, found in
 * /proc: a cluster still starting has processes that no run holds yet.
 * Where there is no /proc, the runs' own kills are all there is.
 */
function killChildProcessesNow(): void {
  let entries: string[];
  try {
    entries = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return;
  }
  for (const pid of entries) {
    try {
      // /proc/<pid>/stat is "pid (comm) state ppid ...", and comm may hold spaces and parentheses.
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === process.pid) process.kill(Number(pid), "SIGKILL");
    } catch {
      // Gone meanwhile, or not ours to read: nothing to kill.
    }
  }
}

/** nodesFor is how many processes a system's cluster has: one for the baseline, enough for f = 1 otherwise (PBFT 4), three etcd members. */
export function nodesFor(system: string): number {
  if (system === etcdSystem) return 3;
  const algorithm = findAlgorithm(system);
  if (algorithm === undefined) throw new Error(`no algorithm ${system}`);
  return isBaseline(algorithm) ? 1 : algorithm.replicasToTolerate(1);
}

/** machineInfo reads the machine's description now. */
function machineInfo(etcdPath: string | undefined, startDate: Date, loadAverageAtStart: readonly number[]): MachineInfo {
  return {
    date: startDate.toISOString(),
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? "unknown",
    loadAverageAtStart: loadAverageAtStart.map(round2),
    loadAverageAtEnd: loadavg().map(round2),
    kernel: release(),
    node: process.version,
    etcd: etcdPath === undefined ? undefined : etcdVersion(etcdPath),
    commit: checkoutCommit(),
  };
}

/** checkoutCommit names the code measured: the nodes run the checkout's sources, so uncommitted changes are part of it. */
function checkoutCommit(): string {
  const head = spawnSync("git", ["-C", repoRoot, "rev-parse", "--short=12", "HEAD"], { encoding: "utf8" });
  if (head.status !== 0) return "unknown";
  const status = spawnSync("git", ["-C", repoRoot, "status", "--porcelain", "--untracked-files=no"], { encoding: "utf8" });
  return `${head.stdout.trim()}${status.stdout.trim() === "" ? "" : "+dirty"}`;
}

/**
 * runRealBench runs every system once per round, in the given order, each on
 * a fresh cluster in fresh temporary directories, and summarizes. A run that
 * fails (a cluster that does not start, say) is recorded with its error and
 * the bench goes on. Every process and directory is gone when it returns,
 * also when it throws.
 */
export async function runRealBench(setup: RealBenchSetup): Promise<RealBenchResult> {
  const startDate = new Date();
  const loadAverageAtStart = loadavg();
  const skipped: { system: string; reason: string }[] = [];
  const systems = setup.systems.filter((system) => {
    if (system !== etcdSystem || setup.etcdPath !== undefined) return true;
    skipped.push({ system, reason: setup.etcdMissingReason ?? "etcd is not on the PATH" });
    setup.progress(`skipped etcd: ${setup.etcdMissingReason ?? "etcd is not on the PATH"}`);
    return false;
  });
  const runs: RealRun[] = [];
  const total = systems.length * setup.rounds;
  for (let round = 1; round <= setup.rounds; round++) {
    for (const system of systems) {
      const label = `[${runs.length + 1}/${total}] round ${round} ${system} n=${nodesFor(system)}`;
      setup.progress(`${label} ...`);
      const run = await runOnce(system, round, setup, (line) => setup.progress(`${label} ${line}`));
      runs.push(run);
      setup.progress(run.report === undefined ? `${label} failed: ${run.error}` : `${label} ${run.report.throughputOpsPerSec} ops/s, p99 ${run.report.latencyMs.p99} ms, ${run.report.check}`);
    }
  }
  const summaries = systems.map((system) => summarize(system, runs));
  const raft = summaries.find((summary) => summary.system === "raft");
  const met = raft?.vsEtcd === undefined ? null : raft.vsEtcd.throughputRatio >= goalThroughputRatioMin && raft.vsEtcd.p99Ratio <= goalP99RatioMax;
  return {
    machine: machineInfo(setup.etcdPath, startDate, loadAverageAtStart),
    setup: {
      systems,
      clients: setup.clients,
      seconds: setup.seconds,
      rounds: setup.rounds,
      workload: setup.workload,
      mix: realWorkloadMixes[setup.workload],
      keys: setup.keys,
      fsync: "each Concord node's FileStorage fdatasyncs a turn's records before the node sends or answers; etcd runs with its defaults, which fdatasync every WAL save",
    },
    runs,
    summaries,
    skipped,
    goal: { throughputRatioMin: goalThroughputRatioMin, p99RatioMax: goalP99RatioMax, met },
  };
}

/** runOnce starts the system's cluster, waits until it serves, loads it, and tears it down. */
async function runOnce(system: string, round: number, setup: RealBenchSetup, progress: (line: string) => void): Promise<RealRun> {
  const nodes = nodesFor(system);
  const dataDir = mkdtempSync(join(setup.tmpRoot ?? tmpdir(), `concord-bench-${system}-`));
  const startedMs = performance.now();
  let started: StartedSystem | undefined;
  const killNow = (): void => {
    started?.killNow();
    removeDirectory(dataDir);
  };
  liveRuns.add(killNow);
  try {
    const profileDir = setup.profileDir === undefined || system === etcdSystem ? undefined : join(setup.profileDir, `round-${round}-${system}`);
    // A rerun into the same output directory must not read an earlier run's profiles.
    if (profileDir !== undefined) rmSync(profileDir, { recursive: true, force: true });
    const launcher = profileDir === undefined ? setup.launcher : profiled(setup.launcher, profileDir);
    // A cluster that does not start (a port taken between picking and binding it, on a busy machine) is no measurement: retry once, on fresh ports and directories.
    for (let attempt = 1; started === undefined; attempt++) {
      const attemptDir = join(dataDir, `attempt-${attempt}`);
      try {
        started = system === etcdSystem ? await startEtcd(setup.etcdPath as string, attemptDir) : await startConcord(system, nodes, attemptDir, launcher);
        await waitUntilServing(started.target, 30_000);
      } catch (error) {
        await started?.stop();
        started = undefined;
        if (attempt >= 2) throw error;
        progress(`did not start (${(error as Error).message.slice(0, 300)}); retrying once`);
      }
    }
    const startupMs = Math.round(performance.now() - startedMs);
    const driverCpu = new DriverCpu();
    const { history, ...report } = await runLoad(started.target, {
      clients: setup.clients,
      seconds: setup.seconds,
      keys: setup.keys,
      mix: realWorkloadMixes[setup.workload],
      semantics: started.semantics,
      onProgress: (tally) => {
        driverCpu.sample(tally.completed);
        progress(`${(tally.elapsedMs / 1000).toFixed(0)}/${setup.seconds} s: ${tally.completed} ok, ${tally.failed} failed, ${tally.indeterminate} indeterminate`);
      },
    });
    setup.onHistory?.(system, round, history);
    // The nodes write their profiles as they exit, so the cluster stops before they are read.
    await started.stop();
    started = undefined;
    const profile = profileDir === undefined ? undefined : busiestProfile(profileDir, { skipMs: startupMs, fileRoot: setup.profileDir as string, sourceRoot: repoRoot });
    return { system, nodes, round, startupMs, driverCpuUsPerOp: driverCpu.usPerOp(), report, profile, error: undefined };
  } catch (error) {
    return { system, nodes, round, startupMs: Math.round(performance.now() - startedMs), driverCpuUsPerOp: undefined, report: undefined, error: (error as Error).message.slice(0, 2_000) };
  } finally {
    await started?.stop();
    liveRuns.delete(killNow);
    removeDirectory(dataDir);
  }
}

/** StartedSystem is a running cluster with its client: stopped in order after a run, killed at once on an interrupt. */
interface StartedSystem {
  readonly target: LoadTarget;
  readonly semantics: KvSemantics;
  stop(): Promise<void>;
  killNow(): void;
}

/** profiled runs a node launcher's processes under V8's CPU profiler, writing into `dir`. */
function profiled(launcher: NodeLauncher, dir: string): NodeLauncher {
  return (flags) => {
    const base = launcher(flags);
    return { command: base.command, args: ["--cpu-prof", "--cpu-prof-dir", dir, ...base.args] };
  };
}

/** removeDirectory deletes a run's data, once more if a dying process wrote into it meanwhile. */
function removeDirectory(dataDir: string): void {
  try {
    rmSync(dataDir, { recursive: true, force: true });
  } catch {
    rmSync(dataDir, { recursive: true, force: true, maxRetries: 3 });
  }
}

/** startConcord starts `nodes` `concord node` processes of `algo` (fsync on, the default) and a client host on them. */
async function startConcord(algo: string, nodes: number, dataDir: string, launcher: NodeLauncher): Promise<StartedSystem> {
  const algorithm = findAlgorithm(algo);
  if (algorithm === undefined) throw new Error(`no algorithm ${algo}`);
  const logTail: string[] = [];
  const cluster = await LocalCluster.start({
    algorithm: algo,
    nodes,
    dataDir,
    launcher,
    onLog: (id, line) => {
      logTail.push(`[${id}] ${line}`);
      if (logTail.length > 20) logTail.shift();
    },
  });
  try {
    const host = await connectCluster({ algorithm, cluster: cluster.peers, options: {}, secret: new Uint8Array(readFileSync(cluster.secretFile)) });
    return {
      target: host,
      semantics: algorithm.kvSemantics ?? "kv",
      stop: async () => {
        await host.close();
        await cluster.stop();
      },
      // LocalCluster.kill sends its signal before its first await.
      killNow: () => {
        for (const id of cluster.peers.keys()) void cluster.kill(id, "SIGKILL");
      },
    };
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}

/** startEtcd starts a three-member etcd cluster and a client on its leader. */
async function startEtcd(etcdPath: string, dataDir: string): Promise<StartedSystem> {
  const cluster = await EtcdCluster.start({ etcdPath, members: nodesFor(etcdSystem), dataDir });
  try {
    const target = new EtcdTarget({ hosts: [await cluster.leaderUrl()] });
    return {
      target,
      semantics: "kv",
      stop: async () => {
        target.close();
        await cluster.stop();
      },
      killNow: () => cluster.killNow(),
    };
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}

/**
 * waitUntilServing reads a key until a read succeeds: the load starts on a
 * cluster that has a leader, so that no system's figures include its
 * election.
 */
async function waitUntilServing(target: LoadTarget, timeoutMs: number): Promise<void> {
  const client = target.newClient();
  const command = encodeCommand({ type: "get", key: "bench-warm-up" });
  const deadline = performance.now() + timeoutMs;
  let last = "no answer";
  while (performance.now() < deadline) {
    const outcome = await target.submit(client, command, true);
    if (outcome.kind === "ok") return;
    last = JSON.stringify(outcome.rejection);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the cluster did not serve a read within ${timeoutMs} ms (last: ${last})`);
}

/** DriverCpu samples this process's CPU time at the load's progress ticks, leaving out the start-up before and the checking after. */
class DriverCpu {
  private first: { cpuUs: number; completed: number } | undefined;
  private last: { cpuUs: number; completed: number } | undefined;

  sample(completed: number): void {
    const usage = process.cpuUsage();
    const point = { cpuUs: usage.user + usage.system, completed };
    if (this.first === undefined) this.first = point;
    else this.last = point;
  }

  usPerOp(): number | undefined {
    if (this.first === undefined || this.last === undefined || this.last.completed <= this.first.completed) return undefined;
    return Math.round((this.last.cpuUs - this.first.cpuUs) / (this.last.completed - this.first.completed));
  }
}

/** summarize folds a system's runs into medians and sums, and its ratios to etcd's runs of the same rounds. */
export function summarize(system: string, runs: readonly RealRun[]): RealSummary {
  const mine = runs.filter((run) => run.system === system);
  const reports = mine.flatMap((run) => (run.report === undefined ? [] : [run.report]));
  const driverCpu = mine.flatMap((run) => (run.driverCpuUsPerOp === undefined ? [] : [run.driverCpuUsPerOp]));
  const pairs = mine.flatMap((run) => {
    const etcd = runs.find((other) => other.system === etcdSystem && other.round === run.round)?.report;
    return run.report === undefined || etcd === undefined ? [] : [{ mine: run.report, etcd }];
  });
  return {
    system,
    nodes: nodesFor(system),
    rounds: mine.length,
    failedRuns: mine.length - reports.length,
    ops: {
      completed: sum(reports.map((report) => report.ops.completed)),
      failed: sum(reports.map((report) => report.ops.failed)),
      indeterminate: sum(reports.map((report) => report.ops.indeterminate)),
    },
    throughputOpsPerSec: Math.round(median(reports.map((report) => report.throughputOpsPerSec))),
    latencyMs: {
      p50: round2(median(reports.map((report) => report.latencyMs.p50))),
      p95: round2(median(reports.map((report) => report.latencyMs.p95))),
      p99: round2(median(reports.map((report) => report.latencyMs.p99))),
      max: round2(median(reports.map((report) => report.latencyMs.max))),
    },
    driverCpuUsPerOp: driverCpu.length === 0 ? undefined : Math.round(median(driverCpu)),
    linearizable: overallVerdict(reports.map((report) => report.linearizable)),
    vsEtcd:
      pairs.length === 0 || system === etcdSystem
        ? undefined
        : {
            throughputRatio: round2(median(pairs.map(({ mine: m, etcd }) => m.throughputOpsPerSec / Math.max(1, etcd.throughputOpsPerSec)))),
            p99Ratio: round2(median(pairs.map(({ mine: m, etcd }) => m.latencyMs.p99 / Math.max(0.01, etcd.latencyMs.p99)))),
          },
  };
}

/** overallVerdict: every history linearizable is true, any one not is false, and otherwise (none, or one undecided) null. */
function overallVerdict(verdicts: readonly (boolean | null)[]): boolean | null {
  if (verdicts.length === 0) return null;
  if (verdicts.includes(false)) return false;
  return verdicts.includes(null) ? null : true;
}

/** median of the values (the mean of the middle two for an even count); 0 for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
