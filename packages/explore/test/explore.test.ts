import { describe, expect, it } from "vitest";
import type { AnyAlgorithm, Replica } from "@concord/core";
import { paxos, type PaxosMessage } from "@concord/paxos";
import { raft } from "@concord/raft";
import { eventual } from "@concord/leaderless";
import { type Action, type ExploreBounds, World, checkEventually, cloneGraph, defaultBounds, defaultSometimes, enabledActions, eventuallyProperty, explore, noCuts, replay, worldSetup } from "../src/index.ts";

const raftSetup = worldSetup(raft, { nodes: 3, clients: 1, ops: 1, options: { preVote: false, checkQuorum: false } });
const deliveries = (world: World, bounds: ExploreBounds = defaultBounds): Action[] => enabledActions(world, bounds, noCuts()).filter((action) => action.kind === "deliver");

/**
 * withStep plants a bug in an algorithm's replicas: each message passes
 * through `rewrite` before the replica's own `step` sees it. The replica stays
 * the protocol's own object (its monitors read it), and the override reaches
 * it through `this`, so that a forked copy of the replica steps itself.
 */
function withStep<M>(algorithm: AnyAlgorithm, rewrite: (message: M) => M): AnyAlgorithm {
  return {
    ...algorithm,
    createReplica(context) {
      const replica = algorithm.createReplica(context) as Replica<M>;
      const own = Object.getPrototypeOf(replica) as Replica<M>;
      replica.step = function (this: Replica<M>, from, message) {
        own.step.call(this, from, rewrite(message));
      };
      return replica as Replica<unknown>;
    },
  };
}

describe("World", () => {
  it("reaches one state by two orders of deliveries to different nodes (the network is a multiset)", () => {
    const world = World.initial(raftSetup);
    world.apply({ kind: "timeout", node: 0 });
    const [first, second] = deliveries(world) as [Action, Action];
    expect(world.inFlight().map((envelope) => `${envelope.type} ${envelope.to}`)).toEqual(["requestVote 1", "requestVote 2"]);
    const one = world.fork();
    one.apply(first);
    one.apply(second);
    const two = world.fork();
    two.apply(second);
    two.apply(first);
    expect(one.key()).toBe(two.key());
    // ... and a different state from delivering only one of them.
    const half = world.fork();
    half.apply(first);
    expect(half.key()).not.toBe(one.key());
  });

  it("forks: an action on the copy leaves the original as it was", () => {
    const world = World.initial(raftSetup);
    const before = world.key();
    const copy = world.fork();
    copy.apply({ kind: "timeout", node: 1 });
    expect(copy.status(1)?.role).toBe("candidate");
    expect(world.status(1)?.role).toBe("follower");
    expect(world.key()).toBe(before);
    expect(world.inFlight()).toHaveLength(0);
  });

  it("crashes a node inside an action: before its sync the write is lost, after it the write survives and nothing was sent", () => {
    const world = World.initial(raftSetup);
    const plain = world.fork();
    const outcome = plain.apply({ kind: "timeout", node: 0 });
    expect(outcome.durableReadies).toHaveLength(1);

    const lost = world.fork();
    lost.apply({ kind: "timeout", node: 0, crash: { ready: 0, keep: 0 } });
    expect(lost.isUp(0)).toBe(false);
    expect(lost.inFlight()).toHaveLength(0);
    lost.apply({ kind: "restart", node: 0 });
    expect(lost.status(0)?.epoch).toBe(0);

    const kept = world.fork();
    kept.apply({ kind: "timeout", node: 0, crash: { ready: 0, keep: "after-sync" } });
    expect(kept.inFlight()).toHaveLength(0);
    kept.apply({ kind: "restart", node: 0 });
    expect(kept.status(0)?.epoch).toBe(1);
    expect(kept.spent().crashes).toBe(1);
  });

  it("keeps the order of sending when ordered, and counts a delivery that overtakes an older message", () => {
    const setup = worldSetup(raft, { nodes: 3, clients: 0, options: { preVote: false }, ordered: true });
    const world = World.initial(setup);
    world.apply({ kind: "timeout", node: 0 });
    const bounds = { ...defaultBounds, reorderingsMax: 0 };
    const allowed = deliveries(world, bounds);
    expect(allowed).toHaveLength(1);
    expect(allowed[0]).toEqual({ kind: "deliver", key: world.inFlight()[0]?.key });
    const overtaking = world.fork();
    overtaking.apply({ kind: "deliver", key: world.inFlight()[1]?.key ?? "" });
    expect(overtaking.spent().reorderings).toBe(1);
  });

  it("reports a replica that throws as a violation of the path, not an error of the search", () => {
    const broken = withStep<PaxosMessage>(paxos, (message) => {
      if (message.type === "accept") throw new Error("planted: accept handler crashes");
      return message;
    });
    const result = explore(worldSetup(broken, { nodes: 3, clients: 1, ops: 1 }), { bounds: { ...defaultBounds, timeoutsPerNodeMax: 0 }, strategy: "bfs" });
    expect(result.outcome).toBe("violation");
    expect(result.violation?.property).toBe("no node throws");
    expect(result.violation?.message).toContain("planted");
  });
});

