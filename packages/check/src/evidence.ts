import { bytesEqual, type History, type HistoryOperation, type KvSemantics, type ReadLevel } from "@concord/core";
import { describeResult, type KvCommand, type KvResult } from "@concord/kv";
import type { Model } from "./model.ts";
import { kvModel } from "./models/kv.ts";
import type { Deepest } from "./search.ts";
import type { Evidence, EvidenceOperation } from "./verdict.ts";

/** contextWrites is how many of the last state-changing operations before the failure point the evidence shows. */
const contextWrites = 3;
/** pendingShownMax bounds the pending operations printed (all stay in {@link Evidence.pending}). */
const pendingShownMax = 20;

/**
 * buildEvidence turns the deepest point of a failed search into evidence: the
 * last few writes linearized before it (reads are left out: they do not
 * explain the state), the state, and the pending operations none of which can
 * take effect next although `blocking` had already returned. That is the
 * smallest set of operations around the point where every ordering failed.
 */
export function buildEvidence<S, I, O>(
  model: Model<S, I, O>,
  label: string,
  operations: readonly HistoryOperation<I, O>[],
  deepest: Deepest<S>,
): Evidence {
  const show = (index: number): EvidenceOperation => describe(model, operations[index]!);
  const order = Array.from(deepest.order);
  const linearizedBefore = lastWrites(model, operations, order).map(show);
  const pending = deepest.pending.map(show);
  const blocking = show(deepest.blocking);
  let fromUs = blocking.invokeUs;
  for (const operation of [...pending, ...linearizedBefore]) fromUs = Math.min(fromUs, operation.invokeUs);
  const toUs = blocking.completeUs ?? blocking.invokeUs;
  const state = model.describeState(deepest.state);
  const evidence = {
    partition: label,
    partitionOperations: operations.length,
    linearizedCount: order.length,
    state,
    linearizedBefore,
    pending,
    blocking,
    region: { fromUs, toUs },
    operationIds: [...linearizedBefore, ...pending].map((o) => o.id),
  };
  return { ...evidence, text: renderEvidence(evidence) };
}

function lastWrites<S, I, O>(model: Model<S, I, O>, operations: readonly HistoryOperation<I, O>[], order: readonly number[]): number[] {
  const writes: number[] = [];
  for (let k = order.length - 1; k >= 0 && writes.length < contextWrites; k--) {
    const operation = operations[order[k]!]!;
    if (model.readOnly?.(operation.input, operation.status === "ok" ? operation.output : undefined) !== true) writes.unshift(order[k]!);
  }
  return writes;
}

function describe<S, I, O>(model: Model<S, I, O>, operation: HistoryOperation<I, O>): EvidenceOperation {
  const output = operation.status === "ok" ? operation.output : undefined;
  return {
    id: operation.id,
    clientId: operation.clientId,
    invokeUs: operation.invokeUs,
    completeUs: operation.status === "ok" ? operation.completeUs : undefined,
    status: operation.status,
    description: model.describeOperation(operation.input, output),
  };
}

/** renderEvidence prints evidence for a terminal. */
export function renderEvidence(evidence: Omit<Evidence, "text">): string {
  const lines: string[] = [];
  lines.push(
    `${evidence.partition}: no order of its ${evidence.partitionOperations} operations is legal; ` +
      `the longest legal prefix has ${evidence.linearizedCount}.`,
  );
  if (evidence.linearizedCount === 0) {
    lines.push(`From the initial state ${evidence.state}:`);
  } else if (evidence.linearizedBefore.length === 0) {
    lines.push(`That prefix only reads, so the state is still the initial ${evidence.state}.`);
  } else {
    lines.push(`That prefix leaves the state ${evidence.state}; its last writes:`);
    for (const operation of evidence.linearizedBefore) lines.push(`  ${renderOperation(operation)}`);
  }
  lines.push(`operation #${evidence.blocking.id} had returned, yet none of these pending operations can take effect next:`);
  for (const operation of evidence.pending.slice(0, pendingShownMax)) {
    const marker = operation.id === evidence.blocking.id ? "  <- returned first" : "";
    lines.push(`  ${renderOperation(operation)}${marker}`);
  }
  if (evidence.pending.length > pendingShownMax) lines.push(`  ... and ${evidence.pending.length - pendingShownMax} more`);
  return lines.join("\n");
}

