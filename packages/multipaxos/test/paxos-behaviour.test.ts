// Behaviour tests that drive replicas directly. Each cites the rule it checks:
// PMS = Lamport, Paxos Made Simple; PMMC = van Renesse & Altinbuken, Paxos Made
// Moderately Complex; PML = Chandra et al., Paxos Made Live.
import { ConfigError, assert, firstClientId } from "@concord/core";
import { encodeCommand } from "@concord/kv";
import { type Command, type MultiPaxosMessage, MultiPaxosReplica, multiPaxosCodec, multiPaxosOptionsSchema } from "@concord/multipaxos";
import { multiPaxosRecordCodec } from "@concord/multipaxos/internals";
import { describe, expect, test } from "vitest";
import { type Envelope, multiPaxosCluster, isType, put, restart } from "./kit.ts";

const client = firstClientId;

function command(sequence: number, key: string, value: string, clientId = client): Command {
  // Copied into a plain Uint8Array: protobufjs hands out Buffers under Node, which compare unequal to decoded bytes.
  return { clientId, session: clientId, sequence, command: new Uint8Array(encodeCommand(put(key, value))), readOnly: false };
}

function accept(ballotRound: number, ballotNode: number, slot: number, commands: Command[], chosenWatermark = 0): MultiPaxosMessage {
  return { type: "accept", ballotRound, ballotNode, slot, commands, members: [], chosenWatermark, leaseTick: 0 };
}

function sentBy(from: number, type: MultiPaxosMessage["type"]) {
  return (envelope: Envelope): boolean => envelope.from === from && envelope.message.type === type;
}

describe("acceptor (PMS §2.2)", () => {
  test("a promise is never broken: no acceptance below the promised ballot, and the refusal names the higher ballot", () => {
    const cluster = multiPaxosCluster(3);
    const acceptor = cluster.replica(1);
    cluster.deliver({ from: 2, to: 1, message: { type: "prepare", ballotRound: 5, ballotNode: 2, fromSlot: 1 } });
    expect(cluster.take(sentBy(1, "promise"))).toHaveLength(1);

    cluster.deliver({ from: 0, to: 1, message: accept(1, 0, 1, [command(1, "x", "old")]) });
    expect(acceptor.acceptedAt(1)).toBeUndefined();
    const nacks = cluster.take(sentBy(1, "nack"));
    expect(nacks.map((envelope) => envelope.message)).toEqual([{ type: "nack", ballotRound: 5, ballotNode: 2 }]);
    expect(nacks[0]?.to).toBe(0);

    cluster.deliver({ from: 0, to: 1, message: { type: "prepare", ballotRound: 4, ballotNode: 0, fromSlot: 1 } });
    expect(cluster.take(sentBy(1, "promise"))).toHaveLength(0);
    expect(cluster.take(sentBy(1, "nack"))).toHaveLength(1);

    cluster.deliver({ from: 2, to: 1, message: accept(5, 2, 1, [command(1, "x", "new")]) });
    expect(acceptor.acceptedAt(1)?.ballot).toEqual({ round: 5, node: 2 });
    expect(cluster.take(sentBy(1, "accepted"))).toHaveLength(1);
  });

  test("a promise and an acceptance are persisted in the same Ready as the message that reveals them (PMS §2.5)", () => {
    const cluster = multiPaxosCluster(3);
    const acceptor = cluster.replica(1);
    acceptor.step(2, { type: "prepare", ballotRound: 3, ballotNode: 2, fromSlot: 1 });
    const promiseReady = acceptor.ready();
    expect(promiseReady?.messages.map((outbound) => outbound.message.type)).toEqual(["promise"]);
    expect(promiseReady?.persist.map((record) => multiPaxosRecordCodec.decode(record))).toEqual([{ type: "promise", ballotRound: 3, ballotNode: 2 }]);

    acceptor.step(2, accept(3, 2, 1, [command(1, "k", "v")]));
    const acceptReady = acceptor.ready();
    expect(acceptReady?.messages.map((outbound) => outbound.message.type)).toEqual(["accepted"]);
    const records = acceptReady?.persist.map((record) => multiPaxosRecordCodec.decode(record)) ?? [];
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ type: "acceptance", slot: 1, ballotRound: 3, ballotNode: 2 });
  });

  test("a restarted acceptor recovers its promise and acceptances from its records and still refuses lower ballots", () => {
    const cluster = multiPaxosCluster(3);
    cluster.deliver({ from: 2, to: 1, message: { type: "prepare", ballotRound: 5, ballotNode: 2, fromSlot: 1 } });
    cluster.deliver({ from: 2, to: 1, message: accept(5, 2, 1, [command(1, "x", "1")]) });
    cluster.deliver({ from: 2, to: 1, message: accept(5, 2, 2, [command(2, "x", "2")]) });
    restart(cluster, 1);
    const restarted = cluster.replica(1);
    expect(restarted.promisedBallot()).toEqual({ round: 5, node: 2 });
    expect(restarted.acceptedAt(1)?.ballot).toEqual({ round: 5, node: 2 });
    expect(restarted.acceptedAt(2)?.commands).toHaveLength(1);
    cluster.queue = [];
    cluster.deliver({ from: 0, to: 1, message: accept(4, 0, 3, [command(3, "x", "3")]) });
    expect(restarted.acceptedAt(3)).toBeUndefined();
    expect(cluster.take(sentBy(1, "nack"))).toHaveLength(1);
  });
});

