// Chaos's races sized by the election timeout (issue 21): a lag into the leader that grows past an election before
// the leader is cut off, and a voter that restarts as the leader is cut off while another follower campaigns.
import { describe, expect, test } from "vitest";
import { createRng, deriveSeed } from "@concord/core";
import { type Fault, drawChaosLeaseRaces } from "@concord/sim";

const timeoutMs = 200;

function draw(seed: number, nodes = 3, electionTimeoutMs = timeoutMs): ReturnType<typeof drawChaosLeaseRaces> {
  return drawChaosLeaseRaces(createRng(deriveSeed(seed, "chaos-lease-races")), 3000, nodes, electionTimeoutMs);
}

describe("races sized by the election timeout", () => {
  test("one run of three draws one, of both kinds, none below three replicas or without an election timeout", () => {
    const kinds = new Map<string, number>();
    for (let seed = 1; seed <= 300; seed++) {
      expect(draw(seed, 2).kind).toBeUndefined();
      expect(drawChaosLeaseRaces(createRng(deriveSeed(seed, "chaos-lease-races")), 3000, 3, undefined).kind).toBeUndefined();
      const race = draw(seed);
      if (race.kind !== undefined) kinds.set(race.kind, (kinds.get(race.kind) ?? 0) + 1);
    }
    const drawn = [...kinds.values()].reduce((sum, count) => sum + count, 0);
    expect(drawn).toBeGreaterThan(70);
    expect(drawn).toBeLessThan(130);
    expect(kinds.get("acks-lag-past-election")).toBeGreaterThan(25);
    expect(kinds.get("voter-restarts-as-leader-cut")).toBeGreaterThan(25);
  });

  test("the lag into the leader grows in steps to one to two and a half election timeouts, never jumping a timeout, and ends in the leader's cut", () => {
    let drawn = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const race = draw(seed);
      if (race.kind !== "acks-lag-past-election") continue;
      drawn++;
      const lags = race.faults.filter((fault): fault is Extract<Fault, { type: "link" }> => fault.type === "link");
      const cut = race.faults.at(-1);
      expect(lags).toHaveLength(5);
      expect(cut).toMatchObject({ type: "partition", isolate: ["leader"] });
      if (cut?.type !== "partition") throw new Error("the race ends in a cut");
      let previousMs = 0;
      for (const lag of lags) {
        expect(lag).toMatchObject({ from: "all", to: "leader" });
        const ms = lag.link.latency?.kind === "constant" ? lag.link.latency.ms : Number.NaN;
        expect(ms).toBeGreaterThan(previousMs);
        expect(ms - previousMs).toBeLessThan(timeoutMs);
        // Every step lasts into the cut, so that the one in force at the cut is the highest.
        expect(lag.atMs + lag.durationMs).toBe(cut.atMs + 1);
        previousMs = ms;
      }
      expect(previousMs).toBeGreaterThanOrEqual(timeoutMs);
      expect(previousMs).toBeLessThanOrEqual(2.5 * timeoutMs);
      expect(cut.durationMs).toBeGreaterThan(previousMs + 2 * timeoutMs - 1);
    }
    expect(drawn).toBeGreaterThan(25);
  });

  test("a follower stops hearing the leader, and at its campaign a voter restarts at once and the leader is cut off; the appends stop meanwhile", () => {
    let drawn = 0;
    for (let seed = 1; seed <= 300; seed++) {
      expect(draw(seed).faults.some((fault) => fault.type === "link" && fault.messageTypes !== undefined)).toBe(false);
      const race = drawChaosLeaseRaces(createRng(deriveSeed(seed, "chaos-lease-races")), 3000, 3, timeoutMs, ["appendEntries", "heartbeat"]);
      if (race.kind !== "voter-restarts-as-leader-cut") continue;
      drawn++;
      const [away, crash, cut, appends] = race.faults;
      expect(away).toMatchObject({ type: "link", link: { dropPercent: 100 }, from: "leader", to: "follower" });
      expect(crash).toMatchObject({ type: "crash", target: "follower", timing: "at-once", restartAfterMs: 0, atCampaign: true });
      expect(cut).toMatchObject({ type: "partition", isolate: ["leader"], atCampaign: true });
      expect(appends).toMatchObject({ type: "link", link: { dropPercent: 100 }, messageTypes: ["appendEntries"], from: "leader" });
      if (away?.type !== "link" || crash?.type !== "crash" || cut?.type !== "partition" || appends?.type !== "link") throw new Error("the race is a link, a crash, a cut and a typed link");
      for (const fault of [crash, cut, appends]) expect(fault.atMs).toBe(away.atMs);
      // The deaf follower campaigns one to two timeouts after the link fails: the crash and the cut wait that long.
      expect(crash.windowMs).toBeGreaterThanOrEqual(2 * timeoutMs);
      expect(cut.windowMs).toBe(crash.windowMs);
      // The follower stays deaf, and the appends lost, until the cut can have ended.
      expect(away.durationMs).toBe(crash.windowMs + cut.durationMs);
      expect(appends.durationMs).toBe(away.durationMs);
    }
    expect(drawn).toBeGreaterThan(25);
  });
});
