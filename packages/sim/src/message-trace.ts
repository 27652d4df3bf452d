import type { NodeId } from "@concord/core";
import { usPerMs } from "./context.ts";

/**
 * MessageTraceWindow asks a run to record its messages (off by default): those
 * sent from `fromMs` to `toMs`, in milliseconds of virtual time from the start
 * of the run (warm-up included, the clock of `faults` windows).
 */
export interface MessageTraceWindow {
  /** fromMs: the first moment whose sends are recorded (default 0). */
  readonly fromMs?: number;
  /** toMs: the last moment whose sends are recorded (default: the end of the run). */
  readonly toMs?: number;
  /** messagesMax: stop recording after this many (a bound on memory); the trace says it was cut. */
  readonly messagesMax?: number;
}

/**
 * MessageArrival is one copy of a message reaching its receiver (a duplicated
 * message has two): when, and whether a live process took it (`false` when it
 * reached a replica that was down).
 */
export interface MessageArrival {
  readonly atMs: number;
  received: boolean;
}

/**
 * TracedMessage is one message a run sent: when and between whom, its type
 * and encoded size, and its fate: its arrivals, or why the network lost it
 * (`partition` when a partition cut the link, `loss` when the link dropped it).
 */
export interface TracedMessage {
  readonly sentMs: number;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly type: string;
  readonly bytes: number;
  readonly arrivals: MessageArrival[];
  readonly dropped?: "partition" | "loss";
}

/** MessageTrace is what a run recorded of its messages: the messages in send order, and whether `messagesMax` cut it short. */
export interface MessageTrace {
  readonly fromMs: number;
  readonly toMs: number;
  readonly messages: TracedMessage[];
  truncated: boolean;
}

/** messagesMaxDefault bounds a trace when the caller names no bound: enough for a diagram's window, small enough for memory. */
const messagesMaxDefault = 100_000;

/**
 * MessageRecorder collects a run's MessageTrace. It only reads what the wire
 * already decided: recording draws nothing from any random stream, so a
 * traced run is the same run as an untraced one.
 */
export class MessageRecorder {
  readonly trace: MessageTrace;
  private readonly fromUs: number;
  private readonly toUs: number;
  private readonly messagesMax: number;

  constructor(window: MessageTraceWindow) {
    const fromMs = window.fromMs ?? 0;
    const toMs = window.toMs ?? Number.POSITIVE_INFINITY;
    this.trace = { fromMs, toMs, messages: [], truncated: false };
    this.fromUs = fromMs * usPerMs;
    this.toUs = toMs * usPerMs;
    this.messagesMax = window.messagesMax ?? messagesMaxDefault;
  }

  /** wants tells whether a message sent at `sentUs` belongs in the trace (in the window, and room left). */
  wants(sentUs: number): boolean {
    if (sentUs < this.fromUs || sentUs > this.toUs) return false;
    if (this.trace.messages.length >= this.messagesMax) {
      this.trace.truncated = true;
      return false;
    }
    return true;
  }

  /** record adds one sent message; the caller adds its arrivals, which are marked received as they are handed over. */
  record(message: TracedMessage): void {
    this.trace.messages.push(message);
  }
}
