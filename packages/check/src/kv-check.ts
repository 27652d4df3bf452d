import type { History } from "@concord/core";
import type { KvCommand, KvResult } from "@concord/kv";
import { checkHistory } from "./checker.ts";
import { kvModel } from "./models/kv.ts";
import type { CheckOptions, Verdict } from "./verdict.ts";

/**
 * checkKvHistory checks a history of Concord's key-value store (for example a
 * simulator run's `result.history`) for linearizability, key by key.
 */
export function checkKvHistory(history: History<KvCommand, KvResult>, options: CheckOptions = {}): Verdict {
  return checkHistory(kvModel, history, options);
}
