// Behaviour tests keyed to the sections of Liskov and Cowling, "Viewstamped
// Replication Revisited" (MIT-CSAIL-TR-2012-021), driving replicas directly
// on the test kit. Each test names the rule it checks.
import { type ReadLevel, assert, createRng, emptyDurableState, firstClientId, readLevelCode } from "@concord/core";
import { KvStateMachine, encodeCommand } from "@concord/kv";
import { zeroCrypto } from "@concord/testkit";
import { type VrDoViewChange, type VrMessage, type VrRejectionReason, vr, vrCodec } from "@concord/vr";
import { isBetterLog, vrRecordCodec } from "@concord/vr/internals";
import { describe, expect, test } from "vitest";
import { command, entry, isType, logOf, put, restart, sentBy, suffix, vrCluster } from "./kit.ts";

const client = firstClientId;

function contextFor(id: number) {
  return { id, replicas: [0, 1, 2], rng: createRng(1), durable: emptyDurableState, stateMachine: new KvStateMachine(), crypto: zeroCrypto, options: {} };
}

describe("normal operation (§4.1)", () => {
  test("a backup never prepares out of order: an op past a gap waits, unacknowledged, until the ops before it arrive", () => {
    const cluster = vrCluster(3);
    const backup = cluster.replica(1);
    const prepare = (op: number, value: string): VrMessage => ({ type: "prepare", view: 0, op, entry: entry(op, "k", value), commit: 0, leaseTick: 0 });
    cluster.deliver({ from: 0, to: 1, message: prepare(2, "second") });
    expect(backup.opNumber()).toBe(0);
    expect(cluster.take(sentBy(1, "prepareOk"))).toEqual([]);
    // The gap is noticed (§5.2): the backup asks for the ops it lacks rather than taking op 2.
    expect(cluster.take(isType("getState")).map((envelope) => envelope.message.fromOp)).toEqual([1]);

    cluster.deliver({ from: 0, to: 1, message: prepare(1, "first") });
    expect(logOf(backup)).toEqual(["first"]);
    expect(cluster.take(sentBy(1, "prepareOk")).map((envelope) => envelope.message)).toEqual([{ type: "prepareOk", view: 0, op: 1, leaseTick: 0 }]);
    cluster.deliver({ from: 0, to: 1, message: prepare(2, "second") });
    expect(logOf(backup)).toEqual(["first", "second"]);
    expect(cluster.take(sentBy(1, "prepareOk")).map((envelope) => envelope.message)).toEqual([{ type: "prepareOk", view: 0, op: 2, leaseTick: 0 }]);
  });

  test("in the persisting mode a backup's PrepareOk leaves only after its copy of the op is synced", () => {
    const cluster = vrCluster(3);
    const backup = cluster.replica(1);
    backup.step(0, { type: "prepare", view: 0, op: 1, entry: entry(1, "k", "v"), commit: 0, leaseTick: 0 });
    const ready = backup.ready();
    assert(ready !== undefined, "the backup has work");
    expect(ready.messages.map((outbound) => outbound.message.type)).toEqual(["prepareOk"]);
    expect(ready.messagesBeforeSync ?? []).toEqual([]);
    expect(ready.persist.map((record) => vrRecordCodec.decode(record))).toMatchObject([{ type: "entries", fromOp: 1 }]);
  });

  test("the primary commits after f PrepareOks and not before (§4.1 step 5), then executes and replies", () => {
    const cluster = vrCluster(5); // f = 2
    const primary = cluster.replica(0);
    const sequence = cluster.request(0, put("x", "1"));
    const prepares = cluster.take(isType("prepare"));
    expect(prepares.map((envelope) => envelope.to).sort()).toEqual([1, 2, 3, 4]);
    for (const prepare of prepares) cluster.deliver(prepare);
    const oks = cluster.take(isType("prepareOk"));
    expect(oks).toHaveLength(4);

    cluster.deliver(oks[0] as (typeof oks)[number]);
    expect(primary.status().commitIndex).toBe(0);
    expect(cluster.replyTo(client, sequence)).toBeUndefined();

    cluster.deliver(oks[1] as (typeof oks)[number]);
    expect(primary.status().commitIndex).toBe(1);
    expect(primary.status().appliedIndex).toBe(1);
    expect(cluster.replyTo(client, sequence)).toEqual({ type: "put" });
    // The backups learn the commit-number from the next message of the primary (here an idle Commit), and execute.
    cluster.tickAndDeliver(5);
    for (const id of [1, 2, 3, 4]) expect(cluster.value(id, "x")).toBe("1");
  });

  test("requests that arrive together share one op, and the pipeline holds at most windowOps uncommitted ops", () => {
    const cluster = vrCluster(3, { windowOps: 2, batchCommandsMax: 2 });
    const primary = cluster.replica(0);
    for (let i = 0; i < 6; i++) cluster.request(0, put(`k${i}`, "v"), { clientId: client + i, stepOnly: true });
    cluster.drain(0);
    // Six requests, two per op, at most two ops in flight: ops 1 and 2, four requests; the other two wait.
    expect(primary.opNumber()).toBe(2);
    expect(logOf(primary)).toEqual(["v+v", "v+v"]);
    cluster.deliverAll();
    expect(primary.opNumber()).toBe(3);
    expect(primary.status().commitIndex).toBe(3);
    for (let i = 0; i < 6; i++) expect(cluster.replyTo(client + i, 1)).toBeDefined();
  });
});

