// Shared checks for simulated PBFT runs: safety (the simulator's invariants and
// the agreement monitor), linearizability of the client history, and liveness
// (every operation completes once the network is healthy). A failure names the
// command that replays the run.
import { pbft } from "@concord/pbft";
import type { AnyAlgorithm } from "@concord/core";
import { replayCommand } from "@concord/lab";
import { runSimulation, type ScenarioInput, type SimulationResult } from "@concord/sim";
import { judgeRun } from "@concord/testkit";

/** seedCount is how many seeds a randomized test runs: `fallback` unless CONCORD_SEEDS says otherwise. */
export function seedCount(fallback: number): number {
  const fromEnv = Number(process.env["CONCORD_SEEDS"]);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : fallback;
}

/** SimulatedRun names one run of PBFT in the simulator. */
export interface SimulatedRun {
  readonly nodes: number;
  /** scenario is a built-in scenario's name, or a scenario object (its replay names it, but the CLI runs only built-in ones). */
  readonly scenario: string | ScenarioInput;
  readonly seed: number;
  readonly ops: number;
  readonly clients: number;
  readonly byzantineStrategy?: string;
  readonly encode?: boolean;
  readonly protocolOptions?: Readonly<Record<string, unknown>>;
  /** byzantineNodes overrides which replicas lie (the simulator numbers replicas 1..n). */
  readonly byzantineNodes?: readonly number[];
  /** algorithm overrides `pbft`, e.g. to add a probe monitor. */
  readonly algorithm?: AnyAlgorithm;
}

/** problemsOf runs one simulation and judges it (safe, linearizable, every operation completed): empty when all holds, else the report with the replay command. */
export function problemsOf(run: SimulatedRun): { problems: string[]; result: SimulationResult } {
  const result = runSimulation({
    algorithm: run.algorithm ?? pbft,
    nodes: run.nodes,
    scenario: run.scenario,
    seed: run.seed,
    ops: run.ops,
    clients: run.clients,
    ...(run.byzantineStrategy === undefined ? {} : { byzantineStrategy: run.byzantineStrategy }),
    ...(run.encode === undefined ? {} : { encode: run.encode }),
    ...(run.protocolOptions === undefined ? {} : { protocolOptions: run.protocolOptions }),
    ...(run.byzantineNodes === undefined ? {} : { byzantineNodes: run.byzantineNodes }),
  });
  const verdict = judgeRun(result, { liveness: "completed", undecidedIsBroken: true, replay: () => replayCommand({ algo: "pbft", ...run }) });
  return { problems: verdict.ok ? [] : [verdict.report], result };
}
