import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runCli } from "@concord/cli";
import { brokenGuarantees, cpuFlagValue } from "@concord/lab";
import { cpuCalibration } from "@concord/sim";
import { captureIo } from "./helpers.ts";

/** soloCrashedForGood crashes solo's only server at once and never restarts it. */
const soloCrashedForGood = { name: "solo-down", description: "", livenessTimeoutMs: 1000, workload: { ops: 10 }, faults: [{ type: "crash", atMs: 0, target: "leader" }] };

function run(args: string[]): { code: number; out: string; err: string } {
  const io = captureIo();
  const code = runCli(args, io);
  if (typeof code !== "number") throw new Error("concord sim must run synchronously");
  return { code, out: io.out, err: io.err };
}

describe("concord sim", () => {
  it("prints exactly one JSON object with every required field", () => {
    const { code, out } = run(["sim", "--algo", "solo", "--nodes", "1", "--scenario", "steady", "--seed", "3", "--ops", "50", "--clients", "2", "--json"]);
    expect(code).toBe(0);
    expect(out.trim().split("\n")).toHaveLength(1);
    const report = JSON.parse(out);
    for (const field of ["algo", "nodes", "scenario", "seed", "ops", "virtualSeconds", "throughputOpsPerSec", "latencyMs", "messages", "bytes", "leaderChanges", "linearizable", "invariantViolations"]) {
      expect(report).toHaveProperty(field);
    }
    expect(report.ops).toEqual({ invoked: 50, completed: 50, failed: 0, indeterminate: 0 });
    expect(report.finalReads).toEqual({ invoked: 8, completed: 8 });
    expect(Object.keys(report.latencyMs)).toEqual(["p50", "p95", "p99", "max"]);
    expect(Object.keys(report.messages)).toEqual(["total", "perOp", "byType"]);
    expect(report.linearizable).toBe(true);
    expect(report.invariantViolations).toEqual([]);
  });

  it("prints the same bytes for the same arguments", () => {
    const args = ["sim", "--algo", "solo", "--scenario", "chaos", "--seed", "11", "--json"];
    const first = run(args);
    const second = run(args);
    expect(second.out).toBe(first.out);
    expect(run(["sim", "--algo", "solo", "--scenario", "chaos", "--seed", "12", "--json"]).out).not.toBe(first.out);
  });

  it("charges the calibrated CPU cost model by default, --cpu's instead, or none with --cpu none, says which, and its replay command carries the flag", () => {
    const raft = ["sim", "--algo", "raft", "--nodes", "3", "--ops", "20"];
    const free = JSON.parse(run([...raft, "--cpu", "none", "--json"]).out);
    const byDefault = JSON.parse(run([...raft, "--json"]).out);
    const calibrated = JSON.parse(run([...raft, "--cpu", cpuFlagValue(cpuCalibration.cpu), "--json"]).out);
    expect(byDefault.cpu).toEqual(cpuCalibration.cpu);
    expect(free.cpu).toEqual({ perMessageUs: 0, perKilobyteUs: 0, perMacUs: 0, perDigestUs: 0, perSignatureUs: 0, perVerifyUs: 0 });
    expect([byDefault.latencyMs, byDefault.messages]).toEqual([calibrated.latencyMs, calibrated.messages]);
    // An unbatched write steps three messages on its path (the request, the append at a follower, its answer): some 18 us.
    expect(byDefault.latencyMs.p50).toBeGreaterThan(free.latencyMs.p50);
    expect(byDefault.latencyMs.p50).toBeLessThan(free.latencyMs.p50 + 0.05);
    expect(run(raft).out).toMatch(/CPU cost model\s+calibrated\n/);
    expect(run([...raft, "--cpu", "none"]).out).toMatch(/CPU cost model\s+none\n/);
    const charged = run([...raft, "--cpu", "perMessageUs=100", "--json"]);
    expect(charged.code).toBe(0);
    // An unbatched write steps a message at the leader, one at a follower and its answer back at the leader: 300 us.
    expect(JSON.parse(charged.out).latencyMs.p50).toBeCloseTo(free.latencyMs.p50 + 0.3, 6);
    for (const [flag, replayed] of [
      ["perMessageUs=7", "--cpu perMessageUs=7"],
      ["none", "--cpu none"],
    ] as const) {
      const io = captureIo({ "down.json": JSON.stringify(soloCrashedForGood) });
      expect(runCli(["sim", "--algo", "solo", "--scenario-file", "down.json", "--seed", "2", "--ops", "10", "--cpu", flag, "--json"], io)).toBe(1);
      expect(/replay with: (.*)$/m.exec(io.err)?.[1]).toBe(`pnpm concord sim --algo solo --nodes 1 --scenario-file down.json --seed 2 --ops 10 ${replayed}`);
    }
  });

  it.each([
    ["perFooUs=1", /--cpu: unknown figure "perFooUs"; allowed: perMessageUs, perKilobyteUs/],
    ["perMacUs=-1", /--cpu: perMacUs must be a non-negative number of microseconds, not "-1"/],
    ["perMacUs", /--cpu: perMacUs must be a non-negative number/],
    [",", /--cpu: expected name=microseconds pairs/],
  ])("refuses --cpu %s with exit code 2 and one line", (value, message) => {
    const { code, err } = run(["sim", "--algo", "raft", "--cpu", value]);
    expect(code).toBe(2);
    expect(err.trim().split("\n")).toHaveLength(1);
    expect(err).toMatch(message);
  });

  it("prints a readable table without --json", () => {
    const { code, out } = run(["sim", "--algo", "solo", "--scenario", "steady", "--ops", "20"]);
    expect(code).toBe(0);
    expect(out).toMatch(/throughput \(ops\/s\)/);
    expect(out).toMatch(/linearizable\s+yes/);
    expect(out).toMatch(/ops invoked \/ ok \/ failed \/ indeterminate\s+20 \/ 20 \/ 0 \/ 0/);
    expect(out).toMatch(/final reads invoked \/ ok\s+\d+ \/ \d+/);
  });

  it.each([
    [["sim", "--algo", "nope"], /--algo: unknown value "nope"; allowed: solo, raft, multipaxos, pbft/],
    [["sim"], /--algo is required; allowed: /],
    [["sim", "--algo", "solo", "--scenario", "storm"], /--scenario: unknown value "storm"; allowed: steady, leader-crash, partition, lossy, slow-node, crash-restart, byzantine, chaos/],
    [["sim", "--algo", "solo", "--seed", "-4"], /--seed: expected an integer from 0 to/],
    [["sim", "--algo", "solo", "--ops", "many"], /--ops: expected an integer/],
    [["sim", "--algo", "solo", "--nodes", "3"], /--nodes: solo runs on exactly 1 node, not 3/],
    [["sim", "--algo", "solo", "--frobnicate"], /Unknown option '--frobnicate'.*allowed flags: --algo/],
    [["sim", "--algo", "solo", "--byzantine-strategy", "lie"], /--byzantine-strategy: unknown value "lie"; allowed: silent, replay, corrupt, equivocate, delay/],
    [["launch"], /unknown command "launch"/],
  ])("refuses %j with exit code 2 and one line naming the flag", (args, message) => {
    const { code, out, err } = run(args as string[]);
    expect(code).toBe(2);
    expect(out).toBe("");
    expect(err.trim().split("\n")).toHaveLength(1);
    expect(err).toMatch(message as RegExp);
  });

  it("exits 1 and prints a replay command that replays the run when it breaks its guarantees", () => {
    // solo's one server crashes and never comes back: no operation completes, which the liveness check reports.
    const io = captureIo({ "down.json": JSON.stringify(soloCrashedForGood) });
    expect(runCli(["sim", "--algo", "solo", "--scenario-file", "down.json", "--seed", "2", "--ops", "10", "--no-encode", "--json"], io)).toBe(1);
    const report = JSON.parse(io.out);
    expect(report.invariantViolations[0].invariant).toBe("liveness");
    expect(report.applicable).toBe(true);
    const replay = /replay with: (.*)$/m.exec(io.err)?.[1] ?? "";
    expect(replay).toBe("pnpm concord sim --algo solo --nodes 1 --scenario-file down.json --seed 2 --ops 10 --no-encode");
    const again = captureIo(io.files);
    expect(runCli([...replay.replace(/^pnpm concord /, "").split(" "), "--json"], again)).toBe(1);
    expect(again.out).toBe(io.out);
  });
});

