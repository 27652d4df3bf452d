import type { ClientContext, Crypto, StateMachine } from "@concord/core";
import { createRng } from "@concord/core";
import { TestKv, decodeTestResult, encodeTestCommand, type TestKvCommand, type TestKvResult } from "./test-kv.ts";

const text = new TextEncoder();

/** bytes encodes a string as UTF-8. */
export function bytes(value: string): Uint8Array {
  return text.encode(value);
}

/** command encodes a command of the test store. */
export function command(value: TestKvCommand): Uint8Array {
  return encodeTestCommand(value);
}

/** put encodes `put key value`. */
export function put(key: string, value: string): Uint8Array {
  return command({ type: "put", key, value: bytes(value) });
}

/** append encodes `append key value`. */
export function append(key: string, value: string): Uint8Array {
  return command({ type: "append", key, value: bytes(value) });
}

/** get encodes `get key`. */
export function get(key: string): Uint8Array {
  return command({ type: "get", key });
}

/** result decodes a result of the test store. */
export function result(value: Uint8Array): TestKvResult {
  return decodeTestResult(value);
}

/** CountingKv is the test store that also counts how often `apply` ran, to prove exactly-once. */
export class CountingKv implements StateMachine {
  readonly kv = new TestKv();
  applies = 0;

  apply(commandBytes: Uint8Array): Uint8Array {
    this.applies++;
    return this.kv.apply(commandBytes);
  }

  query(commandBytes: Uint8Array): Uint8Array {
    return this.kv.query(commandBytes);
  }

  snapshot(): Uint8Array {
    return this.kv.snapshot();
  }

  restore(snapshot: Uint8Array): void {
    this.kv.restore(snapshot);
  }
}

/** noCrypto is a Crypto for code that must not use any. */
export const noCrypto: Crypto = {
  digest: () => fail("digest"),
  mac: () => fail("mac"),
  sign: () => fail("sign"),
  verify: () => fail("verify"),
  macKey: () => fail("macKey"),
};

function fail(what: string): never {
  throw new Error(`unexpected crypto call: ${what}`);
}

/** SessionStart pins a client's session key and first sequence (ClientContext's `session` and `firstSequence`). */
export interface SessionStart {
  readonly session?: number;
  readonly firstSequence?: number;
}

/** clientContext builds a ClientContext for tests. */
export function clientContext(
  id: number,
  replicas: readonly number[],
  seed = 1,
  options: Record<string, unknown> = {},
  start: SessionStart = {},
): ClientContext {
  return { id, replicas, rng: createRng(seed), crypto: noCrypto, options, ...start };
}
