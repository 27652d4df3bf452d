import type { InvariantMonitor, InvariantViolation, MonitorEventContext, NodeId, Replica } from "@concord/core";
import type { VrEntry, VrMessage } from "./messages.ts";
import { VrReplica, epochOfView } from "./replica.ts";

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

/**
 * EpochMonitor follows the configuration (§7): every replica that reaches an
 * epoch names the same group for it and the same op-number for its start; a
 * replica takes part in an epoch (normal status, or a view change) only once
 * it holds every op through the epoch's start (§7.1: a new replica is
 * brought up to date before the epoch starts); and only the epoch's group acts
 * in its views (a Prepare, Commit, StartView, PrepareOk or DoViewChange from a
 * replica outside it is a violation: the old replicas that left stop).
 */
export class EpochMonitor implements InvariantMonitor<VrMessage> {
  /** name labels the violations this monitor reports. */
  readonly name = "vr-epochs";
  private readonly epochs = new Map<number, { readonly start: number; readonly members: readonly NodeId[] }>();
  private readonly found: InvariantViolation[] = [];
  private checks = 0;

  /** epochsSeen is the highest epoch any replica reached (so that a test can see reconfigurations ran). */
  epochsSeen(): number {
    return Math.max(0, ...this.epochs.keys());
  }

  /** checksMade counts the replica states and messages checked. */
  checksMade(): number {
    return this.checks;
  }

  observeReplica(replica: Replica<VrMessage>, context: MonitorEventContext): void {
    if (context.faulty || !(replica instanceof VrReplica)) return;
    this.checks++;
    const epoch = replica.epoch();
    const members = replica.members();
    const known = this.epochs.get(epoch);
    if (known === undefined) this.epochs.set(epoch, { start: replica.epochStart(), members: [...members] });
    else if (known.start !== replica.epochStart() || known.members.join(",") !== members.join(",")) {
      this.report(context, `replica ${replica.id} holds epoch ${epoch} as group [${members.join(",")}] from op ${replica.epochStart()}, another as [${known.members.join(",")}] from op ${known.start}`);
    }
    const status = replica.vrStatus();
    // Its log (or checkpoint) holds the ops: a replica that recovered into a view change holds them unexecuted (§4.3).
    if ((status === "normal" || status === "viewChange") && replica.opNumber() < replica.epochStart()) {
      this.report(context, `replica ${replica.id} takes part in epoch ${epoch} (${status}) holding only ops through ${replica.opNumber()}, before the epoch's start at op ${replica.epochStart()}`);
    }
  }

  observeSend(from: NodeId, _to: NodeId, message: VrMessage, context: MonitorEventContext): void {
    if (context.faulty) return;
    if (message.type !== "prepare" && message.type !== "commit" && message.type !== "startView" && message.type !== "prepareOk" && message.type !== "doViewChange") return;
    this.checks++;
    const epoch = epochOfView(message.view);
    const known = this.epochs.get(epoch);
    if (known !== undefined && !known.members.includes(from)) this.report(context, `replica ${from}, not in epoch ${epoch}'s group [${known.members.join(",")}], sent a ${message.type} of view ${message.view}`);
  }

  violations(): readonly InvariantViolation[] {
    return this.found;
  }

  private report(context: MonitorEventContext, message: string): void {
    if (this.found.length < violationsMax) this.found.push({ invariant: this.name, timeUs: context.timeUs, message });
  }
}

function entryKey(entry: VrEntry): string {
  let key = entry.config.length > 0 ? `config:${entry.config.join(",")};` : "";
  for (const command of entry.commands) key += `${command.clientId}:${command.session}:${command.sequence}:${hashBytes(command.command)};`;
  return key;
}

function hashBytes(bytes: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ (bytes[i] as number), 0x01000193) >>> 0;
  return hash;
}

/** createVrMonitors returns fresh safety monitors for one run of VR: one op per op-number, one primary per view, the epochs' groups followed. */
export function createVrMonitors(): InvariantMonitor<VrMessage>[] {
  return [new OneOpPerNumberMonitor(), new OnePrimaryPerViewMonitor(), new EpochMonitor()];
}
