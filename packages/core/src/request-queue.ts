import { assert } from "./errors.ts";
import type { NodeId } from "./ids.ts";

/** QueuedRequest is a client request a leader holds until it gives it a log position: what a log entry keeps of it. */
export interface QueuedRequest {
  /** clientId is the client the reply goes to. */
  readonly clientId: NodeId;
  /** session is the client object's session key, the session table's key. */
  readonly session: number;
  /** sequence is the request's number in its session. */
  readonly sequence: number;
  /** command is the encoded state machine command. */
  readonly command: Uint8Array;
  /** readOnly marks a read. */
  readonly readOnly: boolean;
}

/**
 * RequestQueue is a leader's front door for client requests, between the
 * session table (which answers a retry of an executed request) and the log:
 * the requests waiting for a log position, at most `capacity` of them, and,
 * per session, the request queued or proposed and not yet executed, so that a
 * client's retry of it is neither queued nor proposed twice. Multi-Paxos's
 * leader and VR's primary keep the same one.
 *
 * Invariant: every queued request is marked in flight for its session.
 */
export class RequestQueue {
  private waiting: QueuedRequest[] = [];
  /** inflight maps a session to the sequence queued or proposed for it and not yet executed. */
  private readonly inflight = new Map<number, number>();

  constructor(private readonly capacity: number) {
    assert(Number.isSafeInteger(capacity) && capacity >= 1, () => `a request queue holds at least one request, not ${capacity}`);
  }

  /** length is how many requests wait for a log position. */
  get length(): number {
    return this.waiting.length;
  }

  /** holds tells whether this request of its session is queued, or proposed and not yet executed. */
  holds(request: Pick<QueuedRequest, "session" | "sequence">): boolean {
    return this.inflight.get(request.session) === request.sequence;
  }

  /** add queues the request and marks it in flight; with the queue full it queues nothing and returns false. */
  add(request: QueuedRequest): boolean {
    if (this.waiting.length >= this.capacity) return false;
    const { clientId, session, sequence, command, readOnly } = request;
    this.waiting.push({ clientId, session, sequence, command, readOnly });
    this.inflight.set(session, sequence);
    return true;
  }

  /** take removes up to `count` requests from the front, for one batch; they stay in flight until settled. */
  take(count: number): QueuedRequest[] {
    return this.waiting.splice(0, count);
  }

  /** settle ends a request's flight: it executed, or the proposal that carried it was given up. A later request of its session is unaffected. */
  settle(request: Pick<QueuedRequest, "session" | "sequence">): void {
    if (this.inflight.get(request.session) === request.sequence) this.inflight.delete(request.session);
  }

  /** clear drops every waiting request and every in-flight mark (the leader stepped down), and returns the requests that waited. */
  clear(): QueuedRequest[] {
    const waited = this.waiting;
    this.waiting = [];
    this.inflight.clear();
    return waited;
  }
}
