// The test kit's judge of simulated runs: @concord/check's one run judgement
// (broken invariants, a history that is not linearizable, unfinished
// operations), with what a test needs around it: an exception a run throws
// becomes a problem of that run, and a failing verdict carries the command that
// replays the run (TigerBeetle's VOPR and yjs's testHelper print the seed's
// replay on failure; so does every test here).
import { type CheckOptions, type Liveness, runProblems, runThrew, summarizeKvHistory } from "@concord/check";
import type { SimulationResult } from "@concord/sim";

/** JudgeOptions tune the verdict, and name the run for its replay. */
export interface JudgeOptions {
  /**
   * replay is the command (or a function that writes it, called only on
   * failure) that replays the run: @concord/lab's replayCommand, which the
   * caller calls, since the kit may not write the CLI's flags (nor import lab,
   * which imports the protocols whose tests import the kit). Without it the
   * verdict describes the run from the result: algorithm, nodes, scenario,
   * seed and options.
   */
  readonly replay?: string | (() => string);
  /** liveness is the bar for unfinished operations (default `ended`). */
  readonly liveness?: Liveness;
  /** undecidedIsBroken counts a history the checker could not decide in its budget as a problem (default false). */
  readonly undecidedIsBroken?: boolean;
  /** check tunes the linearizability checker (its budget); by default it is the budget `concord sim` uses. */
  readonly check?: CheckOptions;
}

/** RunVerdict is what `judgeRun` found about one run. */
export interface RunVerdict {
  /** ok holds when nothing is wrong. */
  readonly ok: boolean;
  /** problems lists what is wrong, one line each (empty when ok). */
  readonly problems: readonly string[];
  /** replay is the command that replays the run (empty when ok). */
  readonly replay: string;
  /** result is the run's result, undefined when the run threw. */
  readonly result: SimulationResult | undefined;
  /** report is empty when ok, else the first problems and the replay command, for a test's failure list. */
  readonly report: string;
}

/** reportedProblemsMax bounds the problems a report lists, so that one broken run does not flood the output. */
export const reportedProblemsMax = 3;

/**
 * judgeRun judges one simulated run by @concord/check's runProblems. Given a
 * function that runs it, an exception thrown inside (a replica's assertion)
 * is a problem of this run, not a crash of the whole test.
 */
export function judgeRun(run: SimulationResult | (() => SimulationResult), options: JudgeOptions = {}): RunVerdict {
  let result: SimulationResult | undefined;
  const problems: string[] = [];
  try {
    result = typeof run === "function" ? run() : run;
  } catch (error) {
    problems.push(runThrew(error));
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
  const { linearizable, summary } = summarizeKvHistory(result.history, options.check ?? {}, result.kvSemantics);
  const judged = { ...result, linearizable, linearizability: summary };
  return runProblems(judged, { liveness: options.liveness ?? "ended", undecidedIsBroken: options.undecidedIsBroken ?? false });
}

/**
 * replayOf is the caller's replay command. The kit composes none itself: the
 * one composer is @concord/lab's replayCommand. Without one, the run is
 * described by the choices that repeat it.
 */
function replayOf(result: SimulationResult | undefined, options: JudgeOptions): string {
  if (options.replay !== undefined) return typeof options.replay === "string" ? options.replay : options.replay();
  if (result === undefined) return "(the run threw before it could describe itself: pass `replay`)";
  const { algo, nodes, scenario, seed, protocolOptions } = result;
  return `run ${JSON.stringify({ algo, nodes, scenario, seed, protocolOptions })}`;
}
