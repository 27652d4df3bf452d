import type { NodeId } from "./ids.ts";

/** Outbound is one message a replica or client asks the runtime to send. */
export interface Outbound<M> {
  readonly to: NodeId;
  readonly message: M;
}

/**
 * Ready is what a replica needs the runtime to do now. The runtime must, in
 * this order:
 * 1. if `snapshot` is set, stage it to replace everything the replica
 *    persisted before (the log is emptied once it is durable);
 * 2. append every record of `persist` and sync them to stable storage: the
 *    staged snapshot and these records become durable together, atomically,
 *    and a crash before the sync keeps the previous durable state whole
 *    (see `Storage`: a write not yet synced never destroys one that was);
 * 3. only then send `messages` (a message may promise what was just persisted:
 *    a vote, an acceptance);
 * 4. call `advance(ready)`.
 *
 * Invariant: the runtime never sends a message of a Ready's `messages` whose
 * records (or snapshot) are not yet synced. `messagesBeforeSync` are the
 * exception the replica declares: messages that promise nothing about this
 * Ready's records, which the runtime sends as soon as the records are written
 * (before step 2's sync), so that the disk write and the network overlap.
 * Invariant: between `ready()` and `advance()` the runtime calls no other
 * method of the replica (messages and ticks that arrive meanwhile wait), so a
 * replica may hand out its own buffers in a Ready and start new ones in
 * `advance()`.
 *
 * Runtimes do not write this loop themselves: `ReplicaHost` (replica-host.ts)
 * carries it out through a `Storage` and a send callback and refuses every
 * step out of this order.
 */
export interface Ready<M> {
  readonly snapshot: Uint8Array | undefined;
  readonly persist: readonly Uint8Array[];
  readonly messages: readonly Outbound<M>[];
  /**
   * messagesBeforeSync may leave before this Ready's records are synced: a
   * replica puts here only messages whose meaning does not depend on those
   * records surviving a crash. Raft's leader sends its log entries to the
   * followers in parallel with writing them to its own disk (Raft thesis
   * §10.2.1; etcd does the same), because it counts its own copy toward a
   * commit only once synced; and answers to clients about entries already
   * committed depend on nothing this Ready writes. A vote, an acknowledgement
   * or a promise never goes here. Sent before `messages`, in this order.
   */
  readonly messagesBeforeSync?: readonly Outbound<M>[];
}

/** ReplicaRole is the role a replica reports; protocols map their own roles onto it. */
export type ReplicaRole = "leader" | "follower" | "candidate" | "learner" | "backup" | "primary" | "stopped";

/**
 * ReplicaStatus is a read-only view of a replica for runtimes, monitors and
 * reports. `epoch` is the protocol's logical clock: Raft's term, the Paxos
 * ballot round, the PBFT view.
 */
export interface ReplicaStatus {
  readonly id: NodeId;
  readonly role: ReplicaRole;
  readonly epoch: number;
  readonly leader: NodeId | undefined;
  /** commitIndex is the highest log position known committed (chosen, committed-local). */
  readonly commitIndex: number;
  /** appliedIndex is the highest log position applied to the state machine. */
  readonly appliedIndex: number;
  /**
   * durableIndex is the log position through which the replica's state is kept
   * as a snapshot or stable checkpoint on its disk (Raft's snapshot index, the
   * Multi-Paxos compaction slot, PBFT's stable checkpoint): once the Ready that
   * carried it is synced, a restart from that disk recovers at least this much.
   * A runtime checks it as it checks `epoch`. Undefined when the protocol keeps
   * no such point.
   */
  readonly durableIndex?: number;
}

/**
 * Replica is one consensus participant as a synchronous, I/O-free,
 * deterministic state machine (the etcd-io/raft model). Its inputs are the
 * calls below; its only outputs are what `ready()` returns. Time, randomness,
 * network and disk belong to the runtime that drives it.
 */
export interface Replica<M> {
  readonly id: NodeId;
  /** tick advances the replica's logical clock by one tick. */
  tick(): void;
  /** step hands the replica one message that arrived from `from`. */
  step(from: NodeId, message: M): void;
  /** ready returns the work the runtime must do now, or undefined if there is none. */
  ready(): Ready<M> | undefined;
  /** advance tells the replica that the runtime has done `done` (the value `ready()` returned). */
  advance(done: Ready<M>): void;
  /** status reports role, epoch, leader and commit point. */
  status(): ReplicaStatus;
}
