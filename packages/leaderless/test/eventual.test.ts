// `eventual`, the last-writer-wins store, against its rules: hybrid logical clocks (Kulkarni et al. 2014),
// last-writer-wins merging, push-pull anti-entropy (Demers et al. 1987), durability before answers, and what an AP
// store shows under a partition: service on both sides, stale reads the checker catches, convergence after the heal.
import { createRng, firstClientId, type NodeId, type ProtocolOptions } from "@concord/core";
import type { KvCommand } from "@concord/kv";
import { ConvergenceMonitor, EventualReplica, HybridClock, type LeaderlessEntry, type LeaderlessMessage, LwwStore, compareStamps, eventual } from "@concord/leaderless";
import { runSimulation, type ScenarioInput } from "@concord/sim";
import { summarizeKvHistory, runProblems } from "@concord/check";
import { TestCluster, coreClientWire } from "@concord/testkit";
import { describe, expect, test } from "vitest";

const encoder = new TextEncoder();
const text = (value: Uint8Array | undefined): string | undefined => (value === undefined ? undefined : new TextDecoder().decode(value));
const put = (key: string, value: string): KvCommand => ({ type: "put", key, value: encoder.encode(value) });
const get = (key: string): KvCommand => ({ type: "get", key });

function cluster(n: number, options: ProtocolOptions = {}, monitors: ConvergenceMonitor[] = []): TestCluster<LeaderlessMessage, EventualReplica> {
  return new TestCluster({
    algorithm: eventual,
    ids: Array.from({ length: n }, (_, index) => index + 1),
    options,
    rng: (id) => createRng(1000 + id),
    monitors,
    clientWire: coreClientWire<LeaderlessMessage>(),
    clientLinks: "instant",
    createReplica: (context) => new EventualReplica(context),
  });
}

function entry(key: string, value: string, wall: number, logical: number, node: NodeId): LeaderlessEntry {
  return { key, value: encoder.encode(value), deleted: false, wall, logical, node };
}

describe("hybrid logical clock (Kulkarni et al. 2014, Figure 5)", () => {
  test("readings never go back, follow the physical clock, and pass every reading heard of", () => {
    const clock = new HybridClock(2);
    const first = clock.now(5);
    const second = clock.now(5); // same physical time: the logical part orders them
    const third = clock.now(3); // the physical clock went back: the reading does not
    expect([first, second, third]).toEqual([
      { wall: 5, logical: 0, node: 2 },
      { wall: 5, logical: 1, node: 2 },
      { wall: 5, logical: 2, node: 2 },
    ]);
    clock.observe({ wall: 40, logical: 7, node: 1 }, 6);
    const after = clock.now(6);
    // A write taken after hearing of another orders after it, though this replica's physical clock is far behind.
    expect(compareStamps(after, { wall: 40, logical: 7, node: 1 })).toBeGreaterThan(0);
    expect(clock.now(50)).toEqual({ wall: 50, logical: 0, node: 2 });
  });

  test("stamps are totally ordered: wall, then logical, then node id breaks a tie", () => {
    expect(compareStamps({ wall: 1, logical: 9, node: 9 }, { wall: 2, logical: 0, node: 1 })).toBeLessThan(0);
    expect(compareStamps({ wall: 2, logical: 1, node: 1 }, { wall: 2, logical: 0, node: 9 })).toBeGreaterThan(0);
    expect(compareStamps({ wall: 2, logical: 1, node: 3 }, { wall: 2, logical: 1, node: 2 })).toBeGreaterThan(0);
    expect(compareStamps({ wall: 2, logical: 1, node: 3 }, { wall: 2, logical: 1, node: 3 })).toBe(0);
  });
});

describe("last-writer-wins store", () => {
  test("merging is order-insensitive: the same writes in any order give the same store", () => {
    const rng = createRng(7);
    const writes: LeaderlessEntry[] = [];
    for (let i = 0; i < 200; i++) writes.push({ ...entry(`k${rng.nextInt(5)}`, `v${i}`, rng.nextInt(20), rng.nextInt(3), 1 + rng.nextInt(3)), deleted: rng.chance(1, 5) });
    const fingerprints = new Set<string>();
    for (let trial = 0; trial < 5; trial++) {
      const order = [...writes];
      for (let i = order.length - 1; i > 0; i--) {
        const j = rng.nextInt(i + 1);
        [order[i], order[j]] = [order[j] as LeaderlessEntry, order[i] as LeaderlessEntry];
      }
      const store = new LwwStore();
      for (const write of [...order, ...order.slice(0, 50)]) store.merge(write); // and idempotent: some twice
      fingerprints.add(store.fingerprint());
    }
    expect(fingerprints.size).toBe(1);
  });

  test("an older write heard later does not overwrite a newer one, and a delete's tombstone wins over older puts", () => {
    const store = new LwwStore();
    expect(store.merge(entry("x", "new", 5, 0, 1))).toBe(true);
    expect(store.merge(entry("x", "old", 4, 9, 3))).toBe(false);
    expect(store.merge({ ...entry("x", "", 6, 0, 2), deleted: true })).toBe(true);
    expect(store.merge(entry("x", "older", 5, 1, 1))).toBe(false);
    expect(store.get("x")?.deleted).toBe(true);
  });
});

