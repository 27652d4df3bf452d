// Reconfiguration through the log (Paxos Made Simple §3, end): a configuration
// chosen in slot i governs from slot i + α on.
import { firstClientId } from "@concord/core";
import type { ReconfigureResult } from "@concord/multipaxos";
import { describe, expect, test } from "vitest";
import { type MultiPaxosCluster, multiPaxosCluster, put, restart } from "./kit.ts";

const client = firstClientId;
const alpha = { alphaSlots: 4, windowSlots: 4 };

function write(cluster: MultiPaxosCluster, leader: number, count: number, from = 0): void {
  for (let i = 0; i < count; i++) {
    cluster.request(leader, put(`k${from + i}`, `${from + i}`), { clientId: client + from + i });
    cluster.deliverAll();
  }
}

function reconfigure(cluster: MultiPaxosCluster, id: number, members: number[]): ReconfigureResult {
  const result = cluster.replica(id).reconfigure(members);
  cluster.drain(id);
  return result;
}

/** electLeader passes time until exactly one of `among` leads (a replica with a stale view may lead for a while first). */
function electLeader(cluster: MultiPaxosCluster, among: readonly number[] = cluster.ids, maxRounds = 300): number {
  for (let i = 0; i < maxRounds; i++) {
    const leaders = cluster.leaders().filter((id) => among.includes(id));
    if (leaders.length === 1) return leaders[0] as number;
    cluster.tickAndDeliver(1);
  }
  throw new Error(`no single leader after ${maxRounds} ticks: ${cluster.leaders().join(",")}`);
}

