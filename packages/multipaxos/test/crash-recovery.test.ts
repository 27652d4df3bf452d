// A crash at every point between persist and sync after a snapshot, taken or
// installed (issue 10, bug 1): the disk follows core's Storage rule (a write
// not yet synced never destroys one that was), and recovery must keep every
// promise and acceptance that was synced, since the messages that revealed
// them may have left (Paxos Made Simple §2.5).
import { type NodeId, type Ready, firstClientId } from "@concord/core";
import { type AcceptedValue, type Ballot, type MultiPaxosMessage } from "@concord/multipaxos";
import { compareBallots } from "@concord/multipaxos/internals";
import { describe, expect, test } from "vitest";
import { encodeCommand } from "@concord/kv";
import { type Envelope, type MultiPaxosCluster, multiPaxosCluster, put, restart } from "./kit.ts";

const client = firstClientId;
const slotsWatched = 40;

/** AcceptorState is what an acceptor has promised and accepted: what recovery must never lose once it was synced. */
interface AcceptorState {
  readonly promised: Ballot;
  readonly accepted: ReadonlyMap<number, AcceptedValue>;
}

function acceptorState(cluster: MultiPaxosCluster, id: NodeId): AcceptorState {
  const replica = cluster.replica(id);
  const accepted = new Map<number, AcceptedValue>();
  for (let slot = 1; slot <= slotsWatched; slot++) {
    const value = replica.acceptedAt(slot);
    if (value !== undefined) accepted.set(slot, value);
  }
  return { promised: replica.promisedBallot(), accepted };
}

/** keeps lists what the recovered replica lost of `durable`: a lower promise, or an acceptance above its snapshot it no longer holds. */
function losses(cluster: MultiPaxosCluster, id: NodeId, durable: AcceptorState): string[] {
  const replica = cluster.replica(id);
  const lost: string[] = [];
  if (compareBallots(replica.promisedBallot(), durable.promised) < 0) lost.push(`promise fell from ${JSON.stringify(durable.promised)} to ${JSON.stringify(replica.promisedBallot())}`);
  for (const [slot, value] of durable.accepted) {
    if (slot <= replica.compactionSlot()) continue; // chosen and folded into the recovered snapshot
    const recovered = replica.acceptedAt(slot);
    if (recovered === undefined || compareBallots(recovered.ballot, value.ballot) < 0) lost.push(`acceptance of slot ${slot} in ${JSON.stringify(value.ballot)} lost`);
  }
  return lost;
}

/** Schedule builds a cluster up to the step after which `id` hands out a Ready with a snapshot, and returns that step's message. */
type Schedule = () => { cluster: MultiPaxosCluster; id: NodeId; trigger: Envelope };

/**
 * CrashPoint says how far the Ready got: `written` is -1 before the snapshot
 * was written, 0 once it was, and k once k records after it were; `synced`
 * means the sync returned (and the crash came before the messages left).
 */
interface CrashPoint {
  readonly written: number;
  readonly synced: boolean;
}

function crashPoints(ready: Ready<MultiPaxosMessage>): CrashPoint[] {
  const points: CrashPoint[] = [];
  for (let written = -1; written <= ready.persist.length; written++) points.push({ written, synced: false });
  points.push({ written: ready.persist.length, synced: true });
  return points;
}

