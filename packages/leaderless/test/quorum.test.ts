// `quorum`, Dynamo-style leaderless replication, against its rules: N/R/W quorums and read repair (DeCandia et al.
// 2007), multi-writer ABD for `atomic` (Attiya, Bar-Noy, Dolev 1995; Lynch & Shvartsman 1997), and what the
// checker finds: stale reads with R+W <= N, a read that returns a write in progress followed by a read that does not
// with R+W > N, and linearizable get/put with `atomic` over many chaos seeds.
import { createRng, firstClientId, type History, type ProtocolOptions } from "@concord/core";
import type { KvCommand, KvResult } from "@concord/kv";
import { type LeaderlessEntry, type LeaderlessMessage, QuorumReplica, compareStamps, quorum } from "@concord/leaderless";
import { runSimulation, type ScenarioInput } from "@concord/sim";
import { runProblems, summarizeKvHistory } from "@concord/check";
import { TestCluster, coreClientWire } from "@concord/testkit";
import { describe, expect, test } from "vitest";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const text = (value: Uint8Array | undefined): string | undefined => (value === undefined ? undefined : decoder.decode(value));
const put = (key: string, value: string): KvCommand => ({ type: "put", key, value: encoder.encode(value) });
const get = (key: string): KvCommand => ({ type: "get", key });
const valueOf = (result: KvResult | undefined): string | undefined => (result?.type === "get" ? text(result.value) : undefined);

function cluster(n: number, options: ProtocolOptions = {}): TestCluster<LeaderlessMessage, QuorumReplica> {
  return new TestCluster({
    algorithm: quorum,
    ids: Array.from({ length: n }, (_, index) => index + 1),
    options,
    rng: (id) => createRng(2000 + id),
    clientWire: coreClientWire<LeaderlessMessage>(),
    clientLinks: "instant",
    createReplica: (context) => new QuorumReplica(context),
  });
}

function entry(key: string, value: string, wall: number, node: number): LeaderlessEntry {
  return { key, value: encoder.encode(value), deleted: false, wall, logical: 0, node };
}

/**
 * maskDeletes forgets what each delete answered (whether the key existed), keeping its effect: a delete's answer is a
 * test-and-set, which no quorum of registers makes atomic (docs/leaderless.md), so `atomic` promises get and put.
 */
function maskDeletes(history: History<KvCommand, KvResult>): History<KvCommand, KvResult> {
  return history.map((op) => (op.input.type === "delete" && op.status === "ok" ? { ...op, output: undefined } : op));
}

/** NewThenOld is the anomaly R+W > N allows without `atomic`: a read returns a write in progress, a later read an older value. */
interface NewThenOld {
  readonly key: string;
  readonly newValue: string;
  readonly oldValue: string | undefined;
  readonly firstReadDoneMs: number;
  readonly laterReadStartMs: number;
}

/** findNewThenOld looks for a read returning the value of a write still in progress, and a read begun after it returning a value written before that write began. */
function findNewThenOld(history: History<KvCommand, KvResult>): NewThenOld | undefined {
  const puts = history.filter((op) => op.input.type === "put");
  const putOf = (key: string, value: string | undefined) => puts.find((op) => op.input.key === key && op.input.type === "put" && text(op.input.value) === value);
  const reads = history.filter((op) => op.input.type === "get" && op.status === "ok" && op.completeUs !== undefined);
  for (const first of reads) {
    const write = putOf(first.input.key, valueOf(first.output));
    if (write === undefined || (write.completeUs !== undefined && write.completeUs <= (first.completeUs as number))) continue;
    for (const later of reads) {
      if (later.input.key !== first.input.key || later.invokeUs <= (first.completeUs as number)) continue;
      const old = putOf(later.input.key, valueOf(later.output));
      if (old === undefined || old.completeUs === undefined || old.completeUs > write.invokeUs) continue;
      return { key: first.input.key, newValue: valueOf(first.output) as string, oldValue: valueOf(later.output), firstReadDoneMs: (first.completeUs as number) / 1000, laterReadStartMs: later.invokeUs / 1000 };
    }
  }
  return undefined;
}

