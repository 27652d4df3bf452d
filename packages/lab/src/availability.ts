// Availability on each side of a partition, measured from a run's history and its fault windows: the figure that
// shows CAP's choice as a number (a CP algorithm serves none of the clients cut off with a minority, an AP store
// serves both sides). `concord sim --json` reports it, and the benchmarks summarise it over seeds.
import type { HistoryOperation, NodeId } from "@concord/core";
import type { FaultWindow } from "@concord/sim";

/** SideAvailability counts the operations clients on one side of a partition invoked during it, and how many completed ok before it healed. */
export interface SideAvailability {
  readonly clients: NodeId[];
  readonly invoked: number;
  readonly ok: number;
  /** share is ok / invoked (to 4 decimals), null when these clients invoked nothing during the partition. */
  readonly share: number | null;
}

/** PartitionAvailability is the availability on each side of one partition: the clients cut off with the isolated replicas, and every other client. */
export interface PartitionAvailability {
  /** fault is the partition's index among the run's fault windows. */
  readonly fault: number;
  readonly atMs: number;
  readonly untilMs: number;
  readonly isolatedReplicas: NodeId[];
  readonly isolatedSide: SideAvailability;
  readonly otherSide: SideAvailability;
}

const usPerMs = 1000;

/**
 * partitionAvailability measures, for each partition of the run, the share of the operations invoked during it
 * (from its start until it healed) that completed ok before it healed, on each side: the clients the partition
 * cut off with the isolated replicas, and every other client of the run. `operations` are the workload's (no
 * final reads, which come after the heal).
 */
export function partitionAvailability(operations: readonly HistoryOperation<unknown, unknown>[], faults: readonly FaultWindow[]): PartitionAvailability[] {
  const allClients = [...new Set(operations.map((operation) => operation.clientId))].sort((a, b) => a - b);
  const availability: PartitionAvailability[] = [];
  faults.forEach((fault, index) => {
    if (fault.kind !== "partition") return;
    const isolated = [...(fault.clients ?? [])].sort((a, b) => a - b);
    const others = allClients.filter((client) => !isolated.includes(client));
    const side = (clients: readonly NodeId[]): SideAvailability => {
      const during = operations.filter((operation) => clients.includes(operation.clientId) && operation.invokeUs / usPerMs >= fault.atMs && operation.invokeUs / usPerMs < fault.untilMs);
      const ok = during.filter((operation) => operation.status === "ok" && operation.completeUs !== undefined && operation.completeUs / usPerMs <= fault.untilMs).length;
      return { clients: [...clients], invoked: during.length, ok, share: during.length > 0 ? Math.round((ok / during.length) * 10_000) / 10_000 : null };
    };
    availability.push({ fault: index, atMs: fault.atMs, untilMs: fault.untilMs, isolatedReplicas: [...fault.nodes], isolatedSide: side(isolated), otherSide: side(others) });
  });
  return availability;
}
