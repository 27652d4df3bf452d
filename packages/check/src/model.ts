import type { History } from "@concord/core";

/** StepResult is what {@link Model.step} returns: whether the operation may take effect now, and the state after it. */
export interface StepResult<S> {
  readonly ok: boolean;
  readonly state: S;
}

/** Partition is one independent part of a history (P-compositionality): for example, every operation on one key. */
export interface Partition<I, O> {
  /** label names the part for people, e.g. `key "x"`. */
  readonly label: string;
  readonly history: History<I, O>;
}

/**
 * Model is the sequential specification a history is checked against, in the
 * manner of porcupine's Model: a state machine over inputs and outputs.
 *
 * Invariant: `equal(a, b)` implies `hash(a) === hash(b)`; the memo of the
 * search relies on it to find states it has seen.
 * Invariant: `step(state, input, undefined)` succeeds for every state and input:
 * an operation whose output is unknown (Jepsen's `:info`) may always take effect.
 */
export interface Model<S, I, O> {
  /** name names the model in reports ("register", "kv"). */
  readonly name: string;
  /** init returns the state before any operation. */
  init(): S;
  /**
   * step applies `input` to `state` and tells whether `output` is what a
   * sequential object would have returned; `output` is undefined when it is
   * unknown (the operation's outcome is indeterminate), in which case any
   * output is accepted. It must not mutate `state`.
   */
  step(state: S, input: I, output: O | undefined): StepResult<S>;
  /** equal tells whether two states are the same. */
  equal(a: S, b: S): boolean;
  /** hash returns a 32-bit integer hash of a state, consistent with {@link Model.equal}. */
  hash(state: S): number;
  /**
   * hashAfter returns hash(after) from hash(before), where `after` is the
   * state step(before, input, ...) returned: an incremental hash for a model
   * whose states grow (a KV append), so that the search need not read a whole
   * state to hash it. Optional (the search calls hash); when present it must
   * equal hash(after).
   */
  hashAfter?(beforeHash: number, before: S, input: I, after: S): number;
  /**
   * partition splits a history into parts that can be checked apart: a history
   * is linearizable exactly when each part is (Herlihy and Wing §3.3, locality).
   * Without it the history is one part.
   */
  partition?(history: History<I, O>): readonly Partition<I, O>[];
  /**
   * readOnly tells whether an operation leaves the state unchanged whenever it
   * is legal with `output` (undefined: unknown). The search places such an
   * operation as soon as it is legal, and leaves out an indeterminate one.
   */
  readOnly?(input: I, output: O | undefined): boolean;
  /** describeOperation renders an operation for people: `put x "1" -> ok`. */
  describeOperation(input: I, output: O | undefined): string;
  /** describeState renders a state for people. */
  describeState(state: S): string;
}
