import {
  type HardPath,
  type MonitorEventContext,
  type NodeId,
  type OptionSpace,
  type OptionValue,
  type PathCounter,
  type Replica,
  type LeaseTimingSpace,
  drawLeaseTicks,
  drawLeaseTimings,
  drawSwarmInt,
} from "@concord/core";
import { safeLeaseTicks } from "./lease.ts";
import type { MultiPaxosMessage } from "./messages.ts";
import { type MultiPaxosCounters, MultiPaxosReplica } from "./replica.ts";

const electionTimeoutTicksMax = 50;
const clockDriftBoundPercentMax = 40;
/** leaseTimingSpace names the options a lease ties together, for core's drawLeaseTimings and drawLeaseTicks. */
const leaseTimingSpace: LeaseTimingSpace = { timeout: "electionTimeoutTicks", timeoutMax: electionTimeoutTicksMax, interval: "heartbeatTicks", driftMax: clockDriftBoundPercentMax, safeLeaseTicks };
/** clientRetryTicksMax is the default client retry, the longest a drawn one is. */
const clientRetryTicksMax = 20;

/**
 * multiPaxosOptionSpace is the range of Multi-Paxos's options that `chaos`
 * draws from (swarm testing). Every value it draws passes
 * multiPaxosOptionsSchema: the heartbeat stays below the election timeout, and
 * a lease, when drawn on, outlasts the heartbeat after the drift bound and
 * stays within the election timeout. The client's retry is drawn too (up to
 * its default), its give-up time is not.
 */
export const multiPaxosOptionSpace: OptionSpace = {
  ranges: [
    { name: "electionTimeoutTicks", low: 2, high: electionTimeoutTicksMax },
    { name: "heartbeatTicks", low: 1, high: electionTimeoutTicksMax - 1 },
    { name: "windowSlots", low: 1, high: 64 },
    { name: "alphaSlots", low: 1, high: 64 },
    { name: "batchCommandsMax", low: 1, high: 64 },
    { name: "queuedRequestsMax", low: 1, high: 10_000 },
    { name: "retransmitTicks", low: 1, high: 20 },
    { name: "catchupRetryTicks", low: 1, high: 20 },
    { name: "catchupSlotsMax", low: 1, high: 256 },
    { name: "snapshotEveryEntries", low: 1, high: 1_000 },
    { name: "clockDriftBoundPercent", low: 0, high: clockDriftBoundPercentMax },
    { name: "leaseTicks", low: 0, high: electionTimeoutTicksMax },
    { name: "clientRetryTicks", low: 1, high: clientRetryTicksMax },
  ],
  draw(rng, fixed) {
    const drawn: Record<string, OptionValue> = {};
    const timings = drawLeaseTimings(rng, fixed, drawn, leaseTimingSpace);
    for (const [name, low, high] of [
      ["windowSlots", 1, 64],
      ["alphaSlots", 1, 64],
      ["batchCommandsMax", 1, 64],
      ["queuedRequestsMax", 1, 10_000],
      ["retransmitTicks", 1, 20],
      ["catchupRetryTicks", 1, 20],
      ["catchupSlotsMax", 1, 256],
      ["snapshotEveryEntries", 1, 1_000],
    ] as const) {
      if (fixed[name] === undefined) drawn[name] = drawSwarmInt(rng, low, high);
    }
    // A lease, when on, must outlast a heartbeat after the drift bound and stay within the election timeout.
    drawLeaseTicks(rng, fixed, drawn, leaseTimingSpace, timings);
    // The client's patience, drawn last so that the draws above stay what they were: a client that waits the default
    // 20 ticks at a cut-off leader before it tries another replica may never reach the new leader while the old one
    // still serves reads (issue 21). The give-up time stays at its default, which is never below the retry.
    if (fixed["clientRetryTicks"] === undefined && fixed["clientGiveUpTicks"] === undefined) drawn["clientRetryTicks"] = drawSwarmInt(rng, 1, clientRetryTicksMax);
    return drawn;
  },
};

/**
 * electionRaceSnapshotEveryEntriesMax is the largest snapshot interval chaos's election race draws, in one run of two
 * that draws it: the cut-off leader's catch-up starts from its watermark, which trails the former leader's by a
 * round or so, and an interval of a few slots leaves the former leader compacted past it.
 */
export const electionRaceSnapshotEveryEntriesMax = 4;

/** multiPaxosHardPaths are the paths of Multi-Paxos a swarm of runs should reach (issue 21). */
export const multiPaxosHardPaths: readonly HardPath[] = [
  { name: "phase1-gap-filled", description: "a new leader filled a slot that phase 1 found no value for with a no-op (Paxos Made Simple §3)" },
  { name: "reconfiguration", description: "a replica executed a configuration change chosen through the log" },
  { name: "lease-read", description: "a leader served a read locally under its lease" },
  { name: "catch-up", description: "a replica sent chosen values to a peer that asked for the slots it missed" },
  { name: "snapshot-catch-up", description: "a replica behind a peer's compaction point installed the peer's snapshot" },
];

const counterPaths: readonly (readonly [keyof MultiPaxosCounters, string])[] = [
  ["noopsProposed", "phase1-gap-filled"],
  ["configurationsApplied", "reconfiguration"],
  ["leaseReads", "lease-read"],
  ["snapshotsInstalled", "snapshot-catch-up"],
];

/**
 * MultiPaxosPathCounter counts {@link multiPaxosHardPaths} from the counters
 * every replica keeps for reports (their growth after each event) and from the
 * Chosen messages replicas send.
 */
class MultiPaxosPathCounter implements PathCounter<MultiPaxosMessage> {
  private readonly found = new Map<string, number>(multiPaxosHardPaths.map((path) => [path.name, 0]));
  private readonly seen = new WeakMap<Replica<MultiPaxosMessage>, MultiPaxosCounters>();

  observeSend(_from: NodeId, _to: NodeId, message: MultiPaxosMessage, context: MonitorEventContext): void {
    if (!context.faulty && message.type === "chosen" && message.entries.length > 0) this.count("catch-up", 1);
  }

  observeReplica(replica: Replica<MultiPaxosMessage>, context: MonitorEventContext): void {
    if (context.faulty || !(replica instanceof MultiPaxosReplica)) return;
    const now = replica.stats();
    const before = this.seen.get(replica);
    for (const [counter, path] of counterPaths) {
      const grown = now[counter] - (before?.[counter] ?? 0);
      if (grown > 0) this.count(path, grown);
    }
    this.seen.set(replica, now);
  }

  counts(): ReadonlyMap<string, number> {
    return this.found;
  }

  private count(path: string, by: number): void {
    this.found.set(path, (this.found.get(path) ?? 0) + by);
  }
}

/** createMultiPaxosPathCounter returns a fresh counter of {@link multiPaxosHardPaths} for one run. */
export function createMultiPaxosPathCounter(): PathCounter<MultiPaxosMessage> {
  return new MultiPaxosPathCounter();
}
