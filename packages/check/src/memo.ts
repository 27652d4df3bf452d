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
  private keys: Int32Array;
  private nexts: Int32Array;
  private highs: Int32Array;
  private sizes: Int32Array;
  private zeroStarts: Int32Array;
  private readonly states: S[] = [];
  private zeros: Int32Array;
  private zerosUsed = 0;

  constructor(private readonly equal: (a: S, b: S) => boolean) {
    const capacity = 1024;
    this.heads = new Int32Array(capacity).fill(-1);
    this.mask = capacity - 1;
    this.keys = new Int32Array(capacity);
    this.nexts = new Int32Array(capacity);
    this.highs = new Int32Array(capacity);
    this.sizes = new Int32Array(capacity);
    this.zeroStarts = new Int32Array(capacity);
    this.zeros = new Int32Array(4096);
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
  addIfAbsent(key: number, set: Uint32Array, size: number, high: number, state: S): boolean {
    const bucket = key & this.mask;
    for (let entry = this.heads[bucket]!; entry !== -1; entry = this.nexts[entry]!) {
      if (this.keys[entry] !== key || this.highs[entry] !== high || this.sizes[entry] !== size) continue;
      if (!this.equal(this.states[entry]!, state)) continue;
      if (this.sameSet(entry, set, high - size)) return false;
    }
    this.insert(key, bucket, set, size, high, state);
    return true;
  }

  // Two sets of equal size below the same `high` are equal when every
  // non-member of the stored one is a non-member of the probe.
  private sameSet(entry: number, set: Uint32Array, zeroCount: number): boolean {
    const start = this.zeroStarts[entry]!;
    const zeros = this.zeros;
    for (let i = start; i < start + zeroCount; i++) {
      const bit = zeros[i]!;
      if ((set[bit >>> 5]! & (1 << (bit & 31))) !== 0) return false;
    }
    return true;
  }

  private insert(key: number, bucket: number, set: Uint32Array, size: number, high: number, state: S): void {
    if (this.count === this.keys.length) this.grow();
    const entry = this.count++;
    const zeroCount = high - size;
    if (this.zerosUsed + zeroCount > this.zeros.length) {
      const bigger = new Int32Array(Math.max(this.zeros.length * 2, this.zerosUsed + zeroCount));
      bigger.set(this.zeros.subarray(0, this.zerosUsed));
      this.zeros = bigger;
    }
    this.zeroStarts[entry] = this.zerosUsed;
    if (zeroCount > 0) this.zerosUsed = collectZeros(set, high, this.zeros, this.zerosUsed);
    this.keys[entry] = key;
    this.highs[entry] = high;
    this.sizes[entry] = size;
    this.states[entry] = state;
    if (this.count > (this.heads.length >>> 1) + (this.heads.length >>> 2)) {
      this.rehash();
    } else {
      this.nexts[entry] = this.heads[bucket]!;
      this.heads[bucket] = entry;
    }
  }

  private grow(): void {
    const capacity = this.keys.length * 2;
    this.keys = resized(this.keys, capacity);
    this.nexts = resized(this.nexts, capacity);
    this.highs = resized(this.highs, capacity);
    this.sizes = resized(this.sizes, capacity);
    this.zeroStarts = resized(this.zeroStarts, capacity);
  }

  // Rebuilds the bucket chains at twice the width, entry included.
  private rehash(): void {
    const width = this.heads.length * 2;
    this.heads = new Int32Array(width).fill(-1);
    this.mask = width - 1;
    for (let entry = 0; entry < this.count; entry++) {
      const bucket = this.keys[entry]! & this.mask;
      this.nexts[entry] = this.heads[bucket]!;
      this.heads[bucket] = entry;
    }
  }
}

function resized(array: Int32Array, capacity: number): Int32Array {
  const bigger = new Int32Array(capacity);
  bigger.set(array);
  return bigger;
}

// Appends every non-member of `set` below `high` to `out` from `at`; returns the new end.
function collectZeros(set: Uint32Array, high: number, out: Int32Array, at: number): number {
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