describe("reconfiguration through the log", () => {
  test("an added acceptor joins from α slots after the change, catches up, and counts towards quorums", () => {
    const cluster = multiPaxosCluster(4, alpha, 1, [0, 1, 2]);
    write(cluster, 0, 2);
    expect(reconfigure(cluster, 0, [0, 1, 2, 3])).toEqual({ kind: "proposed" });
    cluster.deliverAll();
    const changeSlot = 3;
    expect(cluster.replica(0).membersAt(changeSlot + 3)).toEqual([0, 1, 2]);
    expect(cluster.replica(0).membersAt(changeSlot + 4)).toEqual([0, 1, 2, 3]);
    write(cluster, 0, 8, 2);
    cluster.tickAndDeliver(5);
    expect(cluster.replica(3).status().appliedIndex).toBe(cluster.replica(0).status().appliedIndex);
    expect(cluster.value(3, "k9")).toBe("9");
    expect(cluster.replica(3).stats().configurationsApplied).toBe(1);
    // With four acceptors a quorum is three: two down stalls the leader; bringing one back lets it finish.
    cluster.pause(1);
    cluster.pause(2);
    const stalled = cluster.request(0, put("late", "x"), { clientId: client + 99 });
    cluster.deliverAll();
    expect(cluster.replyTo(client + 99, stalled)).toBeUndefined();
    cluster.resume(2);
    cluster.tickAndDeliver(6);
    expect(cluster.replyTo(client + 99, stalled)?.type).toBe("put");
    expect(cluster.violations()).toEqual([]);
  });

  test("a removed leader finishes the slots before the boundary, steps down, never runs for leader again, and a remaining member carries on", () => {
    const cluster = multiPaxosCluster(3, alpha);
    write(cluster, 0, 1);
    expect(reconfigure(cluster, 0, [1, 2])).toEqual({ kind: "proposed" });
    cluster.deliverAll();
    write(cluster, 0, 3, 1);
    cluster.tickAndDeliver(2);
    expect(cluster.replica(0).status().role).toBe("follower");
    const leader = electLeader(cluster);
    expect([1, 2]).toContain(leader);
    write(cluster, leader, 5, 10);
    cluster.tickAndDeliver(40);
    expect(cluster.replica(0).stats().phase1Started).toBe(0);
    expect(cluster.leaders()).toEqual([leader]);
    expect(cluster.value(leader, "k14")).toBe("14");
    expect(cluster.violations()).toEqual([]);
  });

  test("after the acceptor set is replaced, a majority of the new set suffices and the old members are not needed", () => {
    const cluster = multiPaxosCluster(5, alpha, 1, [0, 1, 2]);
    write(cluster, 0, 1);
    expect(reconfigure(cluster, 0, [0, 3, 4])).toEqual({ kind: "proposed" });
    cluster.deliverAll();
    write(cluster, 0, 5, 1);
    cluster.tickAndDeliver(5);
    expect(cluster.replica(0).membersAt(cluster.replica(0).status().commitIndex + 1)).toEqual([0, 3, 4]);
    cluster.pause(1);
    cluster.pause(2);
    write(cluster, 0, 3, 20);
    expect(cluster.value(0, "k22")).toBe("22");
    cluster.tickAndDeliver(3); // the watermark reaches the followers
    expect(cluster.value(4, "k22")).toBe("22");
    expect(cluster.violations()).toEqual([]);
  });

  test("a leader elected after a change gets promises from a majority of the new set before it proposes past the boundary", () => {
    const cluster = multiPaxosCluster(5, alpha, 1, [0, 1, 2]);
    write(cluster, 0, 1);
    expect(reconfigure(cluster, 0, [0, 1, 2, 3, 4])).toEqual({ kind: "proposed" });
    cluster.deliverAll();
    write(cluster, 0, 4, 1);
    cluster.tickAndDeliver(5);
    cluster.pause(0);
    const leader = electLeader(cluster);
    expect([1, 2, 3, 4]).toContain(leader);
    write(cluster, leader, 4, 30);
    cluster.tickAndDeliver(5);
    for (const id of [1, 2, 3, 4]) expect(cluster.value(id, "k33"), `replica ${id}`).toBe("33");
    expect(cluster.violations()).toEqual([]);
  });

  test("a change survives a restart of every replica: configurations are relearned from the log or restored from snapshots", () => {
    const cluster = multiPaxosCluster(4, { ...alpha, snapshotEveryEntries: 3 }, 1, [0, 1, 2]);
    write(cluster, 0, 1);
    reconfigure(cluster, 0, [1, 2, 3]);
    cluster.deliverAll();
    write(cluster, 0, 3, 1);
    cluster.tickAndDeliver(3);
    const leader = electLeader(cluster);
    write(cluster, leader, 6, 10);
    cluster.tickAndDeliver(5);
    for (const id of cluster.ids) restart(cluster, id, 7);
    cluster.queue = [];
    const next = electLeader(cluster);
    expect([1, 2, 3]).toContain(next);
    write(cluster, next, 2, 40);
    expect(cluster.value(next, "k41")).toBe("41");
    expect(cluster.value(next, "k15")).toBe("15");
    expect(cluster.violations()).toEqual([]);
  });

  test("reconfigure is refused off the leader, while a change is pending, and for an invalid set", () => {
    const cluster = multiPaxosCluster(3, alpha);
    expect(reconfigure(cluster, 1, [0, 1])).toEqual({ kind: "rejected", reason: "notLeader" });
    expect(reconfigure(cluster, 0, [])).toEqual({ kind: "rejected", reason: "invalidMembers" });
    expect(reconfigure(cluster, 0, [1, 1])).toEqual({ kind: "rejected", reason: "invalidMembers" });
    expect(reconfigure(cluster, 0, [firstClientId])).toEqual({ kind: "rejected", reason: "invalidMembers" });
    expect(reconfigure(cluster, 0, [0, 1])).toEqual({ kind: "proposed" });
    expect(reconfigure(cluster, 0, [0, 2])).toEqual({ kind: "rejected", reason: "changePending" });
    cluster.deliverAll();
    expect(reconfigure(cluster, 0, [0, 2])).toEqual({ kind: "rejected", reason: "changePending" }); // chosen, not yet in force
  });
});

