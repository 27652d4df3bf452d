import type { LeaderlessEntry, LeaderlessStamp } from "./messages.ts";
import { compareStamps } from "./stamp.ts";

/**
 * LwwStore is a last-writer-wins register per key: each key holds the write with the highest stamp it has seen (a
 * tombstone for a delete, so that a delete wins over older puts heard later). Merging is commutative, associative
 * and idempotent, so replicas that have seen the same writes hold the same store, in whatever order they saw them.
 */
export class LwwStore {
  private readonly entries = new Map<string, LeaderlessEntry>();

  /** get returns the key's latest write, or undefined when no write of it was seen. */
  get(key: string): LeaderlessEntry | undefined {
    return this.entries.get(key);
  }

  /** merge keeps `entry` if it is newer than what the key holds; returns whether it was kept. */
  merge(entry: LeaderlessEntry): boolean {
    const held = this.entries.get(entry.key);
    if (held !== undefined && compareStamps(held, entry) >= 0) return false;
    this.entries.set(entry.key, entry);
    return true;
  }

  /** digest lists every key's stamp, in key order (so that equal stores give equal digests). */
  digest(): LeaderlessStamp[] {
    return this.sorted().map((entry) => ({ key: entry.key, wall: entry.wall, logical: entry.logical, node: entry.node }));
  }

  /** all lists every entry, in key order. */
  all(): LeaderlessEntry[] {
    return this.sorted();
  }

  /** size counts the keys held (tombstones included). */
  get size(): number {
    return this.entries.size;
  }

  /** fingerprint is a short text that equal stores share and unequal ones do not: every key with its stamp. */
  fingerprint(): string {
    return this.sorted()
      .map((entry) => `${entry.key}@${entry.wall}.${entry.logical}.${entry.node}`)
      .join(" ");
  }

  private sorted(): LeaderlessEntry[] {
    return [...this.entries.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
}
