import type { NodeId } from "./ids.ts";
import type { Outbound } from "./replica.ts";
import type { Outcome, Rejection } from "./results.ts";

/** Completion reports that the request with `sequence` has ended with `outcome`. */
export interface Completion {
  readonly sequence: number;
  readonly outcome: Outcome;
}

/** ClientReady is what a client needs the runtime to do: send messages and report completions. */
export interface ClientReady<M> {
  readonly messages: readonly Outbound<M>[];
  readonly completions: readonly Completion[];
}

/**
 * ReadLevel is the consistency a read asks for, the PACELC "else" choice
 * between latency and consistency when there is no partition:
 * - `linearizable`: the read sees every write that completed before it began
 *   (Raft's ReadIndex, Multi-Paxos through the log, PBFT's 2f+1 matching
 *   read-only replies); the default;
 * - `lease`: linearizable as long as clocks drift no more than the protocol's
 *   bound, served by a leader holding a lease without a round of messages;
 *   a protocol without leases serves it as `linearizable`;
 * - `stale`: served at once from the applied state of whichever replica the
 *   client reaches (etcd's serializable reads), which may miss completed
 *   writes, so a history holding stale reads promises no linearizability.
 */
export type ReadLevel = "linearizable" | "lease" | "stale";

/** readLevels lists every {@link ReadLevel}, strongest first. */
export const readLevels: readonly ReadLevel[] = ["linearizable", "lease", "stale"];

/** isReadLevel tells whether `value` names a {@link ReadLevel}. */
export function isReadLevel(value: unknown): value is ReadLevel {
  return value === "linearizable" || value === "lease" || value === "stale";
}

/** SubmitOptions describe a request beyond its command bytes. */
export interface SubmitOptions {
  /** readOnly marks a command that does not change state, so that protocols may serve it without a log entry. */
  readonly readOnly: boolean;
  /** readLevel is the consistency a read-only request asks for, `linearizable` when absent; writes ignore it. */
  readonly readLevel?: ReadLevel;
}

/** readLevelOf is the level a request with `options` asks for: its readLevel for a read, `linearizable` for a write. */
export function readLevelOf(options: SubmitOptions): ReadLevel {
  return options.readOnly ? (options.readLevel ?? "linearizable") : "linearizable";
}

/**
 * SubmitResult is the sequence number given to an accepted request, or the
 * rejection of a client that cannot take one now.
 */
export type SubmitResult = { readonly kind: "accepted"; readonly sequence: number } | { readonly kind: "rejected"; readonly rejection: Rejection };

/**
 * Client is the client side of a protocol, a deterministic state machine like
 * {@link Replica}. It carries exactly-once sessions (Raft thesis §6.3): every
 * request has (session, sequence), where the session key is drawn anew by each
 * client object (so a client restarted with its old id starts a fresh session),
 * sequences increase by one up to 2^53 - 1 and never wrap, and at most one
 * request is outstanding at a time (open more clients for more concurrency).
 */
export interface Client<M> {
  readonly id: NodeId;
  /** submit starts a request, or rejects it with `overloaded` while one is outstanding. */
  submit(command: Uint8Array, options: SubmitOptions): SubmitResult;
  tick(): void;
  step(from: NodeId, message: M): void;
  ready(): ClientReady<M> | undefined;
  advance(done: ClientReady<M>): void;
  /** outstanding tells whether a request is in flight. */
  outstanding(): boolean;
}
