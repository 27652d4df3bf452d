// Single-decree Paxos against the paper's rules, driven through hand-built schedules on the test kit. Each
// test cites the rule it checks: PMS = Lamport, Paxos Made Simple (2001), §2.
import { firstClientId } from "@concord/core";
import { decodeResult, encodeCommand } from "@concord/kv";
import type { PaxosMessage } from "@concord/paxos";
import { paxosRecordCodec } from "@concord/paxos/internals";
import { describe, expect, test } from "vitest";
import { type Envelope, bytes, get, isType, paxosCluster, put, restart, sentBy } from "./kit.ts";

const client = firstClientId;
const otherClient = firstClientId + 1;

function prepare(key: string, ballotRound: number, ballotNode: number): PaxosMessage {
  return { type: "prepare", key, ballotRound, ballotNode };
}

function accept(key: string, ballotRound: number, ballotNode: number, value: string): PaxosMessage {
  return { type: "accept", key, ballotRound, ballotNode, value: bytes(value) };
}

const messagesOf = (envelopes: readonly Envelope[]): PaxosMessage[] => envelopes.map((envelope) => envelope.message);

describe("acceptor (PMS §2.2)", () => {
  test("a promise refuses every lower ballot, Prepare or Accept, and the refusal names the promise", () => {
    const cluster = paxosCluster(3);
    cluster.deliver({ from: 3, to: 2, message: prepare("x", 5, 3) });
    expect(cluster.take(sentBy(2, "promise"))).toHaveLength(1);

    cluster.deliver({ from: 1, to: 2, message: prepare("x", 4, 1) });
    cluster.deliver({ from: 1, to: 2, message: accept("x", 5, 1, "low") });
    expect(cluster.take(sentBy(2, "promise"))).toHaveLength(0);
    expect(messagesOf(cluster.take(sentBy(2, "nack")))).toEqual([
      { type: "nack", key: "x", ballotRound: 4, ballotNode: 1, promisedRound: 5, promisedNode: 3 },
      { type: "nack", key: "x", ballotRound: 5, ballotNode: 1, promisedRound: 5, promisedNode: 3 },
    ]);
    expect(cluster.replica(2).acceptedFor("x")).toBeUndefined();

    // The promised ballot itself is accepted, and keys are separate instances: "y" promised nothing.
    cluster.deliver({ from: 3, to: 2, message: accept("x", 5, 3, "high") });
    cluster.deliver({ from: 1, to: 2, message: accept("y", 1, 1, "other") });
    expect(cluster.replica(2).acceptedFor("x")).toEqual({ ballot: { round: 5, node: 3 }, value: bytes("high") });
    expect(cluster.replica(2).acceptedFor("y")?.value).toEqual(bytes("other"));
    expect(cluster.take(sentBy(2, "accepted"))).toHaveLength(2);
  });

  test("a promise reports the acceptor's last acceptance with its ballot", () => {
    const cluster = paxosCluster(3);
    cluster.deliver({ from: 3, to: 2, message: accept("x", 2, 3, "v") });
    cluster.queue = [];
    cluster.deliver({ from: 1, to: 2, message: prepare("x", 7, 1) });
    expect(messagesOf(cluster.take(sentBy(2, "promise")))).toEqual([
      { type: "promise", key: "x", ballotRound: 7, ballotNode: 1, hasAccepted: true, acceptedRound: 2, acceptedNode: 3, acceptedValue: bytes("v") },
    ]);
  });

  test("a promise and an acceptance are in the Ready whose messages reveal them, so they are synced before they leave (PMS §2.5)", () => {
    const cluster = paxosCluster(3);
    const acceptor = cluster.replica(2);
    acceptor.step(1, prepare("x", 3, 1));
    const promised = acceptor.ready();
    expect(promised?.messages.map((outbound) => outbound.message.type)).toEqual(["promise"]);
    expect(promised?.persist.map((record) => paxosRecordCodec.decode(record))).toEqual([{ type: "promise", key: "x", ballotRound: 3, ballotNode: 1 }]);
    acceptor.advance(promised as NonNullable<typeof promised>);

    acceptor.step(1, accept("x", 3, 1, "v"));
    const accepted = acceptor.ready();
    expect(accepted?.messages.map((outbound) => outbound.message.type)).toEqual(["accepted"]);
    expect(accepted?.persist.map((record) => paxosRecordCodec.decode(record))).toEqual([{ type: "acceptance", key: "x", ballotRound: 3, ballotNode: 1, value: bytes("v") }]);
  });

  test("no promise or Accepted leaves before its record is synced: a crash before the sync leaves nothing promised and nothing said (PMS §2.5)", () => {
    const cluster = paxosCluster(3);
    const sentBeforeSync: string[] = [];
    cluster.beforeSync = (id, ready) => {
      const records = ready.persist.map((record) => paxosRecordCodec.decode(record).type);
      // Whatever the Ready promises or accepts, none of its messages is out yet.
      for (const outbound of ready.messages) if (cluster.sent.some((envelope) => envelope.message === outbound.message)) sentBeforeSync.push(`${records.join(",")}: ${outbound.message.type}`);
      return id === 2 && records.includes("acceptance") ? { crashKeepingUnsyncedRecords: 0 } : "sync";
    };
    cluster.deliver({ from: 1, to: 2, message: prepare("x", 3, 1) });
    expect(cluster.take(sentBy(2, "promise"))).toHaveLength(1);
    cluster.deliver({ from: 1, to: 2, message: accept("x", 3, 1, "v") });
    // The acceptance was lost with the crash, and so was its Accepted: no proposer can count it.
    expect(cluster.isRunning(2)).toBe(false);
    expect(cluster.sent.filter(sentBy(2, "accepted"))).toHaveLength(0);
    cluster.beforeSync = undefined;
    const restarted = restart(cluster, 2);
    expect(restarted.acceptedFor("x")).toBeUndefined();
    expect(restarted.promisedBallot("x")).toEqual({ round: 3, node: 1 });
    expect(sentBeforeSync).toEqual([]);
  });

  test("a restarted acceptor keeps its promises and acceptances, key by key, and still refuses lower ballots", () => {
    const cluster = paxosCluster(3);
    cluster.deliver({ from: 3, to: 1, message: prepare("x", 5, 3) });
    cluster.deliver({ from: 3, to: 1, message: accept("y", 2, 3, "w") });
    cluster.deliver({ from: 3, to: 1, message: prepare("y", 4, 3) });
    const restarted = restart(cluster, 1);
    expect(restarted.promisedBallot("x")).toEqual({ round: 5, node: 3 });
    expect(restarted.promisedBallot("y")).toEqual({ round: 4, node: 3 });
    expect(restarted.acceptedFor("y")).toEqual({ ballot: { round: 2, node: 3 }, value: bytes("w") });
    expect(restarted.status().epoch).toBe(5);
    cluster.queue = [];
    cluster.deliver({ from: 2, to: 1, message: accept("x", 4, 2, "late") });
    expect(restarted.acceptedFor("x")).toBeUndefined();
    expect(cluster.take(sentBy(1, "nack"))).toHaveLength(1);
  });

  test("a snapshot keeps every key's promise and acceptance, and the values learned, across a restart", () => {
    const cluster = paxosCluster(3, { compactEveryRecords: 1 });
    cluster.request(1, put("x", "a"));
    cluster.deliverAll();
    cluster.deliver({ from: 3, to: 2, message: prepare("y", 6, 3) });
    cluster.deliver({ from: 3, to: 2, message: accept("z", 4, 3, "w") });
    expect(cluster.disk(2).recover().snapshot).toBeDefined();
    expect(cluster.disk(2).recover().records).toEqual([]);
    const restarted = restart(cluster, 2);
    expect(restarted.chosenFor("x")).toEqual(bytes("a"));
    expect(restarted.promisedBallot("y")).toEqual({ round: 6, node: 3 });
    expect(restarted.acceptedFor("z")).toEqual({ ballot: { round: 4, node: 3 }, value: bytes("w") });
    expect(restarted.status().epoch).toBe(6);
    cluster.queue = [];
    cluster.deliver({ from: 1, to: 2, message: prepare("y", 5, 1) });
    expect(cluster.take(sentBy(2, "nack"))).toHaveLength(1);
  });
});

