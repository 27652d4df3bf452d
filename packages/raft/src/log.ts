import { assert } from "@concord/core";
import type { Entry } from "./messages.ts";

/** AppendOutcome is what a follower's log made of an append: a mismatch, or the last index it now matches. */
export type AppendOutcome = { readonly kind: "mismatch" } | { readonly kind: "ok"; readonly lastNewIndex: number; readonly appendedFrom: number | undefined };

/**
 * RaftLog is the replicated log with a snapshot offset: entries up to
 * `snapshotIndex` live only in the snapshot (§7); the ones after it are held
 * in memory (the durable copy is the replica's records).
 *
 * Invariant: entries[k].index === snapshotIndex + 1 + k, and terms never
 * decrease along the log.
 * Invariant: snapshotIndex <= committed <= lastIndex().
 */
export class RaftLog {
  private entries: Entry[] = [];
  snapshotIndex = 0;
  snapshotTerm = 0;
  committed = 0;

  /** firstIndex is the index of the first entry held in the log (one past the snapshot). */
  firstIndex(): number {
    return this.snapshotIndex + 1;
  }

  lastIndex(): number {
    return this.snapshotIndex + this.entries.length;
  }

  lastTerm(): number {
    const last = this.entries[this.entries.length - 1];
    return last === undefined ? this.snapshotTerm : last.term;
  }

  /** term returns the term of the entry at `index`, or undefined when it is compacted or beyond the end. */
  term(index: number): number | undefined {
    if (index === this.snapshotIndex) return this.snapshotTerm;
    return this.entries[index - this.snapshotIndex - 1]?.term;
  }

  /** entry returns the entry at `index`, if the log holds it. */
  entry(index: number): Entry | undefined {
    return this.entries[index - this.snapshotIndex - 1];
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** isUpToDate is the election restriction (§5.4.1): compare last terms, then last indexes. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ownTerm = this.lastTerm();
    return lastTerm > ownTerm || (lastTerm === ownTerm && lastIndex >= this.lastIndex());
  }

  /**
   * maybeAppend is the follower's side of AppendEntries (§5.3): if the log
   * holds (prevIndex, prevTerm), append `entries`, truncating the first
   * conflicting suffix (never anything the leader's entries agree with).
   */
  maybeAppend(prevIndex: number, prevTerm: number, entries: readonly Entry[]): AppendOutcome {
    if (!this.matchTerm(prevIndex, prevTerm)) return { kind: "mismatch" };
    const lastNewIndex = prevIndex + entries.length;
    let conflict: number | undefined;
    for (const entry of entries) {
      if (!this.matchTerm(entry.index, entry.term)) {
        conflict = entry.index;
        break;
      }
    }
    if (conflict === undefined) return { kind: "ok", lastNewIndex, appendedFrom: undefined };
    assert(conflict > this.committed, () => `entry ${conflict} conflicts with a committed entry (commit ${this.committed})`);
    // Usually every entry is new (the conflict is the first): appended as they came, without a copy.
    this.append(conflict === prevIndex + 1 ? entries : entries.slice(conflict - prevIndex - 1));
    return { kind: "ok", lastNewIndex, appendedFrom: conflict };
  }

  /** append adds entries, replacing any entries at their indexes and after. */
  append(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    assert(first.index > this.committed, () => `append at ${first.index} would overwrite committed entries (commit ${this.committed})`);
    assert(first.index <= this.lastIndex() + 1, () => `append at ${first.index} leaves a gap after ${this.lastIndex()}`);
    this.entries.length = first.index - this.snapshotIndex - 1;
    for (const entry of entries) this.entries.push(entry);
  }

  /** appendNext adds one entry right after the last (a leader's new entry): append of one entry without a conflict to cut. */
  appendNext(entry: Entry): void {
    if (entry.index !== this.lastIndex() + 1 || entry.index <= this.committed) {
      assert(false, `append of one entry at ${entry.index} after ${this.lastIndex()} (commit ${this.committed})`);
    }
    this.entries.push(entry);
  }

  /**
   * slice returns entries from `from` on, at most `entriesMax` of them and at
   * most `bytesMax` of commands (but always one, so that progress is made).
   */
  slice(from: number, entriesMax: number, bytesMax: number): Entry[] {
    assert(from > this.snapshotIndex, () => `slice from ${from}: compacted up to ${this.snapshotIndex}`);
    const result: Entry[] = [];
    let bytes = 0;
    for (let k = from - this.snapshotIndex - 1; k < this.entries.length && result.length < entriesMax; k++) {
      const entry = this.entries[k] as Entry;
      bytes += entry.command.length + entrySizeOverheadBytes;
      if (result.length > 0 && bytes > bytesMax) break;
      result.push(entry);
    }
    return result;
  }

  /** entriesAfter lists every entry after `index`. */
  entriesAfter(index: number): Entry[] {
    return this.entries.slice(Math.max(0, index - this.snapshotIndex));
  }

  /** commitTo raises the commit index; it never lowers it. */
  commitTo(index: number): boolean {
    if (index <= this.committed) return false;
    assert(index <= this.lastIndex(), () => `commit ${index} is beyond the last index ${this.lastIndex()}`);
    this.committed = index;
    return true;
  }

  /** maybeCommit commits up to `index` only if that entry is of `term`: a leader counts replicas only for entries of its own term (§5.4.2). */
  maybeCommit(index: number, term: number): boolean {
    if (index > this.committed && this.term(index) === term) return this.commitTo(index);
    return false;
  }

  /**
   * findConflictByTerm returns the largest index at or below `index` whose
   * term is at most `term` (etcd-io/raft's fast back-off): every entry after
   * it is known to differ from a log whose entry at `index` has `term`.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    let i = Math.min(index, this.lastIndex());
    for (;;) {
      const t = this.term(i);
      if (t === undefined) return { index: i, term: 0 };
      if (t <= term) return { index: i, term: t };
      i--;
    }
  }

  /** compact drops the entries up to `index`, which a snapshot now holds. */
  compact(index: number): void {
    assert(index <= this.committed, () => `compact ${index} beyond commit ${this.committed}`);
    if (index <= this.snapshotIndex) return;
    const term = this.term(index);
    assert(term !== undefined, () => `compact ${index}: entry missing`);
    this.entries = this.entries.slice(index - this.snapshotIndex);
    this.snapshotIndex = index;
    this.snapshotTerm = term;
  }

  /** restore discards the whole log in favour of a snapshot (§7: the snapshot covers the log). */
  restore(index: number, term: number): void {
    this.entries = [];
    this.snapshotIndex = index;
    this.snapshotTerm = term;
    this.committed = index;
  }
}

/** entrySizeOverheadBytes approximates an entry's framing on the wire, for the bytes-per-message limit. */
const entrySizeOverheadBytes = 24;