describe("leader election and phase 1 (PMS §3, PMMC)", () => {
  test("a new leader re-proposes the value accepted in the highest ballot for each slot and fills gaps with no-ops", () => {
    const cluster = multiPaxosCluster(5);
    const candidate = cluster.replica(4);
    const prepares = cluster.tickUntilSent(4, "prepare");
    expect(prepares).toHaveLength(4);
    const prepare = prepares[0]?.message;
    if (prepare?.type !== "prepare") throw new Error("expected a prepare");
    const ballot = { ballotRound: prepare.ballotRound, ballotNode: prepare.ballotNode };
    expect(ballot.ballotNode).toBe(4);
    const a = [command(1, "x", "a")];
    const b = [command(1, "x", "b", client + 1)];
    const c = [command(2, "y", "c")];
    candidate.step(0, {
      type: "promise",
      ...ballot,
      fromSlot: 1,
      compactedSlot: 0,
      accepted: [
        { slot: 1, ballotRound: 1, ballotNode: 0, commands: a, members: [] },
        { slot: 3, ballotRound: 1, ballotNode: 0, commands: c, members: [] },
      ],
    });
    expect(candidate.status().role).toBe("candidate");
    candidate.step(1, { type: "promise", ...ballot, fromSlot: 1, compactedSlot: 0, accepted: [{ slot: 1, ballotRound: 1, ballotNode: 1, commands: b, members: [] }] });
    cluster.drain(4);
    expect(candidate.status().role).toBe("leader");
    const proposals = new Map<number, readonly Command[]>();
    for (const envelope of cluster.take(sentBy(4, "accept"))) {
      if (envelope.message.type === "accept") proposals.set(envelope.message.slot, envelope.message.commands);
    }
    expect([...proposals.keys()].sort()).toEqual([1, 2, 3]);
    expect(proposals.get(1)?.[0]?.clientId).toBe(client + 1); // ballot 1.1 beats 1.0
    expect(proposals.get(2)).toEqual([]); // the gap becomes a no-op
    expect(proposals.get(3)?.[0]?.sequence).toBe(2);
    expect(candidate.stats().noopsProposed).toBe(1);
  });

  test("a value accepted by a majority survives a change of leader: the new leader's phase 1 finds it", () => {
    const cluster = multiPaxosCluster(3);
    const sequence = cluster.request(0, put("k", "chosen"));
    // Replica 1 accepts; its Accepted is lost, so the old leader never learns the value was chosen.
    cluster.deliverAll((envelope) => !(envelope.message.type === "accepted") && envelope.to !== 2);
    expect(cluster.replica(1).acceptedAt(1)).toBeDefined();
    cluster.pause(0);
    for (let i = 0; i < 100 && cluster.leaders().length === 0; i++) cluster.tickAndDeliver(1);
    const [leader] = cluster.leaders();
    expect(leader === 1 || leader === 2).toBe(true);
    cluster.tickAndDeliver(3);
    expect(cluster.value(1, "k")).toBe("chosen");
    expect(cluster.value(2, "k")).toBe("chosen");
    expect(cluster.replyTo(client, sequence)?.type).toBe("put");
    expect(cluster.violations()).toEqual([]);
  });

  test("two competing proposers never get two different values chosen for one slot", () => {
    const cluster = multiPaxosCluster(3);
    // Leader 0 proposes A for slot 1, but only replica 1 hears it, and its answer is held back.
    cluster.request(0, put("k", "A"));
    const held = cluster.take(isType("accept"));
    const toOne = held.filter((envelope) => envelope.to === 1);
    toOne.forEach((envelope) => cluster.deliver(envelope));
    cluster.take(isType("accepted"));
    // Replica 2 runs phase 1 with replica 1: it must adopt A (accepted by 1) rather than its own value.
    const prepares = cluster.tickUntilSent(2, "prepare");
    prepares.filter((envelope) => envelope.to === 1).forEach((envelope) => cluster.deliver(envelope));
    cluster.take(isType("promise")).forEach((envelope) => cluster.deliver(envelope));
    expect(cluster.replica(2).status().role).toBe("leader");
    cluster.request(2, put("k", "B"), { clientId: client + 1 });
    // Everything is delivered now, the stale Accept of A to replica 2 included.
    held.filter((envelope) => envelope.to === 2).forEach((envelope) => cluster.queue.push(envelope));
    cluster.deliverAll();
    cluster.tickAndDeliver(5);
    const slotOne = [0, 1, 2].map((id) => cluster.replica(id).chosenAt(1)?.[0]?.clientId);
    expect(slotOne).toEqual([client, client, client]);
    expect(cluster.violations()).toEqual([]);
    expect(cluster.value(0, "k")).toBe("B");
  });

  test("a preempted leader steps down on a Nack and waits a randomized timeout instead of outbidding at once", () => {
    const cluster = multiPaxosCluster(3);
    const leader = cluster.replica(0);
    expect(leader.status().role).toBe("leader");
    cluster.deliver({ from: 1, to: 0, message: { type: "nack", ballotRound: 7, ballotNode: 1 } });
    expect(leader.status().role).toBe("follower");
    expect(leader.status().leader).toBeUndefined();
    cluster.tick([0], 14);
    expect(cluster.take(sentBy(0, "prepare"))).toHaveLength(0);
    const prepares = cluster.tickUntilSent(0, "prepare");
    expect(prepares[0]?.message).toMatchObject({ ballotRound: 8, ballotNode: 0 });
  });

  test("followers elect a new leader after the leader goes silent, and the cluster keeps committing", () => {
    const cluster = multiPaxosCluster(5);
    const first = cluster.request(0, put("a", "1"));
    cluster.deliverAll();
    expect(cluster.replyTo(client, first)).toBeDefined();
    cluster.pause(0);
    for (let i = 0; i < 200 && cluster.leaders().length === 0; i++) cluster.tickAndDeliver(1);
    expect(cluster.leaders()).toHaveLength(1);
    const leader = cluster.leaders()[0] as number;
    expect(cluster.replica(leader).status().epoch).toBeGreaterThan(1);
    const second = cluster.request(leader, put("a", "2"));
    cluster.deliverAll();
    expect(cluster.replyTo(client, second)?.type).toBe("put");
  });
});

