// `pnpm test:explore`: the model checker at larger bounds than `pnpm test` runs
// (each search here takes a minute or more, so they are kept out of it). Every
// search is breadth-first with the partial-order reduction, as `concord explore`
// runs by default; each must exhaust its bounds with no violation and reach
// what makes the pass not vacuous. docs/explore.md ("pnpm test:explore") gives
// the counts and times measured.
import { describe, expect, it } from "vitest";
import { multipaxos } from "@concord/multipaxos";
import { paxos } from "@concord/paxos";
import { pbft } from "@concord/pbft";
import { raft } from "@concord/raft";
import { type ExploreBounds, type ExploreResult, type WorldSetup, defaultBounds, defaultSometimes, explore, worldSetup } from "../src/index.ts";
import { expectSameReach } from "../test/same-reach.ts";

const raftOptions = { preVote: false, checkQuorum: false };

/** exhaust explores `setup` within `bounds` with the reduction (and the bounded "eventually" check when given) and requires no violation, to the end. */
function exhaust(setup: WorldSetup, bounds: ExploreBounds, eventually?: number): ExploreResult {
  const result = explore(setup, { bounds, strategy: "bfs", por: true, sometimes: defaultSometimes(setup.algorithm.kvSemantics === "write-once"), ...(eventually === undefined ? {} : { eventually }) });
  expect(result.violation, `${result.violation?.property}: ${result.violation?.message}`).toBeUndefined();
  expect(result.outcome).toBe("exhausted");
  expect(result.sometimes.find((property) => property.name === "a replica commits")?.reached).toBe(true);
  // The counts, for docs/explore.md's table of this suite (the assertions above are the test).
  const eventuallySteps = result.eventually === undefined ? "" : `, ${result.eventually.steps.toLocaleString("en-US")} continuation steps`;
  console.log(`${setup.algorithm.name}: ${result.uniqueStates.toLocaleString("en-US")} unique states, ${result.transitions.toLocaleString("en-US")} actions, deepest ${result.depthReached}${eventuallySteps}, ${(result.elapsedMs / 1000).toFixed(1)} s`);
  return result;
}

describe("exhaustive within larger bounds, no violation", () => {
  it("single-decree Paxos, 3 acceptors, 2 clients of one put, no timeouts, no depth or in-flight bound: the whole model (Stateright's example counts 16,668; docs/explore.md says why we count more)", () => {
    const result = exhaust(worldSetup(paxos, { nodes: 3, clients: 2, ops: 1 }), { ...defaultBounds, timeoutsPerNodeMax: 0, depthMax: 1000, inflightMessagesMax: Number.POSITIVE_INFINITY });
    expect(Object.values(result.cutBy).filter((count) => count > 0)).toHaveLength(1); // only the timeouts bound (0) cuts
    expect(result.sometimes.every((property) => property.name === "a replica leads" || property.reached)).toBe(true);
  });

  it("Raft, 3 nodes, 1 put, 1 crash, 1 timeout per node, depth <= 7", () => {
    exhaust(worldSetup(raft, { nodes: 3, clients: 1, ops: 1, options: raftOptions }), { ...defaultBounds, timeoutsPerNodeMax: 1, crashesMax: 1, depthMax: 7 });
  });

  it("Multi-Paxos, 3 nodes, 1 put, 1 crash, 1 timeout per node, depth <= 7", () => {
    exhaust(worldSetup(multipaxos, { nodes: 3, clients: 1, ops: 1 }), { ...defaultBounds, timeoutsPerNodeMax: 1, crashesMax: 1, depthMax: 7 });
  });

  it("PBFT, 4 replicas, 1 put, no timeouts, depth <= 10", () => {
    exhaust(worldSetup(pbft, { nodes: 4, clients: 1, ops: 1 }), { ...defaultBounds, timeoutsPerNodeMax: 0, depthMax: 10 });
  });
});

describe("bounded eventually within larger bounds", () => {
  it("Raft, 3 nodes, 1 put, 1 crash, 1 timeout per node, depth <= 6: with no fault after any state, the put completes within 300 steps", () => {
    const result = exhaust(worldSetup(raft, { nodes: 3, clients: 1, ops: 1, options: raftOptions }), { ...defaultBounds, timeoutsPerNodeMax: 1, crashesMax: 1, depthMax: 6 }, 300);
    expect(result.eventually?.checked).toBe(result.uniqueStates);
  });

  it("single-decree Paxos, 2 clients of one put, 1 crash, no timeouts, depth <= 10: both puts complete within 300 steps", () => {
    exhaust(worldSetup(paxos, { nodes: 3, clients: 2, ops: 1 }), { ...defaultBounds, timeoutsPerNodeMax: 0, crashesMax: 1, depthMax: 10, inflightMessagesMax: 8 }, 300);
  });
});

describe("the partial-order reduction loses no state at larger bounds", () => {
  it("Raft, 3 nodes, 2 clients of one put, 1 crash, 1 timeout per node, depth <= 6", () => {
    expectSameReach(worldSetup(raft, { nodes: 3, clients: 2, ops: 1, options: raftOptions }), { ...defaultBounds, timeoutsPerNodeMax: 1, crashesMax: 1, depthMax: 6 }, "bfs");
  });

  it("single-decree Paxos, 2 clients of one put, no timeouts, depth <= 12, in-flight <= 30", () => {
    expectSameReach(worldSetup(paxos, { nodes: 3, clients: 2, ops: 1 }), { ...defaultBounds, timeoutsPerNodeMax: 0, depthMax: 12, inflightMessagesMax: 30 }, "bfs");
  });
});