describe("the client table (§4)", () => {
  test("a duplicate of the latest request is answered from the table without a new op; an older one is dropped", () => {
    const cluster = vrCluster(3);
    const primary = cluster.replica(0);
    cluster.request(0, put("x", "1"), { sequence: 1 });
    cluster.deliverAll();
    cluster.request(0, put("x", "2"), { sequence: 2 });
    cluster.deliverAll();
    expect(primary.opNumber()).toBe(2);
    const repliesBefore = cluster.repliesTo(client).length;

    cluster.request(0, put("x", "2"), { sequence: 2 });
    cluster.deliverAll();
    expect(primary.opNumber()).toBe(2);
    expect(primary.stats().duplicatesAnswered).toBe(1);
    const replies = cluster.repliesTo(client);
    expect(replies).toHaveLength(repliesBefore + 1);
    expect(replies.at(-1)).toEqual({ from: 0, sequence: 2, result: { type: "put" } });

    cluster.request(0, put("x", "stale"), { sequence: 1 });
    cluster.deliverAll();
    expect(primary.opNumber()).toBe(2);
    expect(cluster.repliesTo(client)).toHaveLength(repliesBefore + 1);
    expect(cluster.value(0, "x")).toBe("2");
  });

  test("a backup sends the client to the primary of its view", () => {
    const cluster = vrCluster(3);
    cluster.request(2, put("x", "1"));
    const answers = cluster.clientInbox.map((envelope) => envelope.message);
    expect(answers).toEqual([{ type: "notLeader", sequence: 1, hasLeaderHint: true, leaderHint: 0 }]);
  });
});

