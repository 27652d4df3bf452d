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
  /**
   * observeHealed tells the monitor that every fault has been lifted now (at the start of the workload when the run
   * has no faults), so that it can judge properties that hold only once the network heals, such as convergence.
   */
  observeHealed?(context: MonitorEventContext): void;
  /**
   * awaiting tells whether the monitor needs the run to go on before it can judge its property (an eventually
   * consistent store not yet converged): the runtime keeps running, up to its limit, while any monitor awaits. A
   * monitor that awaits must itself record a violation once its bound has passed, and then stop awaiting.
   */
  awaiting?(timeUs: number): boolean;
  /** violations lists what has been broken so far. */
  violations(): readonly InvariantViolation[];
}
