import {
  type HardPath,
  type MonitorEventContext,
  type NodeId,
  type OptionSpace,
  type OptionValue,
  type PathCounter,
  type Replica,
  drawSwarmInt,
  fixedNumber,
} from "@concord/core";
import type { PbftMessage } from "./messages.ts";
import { PbftReplica } from "./replica.ts";

const checkpointIntervalSeqsMax = 32;
const watermarkWindowSeqsMax = 128;

/**
 * pbftOptionSpace is the range of PBFT's options that `chaos` draws from
 * (swarm testing). Every value it draws passes pbftOptionsSchema: the
 * watermark window is at least twice the checkpoint interval (so that a new
 * checkpoint can become stable before the window fills). Left out: the
 * client's patience, and the primary's request queue bound.
 */
export const pbftOptionSpace: OptionSpace = {
  ranges: [
    { name: "batchSizeMax", low: 1, high: 64 },
    { name: "inflightBatchesMax", low: 1, high: 16 },
    { name: "checkpointIntervalSeqs", low: 1, high: checkpointIntervalSeqsMax },
    { name: "watermarkWindowSeqs", low: 2, high: watermarkWindowSeqsMax },
    { name: "viewChangeTimeoutTicks", low: 2, high: 100 },
    { name: "viewChangeBackoffExponentMax", low: 0, high: 8 },
    { name: "statusTicks", low: 1, high: 20 },
    { name: "authentication", low: "macs", high: "signatures" },
    { name: "readOnlyOptimization", low: false, high: true },
  ],
  draw(rng, fixed) {
    const drawn: Record<string, OptionValue> = {};
    for (const [name, low, high] of [
      ["batchSizeMax", 1, 64],
      ["inflightBatchesMax", 1, 16],
      ["viewChangeTimeoutTicks", 2, 100],
      ["viewChangeBackoffExponentMax", 0, 8],
      ["statusTicks", 1, 20],
    ] as const) {
      if (fixed[name] === undefined) drawn[name] = drawSwarmInt(rng, low, high);
    }
    // The refine rule: watermarkWindowSeqs >= 2 * checkpointIntervalSeqs, whichever of the two is fixed.
    const fixedWindow = fixedNumber(fixed, "watermarkWindowSeqs");
    const interval =
      fixedNumber(fixed, "checkpointIntervalSeqs") ??
      (drawn["checkpointIntervalSeqs"] = drawSwarmInt(rng, 1, fixedWindow === undefined ? checkpointIntervalSeqsMax : Math.max(1, Math.min(checkpointIntervalSeqsMax, Math.floor(fixedWindow / 2)))));
    if (fixedWindow === undefined) drawn["watermarkWindowSeqs"] = drawSwarmInt(rng, 2 * interval, Math.max(2 * interval, watermarkWindowSeqsMax));
    if (fixed["authentication"] === undefined) drawn["authentication"] = rng.chance(1, 2) ? "macs" : "signatures";
    if (fixed["readOnlyOptimization"] === undefined) drawn["readOnlyOptimization"] = rng.chance(1, 2);
    return drawn;
  },
  // In one run of two, the tightest windows in which a checkpoint does not cover every sequence number: an interval
  // of 2 to 4 and a window of twice that. A replica that hears no commits and no checkpoints (chaos's loss windows and
  // the liars' ally) then fills its window within a few batches, the next view starts from a checkpoint it adopts
  // without its state, and it prepares past its old window before the view after: issue 21, bug 3's schedule, which
  // independent draws reach in about one run of 128 (an interval of 1 puts a checkpoint on every sequence number, so
  // nothing a view commits lies above the next view's checkpoint; a window of 2 to 128 is rarely twice the interval).
  corner(rng, fixed) {
    if (fixed["checkpointIntervalSeqs"] !== undefined || fixed["watermarkWindowSeqs"] !== undefined || !rng.chance(1, 2)) return {};
    const interval = rng.nextIntBetween(2, 4);
    return { checkpointIntervalSeqs: interval, watermarkWindowSeqs: 2 * interval };
  },
};

/** pbftHardPaths are the paths of PBFT a swarm of runs should reach (issue 21). */
export const pbftHardPaths: readonly HardPath[] = [
  { name: "view-change-with-prepared", description: "a correct replica sent a VIEW-CHANGE that carries prepared requests (the set P, TOCS §4.4)" },
  { name: "checkpoint-from-new-view", description: "a correct replica entered a view whose NEW-VIEW chose a checkpoint above its own stable one (TOCS §4.5)" },
  { name: "state-transfer", description: "a correct replica behind a stable checkpoint installed a state fetched from its peers (TOCS §4.3, §5.3)" },
  { name: "read-only-read", description: "a correct replica answered a read-only request without ordering it (TOCS §5.1.3)" },
];

/**
 * PbftPathCounter counts {@link pbftHardPaths} from the messages replicas send
 * and step and from their public state (view, stable checkpoint, applied
 * point), so that no replica code carries counters for tests.
 */
class PbftPathCounter implements PathCounter<PbftMessage> {
  private readonly found = new Map<string, number>(pbftHardPaths.map((path) => [path.name, 0]));
  /** newViews maps a replica to the view of a NEW-VIEW it was just handed whose checkpoint is above its stable one. */
  private readonly newViews = new Map<NodeId, number>();
  /** transfers maps a replica to the sequence number of a state it was just handed beyond its applied point. */
  private readonly transfers = new Map<NodeId, number>();

  observeSend(_from: NodeId, _to: NodeId, message: PbftMessage, context: MonitorEventContext): void {
    if (context.faulty) return;
    if (message.type === "viewChange" && message.prepared.length > 0) this.count("view-change-with-prepared");
    else if (message.type === "reply" && message.readOnly) this.count("read-only-read");
  }

  observeDeliver(replica: Replica<PbftMessage>, _from: NodeId, message: PbftMessage, context: MonitorEventContext): void {
    if (context.faulty || !(replica instanceof PbftReplica)) return;
    if (message.type === "newView" && message.checkpointSeq > replica.stableCheckpoint()) this.newViews.set(replica.id, message.view);
    if (message.type === "stateTransfer" && message.seq > replica.status().appliedIndex) this.transfers.set(replica.id, message.seq);
  }

  observeReplica(replica: Replica<PbftMessage>, context: MonitorEventContext): void {
    if (context.faulty || !(replica instanceof PbftReplica)) return;
    const view = this.newViews.get(replica.id);
    if (view !== undefined) {
      this.newViews.delete(replica.id);
      if (replica.status().epoch === view && replica.isViewActive()) this.count("checkpoint-from-new-view");
    }
    const seq = this.transfers.get(replica.id);
    if (seq !== undefined) {
      this.transfers.delete(replica.id);
      if (replica.status().appliedIndex >= seq) this.count("state-transfer");
    }
  }

  counts(): ReadonlyMap<string, number> {
    return this.found;
  }

  private count(path: string): void {
    this.found.set(path, (this.found.get(path) ?? 0) + 1);
  }
}

/** createPbftPathCounter returns a fresh counter of {@link pbftHardPaths} for one run. */
export function createPbftPathCounter(): PathCounter<PbftMessage> {
  return new PbftPathCounter();
}
