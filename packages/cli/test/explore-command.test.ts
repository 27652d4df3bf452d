import { describe, expect, it } from "vitest";
import { runCli } from "@concord/cli";
import { captureIo } from "./helpers.ts";

// Single-decree Paxos, 3 acceptors, one client's put and get, no timeouts: a model small enough to exhaust in a test.
const small = ["explore", "--algo", "paxos", "--clients", "1", "--ops", "2", "--timeouts", "0", "--inflight-max", "20", "--progress-every", "0"];

describe("concord explore", () => {
  it("exhausts a small model, restates the bounds it holds within and the bounds that cut it, and exits 0", async () => {
    const io = captureIo();
    expect(await runCli(small, io)).toBe(0);
    expect(io.out).toMatch(/^[\d,]+ unique states, no violation within these bounds/);
    expect(io.out).toContain("bounds: 3 replicas, 1 client(s) with 2 operation(s) each; depth <= 30 actions, crashes <= 0");
    expect(io.out).toContain("cut by: timeoutsPerNodeMax");
    expect(io.out).toContain("reached: a write completes");
  });

  it("prints one JSON object with --json, unbounded reordering as null", async () => {
    const io = captureIo();
    expect(await runCli([...small, "--json", "--strategy", "dfs"], io)).toBe(0);
    const report = JSON.parse(io.out) as { outcome: string; uniqueStates: number; strategy: string; bounds: { reorderingsMax: number | null; depthMax: number }; exitCode: number; run: { algo: string } };
    expect(report).toMatchObject({ outcome: "exhausted", strategy: "dfs", exitCode: 0, run: { algo: "paxos" }, bounds: { reorderingsMax: null, depthMax: 30 } });
    expect(report.uniqueStates).toBeGreaterThan(1000);
  });

  it("runs the partial-order reduction by default (--no-por turns it off): the same verdict and sometimes properties, fewer states and actions, and says which counts it gives", async () => {
    const full = captureIo();
    expect(await runCli([...small, "--json", "--no-por"], full)).toBe(0);
    const reduced = captureIo();
    expect(await runCli([...small, "--json"], reduced)).toBe(0);
    const explicit = captureIo();
    expect(await runCli([...small, "--json", "--por"], explicit)).toBe(0);
    expect((JSON.parse(explicit.out) as { uniqueStates: number }).uniqueStates).toBe((JSON.parse(reduced.out) as { uniqueStates: number }).uniqueStates);
    type Report = { outcome: string; uniqueStates: number; transitions: number; slept: number; por: boolean; sometimes: unknown[] };
    const [before, after] = [JSON.parse(full.out) as Report, JSON.parse(reduced.out) as Report];
    expect(before).toMatchObject({ por: false, slept: 0 });
    expect(after).toMatchObject({ outcome: before.outcome, por: true, sometimes: before.sometimes });
    expect(after.uniqueStates).toBeLessThan(before.uniqueStates);
    expect(after.transitions).toBeLessThan(before.transitions);
    expect(after.slept).toBeGreaterThan(0);
    const text = captureIo();
    expect(await runCli(small, text)).toBe(0);
    expect(text.out).toMatch(/partial-order reduction on \(--no-por turns it off\): states counted as the reduction sees them .*, [\d,]+ actions asleep/);
    const off = captureIo();
    expect(await runCli([...small, "--no-por"], off)).toBe(0);
    expect(off.out).toContain("partial-order reduction off: every order of events is its own state");
  });

  it("checks bounded eventually with --eventually k: passes with room to finish, and a k too small gives a counterexample whose trace replays to the same verdict", async () => {
    const roomy = captureIo();
    expect(await runCli([...small, "--eventually", "300"], roomy)).toBe(0);
    expect(roomy.out).toMatch(/eventually \(within 300 fault-free steps\): checked in [\d,]+ states/);
    const tight = captureIo();
    expect(await runCli([...small, "--eventually", "4", "--trace-out", "e.json"], tight)).toBe(1);
    expect(tight.out).toContain("VIOLATION of eventually: every client operation completes within 4 fault-free steps");
    expect(tight.out).toContain("from step 1 on, the fault-free continuation");
    const trace = JSON.parse(tight.files["e.json"] ?? "{}") as { violation: { continuationFrom: number } };
    expect(trace.violation.continuationFrom).toBe(0);
    const replayed = captureIo({ "e.json": tight.files["e.json"] ?? "" });
    expect(await runCli(["explore", "--replay", "e.json"], replayed)).toBe(1);
    expect(replayed.out).toContain("VIOLATION of eventually: every client operation completes within 4 fault-free steps: after the trace's fault-free continuation c0's put is outstanding");
  });

  it("exits 3 when the state limit stops the search, and when it never reaches a write (a pass would be vacuous)", async () => {
    const stopped = captureIo();
    expect(await runCli([...small, "--states-max", "50"], stopped)).toBe(3);
    expect(stopped.out).toContain("STOPPED at the state limit: 50 unique states");
    const vacuous = captureIo();
    expect(await runCli(["explore", "--algo", "paxos", "--ops", "0", "--progress-every", "0"], vacuous)).toBe(3);
    expect(vacuous.out).toContain("NEVER reached: a write completes: a pass here would be vacuous");
  });

  it("refuses bad flags with exit 2, naming the flag", async () => {
    for (const [args, message] of [
      [["explore"], "--algo is required"],
      [["explore", "--algo", "paxos", "--depth", "0"], "--depth: expected an integer from 1"],
      [["explore", "--algo", "paxos", "--strategy", "random"], '--strategy: unknown value "random"'],
      [["explore", "--algo", "pbft", "--nodes", "3"], "--nodes:"],
      [["explore", "--algo", "raft", "--option", "preVote=maybe"], "preVote"],
      [["explore", "--algo", "paxos", "--port", "8080"], "--port belongs to the Explorer: add --ui"],
      [["explore", "--algo", "paxos", "--find"], "--find belongs to the Explorer: add --ui"],
      [["explore", "--algo", "paxos", "--ui", "--por"], "--por belongs to the search"],
      [["explore", "--algo", "paxos", "--ui", "--no-por"], "--no-por belongs to the search"],
      [["explore", "--algo", "paxos", "--por", "--no-por"], "--por and --no-por contradict each other"],
      [["explore", "--algo", "paxos", "--ui", "--eventually", "50"], "--eventually belongs to the search"],
      [["explore", "--algo", "paxos", "--eventually", "0"], "--eventually: expected an integer from 1"],
    ] as const) {
      const io = captureIo();
      expect(await runCli([...args], io)).toBe(2);
      expect(io.err).toContain(message);
    }
  });

  it("writes a counterexample with Byzantine replicas as a scenario and a diagram, which concord sim replays to the same broken history", async () => {
    const io = captureIo();
    const args = ["explore", "--algo", "pbft", "--nodes", "4", "--clients", "1", "--ops", "1", "--timeouts", "0", "--reorderings", "0", "--depth", "60", "--inflight-max", "60", "--progress-every", "0"];
    expect(await runCli([...args, "--byzantine", "corrupt-results", "--byzantine-nodes", "1,2", "--counterexample-out", "cx.json", "--diagram", "cx.svg"], io)).toBe(1);
    expect(io.out).toMatch(/accepted a result no state machine produced/);
    expect(io.out).toContain("counterexample written as a simulator scenario to cx.json; replay it step by step with: pnpm concord sim --algo pbft --nodes 4 --seed 1 --scenario-file cx.json");
    expect(io.files["cx.svg"]).toMatch(/^<svg/);
    const sim = captureIo(io.files);
    expect(runCli(["sim", "--algo", "pbft", "--nodes", "4", "--seed", "1", "--scenario-file", "cx.json", "--json"], sim)).toBe(1);
    const report = JSON.parse(sim.out) as { linearizable: boolean; byzantine: { nodes: number[]; strategy: string } };
    expect(report.linearizable).toBe(false);
    expect(report.byzantine).toMatchObject({ nodes: [1, 2], strategy: "corrupt-results" });
  });

  it("replays a trace step by step, and refuses a file that is not one", async () => {
    const trace = {
      run: { algo: "paxos", nodes: 3, clients: 1, ops: 1, seed: 1, options: {}, ordered: false },
      steps: [{ action: { kind: "invoke", client: 1_000_000 }, description: "client c0 invokes its next operation" }],
    };
    const io = captureIo({ "t.json": JSON.stringify(trace) });
    expect(await runCli(["explore", "--replay", "t.json"], io)).toBe(0);
    expect(io.out).toContain("1. client c0 invokes its next operation");
    expect(io.out).toContain("in flight 1");
    expect(io.out).toContain("the trace ends with no violation on this code");
    const bad = captureIo({ "b.json": JSON.stringify({ run: { algo: "paxos" } }) });
    expect(await runCli(["explore", "--replay", "b.json"], bad)).toBe(2);
    expect(bad.err).toContain("not a trace written by --trace-out");
    const stale = captureIo({ "s.json": JSON.stringify({ ...trace, steps: [{ action: { kind: "deliver", key: "0>1:nothing" }, description: "" }] }) });
    expect(await runCli(["explore", "--replay", "s.json"], stale)).toBe(2);
    expect(stale.err).toContain("does not replay on this code");
  });
});
