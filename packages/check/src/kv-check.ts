import type { History, KvSemantics } from "@concord/core";
import type { KvCommand, KvResult } from "@concord/kv";
import { checkHistory } from "./checker.ts";
import type { Model } from "./model.ts";
import { type KvKeyState, kvModel } from "./models/kv.ts";
import { writeOnceKvModel } from "./models/write-once.ts";
import type { CheckOptions, Verdict } from "./verdict.ts";

/** kvModelFor is the model of the object an algorithm's KV clients see (its AlgorithmDefinition's `kvSemantics`). */
export function kvModelFor(semantics: KvSemantics): Model<KvKeyState, KvCommand, KvResult> {
  // `registers` offers get, put and delete of the whole store, with the same meaning: the KV model judges them.
  return semantics === "write-once" ? writeOnceKvModel : kvModel;
}

/**
 * checkKvHistory checks a history of Concord's key-value store (for example a
 * simulator run's `result.history`) for linearizability, key by key, against
 * the whole store, or, for `write-once`, a write-once register per key.
 */
export function checkKvHistory(history: History<KvCommand, KvResult>, options: CheckOptions = {}, semantics: KvSemantics = "kv"): Verdict {
  return checkHistory(kvModelFor(semantics), history, options);
}
