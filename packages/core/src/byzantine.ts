import type { Client } from "./client.ts";
import type { Crypto } from "./crypto.ts";
import type { NodeId } from "./ids.ts";
import type { Outbound, Replica } from "./replica.ts";
import type { Rng } from "./rng.ts";

/** ByzantineOutbound is a message a faulty replica sends, optionally held back by `delayUs`. */
export interface ByzantineOutbound<M> extends Outbound<M> {
  readonly delayUs?: number;
}

/** ByzantineContext is what a strategy knows: itself, its peers, its own keys, its honest replica and time. */
export interface ByzantineContext<M> {
  readonly self: NodeId;
  readonly replicas: readonly NodeId[];
  readonly rng: Rng;
  readonly crypto: Crypto;
  readonly replica: Replica<M>;
  readonly timeUs: number;
}

/**
 * ByzantineStrategy wraps a replica's honest code and lies on its behalf: it
 * may drop, delay, corrupt, equivocate (different messages to different
 * peers) or replay. It sees every message the honest code wants to send.
 */
export interface ByzantineStrategy<M> {
  readonly name: string;
  outbound(messages: readonly Outbound<M>[], context: ByzantineContext<M>): ByzantineOutbound<M>[];
  /** inbound may hide or alter what the faulty replica receives; undefined drops the message. */
  inbound?(from: NodeId, message: M, context: ByzantineContext<M>): M | undefined;
}

/** ByzantineStrategyDefinition names a strategy a protocol offers, with a factory for each faulty node. */
export interface ByzantineStrategyDefinition<M> {
  readonly name: string;
  readonly description: string;
  create(self: NodeId): ByzantineStrategy<M>;
}

/**
 * ByzantineClient is a faulty client: a Client, whose own operations run
 * honestly and are judged with the others', that the runtime also lets
 * overhear what the other clients send (requests travel in clear: an
 * authenticator proves who sent a request, it does not hide it), and that
 * sends requests of its own making beside its operations.
 */
export interface ByzantineClient<M> extends Client<M> {
  /** strategy names what the faulty client does. */
  readonly strategy: string;
  /** overhear hands it a message another client sent. */
  overhear(from: NodeId, message: M): void;
}
