import { AssertionError, type NodeId } from "@concord/core";
import { EventQueue } from "./event-queue.ts";
import type { FaultRecord, WaitingCut } from "./faults.ts";
import type { TimedCrash } from "./crashes.ts";
import type { MessageArrival } from "./message-trace.ts";

/** Delivery is a message in flight to a node, as it waits in the node's socket buffer. */
export interface Delivery {
  readonly from: NodeId;
  readonly message: unknown;
  readonly bytes: number;
  /** arrival: this copy's record in the run's message trace, when the run records one (marked received when a live process takes it). */
  readonly arrival?: MessageArrival;
}

/**
 * SimEvent is one thing that happens at a moment of virtual time. Each kind
 * carries what its handler needs; the run loop switches on `kind`
 * exhaustively.
 */
export type SimEvent =
  /** deliver: a message arrives at `to` (the event is itself the Delivery that may wait in an inbox). */
  | (Delivery & { readonly kind: "deliver"; readonly to: NodeId })
  /** tick: one tick of a node's clock (each node has one such object, queued again on every tick). */
  | { readonly kind: "tick"; readonly node: NodeId }
  /** sync-done: the disk finished the sync a node's Ready waits for (ignored by a later incarnation). */
  | { readonly kind: "sync-done"; readonly node: NodeId; readonly incarnation: number }
  /** drain: carry out what the messages of this instant produced, once they are all stepped. */
  | { readonly kind: "drain"; readonly node: NodeId; readonly incarnation: number }
  /** cpu-free: a node's CPU is free again to take the messages that waited for it. */
  | { readonly kind: "cpu-free"; readonly node: NodeId }
  /** byzantine-send: a message a Byzantine strategy chose to delay leaves now. */
  | { readonly kind: "byzantine-send"; readonly from: NodeId; readonly to: NodeId; readonly message: unknown }
  /** fault: the scenario's fault at `index` fires. */
  | { readonly kind: "fault"; readonly index: number }
  /** fault-end: a fault with a duration ends (a crash's restart, a pause's resume, a partition's heal). */
  | { readonly kind: "fault-end"; readonly record: FaultRecord }
  /** next-leader-cut: a cut that waited for the next leader strikes now, afterLeadsMs after `node` first led `epoch`. */
  | { readonly kind: "next-leader-cut"; readonly cut: WaitingCut; readonly node: NodeId; readonly epoch: number }
  /** race-step: the next stage of a held race (held-races.ts), or the end of one of its windows, comes now. */
  | { readonly kind: "race-step"; readonly step: () => void }
  /** timed-crash: a drawn moment inside `node`'s sync window, for a crash waiting for unsynced writes. */
  | { readonly kind: "timed-crash"; readonly crash: TimedCrash; readonly node: NodeId; readonly incarnation: number }
  /** timed-crash-deadline: the end of a timed crash's window; it strikes now if its moment never came. */
  | { readonly kind: "timed-crash-deadline"; readonly crash: TimedCrash }
  /** client-next: a closed-loop client's think time is over. */
  | { readonly kind: "client-next"; readonly client: NodeId }
  /** arrival: the next open-loop arrival. */
  | { readonly kind: "arrival" }
  /** heal-all: the scenario's faults all end; the liveness phase begins. */
  | { readonly kind: "heal-all" }
  /** watchdog: the periodic liveness check. */
  | { readonly kind: "watchdog" };

/**
 * eventsQueuedMax bounds the events waiting in one run. A run holds a few per
 * node and per message in flight; past a million something is looping (a
 * replica answering every message with several), and the run stops loudly
 * rather than eating the machine's memory.
 */
export const eventsQueuedMax = 1_000_000;

/** SimEventQueue is the run's event queue: typed events ordered by (time, sequence), bounded by {@link eventsQueuedMax}. */
export class SimEventQueue {
  private readonly heap = new EventQueue<SimEvent>();
  /** poppedTimeUs is the time of the event `pop` returned last. */
  poppedTimeUs = 0;

  /** push queues `event` at `timeUs`. */
  push(timeUs: number, event: SimEvent): void {
    // Checked before building a message, so that the hottest call allocates nothing.
    if (this.heap.size >= eventsQueuedMax) throw new AssertionError(`more than ${eventsQueuedMax} events queued (the newest a ${event.kind}): the run is looping`);
    // The heap's kind and node columns are unused: the event carries both.
    this.heap.push(timeUs, 0, 0, event);
  }

  /** pop removes and returns the earliest event, or undefined when none is left. */
  pop(): SimEvent | undefined {
    if (!this.heap.pop()) return undefined;
    this.poppedTimeUs = this.heap.poppedTimeUs;
    return this.heap.poppedPayload;
  }
}
