import { type MembershipChange, type NodeId } from "@concord/core";
import type { ExploreBounds, BoundName } from "./search.ts";
import type { Action, World } from "./world.ts";

/**
 * operatorActions lists the model's actions beyond the network, the clocks
 * and the crashes (issue 20's "missing actions"), each within its bound:
 *
 * - a client restart (`clientRestartsMax`, restarts on one path): every
 *   client may lose its session and start again under its old id;
 * - a membership change (`reconfigurationsMax`, changes asked on one path),
 *   asked of each replica that leads now, for an algorithm whose admin hook
 *   has one: remove each other voter; demote each other voter in one change
 *   (removeVoter and addLearner of one node, which a correct protocol
 *   refuses: the model then adds no state); add each node outside the
 *   configuration (a spare, or one removed) as a voter and as a learner;
 *   promote each learner; replace each other voter by each node outside
 *   the configuration (removeVoter and addVoter in one change); replace a
 *   majority of the voters, or more, the leader among them or not, by as
 *   many nodes outside the configuration in one change. Each is asked twice, with `joint: false` (a
 *   protocol that needs a joint configuration for it makes one itself) and
 *   with `joint: true` (forced through a joint configuration where the
 *   protocol has one; a protocol without joint configurations ignores it,
 *   and both reach one state).
 * - a leadership transfer (`transfersMax`, transfers asked on one path),
 *   asked of each replica that leads now, to every other replica, members or
 *   not (a transfer to a node the configuration leaves out must be refused).
 *
 * A bound left out, or 0, offers none of its actions.
 */
export function operatorActions(world: World, bounds: ExploreBounds, cut: Record<BoundName, number>): Action[] {
  const actions: Action[] = [];
  const spent = world.spent();
  const restartsMax = bounds.clientRestartsMax ?? 0;
  if (restartsMax > 0) {
    for (const client of world.clientIds()) {
      if (spent.clientRestarts < restartsMax) actions.push({ kind: "client-restart", client });
      else cut.clientRestartsMax = (cut.clientRestartsMax ?? 0) + 1;
    }
  }
  const admin = world.setup.algorithm.admin;
  const reconfigurationsMax = bounds.reconfigurationsMax ?? 0;
  const transfersMax = bounds.transfersMax ?? 0;
  if (admin?.membership === undefined || (reconfigurationsMax === 0 && transfersMax === 0)) return actions;
  const nodes = Array.from({ length: world.nodeCount() }, (_, id) => id);
  for (const leader of nodes) {
    const role = world.status(leader)?.role;
    if (role !== "leader" && role !== "primary") continue;
    const replica = world.replica(leader) as Parameters<typeof admin.membership>[0];
    if (admin.reconfigure !== undefined && reconfigurationsMax > 0) {
      if (spent.reconfigurations < reconfigurationsMax) {
        for (const changes of membershipChanges(admin.membership(replica), nodes, leader)) {
          for (const joint of [false, true]) actions.push({ kind: "reconfigure", node: leader, changes, joint });
        }
      } else cut.reconfigurationsMax = (cut.reconfigurationsMax ?? 0) + 1;
    }
    if (admin.transferLeadership !== undefined && transfersMax > 0) {
      if (spent.transfers < transfersMax) {
        for (const target of nodes) if (target !== leader) actions.push({ kind: "transfer", node: leader, target });
      } else cut.transfersMax = (cut.transfersMax ?? 0) + 1;
    }
  }
  return actions;
}

/** membershipChanges lists the changes an operator may ask `leader` for, given the membership it holds (see operatorActions). */
export function membershipChanges(membership: { readonly voters: readonly NodeId[]; readonly learners: readonly NodeId[] }, nodes: readonly NodeId[], leader: NodeId): MembershipChange[][] {
  const changes: MembershipChange[][] = [];
  for (const node of membership.voters) {
    if (node === leader) continue;
    changes.push([{ type: "removeVoter", node }]);
    changes.push([
      { type: "removeVoter", node },
      { type: "addLearner", node },
    ]);
  }
  for (const node of nodes) {
    if (membership.voters.includes(node) || membership.learners.includes(node)) continue;
    changes.push([{ type: "addVoter", node }]);
    changes.push([{ type: "addLearner", node }]);
  }
  for (const node of membership.learners) changes.push([{ type: "addVoter", node }]);
  // A replacement in one change: another voter leaves as a node outside the configuration joins (the simulator's `replace`, of one voter).
  for (const leaving of membership.voters) {
    if (leaving === leader) continue;
    for (const joining of nodes) {
      if (membership.voters.includes(joining) || membership.learners.includes(joining)) continue;
      changes.push([
        { type: "removeVoter", node: leaving },
        { type: "addVoter", node: joining },
      ]);
    }
  }
  // A majority replaced in one change (the simulator's `replace` of several voters): every set of voters at least a
  // majority of the configuration, the leader among them or not, leaves as as many nodes outside it join (the lowest
  // ids: nodes outside the configuration are interchangeable here), when there are enough of them.
  const outside = nodes.filter((node) => !membership.voters.includes(node) && !membership.learners.includes(node));
  const majority = Math.floor(membership.voters.length / 2) + 1;
  for (const leaving of subsets(membership.voters)) {
    if (leaving.length < Math.max(2, majority) || leaving.length > outside.length) continue;
    changes.push([...leaving.map((node): MembershipChange => ({ type: "removeVoter", node })), ...outside.slice(0, leaving.length).map((node): MembershipChange => ({ type: "addVoter", node }))]);
  }
  return changes;
}

/** subsets lists every non-empty subset of `items`, smaller ones first, each in the items' order. */
function subsets<T>(items: readonly T[]): T[][] {
  const all: T[][] = [];
  for (let mask = 1; mask < 1 << items.length; mask++) all.push(items.filter((_, index) => (mask & (1 << index)) !== 0));
  return all.sort((a, b) => a.length - b.length);
}

/** describeChanges writes a membership change as its steps. */
export function describeChanges(changes: readonly MembershipChange[]): string {
  return changes.map((change) => `${change.type} ${change.node}`).join(" + ");
}

/**
 * partitionActions lists the lasting partitions (`partitionsMax`, cuts made on one path): while the network is
 * whole, a cut of each replica of the initial configuration, alone or with any set of the clients, from all the
 * others (a replica isolated, or a client that reaches one replica and nothing else: the schedules of the
 * availability bugs of stale reads and of a message held for an election); while a cut stands, its heal. A cut of
 * several replicas is not offered (it would multiply the branching; a minority of one is the case of n = 3).
 */
export function partitionActions(world: World, bounds: ExploreBounds, cut: Record<BoundName, number>): Action[] {
  const partitionsMax = bounds.partitionsMax ?? 0;
  if (partitionsMax === 0) return [];
  if (world.partitioned() !== undefined) return [{ kind: "heal" }];
  if (world.spent().partitions >= partitionsMax) {
    cut.partitionsMax = (cut.partitionsMax ?? 0) + 1;
    return [];
  }
  const clients = world.clientIds();
  const actions: Action[] = [];
  for (let replica = 0; replica < world.setup.nodes; replica++) {
    for (let mask = 0; mask < 1 << clients.length; mask++) {
      actions.push({ kind: "partition", side: [replica, ...clients.filter((_, index) => (mask & (1 << index)) !== 0)] });
    }
  }
  return actions;
}
