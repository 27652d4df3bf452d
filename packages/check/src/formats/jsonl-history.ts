// zod/mini, not zod: the same validation and messages, but its functions tree-shake, so that the bundled
// `concord check` (scripts/bundle-check.ts) loads a few kilobytes of zod rather than all of it.
import * as z from "zod/mini";
import type { History, HistoryOperation } from "@concord/core";
import type { KvCommand, KvResult } from "@concord/kv";
import { HistoryParseError, type HistoryEvent } from "./events.ts";

const processMessage = "must be a non-negative integer or \"nemesis\"";

const jsonlEventSchema = z.looseObject({
  process: z.union([z.int({ message: processMessage }).check(z.minimum(0, { message: processMessage })), z.literal("nemesis")], { message: processMessage }),
  type: z.enum(["invoke", "ok", "fail", "info"], { message: 'must be one of "invoke", "ok", "fail", "info"' }),
  f: z.string({ message: "must be a string naming the operation" }).check(z.minLength(1)),
  time: z.optional(z.number({ message: "must be a number of microseconds" }).check(z.nonnegative())),
});

const modelFields = ["key", "expected", "ok", "existed", "invalid"] as const;

/**
 * readJsonlEvents reads Concord's JSON-lines history format (docs/checker.md):
 * one JSON object per line, `{"process": 1, "type": "invoke", "f": "put",
 * "key": "x", "value": "1", "time": 10}`. Blank lines are skipped, and so are
 * events of the "nemesis" process and fields the models do not use. Throws a
 * HistoryParseError naming the line.
 */
export function readJsonlEvents(text: string): HistoryEvent[] {
  const events: HistoryEvent[] = [];
  const lines = text.split("\n");
  for (let index = 0; index < lines.length; index++) {
    const source = lines[index]!.trim();
    if (source === "") continue;
    const line = index + 1;
    let json: unknown;
    try {
      json = JSON.parse(source);
    } catch (error) {
      throw new HistoryParseError(line, `not valid JSON (${error instanceof Error ? error.message : String(error)})`);
    }
    if (json === null || typeof json !== "object" || Array.isArray(json)) throw new HistoryParseError(line, "expected a JSON object");
    const parsed = jsonlEventSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.map(String).join(".");
      const record = json as Record<string, unknown>;
      const got = field in record ? ` (got ${JSON.stringify(record[field])})` : " (missing)";
      throw new HistoryParseError(line, `"${field}" ${issue.message}${got}`);
    }
    const event = parsed.data;
    if (event.process === "nemesis") continue;
    const fields: Record<string, unknown> = {};
    for (const name of modelFields) if (name in event) fields[name] = event[name];
    events.push({ line, process: event.process, type: event.type, f: event.f, value: event["value"], fields, time: event.time });
  }
  return events;
}

const decoder = new TextDecoder();

/**
 * kvHistoryToJsonl writes a KV history (a simulator run's) in Concord's
 * JSON-lines format, events in time order; values are written as UTF-8 text.
 */
export function kvHistoryToJsonl(history: History<KvCommand, KvResult>): string {
  const events: { time: number; order: number; json: Record<string, unknown> }[] = [];
  const text = (bytes: Uint8Array | undefined): string | null => (bytes === undefined ? null : decoder.decode(bytes));
  let endUs = 0;
  for (const operation of history) endUs = Math.max(endUs, operation.completeUs ?? operation.invokeUs);
  const nextInvokeUs = nextInvocationOfClient(history);
  history.forEach((operation, order) => {
    const command = operation.input;
    const invoke: Record<string, unknown> = { process: operation.clientId, type: "invoke", f: command.type, key: command.key };
    if (command.type === "put" || command.type === "append") invoke["value"] = text(command.value);
    if (command.type === "cas") {
      invoke["expected"] = text(command.expected);
      invoke["value"] = text(command.value);
    }
    invoke["time"] = operation.invokeUs;
    events.push({ time: operation.invokeUs, order: 2 * order, json: invoke });
    // An operation that never completed gets an "info" completion (its time does
    // not matter: its outcome is unknown) so that its client may invoke again.
    const completeUs = operation.completeUs ?? nextInvokeUs.get(operation) ?? endUs;
    const status = operation.completeUs === undefined ? "info" : operation.status;
    const completion: Record<string, unknown> = { process: operation.clientId, type: status, f: command.type, key: command.key };
    const result = operation.output;
    if (result?.type === "get") completion["value"] = text(result.value);
    if (result?.type === "cas") completion["ok"] = result.ok;
    if (result?.type === "delete") completion["existed"] = result.existed;
    if (result?.type === "invalid") completion["invalid"] = result.reason;
    completion["time"] = completeUs;
    events.push({ time: completeUs, order: 2 * order + 1, json: completion });
  });
  // At equal times a completion goes first, so that a client's next invocation follows its previous completion.
  const rank = (event: { json: Record<string, unknown> }): number => (event.json["type"] === "invoke" ? 1 : 0);
  events.sort((a, b) => a.time - b.time || rank(a) - rank(b) || a.order - b.order);
  return events.map((event) => JSON.stringify(event.json)).join("\n") + (events.length > 0 ? "\n" : "");
}

function nextInvocationOfClient<I, O>(history: History<I, O>): Map<HistoryOperation<I, O>, number> {
  const last = new Map<number, HistoryOperation<I, O>>();
  const next = new Map<HistoryOperation<I, O>, number>();
  const byInvocation = [...history].sort((a, b) => a.invokeUs - b.invokeUs);
  for (const operation of byInvocation) {
    const previous = last.get(operation.clientId);
    if (previous !== undefined) next.set(previous, operation.invokeUs);
    last.set(operation.clientId, operation);
  }
  return next;
}
