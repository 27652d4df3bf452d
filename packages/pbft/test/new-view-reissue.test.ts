// A request the NEW-VIEW re-issues keeps the sequence number it gives it: the
// new primary, which still holds the request as waiting, must not order it a
// second time (PBFT §4.4: the NEW-VIEW's pre-prepares are the new view's
// ordering of everything prepared before it; a second ordering runs as a stale
// duplicate, wasting a sequence number, a three-phase round and n replies).
// A request the view change dropped must still be ordered, once.
import { describe, expect, it } from "vitest";
import type { PbftMessage, PbftNewView, PbftPrePrepare } from "@concord/pbft";
import { pbftCluster, type Envelope, type PbftCluster } from "./kit.ts";

const value = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Ordering is one sequence number given to a request in a view: by a primary's PRE-PREPARE or by a NEW-VIEW entry. */
interface Ordering {
  readonly view: number;
  readonly seq: number;
  readonly request: string;
}

/** orderings lists every (view, seq) the cluster's primaries gave each request (as session#sequence), each once. */
function orderings(cluster: PbftCluster): Ordering[] {
  const found = new Map<string, Ordering>();
  const add = (view: number, seq: number, requests: PbftPrePrepare["requests"]): void => {
    for (const request of requests) {
      const ordering = { view, seq, request: `${request.session}#${request.sequence}` };
      found.set(`${view}:${seq}:${ordering.request}`, ordering);
    }
  };
  for (const { message } of cluster.sent) {
    if (message.type === "prePrepare") add(message.view, message.seq, message.requests);
    if (message.type === "newView") for (const entry of message.entries) add(message.view, entry.seq, entry.requests);
  }
  return [...found.values()];
}

/** reorderedInOneView lists the requests given more than one sequence number within one view. */
function reorderedInOneView(cluster: PbftCluster): string[] {
  const seqs = new Map<string, Set<number>>();
  for (const { view, seq, request } of orderings(cluster)) {
    const key = `view ${view}: ${request}`;
    seqs.set(key, (seqs.get(key) ?? new Set()).add(seq));
  }
  return [...seqs].filter(([, set]) => set.size > 1).map(([key, set]) => `${key} at seqs ${[...set].join(", ")}`);
}

/** prePreparesSent lists the PRE-PREPAREs `from` sent in `view` (one per sequence number: a broadcast counts once). */
function prePreparesSent(cluster: PbftCluster, from: number, view: number): PbftPrePrepare[] {
  const bySeq = new Map<number, PbftPrePrepare>();
  for (const envelope of cluster.sent) {
    const message = envelope.message;
    if (envelope.from === from && message.type === "prePrepare" && message.view === view) bySeq.set(message.seq, message);
  }
  return [...bySeq.values()];
}

function lastNewView(cluster: PbftCluster, view: number): PbftNewView | undefined {
  const newViews = cluster.sent.map((envelope) => envelope.message).filter((m): m is PbftNewView => m.type === "newView" && m.view === view);
  return newViews.at(-1);
}

const isType = (envelope: Envelope, type: PbftMessage["type"], view: number, seq?: number): boolean =>
  envelope.message.type === type && "view" in envelope.message && envelope.message.view === view && (seq === undefined || ("seq" in envelope.message && envelope.message.seq === seq));

/**
 * options: a short view-change timeout, and status messages (which make peers
 * retransmit what a stuck replica lacks) rare enough not to repair on their
 * own the rounds these schedules cut short.
 */
const options = { viewChangeTimeoutTicks: 5, statusTicks: 1_000 };