describe("a replica, driven by hand", () => {
  test("a put is answered only after W acknowledgements, the coordinator's own once synced", () => {
    const c = cluster(3);
    c.cut(1, 2);
    c.cut(1, 3);
    const sequence = c.request(1, put("x", "a"));
    c.deliverAll();
    expect(c.replyTo(firstClientId, sequence)).toBeUndefined(); // its own ack only: 1 of W = 2
    expect(c.replica(1).pendingOperations()).toBe(1);
    c.heal();
    c.tick(1, 10); // the phase is resent to the replicas that have not answered
    c.deliverAll();
    expect(c.replyTo(firstClientId, sequence)).toEqual({ type: "put" });
    expect(text(c.replica(2).entry("x")?.value)).toBe("a");
  });

  test("the coordinator's acknowledgement counts only once its record is synced: with w=1 the reply is in the Ready after the one that persists", () => {
    const c = cluster(3, { w: 1 });
    c.request(1, put("x", "a"), { stepOnly: true });
    const first = c.replica(1).ready();
    expect(first?.persist).toHaveLength(1);
    expect(first?.messages.map((out) => out.message.type).sort()).toEqual(["quorumWrite", "quorumWrite"]);
    c.replica(1).advance(first as NonNullable<typeof first>);
    const second = c.replica(1).ready();
    expect(second?.messages.map((out) => `${out.message.type}>${out.to}`)).toEqual([`clientReply>${firstClientId}`]);
  });

  test("a get returns the highest-stamped of R replies, and read repair sends it to the repliers that were older", () => {
    const c = cluster(3, { r: 3 });
    c.inject(2, 1, { type: "update", entries: [entry("x", "old", 5, 2)] });
    c.inject(3, 2, { type: "update", entries: [entry("x", "new", 9, 3)] });
    c.deliverAll();
    expect(text(c.replica(3).entry("x")?.value)).toBeUndefined();
    const sequence = c.request(1, get("x"));
    c.deliverAll();
    expect(valueOf(c.replyTo(firstClientId, sequence))).toBe("new");
    // Replica 3 held nothing: repaired. Replica 2 held "new" already: left alone. The coordinator keeps it too.
    expect(c.sent.filter((envelope) => envelope.message.type === "update" && envelope.from === 1).map((envelope) => envelope.to)).toEqual([3]);
    expect(text(c.replica(3).entry("x")?.value)).toBe("new");
    expect(text(c.replica(1).entry("x")?.value)).toBe("new");
    expect(c.replica(1).quorumCounters().readRepairs).toBe(1);
  });

  test("without read repair, the stale repliers stay stale", () => {
    const c = cluster(3, { r: 3, readRepair: false });
    c.inject(3, 2, { type: "update", entries: [entry("x", "new", 9, 3)] });
    c.deliverAll();
    const sequence = c.request(1, get("x"));
    c.deliverAll();
    expect(valueOf(c.replyTo(firstClientId, sequence))).toBe("new");
    expect(c.replica(3).entry("x")).toBeUndefined();
  });

  test("plain writes are stamped by the coordinator's clock alone: behind a newer stamp, an acknowledged put loses (why R+W > N is not enough)", () => {
    const c = cluster(3);
    c.inject(2, 3, { type: "update", entries: [entry("x", "old", 1000, 2)] });
    c.deliverAll();
    const sequence = c.request(1, put("x", "later"));
    c.deliverAll();
    expect(c.replyTo(firstClientId, sequence)).toEqual({ type: "put" });
    expect(text(c.replica(3).entry("x")?.value)).toBe("old");
  });

  test("atomic: a write first asks a quorum for the highest stamp and stamps above it", () => {
    const c = cluster(3, { atomic: true });
    c.inject(2, 3, { type: "update", entries: [entry("x", "old", 1000, 2)] });
    c.deliverAll();
    c.request(1, put("x", "later"), { stepOnly: true });
    expect(c.replica(1).ready()?.messages.map((out) => out.message.type)).toEqual(["quorumRead", "quorumRead"]);
    const c2 = cluster(3, { atomic: true });
    c2.inject(2, 3, { type: "update", entries: [entry("x", "old", 1000, 2)] });
    c2.deliverAll();
    c2.cut(1, 2); // the query's quorum is {1, 3}: it must see the stamp 3 holds
    const sequence = c2.request(1, put("x", "later"));
    c2.deliverAll();
    expect(c2.replyTo(firstClientId, sequence)).toEqual({ type: "put" });
    const written = c2.replica(1).entry("x") as LeaderlessEntry;
    expect(compareStamps(written, entry("x", "old", 1000, 2))).toBeGreaterThan(0);
    expect(text(c2.replica(3).entry("x")?.value)).toBe("later");
  });

  test("atomic: a read writes back what it returns to W replicas before answering", () => {
    const c = cluster(3, { atomic: true });
    c.inject(2, 1, { type: "update", entries: [entry("x", "new", 9, 2)] });
    c.deliverAll();
    c.cut(2, 3);
    const sequence = c.request(2, get("x"));
    c.deliverAll();
    expect(valueOf(c.replyTo(firstClientId, sequence))).toBe("new");
    expect(c.sent.filter((envelope) => envelope.message.type === "quorumWrite" && envelope.from === 2).length).toBeGreaterThan(0);
    expect(c.replica(2).quorumCounters().writeBacks).toBe(1);
    // Without its write-back's acknowledgements (replica 1 unreachable too), the read is not answered.
    const d = cluster(3, { atomic: true });
    d.inject(2, 1, { type: "update", entries: [entry("x", "new", 9, 2)] });
    d.deliverAll();
    d.cut(2, 3);
    const held = d.request(2, get("x"));
    d.deliverAll((envelope) => envelope.message.type !== "quorumWrite"); // the write-back is lost
    expect(d.countSent("quorumWrite")).toBeGreaterThan(0);
    expect(d.replyTo(firstClientId, held)).toBeUndefined();
  });

  test("atomic raises r and w to a majority; plain keeps them", () => {
    expect(cluster(5, { r: 1, w: 1, atomic: true }).replica(1).quorums()).toEqual({ r: 3, w: 3 });
    expect(cluster(5, { r: 1, w: 1 }).replica(1).quorums()).toEqual({ r: 1, w: 1 });
    expect(cluster(4).replica(1).quorums()).toEqual({ r: 3, w: 3 });
    expect(() => cluster(3, { r: 4 })).toThrow(/strict quorums/);
  });

  test("cas and append are refused with a typed result, and change nothing", () => {
    const c = cluster(3);
    const cas = c.request(1, { type: "cas", key: "x", expected: undefined, value: encoder.encode("a") });
    const append = c.request(1, { type: "append", key: "x", value: encoder.encode("a") });
    expect(c.replyTo(firstClientId, cas)).toMatchObject({ type: "invalid" });
    expect(c.replyTo(firstClientId, append)).toMatchObject({ type: "invalid" });
    expect(c.replica(1).entry("x")).toBeUndefined();
    expect(c.replica(1).quorumCounters().refusedCommands).toBe(2);
  });

  test("operations are bounded: past maxPendingOperations a request is dropped unanswered, and an unfinished one is dropped after operationTimeoutTicks", () => {
    const c = cluster(3, { maxPendingOperations: 1, operationTimeoutTicks: 30 });
    c.isolate(1);
    c.request(1, put("x", "a"));
    c.request(1, put("y", "b"), { clientId: firstClientId + 1 });
    c.deliverAll();
    expect(c.replica(1).pendingOperations()).toBe(1);
    expect(c.replica(1).quorumCounters().operationsRefusedBusy).toBe(1);
    c.tick(1, 30);
    expect(c.replica(1).pendingOperations()).toBe(0);
    expect(c.replica(1).quorumCounters().operationsTimedOut).toBe(1);
    expect(c.repliesTo(firstClientId)).toEqual([]);
  });

  test("a retry of an operation under way is not started twice, and one answered is answered from the client table", () => {
    const c = cluster(3);
    c.cut(1, 2);
    c.cut(1, 3);
    const sequence = c.request(1, put("x", "a"));
    c.request(1, put("x", "a"), { sequence });
    c.deliverAll();
    expect(c.replica(1).quorumCounters().writesTaken).toBe(1);
    c.heal();
    c.tick(1, 10);
    c.deliverAll();
    c.request(1, put("x", "a"), { sequence });
    c.deliverAll();
    expect(c.replica(1).quorumCounters()).toMatchObject({ writesTaken: 1, retriesAnswered: 1 });
    expect(c.repliesTo(firstClientId).map((reply) => reply.result)).toEqual([{ type: "put" }, { type: "put" }]);
  });
});