describe("proposer (PMS §2.2)", () => {
  test("a proposer proposes the highest-ballot value the promises report, not its put's own, and the put answers it", () => {
    // Five acceptors, two of them down, so that the proposer's majority is itself and both acceptors below.
    const cluster = paxosCluster(5);
    cluster.crash(4);
    cluster.crash(5);
    // Two earlier proposers each got one acceptance in: neither value is chosen.
    cluster.deliver({ from: 3, to: 3, message: accept("x", 1, 3, "older") });
    cluster.deliver({ from: 2, to: 2, message: accept("x", 2, 2, "newer") });
    cluster.queue = [];
    const sequence = cluster.request(1, put("x", "mine"));
    cluster.runUntil(() => cluster.replyTo(client, sequence) !== undefined);
    const accepts = cluster.sent.filter(sentBy(1, "accept")).map((envelope) => envelope.message);
    expect(accepts.length).toBeGreaterThan(0);
    for (const message of accepts) expect(message).toMatchObject({ type: "accept", key: "x", value: bytes("newer") });
    expect(cluster.replyTo(client, sequence)).toEqual({ type: "put", value: bytes("newer") });
    expect(cluster.replica(1).stats().valuesAdopted).toBe(1);
  });

  test("with no acceptance reported, the put's own value is proposed and chosen, and every later put answers it", () => {
    const cluster = paxosCluster(3);
    const first = cluster.request(1, put("x", "a"));
    cluster.deliverAll();
    const second = cluster.request(3, put("x", "b"), { clientId: otherClient });
    cluster.deliverAll();
    expect(cluster.replyTo(client, first)).toEqual({ type: "put", value: bytes("a") });
    expect(cluster.replyTo(otherClient, second)).toEqual({ type: "put", value: bytes("a") });
    for (const id of cluster.ids) expect(cluster.replica(id).chosenFor("x")).toEqual(bytes("a"));
    expect(cluster.violations()).toEqual([]);
  });

  test("a proposer picks a ballot above every round it saw, and after a restart above the one it used (its own durable promise)", () => {
    const cluster = paxosCluster(3);
    cluster.deliver({ from: 3, to: 1, message: prepare("x", 9, 3) });
    cluster.queue = [];
    // Having promised another proposer's ballot, replica 1 leaves it a ballot's time before proposing itself.
    cluster.tick(1, 20);
    cluster.request(1, put("x", "a"), { stepOnly: true });
    cluster.drain(1);
    expect(messagesOf(cluster.take(sentBy(1, "prepare")))[0]).toMatchObject({ ballotRound: 10, ballotNode: 1 });
    const restarted = restart(cluster, 1);
    cluster.request(1, put("x", "a"));
    expect(messagesOf(cluster.take(sentBy(1, "prepare")))[0]).toMatchObject({ ballotRound: 11, ballotNode: 1 });
    expect(restarted.status().epoch).toBe(11);
  });

  test("duelling proposers converge: a preempted ballot backs off and retries, and both puts answer the one value chosen (PMS §2.4)", () => {
    const cluster = paxosCluster(3);
    const first = cluster.request(1, put("x", "a"), { stepOnly: true });
    const second = cluster.request(2, put("x", "b"), { clientId: otherClient, stepOnly: true });
    cluster.runUntil(() => cluster.replyTo(client, first) !== undefined && cluster.replyTo(otherClient, second) !== undefined);
    const answers = [cluster.replyTo(client, first), cluster.replyTo(otherClient, second)];
    expect(answers[0]).toEqual(answers[1]);
    expect(cluster.replica(1).stats().ballotsPreempted + cluster.replica(2).stats().ballotsPreempted).toBeGreaterThan(0);
    expect(cluster.violations()).toEqual([]);
  });

  test("a proposer's own promise and acceptance count only once synced: a lone replica answers only after its sync", () => {
    const replica = paxosCluster(1).replica(1);
    replica.step(client, { type: "clientRequest", clientId: client, session: 7, sequence: 1, command: encodeCommand(put("x", "a")), readOnly: false, readLevel: 0 });
    const promised = replica.ready();
    expect(promised?.messages).toEqual([]);
    expect(replica.ready()).toBeUndefined(); // nothing more until the promise is synced
    replica.advance(promised as NonNullable<typeof promised>);
    const accepted = replica.ready();
    expect(accepted?.messages).toEqual([]);
    expect(accepted?.persist.map((record) => paxosRecordCodec.decode(record).type)).toEqual(["acceptance"]);
    replica.advance(accepted as NonNullable<typeof accepted>);
    const answered = replica.ready();
    const reply = answered?.messages[0]?.message;
    expect(reply?.type === "clientReply" ? decodeResult(reply.result) : reply).toEqual({ type: "put", value: bytes("a") });
  });
});

