import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { majoritySize, quorumReached, quorumValue } from "../src/quorum.ts";

describe("quorum arithmetic (PMS §2.1: any two majorities intersect)", () => {
  test("a majority of n acceptors is floor(n/2) + 1, so two majorities always share an acceptor", () => {
    for (let n = 1; n <= 9; n++) {
      expect(2 * majoritySize(n)).toBeGreaterThan(n);
      expect(2 * (majoritySize(n) - 1)).toBeLessThanOrEqual(n);
    }
    expect([1, 2, 3, 4, 5].map(majoritySize)).toEqual([1, 2, 2, 3, 3]);
  });

  test("a quorum counts only members of the configuration, however many others voted", () => {
    const members = [1, 2, 3];
    expect(quorumReached(members, 2, new Set([1, 2]))).toBe(true);
    expect(quorumReached(members, 2, new Set([1, 4, 5]))).toBe(false);
    expect(quorumReached(members, 2, new Set([3]))).toBe(false);
  });

  test("the value a quorum reached is the quorum-th highest, or the absent value when too few members are given", () => {
    const ticks = new Map([
      [1, 10],
      [2, 4],
      [3, 7],
    ]);
    expect(quorumValue([1, 2, 3], 2, (member) => ticks.get(member) ?? -1, -1)).toBe(7);
    expect(quorumValue([1], 2, (member) => ticks.get(member) ?? -1, -1)).toBe(-1);
  });

  test("the quorum module imports nothing else of the package, so it can be checked on its own", () => {
    const source = readFileSync(join(import.meta.dirname, "..", "src", "quorum.ts"), "utf8");
    expect(source).not.toMatch(/^\s*import\b/m);
  });
});
