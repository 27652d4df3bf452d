import type { ClientContext, Crypto, StateMachine } from "@concord/core";
import { createRng } from "@concord/core";
import { KvStateMachine, decodeResult, encodeCommand, type KvCommand, type KvResult } from "@concord/kv";

const text = new TextEncoder();

/** bytes encodes a string as UTF-8. */
export function bytes(value: string): Uint8Array {
  return text.encode(value);
}

/** command encodes a KV command as a plain Uint8Array (protobufjs hands out Node Buffers, which compare unequal). */
export function command(value: KvCommand): Uint8Array {
  return new Uint8Array(encodeCommand(value));
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

/** result decodes a KV result. */
export function result(value: Uint8Array): KvResult {
  return decodeResult(value);
}

/** CountingKv is the KV state machine that also counts how often `apply` ran, to prove exactly-once. */
export class CountingKv implements StateMachine {
  readonly kv = new KvStateMachine();
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
