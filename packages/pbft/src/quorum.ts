import { assert, type NodeId } from "@concord/core";

/** clusterSizeError explains why PBFT cannot run on `n` replicas, or returns undefined for n = 3f+1 with f >= 1. */
export function clusterSizeError(n: number): string | undefined {
  if (!Number.isInteger(n) || n < 4) {
    return `pbft needs n = 3f+1 replicas with f >= 1 (4, 7, 10, ...), not ${n}: fewer than 4 replicas cannot tolerate a Byzantine fault (PBFT §3)`;
  }
  if ((n - 1) % 3 !== 0) {
    const f = Math.floor((n - 1) / 3);
    return `pbft needs n = 3f+1 replicas (4, 7, 10, ...), not ${n}: ${n} replicas tolerate f = ${f} Byzantine faults, as ${3 * f + 1} do; use ${3 * f + 1} or ${3 * f + 4} (PBFT §3)`;
  }
  return undefined;
}

/**
 * Quorums holds the arithmetic of a cluster of n = 3f+1 replicas (PBFT §3).
 *
 * Invariant: any two quorums of 2f+1 intersect in at least one correct replica.
 */
export class Quorums {
  /** f is the number of Byzantine replicas tolerated. */
  readonly f: number;
  /** quorum is 2f+1: enough replicas that two such sets share a correct one. */
  readonly quorum: number;
  /** weak is f+1: enough replicas that at least one of them is correct. */
  readonly weak: number;

  constructor(readonly replicas: readonly NodeId[]) {
    assert(clusterSizeError(replicas.length) === undefined, () => clusterSizeError(replicas.length) ?? "");
    this.f = (replicas.length - 1) / 3;
    this.quorum = 2 * this.f + 1;
    this.weak = this.f + 1;
  }

  /** primary returns the primary of `view`: replica view mod n (PBFT §4.1). */
  primary(view: number): NodeId {
    return this.replicas[view % this.replicas.length] as NodeId;
  }

  /** isReplica tells whether `id` belongs to the cluster. */
  isReplica(id: NodeId): boolean {
    return this.replicas.includes(id);
  }
}
