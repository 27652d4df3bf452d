// Unit tests of the small pieces: quorum arithmetic, the log, progress and inflights, options, codec, client.
import { ConfigError, createRng, firstClientId } from "@concord/core";
import { describe, expect, it } from "vitest";
import { createRaftClient, raft, raftCodec, raftOptionsSchema, type RaftMessage } from "@concord/raft";
import { Inflights, Progress, jointIndex, jointVote, majorityIndex, majorityVote } from "@concord/raft/internals";
import { RaftLog } from "../src/log.ts";
import { ReadIndexQueue } from "../src/read-index.ts";
import { entriesOfTerms, noCrypto } from "./kit.ts";

describe("quorum arithmetic (§5.2, §5.4.2, thesis §4.3)", () => {
  it("majorityIndex is the highest index a majority has reached", () => {
    const match = new Map([[1, 5], [2, 3], [3, 9], [4, 1], [5, 7]]);
    expect(majorityIndex([1, 2, 3, 4, 5], (id) => match.get(id) ?? 0)).toBe(5);
    expect(majorityIndex([1, 2, 3], (id) => match.get(id) ?? 0)).toBe(5);
    expect(majorityIndex([1, 2], (id) => match.get(id) ?? 0)).toBe(3);
    expect(majorityIndex([3], (id) => match.get(id) ?? 0)).toBe(9);
    expect(majorityIndex([], () => 0)).toBe(Number.POSITIVE_INFINITY);
  });

  it("majorityIndex is the (count - majority + 1)-th highest index for any indexes of 1 to 40 voters (issue 18: sorted in place up to 16)", () => {
    const rng = createRng(18);
    for (let trial = 0; trial < 3000; trial++) {
      const count = 1 + rng.nextInt(trial % 10 === 0 ? 40 : 9);
      const voters = Array.from({ length: count }, (_, i) => i + 1);
      const match = voters.map(() => (rng.nextInt(4) === 0 ? 2 ** 40 + rng.nextInt(5) : rng.nextInt(8)));
      if (rng.nextInt(50) === 0) match[rng.nextInt(count)] = Number.NaN;
      const expected = Float64Array.from(match).sort()[count - (Math.floor(count / 2) + 1)];
      expect(majorityIndex(voters, (id) => match[id - 1] as number)).toBe(expected);
    }
  });

  it("jointIndex needs both halves of a joint configuration", () => {
    const match = new Map([[1, 9], [2, 9], [3, 1], [4, 1], [5, 1]]);
    expect(jointIndex([1, 4, 5], [1, 2, 3], (id) => match.get(id) ?? 0)).toBe(1);
    expect(jointIndex([1, 2, 5], [1, 2, 3], (id) => match.get(id) ?? 0)).toBe(9);
    expect(jointIndex([1, 2, 5], [], (id) => match.get(id) ?? 0)).toBe(9);
  });

  it("majorityVote is won, lost or pending", () => {
    expect(majorityVote([1, 2, 3], new Map([[1, true], [2, true]]))).toBe("won");
    expect(majorityVote([1, 2, 3], new Map([[1, true], [2, false]]))).toBe("pending");
    expect(majorityVote([1, 2, 3], new Map([[1, true], [2, false], [3, false]]))).toBe("lost");
    expect(majorityVote([1, 2, 3, 4], new Map([[1, true], [2, true]]))).toBe("pending");
    expect(jointVote([1, 2, 3], [3, 4, 5], new Map([[1, true], [2, true], [4, false], [5, false]]))).toBe("lost");
    expect(jointVote([1, 2, 3], [3, 4, 5], new Map([[1, true], [2, true], [3, true]]))).toBe("pending");
    expect(jointVote([1, 2, 3], [3, 4, 5], new Map([[1, true], [3, true], [4, true]]))).toBe("won");
  });
});

