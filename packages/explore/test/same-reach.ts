// What makes the partial-order reduction sound, as a check that reduction.test.ts
// and the larger bounds of pnpm test:explore (test-large/) share.
import { expect } from "vitest";
import { type ExploreBounds, type ExploreResult, type Strategy, type WorldSetup, defaultSometimes, explore } from "../src/index.ts";

/** StatesSeen maps each state a search added (by its identity under the reduction) to the smallest depth it was reached at. */
function statesSeen(setup: WorldSetup, bounds: ExploreBounds, strategy: Strategy, por: boolean): { result: ExploreResult; states: Map<string, number> } {
  const states = new Map<string, number>();
  const result = explore(setup, {
    bounds,
    strategy,
    por,
    sometimes: defaultSometimes(setup.algorithm.kvSemantics === "write-once"),
    onState: (world) => {
      const key = world.key("unordered");
      const known = states.get(key);
      if (known === undefined || world.depth < known) states.set(key, world.depth);
    },
  });
  return { result, states };
}

/**
 * expectSameReach runs a search with and without the reduction and requires
 * what makes the reduction sound: every state the full search reaches is
 * reached by the reduced one (under the reduction's state identity, the
 * monitors' memory read as sets), at the same smallest depth, with the same
 * verdict and the same "sometimes" properties reached at the same depth;
 * and the reduced search takes fewer actions.
 */
export function expectSameReach(setup: WorldSetup, bounds: ExploreBounds, strategy: Strategy): { full: ExploreResult; reduced: ExploreResult } {
  const full = statesSeen(setup, bounds, strategy, false);
  const reduced = statesSeen(setup, bounds, strategy, true);
  expect(reduced.result.outcome).toBe(full.result.outcome);
  const missing = [...full.states].filter(([key]) => !reduced.states.has(key));
  expect(missing).toHaveLength(0);
  const deeper = [...full.states].filter(([key, depth]) => (reduced.states.get(key) ?? depth) !== depth);
  expect(deeper).toHaveLength(0);
  // Nothing beyond the full search's states either: the reduction's identity merges only monitor orders.
  expect(reduced.states.size).toBe(full.states.size);
  expect(reduced.result.uniqueStates).toBe(full.states.size);
  expect(reduced.result.sometimes).toEqual(full.result.sometimes);
  expect(reduced.result.slept).toBeGreaterThan(0);
  expect(reduced.result.transitions).toBeLessThan(full.result.transitions);
  return { full: full.result, reduced: reduced.result };
}
