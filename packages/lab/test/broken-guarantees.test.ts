import { describe, expect, it } from "vitest";
import { solo } from "@concord/core";
import { brokenGuarantees, checkRun, simulate } from "@concord/lab";

describe("brokenGuarantees", () => {
  const { report } = simulate({ algorithm: solo, nodes: 1, scenario: "steady", seed: 1, ops: 5 }, checkRun);

  it("finds nothing in a run that kept every guarantee", () => {
    expect(brokenGuarantees(report)).toEqual([]);
    expect(brokenGuarantees(report, { undecidedIsBroken: true })).toEqual([]);
  });

  it("lists each broken invariant, then a history that is not linearizable", () => {
    const violation = { invariant: "liveness", message: "no operation completed", timeUs: 5 };
    const broken = { ...report, invariantViolations: [violation], linearizable: false, linearizability: "not linearizable: get x" };
    expect(brokenGuarantees(broken)).toEqual(["[liveness] no operation completed", "not linearizable: get x"]);
  });

  it("counts an undecided history only when asked (a swarm must not pass what it could not check)", () => {
    const undecided = { ...report, linearizable: null, linearizability: "unknown (step budget): too many operations" };
    expect(brokenGuarantees(undecided)).toEqual([]);
    expect(brokenGuarantees(undecided, { undecidedIsBroken: true })).toEqual(["unknown (step budget): too many operations"]);
  });
});