describe("RaftLog", () => {
  function logOf(terms: number[]): RaftLog {
    const log = new RaftLog();
    log.append(entriesOfTerms(terms));
    return log;
  }

  it("findConflictByTerm returns the last index whose term is at most the given term", () => {
    const log = logOf([1, 1, 1, 4, 4, 5, 5, 6, 6, 6]);
    expect(log.findConflictByTerm(10, 3)).toEqual({ index: 3, term: 1 });
    expect(log.findConflictByTerm(10, 5)).toEqual({ index: 7, term: 5 });
    expect(log.findConflictByTerm(12, 9)).toEqual({ index: 10, term: 6 });
    expect(log.findConflictByTerm(10, 0)).toEqual({ index: 0, term: 0 });
  });

  it("compaction keeps terms at the snapshot boundary and refuses slices into it", () => {
    const log = logOf([1, 1, 2, 2, 3]);
    log.commitTo(4);
    log.compact(3);
    expect(log.firstIndex()).toBe(4);
    expect(log.term(3)).toBe(2);
    expect(log.term(2)).toBeUndefined();
    expect(log.slice(4, 10, 1 << 20).map((e) => e.index)).toEqual([4, 5]);
    expect(() => log.slice(3, 10, 1 << 20)).toThrow(/compacted/);
  });

  it("a conflict with a committed entry is an assertion, not a silent overwrite", () => {
    const log = logOf([1, 1, 2]);
    log.commitTo(3);
    expect(() => log.maybeAppend(1, 1, entriesOfTerms([1, 3], 2))).toThrow(/conflicts with a committed entry/);
  });
});

describe("Progress and Inflights (flow control)", () => {
  it("inflights free every append up to an acknowledged index", () => {
    const inflights = new Inflights(3);
    inflights.add(2);
    inflights.add(5);
    inflights.add(9);
    expect(inflights.full()).toBe(true);
    inflights.freeUpTo(5);
    expect(inflights.count()).toBe(1);
    expect(() => inflights.add(8)).toThrow(/increase/);
  });

  it("a probing follower pauses after one append and backs off to the hint on rejection", () => {
    const progress = new Progress(2, 10, 4);
    expect(progress.isPaused()).toBe(false);
    progress.probeSent = true;
    expect(progress.isPaused()).toBe(true);
    expect(progress.maybeDecreaseTo(7, 3)).toBe(false); // stale: next - 1 is 10
    expect(progress.maybeDecreaseTo(10, 3)).toBe(true);
    expect(progress.next).toBe(4);
    expect(progress.isPaused()).toBe(false);
  });

  it("a replicating follower falls back to just after its match on rejection", () => {
    const progress = new Progress(2, 10, 4);
    progress.maybeUpdate(6);
    progress.becomeReplicate();
    progress.optimisticUpdate(12);
    expect(progress.maybeDecreaseTo(5, 0)).toBe(false);
    expect(progress.maybeDecreaseTo(11, 0)).toBe(true);
    expect(progress.next).toBe(7);
  });
});

describe("ReadIndexQueue (thesis §6.4)", () => {
  const request = (sequence: number) => ({ type: "clientRequest" as const, clientId: firstClientId, session: 1, sequence, command: new Uint8Array(0), readOnly: true, readLevel: 0 });

  it("a read is confirmed by an echo of its own context or a later one, and served once applied", () => {
    const queue = new ReadIndexQueue(10, false);
    queue.startRound(request(1), 5, 0, 0);
    queue.startRound(request(2), 7, 0, 0);
    expect(queue.roundNeeded).toBe(true);
    queue.confirm(1);
    expect(queue.takeServable(4)).toEqual([]);
    expect(queue.takeServable(9).map((r) => r.request.sequence)).toEqual([1]);
    queue.confirm(2);
    expect(queue.takeServable(9).map((r) => r.request.sequence)).toEqual([2]);
    expect(queue.hasPending()).toBe(false);
  });

  it("contexts keep growing across a reset, so a stale echo never confirms a new read", () => {
    const queue = new ReadIndexQueue(10, false);
    queue.startRound(request(1), 1, 0, 0);
    queue.reset();
    queue.startRound(request(2), 1, 0, 0);
    queue.confirm(1);
    expect(queue.takeServable(5)).toEqual([]);
  });

  it("a lease counts from the tick its confirmed context was created", () => {
    const queue = new ReadIndexQueue(10, true);
    queue.newContext(3, 0);
    queue.newContext(8, 0);
    expect(queue.confirmedSinceTick(0)).toBeUndefined();
    expect(queue.confirmedSinceTick(1)).toBe(3);
    expect(queue.confirmedSinceTick(2)).toBe(8);
  });

  it("reads past the limit are refused", () => {
    const queue = new ReadIndexQueue(1, false);
    queue.startRound(request(1), 1, 0, 0);
    expect(queue.full()).toBe(true);
    expect(queue.holdUntilCommit(request(2))).toBe(true);
    expect(queue.holdUntilCommit(request(3))).toBe(false);
  });
});