describe("reads", () => {
  const read = (level: ReadLevel, sequence: number): VrMessage => ({
    type: "clientRequest",
    clientId: client + 9,
    session: client + 9,
    sequence,
    command: new Uint8Array(encodeCommand({ type: "get", key: "x" })),
    readOnly: true,
    readLevel: readLevelCode(level),
  });

  test("a stale read is answered by whichever replica it reaches, from its own executed state, without a message to another replica", () => {
    const cluster = vrCluster(3);
    cluster.request(0, put("x", "1"));
    cluster.deliverAll(); // the backups hold the op, but have not executed it: the commit-number has not reached them
    cluster.deliver({ from: client + 9, to: 2, message: read("stale", 1) });
    expect(cluster.take((envelope) => envelope.from === 2)).toEqual([]);
    expect(cluster.replyTo(client + 9, 1)).toEqual({ type: "get", value: undefined });
    expect(cluster.replica(2).stats().staleReads).toBe(1);
    expect(vr.servedReadLevel?.("stale", {})).toBe("stale");
  });

  test("a linearizable read, and a lease read (VR has no leases here), go through the log at the primary", () => {
    const cluster = vrCluster(3);
    cluster.request(0, put("x", "1"));
    cluster.deliverAll();
    cluster.deliver({ from: client + 9, to: 2, message: read("lease", 1) });
    expect(cluster.clientInbox.at(-1)?.message).toMatchObject({ type: "notLeader", leaderHint: 0 });
    cluster.deliver({ from: client + 9, to: 0, message: read("lease", 1) });
    cluster.deliverAll();
    expect(cluster.replica(0).opNumber()).toBe(2);
    expect(cluster.replyTo(client + 9, 1)).toEqual({ type: "get", value: new TextEncoder().encode("1") });
    expect(vr.servedReadLevel?.("lease", {})).toBe("linearizable");
    expect(vr.servedReadLevel?.("linearizable", {})).toBe("linearizable");
  });
});

describe("leases (opt-in, with a clock-drift bound)", () => {
  const read = (sequence: number): VrMessage => ({
    type: "clientRequest",
    clientId: client + 9,
    session: client + 9,
    sequence,
    command: new Uint8Array(encodeCommand({ type: "get", key: "x" })),
    readOnly: true,
    readLevel: readLevelCode("lease"),
  });

  test("the primary answers a read from its own state while a majority's grants last, and through the log once they lapse", () => {
    const cluster = vrCluster(3, { leaseTicks: 10, clockDriftBoundPercent: 10 });
    const primary = cluster.replica(0);
    cluster.request(0, put("x", "1"));
    cluster.deliverAll();
    expect(primary.leaseValid()).toBe(true);
    cluster.deliver({ from: client + 9, to: 0, message: read(1) });
    expect(cluster.take(isType("prepare"))).toEqual([]);
    expect(cluster.replyTo(client + 9, 1)).toEqual({ type: "get", value: new TextEncoder().encode("1") });
    expect(primary.stats().leaseReads).toBe(1);
    expect(vr.servedReadLevel?.("linearizable", { leaseTicks: 10 })).toBe("lease");
    // Cut off from its backups, the primary trusts the lease for 10 x (1 - 2 x 10%) - 1 = 7 ticks, then orders reads again.
    cluster.isolate(0);
    cluster.tick(0, 7);
    expect(primary.leaseValid()).toBe(false);
    cluster.deliver({ from: client + 9, to: 0, message: read(2) }, { drain: true });
    expect(primary.stats().leaseReads).toBe(1);
    expect(primary.opNumber()).toBe(2);
  });

  test("a backup that granted its primary a lease joins no view change until the grant runs out", () => {
    const cluster = vrCluster(3, { leaseTicks: 10 });
    const backup = cluster.replica(1);
    cluster.request(0, put("x", "1"));
    cluster.deliverAll();
    cluster.queue = [];
    cluster.deliver({ from: 2, to: 1, message: { type: "startViewChange", view: 1 } });
    expect(backup.vrStatus()).toBe("normal");
    expect(backup.stats().viewChangesRefusedForLease).toBe(1);
    expect(cluster.take(sentBy(1, "startViewChange"))).toEqual([]);
    cluster.tick(1, 10);
    cluster.deliver({ from: 2, to: 1, message: { type: "startViewChange", view: 1 } });
    expect(backup.vrStatus()).toBe("viewChange");
  });

  test("a lease must outlast the commit interval after the drift bound, and fit within the view-change timeout", () => {
    expect(() => vr.createReplica({ ...contextFor(0), options: { leaseTicks: 4, commitTicks: 3 } })).toThrow(/leaseTicks/);
    expect(() => vr.createReplica({ ...contextFor(0), options: { leaseTicks: 20, viewChangeTimeoutTicks: 15 } })).toThrow(/leaseTicks/);
  });
});

