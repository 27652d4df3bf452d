import { firstClientId } from "@concord/core";
import { nodeName } from "./search.ts";
import type { Action, World } from "./world.ts";

/**
 * eventuallyProperty names the bounded "eventually" property in a report.
 */
export function eventuallyProperty(stepsMax: number): string {
  return `eventually: every client operation completes within ${stepsMax} fault-free steps`;
}

/** EventuallyFailure is a continuation that broke a property: its actions, and what broke. */
export interface EventuallyFailure {
  readonly property: string;
  readonly message: string;
  /** actions are the continuation's, from the state it started in. */
  readonly actions: readonly Action[];
}

/** EventuallyOutcome is one check: the continuation's steps, and its failure if it failed. */
export interface EventuallyOutcome {
  readonly steps: number;
  readonly failure?: EventuallyFailure;
}

/**
 * checkEventually runs the fault-free continuation of `world` for at most
 * `stepsMax` actions and tells whether every client finished its workload
 * in it: the bounded "eventually" property (docs/explore.md, "Bounded
 * eventually").
 *
 * The continuation is one fixed schedule in which no fault happens any
 * more: every replica that is down restarts (lowest id first), every idle
 * client invokes its next operation, every message in flight is delivered
 * in the order it was sent (the oldest first: fair, and nothing is lost or
 * copied), and when nothing is in flight, time passes for every node
 * together (the `tick` action: one shared clock, so a live leader's
 * heartbeat comes before a follower's election timeout, as in a real
 * cluster) until one acts. Each of these is one step.
 *
 * It fails when an operation outstanding or invoked in the continuation is
 * given up by its client (reported indeterminate), when `stepsMax` steps
 * pass with an operation outstanding or not yet invoked, when the cluster
 * falls silent (no node acts within the tick bound) with work left, or when
 * a safety property breaks on the way (a real schedule, so a real bug).
 * `world` itself is left as it was.
 */
export function checkEventually(world: World, stepsMax: number): EventuallyOutcome {
  const property = eventuallyProperty(stepsMax);
  if (world.violation !== undefined || world.owed().length === 0) return { steps: 0 };
  const run = world.fork();
  const gaveUpBefore = new Set(run.gaveUp());
  const actions: Action[] = [];
  for (let step = 0; step < stepsMax; step++) {
    const action = nextAction(run);
    actions.push(action);
    const outcome = run.apply(action);
    const failed = (failure: EventuallyFailure): EventuallyOutcome => ({ steps: step + 1, failure });
    if (run.violation !== undefined) return failed({ ...run.violation, actions });
    const gaveUp = run.gaveUp().filter((id) => !gaveUpBefore.has(id) && run.owes(id));
    if (gaveUp.length > 0) {
      const operation = run.history()[gaveUp[0] as number];
      return failed({ property, message: `${noFault(run)}, c${(operation?.clientId ?? firstClientId) - firstClientId}'s ${operation?.input.type ?? "operation"} was given up (indeterminate) after ${step + 1} steps`, actions });
    }
    if (run.owed().length === 0) return { steps: step + 1 };
    if (action.kind === "tick" && !outcome.effect) {
      return failed({ property, message: `${noFault(run)}, every node falls silent after ${step + 1} steps (none acts within ${world.setup.ticksPerTimeoutMax} ticks) while ${run.owed().join(", ")}`, actions });
    }
  }
  return { steps: stepsMax, failure: { property, message: `${noFault(run)}, ${stepsMax} steps of fair delivery later ${run.owed().join(", ")}`, actions } };
}

/** noFault says which faults the continuation has: none, or none but the standing cut. */
function noFault(world: World): string {
  const cut = world.partitioned();
  return cut === undefined ? "with no fault after this state" : `with no fault after this state but the standing cut of ${cut.map(nodeName).join(", ")}`;
}

/** nextAction is the continuation's next step in `world` (see checkEventually); a standing cut stays, and what crosses it waits. */
function nextAction(world: World): Action {
  for (let id = 0; id < world.nodeCount(); id++) if (!world.isUp(id)) return { kind: "restart", node: id };
  for (const id of world.clientIds()) if (world.canInvoke(id)) return { kind: "invoke", client: id };
  const oldest = world.inFlight().find((envelope) => !world.crosses(envelope.from, envelope.to));
  if (oldest !== undefined) return { kind: "deliver", key: oldest.key };
  return { kind: "tick" };
}