describe("options", () => {
  it("defaults suit a 10 ms tick", () => {
    const options = raftOptionsSchema.parse({});
    expect(options).toMatchObject({ electionTimeoutTicks: 10, heartbeatTicks: 1, preVote: true, checkQuorum: true, leaseReads: false });
  });

  it.each([
    [{ heartbeatTicks: 10 }, "heartbeatTicks"],
    [{ electionTimeoutTicks: 0 }, "electionTimeoutTicks"],
    [{ leaseReads: true, checkQuorum: false }, "leaseReads"],
    [{ inflightMessagesMax: 0 }, "inflightMessagesMax"],
    [{ clientRetryTicks: 50, clientGiveUpTicks: 10 }, "clientGiveUpTicks"],
    [{ unknownOption: 1 }, "raft"],
  ])("%j is a ConfigError naming %s", (input, field) => {
    const build = () => raft.createClient({ id: firstClientId, replicas: [1], rng: createRng(1), crypto: noCrypto, options: input });
    expect(build).toThrow(ConfigError);
    expect(build).toThrow(field);
  });
});

describe("codec and client", () => {
  const samples: RaftMessage[] = [
    { type: "appendEntries", term: 3, prevLogIndex: 4, prevLogTerm: 2, entries: [{ term: 3, index: 5, kind: 2, clientId: 0, session: 0, sequence: 0, command: new Uint8Array(0), voters: [1, 2], outgoing: [1, 2, 3], learners: [4] }], commit: 4, readContext: 9 },
    { type: "appendResponse", term: 3, index: 4, reject: true, rejectHint: 2, logTerm: 1, readContext: 9 },
    { type: "heartbeat", term: 3, commit: 2, readContext: 1 },
    { type: "heartbeatResponse", term: 3, readContext: 1 },
    { type: "requestVote", term: 3, lastLogIndex: 4, lastLogTerm: 2, preVote: true, transfer: false },
    { type: "voteResponse", term: 3, reject: false, preVote: true, commit: 0, commitTerm: 0 },
    { type: "installSnapshot", term: 3, snapshotIndex: 9, snapshotTerm: 2, voters: [1, 2, 3], outgoing: [], learners: [], offset: 0, data: new Uint8Array([1, 2]), done: true, totalBytes: 2 },
    { type: "snapshotResponse", term: 3, snapshotIndex: 9, offset: 2 },
    { type: "timeoutNow", term: 3 },
    { type: "clientRequest", clientId: firstClientId, session: 2 ** 53 - 1, sequence: 7, command: new Uint8Array([1]), readOnly: true, readLevel: 0 },
    { type: "clientReply", session: 2 ** 32 + 1, sequence: 7, result: new Uint8Array([2]) },
    { type: "notLeader", sequence: 7, hasLeaderHint: true, leaderHint: 2 },
  ];
  it.each(samples.map((m) => [m.type, m] as const))("%s survives encoding", (_type, message) => {
    expect(raftCodec.decode(raftCodec.encode(message))).toEqual(message);
  });

  it("the client follows a notLeader hint and completes on the leader's reply", () => {
    const client = createRaftClient({ id: firstClientId, replicas: [1, 2, 3], rng: createRng(3), crypto: noCrypto, options: {}, session: 5 });
    client.submit(new Uint8Array([1]), { readOnly: false });
    const first = client.ready();
    const firstTarget = first?.messages[0]?.to as number;
    client.advance(first!);
    const hint = firstTarget === 2 ? 3 : 2;
    client.step(firstTarget, { type: "notLeader", sequence: 1, hasLeaderHint: true, leaderHint: hint });
    const second = client.ready();
    expect(second?.messages.map((m) => m.to)).toEqual([hint]);
    client.advance(second!);
    client.step(hint, { type: "clientReply", session: 5, sequence: 1, result: new Uint8Array([42]) });
    expect(client.ready()?.completions).toEqual([{ sequence: 1, outcome: { kind: "ok", result: new Uint8Array([42]) } }]);
  });

  it("the algorithm definition states Raft's analytic costs", () => {
    expect(raft.analyticMessagesPerOp(3, 1)).toBe(6);
    expect(raft.analyticMessagesPerOp(5, 4)).toBe(4);
    expect(raft.oneWayDelaysPerOp).toBe(4);
    expect(raft.replicasToTolerate(2)).toBe(5);
    expect(raft.faultsTolerated(4)).toBe(1);
  });
});
