import type { ClientContext } from "./algorithm.ts";
import { type Client, type ClientReady, readLevelOf, type SubmitOptions, type SubmitResult } from "./client.ts";
import { ClientOutbox } from "./client-outbox.ts";
import { ClientSession } from "./client-session.ts";
import { clientAnswerOf, type ClientRequestMessage, type ClientWireMessage, readLevelCode } from "./client-wire.ts";
import { assert } from "./errors.ts";
import type { NodeId } from "./ids.ts";

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
 * It speaks core's client wire (client-wire.ts), which every such protocol's
 * message union `M` includes, so no protocol needs an adapter; it ignores
 * every other message of `M`.
 */
export class LeaderClient<M extends { readonly type: string } = ClientWireMessage> implements Client<M | ClientRequestMessage> {
  readonly id: NodeId;
  private readonly replicas: readonly NodeId[];
  private leaderGuess: NodeId;
  private readonly outbox: ClientOutbox<M | ClientRequestMessage, ClientRequestMessage>;

  constructor(
    context: ClientContext,
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
    const submitted = this.outbox.open(
      (sequence): ClientRequestMessage => ({
        type: "clientRequest",
        clientId: this.id,
        session: this.outbox.sessionKey,
        sequence,
        command,
        readOnly: options.readOnly,
        readLevel: readLevelCode(readLevelOf(options)),
      }),
    );
    if (submitted.kind === "accepted") this.send(this.leaderGuess);
    return submitted;
  }

  tick(): void {
    const pending = this.outbox.tick();
    if (pending === undefined || pending.ticksSinceSend < this.timing.retryTicks) return;
    this.leaderGuess = this.nextReplica(this.leaderGuess);
    this.send(this.leaderGuess);
  }

  step(from: NodeId, message: M | ClientRequestMessage): void {
    const answer = clientAnswerOf(message);
    const pending = this.outbox.request();
    if (answer === undefined || pending === undefined || answer.sequence !== pending.sequence) return;
    if (answer.type === "clientReply") {
      if (answer.session !== this.outbox.sessionKey) return; // an earlier client object's answer, sent to the id it shared
      this.leaderGuess = from;
      this.outbox.complete(answer.result);
      return;
    }
    const hint = answer.hasLeaderHint ? answer.leaderHint : undefined;
    this.leaderGuess = hint !== undefined && hint !== from && this.replicas.includes(hint) ? hint : this.nextReplica(from);
    this.send(this.leaderGuess);
  }

  ready(): ClientReady<M | ClientRequestMessage> | undefined {
    return this.outbox.ready();
  }

  advance(done: ClientReady<M | ClientRequestMessage>): void {
    this.outbox.advance(done);
  }

  outstanding(): boolean {
    return this.outbox.outstanding();
  }

  private send(to: NodeId): void {
    const pending = this.outbox.request();
    assert(pending !== undefined, "send without a pending request");
    this.outbox.send(to, pending.state);
  }

  private nextReplica(after: NodeId): NodeId {
    const index = this.replicas.indexOf(after);
    return this.replicas[(index + 1) % this.replicas.length] as NodeId;
  }
}
