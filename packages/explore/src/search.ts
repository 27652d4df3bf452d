import { type NodeId, firstClientId } from "@concord/core";
import { type SleepSet, emptySleepSet, intersectSleep, sleepIncludes } from "./reduction.ts";
import { type ExpansionTally, expansion } from "./expand.ts";
import { checkEventually } from "./eventually.ts";
import { type ProtocolSymmetry, protocolSymmetries, symmetricKey } from "./symmetry.ts";
import { describeChanges, operatorActions, partitionActions } from "./operations.ts";
import { type Action, type CrashPoint, World, type WorldSetup } from "./world.ts";

/**
 * ExploreBounds are the limits of one exploration, each with its unit. A
 * search is exhaustive within them: every state reachable by a path that
 * stays inside every bound is visited (up to `statesMax`).
 */
export interface ExploreBounds {
  /** depthMax is the most actions on one path. */
  readonly depthMax: number;
  /** crashesMax is the most replica crashes on one path. */
  readonly crashesMax: number;
  /**
   * reorderingsMax is the most deliveries on one path of a message other than
   * the oldest in flight. Infinity makes the network a multiset (every order,
   * no order kept in the state); a finite bound keeps the order of sending
   * and explores every schedule that departs from it at most this often.
   */
  readonly reorderingsMax: number;
  /** dropsMax is the most messages the network loses on one path (a message to a crashed node is lost without counting). */
  readonly dropsMax: number;
  /** duplicatesMax is the most messages the network duplicates on one path. */
  readonly duplicatesMax: number;
  /** timeoutsPerNodeMax is the most timeouts each replica and each client fires on one path. */
  readonly timeoutsPerNodeMax: number;
  /** inflightMessagesMax is the most messages in flight in a state the search expands. */
  readonly inflightMessagesMax: number;
  /** statesMax is the most unique states the search visits before it stops (a safety net, reported as the bound that cut it). */
  readonly statesMax: number;
  /** clientRestartsMax is the most client restarts on one path (a client losing its session and starting again); none when absent. */
  readonly clientRestartsMax?: number;
  /** reconfigurationsMax is the most membership changes an operator asks a leader for on one path (each one accepted counts); none when absent. */
  readonly reconfigurationsMax?: number;
  /** transfersMax is the most leadership transfers an operator asks a leader for on one path (each one accepted counts); none when absent. */
  readonly transfersMax?: number;
  /** partitionsMax is the most lasting partitions on one path (cuts that stand until a heal action; see the `partition` action); none when absent. */
  readonly partitionsMax?: number;
}

/** BoundName names one bound, for the report of which bounds cut the search. */
export type BoundName = keyof ExploreBounds;

/** Strategy is the search order: breadth-first finds a shortest counterexample; depth-first uses little memory. */
export type Strategy = "bfs" | "dfs";

/** SometimesProperty is a state the search should reach, so that a search that never gets anywhere does not pass vacuously. */
export interface SometimesProperty {
  readonly name: string;
  readonly holds: (world: World) => boolean;
}

/** Step is one action of a counterexample with its description. */
export interface Step {
  readonly action: Action;
  readonly description: string;
}

/** ExploreProgress is what the search reports while it runs. */
export interface ExploreProgress {
  readonly uniqueStates: number;
  readonly depth: number;
  readonly queued: number;
  readonly elapsedMs: number;
}

/** ExploreOptions are the search's settings beyond the world. */
export interface ExploreOptions {
  readonly bounds: ExploreBounds;
  readonly strategy: Strategy;
  readonly sometimes?: readonly SometimesProperty[];
  /** onProgress hears from the search about every `progressEveryStates` unique states. */
  readonly onProgress?: (progress: ExploreProgress) => void;
  readonly progressEveryStates?: number;
  /**
   * por turns on the partial-order reduction: sleep sets (Godefroid), kept
   * with each visited state and intersected when a state is reached again
   * (docs/explore.md, "Partial-order reduction", says why no state's
   * behaviour is lost). Off by default.
   */
  readonly por?: boolean;
  /**
   * eventually, when given, checks the bounded "eventually" property in
   * every state the search adds: with no fault from there on, every client
   * operation completes within this many steps of the fault-free
   * continuation (eventually.ts says which schedule that is). Off when
   * undefined.
   */
  readonly eventually?: number;
  /**
   * symmetry turns on symmetry reduction (symmetry.ts): the model seeds every
   * replica's random stream by its incarnation alone (WorldSetup.symmetricStreams),
   * and a state is keyed by the least encoding over the permutations of the
   * replicas' ids that map the model onto itself, so one state of each orbit
   * is visited. Its identity reads the monitors' memory as sets and the
   * history as its real-time precedence, as the partial-order reduction's
   * does. Off by default; refused with `eventually`. A ProtocolSymmetry in
   * place of `true` replaces the algorithm's own (protocolSymmetries), for
   * tests that show a wrong one is caught.
   */
  readonly symmetry?: boolean | ProtocolSymmetry;
  /** onState hears of every state the search adds to its visited set (or visits again with more of the depth bound left), for tests that compare two searches. */
  readonly onState?: (world: World) => void;
}