describe("a scenario whose faults the algorithm does not promise to tolerate", () => {
  it("is reported as not applicable to solo, with why, and exits 0 with a message", () => {
    const { code, out, err } = run(["sim", "--algo", "solo", "--scenario", "byzantine", "--seed", "2", "--ops", "10", "--json"]);
    expect(code).toBe(0);
    const report = JSON.parse(out);
    expect(report.applicable).toBe(false);
    expect(report.notApplicableReason).toBe("solo on 1 node tolerates no faulty replica, and this run makes its only replica Byzantine");
    expect(err).toMatch(/^not applicable: solo on 1 node tolerates no faulty replica, .* not a bug \(replay with: pnpm concord sim --algo solo --nodes 1 --scenario byzantine --seed 2 --ops 10\)\n$/);
    expect(err).not.toContain("broke its guarantees");
  });

  it("says so in the table too", () => {
    const { code, out } = run(["sim", "--algo", "solo", "--scenario", "byzantine", "--ops", "10"]);
    expect(code).toBe(0);
    expect(out).toMatch(/^applicable +NO: solo on 1 node tolerates no faulty replica/m);
    expect(run(["sim", "--algo", "solo", "--ops", "10"]).out).toMatch(/^applicable +yes$/m);
  });
});

describe("concord sim --history", () => {
  it("writes the run's history as JSON lines that concord check accepts", () => {
    const io = captureIo();
    expect(runCli(["sim", "--algo", "solo", "--scenario", "lossy", "--seed", "4", "--ops", "30", "--history", "run.jsonl", "--json"], io)).toBe(0);
    const lines = (io.files["run.jsonl"] ?? "").trim().split("\n");
    expect(lines.length).toBeGreaterThanOrEqual(2 * 30);
    const check = captureIo(io.files);
    expect(runCli(["check", "--model", "kv", "run.jsonl"], check)).toBe(0);
    expect(check.out).toMatch(/^linearizable/);
  });
});

