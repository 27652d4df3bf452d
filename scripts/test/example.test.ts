import { describe, expect, it } from "vitest";
import { runExample } from "../../examples/replicated-counter.ts";

describe("the README's example (examples/replicated-counter.ts)", () => {
  it("replicates three additions through a Raft cluster and returns the running totals", () => {
    const lines: string[] = [];
    expect(runExample((line) => lines.push(line))).toEqual([5, 12, 42]);
    expect(lines[0]).toMatch(/^replica \d leads term \d+$/);
    expect(lines.at(-1)).toMatch(/^records on each disk: \d+, \d+, \d+$/);
  });
});