/** crashEverywhere replays the schedule once per crash point, crashes there, restarts, checks recovery, then heals the cluster. */
function crashEverywhere(schedule: Schedule): { points: number; snapshotsRecovered: number } {
  const probe = schedule();
  probe.cluster.replica(probe.id).step(probe.trigger.from, probe.trigger.message);
  const probeReady = probe.cluster.replica(probe.id).ready();
  expect(probeReady?.snapshot, "the schedule's last step takes or installs a snapshot").toBeDefined();
  const points = crashPoints(probeReady as Ready<MultiPaxosMessage>);
  let snapshotsRecovered = 0;
  for (const point of points) {
    const { cluster, id, trigger } = schedule();
    const before = acceptorState(cluster, id);
    const replica = cluster.replica(id);
    replica.step(trigger.from, trigger.message);
    const after = acceptorState(cluster, id);
    const ready = replica.ready() as Ready<MultiPaxosMessage>;
    const disk = cluster.disk(id);
    if (point.written >= 0 && ready.snapshot !== undefined) disk.replaceWithSnapshot(ready.snapshot);
    for (const record of ready.persist.slice(0, Math.max(0, point.written))) disk.append(record);
    if (point.synced) disk.sync();
    restart(cluster, id, 3);
    const where = `crash with ${point.written < 0 ? "nothing" : `the snapshot and ${point.written} records`} written, ${point.synced ? "synced" : "not synced"}`;
    // Before the sync nothing of this Ready is durable: the replica is back where it was. After it, every record counts.
    expect(losses(cluster, id, point.synced ? after : before), where).toEqual([]);
    if (point.synced) snapshotsRecovered += cluster.replica(id).compactionSlot() > 0 ? 1 : 0;
    // The Ready's messages never left. Healed, the cluster agrees and keeps going.
    cluster.tickAndDeliver(40);
    const leader = cluster.leaders()[0] as NodeId;
    const sequence = cluster.request(leader, put("after", "crash"), { clientId: client + 90 });
    cluster.tickAndDeliver(10);
    expect(cluster.replyTo(client + 90, sequence)?.type, where).toBe("put");
    expect(cluster.violations(), where).toEqual([]);
    for (const other of cluster.ids) expect(cluster.value(other, "after"), `${where}: replica ${other}`).toBe("crash");
  }
  return { points: points.length, snapshotsRecovered };
}

describe("a crash at every point between persist and sync after a snapshot keeps every synced promise and acceptance", () => {
  test("a snapshot taken by a follower, in the Ready of an acceptance", () => {
    const schedule: Schedule = () => {
      const cluster = multiPaxosCluster(3, { snapshotEveryEntries: 2 });
      for (let i = 0; i < 2; i++) {
        cluster.request(0, put(`k${i}`, `${i}`), { clientId: client + i });
        cluster.deliverAll();
      }
      // Slot 3's Accept carries watermark 2: follower 1 accepts slot 3, learns slots 1 and 2 and compacts them.
      cluster.request(0, put("k2", "2"), { clientId: client + 2 });
      const [trigger] = cluster.take((envelope) => envelope.to === 1 && envelope.message.type === "accept");
      return { cluster, id: 1, trigger: trigger as Envelope };
    };
    const { points, snapshotsRecovered } = crashEverywhere(schedule);
    expect(points).toBe(4);
    expect(snapshotsRecovered).toBe(1);
  });

  test("a snapshot installed by state transfer, above which the replica holds an acceptance and a promise", () => {
    const schedule: Schedule = () => {
      const cluster = multiPaxosCluster(3, { snapshotEveryEntries: 3 });
      cluster.pause(2);
      for (let i = 0; i < 10; i++) {
        cluster.request(0, put(`k${i}`, `${i}`), { clientId: client + i });
        cluster.deliverAll();
      }
      cluster.resume(2);
      // Replica 2 accepts slot 11 (not yet chosen), learns that slots up to 10 are chosen, and asks for them: they were compacted.
      cluster.request(0, put("k10", "10"), { clientId: client + 10 });
      cluster.deliverAll((envelope) => envelope.message.type === "accept" && envelope.to === 2);
      // It also promises a higher ballot than any it accepted in (node 1's Prepare; the Promise is lost).
      cluster.deliver({ from: 1, to: 2, message: { type: "prepare", ballotRound: 5, ballotNode: 1, fromSlot: 1 } });
      cluster.queue = [];
      for (let i = 0; i < 20 && cluster.queue.length === 0; i++) cluster.tick([2]);
      const requests = cluster.take((envelope) => envelope.from === 2 && envelope.message.type === "catchupRequest");
      cluster.queue = [];
      requests.forEach((envelope) => cluster.deliver({ ...envelope, to: 0 }));
      const [trigger] = cluster.take((envelope) => envelope.to === 2 && envelope.message.type === "snapshotTransfer");
      expect(cluster.replica(2).acceptedAt(11)?.ballot).toEqual({ round: 1, node: 0 });
      expect(cluster.replica(2).promisedBallot()).toEqual({ round: 5, node: 1 });
      return { cluster, id: 2, trigger: trigger as Envelope };
    };
    const { points, snapshotsRecovered } = crashEverywhere(schedule);
    expect(points).toBeGreaterThanOrEqual(2);
    expect(snapshotsRecovered).toBe(1);
  });
});

