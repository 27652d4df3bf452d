import { CorruptionError, type StateMachine } from "@concord/core";
import { decodeCommand, decodeSnapshotEntries, encodeResult, encodeSnapshotEntries } from "./codec.ts";
import type { KvCommand, KvResult } from "./operations.ts";

/** putDone and appendDone are every put's and append's result: one frozen object each, not one per command. */
const putDone: KvResult = Object.freeze({ type: "put" });
const appendDone: KvResult = Object.freeze({ type: "append" });

/**
 * KvStore is the key-value store's logic on decoded commands: deterministic,
 * no I/O. {@link KvStateMachine} wraps it with the wire codec.
 */
export class KvStore {
  private readonly entries = new Map<string, Uint8Array>();

  /** execute applies a command and returns its result. A `get` changes nothing. */
  execute(command: KvCommand): KvResult {
    switch (command.type) {
      case "get":
        return { type: "get", value: this.entries.get(command.key) };
      case "put":
        this.entries.set(command.key, command.value);
        return putDone;
      case "append": {
        const current = this.entries.get(command.key);
        this.entries.set(command.key, current === undefined ? command.value : concat(current, command.value));
        return appendDone;
      }
      case "cas": {
        const current = this.entries.get(command.key);
        const matches = command.expected === undefined ? current === undefined : current !== undefined && equal(current, command.expected);
        if (matches) this.entries.set(command.key, command.value);
        return { type: "cas", ok: matches };
      }
      case "delete":
        return { type: "delete", existed: this.entries.delete(command.key) };
    }
  }

  /** get reads one key without going through a command. */
  get(key: string): Uint8Array | undefined {
    return this.entries.get(key);
  }

  /** size counts the keys present. */
  get size(): number {
    return this.entries.size;
  }

  /** sortedEntries lists every entry ordered by key, so snapshots are byte-identical across replicas. */
  sortedEntries(): [string, Uint8Array][] {
    return [...this.entries.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** replaceAll swaps the whole content for `entries`. */
  replaceAll(entries: readonly (readonly [string, Uint8Array])[]): void {
    this.entries.clear();
    for (const [key, value] of entries) this.entries.set(key, value);
  }
}

/**
 * KvStateMachine is the replicated key-value store as a {@link StateMachine}:
 * commands and results travel as protobuf bytes. A command that cannot be
 * decoded gets an `invalid` result (the same on every replica) rather than
 * stopping the replica.
 */
export class KvStateMachine implements StateMachine {
  readonly store = new KvStore();

  apply(command: Uint8Array): Uint8Array {
    return encodeResult(this.run(command, false));
  }

  query(command: Uint8Array): Uint8Array {
    return encodeResult(this.run(command, true));
  }

  snapshot(): Uint8Array {
    return encodeSnapshotEntries(this.store.sortedEntries());
  }

  restore(snapshot: Uint8Array): void {
    this.store.replaceAll(decodeSnapshotEntries(snapshot));
  }

  private run(bytes: Uint8Array, readOnly: boolean): KvResult {
    let command: KvCommand;
    try {
      command = decodeCommand(bytes);
    } catch (error) {
      if (error instanceof CorruptionError) return { type: "invalid", reason: error.message };
      throw error;
    }
    if (readOnly && command.type !== "get") return { type: "invalid", reason: `${command.type} is not read-only` };
    return this.store.execute(command);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