describe("view change (§4.2)", () => {
  test("a backup that hears no primary starts a view change; the primary of view v is replica v mod n, and the new view commits", () => {
    const cluster = vrCluster(3);
    cluster.request(0, put("x", "1"));
    cluster.deliverAll();
    cluster.crash(0);
    cluster.runUntil(() => cluster.replica(1).isPrimary());
    expect(cluster.replica(1).currentView()).toBe(1);
    expect(cluster.replica(2).status()).toMatchObject({ role: "backup", epoch: 1, leader: 1 });
    const sequence = cluster.request(1, put("x", "2"), { clientId: client + 1 });
    cluster.deliverAll();
    expect(cluster.replyTo(client + 1, sequence)).toEqual({ type: "put" });
    expect(cluster.violations()).toEqual([]);
  });

  test("the new primary takes the log of the largest last normal view, not the longest log: here the longest would lose a committed op", () => {
    // n = 5, f = 2. The schedule, by hand:
    //   view 0 (primary 0): op 1 = A committed everywhere; 0 then prepares op 2 = B and op 3 = C, which only
    //     replica 4 receives (not committed).
    //   view 1 (primary 1, with 1, 2, 3): the log is [A]; op 2 = D is prepared to 2 and 3, whose two PrepareOks
    //     commit it (f = 2).
    //   view 2 (primary 2): the DoViewChanges come from 2 ([A, D], last normal view 1), 4 and 0 ([A, B, C], last
    //     normal view 0). The longest log, [A, B, C], lacks the committed D.
    const cluster = vrCluster(5);
    const newPrimary = cluster.replica(2);
    cluster.deliver({ from: 1, to: 2, message: { type: "startView", view: 1, commit: 1, log: suffix([entry(1, "k", "A")]) } });
    cluster.deliver({ from: 1, to: 2, message: { type: "prepare", view: 1, op: 2, entry: entry(2, "k", "D"), commit: 1, leaseTick: 0 } });
    cluster.deliver({ from: 1, to: 2, message: { type: "commit", view: 1, commit: 2, leaseTick: 0 } });
    expect(logOf(newPrimary, 1)).toEqual(["A", "D"]);
    expect(newPrimary.lastNormal()).toBe(1);
    cluster.queue = [];

    const oldLog: VrDoViewChange = {
      type: "doViewChange",
      view: 2,
      lastNormalView: 0,
      commit: 1,
      log: { ...suffix([entry(1, "k", "A"), entry(2, "k", "B"), entry(3, "k", "C")]), hasState: true, state: new Uint8Array(0) },
    };
    // The old logs' state is never used: their checkpoint (op 0) is not past what the new primary executed.
    cluster.deliver({ from: 4, to: 2, message: { type: "startViewChange", view: 2 } });
    cluster.deliver({ from: 0, to: 2, message: { type: "startViewChange", view: 2 } });
    expect(newPrimary.vrStatus()).toBe("viewChange");
    cluster.deliver({ from: 4, to: 2, message: oldLog });
    expect(newPrimary.vrStatus()).toBe("viewChange");
    cluster.deliver({ from: 0, to: 2, message: oldLog });

    expect(newPrimary.isPrimary()).toBe(true);
    expect(newPrimary.currentView()).toBe(2);
    expect(logOf(newPrimary, 1)).toEqual(["A", "D"]);
    const startViews = cluster.take(isType("startView"));
    expect(startViews.map((envelope) => envelope.to).sort()).toEqual([0, 1, 3, 4]);
    for (const startView of startViews) expect(startView.message.log.entries).toHaveLength(2);
    // The naive choice, by op-number alone, would have taken [A, B, C].
    const own = { lastNormalView: 1, log: suffix([entry(1, "k", "A"), entry(2, "k", "D")]) };
    expect(isBetterLog(oldLog, own)).toBe(false);
    expect(isBetterLog(own, oldLog)).toBe(true);
  });

  test("a replica joins a view change once f others did, and sends DoViewChange only then, to the new primary", () => {
    const cluster = vrCluster(5); // f = 2
    const replica = cluster.replica(3);
    cluster.deliver({ from: 1, to: 3, message: { type: "startViewChange", view: 2 } });
    expect(replica.vrStatus()).toBe("viewChange");
    expect(cluster.take(sentBy(3, "startViewChange")).map((envelope) => envelope.to).sort()).toEqual([0, 1, 2, 4]);
    expect(cluster.take(sentBy(3, "doViewChange"))).toEqual([]);
    cluster.deliver({ from: 4, to: 3, message: { type: "startViewChange", view: 2 } });
    const sent = cluster.take(sentBy(3, "doViewChange"));
    expect(sent.map((envelope) => envelope.to)).toEqual([2]);
  });

  test("Prepares of an older view are ignored once a replica joined a newer one", () => {
    const cluster = vrCluster(3);
    const backup = cluster.replica(2);
    cluster.deliver({ from: 1, to: 2, message: { type: "startViewChange", view: 1 } });
    cluster.deliver({ from: 0, to: 2, message: { type: "prepare", view: 0, op: 1, entry: entry(1, "k", "late"), commit: 0, leaseTick: 0 } });
    expect(backup.opNumber()).toBe(0);
    expect(cluster.take(sentBy(2, "prepareOk"))).toEqual([]);
  });
});

