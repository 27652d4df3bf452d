/**
 * Rejections is the read side of a {@link RejectionCounter}: how many inputs a
 * replica dropped without acting on them, by reason, for tests, monitors and
 * reports.
 */
export interface Rejections<Reason extends string> {
  /** get is how many inputs were dropped for `reason` (0 when none was). */
  get(reason: Reason): number;
  /** total is how many inputs were dropped for any reason. */
  total(): number;
  /** byReason lists the reasons seen with their counts, in the order each was first seen. */
  byReason(): ReadonlyMap<Reason, number>;
}

/**
 * RejectionCounter counts the inputs a replica drops without effect (a
 * malformed or impossible message, a forged authenticator, a message for a
 * view or ballot it cannot act on), by reason. Every protocol counts its
 * rejections with it, so that a test or a report reads them the same way.
 * A protocol names its reasons as its own union of string literals, so that
 * a misspelt reason does not compile.
 *
 * Invariant: the reasons are a fixed set, never built from message fields,
 * so the counter stays bounded whatever a faulty peer sends.
 */
export class RejectionCounter<Reason extends string> implements Rejections<Reason> {
  private readonly counts = new Map<Reason, number>();
  private sum = 0;

  /** count records one input dropped for `reason`. */
  count(reason: Reason): void {
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1);
    this.sum++;
  }

  get(reason: Reason): number {
    return this.counts.get(reason) ?? 0;
  }

  total(): number {
    return this.sum;
  }

  byReason(): ReadonlyMap<Reason, number> {
    return this.counts;
  }
}
