// findStaleReads names the reads that certainly returned an overwritten value (issue 15): each is a violation on its
// own, whatever the order of concurrent operations, and nothing else is named.
import { describe, expect, it } from "vitest";
import { checkKvHistory, findStaleReads, runProblems } from "@concord/check";
import type { HistoryOperation } from "@concord/core";
import type { KvCommand, KvResult } from "@concord/kv";
import { KvHistory } from "./builders.ts";

const withLevel = (history: KvHistory, id: number, readLevel: "stale"): HistoryOperation<KvCommand, KvResult>[] =>
  history.operations.map((operation) => (operation.id === id ? { ...operation, readLevel } : operation));

describe("findStaleReads", () => {
  it("names a read of a value overwritten before it began: what it returned, where from, and the write it missed", () => {
    const history = new KvHistory().put(1, 0, 10, "x", "a").put(2, 20, 30, "x", "b").get(3, 40, 50, "x", "a");
    const { total, staleReads } = findStaleReads(withLevel(history, 2, "stale"));
    expect(total).toBe(1);
    expect(staleReads[0]).toMatchObject({ key: "x", readLevel: "stale", returned: '"a"', read: { id: 2, clientId: 3 }, source: { id: 0 }, missed: { id: 1, clientId: 2 } });
    expect(staleReads[0]?.text).toBe(
      'op 2, get x by client 3 (a stale read invoked at 40 us), returned "a" from op 0 (put x "a" -> ok), missing op 1 (put x "b" -> ok, client 2), which completed at 30 us, before the read began',
    );
    expect(checkKvHistory(history.operations).kind).toBe("not-linearizable");
  });

  it("names a read of nothing after a completed write, as missing it, from the initial state", () => {
    const history = new KvHistory().put(1, 0, 10, "x", "a").get(2, 20, 30, "x", undefined);
    const [stale] = findStaleReads(history.operations).staleReads;
    expect(stale).toMatchObject({ returned: "nil", missed: { id: 0 } });
    expect(stale?.source).toBeUndefined();
    expect(stale?.text).toContain("from the initial state");
  });

  it("names nothing where some order makes the read current: a concurrent overwrite, a rewrite of the value, a write of unknown outcome", () => {
    const concurrent = new KvHistory().put(1, 0, 10, "x", "a").put(2, 20, 45, "x", "b").get(3, 40, 50, "x", "a");
    const rewritten = new KvHistory().put(1, 0, 10, "x", "a").put(2, 20, 30, "x", "b").put(1, 32, 38, "x", "a").get(3, 40, 50, "x", "a");
    const uncertain = new KvHistory().put(1, 0, undefined, "x", "a", "info").put(2, 20, 30, "x", "b").get(3, 40, 50, "x", "a");
    const failedOverwrite = new KvHistory().put(1, 0, 10, "x", "a").put(2, 20, 30, "x", "b", "fail").get(3, 40, 50, "x", "a");
    const refusedCas = new KvHistory().put(1, 0, 10, "x", "a").cas(2, 20, 30, "x", "z", "b", false).get(3, 40, 50, "x", "a");
    for (const history of [concurrent, rewritten, uncertain, failedOverwrite, refusedCas]) {
      expect(findStaleReads(history.operations).total).toBe(0);
      expect(checkKvHistory(history.operations).kind).toBe("linearizable");
    }
  });

  it("counts deletes and successful cas as overwrites, and leaves keys with appends alone", () => {
    const deleted = new KvHistory().put(1, 0, 10, "x", "a").delete(2, 20, 30, "x", true).get(3, 40, 50, "x", "a");
    const swapped = new KvHistory().put(1, 0, 10, "x", "a").cas(2, 20, 30, "x", "a", "b", true).get(3, 40, 50, "x", "a");
    const appended = new KvHistory().put(1, 0, 10, "x", "a").append(2, 20, 30, "x", "b").get(3, 40, 50, "x", "a");
    expect(findStaleReads(deleted.operations).staleReads.map((stale) => stale.missed.id)).toEqual([1]);
    expect(findStaleReads(swapped.operations).staleReads.map((stale) => stale.missed.id)).toEqual([1]);
    expect(findStaleReads(appended.operations).total).toBe(0);
  });

  it("names the latest write the read missed, and every stale read of a history, in invocation order", () => {
    const history = new KvHistory()
      .put(1, 0, 10, "x", "a")
      .put(2, 20, 30, "x", "b")
      .put(2, 35, 38, "x", "c")
      .get(3, 40, 50, "x", "a")
      .put(1, 0, 5, "y", "p")
      .get(3, 60, 70, "y", undefined);
    const found = findStaleReads(history.operations);
    expect(found.total).toBe(2);
    expect(found.staleReads.map((stale) => [stale.read.id, stale.missed.id])).toEqual([
      [3, 2],
      [5, 4],
    ]);
  });

  it("reads a write-once register's puts by the value they report holding", () => {
    // The second put found the register set: it holds "a", so a later read of "a" is current, and one of nothing is stale.
    const history = new KvHistory().add(1, 0, 10, { type: "put", key: "x", value: new TextEncoder().encode("a") }, { type: "put", value: new TextEncoder().encode("a") });
    history.add(2, 20, 30, { type: "put", key: "x", value: new TextEncoder().encode("b") }, { type: "put", value: new TextEncoder().encode("a") });
    history.get(3, 40, 50, "x", "a").get(3, 60, 70, "x", undefined);
    const found = findStaleReads(history.operations, "write-once");
    expect(found.staleReads.map((stale) => stale.read.id)).toEqual([3]);
  });
});

describe("runProblems of a run whose reads were served stale", () => {
  const run = {
    invariantViolations: [],
    linearizable: false,
    linearizability: "not linearizable: a stale read",
    ops: { invoked: 1, completed: 1, failed: 0, indeterminate: 0 },
    abandonedOperations: 0,
    promisesLinearizability: false,
  };
  it("passes a history whose only violations are its stale reads, and flags one whose other operations are not linearizable", () => {
    expect(runProblems({ ...run, withoutStaleReads: { linearizable: true, linearizability: "linearizable" } })).toEqual([]);
    expect(runProblems({ ...run, withoutStaleReads: { linearizable: false, linearizability: "not linearizable: a lost write" } })).toEqual([
      "stale reads left out: not linearizable: a lost write",
    ]);
    expect(runProblems({ ...run, withoutStaleReads: { linearizable: null, linearizability: "unknown (step budget)" } }, { undecidedIsBroken: true })).toHaveLength(1);
  });
});
