// A key-value state machine for core's own tests. Core sits below @concord/kv (kv imports core), so its
// tests cannot use the real one without a workspace cycle; this one holds just what solo and the session
// table need to be tested against: put, append and get of byte strings, a snapshot, and a restore.
import type { StateMachine } from "@concord/core";

/** TestKvCommand is one operation on the test store. */
export type TestKvCommand =
  | { readonly type: "get"; readonly key: string }
  | { readonly type: "put"; readonly key: string; readonly value: Uint8Array }
  | { readonly type: "append"; readonly key: string; readonly value: Uint8Array };

/** TestKvResult is what a {@link TestKvCommand} returned (the shapes of @concord/kv's results for the same operations). */
export type TestKvResult = { readonly type: "get"; readonly value: Uint8Array | undefined } | { readonly type: "put" } | { readonly type: "append" };

interface Wire {
  readonly type: string;
  readonly key?: string;
  readonly value?: readonly number[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

function decodeWire(bytes: Uint8Array): Wire {
  return JSON.parse(decoder.decode(bytes)) as Wire;
}

/** encodeTestCommand encodes a command as JSON, its value as a list of bytes so that any byte survives. */
export function encodeTestCommand(command: TestKvCommand): Uint8Array {
  return encodeJson(command.type === "get" ? { type: "get", key: command.key } : { type: command.type, key: command.key, value: [...command.value] });
}

/** decodeTestResult decodes what {@link TestKv} answered. */
export function decodeTestResult(bytes: Uint8Array): TestKvResult {
  const wire = decodeWire(bytes);
  if (wire.type === "get") return { type: "get", value: wire.value === undefined ? undefined : Uint8Array.from(wire.value) };
  if (wire.type === "put" || wire.type === "append") return { type: wire.type };
  throw new Error(`not a test KV result: ${decoder.decode(bytes)}`);
}

/** TestKv is a deterministic key-value store of byte strings: the application a replica runs in core's tests. */
export class TestKv implements StateMachine {
  private readonly values = new Map<string, Uint8Array>();

  apply(command: Uint8Array): Uint8Array {
    const wire = decodeWire(command);
    const key = wire.key ?? "";
    const value = Uint8Array.from(wire.value ?? []);
    switch (wire.type) {
      case "put":
        this.values.set(key, value);
        return encodeJson({ type: "put" });
      case "append": {
        const old = this.values.get(key) ?? new Uint8Array(0);
        const joined = new Uint8Array(old.length + value.length);
        joined.set(old);
        joined.set(value, old.length);
        this.values.set(key, joined);
        return encodeJson({ type: "append" });
      }
      default:
        return this.query(command);
    }
  }

  query(command: Uint8Array): Uint8Array {
    const wire = decodeWire(command);
    if (wire.type !== "get") throw new Error(`a query must be a get, not ${wire.type}`);
    const value = this.values.get(wire.key ?? "");
    return encodeJson(value === undefined ? { type: "get" } : { type: "get", value: [...value] });
  }

  snapshot(): Uint8Array {
    // Keys in sorted order: two stores that hold the same values take the same snapshot.
    const entries = [...this.values].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, value]) => [key, [...value]]);
    return encodeJson(entries);
  }

  restore(snapshot: Uint8Array): void {
    this.values.clear();
    for (const [key, value] of JSON.parse(decoder.decode(snapshot)) as [string, number[]][]) this.values.set(key, Uint8Array.from(value));
  }
}
