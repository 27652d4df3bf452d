import { assert } from "./errors.ts";
import type { NodeId } from "./ids.ts";
import type { Outbound, Ready, Replica, ReplicaStatus } from "./replica.ts";
import type { DurableState, Storage } from "./storage.ts";

/**
 * SendMessages is how a runtime hands the messages of a synced Ready to its
 * network: `from` is the host's replica, `messages` are all of the Ready's
 * messages or the part of them the runtime chose to release. The host never
 * calls it with an empty list.
 */
export type SendMessages<M> = (from: NodeId, messages: readonly Outbound<M>[]) => void;

/** ReplicaHostCounts is what one {@link ReplicaHost} did since it booted. */
export interface ReplicaHostCounts {
  /** readies counts the Readies taken from the replica. */
  readonly readies: number;
  /** recordsPersisted counts the records appended to the storage. */
  readonly recordsPersisted: number;
  /** bytesPersisted sums the payload bytes of those records (without the storage's framing). */
  readonly bytesPersisted: number;
  /** syncs counts the storage syncs: one per Ready that wrote a record or a snapshot, none for the others. */
  readonly syncs: number;
  /** snapshots counts the snapshots staged to the storage. */
  readonly snapshots: number;
  /** messagesSent counts the messages handed to the send callback. */
  readonly messagesSent: number;
}

/**
 * ReplicaHostPhase is where the host stands in the Ready it has in flight:
 * `idle` (none), `written` (its snapshot and records are written, not yet
 * synced), `synced` (durable: its messages may leave), `released` (its
 * messages were handed to the network: it waits for `advance`).
 */
export type ReplicaHostPhase = "idle" | "written" | "synced" | "released";

/** drainReadiesMax bounds the Readies one `drain()` carries out, so that a replica that never goes quiet fails loudly instead of spinning. */
export const drainReadiesMax = 10_000;

/**
 * ReplicaHost owns the Ready contract (see {@link Ready}) for one replica: a
 * runtime adds only its clock, its network and its disk. It is pure: no I/O
 * of its own, no timers, no clock; the `Storage` and the send callback are
 * the runtime's.
 *
 * A runtime whose sync returns at once calls `drain()`. A runtime whose sync
 * takes time (the simulator's virtual disk, a group commit) splits a Ready:
 * `begin()` takes it and writes it unsynced, `synced()` reports the sync done,
 * `release()` hands its messages (or a chosen part of them) to the network,
 * `advance()` tells the replica. A crash is the runtime dropping the host
 * and booting a new one from what its storage recovers.
 *
 * Invariant: no message of a Ready's `messages` leaves before its snapshot and records
 * are synced (`release` refuses).
 * Invariant: between taking a Ready and advancing it, nothing else reaches
 * the replica (`tick`, `step` and `status` refuse): ticks and messages that
 * arrive meanwhile wait in the runtime.
 */
export class ReplicaHost<M> {
  /**
   * replica is the hosted replica, for readers that need the object itself
   * (invariant monitors, admin hooks, Byzantine strategies). Drive it only
   * through the host: a call between `begin()` and `advance()` breaks the
   * replica's contract.
   */
  readonly replica: Replica<M>;
  private readonly storage: Storage;
  private readonly send: SendMessages<M>;
  private inflightReady: Ready<M> | undefined;
  private currentPhase: ReplicaHostPhase = "idle";
  /** durable: the Ready in flight wrote a snapshot or a record, so it needs a storage sync. */
  private durable = false;
  private readonly tally = { readies: 0, recordsPersisted: 0, bytesPersisted: 0, syncs: 0, snapshots: 0, messagesSent: 0 };

  /** The constructor hosts a replica already built; `boot` builds one from what the storage recovers. */
  constructor(replica: Replica<M>, storage: Storage, send: SendMessages<M>) {
    this.replica = replica;
    this.storage = storage;
    this.send = send;
  }

  /**
   * boot recovers the durable state from `storage` and builds the replica
   * from it with `create`: how a runtime starts a replica, the first time and
   * after every crash.
   */
  static boot<M>(storage: Storage, create: (durable: DurableState) => Replica<M>, send: SendMessages<M>): ReplicaHost<M> {
    return new ReplicaHost(create(storage.recover()), storage, send);
  }

  /** id is the hosted replica's id. */
  get id(): NodeId {
    return this.replica.id;
  }

  /** phase tells where the Ready in flight stands ("idle": none). */
  get phase(): ReplicaHostPhase {
    return this.currentPhase;
  }

  /** inflight is the Ready taken and not yet advanced, if any. */
  get inflight(): Ready<M> | undefined {
    return this.inflightReady;
  }

  /** busy tells whether a Ready is in flight: ticks and messages must wait. */
  get busy(): boolean {
    return this.inflightReady !== undefined;
  }

  /** unsynced tells whether the Ready in flight wrote a snapshot or records that are not yet synced (a crash now loses them). */
  get unsynced(): boolean {
    return this.currentPhase === "written" && this.durable;
  }

  /** counts reports what the host did since it booted. */
  get counts(): ReplicaHostCounts {
    return { ...this.tally };
  }

