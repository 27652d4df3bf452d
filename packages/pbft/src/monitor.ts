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

/** createPbftMonitors returns fresh safety monitors for one run of PBFT: the agreement monitor. */
export function createPbftMonitors(): InvariantMonitor<PbftMessage>[] {
  return [new PbftAgreementMonitor()];
}
