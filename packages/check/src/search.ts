import { assert, type HistoryOperation } from "@concord/core";
import { Memo } from "./memo.ts";
import type { Model } from "./model.ts";
import { type Scratch, borrowScratch, float64Slot, int32Slot, returnScratch } from "./scratch.ts";

/** Deepest is where a failed search got furthest: the prefix it ordered, the state after it, and the frontier it could not pass. */
export interface Deepest<S> {
  /** order lists operation indexes in the order they were linearized. */
  readonly order: Int32Array;
  readonly state: S;
  /** blocking is the operation whose return the search reached with it still pending. */
  readonly blocking: number;
  /** pending lists the operations invoked before that return and not yet linearized; none can take effect from `state`. */
  readonly pending: readonly number[];
}

/** SearchOutcome is the result of searching one partition. */
export type SearchOutcome<S> =
  | { readonly kind: "linearizable"; readonly order: Int32Array; readonly steps: number }
  | { readonly kind: "illegal"; readonly deepest: Deepest<S>; readonly steps: number }
  | { readonly kind: "gave-up"; readonly why: "steps" | "time" | "memory"; readonly steps: number };

const noEntry = -1;
const stepsBetweenClockReads = 1024;
/** memoEntriesMax bounds the memo (about 40 bytes an entry), so that a hopeless search ends as "unknown", not out of memory. */
const memoEntriesMax = 10_000_000;

/**
 * searchLinearization decides whether `operations` (one partition, sorted by
 * invocation time) can be linearized against `model`: the Wing and Gong depth
 * first search over the operations that may take effect next (Wing and Gong,
 * "Testing and verifying concurrent objects", 1993), with Lowe's memo of
 * (linearized set, state) pairs already expanded (Lowe 2017, §4), as in
 * porcupine's checkSingle. Call and return events live in one doubly linked
 * list over typed arrays; linearizing an operation lifts its call and return
 * out of the list and backtracking puts them back (dancing links).
 *
 * At each node the candidates are the calls before the first return. A legal
 * read-only candidate is taken alone (it decides the node, see below); the
 * others are tried in the order of their intervals' midpoints.
 *
 * An operation with `status` "info" (or no completion) returns at infinity and
 * accepts any output; an "ok" operation without output accepts any output
 * between its invocation and completion. "fail" operations must be left out by
 * the caller. The search gives up after `stepLimit` steps (deterministic: the
 * same history gives up at the same step on any machine), past `deadlineMs` on
 * the clock `now` reads (the wall-clock safety net, read every 1,024 steps), or
 * with the memo full (deterministic too).
 */
export function searchLinearization<S, I, O>(
  model: Model<S, I, O>,
  operations: readonly HistoryOperation<I, O>[],
  stepLimit: number,
  deadlineMs: number,
  now: () => number,
): SearchOutcome<S> {
  const scratch = borrowScratch();
  try {
    return search(model, operations, stepLimit, deadlineMs, now, scratch);
  } finally {
    returnScratch(scratch);
  }
}

