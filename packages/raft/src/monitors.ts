import type { InvariantMonitor, InvariantViolation, MonitorEventContext, NodeId, Replica } from "@concord/core";
import type { RaftMessage } from "./messages.ts";
import { RaftReplica } from "./raft.ts";

const violationsMax = 100;

/** LeaderPerTermMonitor checks Election Safety (§5.2, Figure 3): at most one leader per term. */
export class LeaderPerTermMonitor implements InvariantMonitor<RaftMessage> {
  /** name is the invariant this monitor reports violations under. */
  readonly name = "raft-leader-per-term";
  private readonly leaders = new Map<number, NodeId>();
  private readonly found: InvariantViolation[] = [];

  observeReplica(replica: Replica<RaftMessage>, context: MonitorEventContext): void {
    const status = replica.status();
    if (status.role !== "leader" || context.faulty) return;
    const known = this.leaders.get(status.epoch);
    if (known === undefined) this.leaders.set(status.epoch, status.id);
    else if (known !== status.id && this.found.length < violationsMax) {
      this.found.push({ invariant: this.name, timeUs: context.timeUs, message: `replicas ${known} and ${status.id} both led term ${status.epoch}` });
    }
  }

  violations(): readonly InvariantViolation[] {
    return this.found;
  }
}

/**
 * CommittedEntryMonitor checks State Machine Safety and Leader Completeness
 * as far as they show from outside (§5.4, Figure 3): once any replica has
 * committed an entry at an index, every replica that commits that index
 * commits an entry of the same term there, and no replica's commit index goes
 * back while it runs.
 */
export class CommittedEntryMonitor implements InvariantMonitor<RaftMessage> {
  /** name is the invariant this monitor reports violations under. */
  readonly name = "raft-committed-entry-stable";
  private readonly termAt: number[] = [];
  private readonly checkedUpTo = new WeakMap<Replica<RaftMessage>, number>();
  private readonly found: InvariantViolation[] = [];

  observeReplica(replica: Replica<RaftMessage>, context: MonitorEventContext): void {
    if (!(replica instanceof RaftReplica) || context.faulty) return;
    const commit = replica.status().commitIndex;
    const checked = this.checkedUpTo.get(replica) ?? replica.snapshotIndex();
    if (commit < checked) {
      this.report(context, `replica ${replica.id}'s commit index went back from ${checked} to ${commit}`);
      this.checkedUpTo.set(replica, commit);
      return;
    }
    for (let index = Math.max(checked, replica.snapshotIndex()) + 1; index <= commit; index++) {
      const term = replica.entryTerm(index);
      if (term === undefined) continue;
      const known = this.termAt[index];
      if (known === undefined) this.termAt[index] = term;
      else if (known !== term) this.report(context, `replica ${replica.id} committed term ${term} at index ${index}, where term ${known} was committed`);
    }
    this.checkedUpTo.set(replica, commit);
  }

  private report(context: MonitorEventContext, message: string): void {
    if (this.found.length < violationsMax) this.found.push({ invariant: this.name, timeUs: context.timeUs, message });
  }

  violations(): readonly InvariantViolation[] {
    return this.found;
  }
}

/** createRaftMonitors returns fresh monitors for one run. */
export function createRaftMonitors(): InvariantMonitor<RaftMessage>[] {
  return [new LeaderPerTermMonitor(), new CommittedEntryMonitor()];
}
