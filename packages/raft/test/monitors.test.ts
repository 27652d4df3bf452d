// The invariant monitors flag what they are meant to flag.
import type { Replica, ReplicaStatus } from "@concord/core";
import { describe, expect, it } from "vitest";
import { type RaftMessage, entryKind } from "@concord/raft";
import { CommittedEntryMonitor, ConfigurationMonitor, LeaderPerTermMonitor } from "@concord/raft/internals";
import { encodeEntryRecord, encodeHardState } from "../src/records.ts";
import { entriesOfTerms, logEntry, raftCluster } from "./kit.ts";

const context = { timeUs: 5, faulty: false };

function fakeReplica(status: Partial<ReplicaStatus> & { id: number }): Replica<RaftMessage> {
  const full: ReplicaStatus = { role: "follower", epoch: 0, leader: undefined, commitIndex: 0, appliedIndex: 0, ...status };
  return { id: status.id, tick() {}, step() {}, ready: () => undefined, advance() {}, status: () => full };
}

/** replicaWithConfigEntry restarts replica 1 of three with a log whose last entry is a configuration entry, not applied. */
function replicaWithConfigEntry(config: { voters: number[]; outgoing: number[]; learners: number[] }) {
  const net = raftCluster([1, 2, 3]);
  net.crash(1);
  const entry = { ...logEntry(2, 1), kind: entryKind.config, ...config };
  net.disk(1).records = [encodeEntryRecord(logEntry(1, 1)), encodeEntryRecord(entry), encodeHardState({ term: 1, vote: undefined, commit: 1 })];
  return net.restart(1);
}

function replicaWithCommittedLog(terms: number[]) {
  const net = raftCluster([1, 2, 3]);
  net.crash(1);
  const disk = net.disk(1);
  disk.records = [...entriesOfTerms(terms).map(encodeEntryRecord), encodeHardState({ term: terms[terms.length - 1] ?? 0, vote: undefined, commit: terms.length })];
  return net.restart(1);
}

describe("monitors", () => {
  it("LeaderPerTermMonitor flags two leaders in one term, and not one leader per term", () => {
    const monitor = new LeaderPerTermMonitor();
    monitor.observeReplica(fakeReplica({ id: 1, role: "leader", epoch: 1 }), context);
    monitor.observeReplica(fakeReplica({ id: 2, role: "leader", epoch: 2 }), context);
    monitor.observeReplica(fakeReplica({ id: 1, role: "leader", epoch: 1 }), context);
    expect(monitor.violations()).toEqual([]);
    monitor.observeReplica(fakeReplica({ id: 3, role: "leader", epoch: 2 }), context);
    expect(monitor.violations()).toMatchObject([{ invariant: "raft-leader-per-term", timeUs: 5 }]);
  });

  it("CommittedEntryMonitor flags two replicas that committed different terms at one index", () => {
    const monitor = new CommittedEntryMonitor();
    monitor.observeReplica(replicaWithCommittedLog([1, 1, 2]), context);
    monitor.observeReplica(replicaWithCommittedLog([1, 1]), context);
    expect(monitor.violations()).toEqual([]);
    monitor.observeReplica(replicaWithCommittedLog([1, 3, 3]), context);
    // Indexes 2 and 3 both differ from what was committed there first.
    expect(monitor.violations().map((v) => v.invariant)).toEqual(["raft-committed-entry-stable", "raft-committed-entry-stable"]);
  });

  it("ConfigurationMonitor flags a node that is a voter and a learner at once, and a TimeoutNow to a node the sender's log removes (issue 21)", () => {
    const monitor = new ConfigurationMonitor();
    const removing = replicaWithConfigEntry({ voters: [1, 2], outgoing: [], learners: [] });
    expect(removing.configuration().voters).toEqual([1, 2, 3]);
    monitor.observeReplica(removing, context);
    monitor.observeSend(1, 2, { type: "timeoutNow", term: 1 }, context);
    expect(monitor.violations()).toEqual([]);
    monitor.observeSend(1, 3, { type: "timeoutNow", term: 1 }, context);
    expect(monitor.violations()).toMatchObject([{ invariant: "raft-configuration", message: expect.stringContaining("sent TimeoutNow to 3") }]);
    const demoting = new ConfigurationMonitor();
    demoting.observeReplica(replicaWithConfigEntry({ voters: [1, 2], outgoing: [1, 2, 3], learners: [] }), context);
    expect(demoting.violations()).toEqual([]);
    demoting.observeReplica(replicaWithConfigEntry({ voters: [1, 2], outgoing: [1, 2, 3], learners: [3] }), context);
    expect(demoting.violations()).toMatchObject([{ invariant: "raft-configuration", message: expect.stringContaining("makes 3 a voter and a learner at once") }]);
  });
});
