// Membership changes (thesis §4): single-server changes, joint consensus,
// learners, and the rules around them.
import { firstClientId } from "@concord/core";
import { describe, expect, it } from "vitest";
import { entryKind, type Entry } from "@concord/raft";
import { planConfigChange } from "@concord/raft/internals";
import { encodeEntryRecord, encodeHardState } from "../src/records.ts";
import { type RaftCluster, raftCluster, elect, put, logEntry } from "./kit.ts";

const client = firstClientId;

function configEntries(net: RaftCluster, id: number) {
  return net
    .replica(id)
    .logEntries()
    .filter((e) => e.kind === entryKind.config)
    .map((e) => ({ voters: e.voters, outgoing: e.outgoing, learners: e.learners }));
}

describe("single-server changes (thesis §4.1)", () => {
  it("an added voter catches up and then counts towards the quorum", () => {
    const net = raftCluster([1, 2, 3, 4], undefined, 1, [1, 2, 3]);
    elect(net, 1);
    put(net, 1, "before", "1");
    expect(net.replica(1).proposeConfigChange([{ type: "addVoter", node: 4 }])).toMatchObject({ kind: "accepted", index: 3 });
    net.deliverAll();
    net.tickAndDeliver(2, { only: 1 });
    expect(net.replica(1).configuration().voters).toEqual([1, 2, 3, 4]);
    expect(net.value(4, "before")).toBe("1");
    expect(net.replica(4).configuration().voters).toEqual([1, 2, 3, 4]);
    // Four voters need three acknowledgements: with two down nothing commits.
    net.crash(2);
    net.crash(3);
    const commit = net.replica(1).status().commitIndex;
    put(net, 1, "after", "2");
    expect(net.replica(1).status().commitIndex).toBe(commit);
    net.restart(3);
    net.tickAndDeliver(3, { only: 1 });
    expect(net.replica(1).status().commitIndex).toBeGreaterThan(commit);
  });

  it("removing a node lets entries that wait on it commit", () => {
    const net = raftCluster([1, 2]);
    elect(net, 1);
    expect(net.replica(1).proposeConfigChange([{ type: "removeVoter", node: 2 }])).toMatchObject({ kind: "accepted", index: 2 });
    net.collect(1);
    net.request(1, { type: "put", key: "k", value: new Uint8Array([1]) }, { clientId: client, sequence: 1, stepOnly: true });
    net.collect(1);
    const first = net.queue.shift();
    expect(first?.message).toMatchObject({ type: "appendEntries", entries: [{ index: 2 }] });
    net.deliver(first!, { drain: false });
    net.collect(2);
    net.crash(2); // node 2 acknowledged the removal, then died before the put reached it
    net.deliverAll();
    expect(net.replica(1).configuration().voters).toEqual([1]);
    expect(net.replica(1).status().commitIndex).toBe(3);
    expect(net.repliesTo(client)).toEqual([{ sequence: 1, result: { type: "put" }, from: 1 }]);
  });

  it("a leader that removes itself steps down once the change commits, and the rest elect a leader", () => {
    const net = raftCluster([1, 2, 3]);
    elect(net, 1);
    net.replica(1).proposeConfigChange([{ type: "removeVoter", node: 1 }]);
    net.deliverAll();
    expect(net.replica(1).raftRole()).toBe("follower");
    expect(net.replica(1).configuration().voters).toEqual([2, 3]);
    net.tickAndDeliver(40);
    const leader = net.leader();
    expect(leader === undefined ? undefined : leader.id).not.toBe(1);
    expect([2, 3]).toContain(leader?.id);
    put(net, leader!.id, "k", "v");
    expect(net.repliesTo(client)).toHaveLength(1);
  });

  it("a removed leader hands leadership to a remaining voter with TimeoutNow before it steps down", () => {
    const net = raftCluster([1, 2, 3]);
    elect(net, 1);
    put(net, 1, "k", "v");
    net.replica(1).proposeConfigChange([{ type: "removeVoter", node: 1 }]);
    net.deliverAll();
    expect(net.delivered.get("timeoutNow")).toBe(1);
    expect(net.replica(1).raftRole()).toBe("follower");
    expect([2, 3]).toContain(net.leader()?.id);
    expect(net.leader()?.configuration().voters).toEqual([2, 3]);
  });

  it("a candidate with a stale configuration learns from a vote response's commit hint that a newer one is in force", () => {
    // Node 1 led, removed itself (config [2] at index 2, committed) and appended
    // one more entry; node 2 holds the change but never learned it committed.
    const net = raftCluster([1, 2]);
    const removal: Entry = { ...logEntry(2, 1, entryKind.config), voters: [2] };
    const common = [logEntry(1, 1), removal];
    const extra = logEntry(3, 1);
    for (const id of [1, 2]) net.crash(id);
    net.disk(1).records = [...[...common, extra].map(encodeEntryRecord), encodeHardState({ term: 1, vote: 1, commit: 2 })];
    net.disk(2).records = [...common.map(encodeEntryRecord), encodeHardState({ term: 1, vote: 1, commit: 1 })];
    net.restart(1);
    net.restart(2);
    expect(net.replica(1).configuration().voters).toEqual([2]);
    expect(net.replica(2).configuration().voters).toEqual([1, 2]);
    // Node 1's longer log refuses node 2's vote (§5.4.1), but its answer says index 2 (term 1) is committed.
    elect(net, 2);
    expect(net.replica(2).configuration().voters).toEqual([2]);
    expect(net.replica(2).raftRole()).toBe("leader");
  });

  it("a removed node's vote requests are rejected and counted, and the leader keeps its term", () => {
    const net = raftCluster([1, 2, 3]);
    elect(net, 1);
    net.isolate(3);
    net.replica(1).proposeConfigChange([{ type: "removeVoter", node: 3 }]);
    net.deliverAll();
    net.tickAndDeliver(2, { only: 1 });
    expect(net.replica(2).configuration().voters).toEqual([1, 2]);
    net.heal();
    for (let i = 0; i < 60; i++) net.tickAndDeliver();
    expect(net.replica(1).status()).toMatchObject({ role: "leader", epoch: 1 });
    expect(net.replica(3).status().epoch).toBeGreaterThan(1);
    expect(net.replica(1).rejections().total() + net.replica(2).rejections().total()).toBeGreaterThan(0);
    expect([...net.replica(1).rejections().byReason().keys()].every((reason) => reason.includes("non-member"))).toBe(true);
  });

  it("a change is refused until the leader has applied an entry of its own term, and while another is pending", () => {
    const net = raftCluster([1, 2, 3]);
    net.isolate(1);
    net.replica(1).campaign();
    net.replica(1).step(2, { type: "voteResponse", term: 1, reject: false, preVote: false, commit: 0, commitTerm: 0 });
    expect(net.replica(1).raftRole()).toBe("leader");
    expect(net.replica(1).proposeConfigChange([{ type: "removeVoter", node: 3 }])).toMatchObject({ kind: "rejected", rejection: { kind: "dropped" } });
    net.heal();
    net.tickAndDeliver(2, { only: 1 });
    expect(net.replica(1).proposeConfigChange([{ type: "removeVoter", node: 3 }])).toMatchObject({ kind: "accepted" });
    expect(net.replica(1).proposeConfigChange([{ type: "removeVoter", node: 2 }])).toMatchObject({ kind: "rejected", rejection: { kind: "dropped" } });
    expect(net.replica(2).proposeConfigChange([{ type: "removeVoter", node: 2 }])).toMatchObject({ kind: "rejected", rejection: { kind: "notLeader" } });
  });
});