/** renderOperation prints one operation: `#12 client 3 [100, 140] get x -> "2"`. */
export function renderOperation(operation: EvidenceOperation): string {
  const end = operation.completeUs === undefined ? "…" : String(operation.completeUs);
  const status = operation.status === "ok" ? "" : ` (${operation.status})`;
  return `#${operation.id} client ${operation.clientId} [${operation.invokeUs}, ${end}] ${operation.description}${status}`;
}

/**
 * StaleRead names a read that certainly returned an overwritten value: the
 * value it returned was written (or was the initial one) before another write
 * began, and that write completed before the read began. No linearization can
 * place the read where its value is current, so the read alone makes the
 * history not linearizable.
 */
export interface StaleRead {
  readonly key: string;
  /** read is the stale read, with what it returned. */
  readonly read: EvidenceOperation;
  /** readLevel is the level the read was served at, as the history records it (absent: linearizable). */
  readonly readLevel?: ReadLevel;
  /** returned renders the value the read returned (`nil` for none). */
  readonly returned: string;
  /** source is the latest completed write of that value; absent when it is the key's initial state. */
  readonly source?: EvidenceOperation;
  /** missed is a write that overwrote the value and completed before the read began: the write the read missed. */
  readonly missed: EvidenceOperation;
  /** text says it in one line. */
  readonly text: string;
}

/** staleReadsShownMax bounds the stale reads {@link findStaleReads} returns; `total` counts them all. */
export const staleReadsShownMax = 100;

/**
 * findStaleReads names the stale reads of a KV history, key by key: each
 * get that returned a value which every write of it (or the initial state)
 * had already lost to a write of another value that completed before the get
 * began. It is exact about what it names (each is a real violation, whatever
 * the order of concurrent operations) and names what it can attribute: it
 * leaves out keys with appends (their values are concatenations), and reads
 * of a value that a write of unknown outcome may have written. Values are
 * compared as bytes, so a workload whose writes are unique (the simulator's
 * are) attributes every stale read it has. `semantics` is how puts take
 * effect: `write-once` registers hold the first put's value, which a put's
 * output reports.
 */
export function findStaleReads(history: History<KvCommand, KvResult>, semantics: KvSemantics = "kv"): { readonly total: number; readonly staleReads: readonly StaleRead[] } {
  const byKey = new Map<string, HistoryOperation<KvCommand, KvResult>[]>();
  for (const operation of history) {
    const list = byKey.get(operation.input.key);
    if (list === undefined) byKey.set(operation.input.key, [operation]);
    else list.push(operation);
  }
  const found: StaleRead[] = [];
  for (const [key, operations] of byKey) {
    if (operations.some((operation) => operation.input.type === "append")) continue;
    const writes = operations.map((operation) => ({ operation, effect: writeEffect(operation, semantics) })).filter((write) => write.effect.kind !== "none");
    for (const read of operations) {
      if (read.input.type !== "get" || read.status !== "ok" || read.output?.type !== "get" || read.completeUs === undefined) continue;
      const stale = staleRead(key, read, read.output.value, read.completeUs, writes);
      if (stale !== undefined) found.push(stale);
    }
  }
  found.sort((a, b) => a.read.invokeUs - b.read.invokeUs || a.read.id - b.read.id);
  return { total: found.length, staleReads: found.slice(0, staleReadsShownMax) };
}

type WriteEffect = { readonly kind: "none" } | { readonly kind: "certain" | "uncertain"; readonly value: Uint8Array | undefined };

interface KvWrite {
  readonly operation: HistoryOperation<KvCommand, KvResult>;
  readonly effect: WriteEffect;
}

