import { createRng, firstClientId, unreachable, type History, type HistoryOperation, type OperationStatus, type Rng } from "@concord/core";
import { KvStore, type KvCommand, type KvResult } from "@concord/kv";

/** KvWorkload describes a generated key-value history. */
export interface KvWorkload {
  readonly clients: number;
  readonly operations: number;
  readonly keys: number;
  readonly seed: number;
  /**
   * valueCount draws written values from this many distinct values (small
   * counts make histories ambiguous); by default every written value is unique.
   */
  readonly valueCount?: number;
  /** indeterminatePercent of operations end as "info" (some took effect, some did not). */
  readonly indeterminatePercent?: number;
  /** failedPercent of operations end as "fail" (none took effect). */
  readonly failedPercent?: number;
}

type Phase =
  | { readonly kind: "idle" }
  | { readonly kind: "invoked"; readonly command: KvCommand; readonly invokeUs: number }
  | { readonly kind: "done"; readonly command: KvCommand; readonly invokeUs: number; readonly status: OperationStatus; readonly result: KvResult | undefined };

const encoder = new TextEncoder();

/**
 * generateKvHistory produces a linearizable history by construction: closed
 * loop clients invoke operations, each operation takes effect on one
 * sequential `KvStore` at a point strictly inside its interval, and clients
 * are interleaved at random so that intervals overlap. Operations that end
 * "info" may or may not have taken effect; "fail" ones did not.
 */
export function generateKvHistory(workload: KvWorkload): History<KvCommand, KvResult> {
  const rng = createRng(workload.seed);
  const store = new KvStore();
  const phases: Phase[] = Array.from({ length: workload.clients }, () => ({ kind: "idle" }));
  const history: HistoryOperation<KvCommand, KvResult>[] = [];
  let invoked = 0;
  let busy = 0;
  let nowUs = 0;
  let nextValue = 0;
  const value = (): Uint8Array =>
    encoder.encode(workload.valueCount === undefined ? `<v${nextValue++}>` : `v${rng.nextInt(workload.valueCount)}`);

  while (invoked < workload.operations || busy > 0) {
    nowUs += 1 + rng.nextInt(3);
    const client = rng.nextInt(workload.clients);
    const phase = phases[client]!;
    switch (phase.kind) {
      case "idle":
        if (invoked === workload.operations) break;
        phases[client] = { kind: "invoked", command: drawCommand(rng, workload.keys, store, value), invokeUs: nowUs };
        invoked++;
        busy++;
        break;
      case "invoked":
        phases[client] = takeEffect(rng, phase, workload, store);
        break;
      case "done": {
        const status = phase.status;
        history.push({
          id: history.length,
          clientId: firstClientId + client,
          input: phase.command,
          invokeUs: phase.invokeUs,
          completeUs: nowUs,
          status,
          output: status === "ok" ? phase.result : undefined,
        });
        phases[client] = { kind: "idle" };
        busy--;
        break;
      }
      default:
        unreachable(phase);
    }
  }
  return history;
}

// Decides how an invoked operation ends: "fail" (no effect), "info" without
// effect, "info" with effect, or "ok"; those with effect are applied now, at
// their linearization point.
function takeEffect(rng: Rng, phase: { command: KvCommand; invokeUs: number }, workload: KvWorkload, store: KvStore): Phase {
  const failed = workload.failedPercent ?? 0;
  const indeterminate = workload.indeterminatePercent ?? 0;
  const roll = rng.nextInt(200);
  const done = { kind: "done", command: phase.command, invokeUs: phase.invokeUs } as const;
  if (roll < 2 * failed) return { ...done, status: "fail", result: undefined };
  if (roll < 2 * failed + indeterminate) return { ...done, status: "info", result: undefined };
  const result = store.execute(phase.command);
  return { ...done, status: roll < 2 * failed + 2 * indeterminate ? "info" : "ok", result };
}

function drawCommand(rng: Rng, keys: number, store: KvStore, value: () => Uint8Array): KvCommand {
  const key = `k${rng.nextInt(keys)}`;
  const roll = rng.nextInt(100);
  if (roll < 40) return { type: "get", key };
  if (roll < 60) return { type: "put", key, value: value() };
  if (roll < 80) return { type: "append", key, value: value() };
  if (roll < 95) {
    const expected = rng.chance(2, 3) ? store.get(key) : value();
    return { type: "cas", key, expected, value: value() };
  }
  return { type: "delete", key };
}
