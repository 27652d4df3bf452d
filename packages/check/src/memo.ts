import { Scratch, int32Slot } from "./scratch.ts";

/**
 * Memo is the search's record of every (linearized set, model state) pair it
 * has already expanded (Lowe, "Testing for linearizability" §4: two search
 * nodes with the same set and the same state have the same future, so the
 * second is pruned).
 *
 * A set is stored compactly as `m` (one more than its highest member) and the
 * list of non-members below `m`: the search linearizes operations roughly in
 * invocation order, so that list holds only the few operations still pending
 * around the frontier and any indeterminate ones left behind.
 *
 * Invariant: an entry is only reported as present when its set and state are
 * equal to the probe's (full comparison, never a hash alone), so the memo can
 * only prune search nodes that really were explored.
 */
export class Memo<S> {
  private heads: Int32Array;
  private mask: number;
  private count = 0;
  /** entries holds `fields` numbers an entry: its key, the next entry in its bucket, high, size and where its zeros start. */
  private entries: Int32Array;
  private readonly states: S[] = [];
  private zeros: Int32Array;
  private zerosUsed = 0;

  /**
   * `expected` guesses how many entries the memo will hold (it grows past
   * that): a small partition's search then allocates a small memo.
   */
  constructor(
    private readonly equal: (a: S, b: S) => boolean,
    expected = 1024,
    private readonly scratch: Scratch = new Scratch(),
  ) {
    let capacity = 16;
    while (capacity < expected && capacity < 1024) capacity *= 2;
    this.heads = scratch.int32(int32Slot.memoHeads, capacity).fill(-1);
    this.mask = capacity - 1;
    this.entries = scratch.int32(int32Slot.memoEntries, capacity * fields);
    this.zeros = scratch.int32(int32Slot.memoZeros, capacity * 4);
  }

  /** size counts the entries. */
  get size(): number {
    return this.count;
  }

  /**
   * addIfAbsent records (set, state) and returns true, or returns false when
   * an equal pair is already recorded. `set` is a bitset of `size` members
   * whose highest member is `high - 1`; `key` hashes the set and the state.
   */
  addIfAbsent(key: number, set: Int32Array | Uint32Array, size: number, high: number, state: S): boolean {
    const bucket = key & this.mask;
    const entries = this.entries;
    for (let entry = this.heads[bucket]!; entry !== -1; entry = entries[entry * fields + nextField]!) {
      const at = entry * fields;
      if (entries[at] !== key || entries[at + highField] !== high || entries[at + sizeField] !== size) continue;
      if (!this.equal(this.states[entry]!, state)) continue;
      if (this.sameSet(entries[at + zerosField]!, set, high - size)) return false;
    }
    this.insert(key, bucket, set, size, high, state);
    return true;
  }

  // Two sets of equal size below the same `high` are equal when every
  // non-member of the stored one (its zeros from `start`) is a non-member of the probe.
  private sameSet(start: number, set: Int32Array | Uint32Array, zeroCount: number): boolean {
    const zeros = this.zeros;
    for (let i = start; i < start + zeroCount; i++) {
      const bit = zeros[i]!;
      if ((set[bit >>> 5]! & (1 << (bit & 31))) !== 0) return false;
    }
    return true;
  }

  private insert(key: number, bucket: number, set: Int32Array | Uint32Array, size: number, high: number, state: S): void {
    if (this.count * fields === this.entries.length) this.entries = this.scratch.grownInt32(int32Slot.memoEntries, this.entries, this.entries.length * 2);
    const entry = this.count++;
    const zeroCount = high - size;
    if (this.zerosUsed + zeroCount > this.zeros.length) {
      this.zeros = this.scratch.grownInt32(int32Slot.memoZeros, this.zeros, Math.max(this.zeros.length * 2, this.zerosUsed + zeroCount));
    }
    const at = entry * fields;
    const entries = this.entries;
    entries[at] = key;
    entries[at + highField] = high;
    entries[at + sizeField] = size;
    entries[at + zerosField] = this.zerosUsed;
    if (zeroCount > 0) this.zerosUsed = collectZeros(set, high, this.zeros, this.zerosUsed);
    this.states[entry] = state;
    if (this.count > (this.heads.length >>> 1) + (this.heads.length >>> 2)) {
      this.rehash();
    } else {
      entries[at + nextField] = this.heads[bucket]!;
      this.heads[bucket] = entry;
    }
  }

  // Rebuilds the bucket chains at twice the width, entry included.
  private rehash(): void {
    const width = this.heads.length * 2;
    this.heads = this.scratch.int32(int32Slot.memoHeads, width).fill(-1);
    this.mask = width - 1;
    const entries = this.entries;
    for (let entry = 0; entry < this.count; entry++) {
      const bucket = entries[entry * fields]! & this.mask;
      entries[entry * fields + nextField] = this.heads[bucket]!;
      this.heads[bucket] = entry;
    }
  }
}

const fields = 5;
const nextField = 1;
const highField = 2;
const sizeField = 3;
const zerosField = 4;

// Appends every non-member of `set` below `high` to `out` from `at`; returns the new end.
function collectZeros(set: Int32Array | Uint32Array, high: number, out: Int32Array, at: number): number {
  const lastWord = (high - 1) >>> 5;
  for (let word = 0; word <= lastWord; word++) {
    let missing = ~set[word]!;
    if (word === lastWord && (high & 31) !== 0) missing &= (1 << (high & 31)) - 1;
    while (missing !== 0) {
      const low = missing & -missing;
      out[at++] = (word << 5) + (31 - Math.clz32(low));
      missing ^= low;
    }
  }
  return at;
}
