/**
 * NodeId names one endpoint on a Concord network: a replica or a client.
 *
 * Invariant: a NodeId is a non-negative safe integer. Numbers (not strings)
 * keep the simulator's hot paths free of hashing and allocation.
 */
export type NodeId = number;

/** isNodeId tells whether a value can be used as a {@link NodeId}. */
export function isNodeId(value: unknown): value is NodeId {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/**
 * firstClientId is the lowest id the runtimes give to clients, so that client
 * ids never collide with replica ids (which must stay below it).
 */
export const firstClientId: NodeId = 1_000_000;
