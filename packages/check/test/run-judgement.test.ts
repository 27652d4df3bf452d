// runProblems: the one judgement of a run, which lab's brokenGuarantees and the test kit's judgeRun both apply.
import { describe, expect, it } from "vitest";
import { type JudgedRun, runProblems, runThrew } from "@concord/check";

const kept: JudgedRun = {
  invariantViolations: [],
  linearizable: true,
  linearizability: "linearizable",
  ops: { invoked: 10, completed: 10, failed: 0, indeterminate: 0 },
  abandonedOperations: 0,
};

describe("runProblems", () => {
  it("finds nothing in a run that kept every guarantee, whatever the bar", () => {
    for (const liveness of ["none", "ended", "none-failed", "completed"] as const) expect(runProblems(kept, { liveness, undecidedIsBroken: true })).toEqual([]);
  });

  it("lists the broken invariants, then the history's summary, then the unfinished operations", () => {
    const broken: JudgedRun = {
      ...kept,
      invariantViolations: [{ invariant: "one-leader", timeUs: 5, message: "two leaders in term 3" }],
      linearizable: false,
      linearizability: "not linearizable: get x",
      ops: { invoked: 10, completed: 8, failed: 0, indeterminate: 0 },
    };
    expect(runProblems(broken, { liveness: "ended" })).toEqual(["[one-leader] two leaders in term 3", "not linearizable: get x", "liveness: 2 of 10 operations never ended"]);
    expect(runProblems(broken)).toHaveLength(2); // no liveness bar unless asked
  });

  it("does not call a stale history broken for an algorithm that does not promise linearizability, but still its broken invariants", () => {
    const stale: JudgedRun = { ...kept, linearizable: false, linearizability: "not linearizable: get x read a stale value" };
    expect(runProblems({ ...stale, promisesLinearizability: false })).toEqual([]);
    expect(runProblems({ ...stale, promisesLinearizability: true })).toEqual(["not linearizable: get x read a stale value"]);
    expect(runProblems(stale)).toEqual(["not linearizable: get x read a stale value"]); // a promise is the default
    const diverged = { ...stale, promisesLinearizability: false, invariantViolations: [{ invariant: "eventual-convergence", timeUs: 9, message: "the replicas still disagree" }] };
    expect(runProblems(diverged)).toEqual(["[eventual-convergence] the replicas still disagree"]);
  });

  it("counts an undecided history only when asked", () => {
    const undecided = { ...kept, linearizable: null, linearizability: "unknown (step budget): the step budget ran out" };
    expect(runProblems(undecided)).toEqual([]);
    expect(runProblems(undecided, { undecidedIsBroken: true })).toEqual(["unknown (step budget): the step budget ran out"]);
  });

  it("holds each liveness bar to what it names", () => {
    const failedOne = { ...kept, ops: { invoked: 10, completed: 9, failed: 1, indeterminate: 0 } };
    const unsure = { ...kept, ops: { invoked: 10, completed: 9, failed: 0, indeterminate: 1 } };
    expect(runProblems(failedOne, { liveness: "ended" })).toEqual([]);
    expect(runProblems(failedOne, { liveness: "none-failed" })).toEqual(["liveness: of 10 operations 1 failed and 0 never ended"]);
    expect(runProblems(unsure, { liveness: "none-failed" })).toEqual([]);
    expect(runProblems(unsure, { liveness: "completed" })).toHaveLength(1);
    expect(runProblems({ ...unsure, abandonedOperations: 1 }, { liveness: "completed" })).toEqual([]);
  });

  it("names the error a run threw", () => {
    expect(runThrew(new RangeError("replica 2 in an impossible state"))).toBe("the run threw RangeError: replica 2 in an impossible state");
    expect(runThrew("a string")).toBe("the run threw a string");
  });
});