/** writesLost: replica 1 can ask its peers but not tell them (its writes, read replies, repairs lost), with many readers of two keys. */
const writesLost: ScenarioInput = {
  name: "writes-lost",
  description: "Replica 1's writes, read replies and repairs to its peers are lost from 500 ms to 1.5 s; 8 clients, 2 keys, mostly reads.",
  warmupMs: 500,
  workload: { spreadMs: 2000, clients: 8, keys: 2, mix: { get: 85, put: 15, append: 0, cas: 0, delete: 0 } },
  faults: [{ type: "link", atMs: 500, durationMs: 1000, link: { dropPercent: 100 }, messageTypes: ["quorumWrite", "quorumReadReply", "update", "repair"], from: { index: 0 } }],
};

/** atomicSeeds is how many `chaos` seeds the atomic store must stay linearizable over (about 7 s here). */
const atomicSeeds = 100;

describe("quorum in the simulator", () => {
  test("with r=1 and w=1 (R+W <= N) under the partition, both sides are served and the checker finds stale reads", () => {
    let staleSeeds = 0;
    for (const seed of [1, 2, 3, 4]) {
      const result = runSimulation({ algorithm: quorum, nodes: 3, scenario: "partition", seed, protocolOptions: { r: 1, w: 1 } });
      const partition = result.faults.find((fault) => fault.kind === "partition");
      const inside = new Set(partition?.clients);
      const during = (op: (typeof result.history)[number]) => op.status === "ok" && op.completeUs !== undefined && op.completeUs / 1000 > (partition?.atMs ?? 0) && op.completeUs / 1000 < (partition?.untilMs ?? 0);
      expect(result.history.filter((op) => during(op) && inside.has(op.clientId)).length, `seed ${seed}: minority side`).toBeGreaterThan(0);
      expect(result.history.filter((op) => during(op) && !inside.has(op.clientId)).length, `seed ${seed}: majority side`).toBeGreaterThan(0);
      expect(result.invariantViolations, `seed ${seed}`).toEqual([]);
      expect(result.promisesLinearizability).toBe(false);
      const verdict = summarizeKvHistory(maskDeletes(result.history), {}, result.kvSemantics);
      if (verdict.linearizable === false) staleSeeds++;
      expect(runProblems({ ...result, ...verdict, linearizability: verdict.summary })).toEqual([]);
    }
    expect(staleSeeds).toBeGreaterThan(0);
  });

  test("with majority quorums (R+W > N) the minority side of the partition is refused: its operations do not complete during it", () => {
    const result = runSimulation({ algorithm: quorum, nodes: 3, scenario: "partition", seed: 1 });
    const partition = result.faults.find((fault) => fault.kind === "partition");
    const inside = new Set(partition?.clients);
    const insideDuring = result.history.filter((op) => inside.has(op.clientId) && op.status === "ok" && op.invokeUs / 1000 > (partition?.atMs ?? 0) && (op.completeUs as number) / 1000 < (partition?.untilMs ?? 0));
    expect(insideDuring).toEqual([]);
    expect(result.invariantViolations).toEqual([]);
  });

  test("with R+W > N but not atomic, seed 1 of writes-lost: a read returns a write in progress, a later read the older value, and the checker finds it", () => {
    const result = runSimulation({ algorithm: quorum, nodes: 3, scenario: writesLost, seed: 1 });
    const verdict = summarizeKvHistory(result.history, {}, result.kvSemantics);
    expect(verdict.linearizable).toBe(false);
    const anomaly = findNewThenOld(result.history);
    expect(anomaly, "a new-then-old pair of reads").toBeDefined();
    expect(anomaly?.laterReadStartMs).toBeGreaterThan(anomaly?.firstReadDoneMs ?? Infinity);
    expect(result.invariantViolations).toEqual([]);
    // The same run with atomic: the first read's write-back makes the later read see the new value.
    const atomic = runSimulation({ algorithm: quorum, nodes: 3, scenario: writesLost, seed: 1, protocolOptions: { atomic: true } });
    expect(summarizeKvHistory(atomic.history, {}, atomic.kvSemantics).linearizable).toBe(true);
    expect(findNewThenOld(atomic.history)).toBeUndefined();
  });

  test(`with atomic, get and put stay linearizable over ${atomicSeeds} seeds of chaos at n=3 (a delete's answer masked), and the replicas converge`, () => {
    for (let seed = 1; seed <= atomicSeeds; seed++) {
      const result = runSimulation({ algorithm: quorum, nodes: 3, scenario: "chaos", seed, protocolOptions: { atomic: true } });
      expect(result.invariantViolations, `seed ${seed}`).toEqual([]);
      expect(summarizeKvHistory(maskDeletes(result.history), {}, result.kvSemantics).linearizable, `seed ${seed}`).toBe(true);
    }
  }, 60_000);

  test("the convergence monitor catches writes that reach only W replicas when anti-entropy never runs", () => {
    // Planted: w=1 answers at once from the coordinator, so a write taken on the isolated side is resent to nobody; no
    // anti-entropy, no read repair, and the workload ends before the heal, so no later write covers the difference.
    const pastWorkload: ScenarioInput = {
      name: "partition-past-workload",
      description: "Replica 1 cut off, half the clients with it, from 500 ms until after the workload ends.",
      warmupMs: 500,
      workload: { spreadMs: 1000, finalReads: false },
      faults: [{ type: "partition", atMs: 500, isolate: [{ index: 0 }], clients: "split", durationMs: 3000 }],
    };
    const result = runSimulation({ algorithm: quorum, nodes: 3, scenario: pastWorkload, seed: 1, protocolOptions: { r: 1, w: 1, readRepair: false, antiEntropyTicks: 100_000 } });
    const violations = result.invariantViolations.filter((violation) => violation.invariant === "quorum-convergence");
    expect(violations).toHaveLength(1);
    expect(violations[0]?.message).toMatch(/still disagree/);
    // With anti-entropy on (the default), the same run converges.
    const healed = runSimulation({ algorithm: quorum, nodes: 3, scenario: pastWorkload, seed: 1, protocolOptions: { r: 1, w: 1, readRepair: false } });
    expect(healed.invariantViolations).toEqual([]);
  });

  test("with atomic, chaos seed 28: a delete concurrent with a put answers that the key did not exist, though its stamp orders it after the put; with the answer masked the run is linearizable", () => {
    const result = runSimulation({ algorithm: quorum, nodes: 3, scenario: "chaos", seed: 28, protocolOptions: { atomic: true } });
    expect(summarizeKvHistory(result.history, {}, result.kvSemantics).linearizable).toBe(false);
    expect(summarizeKvHistory(maskDeletes(result.history), {}, result.kvSemantics).linearizable).toBe(true);
  });

  test("promises no linearizability, not even atomic: a delete's answer (whether the key existed) is a test-and-set that ABD cannot make atomic", () => {
    expect(quorum.promisesLinearizability?.({ atomic: true })).toBe(false);
    expect(quorum.promisesLinearizability?.({})).toBe(false);
  });
});