describe("joint consensus (thesis §4.3)", () => {
  it("replacing two voters at once goes through C_old,new and the leader leaves it on its own", () => {
    const net = raftCluster([1, 2, 3, 4, 5], undefined, 1, [1, 2, 3]);
    elect(net, 1);
    const result = net.replica(1).proposeConfigChange([
      { type: "addVoter", node: 4 },
      { type: "addVoter", node: 5 },
      { type: "removeVoter", node: 3 },
    ]);
    expect(result).toMatchObject({ kind: "accepted" });
    net.deliverAll();
    net.tickAndDeliver(3, { only: 1 });
    expect(configEntries(net, 1)).toEqual([
      { voters: [1, 2, 4, 5], outgoing: [1, 2, 3], learners: [] },
      { voters: [1, 2, 4, 5], outgoing: [], learners: [] },
    ]);
    expect(net.replica(1).configuration()).toEqual({ voters: [1, 2, 4, 5], outgoing: [], learners: [] });
    expect(net.replica(5).configuration().voters).toEqual([1, 2, 4, 5]);
    put(net, 1, "k", "v");
    expect(net.repliesTo(client)).toHaveLength(1);
  });

  it("while joint, an entry needs a majority of both the old and the new voters", () => {
    const net = raftCluster([1, 2, 3, 4, 5], undefined, 1, [1, 2, 3]);
    elect(net, 1);
    // Old voters 1, 2 (of 1, 2, 3) hold; new voters 4, 5 (of 1, 4, 5) are cut off: no majority of the new half.
    net.replica(1).proposeConfigChange([{ type: "addVoter", node: 4 }, { type: "addVoter", node: 5 }, { type: "removeVoter", node: 2 }, { type: "removeVoter", node: 3 }]);
    net.isolate(4);
    net.isolate(5);
    net.deliverAll();
    expect(net.replica(1).configuration().outgoing).toEqual([1, 2, 3]);
    const commit = net.replica(1).status().commitIndex;
    put(net, 1, "k", "v");
    net.tickAndDeliver(3, { only: 1 });
    expect(net.replica(1).status().commitIndex).toBe(commit);
    net.heal();
    net.tickAndDeliver(5, { only: 1 });
    expect(net.replica(1).configuration()).toEqual({ voters: [1, 4, 5], outgoing: [], learners: [] });
    expect(net.repliesTo(client)).toHaveLength(1);
  });

  it("planConfigChange refuses a change while joint, an empty voter set, and a no-op", () => {
    const joint = { voters: [1, 2], outgoing: [1, 2, 3], learners: [] };
    expect(planConfigChange(joint, [{ type: "addVoter", node: 4 }], false)).toMatchObject({ kind: "invalid" });
    const simple = { voters: [1], outgoing: [], learners: [] };
    expect(planConfigChange(simple, [{ type: "removeVoter", node: 1 }], false)).toMatchObject({ kind: "invalid" });
    expect(planConfigChange(simple, [{ type: "addVoter", node: 1 }], false)).toMatchObject({ kind: "invalid" });
    expect(planConfigChange(simple, [{ type: "addVoter", node: 2 }], true)).toEqual({ kind: "ok", config: { voters: [1, 2], outgoing: [1], learners: [] } });
    expect(planConfigChange(simple, [{ type: "addVoter", node: firstClientId }], false)).toMatchObject({ kind: "invalid" });
    expect(planConfigChange(simple, [{ type: "addLearner", node: -1 }], false)).toMatchObject({ kind: "invalid" });
  });

  it("a demotion is refused, also as a removal and a learner addition in one change (the invariant of cluster-config.ts; issue 21)", () => {
    const three = { voters: [1, 2, 3], outgoing: [], learners: [] };
    for (const joint of [false, true]) {
      expect(planConfigChange(three, [{ type: "removeVoter", node: 3 }, { type: "addLearner", node: 3 }], joint)).toMatchObject({ kind: "invalid" });
      expect(planConfigChange(three, [{ type: "addLearner", node: 3 }, { type: "removeVoter", node: 3 }], joint)).toMatchObject({ kind: "invalid" });
    }
    expect(planConfigChange(three, [{ type: "removeVoter", node: 3 }], true)).toEqual({ kind: "ok", config: { voters: [1, 2], outgoing: [1, 2, 3], learners: [] } });
    const net = raftCluster([1, 2, 3]);
    elect(net, 1);
    put(net, 1, "k", "v");
    expect(net.replica(1).proposeConfigChange([{ type: "removeVoter", node: 3 }, { type: "addLearner", node: 3 }], { joint: true })).toMatchObject({ kind: "rejected" });
  });
});