describe("recovery (§4.3, memory mode)", () => {
  test("a recovering replica takes part in nothing before f+1 RecoveryResponses, one of them the primary's, and then has the primary's log", () => {
    const cluster = vrCluster(3, { durability: "memory" });
    cluster.request(0, put("x", "1"));
    cluster.deliverAll();
    const recovering = restart(cluster, 2);
    expect(recovering.vrStatus()).toBe("recovering");
    expect(recovering.status().role).toBe("learner");
    const recoveries = cluster.take(isType("recovery"));
    expect(recoveries.map((envelope) => envelope.to).sort()).toEqual([0, 1]);

    // Neither a Prepare nor a view change gets an answer: no PrepareOk, no vote.
    cluster.deliver({ from: 0, to: 2, message: { type: "prepare", view: 0, op: 2, entry: entry(2, "y", "2"), commit: 1, leaseTick: 0 } });
    cluster.deliver({ from: 1, to: 2, message: { type: "startViewChange", view: 1 } });
    cluster.deliver({ from: 1, to: 2, message: { type: "doViewChange", view: 2, lastNormalView: 0, commit: 0, log: suffix([]) } });
    expect(cluster.take((envelope) => envelope.from === 2)).toEqual([]);
    expect(recovering.opNumber()).toBe(0);
    expect(recovering.vrStatus()).toBe("recovering");

    // The backup's answer alone (one of f+1, and not the primary's) does not end the recovery.
    const backupAnswer = recoveries.find((envelope) => envelope.to === 1);
    const primaryAnswer = recoveries.find((envelope) => envelope.to === 0);
    assert(backupAnswer !== undefined && primaryAnswer !== undefined, "both peers were asked");
    cluster.deliver(backupAnswer);
    cluster.deliver(cluster.take(sentBy(1, "recoveryResponse"))[0] as (typeof recoveries)[number]);
    expect(recovering.vrStatus()).toBe("recovering");
    cluster.deliver(primaryAnswer);
    const fromPrimary = cluster.take(sentBy(0, "recoveryResponse"));
    expect(fromPrimary[0]?.message).toMatchObject({ hasLog: true, view: 0, commit: 1 });
    cluster.deliver(fromPrimary[0] as (typeof recoveries)[number]);
    expect(recovering.vrStatus()).toBe("normal");
    expect(recovering.stats().recoveries).toBe(1);
    expect(logOf(recovering)).toEqual(["1"]);
    expect(cluster.value(2, "x")).toBe("1");
  });

  test("nothing is written on the normal path: the only record is the one of the first boot", () => {
    const cluster = vrCluster(3, { durability: "memory" });
    for (let i = 0; i < 5; i++) cluster.request(0, put("x", `${i}`));
    cluster.deliverAll();
    for (const id of [0, 1, 2]) {
      const durable = cluster.disk(id).recover();
      expect(durable.snapshot).toBeUndefined();
      expect(durable.records.map((record) => vrRecordCodec.decode(record).type)).toEqual(["view"]);
    }
  });

  test("with more than f replicas restarted at once the recovery is abandoned, counted, and the group goes on", () => {
    const cluster = vrCluster(3, { durability: "memory" });
    cluster.request(0, put("x", "1"));
    cluster.deliverAll();
    cluster.crash(1);
    cluster.crash(2);
    restart(cluster, 1);
    restart(cluster, 2);
    cluster.runUntil(() => cluster.running().every((id) => cluster.replica(id).vrStatus() === "normal"));
    const abandoned = [1, 2].reduce((sum, id) => sum + cluster.replica(id).stats().recoveriesAbandoned, 0);
    expect(abandoned).toBeGreaterThan(0);
    const primary = cluster.leader();
    assert(primary !== undefined, "a primary leads again");
    const sequence = cluster.request(primary.id, put("y", "2"), { clientId: client + 1 });
    cluster.deliverAll();
    expect(cluster.replyTo(client + 1, sequence)).toEqual({ type: "put" });
  });
});