describe("learner and reads (PMS §2.3)", () => {
  test("a get of a key no put reached answers no value once a majority promised and reported nothing", () => {
    const cluster = paxosCluster(3);
    const sequence = cluster.request(2, get("x"));
    cluster.deliverAll();
    expect(cluster.replyTo(client, sequence)).toEqual({ type: "get", value: undefined });
    expect(cluster.replica(2).stats().readsOfNoValue).toBe(1);
  });

  test("a get cannot answer without a majority: with two of three replicas down it waits", () => {
    const cluster = paxosCluster(3);
    cluster.crash(1);
    cluster.crash(3);
    const sequence = cluster.request(2, get("x"));
    cluster.tickAndDeliver(50);
    expect(cluster.replyTo(client, sequence)).toBeUndefined();
    restart(cluster, 3);
    cluster.runUntil(() => cluster.replyTo(client, sequence) !== undefined);
    expect(cluster.replyTo(client, sequence)).toEqual({ type: "get", value: undefined });
  });

  test("a get that finds a value accepted but not known chosen here finishes it with phase 2 and answers it", () => {
    const cluster = paxosCluster(3);
    // Accepted by a majority (so chosen), but the proposer crashed before it told anyone.
    cluster.deliver({ from: 3, to: 3, message: accept("x", 1, 3, "v") });
    cluster.deliver({ from: 3, to: 2, message: accept("x", 1, 3, "v") });
    cluster.queue = [];
    const sequence = cluster.request(1, get("x"));
    cluster.runUntil(() => cluster.replyTo(client, sequence) !== undefined);
    expect(cluster.replyTo(client, sequence)).toEqual({ type: "get", value: bytes("v") });
    expect(cluster.replica(1).stats().readsFinishedValue).toBe(1);
    // And the value is now chosen: a later put answers it.
    const later = cluster.request(2, put("x", "w"), { clientId: otherClient });
    cluster.deliverAll();
    expect(cluster.replyTo(otherClient, later)).toEqual({ type: "put", value: bytes("v") });
  });

  test("a learner that knows the key's value answers a Prepare with it, and the proposer learns without phase 2", () => {
    const cluster = paxosCluster(3);
    cluster.request(1, put("x", "a"));
    cluster.deliverAll();
    cluster.sent.length = 0;
    const restarted = restart(cluster, 2);
    expect(restarted.chosenFor("x")).toBeUndefined();
    const sequence = cluster.request(2, get("x"));
    cluster.deliverAll();
    expect(cluster.replyTo(client, sequence)).toEqual({ type: "get", value: bytes("a") });
    expect(cluster.sent.filter(isType("chosen")).length).toBeGreaterThan(0);
    expect(cluster.sent.filter(sentBy(2, "accept"))).toHaveLength(0);
  });
});