/** writeEffect is the value an operation leaves the key holding: certain for one that completed ok, uncertain for one of unknown outcome. */
function writeEffect(operation: HistoryOperation<KvCommand, KvResult>, semantics: KvSemantics): WriteEffect {
  const input = operation.input;
  if (operation.status === "fail" || input.type === "get" || input.type === "append") return { kind: "none" };
  const kind = operation.status === "ok" ? "certain" : "uncertain";
  const output = operation.status === "ok" ? operation.output : undefined;
  switch (input.type) {
    case "put":
      // A write-once register holds the first put's value, which a completed put reports; one of unknown outcome may fix its own.
      return { kind, value: semantics === "write-once" && output?.type === "put" && output.value !== undefined ? output.value : input.value };
    case "delete":
      return { kind, value: undefined };
    case "cas":
      if (output?.type === "cas" && !output.ok) return { kind: "none" };
      return { kind, value: input.value };
  }
}

function sameValue(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return a === undefined || b === undefined ? a === b : bytesEqual(a, b);
}

function staleRead(key: string, read: HistoryOperation<KvCommand, KvResult>, value: Uint8Array | undefined, readCompleteUs: number, writes: readonly KvWrite[]): StaleRead | undefined {
  const sources: (KvWrite | undefined)[] = []; // undefined: the initial state
  if (value === undefined) sources.push(undefined);
  for (const write of writes) {
    if (write.operation === read || write.effect.kind === "none" || !sameValue(write.effect.value, value) || write.operation.invokeUs >= readCompleteUs) continue;
    // A write of this value whose outcome is unknown may take effect at any time after its invocation: it explains the read.
    if (write.effect.kind === "uncertain" || write.operation.completeUs === undefined) return undefined;
    sources.push(write);
  }
  if (sources.length === 0) return undefined; // a value no write wrote: not a stale read, something else
  let freshest: { source: KvWrite | undefined; missed: KvWrite } | undefined;
  for (const source of sources) {
    const sourceCompleteUs = source === undefined ? Number.NEGATIVE_INFINITY : (source.operation.completeUs as number);
    let missed: KvWrite | undefined;
    for (const write of writes) {
      if (write.effect.kind !== "certain" || sameValue(write.effect.value, value)) continue;
      const completeUs = write.operation.completeUs;
      if (completeUs === undefined || write.operation.invokeUs <= sourceCompleteUs || completeUs >= read.invokeUs) continue;
      if (missed === undefined || completeUs > (missed.operation.completeUs as number)) missed = write;
    }
    if (missed === undefined) return undefined; // this source may still be current when the read takes effect
    const freshestCompleteUs = freshest?.source === undefined ? Number.NEGATIVE_INFINITY : (freshest.source.operation.completeUs as number);
    if (freshest === undefined || sourceCompleteUs > freshestCompleteUs) freshest = { source, missed };
  }
  if (freshest === undefined) return undefined;
  const shown = describeKv(read);
  const missed = describeKv(freshest.missed.operation);
  const returned = describeResult({ type: "get", value });
  const from = freshest.source === undefined ? "the initial state" : `op ${freshest.source.operation.id} (${describeKv(freshest.source.operation).description})`;
  const text =
    `op ${read.id}, get ${key} by client ${read.clientId} (a ${read.readLevel ?? "linearizable"} read invoked at ${read.invokeUs} us), returned ${returned} ` +
    `from ${from}, missing op ${missed.id} (${missed.description}, client ${missed.clientId}), which completed at ${missed.completeUs} us, before the read began`;
  return {
    key,
    read: shown,
    ...(read.readLevel !== undefined ? { readLevel: read.readLevel } : {}),
    returned,
    ...(freshest.source !== undefined ? { source: describeKv(freshest.source.operation) } : {}),
    missed,
    text,
  };
}

function describeKv(operation: HistoryOperation<KvCommand, KvResult>): EvidenceOperation {
  return describe(kvModel, operation);
}
