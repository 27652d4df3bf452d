import {
  ClientSession,
  assert,
  overloaded,
  timedOut,
  type Client,
  type ClientContext,
  type ClientReady,
  type Completion,
  type NodeId,
  type Outbound,
  type SubmitOptions,
  type SubmitResult,
} from "@concord/core";
import { Authenticator } from "./authenticator.ts";
import { hex } from "./bytes.ts";
import type { PbftMessage, PbftReply, PbftRequest } from "./messages.ts";
import { parsePbftOptions, type PbftOptions } from "./options.ts";
import { Quorums } from "./quorum.ts";

interface PendingRequest {
  request: PbftRequest;
  /** ordered is false while a read-only request waits for 2f+1 unordered replies. */
  ordered: boolean;
  /** replies holds, per replica, the hex of the result it sent and its view. */
  readonly replies: Map<NodeId, { resultHex: string; view: number }>;
  ticksSinceSend: number;
  ticksSinceSubmit: number;
}

/**
 * PbftClient is the client side of PBFT (PBFT §4.1): it sends a request to
 * the primary it believes in, accepts a result once f+1 replicas (at least
 * one of them correct) send the same one, and on timeout broadcasts the
 * request to every replica, which relay it and start their view-change timers.
 * A read-only request goes to every replica and needs 2f+1 matching replies;
 * without them in time it is retried as an ordered request.
 */
export class PbftClient implements Client<PbftMessage> {
  readonly id: NodeId;
  private readonly quorums: Quorums;
  private readonly replicas: readonly NodeId[];
  private readonly auth: Authenticator;
  private readonly options: PbftOptions;
  private viewGuess = 0;
  private readonly session: ClientSession;
  private pending: PendingRequest | undefined;
  private outbox: Outbound<PbftMessage>[] = [];
  private completions: Completion[] = [];

  constructor(context: ClientContext) {
    this.id = context.id;
    this.replicas = context.replicas;
    this.quorums = new Quorums(context.replicas);
    this.options = parsePbftOptions(context.options);
    this.auth = new Authenticator(context.crypto, context.id, context.replicas, this.options.authentication);
    this.session = new ClientSession(context);
  }

  /** sessionKey is the key of this client object's session (thesis §6.3). */
  get sessionKey(): number {
    return this.session.key;
  }

  submit(command: Uint8Array, options: SubmitOptions): SubmitResult {
    if (this.pending !== undefined) return { kind: "rejected", rejection: overloaded(1) };
    const next = this.session.next();
    if ("rejection" in next) return { kind: "rejected", rejection: next.rejection };
    const { sequence } = next;
    const unordered = options.readOnly && this.options.readOnlyOptimization;
    const request = this.auth.sealRequest({ type: "request", clientId: this.id, session: this.session.key, sequence, command, readOnly: unordered, macs: [] });
    this.pending = { request, ordered: !unordered, replies: new Map(), ticksSinceSend: 0, ticksSinceSubmit: 0 };
    if (unordered) this.broadcast(request);
    else this.send(this.quorums.primary(this.viewGuess), request);
    return { kind: "accepted", sequence };
  }

  tick(): void {
    const pending = this.pending;
    if (pending === undefined) return;
    pending.ticksSinceSubmit++;
    pending.ticksSinceSend++;
    if (pending.ticksSinceSubmit >= this.options.clientGiveUpTicks) {
      this.finish({ sequence: pending.request.sequence, outcome: { kind: "indeterminate", rejection: timedOut(pending.ticksSinceSubmit) } });
      return;
    }
    if (!pending.ordered && pending.ticksSinceSend >= this.options.clientReadTicks) {
      // Concurrent writes kept 2f+1 replies from matching: order the read like a write (thesis §5.1.3).
      pending.ordered = true;
      pending.replies.clear();
      pending.request = this.auth.sealRequest({ ...pending.request, readOnly: false, macs: [] });
      this.broadcast(pending.request);
      return;
    }
    if (pending.ordered && pending.ticksSinceSend >= this.options.clientRetryTicks) this.broadcast(pending.request);
  }

  step(from: NodeId, message: PbftMessage): void {
    const pending = this.pending;
    if (message.type !== "reply" || pending === undefined) return;
    if (!this.acceptable(from, message, pending)) return;
    const resultHex = hex(message.result);
    pending.replies.set(from, { resultHex, view: message.view });
    let matching = 0;
    let lowestView = Number.POSITIVE_INFINITY;
    for (const reply of pending.replies.values()) {
      if (reply.resultHex !== resultHex) continue;
      matching++;
      lowestView = Math.min(lowestView, reply.view);
    }
    if (matching < (pending.ordered ? this.quorums.weak : this.quorums.quorum)) return;
    // f+1 matching replies include a correct replica, whose view is a safe lower bound.
    this.viewGuess = Math.max(this.viewGuess, lowestView);
    this.finish({ sequence: pending.request.sequence, outcome: { kind: "ok", result: message.result } });
  }

  ready(): ClientReady<PbftMessage> | undefined {
    if (this.outbox.length === 0 && this.completions.length === 0) return undefined;
    return { messages: this.outbox, completions: this.completions };
  }

  advance(done: ClientReady<PbftMessage>): void {
    if (done.messages === this.outbox) this.outbox = [];
    if (done.completions === this.completions) this.completions = [];
  }

  outstanding(): boolean {
    return this.pending !== undefined;
  }

  private acceptable(from: NodeId, reply: PbftReply, pending: PendingRequest): boolean {
    if (reply.replica !== from || reply.clientId !== this.id || reply.sequence !== pending.request.sequence) return false;
    // A reply for an earlier client object with this id answers another session's request.
    if (reply.session !== this.session.key) return false;
    // An ordered request counts only ordered replies; a read counts either kind.
    if (pending.ordered && reply.readOnly) return false;
    return this.auth.verifyReply(from, reply);
  }

  private send(to: NodeId, request: PbftRequest): void {
    const pending = this.pending;
    assert(pending !== undefined, "send without a pending request");
    pending.ticksSinceSend = 0;
    this.outbox.push({ to, message: request });
  }

  private broadcast(request: PbftRequest): void {
    const pending = this.pending;
    assert(pending !== undefined, "broadcast without a pending request");
    pending.ticksSinceSend = 0;
    for (const replica of this.replicas) this.outbox.push({ to: replica, message: request });
  }

  private finish(completion: Completion): void {
    this.pending = undefined;
    this.completions.push(completion);
  }
}