describe("the persisting mode", () => {
  test("a restarted backup resumes from its disk in its view, with every op it acknowledged", () => {
    const cluster = vrCluster(3);
    for (let i = 1; i <= 3; i++) cluster.request(0, put("x", `${i}`));
    cluster.deliverAll();
    const restarted = restart(cluster, 1);
    expect(restarted.vrStatus()).toBe("normal");
    expect(logOf(restarted)).toEqual(["1", "2", "3"]);
    cluster.tickAndDeliver(10);
    expect(cluster.value(1, "x")).toBe("3");
  });

  test("a restarted primary does not resume as primary: it starts a view change past its view", () => {
    const cluster = vrCluster(3);
    cluster.request(0, put("x", "1"));
    cluster.deliverAll();
    const restarted = restart(cluster, 0);
    expect(restarted.vrStatus()).toBe("viewChange");
    expect(restarted.currentView()).toBe(1);
    cluster.runUntil(() => cluster.replica(1).isPrimary());
    expect(cluster.value(1, "x")).toBe("1");
  });
});

describe("checkpoints and state transfer (§5.1, §5.2)", () => {
  test("the log is truncated at each checkpoint, and a backup behind it installs the checkpoint from a peer", () => {
    const cluster = vrCluster(3, { checkpointEveryOps: 3 });
    cluster.isolate(2);
    for (let i = 1; i <= 8; i++) {
      cluster.request(0, put(`k${i}`, `${i}`));
      cluster.deliverAll();
    }
    const primary = cluster.replica(0);
    expect(primary.checkpoint()).toBe(6);
    expect(primary.entryAt(6)).toBeUndefined();
    expect(logOf(primary)).toEqual(["7", "8"]);
    expect(cluster.replica(2).opNumber()).toBe(0);

    cluster.heal();
    cluster.runUntil(() => cluster.replica(2).status().appliedIndex === 8);
    const behind = cluster.replica(2);
    expect(behind.stats().checkpointsInstalled).toBeGreaterThanOrEqual(1);
    expect(behind.stats().stateTransfers).toBeGreaterThanOrEqual(1);
    for (let i = 1; i <= 8; i++) expect(cluster.value(2, `k${i}`)).toBe(`${i}`);
    expect(cluster.violations()).toEqual([]);
  });

  test("a persisting replica restarts from its checkpoint and the records after it", () => {
    const cluster = vrCluster(3, { checkpointEveryOps: 2 });
    for (let i = 1; i <= 5; i++) {
      cluster.request(0, put("x", `${i}`));
      cluster.deliverAll();
    }
    cluster.tickAndDeliver(5);
    const restarted = restart(cluster, 1);
    expect(restarted.checkpoint()).toBe(4);
    expect(restarted.status().appliedIndex).toBe(4);
    expect(cluster.value(1, "x")).toBe("4");
    cluster.tickAndDeliver(5);
    expect(cluster.value(1, "x")).toBe("5");
  });
});

