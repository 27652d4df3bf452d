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
 * SimContext is what every part of one run shares: the virtual clock, the
 * event queue, the resolved scenario, and the run's written record (the
 * fault log, the faults that did nothing, the broken invariants).
 */
export class SimContext {
  /** nowUs is the virtual time of the event being handled. */
  nowUs = 0;
  readonly queue = new SimEventQueue();
  readonly faultLog: string[] = [];
  /** ineffective lists every fault that had no effect, with why. */
  readonly ineffective: string[] = [];
  readonly violations: InvariantViolation[] = [];

  constructor(readonly scenario: Scenario) {}

  /** logFault writes one line of the fault log, stamped with the time in milliseconds. */
  logFault(what: string, nodes: readonly NodeId[], detail: string): void {
    const who = nodes.length > 0 ? ` node${nodes.length > 1 ? "s" : ""} ${nodes.join(",")}` : "";
    this.logLine(`${what}${who}${detail === "" ? "" : ` ${detail}`}`);
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
