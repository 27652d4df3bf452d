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
 * Verdict is the checker's answer. "unknown" means the time budget or the
 * search's memory limit ran out before the search finished: it is never a guess.
 */
export type Verdict =
  | { readonly kind: "linearizable" }
  | { readonly kind: "not-linearizable"; readonly evidence: Evidence }
  | { readonly kind: "unknown"; readonly reason: string };

/** CheckOptions tune a check. */
export interface CheckOptions {
  /** budgetMs is the wall-clock time the search may take before the verdict is "unknown" (default 60,000). */
  readonly budgetMs?: number;
}

/** defaultBudgetMs is the search budget when {@link CheckOptions.budgetMs} is not given. */
export const defaultBudgetMs = 60_000;
