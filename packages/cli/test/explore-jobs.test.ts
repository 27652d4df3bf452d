import { describe, expect, it } from "vitest";
import { runCli } from "@concord/cli";
import { captureIo } from "./helpers.ts";

/** Report is what these tests read of `concord explore --json`. */
interface Report {
  readonly outcome: string;
  readonly uniqueStates: number;
  readonly transitions: number;
  readonly depthReached: number;
  readonly cutBy: Record<string, number>;
  readonly sometimes: readonly { readonly name: string; readonly reached: boolean; readonly depth?: number }[];
  readonly jobs: number;
  readonly exitCode: number;
}

async function explore(args: readonly string[]): Promise<Report> {
  const io = captureIo();
  const code = await runCli(["explore", ...args, "--json", "--progress-every", "0"], io);
  const report = JSON.parse(io.out) as Report;
  expect(report.exitCode).toBe(code);
  return report;
}

// Paxos with 2 clients racing on one key (depth 7), and Raft with a crash and a timeout per node (depth 4): breadth-first over the same bounds.
const paxos = ["--algo", "paxos", "--clients", "2", "--ops", "1", "--timeouts", "0", "--depth", "7"];
const raft = ["--algo", "raft", "--option", "preVote=false", "--option", "checkQuorum=false", "--clients", "1", "--ops", "1", "--crashes", "1", "--timeouts", "1", "--depth", "4"];

describe("concord explore --jobs", () => {
  it("reaches the single search's states, state for state, without the reduction: the same counts, cuts, actions and sometimes depths (Raft through a crash)", async () => {
    const single = await explore([...raft, "--no-por"]);
    const parallel = await explore([...raft, "--no-por", "--jobs", "2"]);
    expect(parallel.jobs).toBe(2);
    expect(parallel.outcome).toBe(single.outcome);
    expect(parallel.uniqueStates).toBe(single.uniqueStates);
    expect(parallel.transitions).toBe(single.transitions);
    expect(parallel.depthReached).toBe(single.depthReached);
    expect(parallel.cutBy).toEqual(single.cutBy);
    expect(parallel.sometimes).toEqual(single.sometimes);
    expect(single.uniqueStates).toBeGreaterThan(1000);
  });

  it("counts the states of the reduced single search with the reduction's identity (taking every action it puts to sleep)", async () => {
    const single = await explore(paxos);
    const parallel = await explore([...paxos, "--jobs", "2"]);
    expect(parallel.outcome).toBe(single.outcome);
    expect(parallel.uniqueStates).toBe(single.uniqueStates);
    expect(parallel.sometimes).toEqual(single.sometimes);
    expect(parallel.transitions).toBeGreaterThan(single.transitions);
  });

  it("stops at the state limit where the single search stops", async () => {
    const single = await explore([...paxos, "--no-por", "--states-max", "300"]);
    const parallel = await explore([...paxos, "--no-por", "--states-max", "300", "--jobs", "2"]);
    expect(single).toMatchObject({ outcome: "stopped", uniqueStates: 300, exitCode: 3 });
    expect(parallel).toMatchObject({ outcome: "stopped", uniqueStates: 300, exitCode: 3, depthReached: single.depthReached });
  });

  it("refuses what it cannot search in parallel, in one line", async () => {
    for (const [flags, message] of [
      [["--strategy", "dfs"], "--jobs searches breadth-first"],
      [["--eventually", "100"], "--jobs and --eventually exclude each other"],
    ] as const) {
      const io = captureIo();
      expect(await runCli(["explore", ...paxos, "--jobs", "2", ...flags], io)).toBe(2);
      expect(io.err).toContain(message);
    }
  });
});