describe("an algorithm that does not promise linearizability", () => {
  it("has its history left unchecked, while one that promises it fails on the same verdict", () => {
    expect(worldSetup(eventual, { nodes: 2 }).promisesLinearizability).toBe(false);
    expect(worldSetup(raft, { nodes: 3 }).promisesLinearizability).toBe(true);
    // A checker that calls every history stale: a broken promise for a store that makes it, nothing for one that does not.
    const stale = { kind: "not-linearizable" } as unknown as ReturnType<ReturnType<typeof worldSetup>["checkHistory"]>;
    const setup = { ...worldSetup(eventual, { nodes: 2, clients: 1, ops: 1 }), checkHistory: () => stale };
    const bounds = { ...defaultBounds, timeoutsPerNodeMax: 0, depthMax: 6 };
    expect(explore(setup, { bounds, strategy: "bfs" }).outcome).not.toBe("violation");
    const staleWithEvidence = { kind: "not-linearizable", evidence: { operationIds: [1], text: "stale" } } as unknown as typeof stale;
    const promised = explore({ ...setup, checkHistory: () => staleWithEvidence, promisesLinearizability: true }, { bounds, strategy: "bfs" });
    expect(promised.violation?.property).toBe("linearizable");
  });
});

describe("explore", () => {
  const bounds: ExploreBounds = { ...defaultBounds, timeoutsPerNodeMax: 0, inflightMessagesMax: 20 };

  it("exhausts single-decree Paxos with 3 acceptors and one client's put and get, breadth-first and depth-first alike", () => {
    const setup = worldSetup(paxos, { nodes: 3, clients: 1, ops: 2 });
    const bfs = explore(setup, { bounds, strategy: "bfs", sometimes: defaultSometimes(true) });
    const dfs = explore(setup, { bounds, strategy: "dfs", sometimes: defaultSometimes(true) });
    expect(bfs.outcome).toBe("exhausted");
    expect(dfs.outcome).toBe("exhausted");
    // The same states, whatever the order of the search: the state identity does not depend on the path.
    expect(dfs.uniqueStates).toBe(bfs.uniqueStates);
    expect(bfs.uniqueStates).toBeGreaterThan(1000);
    expect(bfs.sometimes.every((property) => property.reached)).toBe(true);
    expect(bfs.cutBy.depthMax).toBe(0);
    // Deterministic: a second search counts the same.
    expect(explore(setup, { bounds, strategy: "bfs" }).uniqueStates).toBe(bfs.uniqueStates);
  });

  it("finds a proposer that ignores the values in its promises (PMS §2.2) with a shortest counterexample, which replays", () => {
    // A copy with its prototype (a decoded message may keep default fields there), told it accepted nothing.
    const planted = withStep<PaxosMessage>(paxos, (message) => (message.type === "promise" ? Object.assign(cloneGraph(message), { hasAccepted: false }) : message));
    const setup = worldSetup(planted, { nodes: 3, clients: 2, ops: 1 });
    const shallow = { ...bounds, depthMax: 10 };
    const found = explore(setup, { bounds: shallow, strategy: "bfs" });
    expect(found.outcome).toBe("violation");
    expect(found.violation?.property).toBe("paxos-one-value-per-key");
    expect(found.violation?.steps).toHaveLength(10);
    const worlds = replay(setup, found.violation?.steps.map((step) => step.action) ?? []);
    expect(worlds.at(-1)?.violation?.property).toBe("paxos-one-value-per-key");
    // Breadth-first: nothing shorter exists, and the correct protocol keeps its invariant within the same bounds.
    expect(explore(setup, { bounds: { ...shallow, depthMax: 9 }, strategy: "bfs" }).outcome).toBe("exhausted");
    const correct = explore(worldSetup(paxos, { nodes: 3, clients: 2, ops: 1 }), { bounds: shallow, strategy: "bfs" });
    expect(correct.outcome).toBe("exhausted");
    expect(correct.cutBy.depthMax).toBeGreaterThan(0);
  });

  it("stops at the state limit and says so", () => {
    const result = explore(raftSetup, { bounds: { ...defaultBounds, timeoutsPerNodeMax: 1, statesMax: 200 }, strategy: "bfs" });
    expect(result.outcome).toBe("stopped");
    expect(result.uniqueStates).toBe(200);
    expect(result.cutBy.statesMax).toBe(1);
  });
});

