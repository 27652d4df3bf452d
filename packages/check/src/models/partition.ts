import type { History, HistoryOperation } from "@concord/core";
import type { Partition } from "../model.ts";

/**
 * partitionByKey splits a history into one part per key, keeping each part in
 * history order: operations on different keys commute, so the history is
 * linearizable exactly when each key's part is (P-compositionality; Herlihy
 * and Wing 1990, Theorem 1, locality). Operations without a key form one part
 * named `unkeyed`.
 */
export function partitionByKey<I, O>(
  history: History<I, O>,
  keyOf: (input: I) => string | undefined,
  unkeyed: string,
): Partition<I, O>[] {
  const parts = new Map<string | undefined, HistoryOperation<I, O>[]>();
  for (const operation of history) {
    const key = keyOf(operation.input);
    const part = parts.get(key);
    if (part === undefined) parts.set(key, [operation]);
    else part.push(operation);
  }
  return [...parts].map(([key, operations]) => ({
    label: key === undefined ? unkeyed : `key ${JSON.stringify(key)}`,
    history: operations,
  }));
}