describe("bad input is rejected and counted, never applied", () => {
  const cases: [string, number, VrMessage, VrRejectionReason][] = [
    ["a Prepare from a replica that is not the view's primary", 2, { type: "prepare", view: 0, op: 1, entry: entry(1, "k", "v"), commit: 0, leaseTick: 0 }, "notPrimaryOfView"],
    ["a Prepare of op 0", 0, { type: "prepare", view: 0, op: 0, entry: entry(1, "k", "v"), commit: 0, leaseTick: 0 }, "impossibleOp"],
    ["a message from a node outside the group", 7, { type: "startViewChange", view: 1 }, "notFromMember"],
    ["a view change to view 0", 2, { type: "startViewChange", view: 0 }, "impossibleView"],
    ["a DoViewChange sent to a replica that is not the new primary", 2, { type: "doViewChange", view: 3, lastNormalView: 0, commit: 0, log: suffix([]) }, "notToPrimary"],
    ["a DoViewChange whose last normal view is not below its view", 2, { type: "doViewChange", view: 5, lastNormalView: 5, commit: 0, log: suffix([]) }, "impossibleView"],
    ["a StartView whose commit-number is past its log", 2, { type: "startView", view: 6, commit: 3, log: suffix([entry(1, "k", "v")]) }, "impossibleOp"],
    ["a Prepare carrying a command of a replica id", 0, { type: "prepare", view: 0, op: 1, entry: { commands: [command(1, "k", "v", 2)], config: [] }, commit: 0, leaseTick: 0 }, "impossibleRequest"],
    ["a reply sent to a replica", 0, { type: "clientReply", session: 1, sequence: 1, result: new Uint8Array(0) }, "replyToReplica"],
  ];
  for (const [name, from, message, reason] of cases) {
    test(name, () => {
      const cluster = vrCluster(4); // replica 1 is the primary of views 1, 5, 9, ...
      const target = cluster.replica(1);
      const before = { view: target.currentView(), status: target.vrStatus(), op: target.opNumber() };
      cluster.deliver({ from, to: 1, message });
      expect(target.rejections().get(reason)).toBe(1);
      expect(target.rejections().total()).toBe(1);
      expect({ view: target.currentView(), status: target.vrStatus(), op: target.opNumber() }).toEqual(before);
      expect(cluster.take((envelope) => envelope.from === 1)).toEqual([]);
    });
  }

  test("a Prepare sent again for an op already committed is answered (its commit-number is past the op): chaos seed 1820", () => {
    const cluster = vrCluster(3);
    cluster.request(0, put("x", "1"));
    cluster.request(0, put("x", "2"));
    cluster.deliverAll();
    cluster.queue = [];
    cluster.deliver({ from: 0, to: 1, message: { type: "prepare", view: 0, op: 1, entry: entry(1, "x", "1"), commit: 2, leaseTick: 0 } });
    expect(cluster.replica(1).rejections().total()).toBe(0);
    expect(cluster.take(sentBy(1, "prepareOk")).map((envelope) => envelope.message)).toEqual([{ type: "prepareOk", view: 0, op: 2, leaseTick: 0 }]);
  });

  test("a PrepareOk for an op the primary never prepared is rejected", () => {
    const cluster = vrCluster(3);
    cluster.deliver({ from: 1, to: 0, message: { type: "prepareOk", view: 0, op: 5, leaseTick: 0 } });
    expect(cluster.replica(0).rejections().get("impossibleOp")).toBe(1);
    expect(cluster.replica(0).status().commitIndex).toBe(0);
  });

  test("every message survives its codec", () => {
    const message: VrMessage = { type: "doViewChange", view: 3, lastNormalView: 1, commit: 1, log: { checkpointOp: 0, hasState: true, state: new Uint8Array([1, 2]), entries: [entry(1, "k", "v")] } };
    expect(vrCodec.decode(vrCodec.encode(message))).toEqual(message);
  });
});