describe("phase 2, batching and clients", () => {
  test("client commands that arrive while the window is full share one slot", () => {
    const cluster = multiPaxosCluster(3, { windowSlots: 1, batchCommandsMax: 8 });
    cluster.request(0, put("a", "1"), { clientId: client });
    cluster.request(0, put("b", "2"), { clientId: client + 1 });
    cluster.request(0, put("c", "3"), { clientId: client + 2 });
    const first = cluster.take(isType("accept"));
    expect(first.map((envelope) => envelope.message.slot)).toEqual([1, 1]);
    first.forEach((envelope) => cluster.deliver(envelope));
    cluster.take(isType("accepted")).forEach((envelope) => cluster.deliver(envelope));
    const second = cluster.take(isType("accept"));
    expect(second.map((envelope) => [envelope.message.slot, envelope.message.commands.length])).toEqual([
      [2, 2],
      [2, 2],
    ]);
    second.forEach((envelope) => cluster.deliver(envelope));
    cluster.deliverAll();
    expect([0, 1, 2].map((i) => cluster.replyTo(client + i, 1)?.type)).toEqual(["put", "put", "put"]);
  });

  test("phase 2 is pipelined: the leader keeps up to windowSlots slots open before any is chosen, and no more", () => {
    const cluster = multiPaxosCluster(3, { windowSlots: 3 });
    for (let i = 0; i < 5; i++) cluster.request(0, put(`k${i}`, "v"), { clientId: client + i });
    const open = cluster.take(isType("accept"));
    expect(open.map((envelope) => [envelope.to, envelope.message.slot])).toEqual([
      [1, 1],
      [2, 1],
      [1, 2],
      [2, 2],
      [1, 3],
      [2, 3],
    ]);
    // Slot 1 chosen: the window has room for one more slot, which takes both waiting commands.
    cluster.deliver(open[0] as Envelope);
    cluster.take(isType("accepted")).forEach((envelope) => cluster.deliver(envelope));
    const next = cluster.take(isType("accept"));
    expect(next.map((envelope) => [envelope.to, envelope.message.slot, envelope.message.commands.length])).toEqual([
      [1, 4, 2],
      [2, 4, 2],
    ]);
  });

  test("client commands that arrive in the same instant share one slot: the leader proposes when asked for its Ready", () => {
    const cluster = multiPaxosCluster(3);
    const leader = cluster.replica(0);
    // The runtime steps every message of one instant before it asks for the Ready.
    for (let i = 0; i < 3; i++) leader.step(client + i, { type: "clientRequest", ...command(1, `k${i}`, "v", client + i), readLevel: 0 });
    cluster.drain(0);
    const accepts = cluster.take(isType("accept"));
    expect(accepts.map((envelope) => [envelope.to, envelope.message.slot, envelope.message.commands.length])).toEqual([
      [1, 1, 3],
      [2, 1, 3],
    ]);
    accepts.forEach((envelope) => cluster.deliver(envelope));
    cluster.deliverAll();
    expect([0, 1, 2].map((i) => cluster.replyTo(client + i, 1)?.type)).toEqual(["put", "put", "put"]);
  });

  test("a follower answers a client with notLeader and the leader's id", () => {
    const cluster = multiPaxosCluster(3);
    cluster.tickAndDeliver(1);
    const sequence = cluster.request(2, put("a", "1"));
    const answer = cluster.clientInbox.find((envelope) => envelope.from === 2)?.message;
    expect(answer).toEqual({ type: "notLeader", sequence, leaderHint: 0, hasLeaderHint: true });
  });

  test("a retried request is executed once and answered from the session table", () => {
    const cluster = multiPaxosCluster(3);
    const append = { type: "append" as const, key: "log", value: new TextEncoder().encode("x") };
    const sequence = cluster.request(0, append);
    cluster.deliverAll();
    cluster.deliver({ from: client, to: 0, message: { type: "clientRequest", clientId: client, session: client, sequence, command: encodeCommand(append), readOnly: false, readLevel: 0 } });
    cluster.deliverAll();
    expect(cluster.clientInbox.filter((envelope) => envelope.message.type === "clientReply")).toHaveLength(2);
    expect(cluster.value(0, "log")).toBe("x");
    expect(cluster.replica(0).status().commitIndex).toBe(1);
  });

  test("followers learn chosen slots from the watermark piggybacked on later phase 2 messages and heartbeats", () => {
    const cluster = multiPaxosCluster(3);
    cluster.request(0, put("a", "1"));
    cluster.deliverAll();
    expect(cluster.replica(1).status().commitIndex).toBe(0); // the watermark has not travelled yet
    cluster.request(0, put("a", "2"), { clientId: client + 1 });
    cluster.deliverAll();
    expect(cluster.replica(1).status().commitIndex).toBe(1);
    cluster.tickAndDeliver(3);
    expect(cluster.replica(1).status()).toMatchObject({ commitIndex: 2, appliedIndex: 2, leader: 0, role: "follower" });
    expect(cluster.value(1, "a")).toBe("2");
  });
});