describe("a replica, driven by hand", () => {
  test("a put is answered only once its record is synced, in the Ready's messages, and pushed to every peer in the same Ready", () => {
    const c = cluster(3);
    c.request(1, put("x", "a"), { stepOnly: true });
    const ready = c.replica(1).ready();
    expect(ready?.persist).toHaveLength(1);
    expect(ready?.messagesBeforeSync ?? []).toEqual([]);
    expect(ready?.messages.map((out) => `${out.message.type}>${out.to}`).sort()).toEqual([`clientReply>${firstClientId}`, "update>2", "update>3"]);
  });

  test("any replica answers at once: a get on a replica the write has not reached returns the old value (stale), and the push brings it", () => {
    const c = cluster(3);
    c.cut(1, 2);
    const written = c.request(1, put("x", "a"));
    expect(c.replyTo(firstClientId, written)).toEqual({ type: "put" });
    c.deliverAll();
    const read2 = c.request(2, get("x"));
    expect(c.replyTo(firstClientId, read2)).toEqual({ type: "get", value: undefined });
    const read3 = c.request(3, get("x"));
    expect(text((c.replyTo(firstClientId, read3) as { value?: Uint8Array }).value)).toBe("a");
  });

  test("anti-entropy repairs a write the push lost, both ways: the digest's receiver sends what it holds newer and asks for what it lacks", () => {
    const c = cluster(2, { antiEntropyTicks: 5 });
    c.cut(1, 2);
    c.request(1, put("only-on-1", "a"));
    c.request(2, put("only-on-2", "b"), { clientId: firstClientId + 1 });
    c.deliverAll();
    expect(c.replica(2).entry("only-on-1")).toBeUndefined();
    c.heal();
    c.runUntil(() => c.replica(1).fingerprint() === c.replica(2).fingerprint(), 50);
    expect(text(c.replica(2).entry("only-on-1")?.value)).toBe("a");
    expect(text(c.replica(1).entry("only-on-2")?.value)).toBe("b");
    expect(c.countSent("digest")).toBeGreaterThan(0);
    expect(c.countSent("repair")).toBeGreaterThan(0);
  });

  test("one round of anti-entropy, by hand: the receiver of a digest sends what it holds newer, asks for what it lacks, and gets it", () => {
    const c = cluster(2);
    c.request(1, put("x", "on-1"));
    c.request(2, put("y", "on-2"), { clientId: firstClientId + 1 });
    expect(c.take((envelope) => envelope.message.type === "update")).toHaveLength(2); // both pushes lost
    const x = c.replica(1).entry("x") as LeaderlessEntry;
    expect(c.replica(2).entry("x")).toBeUndefined();
    // Replica 1's digest reaches replica 2; no tick runs, so no other round opens.
    c.inject(1, 2, { type: "digest", round: 1, stamps: [{ key: "x", wall: x.wall, logical: x.logical, node: x.node }] });
    c.deliverAll();
    const repairs = c.sent.filter((envelope) => envelope.message.type === "repair").map((envelope) => ({ from: envelope.from, message: envelope.message }));
    expect(repairs).toEqual([
      { from: 2, message: { type: "repair", round: 1, entries: [c.replica(2).entry("y")], want: ["x"] } },
      { from: 1, message: { type: "repair", round: 1, entries: [x], want: [] } },
    ]);
    expect(c.replica(1).fingerprint()).toBe(c.replica(2).fingerprint());
  });

  test("cas and append are refused with a typed result, and change nothing", () => {
    const c = cluster(3);
    const cas = c.request(1, { type: "cas", key: "x", expected: undefined, value: encoder.encode("a") });
    const append = c.request(1, { type: "append", key: "x", value: encoder.encode("a") });
    expect(c.replyTo(firstClientId, cas)).toMatchObject({ type: "invalid" });
    expect(c.replyTo(firstClientId, append)).toMatchObject({ type: "invalid" });
    expect(c.replica(1).entry("x")).toBeUndefined();
    expect(c.replica(1).eventualCounters().refusedCommands).toBe(2);
  });

  test("a retried request is answered from the client table, not taken again with a newer stamp", () => {
    const c = cluster(1);
    const sequence = c.request(1, put("x", "a"));
    const stamped = c.replica(1).entry("x");
    c.request(1, put("x", "a"), { sequence });
    expect(c.replica(1).entry("x")).toEqual(stamped);
    expect(c.replica(1).eventualCounters()).toMatchObject({ writesTaken: 1, retriesAnswered: 1 });
    expect(c.repliesTo(firstClientId).map((reply) => reply.result)).toEqual([{ type: "put" }, { type: "put" }]);
  });

  test("a restart keeps every synced write, and its clock passes their stamps, so a later write still wins", () => {
    const c = cluster(2);
    c.request(1, put("x", "before"));
    c.tick([1, 2], 30);
    c.deliverAll();
    c.crash(2);
    const restarted = c.restart(2, { rng: createRng(5) });
    expect(text(restarted.entry("x")?.value)).toBe("before");
    // The restarted replica's tick count is back at 0, far below the stamp it holds: its next write must still win.
    c.request(2, put("x", "after"), { clientId: firstClientId + 1 });
    c.deliverAll();
    expect(compareStamps(restarted.entry("x") as LeaderlessEntry, c.replica(1).entry("x") as LeaderlessEntry)).toBe(0);
    expect(text(c.replica(1).entry("x")?.value)).toBe("after");
  });

  test("a write not yet synced when its replica crashes is lost, and was never answered", () => {
    const c = cluster(1);
    c.request(1, put("x", "a"), { stepOnly: true });
    c.persistReady(1); // written, not synced
    c.crash(1);
    const restarted = c.restart(1, { rng: createRng(5) });
    expect(restarted.entry("x")).toBeUndefined();
    expect(c.repliesTo(firstClientId)).toEqual([]);
  });
});

