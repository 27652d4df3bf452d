import type { ReadLevel } from "./client.ts";
import type { NodeId } from "./ids.ts";

/**
 * OperationStatus is how an operation of a history ended:
 * `ok` (took effect, output known), `fail` (certainly did not take effect), or
 * `info` (unknown: may or may not have taken effect; also an operation that
 * never completed).
 */
export type OperationStatus = "ok" | "fail" | "info";

/**
 * HistoryOperation is one client operation with its invocation and completion
 * times. `completeUs` is undefined for an operation that never completed.
 * `I` and `O` are the model's input and output types.
 */
export interface HistoryOperation<I, O> {
  readonly id: number;
  readonly clientId: NodeId;
  readonly input: I;
  readonly invokeUs: number;
  readonly completeUs: number | undefined;
  readonly status: OperationStatus;
  /** output is set when status is `ok`. */
  readonly output: O | undefined;
  /**
   * readLevel is the level a read-only operation was served at (see AlgorithmDefinition.servedReadLevel); absent for
   * writes and for reads of runtimes that record no level, which are `linearizable`.
   */
  readonly readLevel?: ReadLevel;
}

/** History is every operation of a run, in invocation order. */
export type History<I, O> = readonly HistoryOperation<I, O>[];