describe("catch-up and compaction", () => {
  test("a lagging replica recovers the holes from its peers", () => {
    const cluster = multiPaxosCluster(3);
    cluster.pause(2);
    for (let i = 0; i < 10; i++) {
      cluster.request(0, put(`k${i}`, `${i}`), { clientId: client + i });
      cluster.deliverAll();
    }
    expect(cluster.replica(2).status().appliedIndex).toBe(0);
    cluster.resume(2);
    cluster.tickAndDeliver(5);
    expect(cluster.replica(2).status().appliedIndex).toBe(10);
    expect(cluster.value(2, "k9")).toBe("9");
    expect(cluster.replica(2).stats().snapshotsInstalled).toBe(0);
  });

  test("a replica behind the compaction point catches up by state transfer, and recovers from its own snapshot", () => {
    const cluster = multiPaxosCluster(3, { snapshotEveryEntries: 3 });
    cluster.pause(2);
    for (let i = 0; i < 10; i++) {
      cluster.request(0, put(`k${i}`, `${i}`), { clientId: client + i });
      cluster.deliverAll();
    }
    expect(cluster.replica(0).compactionSlot()).toBe(9);
    cluster.resume(2);
    cluster.tickAndDeliver(5);
    const lagging = cluster.replica(2);
    expect(lagging.stats().snapshotsInstalled).toBeGreaterThanOrEqual(1);
    expect(lagging.status().appliedIndex).toBe(10);
    expect(cluster.value(2, "k0")).toBe("0");
    expect(cluster.value(2, "k9")).toBe("9");
    expect(cluster.disk(2).snapshot).toBeDefined();
    restart(cluster, 2);
    expect(cluster.replica(2).status().appliedIndex).toBeGreaterThanOrEqual(9);
    expect(cluster.value(2, "k8")).toBe("8");
  });

  test("a new leader behind an acceptor's compaction point recovers by snapshot instead of proposing there", () => {
    const cluster = multiPaxosCluster(3, { snapshotEveryEntries: 2 });
    cluster.pause(2);
    for (let i = 0; i < 6; i++) {
      cluster.request(0, put(`k${i}`, `${i}`), { clientId: client + i });
      cluster.deliverAll();
    }
    cluster.resume(2);
    cluster.pause(0);
    // Replica 2 knows nothing and must not propose no-ops over slots 1..6, which are chosen.
    cluster.queue = [];
    const prepares = cluster.tickUntilSent(2, "prepare");
    prepares.forEach((envelope) => cluster.deliver(envelope));
    cluster.deliverAll();
    cluster.tickAndDeliver(5);
    expect(cluster.replica(2).status().role).toBe("leader");
    expect(cluster.value(2, "k5")).toBe("5");
    const sequence = cluster.request(2, put("after", "x"), { clientId: client + 50 });
    cluster.deliverAll();
    expect(cluster.replyTo(client + 50, sequence)?.type).toBe("put");
    expect(cluster.value(1, "k0")).toBe("0");
    expect(cluster.violations()).toEqual([]);
  });
});

