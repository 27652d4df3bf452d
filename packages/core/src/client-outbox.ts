import type { ClientReady, Completion, SubmitResult } from "./client.ts";
import type { ClientSession } from "./client-session.ts";
import { assert } from "./errors.ts";
import type { NodeId } from "./ids.ts";
import type { Outbound } from "./replica.ts";
import { overloaded, timedOut } from "./results.ts";

/** OutstandingRequest is the one request a client has in flight: its sequence, the protocol's own record of it, and its clocks. */
export interface OutstandingRequest<R> {
  /** sequence numbers the request in the client's session. */
  readonly sequence: number;
  /** state is the protocol's own record of the request: the message it resends, the replies it has counted. */
  readonly state: R;
  /** ticksSinceSend counts the client's ticks since the request was last sent. */
  ticksSinceSend: number;
  /** ticksSinceSubmit counts the client's ticks since the request was submitted. */
  ticksSinceSubmit: number;
}

/**
 * ClientOutbox is the part of a client that every protocol shares (the
 * leader client of solo, Raft and Multi-Paxos, and PBFT's): the session's
 * sequence numbers, the one outstanding request and its clocks, the give-up
 * rule, and the `ready`/`advance` contract over the messages to send and the
 * completions to report. A protocol's client adds only where it sends and
 * when a reply counts.
 *
 * Invariant: at most one request is outstanding (Client's contract), and
 * every completion reports the sequence of the request it ends.
 */
export class ClientOutbox<M, R> {
  private current: OutstandingRequest<R> | undefined;
  private messages: Outbound<M>[] = [];
  private completions: Completion[] = [];

  /** giveUpTicks: with no result this long after the submit, the request is reported indeterminate (it may have executed). */
  constructor(
    private readonly session: ClientSession,
    private readonly giveUpTicks: number,
  ) {
    assert(giveUpTicks > 0, "a client needs giveUpTicks > 0");
  }

  /** sessionKey is the key of the client object's session. */
  get sessionKey(): number {
    return this.session.key;
  }

  /**
   * open numbers a new request and makes the record `start` builds for that
   * sequence the outstanding request, or refuses: `overloaded` while one is
   * outstanding, or the session's rejection once it has used its last sequence.
   */
  open(start: (sequence: number) => R): SubmitResult {
    if (this.current !== undefined) return { kind: "rejected", rejection: overloaded(1) };
    const next = this.session.next();
    if ("rejection" in next) return { kind: "rejected", rejection: next.rejection };
    this.current = { sequence: next.sequence, state: start(next.sequence), ticksSinceSend: 0, ticksSinceSubmit: 0 };
    return { kind: "accepted", sequence: next.sequence };
  }

  /** request is the outstanding request, if any. */
  request(): OutstandingRequest<R> | undefined {
    return this.current;
  }

  /** send queues `message` to `to` for the outstanding request, whose send clock starts again. */
  send(to: NodeId, message: M): void {
    const current = this.current;
    assert(current !== undefined, "send without an outstanding request");
    current.ticksSinceSend = 0;
    this.messages.push({ to, message });
  }

  /**
   * tick counts one tick of the outstanding request's clocks. It returns the
   * request while it still waits, or undefined when none is outstanding or it
   * has just given up (reported indeterminate: timed out).
   */
  tick(): OutstandingRequest<R> | undefined {
    const current = this.current;
    if (current === undefined) return undefined;
    current.ticksSinceSubmit++;
    current.ticksSinceSend++;
    if (current.ticksSinceSubmit < this.giveUpTicks) return current;
    this.finish({ sequence: current.sequence, outcome: { kind: "indeterminate", rejection: timedOut(current.ticksSinceSubmit) } });
    return undefined;
  }

  /** complete ends the outstanding request with its result. */
  complete(result: Uint8Array): void {
    const current = this.current;
    assert(current !== undefined, "a result without an outstanding request");
    this.finish({ sequence: current.sequence, outcome: { kind: "ok", result } });
  }

  /** ready hands out the messages to send and the completions to report, or undefined when there are none. */
  ready(): ClientReady<M> | undefined {
    if (this.messages.length === 0 && this.completions.length === 0) return undefined;
    return { messages: this.messages, completions: this.completions };
  }

  /** advance drops what `done` handed out (sent and reported by the runtime); a stale Ready drops nothing newer. */
  advance(done: ClientReady<M>): void {
    if (done.messages === this.messages) this.messages = [];
    if (done.completions === this.completions) this.completions = [];
  }

  /** outstanding tells whether a request is in flight. */
  outstanding(): boolean {
    return this.current !== undefined;
  }

  private finish(completion: Completion): void {
    this.current = undefined;
    this.completions.push(completion);
  }
}
