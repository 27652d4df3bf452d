import { type ByzantineClient, type ClientContext, type ClientReady, ConfigError, type NodeId, type Outbound, type SubmitOptions, type SubmitResult } from "@concord/core";
import { Authenticator } from "./authenticator.ts";
import { PbftClient } from "./client.ts";
import type { PbftMessage, PbftRequest } from "./messages.ts";
import { parsePbftOptions } from "./options.ts";

/** pbftByzantineClientStrategies are what a faulty PBFT client may do (see {@link PbftByzantineClient}). */
export const pbftByzantineClientStrategies: readonly string[] = ["borrow-session"];

/** SessionHeard is what the faulty client overheard of one other client's session. */
interface SessionHeard {
  readonly owner: NodeId;
  firstSequence: number;
  lastSequence: number;
}

/** heardMax bounds the sessions and commands the faulty client remembers. */
const heardMax = 64;

/**
 * PbftByzantineClient is a faulty client. Its own operations run honestly
 * through a {@link PbftClient} in a session of its own, and are judged with
 * every other client's. Beside them, playing "borrow-session", it attacks
 * the other clients' sessions with what it overhears (requests travel in
 * clear): once it has heard two requests of another client's session (so
 * the first was answered, and the session is open at every correct replica
 * that executes what is ordered after it), it sends every replica a request
 * in its own name and with its own authenticator that names that session
 * and the victim's next sequence number, carrying an ordered command (a
 * write, or a read ordered like one) it overheard from a third client (or the
 * victim). Those requests are no operation of the history: nobody invoked
 * them. A session's owner check must leave them without effect (thesis
 * §6.3): otherwise the command is applied where no correct client asked for
 * it, and the victim's own next request is answered from the cache with the
 * borrowed request's result.
 */
export class PbftByzantineClient implements ByzantineClient<PbftMessage> {
  readonly id: NodeId;
  readonly strategy: string;
  private readonly honest: PbftClient;
  private readonly auth: Authenticator;
  private readonly replicas: readonly NodeId[];
  private readonly sessions = new Map<number, SessionHeard>();
  private readonly commands: { readonly from: NodeId; readonly command: Uint8Array }[] = [];
  private attacks: Outbound<PbftMessage>[] = [];
  /** honestReady is the honest client's Ready inside the one handed out last. */
  private honestReady: ClientReady<PbftMessage> | undefined;

  constructor(context: ClientContext, strategy: string) {
    if (!pbftByzantineClientStrategies.includes(strategy)) {
      throw new ConfigError("byzantineClient", `unknown strategy "${strategy}"; allowed: ${pbftByzantineClientStrategies.join(", ")}`);
    }
    this.id = context.id;
    this.strategy = strategy;
    this.replicas = context.replicas;
    this.honest = new PbftClient(context);
    this.auth = new Authenticator(context.crypto, context.id, context.replicas, parsePbftOptions(context.options).authentication);
  }

  submit(command: Uint8Array, options: SubmitOptions): SubmitResult {
    return this.honest.submit(command, options);
  }

  tick(): void {
    this.honest.tick();
  }

  step(from: NodeId, message: PbftMessage): void {
    this.honest.step(from, message);
  }

  outstanding(): boolean {
    return this.honest.outstanding();
  }

  ready(): ClientReady<PbftMessage> | undefined {
    this.honestReady = this.honest.ready();
    if (this.attacks.length === 0) return this.honestReady;
    return { messages: [...(this.honestReady?.messages ?? []), ...this.attacks], completions: this.honestReady?.completions ?? [] };
  }

  advance(_done: ClientReady<PbftMessage>): void {
    this.attacks = [];
    if (this.honestReady !== undefined) this.honest.advance(this.honestReady);
    this.honestReady = undefined;
  }

  overhear(from: NodeId, message: PbftMessage): void {
    if (message.type !== "request" || message.readOnly || message.clientId !== from || from === this.id) return;
    this.noteCommand(from, message.command);
    const heard = this.sessions.get(message.session);
    if (heard === undefined) {
      if (this.sessions.size >= heardMax) this.sessions.delete(this.sessions.keys().next().value as number);
      this.sessions.set(message.session, { owner: from, firstSequence: message.sequence, lastSequence: message.sequence });
      return;
    }
    if (heard.owner !== from || message.sequence <= heard.lastSequence) return;
    heard.lastSequence = message.sequence;
    if (message.sequence > heard.firstSequence) this.borrow(message);
  }

  /** borrow sends every replica a request of its own in the victim's session, at the victim's next sequence number. */
  private borrow(victim: PbftRequest): void {
    const other = this.commands.find((heard) => heard.from !== victim.clientId) ?? this.commands[0];
    if (other === undefined) return;
    const request = this.auth.sealRequest({ ...victim, clientId: this.id, sequence: victim.sequence + 1, command: other.command, macs: [] });
    for (const replica of this.replicas) this.attacks.push({ to: replica, message: request });
  }

  private noteCommand(from: NodeId, command: Uint8Array): void {
    this.commands.unshift({ from, command });
    if (this.commands.length > heardMax) this.commands.pop();
  }
}

/** createPbftByzantineClient builds a {@link PbftByzantineClient}. */
export function createPbftByzantineClient(context: ClientContext, strategy: string): PbftByzantineClient {
  return new PbftByzantineClient(context, strategy);
}
