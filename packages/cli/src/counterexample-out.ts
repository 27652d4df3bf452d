import { ConfigError } from "@concord/core";
import { type ExploreResult, type WorldSetup, counterexampleScenario } from "@concord/explore";
import { type ScenarioInput, runSimulation } from "@concord/sim";
import { diagramMessagesMax, renderMessageDiagram } from "./diagram.ts";
import { type CommandIo, writeOutputFile } from "./io.ts";
import { shellQuote } from "@concord/lab";

/** CounterexampleRequest is what `concord explore` was asked to write of a counterexample: a scenario file, a diagram, or both. */
export interface CounterexampleRequest {
  readonly scenarioPath: string | undefined;
  readonly diagramPath: string | undefined;
}

/**
 * writeCounterexample writes a counterexample as a simulator scenario
 * (`--counterexample-out`: its script replays the steps in `concord sim
 * --scenario-file`) and as a message diagram (`--diagram`: the scripted
 * simulator run drawn by the same code as `concord sim --diagram`, one step
 * to the millisecond). It returns the lines to print: where each went, and
 * the command that replays the scenario.
 */
export function writeCounterexample(io: CommandIo, request: CounterexampleRequest, setup: WorldSetup, violation: NonNullable<ExploreResult["violation"]>): string[] {
  if (request.scenarioPath === undefined && request.diagramPath === undefined) return [];
  const scenario = counterexampleScenario(setup, violation.steps, violation);
  const lines: string[] = [];
  if (request.scenarioPath !== undefined) {
    writeOutputFile(io, "counterexample-out", request.scenarioPath, JSON.stringify(scenario, null, 2) + "\n");
    lines.push(`counterexample written as a simulator scenario to ${request.scenarioPath}; replay it step by step with: pnpm concord ${simCommand(setup, request.scenarioPath)}`);
  }
  if (request.diagramPath !== undefined) {
    writeOutputFile(io, "diagram", request.diagramPath, counterexampleDiagram(setup, scenario, violation.property));
    lines.push(`counterexample drawn as a message diagram (one step to the millisecond) in ${request.diagramPath}`);
  }
  return lines;
}

/** simCommand is the `concord sim` command that replays a counterexample's scenario file. */
export function simCommand(setup: WorldSetup, path: string): string {
  return `sim --algo ${setup.algorithm.name} --nodes ${setup.nodes} --seed ${setup.seed} --scenario-file ${shellQuote(path)}`;
}

/**
 * counterexampleDiagram runs the counterexample's script in the simulator and
 * draws its messages; those still in flight when it ends (sent, never
 * delivered or lost) are left out, as the title says.
 */
function counterexampleDiagram(setup: WorldSetup, scenario: ScenarioInput, property: string): string {
  let result;
  try {
    result = runSimulation({ algorithm: setup.algorithm, nodes: setup.nodes, seed: setup.seed, scenario, recordMessages: { messagesMax: diagramMessagesMax } });
  } catch (error) {
    // The simulator replays what the explorer found on the same code; a step it cannot take is a bug of one of them, not the user's input.
    if (error instanceof ConfigError) throw new Error(`the simulator could not replay the counterexample to draw it: ${error.message}`);
    throw error;
  }
  const trace = result.messageTrace;
  if (trace === undefined) throw new Error("the scripted run recorded no message trace although the diagram asked for one");
  const drawn = trace.messages.filter((message) => message.arrivals.length > 0 || message.dropped !== undefined);
  const inFlight = trace.messages.length - drawn.length;
  const steps = scenario.script?.steps.length ?? 0;
  return renderMessageDiagram({
    title: `${setup.algorithm.name}: counterexample to ${property} (${steps} steps)${inFlight > 0 ? `, ${inFlight} in flight at the end not drawn` : ""}`,
    replicas: Array.from({ length: setup.nodes + (setup.spares ?? 0) }, (_, id) => id),
    messages: drawn,
    faults: result.faults,
    fromMs: 0,
    toMs: steps + 1,
  });
}
