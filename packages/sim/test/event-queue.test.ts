import { describe, expect, test } from "vitest";
import { createRng } from "@concord/core";
import { EventQueue } from "@concord/sim/internals";

interface Pushed {
  readonly timeUs: number;
  readonly order: number;
}

/** drain pops every event and returns (time, payload) pairs in pop order. */
function drain(queue: EventQueue): Pushed[] {
  const out: Pushed[] = [];
  while (queue.pop()) out.push({ timeUs: queue.poppedTimeUs, order: queue.poppedPayload as number });
  return out;
}

describe("EventQueue", () => {
  test.each([1, 2, 3])("pops random pushes in (time, insertion) order, as a stable sort does (seed %i)", (seed) => {
    const rng = createRng(seed);
    const queue = new EventQueue(16);
    const pushed: Pushed[] = [];
    for (let i = 0; i < 5000; i++) {
      // Few distinct times, so that many events tie and insertion order decides.
      const timeUs = rng.nextInt(200);
      pushed.push({ timeUs, order: i });
      queue.push(timeUs, i % 7, i, i);
    }
    const expected = [...pushed].sort((a, b) => a.timeUs - b.timeUs || a.order - b.order);
    expect(drain(queue)).toEqual(expected);
  });

  test("interleaved pushes and pops keep the order of what is queued", () => {
    const rng = createRng(9);
    const queue = new EventQueue(4);
    const pending: Pushed[] = [];
    let order = 0;
    for (let round = 0; round < 8000; round++) {
      if (pending.length === 0 || rng.chance(3, 5)) {
        const timeUs = rng.nextInt(50) + (pending[0]?.timeUs ?? 0);
        pending.push({ timeUs, order });
        queue.push(timeUs, 0, 0, order++);
      } else {
        pending.sort((a, b) => a.timeUs - b.timeUs || a.order - b.order);
        const next = pending.shift() as Pushed;
        expect(queue.pop()).toBe(true);
        expect({ timeUs: queue.poppedTimeUs, order: queue.poppedPayload }).toEqual(next);
      }
      expect(queue.size).toBe(pending.length);
    }
  });

  test("grows past its initial capacity without losing or reordering events, and keeps kind and node", () => {
    const queue = new EventQueue(2);
    for (let i = 999; i >= 0; i--) queue.push(i * 10, i % 11, i + 1_000_000, `event ${i}`);
    expect(queue.size).toBe(1000);
    expect(queue.peekTime()).toBe(0);
    for (let i = 0; i < 1000; i++) {
      expect(queue.pop()).toBe(true);
      expect([queue.poppedTimeUs, queue.poppedKind, queue.poppedNode, queue.poppedPayload]).toEqual([i * 10, i % 11, i + 1_000_000, `event ${i}`]);
    }
    expect(queue.pop()).toBe(false);
    expect(queue.size).toBe(0);
    expect(queue.peekTime()).toBe(Number.POSITIVE_INFINITY);
  });

  test("refuses a negative or non-finite time", () => {
    const queue = new EventQueue();
    expect(() => queue.push(-1, 0, 0, undefined)).toThrow(/finite and non-negative/);
    expect(() => queue.push(Number.NaN, 0, 0, undefined)).toThrow(/finite and non-negative/);
    expect(() => queue.push(Number.POSITIVE_INFINITY, 0, 0, undefined)).toThrow(/finite and non-negative/);
    expect(queue.size).toBe(0);
  });
});