describe("PBFT NEW-VIEW re-issued requests (PBFT §4.4)", () => {
  it("the new primary orders a request the NEW-VIEW re-issued no second time, and orders the one the view change dropped, once", () => {
    const cluster = pbftCluster(4, options, 2);
    // Client 0's write prepares everywhere at seq 1 (its COMMITs are lost); client 1's is pre-prepared at seq 2 but
    // no PREPARE gets through, so no VIEW-CHANGE can carry it. Then the primary crashes.
    cluster.drop = (e) => isType(e, "commit", 0, 1) || isType(e, "prepare", 0, 2);
    cluster.submit({ type: "put", key: "a", value: value("prepared") }, 0);
    cluster.deliverAll();
    cluster.submit({ type: "put", key: "b", value: value("dropped") }, 1);
    cluster.deliverAll();
    for (const id of [1, 2, 3]) expect(cluster.replica(id).status().appliedIndex).toBe(0);
    cluster.crash(0);
    cluster.runUntil(() => cluster.idle(), 500);

    const newView = lastNewView(cluster, 1);
    expect(newView?.replica).toBe(1);
    expect(newView?.entries.map((entry) => [entry.seq, entry.requests.map((r) => r.clientId)])).toEqual([[1, [cluster.client(0).id]]]);
    // The new primary's only PRE-PREPARE of view 1 orders client 1's dropped write, alone, at the next free seq.
    expect(prePreparesSent(cluster, 1, 1).map((m) => [m.seq, m.requests.map((r) => r.clientId)])).toEqual([[2, [cluster.client(1).id]]]);
    expect(reorderedInOneView(cluster)).toEqual([]);
    for (const id of [1, 2, 3]) {
      expect(cluster.replica(id).status().appliedIndex).toBe(2);
      expect(cluster.replica(id).committedBatchAt(3)).toBeUndefined();
    }
    expect(cluster.results(0)).toEqual([{ type: "put" }]);
    expect(cluster.results(1)).toEqual([{ type: "put" }]);
    // No sequence number was wasted: the next write takes seq 3.
    cluster.submit({ type: "put", key: "a", value: value("next") }, 0);
    cluster.runUntil(() => cluster.idle(), 100);
    expect(cluster.replica(2).committedBatchAt(3)?.map((r) => r.clientId)).toEqual([cluster.client(0).id]);
    expect(cluster.violations()).toEqual([]);
  });

  it("a backup that held a re-issued request and becomes the primary of a later view does not order it again", () => {
    // n = 7 (f = 2): primaries 0 and 1 can both crash.
    const cluster = pbftCluster(7, options);
    // The write prepares in view 0 and again in view 1 (re-issued at seq 1), but commits in neither.
    cluster.drop = (e) => e.message.type === "commit" && "view" in e.message && e.message.view <= 1;
    cluster.submit({ type: "put", key: "x", value: value("1") });
    cluster.deliverAll();
    cluster.crash(0);
    const live = [1, 2, 3, 4, 5, 6];
    cluster.runUntil(() => live.every((id) => cluster.replica(id).status().epoch === 1 && cluster.replica(id).isViewActive()), 500);
    expect(lastNewView(cluster, 1)?.entries.map((entry) => entry.seq)).toEqual([1]);
    cluster.crash(1);
    cluster.runUntil(() => cluster.idle(), 1000);

    // Replica 2 was a backup in view 1 and leads view 2: its NEW-VIEW re-issues the write at seq 1, and it sends no
    // PRE-PREPARE of its own for it.
    expect(cluster.replica(2).status()).toMatchObject({ epoch: 2, leader: 2, appliedIndex: 1 });
    expect(lastNewView(cluster, 2)?.entries.map((entry) => entry.seq)).toEqual([1]);
    expect(prePreparesSent(cluster, 2, 2)).toEqual([]);
    expect(reorderedInOneView(cluster)).toEqual([]);
    for (const id of [2, 3, 4, 5, 6]) expect(cluster.replica(id).committedBatchAt(2)).toBeUndefined();
    expect(cluster.results()).toEqual([{ type: "put" }]);
    expect(cluster.violations()).toEqual([]);
  });

  it("a primary restarted mid-round does not order again a request its log holds for its view when the client retransmits it", () => {
    const cluster = pbftCluster(4, options);
    // The write is pre-prepared at seq 1 everywhere, but every PREPARE is lost; the primary restarts.
    cluster.drop = (e) => isType(e, "prepare", 0, 1);
    cluster.submit({ type: "put", key: "x", value: value("1") });
    cluster.deliverAll();
    cluster.restart(0);
    cluster.drop = undefined;
    // The client times out and broadcasts; the primary gets the request again and must leave it at seq 1.
    cluster.runUntil(() => cluster.idle(), 500);
    expect(prePreparesSent(cluster, 0, 0).map((m) => m.seq)).toEqual([1]);
    expect(reorderedInOneView(cluster)).toEqual([]);
    expect(cluster.results()).toEqual([{ type: "put" }]);
    expect(cluster.violations()).toEqual([]);
  });
});
