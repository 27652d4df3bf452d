import type { InvariantMonitor, InvariantViolation, MonitorEventContext, NodeId, Replica } from "@concord/core";
import type { PbftMessage } from "./messages.ts";
import { PbftReplica } from "./replica.ts";

/** agreementInvariant names the safety property the {@link PbftAgreementMonitor} watches. */
export const agreementInvariant = "pbft: no two different requests committed at one sequence number in any view";

/**
 * PbftAgreementMonitor checks PBFT's safety property (PBFT §4.2 "committed"
 * invariant): no two correct replicas commit different batches at one
 * sequence number, in the same view or in different ones. Byzantine replicas
 * are ignored: what they claim proves nothing.
 */
export class PbftAgreementMonitor implements InvariantMonitor<PbftMessage> {
  readonly name = "pbft-agreement";
  private readonly committed = new Map<number, { digestHex: string; replica: NodeId; view: number }>();
  private readonly cursors = new WeakMap<PbftReplica, number>();
  private readonly found: InvariantViolation[] = [];

  observeReplica(replica: Replica<PbftMessage>, context: MonitorEventContext): void {
    if (context.faulty || !(replica instanceof PbftReplica)) return;
    const { entries, next } = replica.committedEntries(this.cursors.get(replica) ?? 0);
    this.cursors.set(replica, next);
    for (const entry of entries) {
      const first = this.committed.get(entry.seq);
      if (first === undefined) {
        this.committed.set(entry.seq, { digestHex: entry.digestHex, replica: replica.id, view: entry.view });
      } else if (first.digestHex !== entry.digestHex && this.found.length < 100) {
        this.found.push({
          invariant: agreementInvariant,
          timeUs: context.timeUs,
          message: `seq ${entry.seq}: replica ${first.replica} committed ${first.digestHex.slice(0, 16)} in view ${first.view}, replica ${replica.id} committed ${entry.digestHex.slice(0, 16)} in view ${entry.view}`,
        });
      }
    }
  }

  violations(): readonly InvariantViolation[] {
    return this.found;
  }
}

/** durableWatermarkInvariant names the property the {@link PbftDurableWatermarkMonitor} watches. */
export const durableWatermarkInvariant = "pbft: a restarted replica recovers the low watermark it acted under";

/**
 * PbftDurableWatermarkMonitor checks that a correct replica that restarts
 * recovers at least the low watermark under which it had sent messages
 * before its crash: its stable checkpoint, or the checkpoint it adopted from a
 * NEW-VIEW without its state (TOCS §4.4-§4.5; issue 21, bug 3). A replica
 * sends only what its synced Readies hold, so the low watermark it had when a
 * message of its left is on its disk; a restart that forgets it makes the
 * replica's next VIEW-CHANGE report an older checkpoint, and leave out what it
 * prepared above that checkpoint's window. The simulator's own check
 * (`durable-snapshot`) covers the stable checkpoint alone. Byzantine replicas
 * are ignored.
 */
export class PbftDurableWatermarkMonitor implements InvariantMonitor<PbftMessage> {
  readonly name = "pbft-durable-watermark";
  /** low maps a replica to its low watermark after its latest event, and the replica object (a restart makes a new one). */
  private readonly low = new Map<NodeId, { readonly replica: PbftReplica; readonly low: number }>();
  /** acted maps a replica to the highest low watermark it had when a message of its left. */
  private readonly acted = new Map<NodeId, number>();
  private readonly found: InvariantViolation[] = [];

  observeSend(from: NodeId, _to: NodeId, _message: PbftMessage, context: MonitorEventContext): void {
    if (context.faulty) return;
    const low = this.low.get(from)?.low;
    if (low !== undefined && low > (this.acted.get(from) ?? 0)) this.acted.set(from, low);
  }

  observeReplica(replica: Replica<PbftMessage>, context: MonitorEventContext): void {
    if (context.faulty || !(replica instanceof PbftReplica)) return;
    const low = replica.watermarks().low;
    const last = this.low.get(replica.id);
    this.low.set(replica.id, { replica, low });
    const acted = this.acted.get(replica.id) ?? 0;
    // A new replica object for a known id is a restarted one, seen at its first event.
    if (last === undefined || last.replica === replica || low >= acted || this.found.length >= 100) return;
    this.found.push({
      invariant: durableWatermarkInvariant,
      timeUs: context.timeUs,
      message: `replica ${replica.id} restarted with its low watermark at ${low} (stable checkpoint ${replica.stableCheckpoint()}), below ${acted}, under which it had sent messages before the crash: an adopted or stable checkpoint it had synced was lost`,
    });
  }

  violations(): readonly InvariantViolation[] {
    return this.found;
  }
}

/** createPbftMonitors returns fresh safety monitors for one run of PBFT: agreement, and the low watermark across restarts. */
export function createPbftMonitors(): InvariantMonitor<PbftMessage>[] {
  return [new PbftAgreementMonitor(), new PbftDurableWatermarkMonitor()];
}
