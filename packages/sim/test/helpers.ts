import { replayCommand } from "@concord/lab";
import type { SimulationOptions, SimulationResult } from "@concord/sim";

/** replayOf is the message a simulated test prints on failure: the seed and the command that replays the run. */
export function replayOf(options: SimulationOptions): string {
  const scenario = typeof options.scenario === "string" ? options.scenario : options.scenario.name;
  const command = replayCommand({
    algo: options.algorithm.name,
    nodes: options.nodes,
    scenario,
    seed: options.seed,
    ...(options.ops !== undefined ? { ops: options.ops } : {}),
    ...(options.clients !== undefined ? { clients: options.clients } : {}),
  });
  const custom = typeof options.scenario === "string" ? "" : " (a scenario object defined in this test: run it with runSimulation)";
  return `seed ${options.seed}: ${command}${custom}`;
}

/** okLatenciesUs lists the latency of every operation that completed ok, in microseconds. */
export function okLatenciesUs(result: SimulationResult): number[] {
  return result.history.filter((op) => op.status === "ok" && op.completeUs !== undefined).map((op) => (op.completeUs as number) - op.invokeUs);
}

/** mean is the arithmetic mean of a non-empty list. */
export function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}
