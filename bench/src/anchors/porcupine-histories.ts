// Porcupine's own test histories (vendored in bench/anchors/porcupine/test_data),
// read for Concord's checker with the meaning porcupine's tests give them:
// test_data/kv through Concord's EDN reader with the string KV model (a missing
// key reads as "", as porcupine's kvModel's map[string]string does), and
// test_data/jepsen's etcd logs through the parser below with the register model.
import type { History, HistoryOperation } from "@concord/core";
import { type Model, type RegisterInput, type RegisterOutput, parseKvHistory, registerModel, stringKvModel } from "@concord/check";
import type { KvCommand, KvResult } from "@concord/kv";

/** PorcupineHistory is one history of porcupine's corpora with the model porcupine checks it against. */
export type PorcupineHistory =
  | { readonly kind: "kv"; readonly model: Model<unknown, KvCommand, KvResult>; readonly history: History<KvCommand, KvResult> }
  | { readonly kind: "etcd"; readonly model: Model<unknown, RegisterInput, RegisterOutput>; readonly history: History<RegisterInput, RegisterOutput> };

/** readPorcupineHistory reads a porcupine test history of `kind` ("kv": test_data/kv, "etcd": test_data/jepsen). */
export function readPorcupineHistory(kind: "kv" | "etcd", text: string): PorcupineHistory {
  return kind === "kv"
    ? { kind, model: stringKvModel as Model<unknown, KvCommand, KvResult>, history: parseKvHistory(text, "edn") }
    : { kind, model: registerModel as Model<unknown, RegisterInput, RegisterOutput>, history: parseEtcdLog(text) };
}

// One event of Jepsen's etcd log: `INFO  jepsen.util - 3	:invoke	:cas	[1 4]`.
const etcdEvent = /^INFO\s+jepsen\.util\s+-\s+(\d+)\s+:(invoke|ok|fail|info)\s+:(read|write|cas)\s+(.*?)\s*$/;

/**
 * parseEtcdLog reads one of Jepsen's etcd logs (porcupine's test_data/jepsen)
 * as a cas-register history, meaning what porcupine's parseJepsenLog and
 * etcdModel make of it: a `:fail :cas` completed and returned false (an
 * observed mismatch, not an operation that did not happen), a `:fail :read
 * :timed-out` and every operation still open at the end have an unknown
 * outcome, and other lines are skipped. Times are the events' positions in
 * the log. Throws an Error naming the line for an event it cannot read.
 */
export function parseEtcdLog(text: string): History<RegisterInput, RegisterOutput> {
  const operations: { input: RegisterInput; clientId: number; invokeUs: number; completeUs?: number; output?: RegisterOutput | undefined }[] = [];
  const open = new Map<number, number>();
  let position = 0;
  const lines = text.split("\n");
  for (let number = 1; number <= lines.length; number++) {
    const match = etcdEvent.exec(lines[number - 1] as string);
    if (match === null) continue;
    const [, processText, type, f, argument] = match as unknown as [string, string, string, "read" | "write" | "cas", string];
    const process = Number(processText);
    const bad = (): never => {
      throw new Error(`line ${number}: cannot read :${type} :${f} ${argument}`);
    };
    position++;
    if (type === "info") continue; // still open: its outcome stays unknown, as in porcupine's parser
    if (type === "invoke") {
      if (open.has(process)) throw new Error(`line ${number}: process ${process} invokes again before its operation completed`);
      open.set(process, operations.length);
      operations.push({ input: etcdInput(f, argument) ?? bad(), clientId: process, invokeUs: position });
      continue;
    }
    const index = open.get(process);
    if (index === undefined) throw new Error(`line ${number}: process ${process} completes an operation it never invoked`);
    open.delete(process);
    const operation = operations[index]!;
    if (operation.input.type !== f) throw new Error(`line ${number}: process ${process} completes a :${f}, but invoked a :${operation.input.type}`);
    operation.completeUs = position;
    if (f === "cas") operation.output = { type: "cas", ok: type === "ok" };
    else if (type === "fail" && f === "read" && argument === ":timed-out") operation.output = undefined;
    else if (type === "ok" && f === "read") operation.output = { type: "read", value: argument === "nil" ? null : Number(/^\d+$/.test(argument) ? argument : bad()) };
    else if (type === "ok" && f === "write") operation.output = { type: "write" };
    else bad();
  }
  return operations.map(
    (operation, id): HistoryOperation<RegisterInput, RegisterOutput> =>
      operation.output === undefined
        ? { id, clientId: operation.clientId, input: operation.input, invokeUs: operation.invokeUs, completeUs: undefined, status: "info", output: undefined }
        : { id, clientId: operation.clientId, input: operation.input, invokeUs: operation.invokeUs, completeUs: operation.completeUs!, status: "ok", output: operation.output },
  );
}

function etcdInput(f: "read" | "write" | "cas", argument: string): RegisterInput | undefined {
  if (f === "read") return argument === "nil" ? { type: "read" } : undefined;
  if (f === "write") return /^\d+$/.test(argument) ? { type: "write", value: Number(argument) } : undefined;
  const pair = /^\[(\d+)\s+(\d+)\]$/.exec(argument);
  return pair === null ? undefined : { type: "cas", expected: Number(pair[1]), value: Number(pair[2]) };
}
