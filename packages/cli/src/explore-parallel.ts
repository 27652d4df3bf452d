import { Worker } from "node:worker_threads";
import {
  type Action,
  type BoundName,
  type ExploreBounds,
  type ExploreProgress,
  type ExploreResult,
  type SometimesProperty,
  type Step,
  type SleepSet,
  type WorldSetup,
  type EventuallyOutcome,
  World,
  checkEventually,
  describeAction,
  emptySleepSet,
  intersectSleep,
  noCuts,
  replay,
  sleepIncludes,
} from "@concord/explore";
import type { ExploreRun } from "./commands/explore.ts";
import { workerBootstrap } from "./swarm-pool.ts";

/** HeldState is a state a worker is to expand next: a successor it made (by index), or one it rebuilds from a path, with its sleep set and the actions it is limited to. */
export interface HeldSleep {
  /** sleep is the state's sleep set when it is handed over (the coordinator re-expands it if the set shrinks before its turn). */
  readonly sleep: SleepSet;
  /** only limits the expansion to these actions: a state reached again, with them awake, after it was expanded. */
  readonly only: ReadonlySet<string> | undefined;
}

/** WorkerRequest is what the coordinator of a parallel search asks one of its workers (explore-worker.ts). */
export type WorkerRequest =
  | { readonly type: "init"; readonly run: ExploreRun; readonly bounds: ExploreBounds; readonly identity: "ordered" | "unordered"; readonly root: boolean }
  | { readonly type: "expand" }
  | { readonly type: "reexpand"; readonly parent: number; readonly sleep: SleepSet }
  | { readonly type: "keep"; readonly states: readonly (HeldSleep & { readonly index: number })[] }
  | { readonly type: "paths"; readonly indices: readonly number[] }
  /** eventually: run the bounded eventually check (checkEventually) on these successors of the level. */
  | { readonly type: "eventually"; readonly indices: readonly number[]; readonly stepsMax: number }
  | { readonly type: "adopt"; readonly states: readonly (HeldSleep & { readonly path: readonly Action[] })[] };

/** ParentTally is what expanding one state cost: actions run and slept, and what each bound cut (only the bounds that cut). */
export interface ParentTally {
  readonly transitions: number;
  readonly slept: number;
  readonly cut: readonly (readonly [BoundName, number])[];
}

/** WorkerReply is a worker's answer to "expand", "reexpand" and "paths" (the other requests need none). */
export type WorkerReply =
  | {
      readonly type: "expanded";
      /** first is the index of the first successor reported here among the worker's successors of this level. */
      readonly first: number;
      readonly keys: readonly string[];
      readonly parents: readonly number[];
      readonly flags: readonly number[];
      /** sleeps holds each successor's sleep set (empty without the reduction). */
      readonly sleeps: readonly SleepSet[];
      readonly violations: readonly { readonly index: number; readonly property: string; readonly message: string }[];
      /** tallies holds, per state expanded (by its place in the worker's share), what its expansion cost. */
      readonly tallies: readonly ParentTally[];
    }
  | { readonly type: "paths"; readonly paths: readonly (readonly Action[])[] }
  | { readonly type: "eventually"; readonly outcomes: readonly EventuallyOutcome[] };

/** ParallelExplore is what a parallel search needs: the run (which each worker rebuilds its world from), the bounds and the number of workers. */
export interface ParallelExplore {
  readonly run: ExploreRun;
  readonly setup: WorldSetup;
  readonly bounds: ExploreBounds;
  /** identity: "unordered", the partial-order reduction (its state identity and sleep sets), or "ordered", the full model (--no-por). */
  readonly identity: "ordered" | "unordered";
  readonly jobs: number;
  readonly sometimes: readonly SometimesProperty[];
  readonly progressEveryStates: number;
  readonly onProgress?: (progress: ExploreProgress) => void;
  /** eventually: the bounded eventually check's step bound, checked in every state the search adds (absent: not checked). */
  readonly eventually?: number;
}

/** rebalanceSlack is how far above an even share a worker's part of a level may grow before states move (a moved state is rebuilt by replaying its path). */
const rebalanceSlack = 1.1;

