import { unreachable, type History } from "@concord/core";
import { describeCommand, describeResult, type KvCommand, type KvResult } from "@concord/kv";
import type { Model, Partition, StepResult } from "../model.ts";
import { appendHash, hashString } from "./hash.ts";
import { partitionByKey } from "./partition.ts";

/**
 * KvKeyState is the model state of one key: its bytes as a binary string (one
 * character per byte, so comparison and concatenation are the engine's own),
 * or undefined when the key is absent.
 */
export type KvKeyState = string | undefined;

const binaryForms = new WeakMap<Uint8Array, string>();

/** binaryString returns the bytes as a string of one character per byte (memoised per array). */
export function binaryString(bytes: Uint8Array): string {
  let form = binaryForms.get(bytes);
  if (form === undefined) {
    form = "";
    for (let i = 0; i < bytes.length; i += 4096) form += String.fromCharCode(...bytes.subarray(i, i + 4096));
    binaryForms.set(bytes, form);
  }
  return form;
}

function optionalBinaryString(bytes: Uint8Array | undefined): KvKeyState {
  return bytes === undefined ? undefined : binaryString(bytes);
}

/**
 * kvModel is the sequential specification of Concord's key-value store
 * (`KvStore` in @concord/kv) for the operations on one key: get, put, append,
 * cas (expected undefined means "absent") and delete. Keys are independent,
 * so the model partitions a history per key.
 *
 * An `invalid` result is never legal: the store returns it only for a command
 * it cannot decode (or a write sent down the read path), and the simulator
 * records it when a client accepted a reply it cannot decode. The history
 * holds the command the client meant, which a sequential store answers with a
 * real result, so a completed operation with an `invalid` result means the
 * system garbled a command or a reply.
 */
export const kvModel: Model<KvKeyState, KvCommand, KvResult> = {
  name: "kv",
  init: () => undefined,
  step: stepKv,
  equal: (a, b) => a === b,
  hash: hashKvState,
  hashAfter: hashKvAfter,
  partition: (history: History<KvCommand, KvResult>): readonly Partition<KvCommand, KvResult>[] =>
    partitionByKey(history, (command) => command.key, "no key"),
  readOnly: (command, result) =>
    command.type === "get" ||
    (command.type === "cas" && result?.type === "cas" && !result.ok) ||
    (command.type === "delete" && result?.type === "delete" && !result.existed),
  describeOperation: (command, result) => `${describeCommand(command)} -> ${result === undefined ? "?" : describeResult(result)}`,
  describeState: (state) => (state === undefined ? "nil" : JSON.stringify(new TextDecoder().decode(bytesOf(state)))),
};

/**
 * stringKvModel is the KV model of porcupine's and Jepsen's string stores, in
 * which a missing key reads as the empty string (porcupine's `kvModel` keeps a
 * `map[string]string`): the empty value and the absent key are one state. A
 * get that returns "" (or nil) of a missing key is legal, a cas expecting ""
 * (or nil) matches a missing key, and a delete reports that the key existed
 * only when its value was not empty. `concord check` uses it for EDN
 * histories; Concord's own histories keep absent and empty apart ({@link kvModel}).
 *
 * Invariant: the state is never "" (it is normalised to undefined).
 */
export const stringKvModel: Model<KvKeyState, KvCommand, KvResult> = {
  ...kvModel,
  name: "kv (a missing key reads as \"\")",
  step: (state, command, result) => {
    const stepped = stepKv(state, emptyAsAbsent(command), result?.type === "get" && result.value?.length === 0 ? absentRead : result);
    return stepped.state === "" ? { ok: stepped.ok, state: undefined } : stepped;
  },
};

const absentRead: KvResult = { type: "get", value: undefined };

function emptyAsAbsent(command: KvCommand): KvCommand {
  return command.type === "cas" && command.expected?.length === 0 ? { ...command, expected: undefined } : command;
}

function hashKvState(state: KvKeyState): number {
  return state === undefined ? 0x5bd1e995 : hashString(state);
}

// An append's state is the state before it and the appended value (stepKv):
// its hash continues the hash before over the value alone.
function hashKvAfter(beforeHash: number, before: KvKeyState, command: KvCommand, after: KvKeyState): number {
  if (after === before) return beforeHash;
  if (command.type === "append" && before !== undefined) return appendHash(beforeHash, binaryString(command.value));
  return hashKvState(after);
}

function stepKv(state: KvKeyState, command: KvCommand, result: KvResult | undefined): StepResult<KvKeyState> {
  if (result !== undefined && result.type !== command.type) return { ok: false, state };
  switch (command.type) {
    case "get":
      return { ok: result === undefined || (result.type === "get" && optionalBinaryString(result.value) === state), state };
    case "put":
      return { ok: true, state: binaryString(command.value) };
    case "append":
      return { ok: true, state: state === undefined ? binaryString(command.value) : state + binaryString(command.value) };
    case "cas": {
      const matches = state === optionalBinaryString(command.expected);
      const after = matches ? binaryString(command.value) : state;
      return { ok: result === undefined || (result.type === "cas" && result.ok === matches), state: after };
    }
    case "delete": {
      const existed = state !== undefined;
      return { ok: result === undefined || (result.type === "delete" && result.existed === existed), state: undefined };
    }
    default:
      return unreachable(command);
  }
}

function bytesOf(binary: string): Uint8Array {
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
