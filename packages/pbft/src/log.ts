import type { NodeId } from "@concord/core";
import type { PbftRequest } from "./messages.ts";

/** BatchRef is a batch as the log keeps it: the view it belongs to, its digest (and hex key) and its requests. */
export interface BatchRef {
  readonly view: number;
  readonly digest: Uint8Array;
  readonly digestHex: string;
  readonly requests: readonly PbftRequest[];
}

/** VoteSets holds the PREPARE and COMMIT votes of one view at one sequence number, as digest hex per sender. */
export interface VoteSets {
  readonly prepares: Map<NodeId, string>;
  readonly commits: Map<NodeId, string>;
}

/**
 * Slot is the log entry of one sequence number (PBFT §4.2): the pre-prepare
 * accepted in the current view, the votes received, and the certificates that
 * outlive a view change (the latest prepared certificate, P, and every batch
 * pre-prepared, Q; TOCS §4.4).
 *
 * Invariant: `current`, when set, belongs to the replica's current view and
 * its digest is a key of `prePrepared`; at most one batch is accepted per
 * (view, seq).
 */
export interface Slot {
  readonly seq: number;
  current: BatchRef | undefined;
  readonly votes: Map<number, VoteSets>;
  prepared: BatchRef | undefined;
  readonly prePrepared: Map<string, BatchRef>;
  committed: BatchRef | undefined;
}

/** newSlot returns an empty log entry for `seq`. */
export function newSlot(seq: number): Slot {
  return { seq, current: undefined, votes: new Map(), prepared: undefined, prePrepared: new Map(), committed: undefined };
}

/** votesIn returns the vote sets of `view` at a slot, creating them on first use. */
export function votesIn(slot: Slot, view: number): VoteSets {
  let votes = slot.votes.get(view);
  if (votes === undefined) {
    votes = { prepares: new Map(), commits: new Map() };
    slot.votes.set(view, votes);
  }
  return votes;
}

/** countMatching counts the votes for `digestHex`. */
export function countMatching(votes: ReadonlyMap<NodeId, string>, digestHex: string): number {
  let count = 0;
  for (const vote of votes.values()) if (vote === digestHex) count++;
  return count;
}