/** ExploreResult is what a search found. */
export interface ExploreResult {
  /** outcome: `violation` (a counterexample), `exhausted` (every state within the bounds visited, none bad), `stopped` (statesMax reached first). */
  readonly outcome: "violation" | "exhausted" | "stopped";
  readonly uniqueStates: number;
  /** transitions counts the actions run (each leads to a new or an already visited state). */
  readonly transitions: number;
  /** slept counts the actions the partial-order reduction did not take (zero without it): each would have led to a state reached by another order. */
  readonly slept: number;
  readonly por: boolean;
  /** symmetry is whether the search ran with symmetry reduction; `symmetric` then counts the unique states whose group was more than the identity. */
  readonly symmetry?: boolean;
  readonly symmetric?: number;
  readonly depthReached: number;
  /** cutBy counts, per bound, the actions or states it kept out of the search (zero for a bound that never mattered). */
  readonly cutBy: Readonly<Record<BoundName, number>>;
  readonly sometimes: readonly { readonly name: string; readonly reached: boolean; readonly depth: number | undefined }[];
  /** violation is the counterexample; for the bounded "eventually" property, `continuationFrom` is the index of its first step of the fault-free continuation (the steps before lead to the state the check started in). */
  readonly violation?: { readonly property: string; readonly message: string; readonly steps: readonly Step[]; readonly continuationFrom?: number } | undefined;
  readonly elapsedMs: number;
  readonly bounds: ExploreBounds;
  readonly strategy: Strategy;
  /** eventually reports the bounded "eventually" check, when asked: its step bound, the states it checked and the continuation steps it ran. */
  readonly eventually?: { readonly stepsMax: number; readonly checked: number; readonly steps: number } | undefined;
  /** reexpanded: in a parallel search (concord explore --jobs), the states expanded twice because their sleep set shrank after they were handed to a worker. */
  readonly reexpanded?: number;
}

/** noCuts is a fresh tally of the actions and states each bound refuses, for enabledActions and the search to count into. */
export function noCuts(): Record<BoundName, number> {
  return { depthMax: 0, crashesMax: 0, reorderingsMax: 0, dropsMax: 0, duplicatesMax: 0, timeoutsPerNodeMax: 0, inflightMessagesMax: 0, statesMax: 0, clientRestartsMax: 0, reconfigurationsMax: 0, transfersMax: 0, partitionsMax: 0 };
}

/** Node of the search tree: how a state was first reached (for the counterexample, described only once one is found). */
interface PathNode {
  readonly parent: PathNode | undefined;
  readonly action: Action | undefined;
}

/**
 * enabledActions lists every action the model allows in `world` within
 * `bounds`, in a fixed order: deliveries, drops, duplicates, timeouts, client
 * invocations, crashes and restarts. Crash points inside an action (a crash
 * before or after one of its syncs) are added by the search once it has seen
 * what the action writes. It counts in `cut` the actions a bound refused.
 */
