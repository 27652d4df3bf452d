import { createHash } from "node:crypto";
import { type NodeId, firstClientId } from "@concord/core";
import type { KvCommand } from "@concord/kv";
import type { ScenarioInput, ScriptCommand, ScriptCrash, ScriptInput } from "@concord/sim";
import { type Step, describeAction, replay } from "./search.ts";
import type { Action, CrashPoint, World, WorldSetup } from "./world.ts";

/** ScriptStepInput is one step of a simulator script as the model checker writes it. */
type ScriptStepInput = ScriptInput["steps"][number];

/**
 * counterexampleScenario writes a counterexample (or any path of actions) as
 * a simulator scenario whose script replays it step by step
 * (`concord sim --scenario-file`, @concord/sim's script.ts): the workload,
 * the seed its random streams and keys derive from, the protocol options,
 * and each action as a step, a message named by its sender, receiver, type
 * and place among the messages in flight like it, with the hash of its bytes
 * so that a replay that has left the path stops there instead of going on
 * elsewhere. Each step carries the model checker's own description.
 */
export function counterexampleScenario(setup: WorldSetup, steps: readonly Step[], violation?: { readonly property: string; readonly message: string }): ScenarioInput {
  const worlds = replay(setup, steps.map((step) => step.action));
  const script: ScriptInput = {
    nodes: setup.nodes,
    ...(setup.spares === undefined || setup.spares === 0 ? {} : { spares: setup.spares }),
    seed: setup.seed,
    protocolOptions: { ...setup.options },
    ...(setup.readLevel === undefined || setup.readLevel === "linearizable" ? {} : { readLevel: setup.readLevel }),
    // The liars, each replayed with its strategy drawing from the model's stream for it, so that it lies byte for byte alike.
    ...(setup.byzantine === undefined || setup.byzantine.nodes.length === 0 ? {} : { byzantine: { nodes: [...setup.byzantine.nodes], strategy: setup.byzantine.strategy, ...(setup.byzantine.midPath === true ? { midPath: true } : {}) } }),
    clients: setup.workload.map((commands) => commands.map(scriptCommand)),
    ticksPerTimeoutMax: setup.ticksPerTimeoutMax,
    steps: steps.map((step, index) => scriptStep(must(worlds[index], index), step.action)),
    ...(violation !== undefined ? { expected: { property: violation.property, message: violation.message } } : {}),
  };
  const what = violation === undefined ? `a path of ${steps.length} steps` : `a counterexample to ${violation.property} in ${steps.length} steps (${violation.message})`;
  return {
    name: "explore-counterexample",
    description: `concord explore's ${what} on ${setup.algorithm.name} with ${setup.nodes} replicas, replayed one named step at a time`,
    script,
  };
}

/** scriptStep writes one action, taken in `world`, as a script step. */
function scriptStep(world: World, action: Action): ScriptStepInput {
  const note = describeAction(world, action);
  switch (action.kind) {
    case "deliver":
    case "drop":
    case "duplicate": {
      const inFlight = world.inFlight();
      const index = inFlight.findIndex((envelope) => envelope.key === action.key);
      const envelope = inFlight[index];
      if (envelope === undefined) throw new Error(`explore: the message of step "${note}" is not in flight`);
      const nth = inFlight.slice(0, index).filter((other) => other.from === envelope.from && other.to === envelope.to && other.type === envelope.type).length;
      const named = { from: endpoint(envelope.from), to: endpoint(envelope.to), type: envelope.type, nth, sha256: createHash("sha256").update(envelope.bytes).digest("hex") };
      if (action.kind === "deliver") return { step: "deliver", ...named, ...crashOf(action.crash), note };
      return { step: action.kind, ...named, note };
    }
    case "timeout":
      return { step: "timeout", node: endpoint(action.node), ...crashOf(action.crash), note };
    case "invoke":
      return { step: "invoke", client: `c${action.client - firstClientId}`, note };
    case "crash":
      return { step: "crash", node: action.node, note };
    case "restart":
      return { step: "restart", node: action.node, ...crashOf(action.crash), note };
    case "tick":
      return { step: "tick", note };
    case "client-restart":
      return { step: "client-restart", client: `c${action.client - firstClientId}`, note };
    case "reconfigure":
      return { step: "reconfigure", node: action.node, changes: action.changes.map((change) => ({ type: change.type, node: change.node })), joint: action.joint, note };
    case "transfer":
      return { step: "transfer", node: action.node, target: action.target, note };
    case "partition":
      return { step: "partition", side: action.side.map(endpoint), note };
    case "heal":
      return { step: "heal", note };
    case "turn-liar":
      return { step: "turn-liar", node: action.node, note };
  }
}

function crashOf(point: CrashPoint | undefined): { crash?: ScriptCrash } {
  return point === undefined ? {} : { crash: { write: point.ready, keep: point.keep } };
}

/** endpoint writes a node as a script names it: a replica by its id, a client as "c<index>". */
function endpoint(id: NodeId): number | string {
  return id >= firstClientId ? `c${id - firstClientId}` : id;
}

/** scriptCommand writes a KV command with its values as text (the model's workloads write text values). */
function scriptCommand(command: KvCommand): ScriptCommand {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  switch (command.type) {
    case "get":
    case "delete":
      return command;
    case "put":
    case "append":
      return { type: command.type, key: command.key, value: decoder.decode(command.value) };
    case "cas":
      return { type: "cas", key: command.key, ...(command.expected === undefined ? {} : { expected: decoder.decode(command.expected) }), value: decoder.decode(command.value) };
  }
}

function must(world: World | undefined, index: number): World {
  if (world === undefined) throw new Error(`explore: no state before step ${index + 1}`);
  return world;
}
