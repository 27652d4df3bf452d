import { unreachable, type History, type HistoryOperation } from "@concord/core";
import type { KvCommand, KvResult } from "@concord/kv";
import type { RegisterInput, RegisterOutput, RegisterValue } from "../models/register.ts";
import { HistoryParseError, type HistoryEvent, type RawOperation } from "./events.ts";

interface Typed<I, O> {
  readonly input: I;
  readonly output: O | undefined;
}

/**
 * independentKeys tells whether a history is of Jepsen's `independent` kind:
 * no op names a key, and every value is a [key value] tuple (a cas's value
 * being [key [expected new]]), so that each key is a separate object.
 */
export function independentKeys(operations: readonly RawOperation[]): boolean {
  if (operations.length === 0) return false;
  return operations.every((operation) => {
    if ("key" in operation.invoke.fields) return false;
    const value = operation.invoke.value;
    if (!Array.isArray(value) || value.length !== 2) return false;
    return operation.f !== "cas" || (Array.isArray(value[1]) && value[1].length === 2);
  });
}

/** toHistory turns paired operations into a typed history with `convert`, ids in invocation order. */
export function toHistory<I, O>(operations: readonly RawOperation[], convert: (operation: RawOperation, independent: boolean) => Typed<I, O>): History<I, O> {
  const independent = independentKeys(operations);
  return operations.map((operation, id): HistoryOperation<I, O> => {
    const { input, output } = convert(operation, independent);
    return {
      id,
      clientId: operation.process,
      input,
      invokeUs: operation.invokeUs,
      completeUs: operation.completeUs,
      status: operation.status,
      output: operation.status === "ok" ? output : undefined,
    };
  });
}

// Splits an independent tuple, or reads the key field; returns the key and the bare value.
function keyAndValue(event: HistoryEvent, independent: boolean): { key: string | undefined; value: unknown } {
  if (independent && Array.isArray(event.value)) return { key: keyText(event.value[0], event.line), value: event.value[1] };
  const key = event.fields["key"];
  return { key: key === undefined ? undefined : keyText(key, event.line), value: event.value };
}

function keyText(key: unknown, line: number): string {
  if (typeof key === "string" || typeof key === "number") return String(key);
  throw new HistoryParseError(line, `a key must be a string or a number, got ${JSON.stringify(key)}`);
}

function registerValue(value: unknown, line: number, what: string): RegisterValue {
  if (value === null || typeof value === "number" || typeof value === "string") return value;
  throw new HistoryParseError(line, `${what} must be a number, string, keyword or nil, got ${JSON.stringify(value)}`);
}

function pairValue(value: unknown, line: number, f: string): [unknown, unknown] {
  if (Array.isArray(value) && value.length === 2) return [value[0], value[1]];
  throw new HistoryParseError(line, `a ${f} value must be [expected new], got ${JSON.stringify(value)}`);
}

function casSucceeded(operation: RawOperation): boolean {
  const ok = operation.completion?.fields["ok"];
  if (ok === undefined) return true;
  if (typeof ok === "boolean") return ok;
  throw new HistoryParseError(operation.completion!.line, `"ok" must be true or false, got ${JSON.stringify(ok)}`);
}

/**
 * registerOperation converts a Jepsen cas-register op: `:read` (the completion's
 * value is what was read), `:write v`, `:cas [expected new]` (an `:ok` cas
 * applied; a `:fail` one did not happen; the JSON-lines format may also say
 * `"ok": false` for a cas that completed without applying).
 */