export function enabledActions(world: World, bounds: ExploreBounds, cut: Record<BoundName, number>): Action[] {
  const actions: Action[] = [];
  const spent = world.spent();
  const keys = [...new Set(world.inFlight().map((envelope) => envelope.key))].sort();
  const oldest = world.inFlight()[0]?.key;
  // A message across a standing partition waits for the heal (it is no bound's cut: the partition holds it).
  const held = new Set(world.partitioned() === undefined ? [] : world.inFlight().filter((envelope) => world.crosses(envelope.from, envelope.to)).map((envelope) => envelope.key));
  for (const key of keys) {
    if (held.has(key)) continue;
    if (key === oldest || spent.reorderings < bounds.reorderingsMax) actions.push({ kind: "deliver", key });
    else cut.reorderingsMax++;
  }
  for (const key of keys) {
    if (spent.drops < bounds.dropsMax) actions.push({ kind: "drop", key });
    else if (bounds.dropsMax > 0) cut.dropsMax++;
  }
  for (const key of keys) {
    if (spent.duplicates < bounds.duplicatesMax) actions.push({ kind: "duplicate", key });
    else if (bounds.duplicatesMax > 0) cut.duplicatesMax++;
  }
  const nodes = Array.from({ length: world.nodeCount() }, (_, id) => id);
  for (const id of [...nodes.filter((node) => world.isUp(node)), ...world.clientIds()]) {
    if ((spent.timeouts.get(id) ?? 0) < bounds.timeoutsPerNodeMax) actions.push({ kind: "timeout", node: id });
    else cut.timeoutsPerNodeMax++;
  }
  for (const id of world.clientIds()) if (world.canInvoke(id)) actions.push({ kind: "invoke", client: id });
  for (const id of nodes) {
    if (world.isUp(id)) {
      if (spent.crashes < bounds.crashesMax) actions.push({ kind: "crash", node: id });
      else if (bounds.crashesMax > 0) cut.crashesMax++;
    } else {
      actions.push({ kind: "restart", node: id });
    }
  }
  actions.push(...operatorActions(world, bounds, cut));
  actions.push(...partitionActions(world, bounds, cut));
  // A replica compromised mid-path (WorldSetup.byzantine.midPath): each of the named replicas may turn liar once; the named replicas are the bound.
  for (const id of nodes) if (world.canTurnLiar(id)) actions.push({ kind: "turn-liar", node: id });
  return actions;
}

/** crashPoints lists the crashes inside an action that wrote `durableReadies`: before each sync (keeping 0..k-1 records) and after it. */
export function crashPoints(durableReadies: readonly { readonly records: number; readonly snapshot: boolean }[]): CrashPoint[] {
  const points: CrashPoint[] = [];
  durableReadies.forEach((ready, index) => {
    const keeps = ready.snapshot ? 1 : Math.max(ready.records, 1);
    for (let keep = 0; keep < keeps; keep++) points.push({ ready: index, keep });
    points.push({ ready: index, keep: "after-sync" });
  });
  return points;
}

/** describeAction says in words what an action does in `world` (the state it runs in). */
export function describeAction(world: World, action: Action): string {
  const crash = "crash" in action && action.crash !== undefined ? `, then crash ${describeCrash(action.crash)}` : "";
  switch (action.kind) {
    case "deliver":
    case "drop":
    case "duplicate": {
      const envelope = world.inFlight().find((candidate) => candidate.key === action.key);
      const what = envelope === undefined ? action.key : `${envelope.type} ${nodeName(envelope.from)}→${nodeName(envelope.to)} ${summarize(envelope.message)}`;
      return `${action.kind} ${what}${crash}`;
    }
    case "timeout":
      return `timeout at ${nodeName(action.node)}${crash}`;
    case "invoke": {
      return `client ${nodeName(action.client)} invokes its next operation`;
    }
    case "crash":
      return `crash ${nodeName(action.node)}`;
    case "restart":
      return `restart ${nodeName(action.node)}${crash}`;
    case "client-restart":
      return `client ${nodeName(action.client)} restarts: a new session under its old id`;
    case "reconfigure":
      return `operator asks leader ${nodeName(action.node)} for a membership change: ${describeChanges(action.changes)}${action.joint ? " (joint)" : ""}`;
    case "transfer":
      return `operator asks leader ${nodeName(action.node)} to transfer its leadership to ${nodeName(action.target)}`;
    case "tick":
      return "time passes for every node until one acts";
    case "partition":
      return `partition: ${action.side.map(nodeName).join(", ")} cut off from the rest until healed`;
    case "turn-liar":
      return `replica ${nodeName(action.node)} turns liar, playing ${world.setup.byzantine?.strategy ?? "?"} from now on`;
    case "heal":
      return `heal the partition of ${(world.partitioned() ?? []).map(nodeName).join(", ")}: what it held can be delivered`;
  }
}

function describeCrash(point: CrashPoint): string {
  const which = point.ready === 0 ? "at its first write" : `at its write ${point.ready + 1}`;
  return point.keep === "after-sync" ? `${which}, after the sync and before sending` : `${which}, before the sync, keeping ${point.keep} of its records`;
}

/** nodeName writes a replica as its id and a client as c<index>. */
export function nodeName(id: NodeId): string {
  return id >= firstClientId ? `c${id - firstClientId}` : String(id);
}

/** summarize writes a message's fields compactly (bytes as their length), at most 160 characters. */
export function summarize(message: unknown): string {
  const text = JSON.stringify(message, (_key, value: unknown) => {
    if (value instanceof Uint8Array) return `<${value.length} bytes>`;
    if (typeof value === "bigint") return value.toString();
    return value;
  });
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}

/**
 * Visit is what the search keeps of one visited state: the smallest depth
 * it was reached at, its sleep set (the actions it need not take, with the
 * partial-order reduction), and whether it was expanded yet.
 */