describe("clients and commands", () => {
  test("cas, append and delete are refused with an invalid result that says why, and change nothing", () => {
    const cluster = paxosCluster(3);
    const refused = [
      cluster.request(1, { type: "cas", key: "x", expected: undefined, value: bytes("a") }),
      cluster.request(1, { type: "append", key: "x", value: bytes("a") }),
      cluster.request(1, { type: "delete", key: "x" }),
    ];
    cluster.deliverAll();
    for (const sequence of refused) {
      const result = cluster.replyTo(client, sequence);
      expect(result?.type).toBe("invalid");
      expect(result?.type === "invalid" ? result.reason : "").toMatch(/write-once register per key: it takes get and put/);
    }
    expect(cluster.replica(1).stats().refusedCommands).toBe(3);
    expect(cluster.sent.filter(isType("prepare"))).toHaveLength(0);
  });

  test("a client retries on another replica and its put answers the chosen value wherever it lands", () => {
    const cluster = paxosCluster(3);
    cluster.addClient(client);
    cluster.submit(put("x", "a"));
    cluster.runUntil(() => cluster.idle());
    cluster.crash(1);
    cluster.crash(2);
    restart(cluster, 2);
    cluster.submit(put("x", "b"));
    cluster.runUntil(() => cluster.idle());
    expect(cluster.results()).toEqual([
      { type: "put", value: bytes("a") },
      { type: "put", value: bytes("a") },
    ]);
  });
});

describe("read levels (issue 15)", () => {
  test("a stale get is answered at once from what the replica learned, without a ballot; a linearizable one is not answered alone", () => {
    const cluster = paxosCluster(3);
    // Replica 3 is cut off before x = a is chosen by 1 and 2, so it never learns it.
    cluster.isolate(3);
    const write = cluster.request(1, put("x", "a"));
    cluster.runUntil(() => cluster.replyTo(client, write) !== undefined);
    cluster.queue = [];
    const stale = cluster.request(3, get("x"), { clientId: otherClient, stepOnly: true, readLevel: "stale" });
    cluster.drain(3);
    expect(cluster.queue).toEqual([]);
    expect(cluster.replyTo(otherClient, stale)).toEqual({ type: "get", value: undefined });
    // Asked of replica 1, which chose x = a, a stale get answers it.
    const fresh = cluster.request(1, get("x"), { clientId: otherClient, stepOnly: true, readLevel: "stale" });
    cluster.drain(1);
    expect(cluster.replyTo(otherClient, fresh)).toEqual({ type: "get", value: bytes("a") });
    const linearizable = cluster.request(3, get("x"), { clientId: otherClient, stepOnly: true });
    cluster.tickAndDeliver(20);
    expect(cluster.replyTo(otherClient, linearizable)).toBeUndefined();
  });
});