function search<S, I, O>(
  model: Model<S, I, O>,
  operations: readonly HistoryOperation<I, O>[],
  stepLimit: number,
  deadlineMs: number,
  now: () => number,
  scratch: Scratch,
): SearchOutcome<S> {
  const n = operations.length;
  const head = 2 * n;
  const { next, prev, tryRank } = linkEvents(operations, scratch);
  const inputs: I[] = new Array<I>(n);
  const outputs: (O | undefined)[] = new Array<O | undefined>(n);
  const readOnly = scratch.int32(int32Slot.readOnly, n);
  const zobrist = scratch.int32(int32Slot.zobrist, n);
  let seed = 0x2545f491;
  for (let i = 0; i < n; i++) {
    const operation = operations[i]!;
    inputs[i] = operation.input;
    outputs[i] = operation.status === "ok" ? operation.output : undefined;
    readOnly[i] = model.readOnly?.(operation.input, outputs[i]) === true ? 1 : 0;
    seed = xorshift32(seed);
    zobrist[i] = seed;
  }

  const linearized = scratch.int32(int32Slot.linearized, (n + 31) >>> 5).fill(0);
  // The stack: one frame per linearized operation, holding what undoes it and
  // the parent node's remaining candidates (a slice of `candidates`).
  const stackEntry = scratch.int32(int32Slot.stackEntry, n);
  const stackHigh = scratch.int32(int32Slot.stackHigh, n);
  const stackState: S[] = new Array<S>(n);
  const stackHash = scratch.int32(int32Slot.stackHash, n);
  const stackCursor = scratch.int32(int32Slot.stackCursor, n);
  const stackEnd = scratch.int32(int32Slot.stackEnd, n);
  let candidates = scratch.int32(int32Slot.candidates, Math.min(1024, 2 * n + 16));
  // A search memoizes at least one entry per operation; most histories need a few times that.
  const memo = new Memo<S>((a, b) => model.equal(a, b), 4 * n, scratch);

  let depth = 0;
  let high = 0;
  let setHash = 0;
  let state = model.init();
  let stateHash = model.hash(state) | 0;
  let bestDepth = -1;
  let best: Deepest<S> | undefined;
  let steps = 0;
  // The current node's candidates are candidates[cursor, end).
  let cursor = 0;
  let end = 0;
  let fresh = true;
  // Whether candidates[cursor] is a read already stepped legal from `state`.
  let readDecides = false;

  search: while (next[head] !== noEntry) {
    if (steps >= stepLimit) return { kind: "gave-up", why: "steps", steps };
    if (++steps % stepsBetweenClockReads === 0) {
      if (now() > deadlineMs) return { kind: "gave-up", why: "time", steps };
      if (memo.size > memoEntriesMax) return { kind: "gave-up", why: "memory", steps };
    }
    if (fresh) {
      // A new node: its candidates are the calls before the first return.
      fresh = false;
      const start = end;
      for (let entry = next[head]!; entry < n; entry = next[entry]!) {
        if (end === candidates.length) candidates = scratch.grownInt32(int32Slot.candidates, candidates, 2 * candidates.length);
        if (readOnly[entry] !== 1) {
          candidates[end++] = entry;
        } else if (model.step(state, inputs[entry]!, outputs[entry]).ok) {
          // A legal pending read decides this node (see the backtracking
          // below): it is the only candidate, and it leaves the state as it is.
          candidates[start] = entry;
          end = start + 1;
          readDecides = true;
          break;
        }
      }
      cursor = start;
      if (!readDecides) sortByRank(candidates, start, end, tryRank);
    }
    if (cursor < end) {
      const entry = candidates[cursor++]!;
      let newState = state;
      if (readDecides) {
        readDecides = false;
      } else {
        const result = model.step(state, inputs[entry]!, outputs[entry]);
        if (!result.ok) continue;
        newState = result.state;
      }
      const word = entry >>> 5;
      const bit = 1 << (entry & 31);
      linearized[word]! |= bit;
      const newSetHash = setHash ^ zobrist[entry]!;
      const newStateHash =
        newState === state ? stateHash : (model.hashAfter === undefined ? model.hash(newState) : model.hashAfter(stateHash, state, inputs[entry]!, newState)) | 0;
      const newHigh = entry + 1 > high ? entry + 1 : high;
      // The memo's buckets take the key's low bits: mix the state hash's high bits into them.
      const key = newSetHash ^ mix32(newStateHash);
      if (memo.addIfAbsent(key, linearized, depth + 1, newHigh, newState)) {
        stackEntry[depth] = entry;
        stackHigh[depth] = high;
        stackState[depth] = state;
        stackHash[depth] = stateHash;
        stackCursor[depth] = cursor;
        stackEnd[depth] = end;
        depth++;
        high = newHigh;
        setHash = newSetHash;
        state = newState;
        stateHash = newStateHash;
        lift(entry, n, next, prev);
        fresh = true;
        continue;
      }
      linearized[word]! &= ~bit;
      continue;
    }
    // Every candidate failed: a dead end, since the first return's operation
    // had to be linearized before it.
    if (depth > bestDepth) {
      bestDepth = depth;
      best = deepestHere(stackEntry, depth, state, n, next);
    }
    // Backtrack. A legal pending read decides its node: whenever a
    // linearization exists from a node, one exists that starts with any legal
    // pending read (moving a read earlier, to a point where it is pending and
    // legal, keeps every later state and every real-time order), so the read
    // is the node's only candidate and its failure is the node's.
    if (depth === 0) break search;
    depth--;
    const undone = stackEntry[depth]!;
    high = stackHigh[depth]!;
    state = stackState[depth]!;
    stateHash = stackHash[depth]!;
    cursor = stackCursor[depth]!;
    end = stackEnd[depth]!;
    setHash ^= zobrist[undone]!;
    linearized[undone >>> 5]! &= ~(1 << (undone & 31));
    unlift(undone, n, next, prev);
  }
  if (next[head] === noEntry) return { kind: "linearizable", order: stackEntry.slice(0, depth), steps };
  // Invariant: the search fails only by backtracking out of the root, which it does only from a dead end.
  assert(best !== undefined, "the search failed without reaching a dead end");
  return { kind: "illegal", deepest: best, steps };
}

// Orders candidates[start, end) by `rank`, lowest first.
function sortByRank(candidates: Int32Array, start: number, end: number, rank: Int32Array): void {
  if (end - start > 32) {
    candidates.subarray(start, end).sort((a, b) => rank[a]! - rank[b]!);
    return;
  }
  for (let i = start + 1; i < end; i++) {
    const value = candidates[i]!;
    const valueRank = rank[value]!;
    let j = i - 1;
    while (j >= start && rank[candidates[j]!]! > valueRank) {
      candidates[j + 1] = candidates[j]!;
      j--;
    }
    candidates[j + 1] = value;
  }
}

