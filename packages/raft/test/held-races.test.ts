// Chaos's held races on Raft (issue 21): messages held in the network for about an election timeout and let go at an
// election event. Each kind is written in a scenario with fixed options and played to the end: its stages come in
// order, on distinct replicas, and every guarantee holds. The same runs break a guarantee with the planted bug each
// kind is built for (raft/higher-term-reply-clears-leader-in-lease, raft/vote-not-persisted-before-reply; their
// Tests: lines name this file). Chaos draws them from the run's election timeout and lists them among its faults.
import { describe, expect, it } from "vitest";
import { type ProtocolOptions, createRng, deriveSeed } from "@concord/core";
import { type FaultInput, type ScenarioInput, drawChaosHeldRaces, runSimulation } from "@concord/sim";
import { replayCommand } from "@concord/lab";
import { judgeRun } from "@concord/testkit";
import { raft } from "@concord/raft";

const algorithm = raft;

/** electionTimeoutTicks of the written runs: a lease of 26 ticks (260 ms), far longer than the clients' retry. */
const electionTimeoutTicks = 30;
const timeoutMs = electionTimeoutTicks * 10;

function scenario(kind: "former-leader-returns" | "former-leader-restarts-between-candidates"): ScenarioInput {
  const race: FaultInput = {
    type: "held-race",
    kind,
    atMs: 300,
    windowMs: timeoutMs * 5,
    settleMs: 5,
    outsiders: 1,
    delayMs: 5,
    cutMs: timeoutMs * 3,
    clients: "split",
    messageTypes: ["appendEntries"],
    campaignTypes: ["requestVote"],
  };
  return { name: kind, description: `The held race ${kind}, alone.`, warmupMs: 500, workload: { spreadMs: 3000 }, faults: [race] };
}

/** played runs a written race and returns its verdict and the fault log's lines of the race. */
function played(input: ScenarioInput, seed: number, protocolOptions: ProtocolOptions): { problems: readonly unknown[]; report: string; lines: string[]; ineffective: readonly string[] } {
  const run = { algo: "raft", nodes: 3, scenario: input, seed, protocolOptions };
  const verdict = judgeRun(() => runSimulation({ algorithm, nodes: 3, scenario: input, seed, protocolOptions }), {
    liveness: "none-failed",
    undecidedIsBroken: true,
    replay: () => replayCommand(run),
  });
  const log = verdict.result?.faultLog ?? [];
  return { problems: verdict.problems, report: `${verdict.report}\n${log.join("\n")}`, lines: log.filter((line) => line.includes("held-race")), ineffective: verdict.result?.ineffectiveFaults ?? [] };
}

/** node reads the first node id a pattern's group captures in the race's lines. */
function node(lines: readonly string[], pattern: RegExp): number {
  for (const line of lines) {
    const match = pattern.exec(line);
    if (match !== null) return Number(match[1]);
  }
  return Number.NaN;
}

