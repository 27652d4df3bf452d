import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { ReadLevel } from "@concord/core";
import { type NemesisKind, NemesisTest, type NemesisTestResult, findOnPath, namespaceSupport, netnsNamespacePrefix, planNemesis } from "@concord/lab";
import { runCli } from "../src/cli.ts";
import { repoRoot, testLauncher } from "./real-cluster-helpers.ts";

// concord test: clusters of real processes, one per network namespace, under
// a nemesis drawn from a seed. Each run here is 6 s of load with two faults
// (the 20-second runs issue 17 names are run by hand with the command, and
// their results are in docs/testing.md). Every seed below was picked by its
// schedule (planNemesis, printed in each test's name) so that both faults
// fit: the schedule is the seed's; the timing of the real run is not.

const unsupported = await namespaceSupport({ nft: true });
const etcdPath = findOnPath("etcd");

async function runTest(system: string, nodes: number, nemesis: readonly NemesisKind[], seed: number, readLevel?: ReadLevel, seconds = 6, clients = 4): Promise<{ result: NemesisTestResult; outDir: string }> {
  const outDir = mkdtempSync(join(tmpdir(), `concord-test-${system}-`));
  const progress: string[] = [];
  try {
    const result = await new NemesisTest({ system, nodes, nemesis, seconds, seed, clients, keys: 4, outDir, launcher: testLauncher, readLevel, etcdPath, replay: "", progress: (line) => progress.push(line) }).run();
    return { result, outDir };
  } catch (error) {
    throw new Error(`${(error as Error).message}\nprogress:\n${progress.join("\n")}`);
  }
}

function describeSchedule(nodes: number, kinds: readonly NemesisKind[], seed: number, seconds = 6): string {
  return planNemesis({ kinds, nodes, seconds, seed }).map((fault) => `${fault.kind} ${fault.shape}`).join(", ");
}

/** namespacesOf lists the namespaces a process made (their names carry its pid in base 36). */
function namespacesOf(pid: number): string[] {
  return execFileSync("ip", ["netns", "list"], { encoding: "utf8" }).split("\n").map((line) => line.split(" ")[0] ?? "").filter((name) => name.startsWith(`${netnsNamespacePrefix}${pid.toString(36)}-`));
}

function expectPassed(result: NemesisTestResult, outDir: string, kinds: readonly NemesisKind[]): void {
  const context = `${JSON.stringify({ verdict: result.verdict, faults: result.faults, ops: result.ops, finalReads: result.finalReads })}\nlogs in ${outDir}`;
  expect(result.verdict.linearizable, context).toBe(true);
  // No acknowledged write lost: every key was read back after the heal, and those reads are in the checked history.
  expect(result.finalReads.answered, context).toBe(result.finalReads.keys);
  expect(result.finalReads.keys).toBeGreaterThan(0);
  expect(result.passed).toBe(true);
  expect(result.ops.completed, context).toBeGreaterThan(20);
  expect(new Set(result.faults.map((fault) => fault.kind)), context).toEqual(new Set(kinds));
  for (const fault of result.faults) expect(fault.endMs).toBeGreaterThan(fault.startMs);
  // Both history files read back to the same operations.
  expect(result.verdict.ednOperations).toBe(result.verdict.jsonlOperations);
}

