// One judge for simulated runs: the broken invariants, the linearizability of
// the clients' history, and the operations that never ended, in one verdict
// that carries the command replaying the run (TigerBeetle's VOPR and yjs's
// testHelper print the seed's replay on failure; so does every test here).
import { checkKvHistory, type CheckOptions } from "@concord/check";
import type { SimulationResult } from "@concord/sim";

/**
 * Liveness is what a run must have finished:
 * - `ended`: every operation invoked ended, completed, failed or indeterminate
 *   (a crash-fault run with lossy faults may leave a client unsure);
 * - `completed`: every operation completed, except those a client restart
 *   abandoned (the run healed and nothing may fail: PBFT's bar);
 * - `none`: no liveness bar (a run that checks safety only).
 */
export type Liveness = "ended" | "completed" | "none";

/** JudgeOptions tune the verdict, and name the run for its replay. */
export interface JudgeOptions {
  /**
   * replay is the command (or a function that writes it, called only on
   * failure) that replays the run; the caller composes it, since the CLI's
   * flag syntax is not the kit's to know. Without it the verdict describes
   * the run from the result: algorithm, nodes, scenario, seed and options.
   */
  readonly replay?: string | (() => string);
  /** liveness is the bar for unfinished operations (default `ended`). */
  readonly liveness?: Liveness;
  /** unknownIsProblem counts a history the checker could not decide in its budget as a problem (default false). */
  readonly unknownIsProblem?: boolean;
  /** check tunes the linearizability checker (its time budget). */
  readonly check?: CheckOptions;
}

/** RunVerdict is what `judgeRun` found about one run. */
export interface RunVerdict {
  /** ok holds when nothing is wrong. */
  readonly ok: boolean;
  /** problems lists what is wrong, one line each (empty when ok). */
  readonly problems: readonly string[];
  /** replay is the command that replays the run. */
  readonly replay: string;
  /** result is the run's result, undefined when the run threw. */
  readonly result: SimulationResult | undefined;
  /** report is empty when ok, else the first problems and the replay command, for a test's failure list. */
  readonly report: string;
}

/** reportedProblemsMax bounds the problems a report lists, so that one broken run does not flood the output. */
export const reportedProblemsMax = 3;

/**
 * judgeRun judges one simulated run. Given a function that runs it, an
 * exception thrown inside (a replica's assertion) is a problem of this run,
 * not a crash of the whole test.
 */
export function judgeRun(run: SimulationResult | (() => SimulationResult), options: JudgeOptions = {}): RunVerdict {
  let result: SimulationResult | undefined;
  const problems: string[] = [];
  try {
    result = typeof run === "function" ? run() : run;
  } catch (error) {
    const { name, message } = error instanceof Error ? error : { name: "Error", message: String(error) };
    problems.push(`threw ${name}: ${message}`);
  }
  if (result !== undefined) problems.push(...problemsOf(result, options));
  const replay = problems.length === 0 ? "" : replayOf(result, options);
  const report = problems.length === 0 ? "" : `${problems.slice(0, reportedProblemsMax).join("; ")}\n  replay: ${replay}`;
  return { ok: problems.length === 0, problems, replay, result, report };
}

/** failuresOf lists the reports of the verdicts that are not ok: what a test expects to be empty. */
export function failuresOf(verdicts: Iterable<RunVerdict>): string[] {
  const failures: string[] = [];
  for (const verdict of verdicts) if (!verdict.ok) failures.push(verdict.report);
  return failures;
}

function problemsOf(result: SimulationResult, options: JudgeOptions): string[] {
  const problems = result.invariantViolations.map((violation) => `${violation.invariant}: ${violation.message}`);
  const verdict = checkKvHistory(result.history, options.check ?? {});
  if (verdict.kind === "not-linearizable" || (verdict.kind === "unknown" && options.unknownIsProblem === true)) problems.push(`history is ${verdict.kind}`);
  const unfinished = unfinishedOf(result, options.liveness ?? "ended");
  if (unfinished !== undefined) problems.push(unfinished);
  return problems;
}

function unfinishedOf(result: SimulationResult, liveness: Liveness): string | undefined {
  const { invoked, completed, failed, indeterminate } = result.ops;
  switch (liveness) {
    case "none":
      return undefined;
    case "ended": {
      const ended = completed + failed + indeterminate;
      return ended === invoked ? undefined : `liveness: ${invoked - ended} of ${invoked} operations never ended`;
    }
    case "completed": {
      // An operation a client restart abandoned is indeterminate by design (the simulator's restart-client operation).
      const abandoned = result.abandonedOperations;
      const live = completed + abandoned === invoked && failed === 0 && indeterminate <= abandoned;
      return live ? undefined : `liveness: ${JSON.stringify(result.ops)} (${abandoned} abandoned by client restarts)`;
    }
  }
}

function replayOf(result: SimulationResult | undefined, options: JudgeOptions): string {
  if (options.replay !== undefined) return typeof options.replay === "string" ? options.replay : options.replay();
  if (result === undefined) return "(the run threw before it could describe itself: pass `replay`)";
  const { algo, nodes, scenario, seed, protocolOptions } = result;
  return `run ${JSON.stringify({ algo, nodes, scenario, seed, protocolOptions })}`;
}
