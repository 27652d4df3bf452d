// The one judgement of a simulated run: its broken invariants, the checker's
// verdict on its clients' history, and the operations it left unfinished.
// `concord sim`, `concord swarm` and `pnpm bench` (through @concord/lab's
// brokenGuarantees) and every test (through @concord/testkit's judgeRun) call
// it, so a run passes or fails by the same rule wherever it is judged. It lives
// in check, below both: the test kit cannot import lab (lab imports the
// protocols, whose tests import the kit), and lab may not import the kit.
import type { History, InvariantViolation, KvSemantics } from "@concord/core";
import type { KvCommand, KvResult } from "@concord/kv";
import { checkKvHistory } from "./kv-check.ts";
import type { CheckOptions } from "./verdict.ts";

/**
 * HistorySummary is the checker's verdict on a run's history in the words a
 * report prints: `linearizable` is null when the search could not decide
 * within its budget, and `summary` then names the limit that stopped it.
 */
export interface HistorySummary {
  readonly linearizable: boolean | null;
  readonly summary: string;
}

/**
 * summarizeKvHistory checks a run's KV history against the model of what its
 * algorithm's clients see (`semantics`, the AlgorithmDefinition's
 * `kvSemantics`: the KV store, or a write-once register per key), key by
 * key, and summarizes the verdict in one line: `linearizable`, `not
 * linearizable: <the evidence's first line>`, or `unknown (<limit>): <why>`
 * (`unknown (step budget)` is deterministic, `unknown (wall-clock safety net)`
 * is not).
 */
export function summarizeKvHistory(history: History<KvCommand, KvResult>, options: CheckOptions = {}, semantics: KvSemantics = "kv"): HistorySummary {
  const verdict = checkKvHistory(history, options, semantics);
  switch (verdict.kind) {
    case "linearizable":
      return { linearizable: true, summary: "linearizable" };
    case "not-linearizable":
      return { linearizable: false, summary: `not linearizable: ${verdict.evidence.text.split("\n")[0] ?? ""}` };
    case "unknown":
      return { linearizable: null, summary: `unknown (${verdict.limit}): ${verdict.reason}` };
  }
}

/**
 * Liveness is what a run must have finished:
 * - `none`: nothing (a run that checks safety only; the simulator's own
 *   `liveness` invariant still flags a run that stopped making progress);
 * - `ended`: every operation ended: completed, failed or indeterminate (a
 *   crash-fault run with lossy faults may leave a client unsure);
 * - `none-failed`: every operation completed or is indeterminate, none failed;
 * - `completed`: every operation completed, except those a client restart
 *   abandoned (the run healed and nothing may fail: PBFT's bar).
 */
export type Liveness = "none" | "ended" | "none-failed" | "completed";

/** RunOperationCounts counts a run's workload operations by how they ended. */
export interface RunOperationCounts {
  readonly invoked: number;
  readonly completed: number;
  readonly failed: number;
  readonly indeterminate: number;
}

/**
 * JudgedRun is what the judgement reads of a run. A simulator result with the
 * summary of its history has every field, and so does lab's SimulationReport.
 */
export interface JudgedRun {
  readonly invariantViolations: readonly InvariantViolation[];
  /** linearizable is the checker's verdict on the history, null when it could not decide. */
  readonly linearizable: boolean | null;
  /** linearizability is the checker's summary line (`summary` of {@link HistorySummary}). */
  readonly linearizability: string;
  readonly ops: RunOperationCounts;
  /** abandonedOperations counts operations a client restart left indeterminate by design. */
  readonly abandonedOperations: number;
  /** promisesLinearizability is false for an algorithm that does not promise linearizable histories (true when absent). */
  readonly promisesLinearizability?: boolean;
  /**
   * withoutStaleReads is the checker's verdict on the history with its stale reads left out, for a run of an
   * algorithm that promises linearizability whose reads were served stale (absent otherwise): the writes and the
   * linearizable reads must still be linearizable.
   */
  readonly withoutStaleReads?: { readonly linearizable: boolean | null; readonly linearizability: string };
}

/** RunJudgementOptions say how strict the judgement of a run is. */
export interface RunJudgementOptions {
  /** liveness is the bar for unfinished operations (default `none`). */
  readonly liveness?: Liveness;
  /**
   * undecidedIsBroken counts a history the checker could not decide within
   * its budget as broken (default false): a swarm or a test must not call a
   * history it could not check a pass, while one `concord sim` run reports
   * the verdict and lets it be.
   */
  readonly undecidedIsBroken?: boolean;
}

/**
 * runProblems lists what a run broke, one line each: every invariant
 * violation as `[invariant] message`, then the checker's summary of a history
 * that is not linearizable (or, when asked, undecided) when the algorithm promises linearizability, then the operations
 * left unfinished below the liveness bar. Empty when the run kept every
 * guarantee asked for.
 */
export function runProblems(run: JudgedRun, options: RunJudgementOptions = {}): string[] {
  const problems = run.invariantViolations.map((violation) => `[${violation.invariant}] ${violation.message}`);
  // An eventually consistent store's stale reads are its verdict, reported as such, not a broken promise.
  const promised = run.promisesLinearizability !== false;
  const historyBroken = promised && (run.linearizable === false || (run.linearizable === null && options.undecidedIsBroken === true));
  if (historyBroken) problems.push(run.linearizability);
  const rest = run.withoutStaleReads;
  if (rest !== undefined && (rest.linearizable === false || (rest.linearizable === null && options.undecidedIsBroken === true))) {
    problems.push(`stale reads left out: ${rest.linearizability}`);
  }
  const unfinished = unfinishedOperations(run, options.liveness ?? "none");
  if (unfinished !== undefined) problems.push(unfinished);
  return problems;
}

/**
 * runThrew is the problem of a run that threw (a replica's assertion): a
 * failure of that run, to be listed as one, not a crash of the whole swarm or
 * test that ran it.
 */
export function runThrew(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return `the run threw ${text}`;
}

function unfinishedOperations(run: JudgedRun, liveness: Liveness): string | undefined {
  const { invoked, completed, failed, indeterminate } = run.ops;
  switch (liveness) {
    case "none":
      return undefined;
    case "ended": {
      const ended = completed + failed + indeterminate;
      return ended === invoked ? undefined : `liveness: ${invoked - ended} of ${invoked} operations never ended`;
    }
    case "none-failed": {
      const open = invoked - completed - failed - indeterminate;
      return open === 0 && failed === 0 ? undefined : `liveness: of ${invoked} operations ${failed} failed and ${open} never ended`;
    }
    case "completed": {
      // An operation a client restart abandoned is indeterminate by design (the simulator's restart-client operation).
      const abandoned = run.abandonedOperations;
      const live = completed + abandoned === invoked && failed === 0 && indeterminate <= abandoned;
      return live ? undefined : `liveness: ${JSON.stringify(run.ops)} (${abandoned} abandoned by client restarts)`;
    }
  }
}
