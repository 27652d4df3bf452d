import { describe, expect, it } from "vitest";
import type { AnyAlgorithm, Replica } from "@concord/core";
import { multipaxos } from "@concord/multipaxos";
import { paxos } from "@concord/paxos";
import { pbft } from "@concord/pbft";
import { raft } from "@concord/raft";
import {
  type ExploreBounds,
  type ExploreResult,
  type ProtocolSymmetry,
  type WorldSetup,
  World,
  cloneGraph,
  defaultBounds,
  defaultSometimes,
  explore,
  protocolSymmetries,
  symmetricKey,
  symmetryGroup,
  worldSetup,
} from "../src/index.ts";

const raftOptions = { preVote: false, checkQuorum: false };

/** orbitsOf runs one search and keys every state it adds by its orbit (symmetricKey), keeping the smallest depth each orbit was reached at. */
function orbitsOf(setup: WorldSetup, bounds: ExploreBounds, por: boolean, symmetry: boolean | ProtocolSymmetry, spec?: ProtocolSymmetry, strategy: "bfs" | "dfs" = "bfs"): { result: ExploreResult; orbits: Map<string, number> } {
  const orbits = new Map<string, number>();
  const result = explore(setup, {
    bounds,
    strategy,
    por,
    symmetry,
    sometimes: defaultSometimes(setup.algorithm.kvSemantics === "write-once"),
    onState: (world) => {
      const { key } = symmetricKey(world, bounds, spec);
      const known = orbits.get(key);
      if (known === undefined || world.depth < known) orbits.set(key, world.depth);
    },
  });
  return { result, orbits };
}

/**
 * expectSameOrbits is the soundness check of the reduction: the full search
 * of the symmetric model (every state, no reduction) and the reduced one
 * reach the same orbits, each at the same smallest depth, with the same
 * verdict and the same "sometimes" properties; and the reduced search visits
 * one state per orbit. A renaming that missed a field, or a group with a
 * permutation the model does not commute with, merges two states that are
 * not renamings of each other, and the successors of the one not expanded
 * go missing here.
 */
function expectSameOrbits(setup: WorldSetup, bounds: ExploreBounds, por: boolean): { full: ExploreResult; reduced: ExploreResult } {
  const model = { ...setup, symmetricStreams: true };
  const full = orbitsOf(model, bounds, por, false);
  const reduced = orbitsOf(model, bounds, por, true);
  expect(reduced.result.outcome).toBe(full.result.outcome);
  expect([...full.orbits].filter(([key]) => !reduced.orbits.has(key))).toHaveLength(0);
  expect([...full.orbits].filter(([key, depth]) => reduced.orbits.get(key) !== depth)).toHaveLength(0);
  expect(reduced.orbits.size).toBe(full.orbits.size);
  expect(reduced.result.uniqueStates).toBe(full.orbits.size);
  expect(reduced.result.sometimes).toEqual(full.result.sometimes);
  return { full: full.result, reduced: reduced.result };
}

