// Reconfiguration (§7 of Liskov and Cowling, "Viewstamped Replication
// Revisited"), driven through the test kit with hand-built schedules: the
// reconfiguration committed through the log ends the epoch, STARTEPOCH tells
// the new replicas, which fetch the state before they take part, EPOCHSTARTED
// lets the old ones that leave shut down, and clients find the new group
// through the old one. Each test names the rule it checks; every cluster is
// watched by VR's monitors, the epochs' among them.
import { assert, firstClientId } from "@concord/core";
import { type VrMessage, type VrRejectionReason, epochOfView, firstViewOfEpoch, vrCodec } from "@concord/vr";
import { describe, expect, test } from "vitest";
import { type Envelope, type VrCluster, entry, isType, logOf, put, restart, sentBy, vrCluster } from "./kit.ts";

const client = firstClientId;

/** writes commits `count` puts k0.. through replica `primary`. */
function writes(cluster: VrCluster, primary: number, count: number, prefix = "k"): void {
  for (let i = 0; i < count; i++) cluster.request(primary, put(`${prefix}${i}`, `v${i}`));
  cluster.deliverAll();
}

/** reconfigure asks replica `primary` for the group `members` and carries out its Ready. */
function reconfigure(cluster: VrCluster, primary: number, members: number[]) {
  const result = cluster.replica(primary).reconfigure(members);
  cluster.drain(primary);
  return result;
}

function typesSentBy(cluster: VrCluster, id: number): string[] {
  return [...new Set(cluster.sent.filter((envelope) => envelope.from === id).map((envelope) => envelope.message.type))].sort();
}

