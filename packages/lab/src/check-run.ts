import { stepsMaxDefault, wallClockLimitMsDefault, summarizeKvHistory } from "@concord/check";
import type { HistoryChecker } from "./simulate.ts";

/**
 * checkRunStepsMax is the step budget of the linearizability check of one
 * simulated run. The budget is in search steps, not time, so that a run's
 * verdict (and `concord sim --json`) is the same on any machine.
 */
export const checkRunStepsMax = stepsMaxDefault;

/**
 * checkRunWallClockLimitMs is the check's wall-clock safety net: far above what
 * the step budget takes, it fires only on a machine so slow or loaded that the
 * budget would take more than ten minutes, and the verdict then says so.
 */
export const checkRunWallClockLimitMs = wallClockLimitMsDefault;

/**
 * checkRun is the checker every `concord sim` run and benchmark row goes
 * through: @concord/check's summary of the run's KV history (the one the test
 * kit's judgeRun uses too), judged by the model of what the run's algorithm
 * offers its clients (its `kvSemantics`), within a step budget. An `unknown` summary names
 * the limit that stopped the search: `unknown (step budget)` is
 * deterministic, `unknown (wall-clock safety net)` is not.
 */
export const checkRun: HistoryChecker = (result) =>
  summarizeKvHistory(result.history, { stepsMax: checkRunStepsMax, wallClockLimitMs: checkRunWallClockLimitMs }, result.kvSemantics);