describe("symmetry reduction", () => {
  it("reaches every orbit of Raft's elections and crashes, with and without the partial-order reduction, visiting about a sixth of the states", () => {
    const setup = worldSetup(raft, { nodes: 3, clients: 0, options: raftOptions });
    const bounds: ExploreBounds = { ...defaultBounds, timeoutsPerNodeMax: 1, crashesMax: 1, depthMax: 4 };
    for (const por of [false, true]) {
      const { full, reduced } = expectSameOrbits(setup, bounds, por);
      expect(reduced.uniqueStates * 4).toBeLessThan(full.uniqueStates);
      expect(reduced.symmetric).toBe(reduced.uniqueStates);
    }
  });

  it("reaches every orbit depth-first too, each at its smallest depth (a state reached again by a shorter path is expanded again)", () => {
    const setup = { ...worldSetup(raft, { nodes: 3, clients: 0, options: raftOptions }), symmetricStreams: true };
    const bounds: ExploreBounds = { ...defaultBounds, timeoutsPerNodeMax: 1, crashesMax: 1, depthMax: 4 };
    const full = orbitsOf(setup, bounds, true, false);
    const reduced = orbitsOf(setup, bounds, true, true, undefined, "dfs");
    expect(reduced.result.outcome).toBe("exhausted");
    expect([...full.orbits].filter(([key, depth]) => reduced.orbits.get(key) !== depth)).toHaveLength(0);
    expect(reduced.orbits.size).toBe(full.orbits.size);
  });

  it("reaches every orbit of Paxos with one client's put and get, where the two acceptors its replica does not ask first are interchangeable", () => {
    const setup = worldSetup(paxos, { nodes: 3, clients: 1, ops: 2 });
    const bounds: ExploreBounds = { ...defaultBounds, timeoutsPerNodeMax: 0, inflightMessagesMax: 20 };
    const { full, reduced } = expectSameOrbits(setup, bounds, true);
    expect(full.outcome).toBe("exhausted");
    expect(reduced.uniqueStates * 1.5).toBeLessThan(full.uniqueStates);
  });

  it("reaches every orbit of Paxos with a crash, where the disk's records are renamed too", () => {
    const setup = worldSetup(paxos, { nodes: 3, clients: 1, ops: 1 });
    expectSameOrbits(setup, { ...defaultBounds, timeoutsPerNodeMax: 0, crashesMax: 1, depthMax: 8, inflightMessagesMax: 20 }, true);
  });

  it("is caught by the orbit check when a protocol's renaming misses a field: Raft without its vote", () => {
    const own = protocolSymmetries.get("raft") as ProtocolSymmetry;
    const fields = new Map(own.fields);
    fields.delete("vote");
    const wrong: ProtocolSymmetry = { ...own, fields };
    const setup = { ...worldSetup(raft, { nodes: 3, clients: 0, options: raftOptions }), symmetricStreams: true };
    const bounds: ExploreBounds = { ...defaultBounds, timeoutsPerNodeMax: 1, depthMax: 5 };
    const full = orbitsOf(setup, bounds, false, false, wrong);
    const reduced = orbitsOf(setup, bounds, false, wrong, wrong);
    expect([...full.orbits.keys()].filter((key) => !reduced.orbits.has(key)).length).toBeGreaterThan(0);
  });

  it("keeps the identity alone where ids are ordered or named: Multi-Paxos, PBFT, an ordered network, membership changes, a client that may restart, an active client of a protocol that redirects (rotations only)", () => {
    const group = (setup: WorldSetup, bounds: ExploreBounds = defaultBounds): number => symmetryGroup(World.initial(setup).symmetryView(), setup, bounds).length;
    expect(group(worldSetup(multipaxos, { nodes: 3, clients: 0 }))).toBe(1);
    expect(group(worldSetup(pbft, { nodes: 4, clients: 0 }))).toBe(1);
    expect(group(worldSetup(raft, { nodes: 3, clients: 0, ordered: true }))).toBe(1);
    expect(group(worldSetup(raft, { nodes: 3, clients: 0 }), { ...defaultBounds, reconfigurationsMax: 1 })).toBe(1);
    expect(group(worldSetup(raft, { nodes: 3, clients: 1 }), { ...defaultBounds, clientRestartsMax: 1 })).toBe(1);
    expect(group(worldSetup(raft, { nodes: 3, clients: 1 }))).toBe(3);
    expect(group(worldSetup(raft, { nodes: 3, clients: 0 }))).toBe(6);
    // Paxos's client sends to one replica, which will own the ballots: the other two are interchangeable.
    expect(group(worldSetup(paxos, { nodes: 3, clients: 1 }), { ...defaultBounds, timeoutsPerNodeMax: 0 })).toBe(2);
    // A client that may time out moves to the next replica in id order: with a fixed replica, nothing is left.
    expect(group(worldSetup(paxos, { nodes: 3, clients: 1 }), { ...defaultBounds, timeoutsPerNodeMax: 1 })).toBe(1);
  });

  it("finds a planted Paxos bug at the same shortest depth, and refuses the eventually check", () => {
    const planted: AnyAlgorithm = {
      ...paxos,
      createReplica(context) {
        const replica = paxos.createReplica(context) as Replica<{ type: string }>;
        const own = Object.getPrototypeOf(replica) as Replica<{ type: string }>;
        // The proposer never hears of an earlier acceptance: PMS §2.2's rule broken (a copy with its prototype, where a
        // decoded message may keep default fields; through `this`, so that a forked copy steps itself).
        replica.step = function (this: Replica<{ type: string }>, from, message) {
          own.step.call(this, from, message.type === "promise" ? Object.assign(cloneGraph(message), { hasAccepted: false }) : message);
        };
        return replica as Replica<unknown>;
      },
    };
    const setup = worldSetup(planted, { nodes: 3, clients: 2, ops: 1 });
    const bounds: ExploreBounds = { ...defaultBounds, timeoutsPerNodeMax: 0, inflightMessagesMax: 20, depthMax: 10 };
    const plain = explore(setup, { bounds, strategy: "bfs", por: true });
    const reduced = explore(setup, { bounds, strategy: "bfs", por: true, symmetry: true });
    expect(plain.outcome).toBe("violation");
    expect(reduced.outcome).toBe("violation");
    expect(reduced.violation?.steps.length).toBe(plain.violation?.steps.length);
    expect(() => explore(setup, { bounds, strategy: "bfs", symmetry: true, eventually: 100 })).toThrow(/eventually/);
  });
});
