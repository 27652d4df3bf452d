import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runCli } from "@concord/cli";
import { captureIo } from "./helpers.ts";

const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));

/** concord runs `pnpm concord ...` as a user would, in a child process, and returns its exit code and output. */
function concord(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile("pnpm", ["concord", ...args], { cwd: repoRoot }, (error, out, err) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : -1, out, err });
    });
  });
}

/** swarm runs `concord swarm` in-process (its seeds still run on worker threads). */
async function swarm(args: readonly string[], files: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo(files);
  const code = await runCli(["swarm", ...args], io);
  return { code, out: io.out, err: io.err };
}

describe("concord swarm", () => {
  it("runs seeds on worker threads from `pnpm concord swarm`, with a progress line per --progress-every seeds when not on a terminal", async () => {
    const { code, out, err } = await concord(["swarm", "--algo", "raft", "--scenario", "leader-crash", "--seeds", "4", "--first-seed", "10", "--ops", "20", "--jobs", "2", "--progress-every", "2"]);
    expect(err).toContain("swarm: raft n=3 on leader-crash, seeds 10..13, 2 jobs");
    expect(err.match(/^swarm: \d+\/4 seeds, 0 failed/gm)).toEqual(["swarm: 2/4 seeds, 0 failed", "swarm: 4/4 seeds, 0 failed"]);
    expect(out).toMatch(/^raft\s+3\s+4\s+0\s/m);
    expect(out).toContain("every seed kept every guarantee");
    expect(code).toBe(0);
  });

  it("exits 1 and ends with every failing seed and a replay command that carries the scenario file", async () => {
    // solo's one server crashes and never comes back: no operation completes, which the liveness check reports.
    const scenario = { name: "solo-down", description: "", livenessTimeoutMs: 500, workload: { ops: 5 }, faults: [{ type: "crash", atMs: 0, target: "leader" }] };
    const { code, out } = await swarm(["--algo", "solo", "--scenario-file", "down.json", "--seeds", "3", "--jobs", "2"], { "down.json": JSON.stringify(scenario) });
    expect(code).toBe(1);
    expect(out).toMatch(/^solo\s+1\s+3\s+3\s/m);
    expect(out).toContain("3 failing seeds:");
    for (const seed of [1, 2, 3]) {
      expect(out).toContain(`solo n=1 seed ${seed}: [liveness]`);
      expect(out).toContain(`replay: pnpm concord sim --algo solo --nodes 1 --scenario-file down.json --seed ${seed}`);
    }
  });

  it("skips, and says so, an algorithm that does not promise to tolerate the scenario's faults, and exits 0 when nothing is left", async () => {
    const { code, out, err } = await swarm(["--algo", "solo", "--scenario", "byzantine", "--seeds", "3"]);
    expect(code).toBe(0);
    expect(out).toBe("");
    expect(err).toBe("swarm: skipping solo: not applicable: solo on 1 node tolerates no faulty replica, and this run makes its only replica Byzantine\nswarm: nothing to run\n");
  });

  it("prints one JSON object with --json, failures included, and --algo all runs every algorithm that accepts --nodes", async () => {
    const { code, out, err } = await swarm(["--algo", "all", "--nodes", "4", "--scenario", "steady", "--seeds", "2", "--ops", "10", "--json"]);
    expect(err).toContain("skipping solo: ");
    const report = JSON.parse(out);
    expect(report.algorithms.map((row: { algo: string; nodes: number; seeds: number }) => [row.algo, row.nodes, row.seeds])).toEqual([
      ["raft", 4, 2],
      ["multipaxos", 4, 2],
      ["pbft", 4, 2],
      ["paxos", 4, 2],
      ["eventual", 4, 2],
      ["quorum", 4, 2],
      ["vr", 4, 2],
    ]);
    expect(report.failures).toEqual([]);
    expect(code).toBe(0);
  });

  it("reports, per algorithm, what its crashes cost and the seeds that reached each hard path, and names a path no seed reached", async () => {
    const { code, out } = await swarm(["--algo", "raft", "--scenario", "chaos", "--seeds", "20", "--ops", "20", "--jobs", "1", "--json"]);
    expect(code).toBe(0);
    const [row] = JSON.parse(out).algorithms;
    expect(Object.keys(row.paths)).toEqual(["snapshot-install", "snapshot-chunked", "joint-consensus", "leadership-transfer", "pre-vote-rejected", "read-index-read", "lease-read"]);
    expect(row.paths["read-index-read"].seeds).toBeGreaterThan(0);
    expect(row.paths["read-index-read"].times).toBeGreaterThanOrEqual(row.paths["read-index-read"].seeds);
    expect(row.crashes.crashes).toBeGreaterThan(0);
    expect(row.crashes.lostRecords).toBeGreaterThan(0);
    expect(row.crashes.lostRecords).toBeLessThanOrEqual(row.crashes.crashes);
    const text = await swarm(["--algo", "raft", "--scenario", "steady", "--seeds", "2", "--ops", "10", "--jobs", "1"]);
    expect(text.out).toMatch(/^raft: 0 crashes, 0 of them lost unsynced records, 0 tore one$/m);
    expect(text.out).toMatch(/^no seed reached: snapshot-install, .*joint-consensus/m);
  });

  it("on a terminal, rewrites one progress line in place and ends it with a newline", async () => {
    const io = Object.assign(captureIo(), { stderrIsTty: true });
    const code = await runCli(["swarm", "--algo", "solo", "--scenario", "steady", "--seeds", "3", "--ops", "5", "--jobs", "1"], io);
    expect(code).toBe(0);
    expect(io.err).toMatch(/\rswarm: 3\/3 seeds, 0 failed, .*\n$/);
    expect(io.err.split("\n").filter((line) => line.includes("seeds/s"))).toHaveLength(1);
  });

  it.each([
    [["--seeds", "3"], /--algo is required; allowed: solo, raft, multipaxos, pbft, paxos, eventual, quorum, vr, all/],
    [["--algo", "zab"], /--algo: unknown value "zab"/],
    [["--algo", "raft", "--seeds", "0"], /--seeds: expected an integer from 1 to/],
    [["--algo", "raft", "--jobs", "many"], /--jobs: expected an integer/],
    [["--algo", "solo", "--nodes", "3"], /--nodes: solo runs on exactly 1 node, not 3/],
    [["--algo", "raft", "--option", "bogus=1"], /raft: Unrecognized key: "bogus"/],
    [["--algo", "raft", "--scenario", "storm"], /--scenario: unknown value "storm"/],
    [["--algo", "raft", "--scenario-file", "none.json"], /--scenario-file: cannot read none\.json/],
    [["--algo", "raft", "--seed", "4"], /Unknown option '--seed'.*allowed flags: --algo/],
  ])("refuses %j with exit code 2 and one line naming the flag", async (args, message) => {
    const { code, out, err } = await swarm(args as string[]);
    expect(code).toBe(2);
    expect(out).toBe("");
    expect(err.trim().split("\n")).toHaveLength(1);
    expect(err).toMatch(message as RegExp);
  });

  it("prints its flags with --help", async () => {
    const { code, out } = await swarm(["--help"]);
    expect(code).toBe(0);
    for (const flag of ["--algo", "--seeds", "--first-seed", "--scenario", "--scenario-file", "--nodes", "--jobs", "--option", "--json"]) expect(out).toContain(flag);
  });
});