describe("concord test: real processes in network namespaces under a nemesis", () => {
  if (unsupported !== undefined) {
    console.warn(`real-nemesis.test.ts skipped: ${unsupported}`);
    it.skip(`skipped: this machine cannot make network namespaces: ${unsupported}`, () => {});
    return;
  }

  it(`raft, 3 nodes, partition and kill for 20 s (seed 3: ${describeSchedule(3, ["partition", "kill"], 3, 20)}): linearizable, no acknowledged write lost, results written`, async () => {
    const { result, outDir } = await runTest("raft", 3, ["partition", "kill"], 3, undefined, 20);
    try {
      expectPassed(result, outDir, ["partition", "kill"]);
      for (const file of ["history.edn", "history.jsonl", "results.json", "timeline.html", "logs/node-0.log", "logs/nemesis.log"]) expect(existsSync(join(outDir, file)), file).toBe(true);
      // concord check reads the written history and agrees.
      const out: string[] = [];
      const io = { stdout: (text: string) => void out.push(text), stderr: (text: string) => void out.push(text), readFile: (path: string) => readFileSync(path, "utf8"), writeFile: () => {} };
      expect(await runCli(["check", join(outDir, "history.jsonl")], io), out.join("")).toBe(0);
      expect(await runCli(["check", "--model", "kv", join(outDir, "history.edn")], io), out.join("")).toBe(0);
      // The nemesis's lines are in both histories, and its windows over the timeline.
      expect(readFileSync(join(outDir, "history.jsonl"), "utf8")).toContain('"process":"nemesis","type":"info","f":"start-kill"');
      expect(readFileSync(join(outDir, "history.edn"), "utf8")).toContain(":process :nemesis, :type :info, :f :start-partition");
      const timeline = readFileSync(join(outDir, "timeline.html"), "utf8");
      expect(timeline.match(/class="window"/g)?.length).toBe(result.faults.length);
      expect(timeline).toContain("partition bridge");
      const results = JSON.parse(readFileSync(join(outDir, "results.json"), "utf8")) as NemesisTestResult;
      expect(results.windows.filter((window) => window.kind !== "calm").map((window) => window.label)).toEqual(result.faults.map((fault) => fault.description));
      expect(results.schedule).toEqual(planNemesis({ kinds: ["partition", "kill"], nodes: 3, seconds: 20, seed: 3 }));
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  }, 240_000);

  it(`multipaxos, 3 nodes, partition and kill for 20 s (seed 10: ${describeSchedule(3, ["partition", "kill"], 10, 20)}): linearizable, no acknowledged write lost`, async () => {
    const { result, outDir } = await runTest("multipaxos", 3, ["partition", "kill"], 10, undefined, 20);
    expectPassed(result, outDir, ["partition", "kill"]);
    rmSync(outDir, { recursive: true, force: true });
  }, 240_000);

  it(`pbft, 4 nodes, partition and kill for 20 s (seed 1: ${describeSchedule(4, ["partition", "kill"], 1, 20)}): linearizable, no acknowledged write lost`, async () => {
    const { result, outDir } = await runTest("pbft", 4, ["partition", "kill"], 1, undefined, 20);
    expectPassed(result, outDir, ["partition", "kill"]);
    rmSync(outDir, { recursive: true, force: true });
  }, 240_000);

  // The clock first: a node that dies of the full disk takes seconds to restart on a busy machine, which would push a later fault past the run's end.
  it(`raft, 3 nodes, clock and disk (seed 4: ${describeSchedule(3, ["disk", "clock"], 4)}; a tick timer run at half speed, a data directory filled to ENOSPC, its node staying up and resuming once it is freed): linearizable, no acknowledged write lost, no tmpfs left mounted`, async () => {
    const { result, outDir } = await runTest("raft", 3, ["disk", "clock"], 4);
    try {
      expectPassed(result, outDir, ["disk", "clock"]);
      expect(readFileSync("/proc/mounts", "utf8")).not.toContain(`concord-test-${process.pid.toString(36)}-`);
      const clock = result.faults.find((fault) => fault.kind === "clock");
      const log = readFileSync(join(outDir, "logs", `node-${clock?.nodes[0]}.log`), "utf8");
      expect(log).toContain("tick timer at 0.5 times real time (a tick every 20.00 ms)");
      expect(log).toContain("tick timer at 1 times real time");
      // The node whose directory filled holds what it could not sync, says so in one line (no stack trace), and resumes once the nemesis frees the space.
      const disk = result.faults.find((fault) => fault.kind === "disk");
      const diskLog = readFileSync(join(outDir, "logs", `node-${disk?.nodes[0]}.log`), "utf8");
      expect(diskLog).toMatch(/is full \(ENOSPC\): holding what was not synced \(none of it sent\)/);
      expect(diskLog).toMatch(/space freed: synced what was held after \d+ ms/);
      expect(diskLog).not.toMatch(/^\s+at /m);
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  }, 120_000);

  it(`raft, 3 nodes, latency and loss (seed 1: ${describeSchedule(3, ["latency", "loss"], 1)}): linearizable, no acknowledged write lost, the delay, the reordering and the duplicates measured in its fault window`, async () => {
    const { result, outDir } = await runTest("raft", 3, ["latency", "loss"], 1);
    try {
      expectPassed(result, outDir, ["latency", "loss"]);
      const latency = result.faults.find((fault) => fault.kind === "latency");
      const context = JSON.stringify(latency);
      expect(latency?.amount).toBe(200);
      // Where the kernel has no sch_netem the delay goes through the relays, which say what they held; netem says nothing.
      if (latency?.description.includes("no sch_netem") === true) {
        expect(latency.measured?.mechanism, context).toBe("relay");
        // Raft's heartbeats alone cross the delayed node's links every few ticks during the 1.5 s fault.
        expect(latency.measured?.delayedChunks, context).toBeGreaterThan(10);
        // Never released before the delay less its jitter (200 - 40 ms; 2 ms for the timers' rounding).
        expect(latency.measured?.addedMsMin, context).toBeGreaterThanOrEqual(158);
        // 40% of what the delayed node sends held back by its wire for 1 to 40 ms while the rest overtook it, 4% sent twice: the nodes' kernels got TCP segments out of order, and segments they had already.
        expect(latency.description, context).toContain("40% of their packets reordered and 4% sent twice");
        const wire = latency.measured?.wire;
        expect(wire?.heldPackets, context).toBeGreaterThan(10);
        expect(wire?.heldMsMin, context).toBeGreaterThanOrEqual(1);
        expect(wire?.duplicatedPackets, context).toBeGreaterThan(0);
        expect(wire?.outOfOrderSegments, context).toBeGreaterThan(0);
        expect(wire?.duplicateSegments, context).toBeGreaterThan(0);
        expect(result.windows.find((window) => window.kind === "latency")?.measured).toEqual(latency.measured);
      } else expect(latency?.description, context).toContain("by tc netem");
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  }, 120_000);

  // Each seed's damage is its first fault, at 1 s: a later one could be left out, as the restarts before it (seconds each under tsx on a busy machine) push it past the run's last start.
  it(`raft, 3 nodes, disk (seed 2: ${describeSchedule(3, ["disk"], 2)}): a torn tail is dropped with a line naming where it was; linearizable, no acknowledged write lost`, async () => {
    const { result, outDir } = await runTest("raft", 3, ["disk"], 2);
    try {
      expectPassed(result, outDir, ["disk"]);
      const torn = result.faults[0];
      const context = JSON.stringify(result.faults);
      expect(torn?.shape, context).toBe("torn");
      expect(torn?.description, context).toMatch(/^disk torn: SIGKILL node \d, a torn record of \d+ of its \d+ bytes appended at byte \d+ of \S+\.wal, restarted on it at the end$/);
      const tornAt = /appended at byte (\d+) of (\S+\.wal)/.exec(torn?.description ?? "");
      expect(torn?.outcome, context).toContain("recovery dropped a torn tail of ");
      expect(torn?.outcome, context).toContain(`bytes at byte ${tornAt?.[1]} of ${tornAt?.[2]}`);
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  }, 120_000);

  it(`raft, 3 nodes, disk (seed 14: ${describeSchedule(3, ["disk"], 14)}): corrupted synced data refuses the start, naming the file and offset, and the node runs again once the byte is put back; linearizable, no acknowledged write lost`, async () => {
    const { result, outDir } = await runTest("raft", 3, ["disk"], 14);
    try {
      expectPassed(result, outDir, ["disk"]);
      const corrupt = result.faults[0];
      const context = JSON.stringify(result.faults);
      expect(corrupt?.shape, context).toBe("corrupt");
      // The nemesis fails the run if the node starts on corrupted synced data; here it says what refused it.
      expect(corrupt?.description, context).toMatch(/^disk corrupt: SIGKILL node \d, every bit of byte \d+ of \S+, in the (payload|length field) of the record at byte \d+ flipped, restarted on it at the end$|of the snapshot file/);
      expect(corrupt?.outcome, context).toMatch(/^refused to start, naming the damage: --data: \S+: record \d+ at byte \d+ is corrupt: .*; the byte put back \(a disk restored from a copy\) and restarted$/);
      const log = readFileSync(join(outDir, "logs", `node-${corrupt?.nodes[0]}.log`), "utf8");
      expect(log).not.toMatch(/^\s+at /m);
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  }, 120_000);

  // 10 s, five partitions (seed 4): in a 6 s run's two, one CI run once saw no read that no order explains (a stale read
  // needs a client to read on one side a key written on the other during a cut); each partition is another chance.
  // Eight clients, not four: a real client draws its first replica at random (not from the seed) and keeps the one
  // that answers, so all four land on one replica in about 1 run of 27, and a store whose clients all use one
  // replica is linearizable whatever the partitions do (the likely cause of a CI run at 7f041a2 that found 113,380
  // operations linearizable with all five partitions applied; not confirmed, the run's directory was removed);
  // with eight, 1 run of 2,187.
  it(`a store that serves reads from whichever replica a client reaches (eventual) is caught as not linearizable under partition (seed 4, 10 s: ${describeSchedule(3, ["partition"], 4, 10)})`, async () => {
    const { result, outDir } = await runTest("eventual", 3, ["partition"], 4, undefined, 10, 8);
    try {
      expect(result.faults.length).toBeGreaterThan(0);
      expect(result.verdict.linearizable, JSON.stringify(result.verdict)).toBe(false);
      expect(result.verdict.summary).toMatch(/^not linearizable: /);
      expect(result.passed).toBe(false);
      // Its final reads still answer: it converges; it is its reads during and after the cut that no order explains.
      expect(result.finalReads.answered).toBe(result.finalReads.keys);
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  }, 120_000);

  it.skipIf(etcdPath === undefined)(`etcd, 3 nodes, partition (seed 4: ${describeSchedule(3, ["partition"], 4)}): linearizable reads pass; stale (serializable) reads, answered by whichever member a client reaches, are caught as not linearizable`, async () => {
    const linearizable = await runTest("etcd", 3, ["partition"], 4);
    rmSync(linearizable.outDir, { recursive: true, force: true });
    expectPassed(linearizable.result, linearizable.outDir, ["partition"]);
    const stale = await runTest("etcd", 3, ["partition"], 4, "stale");
    rmSync(stale.outDir, { recursive: true, force: true });
    expect(stale.result.readLevel).toBe("stale");
    expect(stale.result.verdict.linearizable, JSON.stringify(stale.result.verdict)).toBe(false);
    expect(stale.result.passed).toBe(false);
  }, 120_000);

  // Seed 2's torn tail is its first fault, at 1 s; its corrupt fault, at 3.8 s, runs unless the restarts before it push it past the run's last start, and is checked when it ran (the nemesis itself fails the run if etcd starts on the corrupted WAL).
  it.skipIf(etcdPath === undefined)(`etcd, 3 nodes, disk (seed 2: ${describeSchedule(3, ["disk"], 2)}): a torn WAL tail is repaired at the restart, saying so; a flipped byte of a synced record refuses the start with a CRC error; linearizable, no acknowledged write lost`, async () => {
    const { result, outDir } = await runTest("etcd", 3, ["disk"], 2);
    try {
      expectPassed(result, outDir, ["disk"]);
      const context = JSON.stringify(result.faults);
      const [torn, corrupt] = result.faults;
      expect(torn?.shape, context).toBe("torn");
      expect(torn?.description, context).toMatch(/^disk torn: SIGKILL node \d, a torn record of \d+ of its \d+ bytes appended at byte \d+ of \S+\/member\/wal\/[0-9a-f]{16}-[0-9a-f]{16}\.wal \(a copy of the last record, its last sector unwritten\), restarted on it at the end$/);
      const file = /of (\S+\.wal) \(/.exec(torn?.description ?? "")?.[1] ?? "";
      expect(torn?.outcome, context).toMatch(/^restarted, dropping the torn tail: \{"level":"info",.*"msg":"repaired","path":"\S+","error":"unexpected EOF"\}$/);
      expect(torn?.outcome, context).toContain(file.slice(file.lastIndexOf("/")));
      // What etcd's repair leaves: the torn file copied aside as <file>.broken (the data directories are removed with the run, so the member's log says it).
      const tornLog = readFileSync(join(outDir, "logs", `member-${torn?.nodes[0]}.log`), "utf8");
      expect(tornLog).toContain(`"msg":"ignored file in WAL directory","path":"${file.slice(file.lastIndexOf("/") + 1)}.broken"`);
      if (corrupt !== undefined) {
        expect(corrupt.shape, context).toBe("corrupt");
        expect(corrupt.description, context).toMatch(/^disk corrupt: SIGKILL node \d, every bit of byte \d+ of \S+\.wal flipped, in the data of the entry record at byte \d+, restarted on it at the end$/);
        expect(corrupt.outcome, context).toMatch(/^refused to start, naming the damage: \{"level":"fatal",.*"error":"walpb: crc mismatch"\}; the byte put back \(a disk restored from a copy\) and restarted$/);
      }
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  }, 120_000);

  // With latency in the list, on a kernel without netem, the relays and the reordering wires run in the namespaces too, and must go with them.
  it("Ctrl-C during a run kills the nodes (and the relays and wires of the latency nemesis) and removes the namespaces, and the command exits 130", async () => {
    const outDir = mkdtempSync(join(tmpdir(), "concord-test-sigint-"));
    const child = spawn(process.execPath, ["--import", join(repoRoot, "node_modules/tsx/dist/esm/index.mjs"), fileURLToPath(new URL("../src/main.ts", import.meta.url)), "test", "--algo", "raft", "--nemesis", "kill,latency", "--seconds", "60", "--seed", "5", "--out", outDir], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    try {
      const loading = new Promise<void>((resolve, reject) => {
        child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
          stderr += chunk;
          if (stderr.includes("load for 60 s")) resolve();
        });
        child.once("exit", (code) => reject(new Error(`concord test exited (${code}) before its load started:\n${stderr}`)));
      });
      await loading;
      const namespaces = namespacesOf(child.pid as number);
      expect(namespaces).toHaveLength(3);
      const inside = namespaces.flatMap((namespace) => execFileSync("ip", ["netns", "pids", namespace], { encoding: "utf8" }).split("\n").filter((line) => line !== "").map(Number));
      const commandLine = (pid: number): string => readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      const wires = inside.filter((pid) => commandLine(pid).includes("reorder-wire.py"));
      if (stderr.includes("no netem on this kernel")) expect(wires, inside.map(commandLine).join("\n")).toHaveLength(3);
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      child.kill("SIGINT");
      expect(await exited, stderr).toBe(130);
      expect(namespacesOf(child.pid as number)).toEqual([]);
      // Every process that ran in the namespaces (nodes, relays, wires) is gone.
      expect(inside.filter((pid) => existsSync(`/proc/${pid}`))).toEqual([]);
      expect(stderr).toContain("SIGINT: stopping the nodes and removing the namespaces");
    } finally {
      child.kill("SIGKILL");
      rmSync(outDir, { recursive: true, force: true });
    }
  }, 90_000);
});

describe("concord test: flags", () => {
  const run = async (args: readonly string[]): Promise<{ code: number; stderr: string }> => {
    const err: string[] = [];
    const code = await runCli(["test", ...args], { stdout: () => {}, stderr: (text) => void err.push(text), readFile: () => "", writeFile: () => {} });
    return { code, stderr: err.join("") };
  };

  it("names what is wrong in one line and exits 2", async () => {
    for (const [args, message] of [
      [["--nemesis", "partition"], "--algo is required"],
      [["--algo", "raft"], "--nemesis is required"],
      [["--algo", "raft", "--nemesis", "partition,flood"], '--nemesis: unknown fault "flood"'],
      [["--algo", "raft", "--nemesis", "kill,kill"], "a fault is named twice"],
      [["--algo", "zab", "--nemesis", "kill"], '--algo: unknown algorithm "zab"'],
      [["--algo", "raft", "--nodes", "2", "--nemesis", "kill", "--seconds", "1"], "--seconds"],
      [["--algo", "etcd", "--nemesis", "kill", "--option", "preVote=false"], "etcd takes none"],
      [["--algo", "etcd", "--nemesis", "partition,clock"], "--nemesis clock sets a Concord node's tick timer"],
      [["--algo", "raft", "--nemesis", "kill", "--read-level", "dirty"], '--read-level: unknown value "dirty"'],
    ] as const) {
      const { code, stderr } = await run(args);
      expect({ code, lines: stderr.trim().split("\n").length }, stderr).toEqual({ code: 2, lines: 1 });
      expect(stderr).toContain(message);
    }
  });
});
