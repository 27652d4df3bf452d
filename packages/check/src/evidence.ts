import type { HistoryOperation } from "@concord/core";
import type { Model } from "./model.ts";
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
