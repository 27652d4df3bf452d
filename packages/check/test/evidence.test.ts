import { describe, expect, it } from "vitest";
import { checkHistory, checkKvHistory, generateKvHistory, kvModel, parseRegisterHistory, registerModel, renderTimeline } from "@concord/check";
import { KvHistory, RegisterHistory } from "./builders.ts";

describe("evidence of a violation", () => {
  it("names the stale read, the state it contradicts and the write that set it", () => {
    const history = new RegisterHistory().write(1, 0, 1, 1).write(1, 2, 3, 2).read(2, 4, 5, 1).read(3, 6, 7, 2);
    const verdict = checkHistory(registerModel, history.operations);
    expect(verdict.kind).toBe("not-linearizable");
    if (verdict.kind !== "not-linearizable") return;
    const { evidence } = verdict;
    expect(evidence.state).toBe("2");
    expect(evidence.blocking.id).toBe(2);
    expect(evidence.pending.map((operation) => operation.id)).toEqual([2]);
    expect(evidence.linearizedBefore.map((operation) => operation.id)).toEqual([0, 1]);
    expect(evidence.linearizedCount).toBe(2);
    expect(evidence.region).toEqual({ fromUs: 0, toUs: 5 });
    expect(evidence.text).toContain("That prefix leaves the state 2; its last writes:");
    expect(evidence.text).toContain("#2 client 2 [4, 5] read -> 1  <- returned first");
    // The read after the violation plays no part.
    expect(evidence.operationIds).not.toContain(3);
  });

  it("keeps to the failing key and the operations around the failure in a long history", () => {
    const generated = generateKvHistory({ clients: 8, operations: 2000, keys: 4, seed: 11 });
    const gets = generated.filter((operation) => operation.status === "ok" && operation.input.type === "get");
    const victim = gets[Math.floor(gets.length / 2)]!;
    const history = generated.map((operation) =>
      operation === victim ? { ...operation, output: { type: "get" as const, value: new TextEncoder().encode("<nobody>") } } : operation,
    );
    const verdict = checkKvHistory(history);
    expect(verdict.kind).toBe("not-linearizable");
    if (verdict.kind !== "not-linearizable") return;
    const key = victim.input.key;
    expect(verdict.evidence.partition).toBe(`key ${JSON.stringify(key)}`);
    expect(verdict.evidence.blocking.id).toBe(victim.id);
    expect(verdict.evidence.operationIds.length).toBeLessThanOrEqual(3 + 8);
    for (const id of verdict.evidence.operationIds) {
      const operation = history[id]!;
      expect(operation.input.key).toBe(key);
      expect(operation.invokeUs).toBeLessThanOrEqual(victim.completeUs!);
    }
    expect(verdict.evidence.text).toContain('get ' + key + ' -> "<nobody>"');
  });

  it("blames the impossible read, not a later operation that is concurrent with nothing wrong (Knossos's rethink-fail case)", () => {
    // write 0; then read -> 3 concurrent with write 4; then read -> 4. No order explains 3.
    const history = parseRegisterHistory(`({:type :invoke, :f :write, :value 0, :process 0}
 {:type :ok, :f :write, :value 0, :process 0}
 {:type :invoke, :f :read, :value nil, :process 1}
 {:type :invoke, :f :write, :value 4, :process 2}
 {:type :ok, :f :read, :value 3, :process 1}
 {:type :ok, :f :write, :value 4, :process 2}
 {:type :invoke, :f :read, :value nil, :process 3}
 {:type :ok, :f :read, :value 4, :process 3})`);
    const verdict = checkHistory(registerModel, history);
    expect(verdict.kind).toBe("not-linearizable");
    if (verdict.kind !== "not-linearizable") return;
    expect(verdict.evidence.blocking.description).toBe("read -> 3");
    expect(verdict.evidence.operationIds).not.toContain(3);
    expect(verdict.evidence.text).toContain("read -> 3  <- returned first");
  });

  it("leaves reads out of the context and keeps the writes that explain the state", () => {
    const history = new RegisterHistory().write(1, 0, 1, 1).read(2, 2, 3, 1).read(3, 4, 5, 1).read(2, 6, 7, 1).read(3, 8, 9, 5);
    const verdict = checkHistory(registerModel, history.operations);
    expect(verdict.kind).toBe("not-linearizable");
    if (verdict.kind !== "not-linearizable") return;
    expect(verdict.evidence.linearizedCount).toBe(4);
    expect(verdict.evidence.linearizedBefore.map((operation) => operation.id)).toEqual([0]);
    expect(verdict.evidence.pending.map((operation) => operation.id)).toEqual([4]);
  });

  it("shows a failed write the read claims to see as absent from the state", () => {
    const history = new KvHistory().put(1, 0, 1, "x", "a", "fail").get(2, 2, 3, "x", "a");
    const verdict = checkKvHistory(history.operations);
    expect(verdict.kind).toBe("not-linearizable");
    if (verdict.kind !== "not-linearizable") return;
    expect(verdict.evidence.text).toContain("From the initial state nil:");
    expect(verdict.evidence.pending.map((operation) => operation.description)).toEqual(['get x -> "a"']);
  });
});

describe("HTML timeline", () => {
  it("draws one row per client, bars for operations, and the failing region, with nothing loaded from the network", () => {
    const history = new KvHistory().put(1, 0, 1, "x", "a").put(1, 2, 3, "x", "<b>").get(2, 4, 5, "x", "a").append(3, 1, undefined, "y", "z", "info").put(3, 6, 7, "y", "q", "fail");
    const verdict = checkKvHistory(history.operations);
    const html = renderTimeline(kvModel, history.operations, verdict, { title: "stale & read" });
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain("<title>stale &amp; read</title>");
    expect(html.match(/class="row"/g)).toHaveLength(3);
    expect(html.match(/class="op /g)).toHaveLength(5);
    expect(html).toContain('class="region"');
    expect(html).toContain("op ok evidence");
    // Evidence bars carry the ids the evidence text uses.
    expect(html).toMatch(/class="op ok evidence"[^>]*><span class="label">#2 get x -&gt; &quot;a&quot;</);
    expect(html).toContain("op info open");
    expect(html).toContain("op fail");
    expect(html).toContain("put x &quot;&lt;b&gt;&quot;");
    expect(html).not.toMatch(/<b>/);
    expect(html).not.toMatch(/\bsrc=|\bhref=|https?:\/\//);
    expect(html).toContain('<option value="1">key &quot;y&quot;</option>');
  });

  it("draws a linearizable history without a failing region", () => {
    const history = new RegisterHistory().write(1, 0, 5, 1).read(2, 1, 3, 1);
    const verdict = checkHistory(registerModel, history.operations);
    const html = renderTimeline(registerModel, history.operations, verdict);
    expect(html).toContain('class="verdict linearizable"');
    expect(html).not.toContain('class="region"');
  });
});
