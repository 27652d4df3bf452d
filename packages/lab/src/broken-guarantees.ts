import { type RunJudgementOptions, runProblems } from "@concord/check";
import type { SimulationReport } from "./simulate.ts";

/** JudgeReportOptions say how strict the judgement of a report is: @concord/check's options of the one run judgement. */
export type JudgeReportOptions = RunJudgementOptions;

/**
 * brokenGuarantees lists what a run broke, one line each: every invariant
 * violation as `[invariant] message`, then the checker's summary of a history
 * that is not linearizable (or, when asked, undecided), then, when a liveness
 * bar is asked for, the operations left unfinished. Empty when the run kept
 * every guarantee. It is @concord/check's runProblems read from a report: the
 * judgement `concord sim`, `concord swarm` and `pnpm bench` use, and the one
 * the test kit's judgeRun applies to a test's runs.
 */
export function brokenGuarantees(report: SimulationReport, options: JudgeReportOptions = {}): string[] {
  return runProblems(report, options);
}
