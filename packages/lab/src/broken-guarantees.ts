import type { SimulationReport } from "./simulate.ts";

/** JudgeReportOptions say how strict the judgement of a report is. */
export interface JudgeReportOptions {
  /**
   * undecidedIsBroken counts a history the checker could not decide within
   * its budget as broken: a swarm must not call a history it could not check
   * a pass, while one `concord sim` run reports the verdict and lets it be.
   */
  readonly undecidedIsBroken?: boolean;
}

/**
 * brokenGuarantees lists what a run broke, one line each: every invariant
 * violation as `[invariant] message`, then the checker's summary of a history
 * that is not linearizable (or, when asked, undecided). Empty when the run
 * kept every guarantee. It is the one judgement of a report that `concord sim`,
 * `concord swarm` and `pnpm bench` all use.
 */
export function brokenGuarantees(report: SimulationReport, options: JudgeReportOptions = {}): string[] {
  const broken = report.invariantViolations.map((violation) => `[${violation.invariant}] ${violation.message}`);
  const historyBroken = report.linearizable === false || (report.linearizable === null && options.undecidedIsBroken === true);
  if (historyBroken) broken.push(report.linearizability);
  return broken;
}
