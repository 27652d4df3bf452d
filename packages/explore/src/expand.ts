import { type BoundName, type ExploreBounds, crashPoints, enabledActions } from "./search.ts";
import type { Action, World } from "./world.ts";

/** Successor is one state an action leads to from a state being expanded. */
export interface Successor {
  readonly world: World;
  readonly action: Action;
}

/**
 * successors expands `world` as the search does without the partial-order
 * reduction: every action `enabledActions` allows, in its order, each that
 * has an effect followed by its crash points (a crash before or after each
 * of its syncs) while the crash bound allows. It counts in `cut` what a
 * bound refused and returns the actions run in `transitions`. A parallel
 * search (concord explore --jobs) expands each state with it, so that its
 * states and their order are the single search's.
 */
export function successors(world: World, bounds: ExploreBounds, cut: Record<BoundName, number>): { readonly next: Successor[]; readonly transitions: number } {
  const next: Successor[] = [];
  let transitions = 0;
  const crashesLeft = world.spent().crashes < bounds.crashesMax;
  for (const action of enabledActions(world, bounds, cut)) {
    const after = world.fork();
    const outcome = after.apply(action);
    transitions++;
    if (!outcome.effect) continue;
    next.push({ world: after, action });
    const crashable = action.kind === "deliver" || action.kind === "timeout" || action.kind === "restart";
    if (!crashable || outcome.durableReadies.length === 0) continue;
    if (!crashesLeft) {
      if (bounds.crashesMax > 0) cut.crashesMax++;
      continue;
    }
    for (const point of crashPoints(outcome.durableReadies)) {
      const crashed = world.fork();
      const variant = { ...action, crash: point } as Action;
      crashed.apply(variant);
      transitions++;
      next.push({ world: crashed, action: variant });
    }
  }
  return { next, transitions };
}
