// Chaos's held races (issue 21): the draw's shape. Raft's runs of them are in packages/raft/test/held-races.test.ts.
import { describe, expect, it } from "vitest";
import { createRng, deriveSeed } from "@concord/core";
import { type Fault, drawChaosHeldRaces } from "@concord/sim";

const timeoutMs = 200;
const phaseMs = 3000;
const raftTypes = ["appendEntries", "appendResponse", "heartbeat", "heartbeatResponse", "requestVote", "voteResponse"];

function draw(seed: number, nodes: number, electionTimeoutMs = timeoutMs, types: readonly string[] = raftTypes): ReturnType<typeof drawChaosHeldRaces> {
  return drawChaosHeldRaces(createRng(deriveSeed(seed, "chaos-held-races")), phaseMs, nodes, electionTimeoutMs, types);
}

describe("chaos's held races", () => {
  it("are drawn in about one run of two of three replicas or more, only for an algorithm that gives its election timeout, both kinds alike", () => {
    const kinds = new Map<string, number>();
    for (let seed = 1; seed <= 400; seed++) {
      expect(draw(seed, 2).kind).toBeUndefined();
      expect(drawChaosHeldRaces(createRng(deriveSeed(seed, "chaos-held-races")), phaseMs, 3, undefined, raftTypes).kind).toBeUndefined();
      const race = draw(seed, 3);
      if (race.kind !== undefined) kinds.set(race.kind, (kinds.get(race.kind) ?? 0) + 1);
      else expect(race.faults).toEqual([]);
    }
    const drawn = [...kinds.values()].reduce((a, b) => a + b, 0);
    expect(drawn).toBeGreaterThan(160);
    expect(drawn).toBeLessThan(240);
    expect(kinds.get("former-leader-returns")).toBeGreaterThan(60);
    expect(kinds.get("former-leader-restarts-between-candidates")).toBeGreaterThan(60);
  });

  it("size every wait by the election timeout, and part as many replicas as leave a majority on the other side", () => {
    let split = 0;
    let races = 0;
    for (let seed = 1; seed <= 400; seed++) {
      for (const [nodes, outsiders] of [
        [3, 1],
        [5, 2],
        [7, 3],
      ] as const) {
        const race = draw(seed, nodes);
        if (race.kind === undefined) continue;
        races++;
        expect(race.faults).toHaveLength(1);
        const fault = race.faults[0] as Extract<Fault, { type: "held-race" }>;
        expect(fault.type).toBe("held-race");
        expect(fault.kind).toBe(race.kind);
        expect(fault.atMs).toBeLessThan(phaseMs * 0.4);
        expect(fault.windowMs).toBe(timeoutMs * 5);
        expect(fault.settleMs).toBeGreaterThanOrEqual(3);
        expect(fault.settleMs).toBeLessThanOrEqual(10);
        expect(fault.delayMs).toBeGreaterThanOrEqual(3);
        expect(fault.delayMs).toBeLessThanOrEqual(10);
        expect(fault.cutMs).toBeGreaterThanOrEqual(2 * timeoutMs);
        expect(fault.cutMs).toBeLessThanOrEqual(4 * timeoutMs);
        expect(fault.outsiders).toBe(outsiders);
        expect(["split", "both"]).toContain(fault.clients);
        if (fault.clients === "split") split++;
        // The codec's own names: the appends it loses, the vote requests it holds.
        expect(fault.messageTypes).toEqual(["appendEntries"]);
        expect(fault.campaignTypes).toEqual(["requestVote"]);
      }
    }
    expect(split / races).toBeGreaterThan(0.6);
    expect(split / races).toBeLessThan(0.9);
  });

  it("name no message type an algorithm's codec lacks, and keep short timeouts' cuts at least 300 ms", () => {
    for (let seed = 1; seed <= 200; seed++) {
      const race = draw(seed, 3, 10, ["ping", "pong"]);
      if (race.kind === undefined) continue;
      const fault = race.faults[0] as Extract<Fault, { type: "held-race" }>;
      expect(fault.messageTypes).toBeUndefined();
      expect(fault.campaignTypes).toBeUndefined();
      expect(fault.cutMs).toBe(300);
      expect(fault.windowMs).toBe(100);
    }
  });
});