describe("reconfiguration to a disjoint acceptor set", () => {
  test("the old set's leader hands over at the boundary and a member of the new set takes the lead", () => {
    const cluster = multiPaxosCluster(5, alpha, 1, [0, 1, 2]);
    write(cluster, 0, 1);
    expect(reconfigure(cluster, 0, [3, 4])).toEqual({ kind: "proposed" });
    cluster.deliverAll();
    write(cluster, 0, 3, 1); // slots 3 to 5: the last ones the old set governs (the change in slot 2 governs from 6)
    expect(cluster.replica(0).status()).toMatchObject({ role: "follower", commitIndex: 5 }); // handed over at once
    cluster.tickAndDeliver(3);
    const leader = electLeader(cluster, [3, 4]);
    cluster.pause(0);
    cluster.pause(1);
    cluster.pause(2);
    write(cluster, leader, 3, 10);
    expect(cluster.value(leader, "k12")).toBe("12");
    expect(cluster.value(leader, "k0")).toBe("0");
    expect(cluster.violations()).toEqual([]);
  });
});

describe("a replaced acceptor sends clients on", () => {
  // A swarm at --nodes 1 (chaos seed 420) replaced the lone acceptor 0 with a
  // spare; replica 0 knew no leader afterwards (it hears no heartbeat of the new
  // one) and dropped every request, and a client that knows only the initial
  // replicas asked it for ever: no operation completed again.
  test("a replica outside the configuration of its next slot, knowing no leader, names a member of that configuration", () => {
    const cluster = multiPaxosCluster(2, { alphaSlots: 1, windowSlots: 1 }, 1, [0]);
    write(cluster, 0, 1);
    expect(reconfigure(cluster, 0, [1])).toEqual({ kind: "proposed" });
    cluster.deliverAll();
    write(cluster, 0, 2, 1);
    const leader = electLeader(cluster, [1]);
    expect(leader).toBe(1);
    expect(cluster.replica(0).status().leader).not.toBe(1);
    const sequence = cluster.request(0, put("after", "x"), { clientId: client + 50 });
    cluster.deliverAll();
    const redirect = cluster.clientInbox.find((envelope) => envelope.to === client + 50 && envelope.message.type === "notLeader");
    expect(redirect?.message).toMatchObject({ type: "notLeader", sequence, hasLeaderHint: true, leaderHint: 1 });
    expect(cluster.violations()).toEqual([]);
  });
});

describe("a spare far behind catches up on its own", () => {
  // A swarm at --nodes 1 (chaos seeds 1075 and 1277) replaced the lone acceptor
  // with a spare that was far behind. No leader's heartbeat told the spare how
  // far; it learned one catch-up batch per election timeout and never reached
  // the slot that made it the acceptor: no operation completed again.
  test("a replica that is no member by its own view asks again while each answer is full, catches up within one election timeout of asking, and takes over", () => {
    const options = { alphaSlots: 1, windowSlots: 1, catchupSlotsMax: 1, electionTimeoutTicks: 50 };
    const cluster = multiPaxosCluster(2, options, 1, [0]);
    cluster.isolate(1);
    write(cluster, 0, 12);
    expect(reconfigure(cluster, 0, [1])).toEqual({ kind: "proposed" });
    cluster.deliverAll();
    write(cluster, 0, 1, 12); // the slot after the boundary, chosen by the old acceptor's last ballot or left to the new one
    const target = cluster.replica(0).status().commitIndex;
    expect(cluster.replica(1).status().commitIndex).toBe(0);
    cluster.heal();
    // Its first request goes out at an election timeout (drawn in [T, 2T]); every later batch follows at once.
    let ticks = 0;
    while (cluster.replica(1).status().commitIndex < target - 1 && ticks < 2 * options.electionTimeoutTicks + 5) {
      cluster.tickAndDeliver(1);
      ticks++;
    }
    expect(cluster.replica(1).status().commitIndex).toBeGreaterThanOrEqual(target - 1);
    cluster.runUntil(() => cluster.replica(1).status().role === "leader", 4 * options.electionTimeoutTicks);
    const sequence = cluster.request(1, put("after", "y"), { clientId: client + 70 });
    cluster.tickAndDeliver(3);
    expect(cluster.replyTo(client + 70, sequence)?.type).toBe("put");
    expect(cluster.violations()).toEqual([]);
  });
});