interface Visit {
  depth: number;
  sleep: SleepSet;
  expanded: boolean;
  /** exact is, under symmetry, the key of the state itself (not its orbit's): the state whose ids `sleep` names. */
  exact?: string;
}

/** FrontierEntry is a state waiting to be expanded; `only`, when given, limits the expansion to those actions (a state reached again with fewer of them asleep). */
interface FrontierEntry {
  readonly world: World;
  readonly path: PathNode;
  readonly visit: Visit;
  readonly only?: ReadonlySet<string>;
}

/**
 * explore searches every state of `setup` reachable within `options.bounds`,
 * checking in each the algorithm's invariant monitors and the linearizability
 * of the clients' history, and recording which `sometimes` properties it
 * reached. It stops at the first violation: breadth-first, that violation's
 * path is a shortest one.
 *
 * With `options.por`, sleep sets prune actions whose outcome another order
 * reaches: an action taken at a state is put to sleep in the states its
 * later siblings lead to, and stays asleep along every path of actions
 * independent of it (reduction.ts says which are). Every state is still
 * reached, at its smallest depth; what is saved is the actions that would
 * lead to it again, and the states that differ from one reached only in the
 * order the monitors saw independent events. With state caching a state
 * keeps its sleep set: reached again before it is expanded, the sets are
 * intersected; reached again after (by a longer path, or depth-first), the
 * actions asleep before and awake now are taken from it on the new path
 * (Godefroid 1996, ch. 5).
 */