describe("bounded eventually", () => {
  /** forgetful plants a liveness bug in a protocol's clients: they never tick, so a request the network lost is never sent again. */
  const forgetful = (algorithm: AnyAlgorithm): AnyAlgorithm => ({
    ...algorithm,
    createClient(context) {
      const client = algorithm.createClient(context);
      client.tick = () => {};
      return client;
    },
  });
  const bounds: ExploreBounds = { ...defaultBounds, timeoutsPerNodeMax: 0, dropsMax: 1, depthMax: 8 };

  it("finds a client that never retries a lost request, with the path to the fault and the fault-free continuation that leaves its put outstanding", () => {
    const setup = worldSetup(forgetful(paxos), { nodes: 3, clients: 1, ops: 1 });
    // Safety alone cannot see it: nothing wrong ever happens, the put just never completes.
    expect(explore(setup, { bounds, strategy: "bfs" }).outcome).toBe("exhausted");
    const found = explore(setup, { bounds, strategy: "bfs", eventually: 300 });
    expect(found.outcome).toBe("violation");
    expect(found.violation?.property).toBe(eventuallyProperty(300));
    expect(found.violation?.message).toContain("c0's put is outstanding");
    // The shortest path to a stuck state: invoke, and the network drops the request; then the continuation, in which nothing acts again.
    expect(found.violation?.continuationFrom).toBe(2);
    expect(found.violation?.steps.map((step) => step.action.kind)).toEqual(["invoke", "drop", "tick"]);
    const worlds = replay(setup, found.violation?.steps.map((step) => step.action) ?? []);
    expect(worlds.at(-1)?.unfinished()).toEqual(["c0's put is outstanding"]);
  });

  it("passes the correct protocol within the same bounds, checking every state it adds, and fails it when k is too small to finish", () => {
    const setup = worldSetup(paxos, { nodes: 3, clients: 1, ops: 1 });
    const plain = explore(setup, { bounds, strategy: "bfs" });
    const checked = explore(setup, { bounds, strategy: "bfs", eventually: 300 });
    expect(checked.outcome).toBe("exhausted");
    expect(checked.uniqueStates).toBe(plain.uniqueStates);
    expect(checked.eventually?.checked).toBe(checked.uniqueStates);
    expect(checked.eventually?.steps).toBeGreaterThan(checked.uniqueStates);
    // One client's put needs more than three steps from the initial state (invoke, request, prepares...): a bound too small fails at once.
    const tight = explore(setup, { bounds, strategy: "bfs", eventually: 3 });
    expect(tight.violation?.continuationFrom).toBe(0);
    expect(tight.violation?.steps).toHaveLength(3);
  });

  it("restarts a crashed replica in the continuation (recovery is no fault) and leaves the state it checked as it was", () => {
    const setup = worldSetup(raft, { nodes: 3, clients: 1, ops: 1, options: { preVote: false, checkQuorum: false } });
    const world = World.initial(setup);
    world.apply({ kind: "invoke", client: world.clientIds()[0] as number });
    world.apply({ kind: "crash", node: 0 });
    world.apply({ kind: "crash", node: 1 });
    const before = world.key();
    const outcome = checkEventually(world, 300);
    expect(outcome.failure).toBeUndefined();
    expect(outcome.steps).toBeGreaterThan(2);
    expect(world.key()).toBe(before);
    expect(world.isUp(0)).toBe(false);
  });
});
