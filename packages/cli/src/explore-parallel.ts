import { Worker } from "node:worker_threads";
import {
  type Action,
  type BoundName,
  type ExploreBounds,
  type ExploreProgress,
  type ExploreResult,
  type SometimesProperty,
  type Step,
  type WorldSetup,
  World,
  describeAction,
  noCuts,
  replay,
} from "@concord/explore";
import type { ExploreRun } from "./commands/explore.ts";
import { workerBootstrap } from "./swarm-pool.ts";

/** WorkerRequest is what the coordinator of a parallel search asks one of its workers (explore-worker.ts). */
export type WorkerRequest =
  | { readonly type: "init"; readonly run: ExploreRun; readonly bounds: ExploreBounds; readonly identity: "ordered" | "unordered"; readonly root: boolean }
  | { readonly type: "expand" }
  | { readonly type: "keep"; readonly indices: readonly number[] }
  | { readonly type: "paths"; readonly indices: readonly number[] }
  | { readonly type: "adopt"; readonly paths: readonly (readonly Action[])[] };

/** WorkerReply is a worker's answer to "expand" and "paths" (the other requests need none). */
export type WorkerReply =
  | {
      readonly type: "expanded";
      readonly keys: readonly string[];
      readonly parents: readonly number[];
      readonly flags: readonly number[];
      readonly violations: readonly { readonly index: number; readonly property: string; readonly message: string }[];
      readonly cut: Readonly<Record<BoundName, number>>;
      readonly transitions: number;
    }
  | { readonly type: "paths"; readonly paths: readonly (readonly Action[])[] };

/** ParallelExplore is what a parallel search needs: the run (which each worker rebuilds its world from), the bounds and the number of workers. */
export interface ParallelExplore {
  readonly run: ExploreRun;
  readonly setup: WorldSetup;
  readonly bounds: ExploreBounds;
  /** identity: the state identity, "unordered" (the partial-order reduction's) or "ordered" (the full model's, --no-por). */
  readonly identity: "ordered" | "unordered";
  readonly jobs: number;
  readonly sometimes: readonly SometimesProperty[];
  readonly progressEveryStates: number;
  readonly onProgress?: (progress: ExploreProgress) => void;
}

/** rebalanceSlack is how far above an even share a worker's part of a level may grow before states move (a moved state is rebuilt by replaying its path). */
const rebalanceSlack = 1.1;

/**
 * exploreInParallel is `concord explore --jobs j`: a breadth-first search
 * over j worker threads, level by level (Stern and Dill's parallel Murphi
 * keeps states where they are made, as here). Each worker holds its share of
 * a level's states as live worlds, expands them with `successors` (every
 * action, no sleep set) and reports each successor's key; the coordinator
 * visits the successors in the order the single search would (by their
 * parent's place in the level, then by the order of the parent's actions),
 * keeps the first of each key, and tells each worker which of its successors
 * make the next level. A worker whose share grows past its even part hands
 * the surplus to the others, which rebuild each from its path.
 *
 * Visiting in the single search's order makes the result the single
 * search's without the partial-order reduction, state for state: the same
 * unique states, the same first violation (a shortest one) and the same
 * stop at the state limit. With the reduction's state identity it reaches
 * the states the reduced single search reaches (sleep sets remove actions,
 * never states; docs/explore.md), taking every action.
 */
