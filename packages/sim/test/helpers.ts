import { replayCommand, replayRunOf } from "@concord/lab";
import type { SimulationOptions, SimulationResult } from "@concord/sim";
import { type JudgeOptions, judgeRun } from "@concord/testkit";
import { expect } from "vitest";

/** replayOf is the message a simulated test prints on failure: the seed and lab's command that replays the run. */
export function replayOf(options: SimulationOptions): string {
  return `seed ${options.seed}: ${replayCommand(replayRunOf(options))}`;
}

/**
 * expectGuaranteesKept fails the test unless the run kept every guarantee by
 * the test kit's judgeRun (the one run judgement): no broken invariant, a
 * linearizable history, and every operation finished as `liveness` asks
 * (default `ended`). The failure names the problems and the replay command.
 */
export function expectGuaranteesKept(result: SimulationResult, options: SimulationOptions, liveness: JudgeOptions["liveness"] = "ended"): void {
  const verdict = judgeRun(result, { liveness, undecidedIsBroken: true, replay: () => replayOf(options) });
  expect(verdict.problems, verdict.report).toEqual([]);
}

/** okLatenciesUs lists the latency of every operation that completed ok, in microseconds. */
export function okLatenciesUs(result: SimulationResult): number[] {
  return result.history.filter((op) => op.status === "ok" && op.completeUs !== undefined).map((op) => (op.completeUs as number) - op.invokeUs);
}

/** mean is the arithmetic mean of a non-empty list. */
export function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}
