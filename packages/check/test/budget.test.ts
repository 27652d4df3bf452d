// Issue 21: "a verdict that does not depend on the machine". The search is budgeted in
// steps, so the same history gets the same verdict on any machine; the wall-clock limit is a
// separate safety net, and a verdict it cuts short says so.
import { describe, expect, it } from "vitest";
import { checkKvHistory, generateKvHistory, type Verdict } from "@concord/check";

// About 80,000 search steps: ambiguous values (3 of them) and 40% indeterminate operations.
const history = generateKvHistory({ clients: 12, operations: 400, keys: 1, seed: 7, valueCount: 3, indeterminatePercent: 40 });

function unknown(verdict: Verdict): Extract<Verdict, { kind: "unknown" }> {
  if (verdict.kind !== "unknown") throw new Error(`expected an unknown verdict, got ${verdict.kind}`);
  return verdict;
}

describe("the step budget", () => {
  it("decides the history within its steps and counts them", () => {
    const verdict = checkKvHistory(history);
    expect(verdict.kind).toBe("linearizable");
    expect(verdict.steps).toBeGreaterThan(10_000);
  });

  it("stops at exactly stepsMax: the steps the search needs suffice, one fewer gives 'unknown (step budget)'", () => {
    const needed = checkKvHistory(history).steps;
    expect(checkKvHistory(history, { stepsMax: needed }).kind).toBe("linearizable");
    const short = unknown(checkKvHistory(history, { stepsMax: needed - 1 }));
    expect(short.limit).toBe("step budget");
    expect(short.steps).toBe(needed - 1);
    expect(short.reason).toContain(`the step budget of ${needed - 1} steps ran out`);
  });

  it("gives the same verdict, word for word, however slow the machine (a wall-clock net far away never fires)", () => {
    const first = checkKvHistory(history, { stepsMax: 5_000 });
    // A busy loop between the runs stands in for a slower machine: the verdict must not move.
    let spin = 0;
    for (let i = 0; i < 5_000_000; i++) spin = (spin + i) % 7;
    expect(spin).toBeGreaterThanOrEqual(0);
    const second = checkKvHistory(history, { stepsMax: 5_000, wallClockLimitMs: 600_000 });
    expect(second).toEqual(first);
    expect(unknown(first).limit).toBe("step budget");
  });

  it("refuses a budget that is not a non-negative integer, naming it", () => {
    expect(() => checkKvHistory(history, { stepsMax: 1.5 })).toThrow(/stepsMax/);
    expect(() => checkKvHistory(history, { stepsMax: -1 })).toThrow(/stepsMax/);
  });
});

describe("the wall-clock safety net", () => {
  it("is reported as such, apart from the step budget, and says the verdict depends on the machine", () => {
    const verdict = unknown(checkKvHistory(history, { wallClockLimitMs: 0 }));
    expect(verdict.limit).toBe("wall-clock safety net");
    expect(verdict.reason).toContain("wall-clock safety net");
    expect(verdict.reason).toContain("depends on the machine");
  });

  it("keeps the old budgetMs as its name", () => {
    expect(unknown(checkKvHistory(history, { budgetMs: 0 })).limit).toBe("wall-clock safety net");
  });

  it("gives way to the step budget when that runs out first", () => {
    expect(unknown(checkKvHistory(history, { stepsMax: 100, wallClockLimitMs: 0 })).limit).toBe("step budget");
  });
});
