// Golden traces, after etcd-io/raft's testdata/*.txt: a scenario's every
// delivered message, as text, compared with a file under test/testdata. A
// change of behaviour shows up as a readable diff. Regenerate on purpose with
// CONCORD_UPDATE_GOLDEN=1.
import { join } from "node:path";
import { firstClientId } from "@concord/core";
import { goldenText } from "@concord/testkit";
import { describe, expect, it } from "vitest";
import type { RaftMessage } from "@concord/raft";
import { type RaftCluster, raftCluster, elect, put, terms, seedLog } from "./kit.ts";

function describeMessage(message: RaftMessage): string {
  switch (message.type) {
    case "appendEntries":
      return `appendEntries term=${message.term} prev=(${message.prevLogIndex},${message.prevLogTerm}) entries=[${message.entries.map((e) => `${e.index}@${e.term}`).join(" ")}] commit=${message.commit} ctx=${message.readContext}`;
    case "appendResponse":
      return `appendResponse term=${message.term} index=${message.index}${message.reject ? ` reject hint=(${message.rejectHint},${message.logTerm})` : ""} ctx=${message.readContext}`;
    case "heartbeat":
      return `heartbeat term=${message.term} commit=${message.commit} ctx=${message.readContext}`;
    case "heartbeatResponse":
      return `heartbeatResponse term=${message.term} ctx=${message.readContext}`;
    case "requestVote":
      return `requestVote term=${message.term} last=(${message.lastLogIndex},${message.lastLogTerm})${message.preVote ? " pre" : ""}${message.transfer ? " transfer" : ""}`;
    case "voteResponse":
      return `voteResponse term=${message.term} ${message.reject ? "reject" : "grant"}${message.preVote ? " pre" : ""} commit=(${message.commit},${message.commitTerm})`;
    case "installSnapshot":
      return `installSnapshot term=${message.term} snapshot=(${message.snapshotIndex},${message.snapshotTerm}) bytes=[${message.offset},${message.offset + message.data.length})/${message.totalBytes}`;
    case "snapshotResponse":
      return `snapshotResponse term=${message.term} snapshot=${message.snapshotIndex} offset=${message.offset}`;
    case "timeoutNow":
      return `timeoutNow term=${message.term}`;
    case "clientRequest":
      return `clientRequest seq=${message.sequence}${message.readOnly ? " read" : ""}`;
    case "clientReply":
      return `clientReply seq=${message.sequence}`;
    case "notLeader":
      return `notLeader seq=${message.sequence} hint=${message.hasLeaderHint ? message.leaderHint : "none"}`;
  }
}

/** recordTrace writes every message the cluster delivers, or finds its destination down, to the trace; a message a cut link dropped never arrived. */
function recordTrace(net: RaftCluster, lines: string[]): void {
  net.onDelivery = (envelope, fate) => {
    if (fate === "dropped") return;
    const to = envelope.to >= firstClientId ? `c${envelope.to - firstClientId}` : String(envelope.to);
    lines.push(`  ${envelope.from} -> ${to}: ${describeMessage(envelope.message)}`);
  };
}

function compareWithGolden(name: string, lines: readonly string[]): void {
  const { actual, golden } = goldenText(join(import.meta.dirname, "testdata", `${name}.txt`), lines);
  expect(actual).toBe(golden);
}

describe("golden traces", () => {
  it("pre-vote election, a write, a ReadIndex read and an idle heartbeat on three nodes", () => {
    const net = raftCluster([1, 2, 3], { preVote: true, checkQuorum: true });
    const lines: string[] = [];
    recordTrace(net, lines);
    lines.push("campaign 1");
    elect(net, 1);
    lines.push("put k=v via 1");
    put(net, 1, "k", "v");
    lines.push("get k via 1");
    net.request(1, { type: "get", key: "k" }, { clientId: firstClientId, sequence: 2, stepOnly: true });
    net.deliverAll();
    lines.push("tick 1 twice");
    net.tickAndDeliver(2, { only: 1 });
    compareWithGolden("election-write-read", lines);
  });

  it("joint consensus: C_old,new, then C_new proposed by the leader on its own", () => {
    const net = raftCluster([1, 2, 3, 4], { preVote: false, checkQuorum: false }, 1, [1, 2, 3]);
    elect(net, 1);
    const lines: string[] = [];
    recordTrace(net, lines);
    lines.push("propose add 4, remove 3 via 1");
    net.replica(1).proposeConfigChange([
      { type: "addVoter", node: 4 },
      { type: "removeVoter", node: 3 },
    ]);
    net.deliverAll();
    lines.push("tick 1 three times");
    net.tickAndDeliver(3, { only: 1 });
    lines.push(`config at 1: ${JSON.stringify(net.replica(1).configuration())}`);
    compareWithGolden("joint-consensus", lines);
  });

  it("leadership transfer to a lagging follower: catch up, then TimeoutNow", () => {
    const net = raftCluster([1, 2, 3], { preVote: true, checkQuorum: true });
    elect(net, 1);
    net.isolate(3);
    put(net, 1, "k", "v");
    net.heal();
    const lines: string[] = [];
    recordTrace(net, lines);
    lines.push("transfer 1 -> 3");
    net.replica(1).transferLeadership(3);
    net.deliverAll();
    lines.push(`leader: ${net.leader()?.id} term ${net.leader()?.status().epoch}`);
    compareWithGolden("transfer", lines);
  });

  it("a leader repairs Figure 7's follower (f) with one hinted retry", () => {
    const net = raftCluster([1, 2, 3]);
    seedLog(net, 1, [1, 1, 1, 4, 4, 5, 5, 6, 6, 6], 7);
    seedLog(net, 2, [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3], 7);
    seedLog(net, 3, [], 7);
    const lines: string[] = [];
    recordTrace(net, lines);
    lines.push("campaign 1");
    elect(net, 1);
    lines.push(`log 2: ${terms(net, 2).join(" ")}`);
    compareWithGolden("figure7-f", lines);
  });
});
