import { type AnyAlgorithm, type MembershipChange, type NodeId, type Rng } from "@concord/core";
import type { Cluster } from "./cluster.ts";
import type { SimContext } from "./context.ts";
import type { Fault } from "./scenario.ts";

/** OperationFault is a scenario's operation on the cluster: a leadership transfer or a membership change. */
export type OperationFault = Extract<Fault, { type: "transfer" | "reconfigure" }>;

/** operationRetryUs is how long an operation waits for a leader busy with a Ready (or paused) before it asks again. */
const operationRetryUs = 1000;

/** operationAttemptsMax bounds how often one operation waits for a busy leader before it gives up. */
const operationAttemptsMax = 50;

/**
 * ClusterOperations asks the leader, through the algorithm's admin hook, for
 * the scenario's leadership transfers and membership changes, racing the
 * faults.
 */
export class ClusterOperations {
  /** attempts counts how often an operation waited for a busy leader, by fault index. */
  private readonly attempts = new Map<number, number>();
  /** removing is the voter that the last membership change asked to remove (the target of a transfer `to: "removed"`). */
  private removing: NodeId | undefined;

  constructor(
    private readonly context: SimContext,
    private readonly cluster: Cluster,
    private readonly algorithm: AnyAlgorithm,
    private readonly faultRng: Rng,
  ) {}

  /**
   * fire asks the leader for the operation. A leader busy with a Ready (or
   * paused) cannot be called: the operation is queued again a millisecond
   * later, up to {@link operationAttemptsMax} times ("retry").
   */
  fire(index: number, fault: OperationFault): "done" | "retry" {
    const context = this.context;
    const admin = this.algorithm.admin;
    const leaderId = this.cluster.currentLeader();
    if (admin?.membership === undefined || (fault.type === "transfer" ? admin.transferLeadership : admin.reconfigure) === undefined) {
      context.logFault(fault.type, [], "(the algorithm has no admin hook for it)");
      context.noEffect(fault, `${this.algorithm.name} has no admin hook for it`);
      return "done";
    }
    if (leaderId === undefined) {
      context.logFault(fault.type, [], "(no leader)");
      context.noEffect(fault, "no leader to ask");
      return "done";
    }
    const leader = this.cluster.node(leaderId);
    const host = leader.host;
    if (host === undefined || host.busy || leader.paused) {
      const attempts = (this.attempts.get(index) ?? 0) + 1;
      this.attempts.set(index, attempts);
      if (attempts <= operationAttemptsMax) {
        context.queue.push(context.nowUs + operationRetryUs, { kind: "fault", index });
        return "retry";
      }
      context.logFault(fault.type, [leaderId], "(the leader stayed busy)");
      context.noEffect(fault, "the leader stayed busy");
      return "done";
    }
    const replica = host.replica;
    const membership = admin.membership(replica);
    this.cluster.activeNode = leader;
    let outcome: { accepted: boolean; detail: string } | undefined;
    let what: string;
    if (fault.type === "transfer") {
      const followers = membership.voters.filter((id) => id !== leaderId);
      const chosen =
        fault.to === undefined
          ? followers
          : fault.to === "removed"
            ? [this.removing].filter((id): id is NodeId => id !== undefined && id !== leaderId)
            : this.cluster.select(fault.to, this.faultRng).filter((id) => id !== leaderId);
      const target = chosen.length === 0 ? undefined : (chosen[this.faultRng.nextInt(chosen.length)] as NodeId);
      what = `transfer ${leaderId} -> ${target ?? "nobody"}`;
      if (target !== undefined) outcome = admin.transferLeadership?.(replica, target);
    } else {
      const keep = fault.keep !== undefined ? this.cluster.select(fault.keep, this.faultRng) : [];
      const changes = this.planChanges(fault.change, membership, leaderId, keep);
      what = `reconfigure ${fault.change}${fault.joint ? " (joint)" : ""}: ${changes.map((change) => `${change.type} ${change.node}`).join(", ") || "nothing to change"}`;
      if (changes.length > 0) outcome = admin.reconfigure?.(replica, changes, { joint: fault.joint });
      // Asked, accepted or not: a transfer racing this change aims at the voter it removes, as an operator's script would.
      const removed = changes.find((change) => change.type === "removeVoter");
      if (removed !== undefined) this.removing = removed.node;
    }
    this.cluster.afterReplicaEvent(leader, 0);
    this.cluster.activeNode = undefined;
    context.logFault(what, [leaderId], outcome === undefined ? "" : `(${outcome.detail})`);
    if (outcome?.accepted === true) context.openFault(fault.type, [leaderId], true);
    if (outcome === undefined || !outcome.accepted) context.noEffect(fault, outcome?.detail ?? what);
    return "done";
  }

  /** planChanges resolves a named membership change against the membership in force. */
  private planChanges(
    change: Extract<Fault, { type: "reconfigure" }>["change"],
    membership: { voters: readonly NodeId[]; learners: readonly NodeId[] },
    leader: NodeId,
    keep: readonly NodeId[],
  ): MembershipChange[] {
    const rng = this.faultRng;
    const pick = (ids: readonly NodeId[]): NodeId | undefined => (ids.length === 0 ? undefined : ids[rng.nextInt(ids.length)]);
    const outsiders = this.cluster.allReplicaIds.filter((id) => !membership.voters.includes(id) && !membership.learners.includes(id) && !this.cluster.node(id).stopped);
    const followers = membership.voters.filter((id) => id !== leader);
    switch (change) {
      case "add-voter": {
        const node = pick(outsiders);
        return node === undefined ? [] : [{ type: "addVoter", node }];
      }
      case "remove-voter": {
        const node = pick(followers);
        return node === undefined ? [] : [{ type: "removeVoter", node }];
      }
      case "remove-leader":
        return membership.voters.length > 1 ? [{ type: "removeVoter", node: leader }] : [];
      case "demote": {
        // One change that removes a voter and adds it as a learner: a demotion, which must be refused.
        const node = pick(followers);
        return node === undefined ? [] : [{ type: "removeVoter", node }, { type: "addLearner", node }];
      }
      case "add-learner": {
        const node = pick(outsiders);
        return node === undefined ? [] : [{ type: "addLearner", node }];
      }
      case "promote-learner": {
        const node = pick(membership.learners);
        return node === undefined ? [] : [{ type: "addVoter", node }];
      }
      case "replace": {
        // Replace a majority of the voters (the leader among the candidates, the kept replica not) by outsiders, as far as
        // there are outsiders.
        const leaving = membership.voters.filter((id) => !keep.includes(id));
        const count = Math.min(outsiders.length, leaving.length, Math.floor(membership.voters.length / 2) + 1);
        const arriving = [...outsiders];
        const changes: MembershipChange[] = [];
        for (let i = 0; i < count; i++) {
          const out = leaving.splice(rng.nextInt(leaving.length), 1)[0] as NodeId;
          const into = arriving.splice(rng.nextInt(arriving.length), 1)[0] as NodeId;
          changes.push({ type: "removeVoter", node: out }, { type: "addVoter", node: into });
        }
        return changes;
      }
    }
  }
}
