import {
  type HardPath,
  type NodeId,
  type ProtocolOptions,
  parseConfig,
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
import { safeLeaseTicks, vrOptionsSchema } from "./options.ts";
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
 * timeout. The durability mode is drawn too, each half of the time, last (so
 * that a seed's other options stay what they were before it was drawn): memory
 * mode (§4.3) is safe only while at most f replicas are without their memory
 * at once, so chaos crashes no more than that in a memory-mode run (see
 * vrCrashAllowed); a run that crashes every node at once names the mode itself.
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
    { name: "durability", low: "persist", high: "memory" },
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
    if (fixed["durability"] === undefined) drawn["durability"] = rng.chance(1, 2) ? "memory" : "persist";
    return drawn;
  },
};

/**
 * vrCrashAllowed is VR's crash bound for chaos (AlgorithmDefinition.crashAllowed):
 * persisting, any crash; in memory mode (§4.3), the paper assumes at most f
 * replicas of the group without their memory at once, a restarted replica
 * counting until its recovery completes (and a new replica until it has the
 * state, §7). So `target` may crash when that keeps the members of the latest
 * configuration without their state at n - (f + 1) or fewer; and a replica
 * outside it (an old replica leaving, §7) may not while a new member still
 * fetches its state, since the old ones hold it.
 */
export function vrCrashAllowed(options: ProtocolOptions, target: NodeId, replicas: ReadonlyMap<NodeId, Replica<VrMessage> | undefined>): boolean {
  if (parseConfig(vrOptionsSchema, options, "vr").durability === "persist") return true;
  let latest: VrReplica | undefined;
  for (const replica of replicas.values()) {
    if (replica instanceof VrReplica && (latest === undefined || replica.currentView() > latest.currentView())) latest = replica;
  }
  if (latest === undefined) return true; // every replica is down: there is nothing left to lose
  const members = latest.members();
  // A member still in an earlier epoch has yet to fetch this one's state (§7.1): it counts as without it.
  const withoutState = (id: NodeId): boolean => {
    const replica = replicas.get(id);
    return !(replica instanceof VrReplica) || !replica.holdsState() || replica.epoch() < latest.epoch();
  };
  if (!members.includes(target)) return !members.some(withoutState);
  const down = members.filter((id) => id === target || withoutState(id)).length;
  return down <= members.length - (Math.floor(members.length / 2) + 1);
}

/**
 * vrHardPaths are the paths of VR a swarm of runs should reach: recovery from
 * peers (§4.3) only in the half of the runs that draw memory mode.
 */
export const vrHardPaths: readonly HardPath[] = [
  { name: "view-change", description: "a new primary started a view from f+1 DoViewChanges (§4.2)" },
  { name: "state-transfer", description: "a backup took missing ops from a peer's NewState (§5.2)" },
  { name: "checkpoint-install", description: "a replica installed a peer's checkpoint instead of executing the ops it covers (§5.1, §5.2)" },
  { name: "duplicate-answered", description: "a primary answered a retried request from the client table (§4)" },
  { name: "lease-read", description: "a primary answered a read from its own state under its lease" },
  { name: "view-change-refused-for-lease", description: "a replica held back from a view change while its lease grant to its primary could be live" },
  { name: "recovery", description: "a restarted replica took its state from f+1 peers' RecoveryResponses, memory mode (§4.3)" },
  { name: "epoch-change", description: "a replica moved to a new epoch after a reconfiguration (§7.1)" },
  { name: "epoch-transition", description: "a new replica fetched the state through its epoch's start before taking part (§7.1)" },
];

const counterPaths: readonly (readonly [keyof VrCounters, string])[] = [
  ["viewsStarted", "view-change"],
  ["stateTransfers", "state-transfer"],
  ["checkpointsInstalled", "checkpoint-install"],
  ["duplicatesAnswered", "duplicate-answered"],
  ["leaseReads", "lease-read"],
  ["viewChangesRefusedForLease", "view-change-refused-for-lease"],
  ["recoveries", "recovery"],
  ["epochsEntered", "epoch-change"],
  ["epochTransitions", "epoch-transition"],
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
