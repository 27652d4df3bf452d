// A worker thread of `concord explore --jobs j` (explore-parallel.ts): it holds its share of a breadth-first
// level's states, expands them when told, keeps the successors the coordinator found new, and hands out a state's
// path when the coordinator moves the state to another worker or reports it as a counterexample.
import { parentPort } from "node:worker_threads";
import { type Action, type BoundName, type SometimesProperty, type World, type WorldSetup, World as Worlds, defaultSometimes, noCuts, replay, successors } from "@concord/explore";
import { setupOf } from "./commands/explore.ts";
import type { WorkerReply, WorkerRequest } from "./explore-parallel.ts";

if (parentPort === null) throw new Error("explore-worker.ts runs only as a worker thread of concord explore --jobs");
const port = parentPort;

/** Held is a state this worker holds, with the actions that lead to it (newest last, as a linked list sharing prefixes). */
interface Held {
  readonly world: World;
  readonly path: PathNode | undefined;
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
      states = message.root ? [{ world: Worlds.initial(setup), path: undefined }] : [];
      return undefined;
    case "expand":
      return expand();
    case "keep":
      states = message.indices.map((index) => must(candidates[index]));
      candidates = [];
      return undefined;
    case "paths":
      return { type: "paths", paths: message.indices.map((index) => actionsOf(must(candidates[index]).path)) };
    case "adopt":
      for (const actions of message.paths) states.push(rebuild(actions));
      return undefined;
  }
}

/** expand runs every state this worker holds one step further, in order, and reports each successor: its key, its parent, the sometimes properties it meets, a violation. */
function expand(): WorkerReply {
  const { bounds, identity } = must(request);
  const cut: Record<BoundName, number> = noCuts();
  const keys: string[] = [];
  const parents: number[] = [];
  const flags: number[] = [];
  const violations: { readonly index: number; readonly property: string; readonly message: string }[] = [];
  let transitions = 0;
  candidates = [];
  states.forEach((held, parent) => {
    const { world } = held;
    if (world.depth >= bounds.depthMax) {
      cut.depthMax++;
      return;
    }
    if (world.inFlight().length > bounds.inflightMessagesMax) {
      cut.inflightMessagesMax++;
      return;
    }
    const expanded = successors(world, bounds, cut);
    transitions += expanded.transitions;
    for (const { world: next, action } of expanded.next) {
      const index = candidates.length;
      candidates.push({ world: next, path: { parent: held.path, action } });
      parents.push(parent);
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
  });
  return { type: "expanded", keys, parents, flags, violations, cut, transitions };
}

function rebuild(actions: readonly Action[]): Held {
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