describe("leader leases (PML, section Master leases)", () => {
  const leases = { leaseTicks: 10, heartbeatTicks: 2, electionTimeoutTicks: 12, clockDriftBoundPercent: 10 };

  test("a leader serves a read locally while its lease is live, and refuses to once the lease may have expired", () => {
    const cluster = multiPaxosCluster(3, leases);
    cluster.tickAndDeliver(2);
    const leader = cluster.replica(0);
    expect(leader.leaseValid()).toBe(true);
    const get = { type: "get" as const, key: "k" };
    const first = cluster.request(0, get, { clientId: client, readOnly: true });
    expect(cluster.replyTo(client, first)).toEqual({ type: "get", value: undefined });
    expect(cluster.queue.filter((envelope) => envelope.message.type === "accept")).toHaveLength(0);
    expect(leader.stats().leaseReads).toBe(1);

    // The leader is cut off: no acknowledgement renews the lease.
    cluster.pause(1);
    cluster.pause(2);
    let ticks = 0;
    while (leader.leaseValid()) {
      cluster.tick([0]);
      ticks++;
    }
    expect(ticks).toBeLessThanOrEqual(10 * 0.8);
    const second = cluster.request(0, get, { clientId: client, readOnly: true });
    expect(cluster.replyTo(client, second)).toBeUndefined();
    expect(leader.stats().leaseReads).toBe(1);
    expect(cluster.queue.some((envelope) => envelope.message.type === "accept")).toBe(true); // the read goes through the log
  });

  test("an acceptor that granted a lease refuses to promise another proposer until the lease has run out", () => {
    const cluster = multiPaxosCluster(3, leases);
    cluster.tickAndDeliver(12); // past the boot-time wait, with heartbeats flowing
    const follower = cluster.replica(1);
    cluster.deliver({ from: 2, to: 1, message: { type: "prepare", ballotRound: 9, ballotNode: 2, fromSlot: 1 } });
    expect(cluster.take(sentBy(1, "promise"))).toHaveLength(0);
    expect(follower.stats().ballotsRefusedForLease).toBe(1);
    cluster.tick([1], 10);
    cluster.deliver({ from: 2, to: 1, message: { type: "prepare", ballotRound: 9, ballotNode: 2, fromSlot: 1 } });
    expect(cluster.take(sentBy(1, "promise"))).toHaveLength(1);
  });

  test("a restarted acceptor waits out a whole lease before promising anyone", () => {
    const cluster = multiPaxosCluster(3, leases);
    cluster.tickAndDeliver(12);
    restart(cluster, 1);
    cluster.deliver({ from: 2, to: 1, message: { type: "prepare", ballotRound: 9, ballotNode: 2, fromSlot: 1 } });
    expect(cluster.take(sentBy(1, "promise"))).toHaveLength(0);
  });
});