describe("a crash between persist and sync with no snapshot staged", () => {
  test("keeps whatever prefix of the unsynced records reached the disk, and loses none of the synced ones", () => {
    const schedule = () => {
      const cluster = multiPaxosCluster(3, { batchCommandsMax: 1 });
      cluster.request(0, put("k0", "0"), { clientId: client });
      cluster.deliverAll();
      // Two Accepts stepped in one instant: follower 1's next Ready holds two acceptance records.
      cluster.request(0, put("k1", "1"), { clientId: client + 1 });
      cluster.request(0, put("k2", "2"), { clientId: client + 2 });
      const triggers = cluster.take((envelope) => envelope.to === 1 && envelope.message.type === "accept");
      expect(triggers).toHaveLength(2);
      return { cluster, triggers };
    };
    for (let kept = 0; kept <= 3; kept++) {
      const { cluster, triggers } = schedule();
      const before = acceptorState(cluster, 1);
      const replica = cluster.replica(1);
      for (const trigger of triggers) replica.step(trigger.from, trigger.message);
      const after = acceptorState(cluster, 1);
      const ready = replica.ready() as Ready<MultiPaxosMessage>;
      expect(ready.snapshot).toBeUndefined();
      expect(ready.persist).toHaveLength(2);
      const disk = cluster.disk(1);
      for (const record of ready.persist) disk.append(record);
      // kept = 3 stands for the sync; below it, that many unsynced records survive the crash.
      if (kept === 3) disk.sync();
      else disk.crash(kept);
      restart(cluster, 1, 3);
      const where = kept === 3 ? "crash after the sync" : `crash with ${kept} unsynced records surviving`;
      expect(losses(cluster, 1, kept === 3 ? after : before), where).toEqual([]);
      expect(cluster.replica(1).acceptedAt(2) !== undefined, where).toBe(kept >= 1);
      cluster.tickAndDeliver(20);
      for (const id of cluster.ids) expect(cluster.value(id, "k2"), `${where}: replica ${id}`).toBe("2");
      expect(cluster.violations(), where).toEqual([]);
    }
  });
});

describe("a leader's own acceptance counts toward a quorum only once synced (PMS §2.5)", () => {
  test("a lone acceptor that crashes before its sync chose nothing, and the slot takes another value", () => {
    // Found by `concord swarm` (chaos seed 10093 with a quorum of one): the leader
    // chose and applied its unsynced proposal, a crash lost it, and the slot was
    // chosen again with another value.
    const cluster = multiPaxosCluster(1);
    cluster.tickAndDeliver(30);
    expect(cluster.leaders()).toEqual([0]);
    const replica = cluster.replica(0);
    const chosenBefore = replica.status().commitIndex;
    const lost = put("k", "lost");
    replica.step(client, { type: "clientRequest", clientId: client, session: client, sequence: 1, command: encodeCommand(lost), readOnly: false, readLevel: 0 });
    const ready = replica.ready() as Ready<MultiPaxosMessage>;
    expect(ready.persist.length).toBeGreaterThan(0);
    expect(replica.status().commitIndex).toBe(chosenBefore);
    expect(cluster.value(0, "k")).toBeUndefined();
    const disk = cluster.disk(0);
    for (const record of ready.persist) disk.append(record);
    disk.crash(0); // before the sync: the acceptance is gone, and no message left
    restart(cluster, 0, 2);
    cluster.tickAndDeliver(30);
    const sequence = cluster.request(0, put("k", "kept"), { clientId: client + 1 });
    cluster.tickAndDeliver(5);
    expect(cluster.replyTo(client + 1, sequence)).toBeDefined();
    expect(cluster.value(0, "k")).toBe("kept");
    expect(cluster.clientInbox.filter((envelope) => envelope.to === client)).toEqual([]);
    expect(cluster.violations()).toEqual([]);
  });

  test("a lone acceptor's synced proposal is chosen and answered after the sync", () => {
    const cluster = multiPaxosCluster(1);
    cluster.tickAndDeliver(30);
    const sequence = cluster.request(0, put("k", "v"));
    expect(cluster.replyTo(client, sequence)).toEqual({ type: "put" });
    expect(cluster.value(0, "k")).toBe("v");
  });
});
