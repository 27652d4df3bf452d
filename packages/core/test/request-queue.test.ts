// RequestQueue: a leader's queue of client requests waiting for a log position,
// with the per-session mark that keeps a retry from being proposed twice.
import { describe, expect, test } from "vitest";
import { type QueuedRequest, RequestQueue, firstClientId } from "@concord/core";

function request(session: number, sequence: number): QueuedRequest {
  return { clientId: firstClientId + session, session, sequence, command: new Uint8Array([sequence]), readOnly: false };
}

describe("RequestQueue", () => {
  test("a request is held from when it is queued until it is settled, through its batch; a retry of it is recognised meanwhile", () => {
    const queue = new RequestQueue(10);
    expect(queue.holds(request(1, 1))).toBe(false);
    expect(queue.add(request(1, 1))).toBe(true);
    expect(queue.holds(request(1, 1))).toBe(true);
    expect(queue.holds(request(1, 2))).toBe(false);
    expect(queue.take(5).map((taken) => taken.sequence)).toEqual([1]);
    expect(queue.length).toBe(0);
    // Taken into a batch (proposed), it is still in flight until it executes.
    expect(queue.holds(request(1, 1))).toBe(true);
    queue.settle(request(1, 1));
    expect(queue.holds(request(1, 1))).toBe(false);
  });

  test("settling an older request of a session leaves the newer one in flight", () => {
    const queue = new RequestQueue(10);
    queue.add(request(1, 1));
    queue.add(request(1, 2));
    queue.settle(request(1, 1));
    expect(queue.holds(request(1, 2))).toBe(true);
  });

  test("batches come off the front in order; a full queue takes nothing more; clear returns what waited and forgets every mark", () => {
    const queue = new RequestQueue(3);
    for (let session = 1; session <= 3; session++) expect(queue.add(request(session, 7))).toBe(true);
    expect(queue.add(request(4, 7))).toBe(false);
    expect(queue.holds(request(4, 7))).toBe(false);
    expect(queue.take(2).map((taken) => taken.session)).toEqual([1, 2]);
    expect(queue.clear().map((waited) => waited.session)).toEqual([3]);
    expect(queue.length).toBe(0);
    for (let session = 1; session <= 3; session++) expect(queue.holds(request(session, 7))).toBe(false);
    expect(() => new RequestQueue(0)).toThrow(/at least one request/);
  });
});