/** Visit is what the coordinator keeps of a visited state, as the single search does: its sleep set, and whether it was expanded yet. */
interface Visit {
  sleep: SleepSet;
  expanded: boolean;
}

/** LevelEntry is one state of a breadth-first level: the worker that holds it, its visit, and the sleep set and action limit it was handed with. */
interface LevelEntry {
  readonly worker: number;
  readonly visit: Visit;
  readonly sent: SleepSet;
  readonly only: ReadonlySet<string> | undefined;
}

/** Accepted is a successor that makes the next level: where it is, the visit it expands, and the actions it is limited to. */
interface Accepted {
  readonly worker: number;
  readonly index: number;
  readonly visit: Visit;
  readonly only: ReadonlySet<string> | undefined;
}

/** Candidates gathers one worker's successors of a level, indexed as the worker numbers them (a re-expansion appends). */
interface Candidates {
  readonly keys: string[];
  readonly flags: number[];
  readonly sleeps: SleepSet[];
  readonly violations: Map<number, { readonly property: string; readonly message: string }>;
  /** byParent lists, per state of the worker's share, its successors' indices in order. */
  readonly byParent: number[][];
  readonly tallies: ParentTally[];
}

/**
 * exploreInParallel is `concord explore --jobs j`: a breadth-first search
 * over j worker threads, level by level (Stern and Dill's parallel Murphi
 * keeps states where they are made, as here). Each worker holds its share of
 * a level's states as live worlds, each with its sleep set, expands them with
 * `expansion` (the single search's own expansion) and reports each
 * successor's key and sleep set; the coordinator visits the successors in
 * the order the single search would (by their parent's place in the level,
 * then by the order of the parent's actions), keeps the first of each key,
 * intersects the sleep sets of a state reached again as the single search
 * does, and tells each worker which of its successors make the next level,
 * with their sleep sets. A worker whose share grows past its even part hands
 * the surplus to the others, which rebuild each from its path.
 *
 * Sleep sets are per path, so the one thing the level-by-level order cannot
 * know in advance is a sleep set that shrinks after the state was handed
 * out: a successor of an earlier state of the same level reaching it again
 * (by a path one action longer) before its turn. The single search would
 * expand it with the smaller set; the coordinator, reaching it in order,
 * asks its worker to expand it again with that set and uses those
 * successors instead. So the result is the single breadth-first search's,
 * state for state and action for action, with the reduction or without it:
 * the same unique states, actions run and slept, cuts, first violation (a
 * shortest one) and stop at the state limit.
 */
