import {
  type HardPath,
  type MonitorEventContext,
  type OptionSpace,
  type OptionValue,
  type PathCounter,
  type Replica,
  type LeaseTimingSpace,
  drawLeaseTicks,
  drawLeaseTimings,
  drawSwarmInt,
} from "@concord/core";
import type { VrMessage } from "./messages.ts";
import { safeLeaseTicks } from "./options.ts";
import { type VrCounters, VrReplica } from "./replica.ts";

const viewChangeTimeoutTicksMax = 50;
const clientRetryTicksMax = 20;
const clockDriftBoundPercentMax = 40;
/** leaseTimingSpace names the options a lease ties together, for core's drawLeaseTimings and drawLeaseTicks. */
const leaseTimingSpace: LeaseTimingSpace = { timeout: "viewChangeTimeoutTicks", timeoutMax: viewChangeTimeoutTicksMax, interval: "commitTicks", driftMax: clockDriftBoundPercentMax, safeLeaseTicks };

/**
 * vrOptionSpace is the range of VR's options that `chaos` draws from (swarm
 * testing). Every value it draws passes vrOptionsSchema: the commit interval
 * stays below the view-change timeout, and a lease, when drawn on, outlasts the
 * commit interval after the drift bound and stays within the view-change
 * timeout. The durability mode is not drawn: it
 * changes what a run promises (memory mode loses the group's state when every
 * replica crashes at once), so a run names it.
 */
export const vrOptionSpace: OptionSpace = {
  ranges: [
    { name: "viewChangeTimeoutTicks", low: 2, high: viewChangeTimeoutTicksMax },
    { name: "commitTicks", low: 1, high: viewChangeTimeoutTicksMax - 1 },
    { name: "windowOps", low: 1, high: 64 },
    { name: "batchCommandsMax", low: 1, high: 64 },
    { name: "retransmitTicks", low: 1, high: 20 },
    { name: "checkpointEveryOps", low: 1, high: 1_000 },
    { name: "stateTransferOpsMax", low: 1, high: 256 },
    { name: "clockDriftBoundPercent", low: 0, high: clockDriftBoundPercentMax },
    { name: "leaseTicks", low: 0, high: viewChangeTimeoutTicksMax },
    { name: "clientRetryTicks", low: 1, high: clientRetryTicksMax },
  ],
  draw(rng, fixed) {
    const drawn: Record<string, OptionValue> = {};
    const timings = drawLeaseTimings(rng, fixed, drawn, leaseTimingSpace);
    for (const [name, low, high] of [
      ["windowOps", 1, 64],
      ["batchCommandsMax", 1, 64],
      ["retransmitTicks", 1, 20],
      ["checkpointEveryOps", 1, 1_000],
      ["stateTransferOpsMax", 1, 256],
    ] as const) {
      if (fixed[name] === undefined) drawn[name] = drawSwarmInt(rng, low, high);
    }
    // A lease, when on, must outlast a commit interval after the drift bound and stay within the view-change timeout.
    drawLeaseTicks(rng, fixed, drawn, leaseTimingSpace, timings);
    if (fixed["clientRetryTicks"] === undefined && fixed["clientGiveUpTicks"] === undefined) drawn["clientRetryTicks"] = drawSwarmInt(rng, 1, clientRetryTicksMax);
    return drawn;
  },
};

/**
 * vrHardPaths are the paths of VR a swarm of runs should reach. Recovery from
 * peers (§4.3) is not among them: it is memory mode's, which chaos does not
 * draw (test/memory-mode.test.ts sweeps it).
 */
export const vrHardPaths: readonly HardPath[] = [
  { name: "view-change", description: "a new primary started a view from f+1 DoViewChanges (§4.2)" },
  { name: "state-transfer", description: "a backup took missing ops from a peer's NewState (§5.2)" },
  { name: "checkpoint-install", description: "a replica installed a peer's checkpoint instead of executing the ops it covers (§5.1, §5.2)" },
  { name: "duplicate-answered", description: "a primary answered a retried request from the client table (§4)" },
  { name: "lease-read", description: "a primary answered a read from its own state under its lease" },
  { name: "view-change-refused-for-lease", description: "a replica held back from a view change while its lease grant to its primary could be live" },
];

const counterPaths: readonly (readonly [keyof VrCounters, string])[] = [
  ["viewsStarted", "view-change"],
  ["stateTransfers", "state-transfer"],
  ["checkpointsInstalled", "checkpoint-install"],
  ["duplicatesAnswered", "duplicate-answered"],
  ["leaseReads", "lease-read"],
  ["viewChangesRefusedForLease", "view-change-refused-for-lease"],
];

/** VrPathCounter counts {@link vrHardPaths} from the counters every replica keeps (their growth after each event). */
class VrPathCounter implements PathCounter<VrMessage> {
  private readonly found = new Map<string, number>(vrHardPaths.map((path) => [path.name, 0]));
  private readonly seen = new WeakMap<Replica<VrMessage>, VrCounters>();

  observeReplica(replica: Replica<VrMessage>, context: MonitorEventContext): void {
    if (context.faulty || !(replica instanceof VrReplica)) return;
    const now = replica.stats();
    const before = this.seen.get(replica);
    for (const [counter, path] of counterPaths) {
      const grown = now[counter] - (before?.[counter] ?? 0);
      if (grown > 0) this.found.set(path, (this.found.get(path) ?? 0) + grown);
    }
    this.seen.set(replica, now);
  }

  counts(): ReadonlyMap<string, number> {
    return this.found;
  }
}

/** createVrPathCounter returns a fresh counter of {@link vrHardPaths} for one run. */
export function createVrPathCounter(): PathCounter<VrMessage> {
  return new VrPathCounter();
}