  /** tick hands the replica one tick of its logical clock; refused while a Ready is in flight. */
  tick(): void {
    this.assertIdle("tick");
    this.replica.tick();
  }

  /** step hands the replica one message from `from`; refused while a Ready is in flight. */
  step(from: NodeId, message: M): void {
    this.assertIdle("step");
    this.replica.step(from, message);
  }

  /** status reads the replica's status; refused while a Ready is in flight (the runtime keeps the last one it read). */
  status(): ReplicaStatus {
    this.assertIdle("status");
    return this.replica.status();
  }

  /**
   * drain carries out every Ready the replica has, each whole before the
   * next: write, sync, send, advance. After each advance it asks again,
   * because advancing may give the replica new work (a Raft leader commits
   * once its own entries are synced). It returns how many Readies it
   * carried out. `beforeSync`, when given, is called with each Ready once it
   * is written and its `messagesBeforeSync` handed over, before the sync (a
   * runtime whose network batches writes flushes them there).
   */
  drain(beforeSync?: (ready: Ready<M>) => void): number {
    let count = 0;
    for (let ready = this.begin(); ready !== undefined; ready = this.begin()) {
      count++;
      assert(count <= drainReadiesMax, () => `replica ${this.id} still had work after ${drainReadiesMax} Readies in one drain: it never goes quiet`);
      beforeSync?.(ready);
      this.synced();
      this.release();
      this.advance();
    }
    return count;
  }

  /**
   * begin takes the replica's next Ready, if it has one, and writes it to
   * the storage unsynced: the snapshot staged first, then the records. Until
   * `synced()`, a crash loses both and keeps the previous durable state. The
   * Ready's `messagesBeforeSync` are handed to the network at once.
   */
  begin(): Ready<M> | undefined {
    this.assertIdle("begin");
    const ready = this.replica.ready();
    if (ready === undefined) return undefined;
    const tally = this.tally;
    tally.readies++;
    if (ready.snapshot !== undefined) {
      this.storage.replaceWithSnapshot(ready.snapshot);
      tally.snapshots++;
    }
    for (const record of ready.persist) {
      this.storage.append(record);
      tally.bytesPersisted += record.length;
    }
    tally.recordsPersisted += ready.persist.length;
    this.durable = ready.persist.length > 0 || ready.snapshot !== undefined;
    this.inflightReady = ready;
    this.currentPhase = "written";
    // What the replica declared independent of these records leaves now, in parallel with their sync.
    const early = ready.messagesBeforeSync;
    if (early !== undefined && early.length > 0) {
      tally.messagesSent += early.length;
      this.send(this.replica.id, early);
    }
    return ready;
  }

  /**
   * synced reports that the storage may now make the Ready in flight durable:
   * it syncs the storage (only if the Ready wrote something), after which
   * the Ready's messages may leave.
   */
  synced(): void {
    assert(this.currentPhase === "written", () => `replica ${this.id}: synced() with ${this.describePhase()}; it follows begin()`);
    if (this.durable) {
      this.storage.sync();
      this.tally.syncs++;
    }
    this.currentPhase = "synced";
  }

  /**
   * release hands the messages of the synced Ready in flight to the send
   * callback: all of them, or only `chosen` (some of the Ready's own
   * messages, in the order given), for a runtime that models a crash part-way
   * through sending; the ones left out never leave. Refused before the sync.
   */
  release(chosen?: readonly Outbound<M>[]): void {
    const ready = this.inflightReady;
    assert(ready !== undefined && this.currentPhase !== "released", () => `replica ${this.id}: release() with ${this.describePhase()}; it follows synced()`);
    assert(this.currentPhase === "synced", () => `replica ${this.id}: refusing to send the messages of a Ready whose ${this.durable ? "records are" : "sync is"} not yet synced`);
    const messages = chosen ?? ready.messages;
    if (chosen !== undefined) {
      for (const outbound of chosen) assert(ready.messages.includes(outbound), () => `replica ${this.id}: release() was given a message to ${outbound.to} that is not the Ready's`);
    }
    this.currentPhase = "released";
    if (messages.length === 0) return;
    this.tally.messagesSent += messages.length;
    this.send(this.id, messages);
  }

  /** advance tells the replica that the Ready in flight is done; the host is idle again and the replica may have new work. */
  advance(): void {
    const ready = this.inflightReady;
    assert(ready !== undefined && this.currentPhase === "released", () => `replica ${this.id}: advance() with ${this.describePhase()}; it follows release()`);
    this.inflightReady = undefined;
    this.currentPhase = "idle";
    this.durable = false;
    this.replica.advance(ready);
  }

  private assertIdle(what: string): void {
    assert(this.inflightReady === undefined, () => `replica ${this.id}: ${what}() refused while a Ready is in flight (${this.currentPhase}); the replica's contract forbids any call between ready() and advance()`);
  }

  private describePhase(): string {
    return this.currentPhase === "idle" ? "no Ready in flight" : `the Ready in flight ${this.currentPhase}`;
  }
}
