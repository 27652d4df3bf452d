import type { NodeId } from "./ids.ts";
import type { Replica } from "./replica.ts";

/** InvariantViolation is one broken safety property, found while a run was in progress. */
export interface InvariantViolation {
  readonly invariant: string;
  readonly timeUs: number;
  readonly message: string;
}

/** MonitorEventContext tells a monitor when an event happened and whether its node is Byzantine. */
export interface MonitorEventContext {
  readonly timeUs: number;
  /** faulty is true when the node runs a Byzantine strategy: its claims prove nothing. */
  readonly faulty: boolean;
}

/**
 * InvariantMonitor watches a run for a protocol's safety properties (at most
 * one leader per term, one value chosen per slot, ...). The runtime calls it
 * after every event of every replica, and for every message sent.
 */
export interface InvariantMonitor<M> {
  readonly name: string;
  /** observeSend sees every message a replica sends (before any fault touches it). */
  observeSend?(from: NodeId, to: NodeId, message: M, context: MonitorEventContext): void;
  /** observeReplica inspects a replica after it handled an event. */
  observeReplica?(replica: Replica<M>, context: MonitorEventContext): void;
  /** violations lists what has been broken so far. */
  violations(): readonly InvariantViolation[];
}