function deepestHere<S>(stackEntry: Int32Array, depth: number, state: S, n: number, next: Int32Array): Deepest<S> {
  const pending: number[] = [];
  let entry = next[2 * n]!;
  for (; entry < n; entry = next[entry]!) pending.push(entry);
  return { order: stackEntry.slice(0, depth), state, blocking: entry - n, pending };
}

// Ranks operations by the midpoints of their intervals (an indeterminate one
// by its invocation): the order in which the search tries candidates. Any
// order is correct; this one guesses the real order of effects well (measured
// on generated and simulated histories against invocation and return order).
function rankByMidpoint(times: Float64Array, n: number, scratch: Scratch): Int32Array {
  const midpoints = scratch.float64(float64Slot.midpoints, n);
  for (let i = 0; i < n; i++) {
    const returnUs = times[n + i]!;
    midpoints[i] = returnUs === Number.POSITIVE_INFINITY ? times[i]! : (times[i]! + returnUs) / 2;
  }
  const order = sortedByKey(midpoints, n, scratch);
  const rank = scratch.int32(int32Slot.rank, n);
  for (let k = 0; k < n; k++) rank[order[k]!] = k;
  return rank;
}

// Builds the event list: calls and returns ordered by time, a call before a
// return at the same time (so touching operations count as concurrent, as in
// porcupine), and an indeterminate operation's return at infinity. Entry i < n
// is operation i's call, entry n + i its return, entry 2n the head.
function linkEvents<I, O>(operations: readonly HistoryOperation<I, O>[], scratch: Scratch): {
  next: Int32Array;
  prev: Int32Array;
  tryRank: Int32Array;
} {
  const n = operations.length;
  const times = scratch.float64(float64Slot.times, 2 * n);
  for (let i = 0; i < n; i++) {
    const operation = operations[i]!;
    times[i] = operation.invokeUs;
    const returns = operation.status === "ok" && operation.completeUs !== undefined;
    times[n + i] = returns ? operation.completeUs! : Number.POSITIVE_INFINITY;
  }
  // By time, ties by entry: calls (entries below n) before returns, each in operation order.
  const order = sortedByKey(times, 2 * n, scratch);
  const next = scratch.int32(int32Slot.next, 2 * n + 1);
  const prev = scratch.int32(int32Slot.prev, 2 * n + 1);
  let last = 2 * n;
  prev[last] = noEntry;
  for (let k = 0; k < order.length; k++) {
    const entry = order[k]!;
    next[last] = entry;
    prev[entry] = last;
    last = entry;
  }
  next[last] = noEntry;
  // (The event order is used up: the rank's sort may reuse its arrays.)
  return { next, prev, tryRank: rankByMidpoint(times, n, scratch) };
}

/**
 * sortedByKey returns the indexes 0 to count - 1 ordered by `keys` (no NaN),
 * ties in index order: a stable bottom-up merge sort, its comparisons inline
 * (a typed array's sort with a comparator calls a closure per comparison).
 * The result is one of the scratch's sort arrays: valid until the next sort.
 */
export function sortedByKey(keys: Float64Array, count: number, scratch: Scratch): Int32Array {
  let from = scratch.int32(int32Slot.sortFrom, count);
  let to = scratch.int32(int32Slot.sortTo, count);
  for (let i = 0; i < count; i++) from[i] = i;
  // Runs already in order cost one comparison each: events arrive nearly sorted.
  for (let width = 1; width < count; width *= 2) {
    for (let low = 0; low < count; low += 2 * width) {
      const middle = Math.min(low + width, count);
      const high = Math.min(low + 2 * width, count);
      let left = low;
      let right = middle;
      let out = low;
      if (middle < high && keys[from[middle - 1]!]! <= keys[from[middle]!]!) {
        for (let i = low; i < high; i++) to[i] = from[i]!;
        continue;
      }
      while (left < middle && right < high) {
        const a = from[left]!;
        const b = from[right]!;
        if (keys[b]! < keys[a]!) {
          to[out++] = b;
          right++;
        } else {
          to[out++] = a;
          left++;
        }
      }
      while (left < middle) to[out++] = from[left++]!;
      while (right < high) to[out++] = from[right++]!;
    }
    const swap = from;
    from = to;
    to = swap;
  }
  return from;
}

function lift(call: number, n: number, next: Int32Array, prev: Int32Array): void {
  next[prev[call]!] = next[call]!;
  prev[next[call]!] = prev[call]!;
  const ret = call + n;
  const before = prev[ret]!;
  const after = next[ret]!;
  next[before] = after;
  if (after !== noEntry) prev[after] = before;
}

function unlift(call: number, n: number, next: Int32Array, prev: Int32Array): void {
  const ret = call + n;
  const before = prev[ret]!;
  const after = next[ret]!;
  next[before] = ret;
  if (after !== noEntry) prev[after] = ret;
  next[prev[call]!] = call;
  prev[next[call]!] = call;
}

// murmur3's 32-bit finalizer: every input bit reaches every output bit.
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return x ^ (x >>> 16);
}

function xorshift32(x: number): number {
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  return x | 0;
}
