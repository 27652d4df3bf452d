/**
 * Scratch lends the search its typed arrays across searches. A typed array of
 * more than a few elements has a backing store outside the JavaScript heap
 * that only a garbage collection frees, so a search that allocated its dozen
 * arrays anew would spend more time collecting them than searching when it
 * checks many small histories (porcupine's etcd corpus: about 80 operations
 * each). Each slot keeps its largest array up to `keptElementsMax` elements;
 * the arrays it lends are views of that length with stale contents, which
 * the borrower initializes.
 *
 * Invariant: a Scratch has one borrower at a time ({@link borrowScratch}
 * hands out the idle one, or a new one while it is lent).
 */
export class Scratch {
  private readonly int32s: (Int32Array | undefined)[] = [];
  private readonly float64s: (Float64Array | undefined)[] = [];

  /** int32 lends slot `slot` as an Int32Array of `length` elements, contents unspecified. */
  int32(slot: number, length: number): Int32Array {
    let buffer = this.int32s[slot];
    if (buffer === undefined || buffer.length < length) {
      buffer = new Int32Array(Math.max(length, 2 * (buffer?.length ?? 0), 64));
      if (buffer.length <= keptElementsMax) this.int32s[slot] = buffer;
    }
    return buffer.length === length ? buffer : buffer.subarray(0, length);
  }

  /** grownInt32 lends slot `slot` at `length` elements holding `old`'s contents first (old may be the slot's own array). */
  grownInt32(slot: number, old: Int32Array, length: number): Int32Array {
    const buffer = this.int32s[slot];
    if (buffer !== undefined && buffer.length >= length) {
      const view = buffer.subarray(0, length);
      // A view from the start of the slot's own array already holds old's contents.
      if (buffer.buffer !== old.buffer || old.byteOffset !== 0) view.set(old);
      return view;
    }
    const bigger = new Int32Array(Math.max(length, 2 * old.length));
    bigger.set(old);
    if (bigger.length <= keptElementsMax) this.int32s[slot] = bigger;
    return bigger.length === length ? bigger : bigger.subarray(0, length);
  }

  /** float64 lends slot `slot` as a Float64Array of `length` elements, contents unspecified. */
  float64(slot: number, length: number): Float64Array {
    let buffer = this.float64s[slot];
    if (buffer === undefined || buffer.length < length) {
      buffer = new Float64Array(Math.max(length, 2 * (buffer?.length ?? 0), 64));
      if (buffer.length <= keptElementsMax) this.float64s[slot] = buffer;
    }
    return buffer.length === length ? buffer : buffer.subarray(0, length);
  }
}

/** Slots: the memo's and the search's arrays, each its own. */
export const int32Slot = {
  memoHeads: 0,
  memoEntries: 1,
  memoZeros: 2,
  sortFrom: 3,
  sortTo: 4,
  next: 5,
  prev: 6,
  rank: 7,
  readOnly: 8,
  zobrist: 9,
  linearized: 10,
  stackEntry: 11,
  stackHigh: 12,
  stackHash: 13,
  stackCursor: 14,
  stackEnd: 15,
  candidates: 16,
} as const;

export const float64Slot = { times: 0, midpoints: 1 } as const;

/** keptElementsMax bounds what a slot keeps between searches (1 MB of Int32): a huge search's arrays are left to the collector. */
const keptElementsMax = 1 << 18;

let idle: Scratch | undefined;

/** borrowScratch takes the idle Scratch (or a new one, when it is lent: a search within a search); give it back with {@link returnScratch}. */
export function borrowScratch(): Scratch {
  const scratch = idle ?? new Scratch();
  idle = undefined;
  return scratch;
}

/** returnScratch makes `scratch` the idle one again. */
export function returnScratch(scratch: Scratch): void {
  idle = scratch;
}
