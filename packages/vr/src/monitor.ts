import type { InvariantMonitor, InvariantViolation, MonitorEventContext, NodeId, Replica } from "@concord/core";
import type { VrEntry, VrMessage } from "./messages.ts";
import { VrReplica } from "./replica.ts";

const violationsMax = 100;

/**
 * OneOpPerNumberMonitor is VR's safety oracle (§4, §8: every replica executes
 * the same op at each op-number): after every event of a replica it compares
 * the ops the replica newly executed with what any replica executed at those
 * op-numbers. A replica that executed op k with a different batch than another
 * is a violation, whatever the view each was in: a view change that chose the
 * wrong log (§4.2) shows here.
 *
 * In memory mode (§4.3) a group whose every replica lost its memory at once
 * starts afresh (VrCounters.recoveriesAbandoned): what was executed before is gone,
 * the oracle forgets it too, and reports the loss by `amnesiaSeen` rather than
 * as a violation.
 */
export class OneOpPerNumberMonitor implements InvariantMonitor<VrMessage> {
  /** name labels the violations this monitor reports. */
  readonly name = "vr-one-op-per-number";
  private executedAt = new Map<number, string>();
  private readonly executedThrough = new Map<NodeId, number>();
  private readonly amnesiaOf = new Map<NodeId, number>();
  private readonly found: InvariantViolation[] = [];
  private opsCompared = 0;
  private amnesia = 0;

  /** opsChecked counts the executed ops compared so far (so that a test can see the check ran). */
  opsChecked(): number {
    return this.opsCompared;
  }

  /** amnesiaSeen counts the group-wide memory losses seen (memory mode, more than f replicas down at once). */
  amnesiaSeen(): number {
    return this.amnesia;
  }

  observeReplica(replica: Replica<VrMessage>, context: MonitorEventContext): void {
    if (context.faulty || !(replica instanceof VrReplica)) return;
    const amnesia = replica.stats().recoveriesAbandoned;
    if (amnesia > (this.amnesiaOf.get(replica.id) ?? 0)) {
      this.amnesiaOf.set(replica.id, amnesia);
      this.amnesia++;
      this.executedAt = new Map();
      this.executedThrough.clear();
    }
    const applied = replica.status().appliedIndex;
    // A restarted replica executes again from its checkpoint on: its ops are compared again.
    const from = Math.min(this.executedThrough.get(replica.id) ?? 0, applied);
    for (let op = from + 1; op <= applied; op++) {
      const entry = replica.entryAt(op);
      if (entry === undefined) continue; // folded into a checkpoint within the same event
      this.opsCompared++;
      const key = entryKey(entry);
      const known = this.executedAt.get(op);
      if (known === undefined) this.executedAt.set(op, key);
      else if (known !== key) this.report(context, `replica ${replica.id} executed a different op ${op} than another replica (view ${replica.currentView()})`);
    }
    this.executedThrough.set(replica.id, applied);
  }

  violations(): readonly InvariantViolation[] {
    return this.found;
  }

  private report(context: MonitorEventContext, message: string): void {
    if (this.found.length < violationsMax) this.found.push({ invariant: this.name, timeUs: context.timeUs, message });
  }
}

/**
 * OnePrimaryPerViewMonitor checks that at most one replica acts as the primary
 * of a view (§4: the primary of view v is replicas[v mod n]): it sees every
 * Prepare, Commit and StartView sent and every replica's status, and flags a
 * second replica acting as primary of a view.
 */
export class OnePrimaryPerViewMonitor implements InvariantMonitor<VrMessage> {
  /** name labels the violations this monitor reports. */
  readonly name = "vr-one-primary-per-view";
  private readonly primaryOf = new Map<number, NodeId>();
  private readonly found: InvariantViolation[] = [];

  observeSend(from: NodeId, _to: NodeId, message: VrMessage, context: MonitorEventContext): void {
    if (context.faulty) return;
    if (message.type === "prepare" || message.type === "commit" || message.type === "startView") this.note(message.view, from, context);
  }

  observeReplica(replica: Replica<VrMessage>, context: MonitorEventContext): void {
    if (context.faulty) return;
    const status = replica.status();
    if (status.role === "primary") this.note(status.epoch, replica.id, context);
  }

  violations(): readonly InvariantViolation[] {
    return this.found;
  }

  private note(view: number, replica: NodeId, context: MonitorEventContext): void {
    const known = this.primaryOf.get(view);
    if (known === undefined) this.primaryOf.set(view, replica);
    else if (known !== replica && this.found.length < violationsMax) {
      this.found.push({ invariant: this.name, timeUs: context.timeUs, message: `replicas ${known} and ${replica} both acted as primary of view ${view}` });
    }
  }
}

function entryKey(entry: VrEntry): string {
  let key = "";
  for (const command of entry.commands) key += `${command.clientId}:${command.session}:${command.sequence}:${hashBytes(command.command)};`;
  return key;
}

function hashBytes(bytes: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ (bytes[i] as number), 0x01000193) >>> 0;
  return hash;
}

/** createVrMonitors returns fresh safety monitors for one run of VR: one op per op-number, one primary per view. */
export function createVrMonitors(): InvariantMonitor<VrMessage>[] {
  return [new OneOpPerNumberMonitor(), new OnePrimaryPerViewMonitor()];
}
