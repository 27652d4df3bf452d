import { ConfigError, unreachable, type History, type HistoryOperation } from "@concord/core";
import { buildEvidence } from "./evidence.ts";
import type { Model, Partition } from "./model.ts";
import { searchLinearization } from "./search.ts";
import { stepsMaxDefault, wallClockLimitMsDefault, type CheckOptions, type UnknownLimit, type Verdict } from "./verdict.ts";

/**
 * checkHistory decides whether `history` is linearizable with respect to
 * `model` (Herlihy and Wing 1990): whether every operation that took effect
 * can be given a point between its invocation and its completion such that the
 * operations, in the order of those points, are a legal sequential run of the
 * model with the outputs the history shows.
 *
 * "fail" operations did not happen and are left out; "info" operations (and
 * operations that never completed) may have happened at any time after their
 * invocation, with any output. The history is split by `model.partition` and
 * each part is searched apart, smallest first, within one step budget
 * (`stepsMax`, summed over the parts), so that the verdict depends on the
 * history alone; when the budget runs out before a violation is found the
 * verdict is "unknown" with limit "step budget". A wall-clock limit
 * (`wallClockLimitMs`) is kept as a safety net and reported apart.
 *
 * Throws a ConfigError for an operation without a finite invocation time or
 * that completes before it is invoked.
 */
export function checkHistory<S, I, O>(model: Model<S, I, O>, history: History<I, O>, options: CheckOptions = {}): Verdict {
  const now = (): number => performance.now();
  const stepsMax = options.stepsMax ?? stepsMaxDefault;
  if (!Number.isSafeInteger(stepsMax) || stepsMax < 0) throw new ConfigError("stepsMax", `must be a non-negative integer (got ${stepsMax})`);
  const wallClockLimitMs = options.wallClockLimitMs ?? options.budgetMs ?? wallClockLimitMsDefault;
  const deadlineMs = now() + wallClockLimitMs;
  const parts = preparePartitions(model, history);
  let steps = 0;
  for (const part of parts) {
    const outcome = searchLinearization(model, part.history, stepsMax - steps, deadlineMs, now);
    steps += outcome.steps;
    switch (outcome.kind) {
      case "linearizable":
        break;
      case "illegal":
        return { kind: "not-linearizable", evidence: buildEvidence(model, part.label, part.history, outcome.deepest), steps };
      case "gave-up": {
        const limit = unknownLimits[outcome.why];
        const what =
          outcome.why === "steps"
            ? `the step budget of ${stepsMax} steps ran out`
            : outcome.why === "time"
              ? `the wall-clock safety net of ${wallClockLimitMs / 1000} s ran out (this verdict depends on the machine)`
              : "the search's memory limit was reached";
        return { kind: "unknown", limit, reason: `${what} on ${part.label} (${part.history.length} operations, ${outcome.steps} search steps)`, steps };
      }
      default:
        unreachable(outcome);
    }
  }
  return { kind: "linearizable", steps };
}

const unknownLimits: Readonly<Record<"steps" | "time" | "memory", UnknownLimit>> = {
  steps: "step budget",
  time: "wall-clock safety net",
  memory: "memory limit",
};

/**
 * preparePartitions leaves out the operations that cannot matter (failed
 * ones, and indeterminate read-only ones), splits the rest with the model's
 * partition, and sorts each part by invocation time and the parts by size.
 */
function preparePartitions<S, I, O>(model: Model<S, I, O>, history: History<I, O>): Partition<I, O>[] {
  const kept: HistoryOperation<I, O>[] = [];
  for (const operation of history) {
    if (!Number.isFinite(operation.invokeUs)) {
      throw new ConfigError(`history[${operation.id}]`, `invokeUs must be a finite number, got ${operation.invokeUs}`);
    }
    if (operation.completeUs !== undefined && !(operation.completeUs >= operation.invokeUs)) {
      throw new ConfigError(
        `history[${operation.id}]`,
        `completes at ${operation.completeUs} us, before its invocation at ${operation.invokeUs} us`,
      );
    }
    if (operation.status === "fail") continue;
    if (operation.status === "info" && model.readOnly?.(operation.input, undefined) === true) continue;
    kept.push(operation);
  }
  return partsOf(model, kept)
    .map((part) => ({ label: part.label, history: [...part.history].sort(byInvocation) }))
    .filter((part) => part.history.length > 0)
    .sort((a, b) => a.history.length - b.history.length);
}

/** partsOf splits a history with the model's partition, or keeps it whole as one part. */
export function partsOf<S, I, O>(model: Model<S, I, O>, history: History<I, O>): readonly Partition<I, O>[] {
  return model.partition === undefined ? [{ label: "the history", history }] : model.partition(history);
}

function byInvocation<I, O>(a: HistoryOperation<I, O>, b: HistoryOperation<I, O>): number {
  return a.invokeUs - b.invokeUs;
}
