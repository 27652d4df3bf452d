// chaos's election race (issue 21): how often it is drawn and its shape. Its faults' mechanics are tested in
// held-messages.test.ts; that it acts on a real protocol, in the cli package's election-race test.
import { describe, expect, test } from "vitest";
import { createRng, deriveSeed } from "@concord/core";
import { drawChaosElectionRaces, drawElectionRaceOptions } from "@concord/sim";

describe("chaos's election race", () => {
  test("in about half of the runs of three or more replicas: a cut for the next leader that holds the former leader's messages, with as many companions as leave a majority outside", () => {
    const counts = { drawn: 0, largest: 0, follower: 0, healsFirst: 0, atOnce: 0 };
    for (let seed = 1; seed <= 120; seed++) {
      expect(drawChaosElectionRaces(createRng(deriveSeed(seed, "chaos-election-races")), 3000, 2).kind).toBeUndefined();
      const race = drawChaosElectionRaces(createRng(deriveSeed(seed, "chaos-election-races")), 3000, 5);
      if (race.kind === undefined) continue;
      counts.drawn++;
      expect(race.faults).toHaveLength(1);
      const [cut] = race.faults;
      if (cut?.type !== "partition") throw new Error("the election race is a partition");
      expect(cut).toMatchObject({ nextLeader: true, isolate: ["leader"] });
      expect(cut.companions).toBeLessThanOrEqual(1);
      expect(cut.afterLeadsMs).toBeLessThanOrEqual(3);
      if (cut.companions === 1) counts.largest++;
      if (cut.holdLeader === "follower") counts.follower++;
      if ((cut.formerLeaderHealsFirstMs ?? 0) > 0) counts.healsFirst++;
      // Long enough for a heartbeat of the cut-off leader's (the swarm draws up to 49 ticks of 10 ms) before the rest heals.
      if (cut.formerLeaderHealsFirstMs !== 0) expect(cut.formerLeaderHealsFirstMs).toBeGreaterThanOrEqual(60);
      expect(cut.formerLeaderHealsFirstMs).toBeLessThanOrEqual(600);
      if (cut.afterLeadsMs === 0) counts.atOnce++;
      const three = drawChaosElectionRaces(createRng(deriveSeed(seed, "chaos-election-races")), 3000, 3).faults[0];
      expect(three?.type === "partition" ? three.companions : undefined).toBe(0);
    }
    expect(counts.drawn, JSON.stringify(counts)).toBeGreaterThan(45);
    expect(counts.drawn, JSON.stringify(counts)).toBeLessThan(75);
    for (const part of [counts.largest, counts.follower, counts.healsFirst, counts.atOnce]) {
      expect(part, JSON.stringify(counts)).toBeGreaterThan(counts.drawn / 4);
      expect(part, JSON.stringify(counts)).toBeLessThan(counts.drawn);
    }
  });

  test("in about half of the runs that draw it, a snapshot interval of 1 to the hint's largest, for an algorithm that names the option and a run that leaves it open", () => {
    const hints = { snapshotInterval: { option: "snapshotEveryEntries", max: 4 } };
    const drawn: number[] = [];
    for (let seed = 1; seed <= 200; seed++) {
      const rng = () => createRng(deriveSeed(seed, "chaos-election-race-options"));
      const options = drawElectionRaceOptions(rng(), hints, {});
      expect(drawElectionRaceOptions(rng(), undefined, {})).toEqual({});
      expect(drawElectionRaceOptions(rng(), hints, { snapshotEveryEntries: 500 })).toEqual({});
      if (Object.keys(options).length === 0) continue;
      expect(Object.keys(options)).toEqual(["snapshotEveryEntries"]);
      drawn.push(options["snapshotEveryEntries"] as number);
    }
    expect(drawn.length).toBeGreaterThan(75);
    expect(drawn.length).toBeLessThan(125);
    expect(new Set(drawn)).toEqual(new Set([1, 2, 3, 4]));
  });
});
