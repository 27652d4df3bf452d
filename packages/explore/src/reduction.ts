import { firstClientId } from "@concord/core";
import type { Action } from "./world.ts";

/**
 * Footprint is what one action of the model may read or write, for the
 * partial-order reduction: two actions whose footprints do not conflict
 * (no shared resource, and not a history's invocations against its
 * completions) commute (either order reaches one state) and neither enables
 * or disables the other. `global` marks an action that conflicts with every
 * other.
 *
 * The resources:
 * - `n<id>`: replica or client `id`'s own state (its object, its disk, its
 *   timeout budget). Only actions at that node touch it.
 * - `m<key>`: one message of the network (a delivery or a drop takes a copy,
 *   a duplicate adds one; taking the last copy disables the others).
 * - `invocations` and `completions` of the clients' history: an action
 *   that may complete an operation (a delivery to a client, a client's
 *   timeout) and one that invokes one (a client's invocation) do not
 *   commute, since whether the one completed before the other was invoked
 *   is the real-time order linearizability judges. Two invocations, or two
 *   completions, do commute: under the reduction the history is read as
 *   that precedence, not as its event numbers (world.ts, `precedenceOf`).
 * - `drops`, `duplicates`: the path's budget of each, which one action can
 *   spend and so disable another.
 * - `order`: on an ordered network, the order of sending and the oldest
 *   message, which every send and every delivery changes.
 *
 * What is not a resource, and why:
 * - the network as a whole: unordered, it is a multiset, so two actions
 *   that each take their own message and add what their node sends leave
 *   the same multiset in either order;
 * - the monitors: they see every node, so their memory differs with the
 *   order of two independent actions (which acceptor's Accepted came first),
 *   but their verdict does not: each of Concord's monitors judges the set
 *   of what it saw (a value accepted by a majority, two leaders of one
 *   term, two digests at one sequence), never the order of two events at
 *   different nodes. Two such states are one state for the reduction (see
 *   docs/explore.md), and the search reaches one of them.
 *
 * Crashes are global: a crash drops every message in flight to its node,
 * including those another node's action would add, and spends the crash
 * budget that every crash point shares.
 */
export interface Footprint {
  readonly global: boolean;
  readonly resources: readonly string[];
}

const globalFootprint: Footprint = { global: true, resources: [] };

/** actionId names an action for a sleep set: the action without its crash point (crash points are never put to sleep). */
export function actionId(action: Action): string {
  switch (action.kind) {
    case "deliver":
    case "drop":
    case "duplicate":
      return `${action.kind}:${action.key}`;
    case "timeout":
    case "crash":
    case "restart":
      return `${action.kind}:${action.node}`;
    case "invoke":
    case "client-restart":
      return `${action.kind}:${action.client}`;
    case "reconfigure":
      return `reconfigure:${action.node}:${action.changes.map((change) => `${change.type}${change.node}`).join("+")}${action.joint ? ":joint" : ""}`;
    case "transfer":
      return `transfer:${action.node}>${action.target}`;
    case "tick":
      return "tick";
    case "partition":
      return `partition:${action.side.join(",")}`;
    case "heal":
      return "heal";
    case "turn-liar":
      return `turn-liar:${action.node}`;
  }
}

/** receiverOf reads a message key's receiver (keys are `from>to:type:hex`). */
function receiverOf(key: string): number {
  const arrow = key.indexOf(">");
  const colon = key.indexOf(":", arrow);
  return Number(key.slice(arrow + 1, colon));
}

