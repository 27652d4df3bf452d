// Leadership transfer (thesis §3.10).
import { firstClientId } from "@concord/core";
import { describe, expect, it } from "vitest";
import { raftCluster, elect, put } from "./kit.ts";

const options = { preVote: true, checkQuorum: true };

describe("leadership transfer (thesis §3.10)", () => {
  it("an up-to-date follower receives TimeoutNow and wins the next term, even inside the old leader's lease", () => {
    const net = raftCluster([1, 2, 3], options);
    elect(net, 1);
    put(net, 1, "k", "v");
    expect(net.replica(1).transferLeadership(2)).toEqual({ kind: "started" });
    net.deliverAll();
    expect(net.replica(2).status()).toMatchObject({ role: "leader", epoch: 2 });
    expect(net.replica(1).status()).toMatchObject({ role: "follower", leader: 2 });
    expect(net.delivered.get("timeoutNow")).toBe(1);
  });

  it("a slow follower is caught up before it is told to campaign", () => {
    const net = raftCluster([1, 2, 3], options);
    elect(net, 1);
    net.isolate(3);
    for (let i = 0; i < 5; i++) put(net, 1, `k${i}`, `v${i}`);
    expect(net.replica(3).lastIndex()).toBe(1);
    net.heal();
    net.queue = [];
    expect(net.replica(1).transferLeadership(3)).toEqual({ kind: "started" });
    net.collect(1);
    expect(net.queue.map((e) => [e.to, e.message.type])).toEqual([[3, "appendEntries"]]);
    net.deliverAll();
    expect(net.replica(3).raftRole()).toBe("leader");
    expect(net.replica(3).lastIndex()).toBeGreaterThanOrEqual(6);
    expect(net.value(3, "k4")).toBe("v4");
  });

  it("proposals are refused while a transfer runs", () => {
    const net = raftCluster([1, 2, 3], options);
    elect(net, 1);
    net.isolate(3);
    net.replica(1).transferLeadership(3);
    const before = net.replica(1).lastIndex();
    net.request(1, { type: "put", key: "k", value: new Uint8Array(1) }, { clientId: firstClientId, sequence: 1, stepOnly: true });
    net.deliverAll();
    expect(net.replica(1).lastIndex()).toBe(before);
    expect(net.replica(1).proposeConfigChange([{ type: "addLearner", node: 9 }])).toMatchObject({ kind: "rejected", rejection: { kind: "dropped" } });
  });

  it("a transfer to an unreachable follower times out and the leader takes proposals again", () => {
    const net = raftCluster([1, 2, 3], { ...options, transferTimeoutTicks: 5 });
    elect(net, 1);
    net.isolate(3);
    net.replica(1).transferLeadership(3);
    net.tickAndDeliver(4, { only: 1 });
    expect(net.replica(1).leadershipTransferee()).toBe(3);
    net.tickAndDeliver(1, { only: 1 });
    expect(net.replica(1).leadershipTransferee()).toBeUndefined();
    expect(net.replica(1).raftRole()).toBe("leader");
    put(net, 1, "k", "v");
    expect(net.repliesTo(firstClientId)).toHaveLength(1);
  });

  it("a transfer is refused by a follower, for the leader itself and for a non-voter", () => {
    const net = raftCluster([1, 2, 3], options);
    elect(net, 1);
    expect(net.replica(2).transferLeadership(3)).toMatchObject({ kind: "rejected", rejection: { kind: "notLeader", leaderHint: 1 } });
    expect(net.replica(1).transferLeadership(1)).toMatchObject({ kind: "rejected" });
    expect(net.replica(1).transferLeadership(7)).toMatchObject({ kind: "rejected" });
  });

  it("a target whose removal commits in the step that brings it up to date is not told to campaign (issue 21)", () => {
    const net = raftCluster([1, 2, 3], options);
    elect(net, 1);
    put(net, 1, "k", "v");
    // The removal of node 3 reaches neither follower, and the transfer to node 3 waits for it to catch up.
    net.drop = (e) => e.from === 1 && e.message.type === "appendEntries";
    expect(net.replica(1).proposeConfigChange([{ type: "removeVoter", node: 3 }])).toMatchObject({ kind: "accepted" });
    net.deliverAll();
    expect(net.replica(1).transferLeadership(3)).toEqual({ kind: "started" });
    net.deliverAll();
    // Only node 3 gets appends now: its acknowledgement commits its own removal and makes it up to date, in one step.
    net.drop = (e) => e.from === 1 && e.to === 2 && e.message.type === "appendEntries";
    net.tickAndDeliver(3, { only: 1 });
    expect(net.replica(1).configuration().voters).toEqual([1, 2]);
    expect(net.delivered.get("timeoutNow") ?? 0).toBe(0);
    expect(net.replica(1).leadershipTransferee()).toBeUndefined();
    expect(net.replica(3).raftRole()).not.toBe("leader");
    expect(net.replica(1).raftRole()).toBe("leader");
  });

  it("a target that a joint configuration keeps only among the outgoing voters is not told to campaign when that configuration commits (issue 21)", () => {
    const net = raftCluster([1, 2, 3], options);
    elect(net, 1);
    put(net, 1, "k", "v");
    // The joint removal of node 3 reaches neither follower; the transfer to node 3 waits for it to catch up.
    net.drop = (e) => e.from === 1 && e.message.type === "appendEntries";
    expect(net.replica(1).proposeConfigChange([{ type: "removeVoter", node: 3 }], { joint: true })).toMatchObject({ kind: "accepted" });
    net.deliverAll();
    expect(net.replica(1).transferLeadership(3)).toEqual({ kind: "started" });
    net.deliverAll();
    // Only node 3 gets appends now: its acknowledgement commits the joint configuration (the configuration in force,
    // {1, 2, 3}, counts it) and brings it up to date in one step; leaving the joint configuration is then automatic.
    net.drop = (e) => e.from === 1 && e.to === 2 && e.message.type === "appendEntries";
    net.tickAndDeliver(3, { only: 1 });
    expect(net.replica(1).configuration()).toMatchObject({ voters: [1, 2], outgoing: [1, 2, 3] });
    expect(net.delivered.get("timeoutNow") ?? 0).toBe(0);
    expect(net.replica(1).raftRole()).toBe("leader");
  });
});