describe("bad input", () => {
  const cases: [string, number, MultiPaxosMessage][] = [
    ["a message from a node that is not a member", 7, { type: "prepare", ballotRound: 9, ballotNode: 7, fromSlot: 1 }],
    ["a ballot of round 0", 2, { type: "prepare", ballotRound: 0, ballotNode: 2, fromSlot: 1 }],
    ["a ballot owned by a node that is not a replica", 2, { type: "nack", ballotRound: 3, ballotNode: client + 5 }],
    ["a promise reporting a ballot owned by a client", 2, { type: "promise", ballotRound: 1, ballotNode: 1, fromSlot: 1, compactedSlot: 0, accepted: [{ slot: 1, ballotRound: 1, ballotNode: client, commands: [], members: [] }] }],
    ["an accept that is both a batch and a configuration", 2, { ...accept(9, 2, 1, [command(1, "x", "y")]), members: [0, 1] } as MultiPaxosMessage],
    ["a snapshot transfer without a configuration", 2, { type: "snapshotTransfer", slot: 3, state: new Uint8Array(), configs: [] }],
    ["a prepare for another node's ballot", 2, { type: "prepare", ballotRound: 9, ballotNode: 0, fromSlot: 1 }],
    ["an accept for slot 0", 2, accept(9, 2, 0, [])],
    ["an accept at or below its own watermark", 2, accept(9, 2, 4, [], 4)],
    ["an accept carrying a command of a non-client", 2, accept(9, 2, 1, [command(1, "x", "y", 5)])],
    ["a request whose client id is not its sender", client + 1, { type: "clientRequest", clientId: client, session: 1, sequence: 1, command: new Uint8Array(), readOnly: false, readLevel: 0 }],
    ["a request without a session key", client, { type: "clientRequest", clientId: client, session: 0, sequence: 1, command: new Uint8Array(), readOnly: false, readLevel: 0 }],
    ["a request from a replica", 2, { type: "clientRequest", clientId: 2, session: 1, sequence: 1, command: new Uint8Array(), readOnly: false, readLevel: 0 }],
    ["a reply sent to a replica", 2, { type: "clientReply", session: 1, sequence: 1, result: new Uint8Array() }],
    ["an accepted for someone else's ballot", 2, { type: "accepted", ballotRound: 1, ballotNode: 2, slot: 1, leaseTick: 0 }],
    ["chosen values at slot 0", 2, { type: "chosen", entries: [{ slot: 0, ballotRound: 0, ballotNode: 0, commands: [], members: [] }] }],
    ["an accept for a slot beyond its own watermark plus α", 2, accept(9, 2, 1 + 64, [], 0)],
  ];
  test.each(cases)("%s is rejected, counted and changes nothing", (_name, from, message) => {
    const cluster = multiPaxosCluster(3);
    const replica = cluster.replica(1);
    const before = { status: replica.status(), promised: replica.promisedBallot() };
    replica.step(from, message);
    const ready = replica.ready();
    // The only answer allowed is to ask an unknown proposer for chosen values (it may lead a configuration not yet learned).
    expect(ready?.persist ?? []).toEqual([]);
    expect(ready?.snapshot).toBeUndefined();
    expect((ready?.messages ?? []).every((outbound) => outbound.to === from && outbound.message.type === "catchupRequest")).toBe(true);
    expect(replica.rejections().total()).toBe(1);
    expect({ status: replica.status(), promised: replica.promisedBallot() }).toEqual(before);
  });

  test("a leader rejects and counts an acceptance of a slot it never proposed, or of a ballot of its own it never used", () => {
    const cluster = multiPaxosCluster(3);
    const leader = cluster.replica(0);
    cluster.request(0, put("a", "1"));
    expect(cluster.take(isType("accept")).map((envelope) => envelope.message.slot)).toEqual([1, 1]);
    leader.step(1, { type: "accepted", ballotRound: 1, ballotNode: 0, slot: 2, leaseTick: 0 });
    leader.step(1, { type: "accepted", ballotRound: 7, ballotNode: 0, slot: 1, leaseTick: 0 });
    leader.step(1, { type: "heartbeatAck", ballotRound: 7, ballotNode: 0, leaseTick: 0 });
    expect(leader.rejections().total()).toBe(3);
    expect(leader.status().commitIndex).toBe(0);
    // The real acceptance of slot 1 in ballot 1.0 is taken, and chooses it.
    leader.step(1, { type: "accepted", ballotRound: 1, ballotNode: 0, slot: 1, leaseTick: 0 });
    expect(leader.rejections().total()).toBe(3);
    expect(leader.status().commitIndex).toBe(1);
  });

  test("a candidate rejects and counts a promise that reports a slot below the Prepare's fromSlot", () => {
    const cluster = multiPaxosCluster(3);
    cluster.request(0, put("a", "1"));
    cluster.tickAndDeliver(3);
    expect(cluster.replica(1).status().commitIndex).toBe(1);
    const [prepare] = cluster.tickUntilSent(1, "prepare");
    assert(prepare?.message.type === "prepare", "replica 1 sent a Prepare");
    const { ballotRound, ballotNode, fromSlot } = prepare.message;
    expect(fromSlot).toBe(2);
    const candidate = cluster.replica(1);
    const reported = { slot: 1, ballotRound: 1, ballotNode: 0, commands: [command(1, "a", "other")], members: [] };
    candidate.step(2, { type: "promise", ballotRound, ballotNode, fromSlot, compactedSlot: 0, accepted: [reported] });
    expect(candidate.rejections().total()).toBe(1);
    expect(candidate.status().role).toBe("candidate");
    // The same promise without the impossible report makes it leader.
    candidate.step(2, { type: "promise", ballotRound, ballotNode, fromSlot, compactedSlot: 0, accepted: [] });
    expect(candidate.rejections().total()).toBe(1);
    expect(candidate.status().role).toBe("leader");
  });

  test("invalid options are refused with a ConfigError naming the field", () => {
    expect(() => multiPaxosCluster(3, { windowSlots: 0 })).toThrow(ConfigError);
    expect(() => multiPaxosCluster(3, { windowSlots: 0 })).toThrow(/windowSlots/);
    expect(() => multiPaxosCluster(3, { leaseTicks: 3, heartbeatTicks: 3 })).toThrow(/leaseTicks/);
    expect(() => multiPaxosCluster(3, { bogus: 1 })).toThrow(ConfigError);
    expect(multiPaxosOptionsSchema.parse({}).leaseTicks).toBe(0);
  });
});