describe("concord sim --option", () => {
  it("passes protocol options through and prints them in the replay command", () => {
    const io = captureIo();
    const code = runCli(["sim", "--algo", "raft", "--scenario", "byzantine", "--byzantine-strategy", "corrupt", "--seed", "2", "--ops", "40", "--option", "preVote=false", "--option", "electionTimeoutTicks=30", "--json"], io);
    expect(code).toBe(0); // a lying replica is outside Raft's fault model: not applicable, whatever it broke
    expect(io.err).toContain("--option electionTimeoutTicks=30 --option preVote=false");
  });

  it.each([
    [["--option", "noequals"], /--option: expected name=value, got "noequals"/],
    [["--option", "preVote=false", "--option", "preVote=true"], /--option: preVote is given twice/],
    [["--option", "bogus=1"], /raft: Unrecognized key: "bogus"/],
    [["--option", "electionTimeoutTicks=-3"], /raft\.electionTimeoutTicks: .*\(got -3\)/],
  ])("refuses %j with exit code 2 and a line naming the option", (flags, message) => {
    const io = captureIo();
    expect(runCli(["sim", "--algo", "raft", ...(flags as string[])], io)).toBe(2);
    expect(io.err.trim().split("\n")).toHaveLength(1);
    expect(io.err).toMatch(message as RegExp);
  });
});

describe("crash-fault-tolerant algorithms under Byzantine strategies", () => {
  // PBFT's own tests prove it safe against f liars; here the same generic strategies run against
  // Raft and Multi-Paxos, and what breaks is reported, not hidden.
  it.each(["raft", "multipaxos"])("%s runs every generic strategy from the CLI and reports a verdict for each", (algo) => {
    for (const strategy of ["silent", "replay", "corrupt", "equivocate", "delay"]) {
      const io = captureIo();
      const code = runCli(["sim", "--algo", algo, "--scenario", "byzantine", "--byzantine-strategy", strategy, "--seed", "1", "--ops", "40", "--json"], io);
      const report = JSON.parse(io.out);
      expect(report.byzantine).toEqual({ nodes: [1], strategy, client: null });
      expect(typeof report.linearizable).toBe("boolean");
      // A replica that goes quiet or slow fails as a crash-fault model allows; the others lie, and the run is not applicable.
      expect(report.applicable).toBe(strategy === "silent" || strategy === "delay");
      expect(code).toBe(!report.applicable || brokenGuarantees(report).length === 0 ? 0 : 1);
    }
  });

  it("a field-corrupting replica makes Raft's history non-linearizable, and the report says so", () => {
    const broken: number[] = [];
    for (let seed = 1; seed <= 5; seed++) {
      const io = captureIo();
      runCli(["sim", "--algo", "raft", "--scenario", "byzantine", "--byzantine-strategy", "corrupt", "--seed", String(seed), "--ops", "60", "--json"], io);
      const report = JSON.parse(io.out);
      expect(report.applicable).toBe(false);
      if (report.linearizable === false) broken.push(seed);
    }
    expect(broken.length).toBeGreaterThan(0);
  });
});

