// A worker thread of `concord explore --jobs j` (explore-parallel.ts): it holds its share of a breadth-first
// level's states, expands them when told, keeps the successors the coordinator found new, and hands out a state's
// path when the coordinator moves the state to another worker or reports it as a counterexample.
import { parentPort } from "node:worker_threads";
import { type Action, type BoundName, type SleepSet, type SometimesProperty, type World, type WorldSetup, World as Worlds, checkEventually, defaultSometimes, emptySleepSet, expansion, noCuts, replay } from "@concord/explore";
import { setupOf } from "./commands/explore.ts";
import type { ParentTally, WorkerReply, WorkerRequest } from "./explore-parallel.ts";

if (parentPort === null) throw new Error("explore-worker.ts runs only as a worker thread of concord explore --jobs");
const port = parentPort;

/** Held is a state this worker holds, with the actions that lead to it (newest last, as a linked list sharing prefixes), its sleep set and the actions it is limited to. */
interface Held {
  readonly world: World;
  readonly path: PathNode | undefined;
  readonly sleep: SleepSet;
  readonly only: ReadonlySet<string> | undefined;
}

interface PathNode {
  readonly parent: PathNode | undefined;
  readonly action: Action;
}

let setup: WorldSetup | undefined;
let request: Extract<WorkerRequest, { type: "init" }> | undefined;
let sometimes: readonly SometimesProperty[] = [];
let states: Held[] = [];
let candidates: Held[] = [];

port.on("message", (message: WorkerRequest) => {
  const reply = handle(message);
  if (reply !== undefined) port.postMessage(reply);
});

function handle(message: WorkerRequest): WorkerReply | undefined {
  switch (message.type) {
    case "init":
      request = message;
      setup = setupOf(message.run);
      sometimes = defaultSometimes(setup.algorithm.kvSemantics === "write-once");
      states = message.root ? [{ world: Worlds.initial(setup), path: undefined, sleep: emptySleepSet, only: undefined }] : [];
      return undefined;
    case "expand":
      candidates = [];
      return expand(states.map((held, parent) => ({ held, parent })));
    case "reexpand": {
      const held = must(states[message.parent]);
      return expand([{ held: { ...held, sleep: message.sleep }, parent: message.parent }]);
    }
    case "keep":
      states = message.states.map((state) => ({ ...must(candidates[state.index]), sleep: state.sleep, only: state.only }));
      candidates = [];
      return undefined;
    case "paths":
      return { type: "paths", paths: message.indices.map((index) => actionsOf(must(candidates[index]).path)) };
    case "eventually":
      return { type: "eventually", outcomes: message.indices.map((index) => checkEventually(must(candidates[index]).world, message.stepsMax)) };
    case "adopt":
      for (const state of message.states) states.push({ ...rebuild(state.path), sleep: state.sleep, only: state.only });
      return undefined;
  }
}

/**
 * expand runs the given states one step further, in order, each as the single search expands it (expansion), and
 * reports each successor (its key, its parent, its sleep set, the sometimes properties it meets, a violation) and
 * what each state's expansion cost; the successors are numbered on from those of the level already made.
 */
function expand(parents: readonly { readonly held: Held; readonly parent: number }[]): WorkerReply {
  const { bounds, identity } = must(request);
  const por = identity === "unordered";
  const first = candidates.length;
  const keys: string[] = [];
  const parentOf: number[] = [];
  const flags: number[] = [];
  const sleeps: SleepSet[] = [];
  const violations: { readonly index: number; readonly property: string; readonly message: string }[] = [];
  const tallies: ParentTally[] = [];
  for (const { held, parent } of parents) {
    const cut: Record<BoundName, number> = noCuts();
    const tally = { transitions: 0, slept: 0 };
    for (const { world: next, action, sleep } of expansion({ world: held.world, sleep: held.sleep, only: held.only, bounds, por }, cut, tally)) {
      const index = candidates.length;
      candidates.push({ world: next, path: { parent: held.path, action }, sleep, only: undefined });
      parentOf.push(parent);
      sleeps.push(sleep);
      const violation = next.violation;
      if (violation !== undefined) {
        violations.push({ index, property: violation.property, message: violation.message });
        keys.push("");
        flags.push(0);
        continue;
      }
      keys.push(next.key(identity));
      flags.push(sometimes.reduce((mask, property, bit) => (property.holds(next) ? mask | (1 << bit) : mask), 0));
    }
    tallies.push({ ...tally, cut: (Object.entries(cut) as [BoundName, number][]).filter(([, count]) => count > 0) });
  }
  return { type: "expanded", first, keys, parents: parentOf, flags, sleeps, violations, tallies };
}

function rebuild(actions: readonly Action[]): { readonly world: World; readonly path: PathNode | undefined } {
  const world = replay(must(setup), actions).at(-1);
  let path: PathNode | undefined;
  for (const action of actions) path = { parent: path, action };
  return { world: must(world), path };
}

function actionsOf(path: PathNode | undefined): Action[] {
  const actions: Action[] = [];
  for (let node = path; node !== undefined; node = node.parent) actions.push(node.action);
  return actions.reverse();
}

function must<T>(value: T | undefined): T {
  if (value === undefined) throw new Error("explore worker: asked for a state it does not hold");
  return value;
}
