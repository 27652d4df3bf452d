import {
  ClientOutbox,
  ClientSession,
  type Client,
  type ClientContext,
  type ClientReady,
  type NodeId,
  type SubmitOptions,
  type SubmitResult,
  readLevelCode,
  readLevelOf,
} from "@concord/core";
import { Authenticator } from "./authenticator.ts";
import { hex } from "./bytes.ts";
import type { PbftMessage, PbftReply, PbftRequest } from "./messages.ts";
import { parsePbftOptions, type PbftOptions } from "./options.ts";
import { Quorums } from "./quorum.ts";

/** PbftPending is the PBFT client's record of its outstanding request. */
interface PbftPending {
  request: PbftRequest;
  /** ordered is false while a read-only request waits for 2f+1 unordered replies. */
  ordered: boolean;
  /** stale marks a stale read: the first authentic reply of any replica answers it, and it is never ordered. */
  readonly stale: boolean;
  /** replies holds, per replica, the hex of the result it sent and its view. */
  readonly replies: Map<NodeId, { resultHex: string; view: number }>;
}

/**
 * PbftClient is the client side of PBFT (PBFT §4.1): it sends a request to
 * the primary it believes in, accepts a result once f+1 replicas (at least
 * one of them correct) send the same one, and on timeout broadcasts the
 * request to every replica, which relay it and start their view-change timers.
 * A read-only request goes to every replica and needs 2f+1 matching replies;
 * without them in time it is retried as an ordered request. A stale read
 * goes to every replica too and takes the first authentic reply (whichever
 * replica answers first, from its executed state): it trusts one replica, so
 * a Byzantine one can feed it any value. The session, the
 * outstanding request, giving up and the Ready are core's ClientOutbox, as
 * for the leader-based protocols.
 */
export class PbftClient implements Client<PbftMessage> {
  readonly id: NodeId;
  private readonly quorums: Quorums;
  private readonly replicas: readonly NodeId[];
  private readonly auth: Authenticator;
  private readonly options: PbftOptions;
  private viewGuess = 0;
  private readonly outbox: ClientOutbox<PbftMessage, PbftPending>;

  constructor(context: ClientContext) {
    this.id = context.id;
    this.replicas = context.replicas;
    this.quorums = new Quorums(context.replicas);
    this.options = parsePbftOptions(context.options);
    this.auth = new Authenticator(context.crypto, context.id, context.replicas, this.options.authentication);
    this.outbox = new ClientOutbox(new ClientSession(context), this.options.clientGiveUpTicks);
  }

  /** sessionKey is the key of this client object's session (thesis §6.3). */
  get sessionKey(): number {
    return this.outbox.sessionKey;
  }

  submit(command: Uint8Array, options: SubmitOptions): SubmitResult {
    const stale = readLevelOf(options) === "stale";
    const unordered = options.readOnly && (stale || this.options.readOnlyOptimization);
    const submitted = this.outbox.open((sequence) => ({
      request: this.auth.sealRequest({ type: "request", clientId: this.id, session: this.outbox.sessionKey, sequence, command, readOnly: unordered, readLevel: stale ? readLevelCode("stale") : 0, macs: [] }),
      ordered: !unordered,
      stale,
      replies: new Map(),
    }));
    const pending = this.outbox.request();
    if (submitted.kind !== "accepted" || pending === undefined) return submitted;
    if (unordered) this.broadcast(pending.state.request);
    else this.outbox.send(this.quorums.primary(this.viewGuess), pending.state.request);
    return submitted;
  }

  tick(): void {
    const pending = this.outbox.tick();
    if (pending === undefined) return;
    const state = pending.state;
    if (state.stale) {
      // A stale read never waits for agreement: it asks every replica again until one answers.
      if (pending.ticksSinceSend >= this.options.clientRetryTicks) this.broadcast(state.request);
      return;
    }
    if (!state.ordered && pending.ticksSinceSend >= this.options.clientReadTicks) {
      // Concurrent writes kept 2f+1 replies from matching: order the read like a write (thesis §5.1.3).
      state.ordered = true;
      state.replies.clear();
      state.request = this.auth.sealRequest({ ...state.request, readOnly: false, macs: [] });
      this.broadcast(state.request);
      return;
    }
    if (state.ordered && pending.ticksSinceSend >= this.options.clientRetryTicks) this.broadcast(state.request);
  }

  step(from: NodeId, message: PbftMessage): void {
    const pending = this.outbox.request()?.state;
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
    if (matching < (pending.stale ? 1 : pending.ordered ? this.quorums.weak : this.quorums.quorum)) return;
    // f+1 matching replies include a correct replica, whose view is a safe lower bound.
    // One reply (a stale read's) may come from a faulty replica: only f+1 move the view guess.
    if (matching >= this.quorums.weak) this.viewGuess = Math.max(this.viewGuess, lowestView);
    this.outbox.complete(message.result);
  }

  ready(): ClientReady<PbftMessage> | undefined {
    return this.outbox.ready();
  }

  advance(done: ClientReady<PbftMessage>): void {
    this.outbox.advance(done);
  }

  outstanding(): boolean {
    return this.outbox.outstanding();
  }

  private acceptable(from: NodeId, reply: PbftReply, pending: PbftPending): boolean {
    if (reply.replica !== from || reply.clientId !== this.id || reply.sequence !== pending.request.sequence) return false;
    // A reply for an earlier client object with this id answers another session's request.
    if (reply.session !== this.outbox.sessionKey) return false;
    // An ordered request counts only ordered replies; a read counts either kind.
    if (pending.ordered && reply.readOnly) return false;
    return this.auth.verifyReply(from, reply);
  }

  private broadcast(request: PbftRequest): void {
    for (const replica of this.replicas) this.outbox.send(replica, request);
  }
}

/** createPbftClient builds a {@link PbftClient}. */
export function createPbftClient(context: ClientContext): PbftClient {
  return new PbftClient(context);
}
