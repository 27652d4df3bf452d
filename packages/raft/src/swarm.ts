import {
  type HardPath,
  type MonitorEventContext,
  type NodeId,
  type OptionSpace,
  type OptionValue,
  type PathCounter,
  type ProtocolOptions,
  type Replica,
  drawSwarmInt,
  fixedBoolean,
  fixedNumber,
  readLevelOfCode,
} from "@concord/core";
import type { RaftMessage } from "./messages.ts";
import { leaseTicks } from "./options.ts";
import { RaftReplica } from "./raft.ts";

const electionTimeoutTicksMax = 50;
const clockDriftBoundPercentMax = 40;
/** clientRetryTicksMax is the default client retry, the longest a drawn one is. */
const clientRetryTicksMax = 20;

/**
 * raftOptionSpace is the range of Raft's options that `chaos` draws from
 * (swarm testing). Every value it draws passes raftOptionsSchema: the
 * heartbeat below the election timeout, lease reads only with check-quorum and
 * a lease that outlasts a heartbeat after the drift bound. The upper bounds are
 * the defaults or what a few seconds of simulated time can still use. The
 * client's retry is drawn too (up to its default), its give-up time is not;
 * left out: transferTimeoutTicks, which only matters once a transfer starts.
 */
export const raftOptionSpace: OptionSpace = {
  ranges: [
    { name: "electionTimeoutTicks", low: 2, high: electionTimeoutTicksMax },
    { name: "heartbeatTicks", low: 1, high: electionTimeoutTicksMax - 1 },
    { name: "preVote", low: false, high: true },
    { name: "checkQuorum", low: false, high: true },
    { name: "leaseReads", low: false, high: true },
    { name: "clockDriftBoundPercent", low: 0, high: clockDriftBoundPercentMax },
    { name: "inflightMessagesMax", low: 1, high: 256 },
    { name: "messageBytesMax", low: 64, high: 1 << 20 },
    { name: "batchEntriesMax", low: 1, high: 1024 },
    { name: "uncommittedEntriesMax", low: 1, high: 10_000 },
    { name: "pendingReadsMax", low: 1, high: 10_000 },
    { name: "snapshotEveryEntries", low: 1, high: 10_000 },
    { name: "clientRetryTicks", low: 1, high: clientRetryTicksMax },
  ],
  draw(rng, fixed) {
    const drawn: Record<string, OptionValue> = {};
    const fixedHeartbeat = fixedNumber(fixed, "heartbeatTicks");
    const fixedElection = fixedNumber(fixed, "electionTimeoutTicks");
    // Lease reads are decided first, in one run of two when left open (and check-quorum is not fixed off), so that
    // the election timeout, the drift and the heartbeat are drawn to let a lease outlast a heartbeat: drawn last,
    // after them, leases were on in about one run of eleven, too few for a swarm to reach a lease's bugs (issue 21).
    const leaseFixed = fixedBoolean(fixed, "leaseReads");
    const leaseWanted = leaseFixed ?? (fixedBoolean(fixed, "checkQuorum") !== false && rng.chance(1, 2));
    // A lease must outlast a heartbeat after the drift bound (raftOptionsSchema): a fixed lease bounds the drift, the election timeout and the heartbeat.
    const leaseOutlasts = (election: number, drift: number, heartbeat: number): boolean => leaseTicks(election, drift) > heartbeat;
    let widestDrift = clockDriftBoundPercentMax;
    while (leaseWanted && fixedElection !== undefined && widestDrift > 0 && !leaseOutlasts(fixedElection, widestDrift, fixedHeartbeat ?? 1)) widestDrift--;
    const drift = fixedNumber(fixed, "clockDriftBoundPercent") ?? (drawn["clockDriftBoundPercent"] = drawSwarmInt(rng, 0, widestDrift));
    let electionLow = Math.max(2, (fixedHeartbeat ?? 0) + 1);
    while (leaseWanted && electionLow < 10_000 && !leaseOutlasts(electionLow, drift, fixedHeartbeat ?? 1)) electionLow++;
    const election = fixedElection ?? (drawn["electionTimeoutTicks"] = drawSwarmInt(rng, electionLow, Math.max(electionTimeoutTicksMax, electionLow)));
    const heartbeatHigh = leaseWanted ? Math.min(election - 1, leaseTicks(election, drift) - 1) : election - 1;
    const heartbeat = fixedHeartbeat ?? (drawn["heartbeatTicks"] = drawSwarmInt(rng, 1, Math.max(1, heartbeatHigh)));
    if (fixed["preVote"] === undefined) drawn["preVote"] = rng.chance(1, 2);
    // Lease reads need check-quorum: a lease wanted keeps check-quorum on.
    const checkQuorum = fixedBoolean(fixed, "checkQuorum") ?? (drawn["checkQuorum"] = leaseWanted || rng.chance(1, 2));
    // A wanted lease the fixed options leave no room for (it would not outlast a heartbeat) stays off.
    if (leaseFixed === undefined) drawn["leaseReads"] = leaseWanted && checkQuorum && leaseOutlasts(election, drift, heartbeat);
    for (const [name, low, high] of [
      ["inflightMessagesMax", 1, 256],
      ["messageBytesMax", 64, 1 << 20],
      ["batchEntriesMax", 1, 1024],
      ["uncommittedEntriesMax", 1, 10_000],
      ["pendingReadsMax", 1, 10_000],
      ["snapshotEveryEntries", 1, 10_000],
    ] as const) {
      if (fixed[name] === undefined) drawn[name] = drawSwarmInt(rng, low, high);
    }
    // The client's patience, drawn last so that the draws above stay what they were: a client that waits the default
    // 20 ticks at a cut-off leader before it tries another replica may never reach the new leader while the old one
    // still serves reads (issue 21). The give-up time stays at its default, which is never below the retry.
    if (fixed["clientRetryTicks"] === undefined && fixed["clientGiveUpTicks"] === undefined) drawn["clientRetryTicks"] = drawSwarmInt(rng, 1, clientRetryTicksMax);
    return drawn;
  },
};

