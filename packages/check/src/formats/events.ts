import type { OperationStatus } from "@concord/core";

/** HistoryParseError reports a history file that cannot be read, naming the line and the reason. */
export class HistoryParseError extends Error {
  override readonly name = "HistoryParseError";
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`);
  }
}

/** EventType is the type of a history event, as in Jepsen: an invocation or how it completed. */
export type EventType = "invoke" | OperationStatus;

/**
 * HistoryEvent is one line (or one op map) of a history file, in a form common
 * to the EDN and JSON-lines readers: values are plain (EDN keywords become
 * strings starting with ":"), and fields the models do not use are kept aside.
 */
export interface HistoryEvent {
  readonly line: number;
  readonly process: number;
  readonly type: EventType;
  /** f names the operation without a leading colon: "read", "write", "cas", "get", ... */
  readonly f: string;
  readonly value: unknown;
  /** fields holds the other fields a model may use: key, expected, ok, existed. */
  readonly fields: Readonly<Record<string, unknown>>;
  /** time is the event's time in microseconds when the format gives one. */
  readonly time: number | undefined;
}

/** RawOperation is an invocation paired with its completion (none when it never completed). */
export interface RawOperation {
  readonly process: number;
  readonly f: string;
  readonly status: OperationStatus;
  readonly invoke: HistoryEvent;
  readonly completion: HistoryEvent | undefined;
  readonly invokeUs: number;
  readonly completeUs: number | undefined;
}

/**
 * pairEvents pairs each invocation with the next completion of the same
 * process, as Jepsen does (a process runs one operation at a time). An
 * invocation that never completes is indeterminate ("info"). Times are the
 * events' own when every event has one, else their positions in the file
 * (order is all linearizability needs). Operations are returned in invocation
 * order.
 */
export function pairEvents(events: readonly HistoryEvent[]): RawOperation[] {
  const useTimes = events.length > 0 && events.every((event) => event.time !== undefined);
  const timeOf = (event: HistoryEvent, position: number): number => (useTimes ? event.time! : position);
  if (useTimes) checkTimesAscend(events);
  const open = new Map<number, { event: HistoryEvent; at: number; slot: number }>();
  const operations: (RawOperation | undefined)[] = [];
  events.forEach((event, position) => {
    if (event.type === "invoke") {
      const pending = open.get(event.process);
      if (pending !== undefined) {
        throw new HistoryParseError(event.line, `process ${event.process} invokes again before its operation from line ${pending.event.line} completed`);
      }
      open.set(event.process, { event, at: timeOf(event, position), slot: operations.length });
      operations.push(undefined);
      return;
    }
    const pending = open.get(event.process);
    if (pending === undefined) throw new HistoryParseError(event.line, `process ${event.process} completes an operation it never invoked`);
    if (pending.event.f !== event.f) {
      throw new HistoryParseError(event.line, `completion :f ${event.f} does not match the invocation's :f ${pending.event.f} on line ${pending.event.line}`);
    }
    open.delete(event.process);
    operations[pending.slot] = {
      process: event.process,
      f: event.f,
      status: event.type,
      invoke: pending.event,
      completion: event,
      invokeUs: pending.at,
      completeUs: timeOf(event, position),
    };
  });
  for (const pending of open.values()) {
    operations[pending.slot] = {
      process: pending.event.process,
      f: pending.event.f,
      status: "info",
      invoke: pending.event,
      completion: undefined,
      invokeUs: pending.at,
      completeUs: undefined,
    };
  }
  return operations.filter((operation) => operation !== undefined);
}

function checkTimesAscend(events: readonly HistoryEvent[]): void {
  for (let i = 1; i < events.length; i++) {
    if (events[i]!.time! < events[i - 1]!.time!) {
      throw new HistoryParseError(events[i]!.line, `time ${events[i]!.time} is earlier than the previous event's ${events[i - 1]!.time}`);
    }
  }
}
