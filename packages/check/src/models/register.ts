import { unreachable, type History } from "@concord/core";
import type { Model, Partition, StepResult } from "../model.ts";
import { hashString } from "./hash.ts";
import { partitionByKey } from "./partition.ts";

/** RegisterValue is a value a register holds: Jepsen's values are integers, strings, keywords (as ":name") or nil (null). */
export type RegisterValue = number | string | null;

/**
 * RegisterInput is an operation of the Jepsen cas-register: read, write, or
 * compare-and-set. `key` is set for histories of many independent registers
 * (Jepsen's `independent` tuples), which are checked apart.
 */
export type RegisterInput =
  | { readonly type: "read"; readonly key?: string }
  | { readonly type: "write"; readonly key?: string; readonly value: RegisterValue }
  | { readonly type: "cas"; readonly key?: string; readonly expected: RegisterValue; readonly value: RegisterValue };

/** RegisterOutput is what a register operation returned: a read's value, or whether a cas applied. */
export type RegisterOutput =
  | { readonly type: "read"; readonly value: RegisterValue }
  | { readonly type: "write" }
  | { readonly type: "cas"; readonly ok: boolean };

/**
 * registerModel is the sequential specification of Jepsen's cas-register: one
 * value, initially nil; a read returns it, a write replaces it, a cas replaces
 * it only when it equals `expected` and says whether it did.
 */
export const registerModel: Model<RegisterValue, RegisterInput, RegisterOutput> = {
  name: "register",
  init: () => null,
  step: stepRegister,
  equal: (a, b) => a === b,
  hash: hashRegisterValue,
  partition: (history: History<RegisterInput, RegisterOutput>): readonly Partition<RegisterInput, RegisterOutput>[] =>
    partitionByKey(history, (input) => input.key, "the register"),
  readOnly: (input, output) => input.type === "read" || (output?.type === "cas" && !output.ok),
  describeOperation: describeRegisterOperation,
  describeState: showRegisterValue,
};

function stepRegister(state: RegisterValue, input: RegisterInput, output: RegisterOutput | undefined): StepResult<RegisterValue> {
  switch (input.type) {
    case "read":
      return { ok: output === undefined || (output.type === "read" && output.value === state), state };
    case "write":
      return { ok: output === undefined || output.type === "write", state: input.value };
    case "cas": {
      const matches = state === input.expected;
      if (output === undefined) return { ok: true, state: matches ? input.value : state };
      return { ok: output.type === "cas" && output.ok === matches, state: matches ? input.value : state };
    }
    default:
      return unreachable(input);
  }
}

function hashRegisterValue(value: RegisterValue): number {
  if (value === null) return 0x6b43a9b5;
  if (typeof value === "string") return hashString(value);
  return Number.isInteger(value) ? Math.imul(value | 0, 0x85ebca6b) ^ Math.floor(value / 0x1_0000_0000) : hashString(String(value));
}

/** showRegisterValue renders a register value the way Jepsen prints it: `nil`, `3`, `"a"`. */
export function showRegisterValue(value: RegisterValue): string {
  if (value === null) return "nil";
  if (typeof value === "number") return String(value);
  return value.startsWith(":") ? value : JSON.stringify(value);
}

/** describeRegisterOperation renders a register operation: `write 3`, `cas 1->2 -> ok`, `read -> nil`. */
export function describeRegisterOperation(input: RegisterInput, output: RegisterOutput | undefined): string {
  const on = input.key === undefined ? "" : ` ${JSON.stringify(input.key)}`;
  switch (input.type) {
    case "read":
      return `read${on} -> ${output?.type === "read" ? showRegisterValue(output.value) : "?"}`;
    case "write":
      return `write${on} ${showRegisterValue(input.value)}${output === undefined ? " -> ?" : ""}`;
    case "cas": {
      const result = output?.type === "cas" ? (output.ok ? "ok" : "mismatch") : "?";
      return `cas${on} ${showRegisterValue(input.expected)}->${showRegisterValue(input.value)} -> ${result}`;
    }
    default:
      return unreachable(input);
  }
}
