import type { InvariantViolation, NodeId } from "@concord/core";
import { SimEventQueue } from "./events.ts";
import type { Fault, Scenario } from "./scenario.ts";

/** usPerMs converts milliseconds of virtual time to the microseconds the simulator counts in. */
export const usPerMs = 1000;

/** usPerSecond converts seconds of virtual time to microseconds. */
export const usPerSecond = 1_000_000;

/** msToUs rounds a duration in milliseconds to whole microseconds. */
export function msToUs(ms: number): number {
  return Math.round(ms * usPerMs);
}

/**
 * FaultWindow is one fault as it acted, for reports and for figures measured
 * around faults (recovery time, availability on each side of a partition):
 * when it began, its kind, the replicas it hit, and when it was lifted.
 */
export interface FaultWindow {
  /** atMs: when the fault acted, in milliseconds of virtual time from the start of the run (warm-up included). */
  readonly atMs: number;
  readonly kind: Fault["type"];
  /** nodes: the replicas it hit (for a transfer or membership change, the leader that was asked). */
  readonly nodes: readonly NodeId[];
  /**
   * untilMs: when it was lifted (its end, a restart, or the heal); `atMs` for an action that has no duration; NaN
   * (null in JSON) for a crash that outlasts the heal (`outlastsHeal`), whose replica is down to the end of the run.
   */
  untilMs: number;
  /** clients: for a partition, the clients cut off with the isolated replicas (for a client restart, the client). */
  readonly clients?: readonly NodeId[];
}

/**
 * SimContext is what every part of one run shares: the virtual clock, the
 * event queue, the resolved scenario, and the run's written record (the
 * fault log, the faults that did nothing, the broken invariants).
 */
export class SimContext {
  /** nowUs is the virtual time of the event being handled. */
  nowUs = 0;
  readonly queue = new SimEventQueue();
  readonly faultLog: string[] = [];
  /** faultWindows lists each fault that acted, in the order they acted; a window still open has `untilMs` NaN until it is lifted. */
  readonly faultWindows: FaultWindow[] = [];
  /** ineffective lists every fault that had no effect, with why. */
  readonly ineffective: string[] = [];
  readonly violations: InvariantViolation[] = [];

  constructor(readonly scenario: Scenario) {}

  /** logFault writes one line of the fault log, stamped with the time in milliseconds. */
  logFault(what: string, nodes: readonly NodeId[], detail: string): void {
    const who = nodes.length > 0 ? ` node${nodes.length > 1 ? "s" : ""} ${nodes.join(",")}` : "";
    this.logLine(`${what}${who}${detail === "" ? "" : ` ${detail}`}`);
  }

  /**
   * openFault records that a fault acted now on `nodes`; it stays open until `closeFault` (an action without a
   * duration is closed at once by passing `instant`).
   */
  openFault(kind: Fault["type"], nodes: readonly NodeId[], instant: boolean, clients?: readonly NodeId[]): FaultWindow {
    const atMs = this.nowUs / usPerMs;
    const window: FaultWindow = { atMs, kind, nodes: [...nodes], untilMs: instant ? atMs : Number.NaN, ...(clients !== undefined ? { clients: [...clients] } : {}) };
    this.faultWindows.push(window);
    return window;
  }

  /** closeFault marks a fault lifted now (a window already closed keeps its time). */
  closeFault(window: FaultWindow | undefined): void {
    if (window !== undefined && Number.isNaN(window.untilMs)) window.untilMs = this.nowUs / usPerMs;
  }

  /** closeAllFaults lifts every window still open but those `stillOpen` keeps: the heal. */
  closeAllFaults(stillOpen: (window: FaultWindow) => boolean): void {
    for (const window of this.faultWindows) if (!stillOpen(window)) this.closeFault(window);
  }

  /** logLine writes one line of the fault log as it is, stamped with the time. */
  logLine(line: string): void {
    this.faultLog.push(`${this.stampMs()} ms: ${line}`);
  }

  /** noEffect lists a fault that did nothing, so that a report shows what a run really exercised. */
  noEffect(fault: Fault, why: string): void {
    this.ineffective.push(`${this.stampMs()} ms: ${fault.type} (${JSON.stringify(fault)}): ${why}`);
  }

  /** violation records a broken invariant now. */
  violation(invariant: string, message: string): void {
    this.violations.push({ invariant, timeUs: this.nowUs, message });
  }

  private stampMs(): string {
    return (this.nowUs / usPerMs).toFixed(3);
  }
}
