// Chaos's races sized by the election timeout on Raft (issue 21): the run draws them from the election timeout its
// options drew, lists their faults, and keeps every guarantee.
import { describe, expect, it } from "vitest";
import { createRng, deriveSeed } from "@concord/core";
import { type ScenarioInput, drawChaosLeaseRaces, runSimulation } from "@concord/sim";
import { algorithms, replayCommand } from "@concord/lab";
import { judgeRun } from "@concord/testkit";

describe("chaos's races sized by the election timeout, on Raft", () => {
  it.each(["acks-lag-past-election", "voter-restarts-as-leader-cut"])("%s: drawn from the run's election timeout, listed among its faults, every guarantee kept", (kind) => {
    const raft = algorithms.find((algorithm) => algorithm.name === "raft");
    if (raft === undefined) throw new Error("raft is not registered");
    const draw = (seed: number, timeoutMs: number): ReturnType<typeof drawChaosLeaseRaces> =>
      drawChaosLeaseRaces(createRng(deriveSeed(seed, "chaos-lease-races")), 3000, 3, timeoutMs);
    const seeds = Array.from({ length: 60 }, (_, i) => i + 1).filter((seed) => draw(seed, 100).kind === kind).slice(0, 2);
    expect(seeds).toHaveLength(2);
    for (const seed of seeds) {
      const run = { algo: "raft", nodes: 3, scenario: "chaos", seed } as const;
      const verdict = judgeRun(() => runSimulation({ algorithm: raft, nodes: 3, scenario: "chaos", seed }), { liveness: "none-failed", undecidedIsBroken: true, replay: () => replayCommand(run) });
      expect(verdict.problems, verdict.report).toEqual([]);
      const result = verdict.result;
      if (result === undefined) throw new Error(`seed ${seed} gave no result`);
      const ticks = result.protocolOptions["electionTimeoutTicks"] as number;
      const race = draw(seed, ticks * result.scenarioDefinition.tickMs);
      expect(race.kind).toBe(kind);
      for (const fault of race.faults) expect(result.scenarioDefinition.faults, `seed ${seed}`).toContainEqual(expect.objectContaining(fault));
    }
  });
});

describe("faults timed by an election (atCampaign)", () => {
  const scenario: ScenarioInput = {
    name: "voter-restarts-at-campaign",
    description: "The leader's messages to one follower are lost; when that follower campaigns, the other follower restarts and the leader is cut off.",
    warmupMs: 500,
    workload: { spreadMs: 2000 },
    faults: [
      { type: "link", atMs: 500, durationMs: 1000, link: { dropPercent: 100 }, from: "leader", to: "follower" },
      { type: "crash", atMs: 500, target: "follower", restartAfterMs: 0, atCampaign: true, windowMs: 500 },
      { type: "partition", atMs: 500, isolate: ["leader"], clients: "split", durationMs: 500, atCampaign: true, windowMs: 500 },
    ],
  };
  const options = { electionTimeoutTicks: 10, heartbeatTicks: 1, preVote: true, checkQuorum: true, leaseReads: true };

  it("strike in the instant a replica starts campaigning: the crash hits a follower of the leader other than the campaigner, the cut the leader", () => {
    const raft = algorithms.find((algorithm) => algorithm.name === "raft");
    if (raft === undefined) throw new Error("raft is not registered");
    for (let seed = 1; seed <= 4; seed++) {
      const run = { algo: "raft", nodes: 3, scenario, seed, protocolOptions: options };
      const verdict = judgeRun(() => runSimulation({ algorithm: raft, nodes: 3, scenario, seed, protocolOptions: options }), { liveness: "none-failed", undecidedIsBroken: true, replay: () => replayCommand(run) });
      expect(verdict.problems, verdict.report).toEqual([]);
      const log = verdict.result?.faultLog ?? [];
      const deaf = log.map((line) => /link nodes (\d+),(\d+) \{"dropPercent":100\}/.exec(line)).find((match) => match !== null);
      const campaign = log.map((line) => / node (\d+) campaigns \(epoch \d+, leader (\d+)\)/.exec(line)).find((match) => match !== null);
      const crash = log.map((line) => /crash \(at a campaign\) node (\d+)/.exec(line)).find((match) => match !== null);
      const cut = log.map((line) => /partition \(clients: split\) \(at a campaign\) node (\d+)/.exec(line)).find((match) => match !== null);
      expect(deaf && campaign && crash && cut, `seed ${seed}:\n${log.join("\n")}`).toBeTruthy();
      const [campaigner, leader] = [Number(campaign?.[1]), Number(campaign?.[2])];
      // The campaigner is the follower that stopped hearing the leader; the crash spares it and the leader.
      expect([Number(deaf?.[1]), Number(deaf?.[2])].sort()).toEqual([campaigner, leader].sort());
      expect([campaigner, leader]).not.toContain(Number(crash?.[1]));
      expect(Number(cut?.[1])).toBe(leader);
      expect(verdict.result?.ineffectiveFaults).toEqual([]);
    }
  });

  it("a crash timed by a campaign must strike at once: any other timing is a configuration error naming the field", () => {
    const raft = algorithms.find((algorithm) => algorithm.name === "raft");
    if (raft === undefined) throw new Error("raft is not registered");
    const timed: ScenarioInput = { ...scenario, faults: [{ type: "crash", atMs: 500, target: "follower", timing: "after-sync", atCampaign: true }] };
    expect(() => runSimulation({ algorithm: raft, nodes: 3, scenario: timed, seed: 1 })).toThrow(/scenario\.faults\.0\.timing.*strikes at once/);
  });
});
