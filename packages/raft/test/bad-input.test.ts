// Bad input: a message with an impossible field is rejected, counted and never applied.
import { firstClientId } from "@concord/core";
import { describe, expect, it } from "vitest";
import type { RaftMessage } from "@concord/raft";
import { raftCluster, elect, logEntry as entry, put } from "./kit.ts";

const appendBase = { type: "appendEntries", term: 2, prevLogIndex: 2, prevLogTerm: 1, commit: 0, readContext: 0 } as const;

const cases: [string, number, RaftMessage][] = [
  ["a negative prevLogIndex", 1, { ...appendBase, prevLogIndex: -1, entries: [] }],
  ["a fractional term", 1, { ...appendBase, term: 2.5, entries: [] }],
  ["entries that do not follow prevLogIndex", 1, { ...appendBase, entries: [entry(4, 2)] }],
  ["an entry term above the message's term", 1, { ...appendBase, entries: [entry(3, 7)] }],
  ["entry terms that go down", 1, { ...appendBase, entries: [entry(3, 2), entry(4, 1)] }],
  ["an entry of unknown kind", 1, { ...appendBase, entries: [entry(3, 2, 9)] }],
  ["a config entry without voters", 1, { ...appendBase, entries: [entry(3, 2, 2)] }],
  ["a vote request from a node that is not a member", 7, { type: "requestVote", term: 9, lastLogIndex: 9, lastLogTerm: 9, preVote: false, transfer: false }],
  ["a heartbeat of a higher term from a node that is not a member (thesis §4.2.3)", 7, { type: "heartbeat", term: 9, commit: 0, readContext: 0 }],
  ["an append of a higher term from a node that is not a member (thesis §4.2.3)", 7, { ...appendBase, term: 9, entries: [] }],
  ["a heartbeat from a second leader of the follower's current term (Election Safety, §5.2)", 3, { type: "heartbeat", term: 1, commit: 0, readContext: 0 }],
  ["an append from a second leader of the follower's current term (Election Safety, §5.2)", 3, { ...appendBase, term: 1, prevLogTerm: 1, entries: [entry(3, 1)] }],
  ["a vote request whose last log term exceeds its term", 3, { type: "requestVote", term: 2, lastLogIndex: 1, lastLogTerm: 5, preVote: false, transfer: false }],
  ["a peer message from a client id", firstClientId, { type: "heartbeat", term: 9, commit: 0, readContext: 0 }],
  ["a client request from a replica", 3, { type: "clientRequest", clientId: 3, session: 3, sequence: 1, command: new Uint8Array(0), readOnly: false, readLevel: 0 }],
  ["a client request for another client's session", firstClientId, { type: "clientRequest", clientId: firstClientId + 1, session: 1, sequence: 1, command: new Uint8Array(0), readOnly: false, readLevel: 0 }],
  ["a client request without a session key", firstClientId, { type: "clientRequest", clientId: firstClientId, session: 0, sequence: 1, command: new Uint8Array(0), readOnly: false, readLevel: 0 }],
  ["a client request whose session key is past 2^53 - 1", firstClientId, { type: "clientRequest", clientId: firstClientId, session: 2 ** 53, sequence: 1, command: new Uint8Array(0), readOnly: false, readLevel: 0 }],
  ["a client request whose sequence is past 2^53 - 1", firstClientId, { type: "clientRequest", clientId: firstClientId, session: 1, sequence: 2 ** 53, command: new Uint8Array(0), readOnly: false, readLevel: 0 }],
  ["a reply sent to a replica", firstClientId, { type: "clientReply", session: 1, sequence: 1, result: new Uint8Array(0) }],
  [
    "a snapshot chunk that runs past the snapshot's size",
    1,
    { type: "installSnapshot", term: 2, snapshotIndex: 5, snapshotTerm: 1, voters: [1, 2, 3], outgoing: [], learners: [], offset: 4, data: new Uint8Array(8), done: true, totalBytes: 10 },
  ],
  ["a negative heartbeat commit", 1, { type: "heartbeat", term: 2, commit: -4, readContext: 0 }],
];

describe("impossible messages (bad input)", () => {
  it.each(cases)("%s is rejected, counted and changes nothing", (_name, from, message) => {
    const net = raftCluster([1, 2, 3]);
    elect(net, 1);
    put(net, 1, "k", "v");
    net.collectAll();
    net.queue = [];
    const replica = net.replica(2);
    const before = { hard: replica.hardState(), log: replica.logEntries(), status: replica.status() };
    replica.step(from, message);
    expect(replica.rejections().total()).toBe(1);
    expect(replica.hardState()).toEqual(before.hard);
    expect(replica.logEntries()).toEqual(before.log);
    expect(replica.status()).toEqual(before.status);
    net.collect(2);
    expect(net.queue).toEqual([]);
  });

  it("an acknowledgement of an index beyond the leader's log is rejected and counted, not trusted", () => {
    // Found by the simulator's generic 'corrupt' Byzantine strategy: a forged ack made the leader
    // look for a snapshot below an index it never had, and stop on an assertion.
    const net = raftCluster([1, 2, 3]);
    elect(net, 1);
    put(net, 1, "k", "v");
    net.collectAll();
    net.queue = [];
    const leader = net.replica(1);
    const term = leader.status().epoch;
    const before = leader.status();
    leader.step(2, { type: "appendResponse", term, index: 999, reject: false, rejectHint: 0, logTerm: 0, readContext: 0 });
    expect(leader.rejections().total()).toBe(1);
    expect(leader.status()).toEqual(before);
    put(net, 1, "k", "w"); // and the leader still works
    expect(leader.raftRole()).toBe("leader");
  });

  it("a follower whose leader has been silent for an election timeout accepts a higher-term leader outside its configuration, which may be stale (thesis §4.2.3)", () => {
    const net = raftCluster([1, 2, 3]);
    elect(net, 1);
    net.collectAll();
    net.queue = [];
    const follower = net.replica(2);
    const electionTimeoutTicks = 10; // the default
    follower.step(7, { type: "heartbeat", term: 9, commit: 0, readContext: 0 });
    expect(follower.rejections().total()).toBe(1);
    net.isolate(2);
    for (let tick = 0; tick < electionTimeoutTicks; tick++) net.tickAndDeliver(1, { only: 2 });
    expect(follower.status().epoch).toBe(1); // pre-vote keeps the term while it cannot win
    follower.step(7, { type: "heartbeat", term: 9, commit: 0, readContext: 0 });
    expect(follower.rejections().total()).toBe(1);
    expect(follower.status()).toMatchObject({ epoch: 9, leader: 7, role: "follower" });
  });

  it("a second leader claiming the leader's own term is rejected and counted (Election Safety, §5.2)", () => {
    const net = raftCluster([1, 2, 3]);
    elect(net, 1);
    net.replica(1).step(2, { type: "heartbeat", term: 1, commit: 0, readContext: 0 });
    expect(net.replica(1).rejections().total()).toBe(1);
    expect(net.replica(1).raftRole()).toBe("leader");
  });
});