describe("reconfiguration (§7.1)", () => {
  test("the group moves through the log: the old primary commits the new group as an op, takes no requests after it, and the new group goes on from its op-number with every committed write", () => {
    const cluster = vrCluster(5, {}, 1, 2); // group [0,1,2], spares 3 and 4
    writes(cluster, 0, 3);
    expect(reconfigure(cluster, 0, [0, 4, 3])).toEqual({ kind: "proposed", members: [0, 3, 4] });
    // §7.1: once the primary holds a reconfiguration it takes no more requests.
    const dropped = cluster.replica(0).stats().droppedRequests;
    cluster.request(0, put("late", "x"));
    expect(cluster.replica(0).stats().droppedRequests).toBe(dropped + 1);
    cluster.deliverAll();
    cluster.tickAndDeliver(10);

    const start = 4; // three writes, then the reconfiguration
    for (const id of [0, 3, 4]) {
      const replica = cluster.replica(id);
      expect(replica.vrStatus(), `replica ${id}`).toBe("normal");
      expect(replica.epoch()).toBe(1);
      expect(replica.currentView()).toBe(firstViewOfEpoch(1));
      expect(replica.members()).toEqual([0, 3, 4]);
      expect(replica.previousMembers()).toEqual([0, 1, 2]);
      expect(replica.epochStart()).toBe(start);
      expect(logOf(replica, 1).slice(0, 3)).toEqual(["v0", "v1", "v2"]);
      for (let i = 0; i < 3; i++) expect(cluster.value(id, `k${i}`)).toBe(`v${i}`);
    }
    expect(cluster.value(0, "late")).toBeUndefined();
    // The old replicas that left shut down once f' + 1 new replicas held the state (EPOCHSTARTED).
    for (const id of [1, 2]) {
      expect(cluster.replica(id).vrStatus(), `replica ${id}`).toBe("outside");
      expect(cluster.replica(id).status().role).toBe("stopped");
    }
    // The primary of the new epoch's view 0 is new-config[view mod n'] (2^32 mod 3 = 1: replica 3).
    expect(cluster.replica(3).isPrimary()).toBe(true);
    const sequence = cluster.request(3, put("after", "y"));
    cluster.deliverAll();
    expect(cluster.replyTo(client, sequence)).toEqual({ type: "put" });
    expect(cluster.replica(3).opNumber()).toBe(start + 1);
    cluster.tickAndDeliver(5);
    for (const id of [0, 3, 4]) expect(cluster.value(id, "after")).toBe("y");
    expect(cluster.violations()).toEqual([]);
  });

  test("a new replica that is behind takes no part in its epoch before it holds every op through the reconfiguration: no EpochStarted, no PrepareOk, no primary role until its NewState", () => {
    const cluster = vrCluster(5, {}, 1, 2);
    writes(cluster, 0, 3);
    reconfigure(cluster, 0, [0, 3, 4]);
    // Every answer to replica 3's requests for the state is lost: 4 starts, 3 (the new epoch's view-0 primary) waits.
    const toThree = (envelope: Envelope): boolean => !(envelope.to === 3 && envelope.message.type === "newState");
    cluster.deliverAll(toThree);
    cluster.tickAndDeliver(20, { keep: toThree });
    const waiting = cluster.replica(3);
    expect(waiting.vrStatus()).toBe("transitioning");
    expect(waiting.epoch()).toBe(1);
    expect(waiting.status().role).toBe("learner");
    expect(waiting.isPrimary()).toBe(false);
    expect(waiting.opNumber()).toBe(0);
    expect(typesSentBy(cluster, 3)).toEqual(["getState"]);
    expect(cluster.sent.filter(sentBy(3, "getState")).every((envelope) => envelope.message.type === "getState" && envelope.message.committed)).toBe(true);
    expect(cluster.replica(4).vrStatus()).toBe("normal");
    // Only one new replica (4) said EPOCHSTARTED: f' + 1 = 2 have not, so the old replicas that leave still serve the state.
    for (const id of [1, 2]) expect(cluster.replica(id).vrStatus(), `replica ${id}`).toBe("leaving");
    // A Prepare of its epoch does not get an acknowledgement either.
    cluster.deliver({ from: 3, to: 3, message: { type: "prepare", view: firstViewOfEpoch(1), op: 5, entry: entry(9, "x", "y"), commit: 4, leaseTick: 0 } });
    expect(cluster.take(sentBy(3, "prepareOk"))).toEqual([]);

    cluster.tickAndDeliver(20);
    expect(waiting.vrStatus()).toBe("normal");
    expect(waiting.isPrimary()).toBe(true);
    expect(logOf(waiting, 1).slice(0, 3)).toEqual(["v0", "v1", "v2"]);
    expect(cluster.sent.filter(sentBy(3, "epochStarted")).map((envelope) => envelope.to).sort()).toEqual([0, 1, 2]);
    for (const id of [1, 2]) expect(cluster.replica(id).vrStatus(), `replica ${id}`).toBe("outside");
    const sequence = cluster.request(3, put("after", "y"));
    cluster.deliverAll();
    expect(cluster.replyTo(client, sequence)).toEqual({ type: "put" });
    expect(cluster.violations()).toEqual([]);
  });

  test("the epoch changes while a view change is under way: the reconfiguration prepared before the primary crashed is committed by the next view's primary, in the old epoch, and the group moves on", () => {
    const cluster = vrCluster(4, {}, 1, 1); // group [0,1,2], spare 3
    writes(cluster, 0, 2);
    reconfigure(cluster, 0, [1, 2, 3]); // the primary removes itself
    // The backups hold the reconfiguration; their PrepareOks are lost and the primary crashes.
    for (const prepare of cluster.take(isType("prepare"))) cluster.deliver(prepare);
    cluster.take(isType("prepareOk"));
    cluster.crash(0);
    cluster.runUntil(() => cluster.replica(3).vrStatus() === "normal" && cluster.replica(1).epoch() === 1 && cluster.replica(2).epoch() === 1);
    // A view change of epoch 0 chose the log with the reconfiguration, whose op started epoch 1.
    expect(cluster.sent.some((envelope) => envelope.message.type === "startView" && epochOfView(envelope.message.view) === 0)).toBe(true);
    for (const id of [1, 2, 3]) {
      const replica = cluster.replica(id);
      expect(replica.members()).toEqual([1, 2, 3]);
      expect(replica.epochStart()).toBe(3);
      expect(cluster.value(id, "k1")).toBe("v1");
    }
    // The old primary restarts in epoch 0, hears of epoch 1 when it tries to go on there, and, not in the group, stays out.
    restart(cluster, 0);
    cluster.runUntil(() => cluster.replica(0).vrStatus() === "outside");
    expect(cluster.replica(0).epoch()).toBe(1);
    expect(cluster.violations()).toEqual([]);
  });

  test("a replica in a view change of the old epoch joins the new epoch from the StartEpoch its StartViewChange gets (§7.2), without finishing the old view change", () => {
    const cluster = vrCluster(4, {}, 1, 1);
    writes(cluster, 0, 2);
    cluster.isolate(2);
    reconfigure(cluster, 0, [0, 2, 3]); // 1 leaves, 3 joins, 2 stays but hears nothing of it
    cluster.deliverAll();
    cluster.tickAndDeliver(20);
    expect(cluster.replica(0).epoch()).toBe(1);
    // Cut off, replica 2 times out and starts a view change in epoch 0.
    cluster.runUntil(() => cluster.replica(2).vrStatus() === "viewChange");
    expect(cluster.replica(2).epoch()).toBe(0);
    expect(cluster.replica(2).opNumber()).toBe(2);
    cluster.heal();
    cluster.runUntil(() => cluster.replica(2).vrStatus() === "normal");
    const replica = cluster.replica(2);
    expect(replica.epoch()).toBe(1);
    expect(replica.stats().epochTransitions).toBe(1);
    expect(logOf(replica, 1).slice(0, 2)).toEqual(["v0", "v1"]);
    expect(cluster.sent.filter((envelope) => envelope.to === 2 && envelope.message.type === "startEpoch").length).toBeGreaterThan(0);
    // Nobody started the view replica 2 asked for in epoch 0 (epoch 1 changed view: its view-0 primary was replica 2, cut off).
    expect(cluster.sent.some((envelope) => envelope.message.type === "startView" && epochOfView(envelope.message.view) === 0)).toBe(false);
    expect(cluster.violations()).toEqual([]);
  });

  test("an old replica that receives a request after its epoch ended prepares nothing: it names the new group's primary to the client (§7.3)", () => {
    const cluster = vrCluster(5, {}, 1, 2);
    writes(cluster, 0, 1);
    reconfigure(cluster, 0, [0, 3, 4]);
    cluster.deliverAll();
    cluster.tickAndDeliver(10);
    expect(cluster.replica(1).vrStatus()).toBe("outside");
    const before = cluster.replica(1).opNumber();
    cluster.request(1, put("x", "1"), { clientId: client + 1 });
    const answers = cluster.clientInbox.filter((envelope) => envelope.from === 1 && envelope.to === client + 1).map((envelope) => envelope.message);
    expect(answers).toEqual([{ type: "notLeader", sequence: 1, leaderHint: 3, hasLeaderHint: true }]);
    expect(cluster.replica(1).opNumber()).toBe(before);
    expect(cluster.sent.filter(sentBy(1, "prepare"))).toEqual([]);
  });

  test("a client that talks to the old group gets its request done by the new one: the old primary, now outside, sends it to the new primary", () => {
    const cluster = vrCluster(5, {}, 1, 2);
    cluster.addClient(client, { replicas: [0, 1, 2, 3, 4] });
    // The client's first request finds the old primary, which it keeps talking to.
    cluster.submit(put("a", "1"));
    cluster.runUntil(() => cluster.idle());
    expect(cluster.results()).toEqual([{ type: "put" }]);
    reconfigure(cluster, 0, [2, 3, 4]); // the old primary and replica 1 leave
    cluster.runUntil(() => cluster.replica(0).vrStatus() === "outside" && cluster.replica(3).vrStatus() === "normal");
    const sentBefore = cluster.sent.length;
    cluster.submit(put("b", "2"));
    cluster.runUntil(() => cluster.idle());
    expect(cluster.results()).toEqual([{ type: "put" }, { type: "put" }]);
    // It asked the old group first (the old primary, outside now, named the new primary) and got its answer from the new one.
    const after = cluster.sent.slice(sentBefore);
    expect(after.some((envelope) => envelope.from === 0 && envelope.to === client && envelope.message.type === "notLeader")).toBe(true);
    expect(after.some((envelope) => envelope.to === client && envelope.message.type === "clientReply" && [2, 3, 4].includes(envelope.from))).toBe(true);
    cluster.tickAndDeliver(10);
    for (const id of [2, 3, 4]) expect(cluster.value(id, "b")).toBe("2");
    expect(cluster.violations()).toEqual([]);
  });

  test("one reconfiguration at a time, only at the primary, and only of a real change", () => {
    const cluster = vrCluster(4, {}, 1, 1);
    expect(cluster.replica(1).reconfigure([0, 1, 3])).toEqual({ kind: "rejected", reason: "notPrimary" });
    expect(cluster.replica(0).reconfigure([])).toEqual({ kind: "rejected", reason: "invalidMembers" });
    expect(cluster.replica(0).reconfigure([0, 1, 1])).toEqual({ kind: "rejected", reason: "invalidMembers" });
    expect(cluster.replica(0).reconfigure([2, 1, 0])).toEqual({ kind: "rejected", reason: "unchanged" });
    expect(cluster.replica(0).reconfigure([0, 1, 3])).toEqual({ kind: "proposed", members: [0, 1, 3] });
    expect(cluster.replica(0).reconfigure([0, 1, 2, 3])).toEqual({ kind: "rejected", reason: "changePending" });
  });

  test("a replica restarted from its disk resumes in its epoch: the persisting mode from its records, memory mode by recovering from the epoch's group", () => {
    for (const durability of ["persist", "memory"] as const) {
      const cluster = vrCluster(4, { durability }, 1, 1);
      writes(cluster, 0, 2);
      reconfigure(cluster, 0, [0, 1, 3]);
      cluster.deliverAll();
      cluster.tickAndDeliver(10);
      expect(cluster.replica(3).vrStatus()).toBe("normal");
      writes(cluster, cluster.leader()?.id ?? -1, 1, "n");
      const restarted = restart(cluster, 3);
      expect(restarted.epoch(), durability).toBe(1);
      expect(restarted.members()).toEqual([0, 1, 3]);
      cluster.runUntil(() => restarted.vrStatus() === "normal");
      expect(cluster.value(3, "k1"), durability).toBe("v1");
      if (durability === "memory") expect(restarted.stats().recoveries).toBe(1);
      // An old replica restarted outside the new group stays out.
      const left = restart(cluster, 2);
      cluster.runUntil(() => left.vrStatus() === "outside" || left.vrStatus() === "leaving");
      expect(left.epoch(), durability).toBe(1);
      expect(cluster.violations()).toEqual([]);
    }
  });
});