describe("held races on Raft", () => {
  it("former-leader-returns: the former leader follows the new one; an outsider that climbed above it hears the former leader's stale messages as the new leader is cut off; every guarantee kept", () => {
    const options = { electionTimeoutTicks, heartbeatTicks: 2, preVote: false, checkQuorum: true, leaseReads: true, clientRetryTicks: 2 };
    for (const seed of [1, 2, 3]) {
      const { problems, report, lines, ineffective } = played(scenario("former-leader-returns"), seed, options);
      expect(problems, report).toEqual([]);
      expect(ineffective, report).toEqual([]);
      const former = node(lines, /holds what leader (\d+) sends/);
      const leader = node(lines, /held-race: node (\d+) leads epoch/);
      const outsider = node(lines, /leader \d+ parted from node (\d+)/);
      const campaigner = node(lines, /held-race: node (\d+) campaigns; leader \d+ cut off/);
      expect(new Set([former, leader, outsider]).size, report).toBe(3);
      expect(campaigner, report).toBe(outsider);
      expect(node(lines, /held-race: node \d+ campaigns; leader (\d+) cut off/), report).toBe(leader);
      // The stages in order: stall, new leader, parting (some held messages leave), the cut with the rest.
      const order = [/holds what leader/, /leads epoch/, /parted from/, /campaigns; leader/, /end held-race/].map((pattern) => lines.findIndex((line) => pattern.test(line)));
      expect(order, report).toEqual([...order].sort((a, b) => a - b));
      expect(order.every((index) => index >= 0), report).toBe(true);
      expect(Number(/\((\d+) held messages of node \d+ leave now; what the outsiders/.exec(lines.join("\n"))?.[1]), report).toBeGreaterThan(0);
    }
  });

  it.each([false, true])("former-leader-restarts-between-candidates (pre-vote %s): the former leader hears a candidate's epoch, then its vote request, and restarts when the other side's replica campaigns; every guarantee kept", (preVote) => {
    const options = { electionTimeoutTicks, heartbeatTicks: 2, preVote, checkQuorum: true };
    for (const seed of [1, 2, 3, 4]) {
      const { problems, report, lines, ineffective } = played(scenario("former-leader-restarts-between-candidates"), seed, options);
      expect(problems, report).toEqual([]);
      expect(ineffective, report).toEqual([]);
      const former = node(lines, /holds what leader (\d+) sends/);
      const first = node(lines, /held-race: node (\d+) campaigns in epoch/);
      const second = node(lines, /held-race: node (\d+) campaigns; node \d+ crashes/);
      expect(new Set([former, first, second]).size, report).toBe(3);
      expect(node(lines, /held-race: node \d+ campaigns; node (\d+) crashes and restarts at once/), report).toBe(former);
      expect(lines.join("\n"), report).toMatch(new RegExp(`nodes ${second} hear neither`));
    }
  });

  it("a race fired while no replica leads waits for a leader to stall, within its first window", () => {
    const options = { electionTimeoutTicks, heartbeatTicks: 2, preVote: false, checkQuorum: true };
    const input: ScenarioInput = { ...scenario("former-leader-restarts-between-candidates"), warmupMs: 0 };
    const race = input.faults?.[0];
    if (race === undefined) throw new Error("no race");
    input.faults = [{ ...race, atMs: 0 }];
    const { problems, report, lines, ineffective } = played(input, 1, options);
    expect(problems, report).toEqual([]);
    expect(ineffective, report).toEqual([]);
    const waits = lines.findIndex((line) => /held-race \(former-leader-restarts-between-candidates\) waits for a leader/.test(line));
    const holds = lines.findIndex((line) => /holds what leader \d+ sends/.test(line));
    expect(waits, report).toBe(0);
    expect(holds, report).toBeGreaterThan(waits);
    expect(parseFloat(lines[holds] ?? ""), report).toBeGreaterThan(0);
  });

  it.each(["former-leader-returns", "former-leader-restarts-between-candidates"])("%s: chaos draws it from the run's election timeout and lists it among its faults, every guarantee kept", (kind) => {
    const draw = (seed: number, ms: number): ReturnType<typeof drawChaosHeldRaces> =>
      drawChaosHeldRaces(createRng(deriveSeed(seed, "chaos-held-races")), 3000, 3, ms, algorithm.codec.typeNames ?? []);
    let runs = 0;
    for (let seed = 1; seed <= 80 && runs < 2; seed++) {
      if (draw(seed, 100).kind !== kind) continue;
      const run = { algo: "raft", nodes: 3, scenario: "chaos", seed } as const;
      const verdict = judgeRun(() => runSimulation({ algorithm, nodes: 3, scenario: "chaos", seed }), { liveness: "none-failed", undecidedIsBroken: true, replay: () => replayCommand(run) });
      expect(verdict.problems, verdict.report).toEqual([]);
      const result = verdict.result;
      if (result === undefined) throw new Error(`seed ${seed} gave no result`);
      // A membership race leaves no room for a held race.
      if (!result.scenarioDefinition.faults.some((fault) => fault.type === "reconfigure")) {
        const ms = (result.protocolOptions["electionTimeoutTicks"] as number) * result.scenarioDefinition.tickMs;
        expect(result.scenarioDefinition.faults, `seed ${seed}`).toContainEqual(expect.objectContaining(draw(seed, ms).faults[0]));
        runs++;
      }
    }
    expect(runs).toBe(2);
  });
});
