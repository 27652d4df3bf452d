import type { ClientContext } from "./algorithm.ts";
import type { Client, ClientReady, SubmitOptions, SubmitResult } from "./client.ts";
import { ClientOutbox } from "./client-outbox.ts";
import { ClientSession } from "./client-session.ts";
import { assert } from "./errors.ts";
import type { NodeId } from "./ids.ts";

/** LeaderRequest is what a leader-based client sends: one session request. */
export interface LeaderRequest {
  /** clientId is where replies go. */
  readonly clientId: NodeId;
  /** session is the client object's session key (see ClientSession). */
  readonly session: number;
  readonly sequence: number;
  readonly command: Uint8Array;
  readonly readOnly: boolean;
}

/**
 * LeaderReply is a replica's answer as a leader-based client understands it. A
 * result names its session: a result for the same client id and sequence from
 * an earlier client object's session is not this client's answer.
 */
export type LeaderReply =
  | { readonly kind: "result"; readonly session: number; readonly sequence: number; readonly result: Uint8Array }
  | { readonly kind: "notLeader"; readonly sequence: number; readonly leaderHint: NodeId | undefined };

/** LeaderClientAdapter maps a protocol's own client messages to and from the shared client logic. */
export interface LeaderClientAdapter<M> {
  request(request: LeaderRequest): M;
  /** reply interprets a message as a reply, or returns undefined for anything else. */
  reply(message: M): LeaderReply | undefined;
}

/** LeaderClientTiming bounds how long a leader-based client waits, in its own ticks. */
export interface LeaderClientTiming {
  /** retryTicks: with no answer for this long, resend the request to the next replica. */
  readonly retryTicks: number;
  /** giveUpTicks: with no result for this long, report the request as indeterminate. */
  readonly giveUpTicks: number;
}

/**
 * LeaderClient is the client of a leader-based protocol (solo, Raft,
 * Multi-Paxos), after the Raft thesis §6: send to the believed leader, follow
 * `notLeader` hints, resend the same (clientId, sequence) to the next replica
 * on timeout (the session table makes retries safe), and after `giveUpTicks`
 * report the outcome as indeterminate, since the request may have executed.
 */
export class LeaderClient<M> implements Client<M> {
  readonly id: NodeId;
  private readonly replicas: readonly NodeId[];
  private leaderGuess: NodeId;
  private readonly outbox: ClientOutbox<M, LeaderRequest>;

  constructor(
    context: ClientContext,
    private readonly adapter: LeaderClientAdapter<M>,
    private readonly timing: LeaderClientTiming,
  ) {
    assert(context.replicas.length > 0, "a client needs at least one replica");
    assert(timing.retryTicks > 0 && timing.giveUpTicks >= timing.retryTicks, "client timing: need 0 < retryTicks <= giveUpTicks");
    this.id = context.id;
    this.replicas = context.replicas;
    // The leader guess is drawn before the session key: the order of the client's Rng draws is part of a seed's run.
    this.leaderGuess = context.replicas[context.rng.nextInt(context.replicas.length)] as NodeId;
    this.outbox = new ClientOutbox(new ClientSession(context), timing.giveUpTicks);
  }

  /** sessionKey is the key of this client object's session. */
  get sessionKey(): number {
    return this.outbox.sessionKey;
  }

  submit(command: Uint8Array, options: SubmitOptions): SubmitResult {
    const submitted = this.outbox.open((sequence) => ({ clientId: this.id, session: this.outbox.sessionKey, sequence, command, readOnly: options.readOnly }));
    if (submitted.kind === "accepted") this.send(this.leaderGuess);
    return submitted;
  }

  tick(): void {
    const pending = this.outbox.tick();
    if (pending === undefined || pending.ticksSinceSend < this.timing.retryTicks) return;
    this.leaderGuess = this.nextReplica(this.leaderGuess);
    this.send(this.leaderGuess);
  }

  step(from: NodeId, message: M): void {
    const reply = this.adapter.reply(message);
    const pending = this.outbox.request();
    if (reply === undefined || pending === undefined || reply.sequence !== pending.sequence) return;
    if (reply.kind === "result") {
      if (reply.session !== this.outbox.sessionKey) return; // an earlier client object's answer, sent to the id it shared
      this.leaderGuess = from;
      this.outbox.complete(reply.result);
      return;
    }
    const hint = reply.leaderHint;
    this.leaderGuess = hint !== undefined && hint !== from && this.replicas.includes(hint) ? hint : this.nextReplica(from);
    this.send(this.leaderGuess);
  }

  ready(): ClientReady<M> | undefined {
    return this.outbox.ready();
  }

  advance(done: ClientReady<M>): void {
    this.outbox.advance(done);
  }

  outstanding(): boolean {
    return this.outbox.outstanding();
  }

  private send(to: NodeId): void {
    const pending = this.outbox.request();
    assert(pending !== undefined, "send without a pending request");
    this.outbox.send(to, this.adapter.request(pending.state));
  }

  private nextReplica(after: NodeId): NodeId {
    const index = this.replicas.indexOf(after);
    return this.replicas[(index + 1) % this.replicas.length] as NodeId;
  }
}
