import { type Sleeper, type SleepSet, actionId, emptySleepSet, footprint, sleepAfter } from "./reduction.ts";
import { type BoundName, type ExploreBounds, crashPoints, enabledActions } from "./search.ts";
import type { Action, World } from "./world.ts";

/** Successor is one state an action leads to from a state being expanded, with its sleep set (empty without the reduction). */
export interface Successor {
  readonly world: World;
  readonly action: Action;
  readonly sleep: SleepSet;
}

/** ExpansionTally counts what expanding states cost: the actions run, and those the reduction left asleep. */
export interface ExpansionTally {
  transitions: number;
  slept: number;
}

/** ExpandRequest is one state to expand, as the search holds it. */
export interface ExpandRequest {
  readonly world: World;
  /** sleep is the state's sleep set at the moment it is expanded (the partial-order reduction's; empty without it). */
  readonly sleep: SleepSet;
  /** only, when given, limits the expansion to these actions (by actionId): a state reached again with them awake. */
  readonly only?: ReadonlySet<string> | undefined;
  readonly bounds: ExploreBounds;
  /** por: put actions to sleep in the successors (Godefroid's sleep sets, reduction.ts). */
  readonly por: boolean;
}

/**
 * expansion expands one state as the search does, yielding its successors
 * one at a time so that the search can stop at the first violation or at
 * the state limit having run, and counted, only what came before: nothing
 * past the depth bound or the in-flight bound; every action
 * `enabledActions` allows (within `only`), in its order, except those
 * asleep; each that has an effect followed by its crash points (a crash
 * before or after each of its syncs, never asleep: an asleep action's crash
 * points are found from the writes it made where it was taken) while the
 * crash bound allows. With `por`, each successor carries the sleep set
 * `sleepAfter` gives it. It counts into `cut` what a bound refused and into
 * `tally` the actions run and slept.
 *
 * The single search (`explore`) and each worker of the parallel one
 * (concord explore --jobs) expand with it, so that both take the same
 * actions and give the same successors in the same order.
 */
export function* expansion(request: ExpandRequest, cut: Record<BoundName, number>, tally: ExpansionTally): Generator<Successor, void, undefined> {
  const { world, sleep, only, bounds, por } = request;
  if (world.depth >= bounds.depthMax) {
    cut.depthMax++;
    return;
  }
  if (world.inFlight().length > bounds.inflightMessagesMax) {
    cut.inflightMessagesMax++;
    return;
  }
  const ordered = world.setup.ordered;
  /** taken lists the actions expanded so far that later siblings may put to sleep. */
  const taken: [string, Sleeper][] = [];
  for (const action of enabledActions(world, bounds, cut)) {
    const id = actionId(action);
    if (only !== undefined && !only.has(id)) continue;
    const crashable = action.kind === "deliver" || action.kind === "timeout" || action.kind === "restart";
    const crashesLeft = world.spent().crashes < bounds.crashesMax;
    const candidates: Successor[] = [];
    const sleeper = sleep.get(id);
    let durableReadies: Sleeper["durableReadies"];
    if (sleeper !== undefined) {
      // Asleep: not taken. Its crash points still are (a crash depends on every action), from the writes it made where it was taken.
      tally.slept++;
      durableReadies = sleeper.durableReadies;
    } else {
      const next = world.fork();
      const outcome = next.apply(action);
      tally.transitions++;
      if (!outcome.effect) continue;
      durableReadies = outcome.durableReadies;
      const print = footprint(action, ordered);
      const inFlight = next.inFlight().length;
      candidates.push({ world: next, action, sleep: por ? sleepAfter([...sleep, ...taken], print, inFlight, bounds.inflightMessagesMax) : emptySleepSet });
      // An action whose own state the bound cuts covers nothing from there: it may not sleep in its siblings' states.
      if (por && inFlight <= bounds.inflightMessagesMax) taken.push([id, { footprint: print, durableReadies, addedMessages: inFlight - world.inFlight().length }]);
    }
    if (crashable && durableReadies.length > 0) {
      if (crashesLeft) {
        for (const point of crashPoints(durableReadies)) {
          const crashed = world.fork();
          const variant = { ...action, crash: point } as Action;
          crashed.apply(variant);
          tally.transitions++;
          // A crash depends on every action: nothing stays asleep after it.
          candidates.push({ world: crashed, action: variant, sleep: emptySleepSet });
        }
      } else if (bounds.crashesMax > 0) cut.crashesMax++;
    }
    // The action and its crash points are all run before any is looked at, as the counts at a stop say.
    yield* candidates;
  }
}
