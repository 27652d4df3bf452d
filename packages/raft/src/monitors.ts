import type { InvariantMonitor, InvariantViolation, MonitorEventContext, NodeId, Replica } from "@concord/core";
import type { ClusterConfig } from "./cluster-config.ts";
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

/**
 * ConfigurationMonitor follows each replica's configuration (issue 21):
 * every configuration a replica holds, in force or only in its log, keeps
 * the Invariant of cluster-config.ts (no node is a voter, in either half of
 * a joint configuration, and a learner at once: a demotion is refused, since
 * a node that counts as an outgoing voter while it takes itself for a
 * learner breaks the quorum arithmetic); and a leader tells a node to
 * campaign (TimeoutNow, thesis §3.10) only while the latest configuration in
 * its log keeps that node a voter (among the incoming voters of a joint
 * one), since a node whose removal is in the log would campaign under the
 * configuration it has not yet applied (thesis §4.2.3).
 */
export class ConfigurationMonitor implements InvariantMonitor<RaftMessage> {
  /** name is the invariant this monitor reports violations under. */
  readonly name = "raft-configuration";
  /** replicas are the replicas as last observed, by id, so that a send can be judged against its sender's log. */
  private readonly replicas = new Map<NodeId, RaftReplica>();
  private readonly found: InvariantViolation[] = [];

  observeReplica(replica: Replica<RaftMessage>, context: MonitorEventContext): void {
    if (!(replica instanceof RaftReplica) || context.faulty) return;
    this.replicas.set(replica.id, replica);
    this.check(replica.id, "in force", replica.configuration(), context);
    this.check(replica.id, "latest", replica.latestConfiguration(), context);
  }

  observeSend(from: NodeId, to: NodeId, message: RaftMessage, context: MonitorEventContext): void {
    if (message.type !== "timeoutNow" || context.faulty) return;
    const sender = this.replicas.get(from);
    if (sender === undefined) return;
    const latest = sender.latestConfiguration();
    if (!latest.voters.includes(to)) this.report(context, `replica ${from} sent TimeoutNow to ${to}, which the latest configuration in its log (voters [${latest.voters.join(",")}], outgoing [${latest.outgoing.join(",")}]) leaves out`);
  }

  private check(id: NodeId, which: string, config: ClusterConfig, context: MonitorEventContext): void {
    const both = config.learners.filter((node) => config.voters.includes(node) || config.outgoing.includes(node));
    if (both.length > 0) this.report(context, `replica ${id}'s configuration ${which} makes ${both.join(", ")} a voter and a learner at once`);
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
  return [new LeaderPerTermMonitor(), new CommittedEntryMonitor(), new ConfigurationMonitor()];
}