describe("concord sim --byzantine-nodes", () => {
  it("chooses which replicas lie, and the replay command names them", () => {
    const io = captureIo();
    const code = runCli(["sim", "--algo", "pbft", "--nodes", "7", "--scenario", "byzantine", "--byzantine-nodes", "2,5", "--byzantine-strategy", "equivocate", "--ops", "30", "--json"], io);
    const report = JSON.parse(io.out);
    expect(report.byzantine).toEqual({ nodes: [2, 5], strategy: "equivocate", client: null });
    expect(code).toBe(0);
    expect(report.linearizable).toBe(true);
  });

  it.each([
    ["9", /--byzantine-nodes: expected replica ids from 1 to 4 separated by commas, got "9"/],
    ["1,1", /--byzantine-nodes: "1,1" names a replica twice/],
    ["one", /--byzantine-nodes: expected replica ids/],
  ])("refuses %s with exit code 2", (value, message) => {
    const io = captureIo();
    expect(runCli(["sim", "--algo", "pbft", "--byzantine-nodes", value], io)).toBe(2);
    expect(io.err).toMatch(message);
  });
});

describe("concord sim --scenario-file", () => {
  const scenario = {
    name: "two-pauses",
    description: "The leader pauses twice while a lossy network drops 10% of messages.",
    warmupMs: 500,
    workload: { ops: 40, clients: 2, spreadMs: 1500 },
    faults: [
      { type: "link", atMs: 0, durationMs: 1500, link: { dropPercent: 10 } },
      { type: "pause", atMs: 300, target: "leader", durationMs: 250 },
      { type: "pause", atMs: 900, target: "leader", durationMs: 250 },
    ],
  };

  it("runs a scenario written by the user, and its faults fire", () => {
    const io = captureIo({ "two-pauses.json": JSON.stringify(scenario) });
    expect(runCli(["sim", "--algo", "raft", "--scenario-file", "two-pauses.json", "--seed", "5", "--json"], io)).toBe(0);
    const report = JSON.parse(io.out);
    expect(report.scenario).toBe("two-pauses");
    expect(report.ops.invoked).toBeGreaterThanOrEqual(40);
    expect(report.faultLog.filter((line: string) => /ms: pause node /.test(line))).toHaveLength(2);
    // The structured faults: each pause an object with its time, kind, replica and end.
    const pauses = report.faults.filter((fault: { kind: string }) => fault.kind === "pause");
    expect(pauses).toHaveLength(2);
    for (const pause of pauses) expect(Object.keys(pause).sort()).toEqual(["atMs", "kind", "nodes", "untilMs"]);
    expect(pauses[1].untilMs - pauses[1].atMs).toBe(250);
    expect(report.linearizable).toBe(true);
  });

  it("prints a replay command that carries the file when a run breaks its guarantees", () => {
    const io = captureIo({ "my scenarios/solo down.json": JSON.stringify(soloCrashedForGood) });
    expect(runCli(["sim", "--algo", "solo", "--scenario-file", "my scenarios/solo down.json", "--seed", "3", "--json"], io)).toBe(1);
    expect(io.err).toContain("pnpm concord sim --algo solo --nodes 1 --scenario-file 'my scenarios/solo down.json' --seed 3");
  });

  it.each([
    ["bad.json", "{ name: 'x' }", /^concord: --scenario-file: bad\.json is not valid JSON: /],
    ["array.json", "[]", /--scenario-file: array\.json must hold one JSON object \(a scenario\), not an array/],
    ["missing.json", undefined, /--scenario-file: cannot read missing\.json: ENOENT/],
    ["kind.json", JSON.stringify({ ...scenario, faults: [{ type: "meteor", atMs: 10, target: "leader" }] }), /--scenario-file kind\.json: scenario\.faults\.0\.type: .*\(got "meteor"\)/],
    ["drop.json", JSON.stringify({ ...scenario, link: { dropPercent: 140 } }), /--scenario-file drop\.json: scenario\.link\.dropPercent: .*\(got 140\)/],
    ["extra.json", JSON.stringify({ ...scenario, colour: "blue" }), /--scenario-file extra\.json: scenario: Unrecognized key: "colour"/],
    ["late.json", JSON.stringify({ ...scenario, healAtMs: 100 }), /--scenario-file late\.json: scenario\.faults\.1\.atMs: must not be after healAtMs \(100\) \(got 300\)/],
  ])("refuses %s with exit code 2 and one line naming the field and its value", (path, content, message) => {
    const io = captureIo(content === undefined ? {} : { [path]: content });
    expect(runCli(["sim", "--algo", "raft", "--scenario-file", path], io)).toBe(2);
    expect(io.out).toBe("");
    expect(io.err.trim().split("\n")).toHaveLength(1);
    expect(io.err).toMatch(message);
  });

  describe("with a script (a model checker's counterexample)", () => {
    const scripted = {
      name: "one-put",
      description: "solo's client writes once, step by step",
      script: { nodes: 1, seed: 4, clients: [[{ type: "put", key: "x", value: "1" }]], steps: [{ step: "invoke", client: "c0" }, { step: "deliver", from: "c0", to: 0, type: "clientRequest" }, { step: "deliver", from: 0, to: "c0", type: "clientReply" }] },
    };
    const base = ["sim", "--algo", "solo", "--nodes", "1", "--seed", "4", "--scenario-file", "one-put.json", "--json"];

    it("runs the script's own workload, and honours the flags that agree with it", () => {
      for (const extra of [[], ["--read", "linearizable"]]) {
        const io = captureIo({ "one-put.json": JSON.stringify(scripted) });
        expect(runCli([...base, ...extra], io), io.err).toBe(0);
        expect(JSON.parse(io.out).ops).toEqual({ invoked: 1, completed: 1, failed: 0, indeterminate: 0 });
      }
    });

    it.each([
      [["--ops", "50"], /^concord: --ops: one-put\.json is a scripted scenario, which cannot honour it: the script's clients invoke exactly the commands it lists\n$/],
      [["--clients", "3"], /^concord: --clients: .*the script lists its clients/],
      [["--cpu", "none"], /^concord: --cpu: .*charges no CPU/],
      [["--read", "stale"], /^concord: --read: .*the script's readLevel is the level of every read/],
      [["--no-encode"], /^concord: --no-encode: .*encodes every message/],
      [["--byzantine-nodes", "1"], /^concord: --byzantine-nodes: .*liars included/],
      [["--byzantine-strategy", "silent"], /^concord: --byzantine-strategy: .*liars included/],
    ])("refuses %j, which the script would override, with exit 2 and one line naming the flag and why", (extra, message) => {
      const io = captureIo({ "one-put.json": JSON.stringify(scripted) });
      expect(runCli([...base, ...extra], io)).toBe(2);
      expect(io.out).toBe("");
      expect(io.err.trim().split("\n")).toHaveLength(1);
      expect(io.err).toMatch(message);
    });
  });

  it("refuses --scenario and --scenario-file together", () => {
    const io = captureIo({ "s.json": JSON.stringify(scenario) });
    expect(runCli(["sim", "--algo", "raft", "--scenario", "steady", "--scenario-file", "s.json"], io)).toBe(2);
    expect(io.err).toMatch(/--scenario and --scenario-file exclude each other/);
  });
});

describe("the scenario file in docs/testing.md", () => {
  it("is accepted as written and runs clean", () => {
    const doc = readFileSync(fileURLToPath(new URL("../../../docs/testing.md", import.meta.url)), "utf8");
    const example = /```json\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(example, "docs/testing.md has no JSON scenario example").toBeDefined();
    const io = captureIo({ "example.json": example ?? "" });
    const code = runCli(["sim", "--algo", "raft", "--scenario-file", "example.json", "--seed", "3", "--option", "leaseReads=true", "--json"], io);
    expect(io.err).toBe("");
    expect(code).toBe(0);
    expect(JSON.parse(io.out).faults.length).toBeGreaterThanOrEqual(4);
  });
});
