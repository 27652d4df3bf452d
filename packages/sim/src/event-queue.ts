import { assert } from "@concord/core";

/**
 * EventQueue is a binary min-heap of events ordered by (time, sequence), over
 * preallocated parallel arrays: no object or closure per event beyond the
 * optional payload the caller passes. Equal times pop in insertion order,
 * which makes runs deterministic. `P` is the payload's type (the simulator
 * queues its typed events as payloads).
 */
export class EventQueue<P = unknown> {
  private times: Float64Array;
  private sequences: Float64Array;
  private kinds: Uint8Array;
  private nodes: Int32Array;
  private payloads: (P | undefined)[];
  private count = 0;
  private nextSequence = 0;

  constructor(initialCapacity = 1024) {
    this.times = new Float64Array(initialCapacity);
    this.sequences = new Float64Array(initialCapacity);
    this.kinds = new Uint8Array(initialCapacity);
    this.nodes = new Int32Array(initialCapacity);
    this.payloads = new Array<P | undefined>(initialCapacity);
  }

  /** size counts queued events. */
  get size(): number {
    return this.count;
  }

  /** push queues an event of `kind` for `node` at `timeUs`. */
  push(timeUs: number, kind: number, node: number, payload: P | undefined): void {
    assert(Number.isFinite(timeUs) && timeUs >= 0, () => `event time must be finite and non-negative, got ${timeUs}`);
    if (this.count === this.times.length) this.grow();
    let index = this.count++;
    const sequence = this.nextSequence++;
    // Sift up, moving parents down until the slot fits.
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.less(timeUs, sequence, parent)) break;
      this.move(parent, index);
      index = parent;
    }
    this.times[index] = timeUs;
    this.sequences[index] = sequence;
    this.kinds[index] = kind;
    this.nodes[index] = node;
    this.payloads[index] = payload;
  }

  /** peekTime returns the time of the earliest event, or Infinity when empty. */
  peekTime(): number {
    return this.count === 0 ? Number.POSITIVE_INFINITY : (this.times[0] as number);
  }

  /** The fields of the event that `pop` removed last. */
  poppedTimeUs = 0;
  poppedKind = 0;
  poppedNode = 0;
  poppedPayload: P | undefined = undefined;

  /** pop removes the earliest event into the `popped*` fields; false when empty. */
  pop(): boolean {
    if (this.count === 0) return false;
    this.poppedTimeUs = this.times[0] as number;
    this.poppedKind = this.kinds[0] as number;
    this.poppedNode = this.nodes[0] as number;
    this.poppedPayload = this.payloads[0];
    const last = --this.count;
    if (last > 0) {
      const time = this.times[last] as number;
      const sequence = this.sequences[last] as number;
      const kind = this.kinds[last] as number;
      const node = this.nodes[last] as number;
      const payload = this.payloads[last];
      let index = 0;
      for (;;) {
        const left = 2 * index + 1;
        if (left >= last) break;
        const right = left + 1;
        const child = right < last && this.lessIndex(right, left) ? right : left;
        if (!this.less(this.times[child] as number, this.sequences[child] as number, index, time, sequence)) break;
        this.move(child, index);
        index = child;
      }
      this.times[index] = time;
      this.sequences[index] = sequence;
      this.kinds[index] = kind;
      this.nodes[index] = node;
      this.payloads[index] = payload;
    }
    this.payloads[last] = undefined;
    return true;
  }

  /** less tells whether (time, sequence) sorts before the event at `index` (or before the explicit pair). */
  private less(time: number, sequence: number, index: number, otherTime?: number, otherSequence?: number): boolean {
    const t = otherTime ?? (this.times[index] as number);
    const s = otherSequence ?? (this.sequences[index] as number);
    return time < t || (time === t && sequence < s);
  }

  private lessIndex(a: number, b: number): boolean {
    return this.less(this.times[a] as number, this.sequences[a] as number, b);
  }

  private move(from: number, to: number): void {
    this.times[to] = this.times[from] as number;
    this.sequences[to] = this.sequences[from] as number;
    this.kinds[to] = this.kinds[from] as number;
    this.nodes[to] = this.nodes[from] as number;
    this.payloads[to] = this.payloads[from];
  }

  private grow(): void {
    const capacity = this.times.length * 2;
    const times = new Float64Array(capacity);
    times.set(this.times);
    const sequences = new Float64Array(capacity);
    sequences.set(this.sequences);
    const kinds = new Uint8Array(capacity);
    kinds.set(this.kinds);
    const nodes = new Int32Array(capacity);
    nodes.set(this.nodes);
    this.times = times;
    this.sequences = sequences;
    this.kinds = kinds;
    this.nodes = nodes;
    this.payloads.length = capacity;
  }
}