/** partitionSplit is the partition the CAP comparison runs: replica 1 cut off, half the clients with it. */
const partitionSplit: ScenarioInput = {
  name: "partition-split",
  description: "Replica 1 cut off from 500 ms to 2 s, half the clients with it.",
  warmupMs: 500,
  workload: { spreadMs: 2500 },
  faults: [{ type: "partition", atMs: 500, isolate: [{ index: 0 }], clients: "split", durationMs: 1500 }],
};

describe("eventual in the simulator", () => {
  test("under a partition it serves both sides; the checker catches stale reads; the replicas converge after the heal", () => {
    let staleSeeds = 0;
    for (const seed of [1, 2, 3, 4, 5]) {
      const result = runSimulation({ algorithm: eventual, nodes: 3, scenario: partitionSplit, seed });
      const partition = result.faults.find((fault) => fault.kind === "partition");
      expect(partition?.clients?.length).toBe(2);
      const inside = new Set(partition?.clients);
      const during = (op: (typeof result.history)[number]) => op.completeUs !== undefined && op.completeUs / 1000 > (partition?.atMs ?? 0) && op.completeUs / 1000 < (partition?.untilMs ?? 0) && op.status === "ok";
      expect(result.history.filter((op) => during(op) && inside.has(op.clientId)).length, `seed ${seed}: completions on the minority side`).toBeGreaterThan(0);
      expect(result.history.filter((op) => during(op) && !inside.has(op.clientId)).length, `seed ${seed}: completions on the majority side`).toBeGreaterThan(0);
      expect(result.invariantViolations, `seed ${seed}`).toEqual([]);
      expect(result.promisesLinearizability).toBe(false);
      const verdict = summarizeKvHistory(result.history, {}, result.kvSemantics);
      if (verdict.linearizable === false) staleSeeds++;
      // Not linearizable is what an AP store promises: the run's judgement does not call it broken.
      expect(runProblems({ ...result, ...verdict, linearizability: verdict.summary })).toEqual([]);
    }
    expect(staleSeeds).toBeGreaterThan(0);
  });

  test("with pushes off, anti-entropy alone converges the replicas after a partition (the option, not only the default)", () => {
    const result = runSimulation({ algorithm: eventual, nodes: 5, scenario: partitionSplit, seed: 3, protocolOptions: { pushWrites: false, antiEntropyTicks: 3 } });
    expect(result.invariantViolations).toEqual([]);
    expect(result.messages.byType["update"] ?? 0).toBe(0);
    expect(result.messages.byType["repair"] ?? 0).toBeGreaterThan(0);
  });

  test("the convergence monitor catches a store that never spreads its writes, and holds the run open until its bound", () => {
    // Planted: no pushes and an anti-entropy period longer than the run can last, so writes stay where they were taken.
    const result = runSimulation({ algorithm: eventual, nodes: 3, scenario: partitionSplit, seed: 1, protocolOptions: { pushWrites: false, antiEntropyTicks: 100_000 } });
    const violations = result.invariantViolations.filter((violation) => violation.invariant === "eventual-convergence");
    expect(violations).toHaveLength(1);
    expect(violations[0]?.message).toMatch(/still disagree 5000 ms after the heal/);
    // The run went on past its workload to the bound, and stopped there rather than at the simulator's limit.
    expect(result.virtualSeconds).toBeGreaterThan(result.healedAtSeconds + 5);
    expect(result.virtualSeconds).toBeLessThan(result.healedAtSeconds + 6);
  });

  test("gets, puts and deletes only: the workload draws no cas or append for a store of registers", () => {
    const result = runSimulation({ algorithm: eventual, nodes: 3, scenario: "steady", seed: 1 });
    const types = new Set(result.history.map((op) => op.input.type));
    expect([...types].sort()).toEqual(["delete", "get", "put"]);
    expect(result.history.filter((op) => op.output?.type === "invalid")).toEqual([]);
  });
});
