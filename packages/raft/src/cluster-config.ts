import { firstClientId, unreachable, type NodeId } from "@concord/core";

/**
 * ClusterConfig is a Raft configuration (thesis §4). `outgoing` is non-empty
 * only in a joint configuration C_old,new, where decisions need a majority of
 * `voters` and a majority of `outgoing` (thesis §4.3). Learners receive the
 * log but neither vote nor count towards commitment.
 *
 * Invariant: the three lists are sorted, and no node is both a voter (in
 * either half) and a learner.
 */
export interface ClusterConfig {
  /** voters are the voters (C_new while joint), sorted. */
  readonly voters: readonly NodeId[];
  /** outgoing are the voters of C_old while joint (thesis §4.3), else empty. */
  readonly outgoing: readonly NodeId[];
  /** learners are members that receive the log but neither vote nor count towards commitment. */
  readonly learners: readonly NodeId[];
}

/** ConfigChange is one step of a membership change: add or remove a voter, or add a learner. */
export type ConfigChange =
  | { readonly type: "addVoter"; readonly node: NodeId }
  | { readonly type: "removeVoter"; readonly node: NodeId }
  | { readonly type: "addLearner"; readonly node: NodeId }
  | { readonly type: "removeLearner"; readonly node: NodeId };

/** sortedIds returns the distinct ids in ascending order. */
export function sortedIds(ids: Iterable<NodeId>): NodeId[] {
  return [...new Set(ids)].sort((a, b) => a - b);
}

/** isJoint tells whether a configuration is a joint C_old,new. */
export function isJoint(config: ClusterConfig): boolean {
  return config.outgoing.length > 0;
}

/** isVoter tells whether `id` votes in either half of `config`. */
export function isVoter(config: ClusterConfig, id: NodeId): boolean {
  return config.voters.includes(id) || config.outgoing.includes(id);
}

/** members lists every node of `config`: voters of both halves and learners, ascending. */
export function members(config: ClusterConfig): NodeId[] {
  return sortedIds([...config.voters, ...config.outgoing, ...config.learners]);
}

/** sameConfig compares two configurations. */
export function sameConfig(a: ClusterConfig, b: ClusterConfig): boolean {
  const same = (x: readonly NodeId[], y: readonly NodeId[]): boolean => x.length === y.length && x.every((v, i) => v === y[i]);
  return same(a.voters, b.voters) && same(a.outgoing, b.outgoing) && same(a.learners, b.learners);
}

/** ConfigPlan is the configuration a change leads to, or why it cannot be made. */
export type ConfigPlan = { readonly kind: "ok"; readonly config: ClusterConfig } | { readonly kind: "invalid"; readonly reason: string };

/**
 * planConfigChange computes the configuration that `changes` lead to from
 * `current`. One voter added or removed is a single-server change (thesis
 * §4.1), installed directly; anything that changes the voters by more than
 * one node enters the joint configuration C_old,new (thesis §4.3), which the
 * leader leaves on its own once it is applied.
 */
export function planConfigChange(current: ClusterConfig, changes: readonly ConfigChange[], forceJoint: boolean): ConfigPlan {
  if (isJoint(current)) return { kind: "invalid", reason: "a joint configuration must be left before another change" };
  if (changes.length === 0) return { kind: "invalid", reason: "no change" };
  const voters = new Set(current.voters);
  const learners = new Set(current.learners);
  for (const change of changes) {
    if (!Number.isSafeInteger(change.node) || change.node < 0 || change.node >= firstClientId) {
      return { kind: "invalid", reason: `${change.node} is not a replica id` };
    }
    switch (change.type) {
      case "addVoter":
        learners.delete(change.node);
        voters.add(change.node);
        break;
      case "removeVoter":
        if (!voters.has(change.node)) return { kind: "invalid", reason: `node ${change.node} is not a voter` };
        voters.delete(change.node);
        break;
      case "addLearner":
        // Demotion would need a node to be an outgoing voter and a learner at
        // once, also when the same change removes it as a voter first; remove
        // it instead, then add it as a learner in a later change.
        if (voters.has(change.node) || current.voters.includes(change.node)) return { kind: "invalid", reason: `node ${change.node} is a voter: remove it rather than demote it` };
        learners.add(change.node);
        break;
      case "removeLearner":
        if (!learners.has(change.node)) return { kind: "invalid", reason: `node ${change.node} is not a learner` };
        learners.delete(change.node);
        break;
      default:
        unreachable(change);
    }
  }
  if (voters.size === 0) return { kind: "invalid", reason: "a configuration needs at least one voter" };
  const next = { voters: sortedIds(voters), outgoing: [], learners: sortedIds(learners) };
  if (sameConfig(next, current)) return { kind: "invalid", reason: "the change leaves the configuration as it is" };
  const added = next.voters.filter((v) => !current.voters.includes(v)).length;
  const removed = current.voters.filter((v) => !next.voters.includes(v)).length;
  if (!forceJoint && added + removed <= 1) return { kind: "ok", config: next };
  if (added + removed === 0) return { kind: "ok", config: next };
  return { kind: "ok", config: { voters: next.voters, outgoing: [...current.voters], learners: next.learners } };
}
