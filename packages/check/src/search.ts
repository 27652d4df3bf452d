import { assert, type HistoryOperation } from "@concord/core";
import { Memo } from "./memo.ts";
import type { Model } from "./model.ts";

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
  const n = operations.length;
  const head = 2 * n;
  const { next, prev, tryRank } = linkEvents(operations);
  const inputs: I[] = new Array<I>(n);
  const outputs: (O | undefined)[] = new Array<O | undefined>(n);
  const readOnly = new Uint8Array(n);
  const zobrist = new Int32Array(n);
  let seed = 0x2545f491;
  for (let i = 0; i < n; i++) {
    const operation = operations[i]!;
    inputs[i] = operation.input;
    outputs[i] = operation.status === "ok" ? operation.output : undefined;
    readOnly[i] = model.readOnly?.(operation.input, outputs[i]) === true ? 1 : 0;
    seed = xorshift32(seed);
    zobrist[i] = seed;
  }

  const linearized = new Uint32Array((n + 31) >>> 5);
  // The stack: one frame per linearized operation, holding what undoes it and
  // the parent node's remaining candidates (a slice of `candidates`).
  const stackEntry = new Int32Array(n);
  const stackHigh = new Int32Array(n);
  const stackState: S[] = new Array<S>(n);
  const stackHash = new Int32Array(n);
  const stackCursor = new Int32Array(n);
  const stackEnd = new Int32Array(n);
  let candidates: Int32Array = new Int32Array(1024);
  const memo = new Memo<S>((a, b) => model.equal(a, b));

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
        if (end === candidates.length) candidates = grown(candidates, end + 1);
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
      const newStateHash = newState === state ? stateHash : model.hash(newState) | 0;
      const newHigh = entry + 1 > high ? entry + 1 : high;
      const key = (newSetHash ^ Math.imul(newStateHash, 0x9e3779b1)) | 0;
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

function grown(array: Int32Array, atLeast: number): Int32Array {
  const bigger = new Int32Array(Math.max(array.length * 2, atLeast));
  bigger.set(array);
  return bigger;
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
function rankByMidpoint(times: Float64Array, n: number): Int32Array {
  const midpoints = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const returnUs = times[n + i]!;
    midpoints[i] = returnUs === Number.POSITIVE_INFINITY ? times[i]! : (times[i]! + returnUs) / 2;
  }
  const order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => midpoints[a]! - midpoints[b]! || a - b);
  const rank = new Int32Array(n);
  for (let k = 0; k < n; k++) rank[order[k]!] = k;
  return rank;
}

// Builds the event list: calls and returns ordered by time, a call before a
// return at the same time (so touching operations count as concurrent, as in
// porcupine), and an indeterminate operation's return at infinity. Entry i < n
// is operation i's call, entry n + i its return, entry 2n the head.
function linkEvents<I, O>(operations: readonly HistoryOperation<I, O>[]): {
  next: Int32Array;
  prev: Int32Array;
  tryRank: Int32Array;
} {
  const n = operations.length;
  const times = new Float64Array(2 * n);
  const order = new Int32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const operation = operations[i]!;
    times[i] = operation.invokeUs;
    const returns = operation.status === "ok" && operation.completeUs !== undefined;
    times[n + i] = returns ? operation.completeUs! : Number.POSITIVE_INFINITY;
    order[i] = i;
    order[n + i] = n + i;
  }
  order.sort((a, b) => {
    const byTime = times[a]! - times[b]!;
    if (byTime !== 0 && !Number.isNaN(byTime)) return byTime;
    const aReturn = a >= n ? 1 : 0;
    const bReturn = b >= n ? 1 : 0;
    return aReturn !== bReturn ? aReturn - bReturn : a - b;
  });
  const next = new Int32Array(2 * n + 1);
  const prev = new Int32Array(2 * n + 1);
  let last = 2 * n;
  prev[last] = noEntry;
  for (let k = 0; k < order.length; k++) {
    const entry = order[k]!;
    next[last] = entry;
    prev[entry] = last;
    last = entry;
  }
  next[last] = noEntry;
  return { next, prev, tryRank: rankByMidpoint(times, n) };
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

function xorshift32(x: number): number {
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  return x | 0;
}
