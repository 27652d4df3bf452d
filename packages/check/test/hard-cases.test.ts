import { describe, expect, it } from "vitest";
import { checkHistory, checkKvHistory, registerModel, stringKvModel, type Verdict } from "@concord/check";
import { KvHistory, RegisterHistory } from "./builders.ts";

const checkRegister = (history: RegisterHistory): Verdict => checkHistory(registerModel, history.operations);

describe("register: hand-made histories with known verdicts", () => {
  it("accepts an empty history", () => {
    expect(checkRegister(new RegisterHistory()).kind).toBe("linearizable");
  });

  it("accepts sequential writes and reads", () => {
    const history = new RegisterHistory().read(1, 0, 1, null).write(1, 2, 3, 1).read(2, 4, 5, 1).write(2, 6, 7, 2).read(1, 8, 9, 2);
    expect(checkRegister(history).kind).toBe("linearizable");
  });

  it("reorders concurrent operations: a read that returns before the write it sees completes", () => {
    const history = new RegisterHistory().write(1, 0, 10, 1).read(2, 1, 3, 1);
    expect(checkRegister(history).kind).toBe("linearizable");
  });

  it("reorders concurrent writes against their invocation order", () => {
    // Write 1 is invoked first, yet a later read sees 1, so write 2 must take effect first.
    const history = new RegisterHistory().write(1, 0, 10, 1).write(2, 1, 11, 2).read(3, 12, 13, 1);
    expect(checkRegister(history).kind).toBe("linearizable");
  });

  it("places an indeterminate write whose effect a later read shows", () => {
    const history = new RegisterHistory().write(1, 0, undefined, 1, "info").read(2, 5, 6, 1);
    expect(checkRegister(history).kind).toBe("linearizable");
  });

  it("places an indeterminate write that took effect long after its client gave up", () => {
    const history = new RegisterHistory().write(1, 0, 2, 1, "info").read(2, 3, 4, null).read(2, 5, 6, 1);
    expect(checkRegister(history).kind).toBe("linearizable");
  });

  it("leaves out an indeterminate write whose effect never shows", () => {
    const history = new RegisterHistory().write(1, 0, 1, 0).write(2, 2, undefined, 1, "info").read(3, 5, 6, 0).read(3, 7, 8, 0);
    expect(checkRegister(history).kind).toBe("linearizable");
  });

  it("rejects an indeterminate write that shows and then disappears", () => {
    const history = new RegisterHistory().write(1, 0, 1, 0).write(2, 2, undefined, 1, "info").read(3, 3, 4, 1).read(3, 5, 6, 0);
    expect(checkRegister(history).kind).toBe("not-linearizable");
  });

  it("rejects a failed write that a later read claims to see", () => {
    const history = new RegisterHistory().write(1, 0, 1, 1, "fail").read(2, 2, 3, 1);
    expect(checkRegister(history).kind).toBe("not-linearizable");
  });

  it("accepts a failed write that overlaps nothing and is never seen", () => {
    const history = new RegisterHistory().write(1, 0, 1, 1, "fail").read(2, 2, 3, null);
    expect(checkRegister(history).kind).toBe("linearizable");
  });

  it("rejects a stale read", () => {
    const history = new RegisterHistory().write(1, 0, 1, 1).write(1, 2, 3, 2).read(2, 4, 5, 1);
    expect(checkRegister(history).kind).toBe("not-linearizable");
  });

  it("accepts a read concurrent with the overwrite that returns the old value", () => {
    const history = new RegisterHistory().write(1, 0, 1, 1).write(1, 2, 6, 2).read(2, 3, 5, 1);
    expect(checkRegister(history).kind).toBe("linearizable");
  });

  it("rejects a lost update: two compare-and-sets from the same value both succeed", () => {
    const history = new RegisterHistory()
      .write(1, 0, 1, 0)
      .read(1, 2, 3, 0)
      .read(2, 2, 3, 0)
      .cas(1, 4, 5, 0, 1, true)
      .cas(2, 6, 7, 0, 1, true);
    expect(checkRegister(history).kind).toBe("not-linearizable");
  });

  it("accepts concurrent compare-and-sets where exactly one succeeds", () => {
    const history = new RegisterHistory().write(1, 0, 1, 0).cas(1, 2, 5, 0, 1, true).cas(2, 2, 5, 0, 2, false).read(3, 6, 7, 1);
    expect(checkRegister(history).kind).toBe("linearizable");
  });

  it("rejects a read of a value nobody wrote", () => {
    const history = new RegisterHistory().write(1, 0, 1, 1).read(2, 0, 2, 7);
    expect(checkRegister(history).kind).toBe("not-linearizable");
  });

  it("treats touching intervals as concurrent, as porcupine does", () => {
    // The read is invoked at the instant the write completes: either order is allowed.
    const history = new RegisterHistory().write(1, 0, 5, 1).read(2, 5, 6, null);
    expect(checkRegister(history).kind).toBe("linearizable");
  });

  it("checks independent registers apart and names the failing key", () => {
    const history = new RegisterHistory()
      .add(1, 0, 1, { type: "write", key: "a", value: 1 }, { type: "write" })
      .add(2, 2, 3, { type: "read", key: "b" }, { type: "read", value: 1 });
    const verdict = checkRegister(history);
    expect(verdict.kind).toBe("not-linearizable");
    if (verdict.kind === "not-linearizable") expect(verdict.evidence.partition).toBe('key "b"');
  });
});