describe("wire format", () => {
  test("every message type survives an encode and decode round trip", () => {
    const commands = [command(3, "k", "v")];
    const messages: MultiPaxosMessage[] = [
      { type: "clientRequest", clientId: client, session: 2 ** 53 - 1, sequence: 3, command: new Uint8Array([1, 2]), readOnly: true, readLevel: 0 },
      { type: "clientReply", session: 2 ** 32 + 1, sequence: 3, result: new Uint8Array([4]) },
      { type: "notLeader", sequence: 3, leaderHint: 2, hasLeaderHint: true },
      { type: "prepare", ballotRound: 4, ballotNode: 1, fromSlot: 7 },
      { type: "promise", ballotRound: 4, ballotNode: 1, fromSlot: 7, compactedSlot: 2, accepted: [{ slot: 8, ballotRound: 3, ballotNode: 0, commands, members: [] }] },
      { type: "nack", ballotRound: 4, ballotNode: 1 },
      accept(4, 1, 9, commands, 8),
      { type: "accepted", ballotRound: 4, ballotNode: 1, slot: 9, leaseTick: 12 },
      { type: "heartbeat", ballotRound: 4, ballotNode: 1, chosenWatermark: 8, leaseTick: 12 },
      { type: "heartbeatAck", ballotRound: 4, ballotNode: 1, leaseTick: 12 },
      { type: "catchupRequest", fromSlot: 5 },
      { type: "chosen", entries: [{ slot: 5, ballotRound: 0, ballotNode: 0, commands: [], members: [] }] },
      { type: "snapshotTransfer", slot: 5, state: new Uint8Array([9, 9]), configs: [{ effectiveSlot: 1, members: [0, 1, 2] }, { effectiveSlot: 70, members: [0, 1, 3] }] },
    ];
    for (const message of messages) {
      expect(multiPaxosCodec.decode(multiPaxosCodec.encode(message))).toEqual(message);
    }
  });

  test("a replica can be built from scratch through the class constructor with validated options", () => {
    expect(MultiPaxosReplica.name).toBe("MultiPaxosReplica");
  });
});