/** footprint says what `action` may touch; `ordered` is the network's setting (see WorldSetup.ordered). */
export function footprint(action: Action, ordered: boolean): Footprint {
  // A tick runs every node (the search never takes it: only the "eventually" continuation does).
  // A partition or a heal changes which messages can be delivered, anywhere: it conflicts with every action, as a crash does.
  if (action.kind === "crash" || action.kind === "tick" || action.kind === "partition" || action.kind === "heal" || ("crash" in action && action.crash !== undefined)) return globalFootprint;
  const resources: string[] = [];
  const atNode = (id: number): void => {
    resources.push(`n${id}`);
    // A client's delivery or timeout may complete its operation: it reads the invocations (which complete before it) and writes a completion.
    if (id >= firstClientId) resources.push(action.kind === "invoke" ? invocations : completions);
  };
  switch (action.kind) {
    case "deliver":
      atNode(receiverOf(action.key));
      resources.push(`m${action.key}`);
      break;
    case "drop":
      resources.push(`m${action.key}`, "drops");
      break;
    case "duplicate":
      resources.push(`m${action.key}`, "duplicates");
      break;
    case "timeout":
    case "restart":
      atNode(action.node);
      break;
    // Turning liar changes what that replica sends from then on, its own state alone.
    case "turn-liar":
      resources.push(`n${action.node}`);
      break;
    case "invoke":
      atNode(action.client);
      break;
    // A client restart touches its client alone: it replaces the object and gives up its operation (no history event).
    case "client-restart":
      resources.push(`n${action.client}`);
      break;
    // An operator's request runs at one leader, as its timeout does, and spends a budget of its own.
    case "reconfigure":
    case "transfer":
      atNode(action.node);
      resources.push(action.kind);
      break;
  }
  if (ordered) resources.push("order");
  return { global: false, resources };
}

const invocations = "history:invocations";
const completions = "history:completions";

/** conflicts tells whether two resources are touched in ways that do not commute: the same resource, or one history's invocations against its completions. */
function conflicts(a: string, b: string): boolean {
  if (a === invocations || a === completions) return (a === invocations && b === completions) || (a === completions && b === invocations);
  return a === b;
}

/** independent tells whether two footprints commute: neither is global and no resource of one conflicts with one of the other. */
export function independent(a: Footprint, b: Footprint): boolean {
  if (a.global || b.global) return false;
  for (const resource of a.resources) for (const other of b.resources) if (conflicts(resource, other)) return false;
  return true;
}

/**
 * Sleeper is one action asleep: its footprint, the writes it made where it
 * was taken (an action stays asleep only while nothing touches its node, so
 * it would write the same again: its crash points, which are never asleep,
 * are found from these without running it), and how many messages it adds
 * to the network, net of the one it takes (for the in-flight bound).
 */
export interface Sleeper {
  readonly footprint: Footprint;
  readonly durableReadies: readonly { readonly records: number; readonly snapshot: boolean }[];
  readonly addedMessages: number;
}

/** SleepSet is the set of actions a state need not take (Godefroid's sleep sets), by actionId. */
export type SleepSet = ReadonlyMap<string, Sleeper>;

/** emptySleepSet is the sleep set of the initial state. */
export const emptySleepSet: SleepSet = new Map();

/**
 * sleepAfter is the sleep set of the state `action` leads to: every sleeping
 * or earlier-explored action independent of it, and, under an in-flight
 * bound, only those whose messages would still fit in that state.
 *
 * Why the bound matters: the state an asleep action b would reach from here
 * is reached by another path on which b was taken earlier, so every state of
 * that path holds b's messages sooner: it is this path's state plus what b
 * adds. If one of those passes `inflightMessagesMax`, the search does not
 * expand it, and the state at the end of the other path is never reached.
 * So b stays asleep only while each state of this path, with b's messages
 * added, fits the bound (an action that adds no more than it takes fits
 * wherever this path does). Measured without this rule: Paxos with 2
 * clients, depth 9, in-flight bound 3, lost 87 of 373 states.
 */
export function sleepAfter(carried: Iterable<readonly [string, Sleeper]>, taken: Footprint, inFlight: number, inflightMessagesMax: number): Map<string, Sleeper> {
  const next = new Map<string, Sleeper>();
  for (const [id, sleeper] of carried) {
    if (independent(sleeper.footprint, taken) && inFlight + sleeper.addedMessages <= inflightMessagesMax) next.set(id, sleeper);
  }
  return next;
}

/** intersectSleep keeps the actions asleep in both sets: a state reached by two paths may skip only what both may skip. */
export function intersectSleep(a: SleepSet, b: SleepSet): Map<string, Sleeper> {
  const next = new Map<string, Sleeper>();
  for (const [id, sleeper] of a) if (b.has(id)) next.set(id, sleeper);
  return next;
}

/** sleepIncludes tells whether every action asleep in `inner` is asleep in `outer`. */
export function sleepIncludes(outer: SleepSet, inner: SleepSet): boolean {
  for (const id of inner.keys()) if (!outer.has(id)) return false;
  return true;
}
