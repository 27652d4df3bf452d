import type { NodeId, OperationStatus } from "@concord/core";

/** EvidenceOperation is one operation of a verdict's evidence, rendered for people. */
export interface EvidenceOperation {
  /** id is the operation's id in the checked history. */
  readonly id: number;
  readonly clientId: NodeId;
  readonly invokeUs: number;
  /** completeUs is undefined when the operation never completed or its outcome is unknown. */
  readonly completeUs: number | undefined;
  readonly status: OperationStatus;
  /** description is the operation and its output, e.g. `get x -> "2"`. */
  readonly description: string;
}

/**
 * Evidence explains a "not linearizable" verdict: where the search got
 * furthest in the failing part of the history, the state it had reached
 * there, and the operations none of which could take effect next although one
 * of them had already returned.
 */
export interface Evidence {
  /** partition names the part of the history that failed, e.g. `key "x"`. */
  readonly partition: string;
  /** partitionOperations counts the operations of that part (after leaving out failed ones). */
  readonly partitionOperations: number;
  /** linearizedCount is the longest prefix the search could order: every longer attempt failed. */
  readonly linearizedCount: number;
  /** state renders the model state after that prefix. */
  readonly state: string;
  /** linearizedBefore lists the last writes of that prefix (its read-only operations left out), oldest first: they explain the state. */
  readonly linearizedBefore: readonly EvidenceOperation[];
  /**
   * pending lists the operations that could take effect next; none is
   * consistent with `state`. It includes `blocking`.
   */
  readonly pending: readonly EvidenceOperation[];
  /** blocking is the operation that returned before any pending operation could take effect. */
  readonly blocking: EvidenceOperation;
  /** region is the span of time around the failure point, for timelines. */
  readonly region: { readonly fromUs: number; readonly toUs: number };
  /** operationIds lists the ids of every operation above, for marking them. */
  readonly operationIds: readonly number[];
  /** text is the evidence printed readably. */
  readonly text: string;
}

/**
 * UnknownLimit names what stopped a search before it decided. "step budget"
 * and "memory limit" depend only on the history: the same history gives the
 * same verdict on any machine. "wall-clock safety net" depends on the machine
 * and its load; it is there so that a check cannot run for ever, and a verdict
 * it cut short says so.
 */
export type UnknownLimit = "step budget" | "memory limit" | "wall-clock safety net";

/**
 * Verdict is the checker's answer. "unknown" means the step budget, the
 * search's memory limit or the wall-clock safety net ran out before the search
 * finished (`limit` says which): it is never a guess. `steps` counts the search
 * steps spent over every part of the history; it is deterministic.
 */
export type Verdict =
  | { readonly kind: "linearizable"; readonly steps: number }
  | { readonly kind: "not-linearizable"; readonly evidence: Evidence; readonly steps: number }
  | { readonly kind: "unknown"; readonly limit: UnknownLimit; readonly reason: string; readonly steps: number };

/** CheckOptions tune a check. */
export interface CheckOptions {
  /**
   * stepsMax is the search's budget, in steps summed over every part of the
   * history (default {@link stepsMaxDefault}). A step is one visit of a search
   * node; past the budget the verdict is "unknown" with limit "step budget".
   * The budget makes the verdict a function of the history alone.
   */
  readonly stepsMax?: number;
  /**
   * wallClockLimitMs is the safety net: the wall-clock time after which the
   * search stops whatever its step budget (default {@link wallClockLimitMsDefault}).
   * A verdict it cuts short is "unknown" with limit "wall-clock safety net",
   * and depends on the machine.
   */
  readonly wallClockLimitMs?: number;
  /**
   * budgetMs is the old name of {@link CheckOptions.wallClockLimitMs}, kept for
   * callers written before the step budget; `wallClockLimitMs` wins when both are given.
   * @deprecated use wallClockLimitMs (the safety net) or stepsMax (the deterministic budget).
   */
  readonly budgetMs?: number;
}

/**
 * stepsMaxDefault is the step budget when {@link CheckOptions.stepsMax} is not
 * given: 50 million steps, about 40 to 60 s of search on the 2-core machine
 * the figures in docs/checker.md come from (about a million steps a second
 * on hard histories). A simulated run's history takes thousands.
 */
export const stepsMaxDefault = 50_000_000;

/** wallClockLimitMsDefault is the wall-clock safety net when {@link CheckOptions.wallClockLimitMs} is not given: 10 minutes. */
export const wallClockLimitMsDefault = 600_000;

/**
 * defaultBudgetMs was the wall-clock budget before the step budget; it now
 * equals {@link wallClockLimitMsDefault}.
 * @deprecated use wallClockLimitMsDefault or stepsMaxDefault.
 */
export const defaultBudgetMs = wallClockLimitMsDefault;