export function explore(given: WorldSetup, options: ExploreOptions): ExploreResult {
  const { bounds, strategy } = options;
  const por = options.por === true;
  const symmetry = options.symmetry !== undefined && options.symmetry !== false;
  const symmetrySpec = typeof options.symmetry === "object" ? options.symmetry : undefined;
  if (symmetry && options.eventually !== undefined) {
    throw new Error("explore: symmetry reduction and the bounded eventually check do not go together (the continuation ticks and delivers in id order)");
  }
  const setup: WorldSetup = symmetry ? { ...given, symmetricStreams: true } : given;
  let symmetric = 0;
  const started = performance.now();
  const cutBy = noCuts();
  const sometimes = (options.sometimes ?? []).map((property) => ({ property, depth: undefined as number | undefined }));
  const progressEvery = options.progressEveryStates ?? 10_000;
  /** visited maps a fingerprint to its Visit (depth-first may reach a state again by a shorter path, with more of the depth bound left). */
  const visited = new Map<string, Visit>();
  /** tally counts the actions run and those left asleep (expand.ts counts into it). */
  const tally: ExpansionTally = { transitions: 0, slept: 0 };
  let depthReached = 0;
  let eventuallyChecked = 0;
  let eventuallySteps = 0;
  const frontier: FrontierEntry[] = [];
  let head = 0;

  const initial = World.initial(setup);
  const result = (outcome: ExploreResult["outcome"], violation?: ExploreResult["violation"]): ExploreResult => ({
    outcome,
    uniqueStates: visited.size,
    transitions: tally.transitions,
    slept: tally.slept,
    por,
    ...(symmetry ? { symmetry, symmetric } : {}),
    depthReached,
    cutBy,
    sometimes: sometimes.map(({ property, depth }) => ({ name: property.name, reached: depth !== undefined, depth })),
    violation,
    elapsedMs: performance.now() - started,
    bounds,
    strategy,
    eventually: options.eventually === undefined ? undefined : { stepsMax: options.eventually, checked: eventuallyChecked, steps: eventuallySteps },
  });
  const steps = (path: PathNode, continuation: readonly Action[] = []): Step[] => {
    const actions: Action[] = [];
    for (let node: PathNode | undefined = path; node?.action !== undefined; node = node.parent) actions.push(node.action);
    actions.reverse();
    actions.push(...continuation);
    const worlds = replay(setup, actions);
    return actions.map((action, index) => ({ action, description: describeAction(worlds[index] ?? initial, action) }));
  };
  const root: PathNode = { parent: undefined, action: undefined };
  if (initial.violation !== undefined) return result("violation", { ...initial.violation, steps: [] });
  /** stuck runs the bounded "eventually" check on a state the search adds, if asked. */
  const stuck = (world: World, path: PathNode): ExploreResult | undefined => {
    if (options.eventually === undefined) return undefined;
    eventuallyChecked++;
    const { steps: ran, failure } = checkEventually(world, options.eventually);
    eventuallySteps += ran;
    if (failure === undefined) return undefined;
    const all = steps(path, failure.actions);
    return result("violation", { property: failure.property, message: failure.message, steps: all, continuationFrom: all.length - failure.actions.length });
  };

  const identity = por ? "unordered" : "ordered";
  /** keyOf is a state's key in the visited set and, under symmetry, its own key (which names the ids its sleep set uses). */
  const keyOf = (world: World): { key: string; exact?: string; group?: number } => (symmetry ? symmetricKey(world, bounds, symmetrySpec ?? protocolSymmetries.get(setup.algorithm.name)) : { key: world.key(identity) });
  const initialKey = keyOf(initial);
  const rootVisit: Visit = { depth: 0, sleep: emptySleepSet, expanded: false, ...(initialKey.exact === undefined ? {} : { exact: initialKey.exact }) };
  visited.set(initialKey.key, rootVisit);
  if ((initialKey.group ?? 1) > 1) symmetric++;
  note(initial);
  options.onState?.(initial);
  const stuckInitially = stuck(initial, root);
  if (stuckInitially !== undefined) return stuckInitially;
  frontier.push({ world: initial, path: root, visit: rootVisit });

  while (head < frontier.length) {
    const entry = strategy === "bfs" ? frontier[head++] : frontier.pop();
    if (entry === undefined) break;
    const { world, path, visit } = entry;
    if (strategy === "bfs" && head > 4096 && head * 2 > frontier.length) {
      frontier.splice(0, head);
      head = 0;
    }
    visit.expanded = true;
    for (const candidate of expansion({ world, sleep: visit.sleep, only: entry.only, bounds, por }, cutBy, tally)) {
      const node: PathNode = { parent: path, action: candidate.action };
      if (candidate.world.violation !== undefined) return result("violation", { ...candidate.world.violation, steps: steps(node) });
      const keyed = keyOf(candidate.world);
      const key = keyed.key;
      const exact = keyed.exact === undefined ? {} : { exact: keyed.exact };
      const depth = candidate.world.depth;
      const seen = visited.get(key);
      if (seen === undefined) {
        if (visited.size >= bounds.statesMax) {
          cutBy.statesMax++;
          return result("stopped");
        }
        if ((keyed.group ?? 1) > 1) symmetric++;
        const fresh: Visit = { depth, sleep: candidate.sleep, expanded: false, ...exact };
        visited.set(key, fresh);
        depthReached = Math.max(depthReached, depth);
        note(candidate.world);
        options.onState?.(candidate.world);
        const failed = stuck(candidate.world, node);
        if (failed !== undefined) return failed;
        frontier.push({ world: candidate.world, path: node, visit: fresh });
        if (visited.size % progressEvery === 0) {
          options.onProgress?.({ uniqueStates: visited.size, depth: depthReached, queued: frontier.length - head, elapsedMs: performance.now() - started });
        }
      } else if (depth < seen.depth) {
        // Depth-first only: reached again by a shorter path, with more of the depth bound left, so expanded again.
        const again: Visit = { depth, sleep: candidate.sleep, expanded: false, ...exact };
        visited.set(key, again);
        options.onState?.(candidate.world);
        frontier.push({ world: candidate.world, path: node, visit: again });
      } else if (por && seen.exact !== keyed.exact) {
        // Another state of the orbit: the two sleep sets name actions by two namings of the replicas, which cannot be
        // intersected. As if nothing were asleep here: not yet expanded, the stored state is expanded with every action;
        // expanded already, this renamed copy is, which reaches the renamings of what slept there.
        if (seen.sleep.size > 0) {
          seen.sleep = emptySleepSet;
          if (seen.expanded) frontier.push({ world: candidate.world, path: node, visit: seen });
        }
      } else if (por && !sleepIncludes(candidate.sleep, seen.sleep)) {
        const awake = new Set([...seen.sleep.keys()].filter((slept) => !candidate.sleep.has(slept)));
        seen.sleep = intersectSleep(seen.sleep, candidate.sleep);
        // Not yet expanded: it will read the smaller sleep set. Expanded already: take now, on this path, what was asleep then.
        if (seen.expanded) frontier.push({ world: candidate.world, path: node, visit: seen, only: awake });
      }
    }
  }
  return result("exhausted");

  function note(world: World): void {
    for (const entry of sometimes) if (entry.depth === undefined && entry.property.holds(world)) entry.depth = world.depth;
  }
}

/** replay runs `actions` from the initial world of `setup` and returns every world along the way (the first is the initial one). */
export function replay(setup: WorldSetup, actions: readonly Action[]): World[] {
  let last = World.initial(setup);
  const worlds = [last];
  for (const action of actions) {
    last = last.fork();
    last.apply(action);
    worlds.push(last);
  }
  return worlds;
}
