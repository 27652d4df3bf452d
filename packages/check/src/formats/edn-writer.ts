import type { History } from "@concord/core";
import type { KvCommand, KvResult } from "@concord/kv";

/** NemesisEvent is one line of the nemesis's own in a history file: a fault starting or ending, at `timeUs`. */
export interface NemesisEvent {
  readonly timeUs: number;
  /** f names what the nemesis did, as Jepsen's do: "start-partition", "stop-partition", "kill", "restart", ... */
  readonly f: string;
  /** value says to whom: a readable description such as "isolate-leader [1] from [0 2]". */
  readonly value: string;
}

const decoder = new TextDecoder();

/**
 * kvHistoryToEdn writes a KV history as a Jepsen history.edn: one op map per
 * line, in time order, `{:index 0, :time 1000, :process 0, :type :invoke,
 * :f :put, :key "k", :value "v"}` (times in nanoseconds, as Jepsen's), which
 * `concord check --model kv` and Jepsen's tools read back. Jepsen's
 * conventions: a cas is `:value [expected new]` and one that did not apply
 * completes as `:fail` (it took no effect); an operation that never completed
 * gets an `:info` completion. A delete's completion carries `:existed`, which
 * the EDN reader leaves out (Jepsen's KV histories have no such field), so a
 * delete's answer is checked only from JSON lines. `nemesis` events are
 * written as `{:process :nemesis, :type :info, ...}` lines, which checkers
 * skip.
 */
export function kvHistoryToEdn(history: History<KvCommand, KvResult>, nemesis: readonly NemesisEvent[] = []): string {
  const events: { time: number; order: number; fields: [string, string][] }[] = [];
  const text = (bytes: Uint8Array | undefined): string => (bytes === undefined ? "nil" : ednString(decoder.decode(bytes)));
  let endUs = 0;
  for (const operation of history) endUs = Math.max(endUs, operation.completeUs ?? operation.invokeUs);
  const nextInvokeUs = new Map<number, number>();
  const lastOfClient = new Map<number, number>();
  for (const operation of [...history].sort((a, b) => a.invokeUs - b.invokeUs)) {
    const previous = lastOfClient.get(operation.clientId);
    if (previous !== undefined) nextInvokeUs.set(previous, operation.invokeUs);
    lastOfClient.set(operation.clientId, operation.id);
  }
  history.forEach((operation, order) => {
    const command = operation.input;
    const head: [string, string][] = [["process", String(operation.clientId)]];
    const f: [string, string] = ["f", `:${command.type}`];
    const key: [string, string] = ["key", ednString(command.key)];
    const invokeValue = command.type === "put" || command.type === "append" ? text(command.value) : command.type === "cas" ? `[${text(command.expected)} ${text(command.value)}]` : "nil";
    events.push({ time: operation.invokeUs, order: 2 * order, fields: [...head, ["type", ":invoke"], f, key, ["value", invokeValue]] });
    // An operation that never completed is closed by an :info at its client's next invocation, or after everything else.
    const completeUs = operation.completeUs ?? nextInvokeUs.get(operation.id) ?? endUs + 1;
    const result = operation.output;
    let type = operation.completeUs === undefined ? "info" : operation.status;
    let value = invokeValue;
    const extra: [string, string][] = [];
    if (type === "ok" && result !== undefined) {
      if (result.type === "get") value = text(result.value);
      if (result.type === "cas" && !result.ok) type = "fail";
      if (result.type === "delete") extra.push(["existed", String(result.existed)]);
      if (result.type === "invalid") extra.push(["invalid", ednString(result.reason)]);
    }
    events.push({ time: completeUs, order: 2 * order + 1, fields: [...head, ["type", `:${type}`], f, key, ["value", value], ...extra] });
  });
  nemesis.forEach((event, order) =>
    events.push({ time: event.timeUs, order: -1 - order, fields: [["process", ":nemesis"], ["type", ":info"], ["f", `:${event.f}`], ["value", ednString(event.value)]] }),
  );
  // At equal times a completion goes first, so that a client's next invocation follows its previous completion.
  const rank = (event: { fields: [string, string][] }): number => (event.fields[1]?.[1] === ":invoke" ? 1 : 0);
  events.sort((a, b) => a.time - b.time || rank(a) - rank(b) || a.order - b.order);
  return events
    .map((event, index) => `{${[["index", String(index)], ["time", String(Math.round(event.time * 1000))], ...event.fields].map(([name, value]) => `:${name} ${value}`).join(", ")}}`)
    .join("\n") + (events.length > 0 ? "\n" : "");
}

/** ednString writes a string literal that EDN readers read back: JSON's escapes but \b and \f, which EDN spells \u0008 and \u000c. */
function ednString(text: string): string {
  return JSON.stringify(text).replace(/\\([\\]*)([bf])/g, (match: string, more: string, letter: string) => (more.length % 2 === 1 ? match : `\\${more}u000${letter === "b" ? "8" : "c"}`));
}