describe("kv: hand-made histories with known verdicts", () => {
  it("accepts gets, puts, appends, compare-and-sets and deletes in order", () => {
    const history = new KvHistory()
      .get(1, 0, 1, "x", undefined)
      .put(1, 2, 3, "x", "a")
      .append(2, 4, 5, "x", "b")
      .get(1, 6, 7, "x", "ab")
      .cas(2, 8, 9, "x", "ab", "c", true)
      .cas(1, 10, 11, "x", "ab", "d", false)
      .delete(2, 12, 13, "x", true)
      .delete(1, 14, 15, "x", false)
      .cas(1, 16, 17, "x", undefined, "e", true)
      .get(2, 18, 19, "x", "e");
    expect(checkKvHistory(history.operations).kind).toBe("linearizable");
  });

  it("reorders concurrent appends to match what a later get shows", () => {
    const history = new KvHistory().append(1, 0, 10, "x", "a").append(2, 1, 11, "x", "b").append(3, 2, 12, "x", "c").get(4, 13, 14, "x", "cab");
    expect(checkKvHistory(history.operations).kind).toBe("linearizable");
  });

  it("rejects a lost update: a completed append that no later get shows", () => {
    const history = new KvHistory().append(1, 0, 2, "x", "a").append(2, 1, 3, "x", "b").get(3, 4, 5, "x", "b");
    expect(checkKvHistory(history.operations).kind).toBe("not-linearizable");
  });

  it("places an indeterminate append that a later get shows, and leaves out one it does not", () => {
    const history = new KvHistory()
      .append(1, 0, undefined, "x", "a", "info")
      .append(2, 1, undefined, "x", "b", "info")
      .get(3, 4, 5, "x", "b")
      .get(3, 6, 7, "x", "b");
    expect(checkKvHistory(history.operations).kind).toBe("linearizable");
  });

  it("rejects a failed put that a later get sees", () => {
    const history = new KvHistory().put(1, 0, 1, "x", "a", "fail").get(2, 2, 3, "x", "a");
    expect(checkKvHistory(history.operations).kind).toBe("not-linearizable");
  });

  it("rejects a stale get after a delete", () => {
    const history = new KvHistory().put(1, 0, 1, "x", "a").delete(1, 2, 3, "x", true).get(2, 4, 5, "x", "a");
    expect(checkKvHistory(history.operations).kind).toBe("not-linearizable");
  });

  it("rejects a delete that claims the key existed when it never did", () => {
    const history = new KvHistory().delete(1, 0, 1, "x", true);
    expect(checkKvHistory(history.operations).kind).toBe("not-linearizable");
  });

  it("keeps keys independent: a put on one key does not satisfy a get on another", () => {
    const history = new KvHistory().put(1, 0, 1, "x", "a").get(2, 2, 3, "y", "a");
    expect(checkKvHistory(history.operations).kind).toBe("not-linearizable");
  });

  it("accepts a get concurrent with a put that returns either value", () => {
    const history = new KvHistory().put(1, 0, 1, "x", "a").put(1, 2, 10, "x", "b").get(2, 3, 4, "x", "b").get(3, 3, 5, "x", "a");
    // get "b" at [3,4] forces put b before 4; get "a" at [3,5] may go before it.
    expect(checkKvHistory(history.operations).kind).toBe("linearizable");
  });

  it("rejects a read that goes back in time after a newer read", () => {
    const history = new KvHistory().put(1, 0, 1, "x", "a").put(1, 2, 10, "x", "b").get(2, 3, 4, "x", "b").get(3, 5, 6, "x", "a");
    expect(checkKvHistory(history.operations).kind).toBe("not-linearizable");
  });

  it("rejects a completed operation whose result is invalid (a garbled command or reply)", () => {
    const history = new KvHistory().put(1, 0, 1, "x", "a").add(2, 2, 3, { type: "get", key: "x" }, { type: "invalid", reason: "undecodable" });
    const verdict = checkKvHistory(history.operations);
    expect(verdict.kind).toBe("not-linearizable");
    if (verdict.kind === "not-linearizable") expect(verdict.evidence.text).toContain("get x -> invalid: undecodable");
    const indeterminate = new KvHistory().put(1, 0, 1, "x", "a").add(2, 2, 3, { type: "put", key: "x", value: new Uint8Array([98]) }, undefined, "info");
    expect(checkKvHistory(indeterminate.operations).kind).toBe("linearizable");
  });

  it("rejects an operation that completes before it is invoked", () => {
    const history = new KvHistory().put(1, 5, 4, "x", "a");
    expect(() => checkKvHistory(history.operations)).toThrow(/before its invocation/);
  });
});