export async function exploreInParallel(request: ParallelExplore): Promise<ExploreResult> {
  const { setup, bounds, identity, sometimes } = request;
  const started = performance.now();
  const cutBy = noCuts();
  const reached = sometimes.map(() => undefined as number | undefined);
  const visited = new Set<string>();
  let transitions = 0;
  let depthReached = 0;
  const result = (outcome: ExploreResult["outcome"], violation?: ExploreResult["violation"]): ExploreResult => ({
    outcome,
    uniqueStates: visited.size,
    transitions,
    slept: 0,
    por: identity === "unordered",
    depthReached,
    cutBy,
    sometimes: sometimes.map((property, index) => ({ name: property.name, reached: reached[index] !== undefined, depth: reached[index] })),
    violation,
    elapsedMs: performance.now() - started,
    bounds,
    strategy: "bfs",
    eventually: undefined,
  });

  const initial = World.initial(setup);
  if (initial.violation !== undefined) return result("violation", { ...initial.violation, steps: [] });
  visited.add(initial.key(identity));
  sometimes.forEach((property, index) => {
    if (property.holds(initial)) reached[index] = 0;
  });

  const workers = Array.from({ length: request.jobs }, () => new WorkerConnection(new Worker(workerBootstrap("explore-worker"), { eval: true })));
  try {
    workers.forEach((worker, index) => worker.post({ type: "init", run: request.run, bounds, identity, root: index === 0 }));
    /** order[w][i] is the place in the level of worker w's i-th state. */
    let order: number[][] = workers.map((_, index) => (index === 0 ? [0] : []));
    for (let level = 0; order.some((places) => places.length > 0); level++) {
      const replies = await Promise.all(workers.map((worker) => worker.ask({ type: "expand" })));
      const expanded = replies.map((reply) => (reply.type === "expanded" ? reply : unexpected(reply.type)));
      for (const reply of expanded) {
        transitions += reply.transitions;
        for (const [bound, count] of Object.entries(reply.cut)) cutBy[bound as BoundName] += count;
      }
      // The single search's order: by the parent's place in the level, then by the parent's own order of actions.
      const refs: { readonly worker: number; readonly index: number; readonly place: number }[] = [];
      expanded.forEach((reply, worker) => reply.parents.forEach((parent, index) => refs.push({ worker, index, place: order[worker]?.[parent] ?? 0 })));
      refs.sort((a, b) => a.place - b.place || a.index - b.index);
      const violations = expanded.map((reply) => new Map(reply.violations.map((violation) => [violation.index, violation])));
      const accepted: { readonly worker: number; readonly index: number }[] = [];
      for (const ref of refs) {
        const violation = violations[ref.worker]?.get(ref.index);
        if (violation !== undefined) {
          const [actions = []] = await pathsOf(must(workers[ref.worker]), [ref.index]);
          return result("violation", { property: violation.property, message: violation.message, steps: describe(setup, actions) });
        }
        const reply = must(expanded[ref.worker]);
        const key = must(reply.keys[ref.index]);
        if (visited.has(key)) continue;
        if (visited.size >= bounds.statesMax) {
          cutBy.statesMax++;
          return result("stopped");
        }
        visited.add(key);
        depthReached = level + 1;
        const flags = reply.flags[ref.index] ?? 0;
        sometimes.forEach((_, bit) => {
          if (reached[bit] === undefined && (flags & (1 << bit)) !== 0) reached[bit] = level + 1;
        });
        accepted.push(ref);
        if (visited.size % request.progressEveryStates === 0) request.onProgress?.({ uniqueStates: visited.size, depth: depthReached, queued: accepted.length, elapsedMs: performance.now() - started });
      }
      order = await nextLevel(workers, accepted);
    }
    return result("exhausted");
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}

/**
 * nextLevel tells each worker which of its successors make the next level, moving a surplus above an even share
 * to the workers below it, and returns each worker's states' places in the level.
 */
async function nextLevel(workers: readonly WorkerConnection[], accepted: readonly { readonly worker: number; readonly index: number }[]): Promise<number[][]> {
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
  return workers.map((worker, index) => {
    const own = must(kept[index]);
    const taken = must(adopted[index]);
    worker.post({ type: "keep", indices: [...own.map((entry) => entry.index), ...taken.filter((entry) => entry.from === index).map((entry) => entry.index)] });
    const foreign = taken.filter((entry) => entry.from !== index);
    if (foreign.length > 0) worker.post({ type: "adopt", paths: foreign.map((entry) => pathAt.get(`${entry.from}:${entry.index}`) ?? []) });
    return [...own.map((entry) => entry.place), ...taken.filter((entry) => entry.from === index).map((entry) => entry.place), ...foreign.map((entry) => entry.place)];
  });
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
