import type { History } from "@concord/core";
import { describeCommand, describeResult, type KvCommand, type KvResult } from "@concord/kv";
import type { Model, Partition, StepResult } from "../model.ts";
import { hashString } from "./hash.ts";
import { type KvKeyState, binaryString, kvModel } from "./kv.ts";
import { partitionByKey } from "./partition.ts";

/**
 * writeOnceKvModel is the sequential specification of a write-once register
 * per key, the object single-decree Paxos with one instance per key offers
 * (the AlgorithmDefinition's `kvSemantics: "write-once"`): the first put to
 * take effect fixes the key's value for ever. A put returns the value the key
 * holds after it (its own value when it was first, the earlier one
 * otherwise), and a put whose result carries no value is taken as "ok"
 * either way; a get returns the value, or nothing while no put took effect.
 * Append, cas and delete are not operations of this object: one that
 * completed makes the history not linearizable, while one that failed or
 * went unanswered is taken to have changed nothing. An `invalid` result is
 * never legal, as in {@link kvModel}.
 */
export const writeOnceKvModel: Model<KvKeyState, KvCommand, KvResult> = {
  name: "write-once register per key",
  init: () => undefined,
  step: stepWriteOnce,
  equal: (a, b) => a === b,
  hash: (state) => (state === undefined ? 0x2f1c3e5d : hashString(state)),
  partition: (history: History<KvCommand, KvResult>): readonly Partition<KvCommand, KvResult>[] => partitionByKey(history, (command) => command.key, "no key"),
  // A put to a key that holds a value changes nothing, but whether it is first is decided by the search: only gets are read-only.
  readOnly: (command) => command.type === "get",
  describeOperation: (command, result) => `${describeCommand(command)} -> ${result === undefined ? "?" : describeResult(result)}`,
  describeState: kvModel.describeState,
};

function stepWriteOnce(state: KvKeyState, command: KvCommand, result: KvResult | undefined): StepResult<KvKeyState> {
  if (result !== undefined && result.type !== command.type) return { ok: false, state };
  switch (command.type) {
    case "get":
      return { ok: result === undefined || (result.type === "get" && (result.value === undefined ? state === undefined : binaryString(result.value) === state)), state };
    case "put": {
      const after = state ?? binaryString(command.value);
      const reported = result?.type === "put" ? result.value : undefined;
      return { ok: reported === undefined || binaryString(reported) === after, state: after };
    }
    case "append":
    case "cas":
    case "delete":
      // Not an operation of a write-once register: it may be pending (indeterminate, changing nothing), never completed.
      return { ok: result === undefined, state };
  }
}