/** raftHardPaths are the paths of Raft a swarm of runs should reach (issue 21). */
export const raftHardPaths: readonly HardPath[] = [
  { name: "snapshot-install", description: "a follower installed a leader's snapshot (§7): its snapshot index moved to the snapshot's on the last InstallSnapshot chunk" },
  { name: "snapshot-chunked", description: "a leader sent a snapshot in more than one chunk (a chunk at a non-zero offset)" },
  { name: "joint-consensus", description: "a replica entered a joint configuration (thesis §4.3)" },
  { name: "leadership-transfer", description: "a leader sent TimeoutNow to hand over its leadership (thesis §3.10)" },
  { name: "pre-vote-rejected", description: "a voter refused a pre-vote (thesis §9.6)" },
  { name: "read-index-read", description: "a leader with lease reads off answered a read without a log entry, after its ReadIndex round (thesis §6.4)" },
  { name: "lease-read", description: "a leader answered a read in the instant it arrived, which only a valid lease allows (thesis §6.4.1)" },
];

/**
 * RaftPathCounter counts {@link raftHardPaths} from the messages replicas send
 * and step and from their public state, so that no replica code carries
 * counters for tests.
 */
class RaftPathCounter implements PathCounter<RaftMessage> {
  private readonly found = new Map<string, number>(raftHardPaths.map((path) => [path.name, 0]));
  /** pendingReads maps `node:session:sequence` of a read handed to a replica to when it was handed over, and whether a lease may serve it. */
  private readonly pendingReads = new Map<string, { readonly handedUs: number; readonly byLease: boolean }>();
  /** installing maps a replica to the snapshot index of the last chunk it was just handed. */
  private readonly installing = new Map<NodeId, number>();
  private readonly joint = new WeakMap<Replica<RaftMessage>, boolean>();

  constructor(private readonly leaseReads: boolean) {}

  observeSend(from: NodeId, _to: NodeId, message: RaftMessage, context: MonitorEventContext): void {
    if (context.faulty) return;
    switch (message.type) {
      case "timeoutNow":
        this.count("leadership-transfer");
        return;
      case "voteResponse":
        if (message.preVote && message.reject) this.count("pre-vote-rejected");
        return;
      case "installSnapshot":
        if (message.offset > 0) this.count("snapshot-chunked");
        return;
      case "clientReply": {
        const key = `${from}:${message.session}:${message.sequence}`;
        const read = this.pendingReads.get(key);
        if (read === undefined) return;
        this.pendingReads.delete(key);
        // Only a lease lets a leader of several voters answer a read in the instant it arrives;
        // a read no lease may serve waited for its ReadIndex round.
        if (!read.byLease) this.count("read-index-read");
        else if (read.handedUs === context.timeUs) this.count("lease-read");
        return;
      }
      default:
        return;
    }
  }

  observeDeliver(replica: Replica<RaftMessage>, _from: NodeId, message: RaftMessage, context: MonitorEventContext): void {
    if (context.faulty) return;
    if (message.type === "clientRequest" && message.readOnly) {
      // A stale read is no ReadIndex or lease read: any replica answers it at once.
      const level = readLevelOfCode(message.readLevel);
      if (level !== "stale") this.pendingReads.set(`${replica.id}:${message.session}:${message.sequence}`, { handedUs: context.timeUs, byLease: this.leaseReads || level === "lease" });
    }
    if (message.type === "installSnapshot" && message.done && replica instanceof RaftReplica && replica.snapshotIndex() < message.snapshotIndex) {
      this.installing.set(replica.id, message.snapshotIndex);
    }
  }

  observeReplica(replica: Replica<RaftMessage>, context: MonitorEventContext): void {
    if (context.faulty || !(replica instanceof RaftReplica)) return;
    const installing = this.installing.get(replica.id);
    if (installing !== undefined) {
      this.installing.delete(replica.id);
      if (replica.snapshotIndex() >= installing) this.count("snapshot-install");
    }
    const joint = replica.configuration().outgoing.length > 0;
    if (joint && this.joint.get(replica) !== true) this.count("joint-consensus");
    this.joint.set(replica, joint);
  }

  counts(): ReadonlyMap<string, number> {
    return this.found;
  }

  private count(path: string): void {
    this.found.set(path, (this.found.get(path) ?? 0) + 1);
  }
}

/** createRaftPathCounter returns a fresh counter of {@link raftHardPaths} for one run with `options`. */
export function createRaftPathCounter(options: ProtocolOptions): PathCounter<RaftMessage> {
  return new RaftPathCounter(options["leaseReads"] === true);
}