describe("learners", () => {
  it("a learner receives the log but neither votes nor counts towards commitment", () => {
    const net = raftCluster([1, 2, 3, 4], undefined, 1, [1, 2, 3]);
    elect(net, 1);
    net.replica(1).proposeConfigChange([{ type: "addLearner", node: 4 }]);
    net.deliverAll();
    put(net, 1, "k", "v");
    net.tickAndDeliver(2, { only: 1 });
    expect(net.value(4, "k")).toBe("v");
    expect(net.replica(4).status().role).toBe("learner");
    net.crash(2);
    net.crash(3);
    const commit = net.replica(1).status().commitIndex;
    put(net, 1, "k", "w");
    expect(net.replica(1).status().commitIndex).toBe(commit);
    for (let i = 0; i < 50; i++) net.tickAndDeliver(1, { only: 4 });
    expect(net.replica(4).status().role).toBe("learner");
    expect(net.replica(4).status().epoch).toBe(1);
  });

  it("a learner promoted to voter counts towards the quorum", () => {
    const net = raftCluster([1, 2, 3, 4], undefined, 1, [1, 2, 3]);
    elect(net, 1);
    net.replica(1).proposeConfigChange([{ type: "addLearner", node: 4 }]);
    net.deliverAll();
    net.tickAndDeliver(2, { only: 1 });
    expect(net.replica(1).proposeConfigChange([{ type: "addVoter", node: 4 }])).toMatchObject({ kind: "accepted" });
    net.deliverAll();
    net.tickAndDeliver(2, { only: 1 });
    expect(net.replica(1).configuration()).toEqual({ voters: [1, 2, 3, 4], outgoing: [], learners: [] });
    net.crash(3);
    put(net, 1, "k", "v");
    expect(net.repliesTo(client)).toHaveLength(1);
  });
});

describe("a single-voter cluster", () => {
  it("applies its own configuration change once its own disk holds it, and grows to two voters", () => {
    const net = raftCluster([1, 2], undefined, 1, [1]);
    elect(net, 1);
    expect(net.replica(1).status()).toMatchObject({ role: "leader", commitIndex: 1, appliedIndex: 1 });
    expect(net.replica(1).proposeConfigChange([{ type: "addVoter", node: 2 }])).toMatchObject({ kind: "accepted", index: 2 });
    // The lone voter's copy is the whole quorum, and it counts only once synced.
    expect(net.replica(1).status().commitIndex).toBe(1);
    net.persistReady(1);
    expect(net.replica(1).status().commitIndex).toBe(1);
    net.syncReady(1);
    net.sendReady(1);
    expect(net.replica(1).status().commitIndex).toBe(2);
    expect(net.replica(1).configuration().voters).toEqual([1, 2]);
    net.deliverAll();
    net.tickAndDeliver(2, { only: 1 });
    expect(net.replica(2).configuration().voters).toEqual([1, 2]);
    put(net, 1, "k", "v");
    expect(net.value(2, "k")).toBeUndefined(); // the commit index reaches node 2 with the next round
    net.tickAndDeliver(2, { only: 1 });
    expect(net.value(2, "k")).toBe("v");
  });
});