describe("bad input (§7.2): reconfiguration messages that cannot be right are refused and counted", () => {
  const cases: [string, number, VrMessage, VrRejectionReason][] = [
    ["a StartEpoch whose group is out of id order", 0, { type: "startEpoch", view: firstViewOfEpoch(1), op: 3, oldConfig: [0, 1, 2], newConfig: [3, 0, 1] }, "impossibleConfig"],
    ["a StartEpoch with an empty group", 0, { type: "startEpoch", view: firstViewOfEpoch(1), op: 3, oldConfig: [0, 1, 2], newConfig: [] }, "impossibleConfig"],
    ["a StartEpoch of a view that starts no epoch", 0, { type: "startEpoch", view: firstViewOfEpoch(1) + 2, op: 3, oldConfig: [0, 1, 2], newConfig: [0, 1, 3] }, "impossibleView"],
    ["a StartEpoch of epoch 0", 0, { type: "startEpoch", view: 0, op: 3, oldConfig: [0, 1, 2], newConfig: [0, 1, 3] }, "impossibleView"],
    ["a StartEpoch at op 0", 0, { type: "startEpoch", view: firstViewOfEpoch(1), op: 0, oldConfig: [0, 1, 2], newConfig: [0, 1, 3] }, "impossibleOp"],
    ["a StartEpoch from a replica in neither group", 2, { type: "startEpoch", view: firstViewOfEpoch(1), op: 3, oldConfig: [0, 1], newConfig: [0, 1, 3] }, "notFromMember"],
    ["a reconfiguration that carries requests", 0, { type: "prepare", view: 0, op: 1, entry: { ...entry(1, "k", "v"), config: [0, 1] }, commit: 0, leaseTick: 0 }, "impossibleConfig"],
  ];
  for (const [name, from, message, reason] of cases) {
    test(name, () => {
      const cluster = vrCluster(4, {}, 1, 1);
      const target = cluster.replica(3);
      const before = target.currentView();
      // Through the codec, as the wire would carry it.
      cluster.deliver({ from, to: 3, message: vrCodec.decode(vrCodec.encode(message)) });
      expect(target.rejections().get(reason)).toBe(1);
      expect(target.currentView()).toBe(before);
      expect(target.vrStatus()).toBe("outside");
      assert(target.epoch() === 0, "nothing moved the spare");
    });
  }
});