export function registerOperation(operation: RawOperation, independent: boolean): Typed<RegisterInput, RegisterOutput> {
  const { invoke, completion } = operation;
  const { key, value } = keyAndValue(invoke, independent);
  const keyed = key === undefined ? {} : { key };
  switch (operation.f) {
    case "read": {
      const done = operation.status === "ok" ? completion : undefined;
      const output: RegisterOutput | undefined =
        done === undefined ? undefined : { type: "read", value: registerValue(keyAndValue(done, independent).value, done.line, "a read value") };
      return { input: { type: "read", ...keyed }, output };
    }
    case "write":
      return { input: { type: "write", ...keyed, value: registerValue(value, invoke.line, "a written value") }, output: { type: "write" } };
    case "cas": {
      const [expected, next] = pairValue(value, invoke.line, "cas");
      const input: RegisterInput = { type: "cas", ...keyed, expected: registerValue(expected, invoke.line, "a cas value"), value: registerValue(next, invoke.line, "a cas value") };
      return { input, output: operation.status === "ok" ? { type: "cas", ok: casSucceeded(operation) } : undefined };
    }
    default:
      throw new HistoryParseError(invoke.line, `the register model has no operation :${operation.f} (it knows :read, :write, :cas)`);
  }
}

const encoder = new TextEncoder();

function bytes(value: unknown, line: number, what: string): Uint8Array {
  if (typeof value === "string") return encoder.encode(value);
  if (typeof value === "number") return encoder.encode(String(value));
  throw new HistoryParseError(line, `${what} must be a string or a number, got ${JSON.stringify(value)}`);
}

function optionalBytes(value: unknown, line: number, what: string): Uint8Array | undefined {
  return value === null || value === undefined ? undefined : bytes(value, line, what);
}

const kvAliases: Readonly<Record<string, KvCommand["type"]>> = {
  get: "get",
  read: "get",
  put: "put",
  write: "put",
  append: "append",
  cas: "cas",
  delete: "delete",
};

/**
 * kvOperation converts an op for the KV model: get (or read), put (or write),
 * append, cas and delete, on the op's key (the `key` field, an independent
 * tuple, or "" when there is none). Values are text, stored as UTF-8. A cas
 * names `expected` (null: absent) and `value`, or gives `[expected new]`; a
 * delete's completion may say whether the key `existed`; any completion may
 * say the result was `invalid` (and why).
 */
export function kvOperation(operation: RawOperation, independent: boolean): Typed<KvCommand, KvResult> {
  const typed = kvOperationOutput(operation, independent);
  const invalid = operation.status === "ok" ? operation.completion?.fields["invalid"] : undefined;
  if (invalid === undefined) return typed;
  if (typeof invalid !== "string") throw new HistoryParseError(operation.completion!.line, `"invalid" must be a string giving the reason, got ${JSON.stringify(invalid)}`);
  return { input: typed.input, output: { type: "invalid", reason: invalid } };
}

function kvOperationOutput(operation: RawOperation, independent: boolean): Typed<KvCommand, KvResult> {
  const { invoke, completion } = operation;
  const { key: maybeKey, value } = keyAndValue(invoke, independent);
  const key = maybeKey ?? "";
  const type = kvAliases[operation.f];
  const done = operation.status === "ok" && completion !== undefined ? completion : undefined;
  if (type === undefined) {
    throw new HistoryParseError(invoke.line, `the kv model has no operation ${operation.f} (it knows get, put, append, cas, delete, and read, write)`);
  }
  switch (type) {
    case "get": {
      const read = done === undefined ? undefined : keyAndValue(done, independent).value;
      return { input: { type, key }, output: done === undefined ? undefined : { type, value: optionalBytes(read, done.line, "a value read") } };
    }
    case "put":
    case "append":
      return { input: { type, key, value: bytes(value, invoke.line, `a ${operation.f} value`) }, output: { type } };
    case "cas": {
      const [expected, next] = "expected" in invoke.fields ? [invoke.fields["expected"], value] : pairValue(value, invoke.line, "cas");
      const command: KvCommand = { type, key, expected: optionalBytes(expected, invoke.line, "expected"), value: bytes(next, invoke.line, "a cas value") };
      return { input: command, output: done === undefined ? undefined : { type, ok: casSucceeded(operation) } };
    }
    case "delete": {
      const existed = done?.fields["existed"];
      if (existed !== undefined && typeof existed !== "boolean") throw new HistoryParseError(done!.line, `"existed" must be true or false, got ${JSON.stringify(existed)}`);
      return { input: { type, key }, output: existed === undefined ? undefined : { type, existed } };
    }
    default:
      return unreachable(type);
  }
}