describe("string kv (porcupine's model): a missing key reads as the empty string", () => {
  const check = (history: KvHistory): Verdict => checkHistory(stringKvModel, history.operations);

  it("accepts a read of \"\" or nil from a missing key, and of a key whose value is \"\"", () => {
    expect(check(new KvHistory().get(1, 0, 1, "x", "").get(2, 2, 3, "x", undefined)).kind).toBe("linearizable");
    expect(check(new KvHistory().put(1, 0, 1, "x", "").get(2, 2, 3, "x", undefined).append(1, 4, 5, "x", "a").get(2, 6, 7, "x", "a")).kind).toBe("linearizable");
  });

  it("matches a compare-and-set expecting \"\" against a missing key, and reports an empty value as not existing on delete", () => {
    expect(check(new KvHistory().cas(1, 0, 1, "x", "", "a", true).get(2, 2, 3, "x", "a")).kind).toBe("linearizable");
    expect(check(new KvHistory().put(1, 0, 1, "x", "").delete(2, 2, 3, "x", false)).kind).toBe("linearizable");
    expect(check(new KvHistory().put(1, 0, 1, "x", "").delete(2, 2, 3, "x", true)).kind).toBe("not-linearizable");
  });

  it("still rejects a stale read", () => {
    expect(check(new KvHistory().put(1, 0, 1, "x", "a").put(1, 2, 3, "x", "").get(2, 4, 5, "x", "a")).kind).toBe("not-linearizable");
    expect(check(new KvHistory().put(1, 0, 1, "x", "a").get(2, 2, 3, "x", "")).kind).toBe("not-linearizable");
  });
});

describe("wide concurrency", () => {
  it("orders more concurrent operations than the search's first candidate buffer holds (1,024)", () => {
    // 1,500 puts in a staggered chain: put i runs over [i, i + 1100], so 1,100 of them are candidates
    // at the first step (the buffer must grow past 1,024); a final get sees the last put's value.
    const history = new KvHistory();
    for (let client = 0; client < 1500; client++) history.put(client, client, client + 1100, "x", `v${client}`);
    history.get(0, 3000, 3001, "x", "v1499");
    expect(checkKvHistory(history.operations).kind).toBe("linearizable");
  });
});
