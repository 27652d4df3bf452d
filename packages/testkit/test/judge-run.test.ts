// judgeRun: one verdict for a simulated run, with the replay command, that fails for each thing it checks.
import { solo } from "@concord/core";
import type { KvCommand, KvResult } from "@concord/kv";
import { runSimulation, type SimulationResult } from "@concord/sim";
import { failuresOf, judgeRun } from "@concord/testkit";
import { describe, expect, it } from "vitest";

const clean = runSimulation({ algorithm: solo, nodes: 1, scenario: "steady", seed: 3, ops: 40 });
const bytes = (text: string) => new TextEncoder().encode(text);

/** staleRead is a history in which a get, invoked after a put completed, returns the value before it. */
const staleRead: SimulationResult["history"] = [
  { id: 0, clientId: 1, input: { type: "put", key: "k", value: bytes("new") } as KvCommand, invokeUs: 0, completeUs: 10, status: "ok", output: { type: "put" } as KvResult },
  { id: 1, clientId: 2, input: { type: "get", key: "k" } as KvCommand, invokeUs: 20, completeUs: 30, status: "ok", output: { type: "get", value: bytes("old") } as KvResult },
];

describe("judgeRun", () => {
  it("passes a clean run", () => {
    const verdict = judgeRun(clean, { replay: "never shown" });
    expect(verdict.problems).toEqual([]);
    expect(verdict.ok).toBe(true);
    expect(verdict.report).toBe("");
    expect(failuresOf([verdict])).toEqual([]);
  });

  it("reports a broken invariant with the caller's replay command", () => {
    const broken = { ...clean, invariantViolations: [{ invariant: "one-leader", timeUs: 5, message: "two leaders in term 3" }] };
    const verdict = judgeRun(broken, { replay: () => "pnpm concord sim --seed 3" });
    expect(verdict.ok).toBe(false);
    expect(verdict.report).toBe("[one-leader] two leaders in term 3\n  replay: pnpm concord sim --seed 3");
  });

  it("reports a history that is not linearizable, in the words of concord sim's report", () => {
    const problems = judgeRun({ ...clean, history: staleRead }).problems;
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^not linearizable: /);
  });

  it("counts a history the checker could not decide only when asked", () => {
    const undecided = judgeRun({ ...clean, history: staleRead }, { check: { stepsMax: 0 } });
    expect(undecided.ok).toBe(true);
    const strict = judgeRun({ ...clean, history: staleRead }, { check: { stepsMax: 0 }, undecidedIsBroken: true });
    expect(strict.problems).toEqual([expect.stringMatching(/^unknown \(step budget\)/)]);
  });

  it("reports unfinished operations by the liveness bar asked for", () => {
    const unfinished = { ...clean, ops: { invoked: 10, completed: 7, failed: 1, indeterminate: 1 } };
    expect(judgeRun(unfinished).problems).toEqual(["liveness: 1 of 10 operations never ended"]);
    expect(judgeRun(unfinished, { liveness: "none" }).ok).toBe(true);
    const failedOne = { ...clean, ops: { invoked: 10, completed: 9, failed: 1, indeterminate: 0 } };
    expect(judgeRun(failedOne).ok).toBe(true);
    expect(judgeRun(failedOne, { liveness: "completed" }).problems[0]).toMatch(/^liveness: /);
    expect(judgeRun(failedOne, { liveness: "none-failed" }).problems).toEqual(["liveness: of 10 operations 1 failed and 0 never ended"]);
    const unsure = { ...clean, ops: { invoked: 10, completed: 9, failed: 0, indeterminate: 1 } };
    expect(judgeRun(unsure, { liveness: "none-failed" }).ok).toBe(true);
    expect(judgeRun(unsure, { liveness: "completed" }).ok).toBe(false);
    const abandoned = { ...unsure, abandonedOperations: 1 };
    expect(judgeRun(abandoned, { liveness: "completed" }).ok).toBe(true);
  });

  it("turns a run that throws into a problem of that run, and describes the run from its result when no replay is given", () => {
    const verdict = judgeRun(() => {
      throw new RangeError("replica 2 in an impossible state");
    }, { replay: "the replay" });
    expect(verdict.report).toBe("the run threw RangeError: replica 2 in an impossible state\n  replay: the replay");
    const described = judgeRun({ ...clean, history: staleRead });
    expect(described.replay).toBe(`run {"algo":"solo","nodes":1,"scenario":"steady","seed":3,"protocolOptions":${JSON.stringify(clean.protocolOptions)}}`);
  });
});
