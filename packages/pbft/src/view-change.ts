import { bytesEqual } from "@concord/core";
import type { NewViewEntry, PbftViewChange, PreparedClaim } from "./messages.ts";
import type { Quorums } from "./quorum.ts";
import { hex } from "./bytes.ts";

/**
 * NewViewDecision is what a NEW-VIEW fixes (TOCS §4.4, "decision procedure"):
 * the checkpoint the view starts from and, for every sequence number above
 * it up to the last one any view change mentions, the batch re-issued there
 * (an empty batch is the null request that fills a gap).
 */
export interface NewViewDecision {
  readonly checkpointSeq: number;
  readonly checkpointDigest: Uint8Array;
  readonly entries: readonly NewViewEntry[];
}

/**
 * decideNewView runs the decision procedure of TOCS §4.4 over a set of valid
 * VIEW-CHANGE messages for one view, or returns undefined when the set does
 * not yet determine the outcome (the primary then waits for more). Backups run
 * the same function over the set the NEW-VIEW carries and accept the NEW-VIEW
 * only if it states exactly this decision, so a faulty primary cannot pick.
 *
 * Checkpoint: the highest (h, d) such that 2f+1 messages have stable
 * checkpoint <= h and f+1 messages hold (h, d) (one of them is correct, so d
 * is the state after executing the committed requests up to h).
 *
 * Each n in (h, h + L]: choose d if some message prepared d at n in view v and
 * (A1) 2f+1 messages with stable checkpoint < n prepared nothing at n, or
 * prepared in a view before v, or prepared d in v, and (A2) f+1 messages
 * pre-prepared d at n in a view >= v; otherwise choose null if (B) 2f+1
 * messages with stable checkpoint < n prepared nothing at n.
 *
 * Invariant: a request committed at n by a correct replica in any earlier view
 * is the one chosen at n (its 2f+1 prepares include f+1 correct replicas, so
 * at most 2f messages can satisfy A1 for anything else, and B cannot hold).
 * This rests on what a correct message states (TOCS §4.4; Castro's thesis
 * §3.2.4): its stable checkpoint is its sender's real low watermark, and P
 * and Q hold everything it prepared above it, up to L further. Then each of
 * those f+1 correct replicas either reports its claim at n or reports a
 * checkpoint at or above n (and is not counted at n); and since each prepared
 * n with its low watermark at n - L or above, no checkpoint below n - L can
 * have 2f+1 messages at or below it, so n lies in (h, h + L] (issue 21, bug 3).
 */
export function decideNewView(
  viewChanges: readonly PbftViewChange[],
  quorums: Quorums,
  watermarkWindowSeqs: number,
  nullDigest: Uint8Array,
): NewViewDecision | undefined {
  const checkpoint = chooseCheckpoint(viewChanges, quorums);
  if (checkpoint === undefined) return undefined;
  const h = checkpoint.seq;
  let lastSeq = h;
  for (const message of viewChanges) {
    for (const claim of message.prepared) {
      if (claim.seq > lastSeq && claim.seq <= h + watermarkWindowSeqs) lastSeq = claim.seq;
    }
  }
  const entries: NewViewEntry[] = [];
  for (let n = h + 1; n <= lastSeq; n++) {
    const entry = chooseAt(n, viewChanges, quorums, nullDigest);
    if (entry === undefined) return undefined;
    entries.push(entry);
  }
  return { checkpointSeq: h, checkpointDigest: checkpoint.stateDigest, entries };
}

function chooseCheckpoint(viewChanges: readonly PbftViewChange[], quorums: Quorums): { seq: number; stateDigest: Uint8Array } | undefined {
  let best: { seq: number; stateDigest: Uint8Array } | undefined;
  for (const message of viewChanges) {
    for (const claim of message.checkpoints) {
      if (best !== undefined && (claim.seq < best.seq || (claim.seq === best.seq && hex(claim.stateDigest) >= hex(best.stateDigest)))) continue;
      const atOrBelow = viewChanges.filter((m) => m.stableSeq <= claim.seq).length;
      if (atOrBelow < quorums.quorum) continue;
      const holders = viewChanges.filter((m) => m.checkpoints.some((c) => c.seq === claim.seq && bytesEqual(c.stateDigest, claim.stateDigest))).length;
      if (holders >= quorums.weak) best = claim;
    }
  }
  return best;
}

function chooseAt(n: number, viewChanges: readonly PbftViewChange[], quorums: Quorums, nullDigest: Uint8Array): NewViewEntry | undefined {
  const candidates: PreparedClaim[] = [];
  for (const message of viewChanges) {
    const claim = message.prepared.find((p) => p.seq === n);
    if (claim !== undefined) candidates.push(claim);
  }
  // Highest view first; the digest order only makes the choice deterministic.
  candidates.sort((a, b) => b.view - a.view || (hex(a.digest) < hex(b.digest) ? -1 : hex(a.digest) > hex(b.digest) ? 1 : 0));
  for (const candidate of candidates) {
    const a1 = viewChanges.filter((m) => {
      if (m.stableSeq >= n) return false;
      const own = m.prepared.find((p) => p.seq === n);
      return own === undefined || own.view < candidate.view || (own.view === candidate.view && bytesEqual(own.digest, candidate.digest));
    }).length;
    if (a1 < quorums.quorum) continue;
    const a2 = viewChanges.filter((m) => m.prePrepared.some((q) => q.seq === n && q.view >= candidate.view && bytesEqual(q.digest, candidate.digest))).length;
    if (a2 < quorums.weak) continue;
    return { seq: n, digest: candidate.digest, requests: candidate.requests };
  }
  const b = viewChanges.filter((m) => m.stableSeq < n && !m.prepared.some((p) => p.seq === n)).length;
  if (b >= quorums.quorum) return { seq: n, digest: nullDigest, requests: [] };
  return undefined;
}

/** sameDecision tells whether a NEW-VIEW states exactly `decision`. */
export function sameDecision(
  decision: NewViewDecision,
  stated: { readonly checkpointSeq: number; readonly checkpointDigest: Uint8Array; readonly entries: readonly NewViewEntry[] },
): boolean {
  if (decision.checkpointSeq !== stated.checkpointSeq || !bytesEqual(decision.checkpointDigest, stated.checkpointDigest)) return false;
  if (decision.entries.length !== stated.entries.length) return false;
  return decision.entries.every((entry, i) => {
    const other = stated.entries[i];
    return other !== undefined && other.seq === entry.seq && bytesEqual(other.digest, entry.digest);
  });
}