export async function exploreInParallel(request: ParallelExplore): Promise<ExploreResult> {
  const { setup, bounds, identity, sometimes } = request;
  const por = identity === "unordered";
  const started = performance.now();
  const cutBy = noCuts();
  const reached = sometimes.map(() => undefined as number | undefined);
  const visited = new Map<string, Visit>();
  let transitions = 0;
  let slept = 0;
  let depthReached = 0;
  let reexpanded = 0;
  let eventuallyChecked = 0;
  let eventuallySteps = 0;
  /** result reports the search; `at`, for a failure of the eventually check, is the search as it stood when the failing state was added. */
  const result = (outcome: ExploreResult["outcome"], violation?: ExploreResult["violation"], at?: FreshState): ExploreResult => ({
    outcome,
    uniqueStates: at?.uniqueStates ?? visited.size,
    transitions,
    slept,
    por,
    depthReached,
    cutBy,
    sometimes: sometimes.map((property, index) => {
      const depth = at === undefined ? reached[index] : at.reached[index];
      return { name: property.name, reached: depth !== undefined, depth };
    }),
    violation,
    elapsedMs: performance.now() - started,
    bounds,
    strategy: "bfs",
    eventually: request.eventually === undefined ? undefined : { stepsMax: request.eventually, checked: eventuallyChecked, steps: eventuallySteps },
    reexpanded,
  });

  const initial = World.initial(setup);
  if (initial.violation !== undefined) return result("violation", { ...initial.violation, steps: [] });
  const root: Visit = { sleep: emptySleepSet, expanded: false };
  visited.set(initial.key(identity), root);
  sometimes.forEach((property, index) => {
    if (property.holds(initial)) reached[index] = 0;
  });
  if (request.eventually !== undefined) {
    eventuallyChecked++;
    const { steps: ran, failure } = checkEventually(initial, request.eventually);
    eventuallySteps += ran;
    if (failure !== undefined) return result("violation", { property: failure.property, message: failure.message, steps: describe(setup, failure.actions), continuationFrom: 0 });
  }

  const workers = Array.from({ length: request.jobs }, () => new WorkerConnection(new Worker(workerBootstrap("explore-worker"), { eval: true })));
  try {
    workers.forEach((worker, index) => worker.post({ type: "init", run: request.run, bounds, identity, root: index === 0 }));
    /** level lists the states of this level in the single search's order; held[w][i] is the place in it of worker w's i-th state. */
    let level: LevelEntry[] = [{ worker: 0, visit: root, sent: root.sleep, only: undefined }];
    let held: number[][] = workers.map((_, index) => (index === 0 ? [0] : []));
    for (let depth = 0; level.length > 0; depth++) {
      const replies = await Promise.all(workers.map((worker) => worker.ask({ type: "expand" })));
      const candidates = replies.map((reply, worker): Candidates => {
        const expanded = reply.type === "expanded" ? reply : unexpected(reply.type);
        const gathered: Candidates = { keys: [], flags: [], sleeps: [], violations: new Map(), byParent: (held[worker] ?? []).map(() => []), tallies: [...expanded.tallies] };
        gather(gathered, expanded);
        return gathered;
      });
      /** position[place] is that state's index in its worker's share. */
      const position: number[] = [];
      held.forEach((places) => places.forEach((place, index) => (position[place] = index)));
      const accepted: Accepted[] = [];
      /** fresh lists the states this level added, in the order the single search adds them (for the eventually check). */
      const newStates: FreshState[] = [];
      /** ending is how the level ends before its last successor: a violation or the state limit (after the eventually check of what was added before). */
      let ending: (() => Promise<ExploreResult>) | undefined;
      levelLoop: for (let place = 0; place < level.length; place++) {
        const entry = must(level[place]);
        const own = must(candidates[entry.worker]);
        const parent = must(position[place]);
        entry.visit.expanded = true;
        let children = must(own.byParent[parent]);
        let tally = must(own.tallies[parent]);
        if (entry.visit.sleep !== entry.sent) {
          // Reached again since it was handed out, with fewer actions asleep: expanded as the single search would expand it now.
          reexpanded++;
          const reply = await must(workers[entry.worker]).ask({ type: "reexpand", parent, sleep: entry.visit.sleep });
          const again = reply.type === "expanded" ? reply : unexpected(reply.type);
          gather(own, again);
          children = again.keys.map((_, offset) => again.first + offset);
          tally = must(again.tallies[0]);
        }
        transitions += tally.transitions;
        slept += tally.slept;
        for (const [bound, count] of tally.cut) cutBy[bound] += count;
        for (const index of children) {
          const violation = own.violations.get(index);
          if (violation !== undefined) {
            const worker = must(workers[entry.worker]);
            ending = async () => {
              const [actions = []] = await pathsOf(worker, [index]);
              return result("violation", { property: violation.property, message: violation.message, steps: describe(setup, actions) });
            };
            break levelLoop;
          }
          const key = must(own.keys[index]);
          const sleep = must(own.sleeps[index]);
          const seen = visited.get(key);
          if (seen === undefined) {
            if (visited.size >= bounds.statesMax) {
              cutBy.statesMax++;
              ending = () => Promise.resolve(result("stopped"));
              break levelLoop;
            }
            const fresh: Visit = { sleep, expanded: false };
            visited.set(key, fresh);
            depthReached = depth + 1;
            const flags = own.flags[index] ?? 0;
            sometimes.forEach((_, bit) => {
              if (reached[bit] === undefined && (flags & (1 << bit)) !== 0) reached[bit] = depth + 1;
            });
            accepted.push({ worker: entry.worker, index, visit: fresh, only: undefined });
            if (request.eventually !== undefined) newStates.push({ worker: entry.worker, index, uniqueStates: visited.size, reached: [...reached] });
            if (visited.size % request.progressEveryStates === 0) request.onProgress?.({ uniqueStates: visited.size, depth: depthReached, queued: accepted.length + level.length - place - 1, elapsedMs: performance.now() - started });
          } else if (por && !sleepIncludes(sleep, seen.sleep)) {
            // As the single search: the sleep sets intersect; a state expanded already takes, on this path, what was asleep then.
            const awake = new Set([...seen.sleep.keys()].filter((id) => !sleep.has(id)));
            seen.sleep = intersectSleep(seen.sleep, sleep);
            if (seen.expanded) accepted.push({ worker: entry.worker, index, visit: seen, only: awake });
          }
        }
      }
      // The eventually check of the states added, in the order they were added, before what ended the level: the single search checks each as it adds it.
      if (request.eventually !== undefined) {
        const failed = await checkAdded(workers, newStates, request.eventually, (ran) => {
          eventuallyChecked++;
          eventuallySteps += ran;
        });
        if (failed !== undefined) {
          const [path = []] = await pathsOf(must(workers[failed.state.worker]), [failed.state.index]);
          const { failure } = failed;
          return result("violation", { property: failure.property, message: failure.message, steps: describe(setup, [...path, ...failure.actions]), continuationFrom: path.length }, failed.state);
        }
      }
      if (ending !== undefined) return await ending();
      ({ level, held } = await nextLevel(workers, accepted));
    }
    return result("exhausted");
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}

/** FreshState is a state a level added (by its worker and index there), with the search's unique states and sometimes depths as they stood once it was added. */
interface FreshState {
  readonly worker: number;
  readonly index: number;
  readonly uniqueStates: number;
  readonly reached: readonly (number | undefined)[];
}

/**
 * checkAdded runs the bounded eventually check on the states a level added, each on the worker that holds it (all
 * workers at once), and walks the outcomes in the order the states were added, counting each into `count`, up to
 * the first that fails.
 */
async function checkAdded(
  workers: readonly WorkerConnection[],
  states: readonly FreshState[],
  stepsMax: number,
  count: (steps: number) => void,
): Promise<{ readonly state: FreshState; readonly failure: NonNullable<EventuallyOutcome["failure"]> } | undefined> {
  const replies = await Promise.all(
    workers.map(async (worker, index) => {
      const indices = states.filter((state) => state.worker === index).map((state) => state.index);
      if (indices.length === 0) return [];
      const reply = await worker.ask({ type: "eventually", indices, stepsMax });
      return reply.type === "eventually" ? reply.outcomes : unexpected(reply.type);
    }),
  );
  const next = workers.map(() => 0);
  for (const state of states) {
    const at = must(next[state.worker]);
    next[state.worker] = at + 1;
    const outcome = must(must(replies[state.worker])[at]);
    count(outcome.steps);
    if (outcome.failure !== undefined) return { state, failure: outcome.failure };
  }
  return undefined;
}

/** gather adds a worker's expansion reply to what the coordinator holds of its successors. */
function gather(into: Candidates, reply: Extract<WorkerReply, { type: "expanded" }>): void {
  reply.keys.forEach((key, offset) => {
    const index = reply.first + offset;
    into.keys[index] = key;
    into.flags[index] = reply.flags[offset] ?? 0;
    into.sleeps[index] = reply.sleeps[offset] ?? emptySleepSet;
    if (reply.first === 0) must(into.byParent[must(reply.parents[offset])]).push(index);
  });
  for (const violation of reply.violations) into.violations.set(violation.index, violation);
}

/**
 * nextLevel tells each worker which of its successors make the next level, with each one's sleep set as it stands
 * now, moving a surplus above an even share to the workers below it; it returns the level in the single search's
 * order and each worker's states' places in it.
 */
async function nextLevel(workers: readonly WorkerConnection[], accepted: readonly Accepted[]): Promise<{ level: LevelEntry[]; held: number[][] }> {
  const share = Math.ceil(accepted.length / workers.length);
  const kept: { index: number; place: number }[][] = workers.map(() => []);
  accepted.forEach((ref, place) => must(kept[ref.worker]).push({ index: ref.index, place }));
  const moving = kept.map((own) => (own.length > share * rebalanceSlack ? own.splice(share) : []));
  const adopted: { readonly from: number; readonly index: number; readonly place: number }[][] = workers.map(() => []);
  moving.forEach((moved, from) => {
    for (const entry of moved) {
      const to = adopted.findIndex((taken, worker) => must(kept[worker]).length + taken.length < share);
      must(adopted[to === -1 ? from : to]).push({ from, index: entry.index, place: entry.place });
    }
  });
  // Paths first: a worker's successors are gone once it is told which to keep.
  const paths = await Promise.all(workers.map((worker, from) => pathsOf(worker, adopted.flat().filter((entry) => entry.from === from).map((entry) => entry.index))));
  const pathAt = new Map<string, readonly Action[]>();
  workers.forEach((_, from) => adopted.flat().filter((entry) => entry.from === from).forEach((entry, at) => pathAt.set(`${from}:${entry.index}`, paths[from]?.[at] ?? [])));
  const level: LevelEntry[] = [];
  const held = workers.map((worker, index) => {
    const own = must(kept[index]);
    const taken = must(adopted[index]);
    const staying = [...own, ...taken.filter((entry) => entry.from === index)];
    const foreign = taken.filter((entry) => entry.from !== index);
    const places = [...staying.map((entry) => entry.place), ...foreign.map((entry) => entry.place)];
    for (const place of places) {
      const ref = must(accepted[place]);
      level[place] = { worker: index, visit: ref.visit, sent: ref.visit.sleep, only: ref.only };
    }
    const handed = (place: number): HeldSleep => {
      const ref = must(accepted[place]);
      return { sleep: ref.visit.sleep, only: ref.only };
    };
    worker.post({ type: "keep", states: staying.map((entry) => ({ index: entry.index, ...handed(entry.place) })) });
    if (foreign.length > 0) worker.post({ type: "adopt", states: foreign.map((entry) => ({ path: pathAt.get(`${entry.from}:${entry.index}`) ?? [], ...handed(entry.place) })) });
    return places;
  });
  return { level, held };
}

async function pathsOf(worker: WorkerConnection, indices: readonly number[]): Promise<readonly (readonly Action[])[]> {
  if (indices.length === 0) return [];
  const reply = await worker.ask({ type: "paths", indices });
  return reply.type === "paths" ? reply.paths : unexpected(reply.type);
}

/** describe replays a counterexample's actions to describe each in the state it ran in. */
function describe(setup: WorldSetup, actions: readonly Action[]): Step[] {
  const worlds = replay(setup, actions);
  return actions.map((action, index) => ({ action, description: describeAction(must(worlds[index]), action) }));
}

/** WorkerConnection sends a worker requests and waits for its answers in order; a worker that fails fails the search. */
class WorkerConnection {
  private readonly waiting: { resolve: (reply: WorkerReply) => void; reject: (error: Error) => void }[] = [];
  private failure: Error | undefined;

  constructor(private readonly worker: Worker) {
    worker.on("message", (reply: WorkerReply) => this.waiting.shift()?.resolve(reply));
    worker.on("error", (error: Error) => this.fail(error));
    worker.on("exit", (code: number) => this.fail(new Error(`an explore worker exited with code ${code}`)));
  }

  post(request: WorkerRequest): void {
    this.worker.postMessage(request);
  }

  ask(request: WorkerRequest): Promise<WorkerReply> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.worker.postMessage(request);
    });
  }

  async terminate(): Promise<void> {
    this.worker.removeAllListeners("exit");
    await this.worker.terminate();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiter of this.waiting.splice(0)) waiter.reject(error);
  }
}

function unexpected(type: string): never {
  throw new Error(`an explore worker answered ${type} out of turn`);
}

function must<T>(value: T | undefined): T {
  if (value === undefined) throw new Error("explore --jobs: a state the coordinator counted is missing");
  return value;
}
