import { ConfigError } from "@concord/core";
import { type ScenarioInput, replayCommand, resolveScenario } from "@concord/sim";
import type { CommandIo } from "./io.ts";
import { UsageError } from "./io.ts";

/**
 * readScenarioFile reads a scenario written by the user as JSON and validates
 * it with the simulator's own schema (the one the built-in scenarios pass), so
 * a bad file is refused before anything runs, with the field and the value
 * named. It returns the scenario as written: the simulator fills in the
 * defaults itself, as it does for the built-in ones.
 */
export function readScenarioFile(path: string, io: CommandIo): ScenarioInput {
  let text: string;
  try {
    text = io.readFile(path);
  } catch (error) {
    throw new UsageError(`--scenario-file: cannot read ${path}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--scenario-file: ${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new UsageError(`--scenario-file: ${path} must hold one JSON object (a scenario), not ${Array.isArray(parsed) ? "an array" : String(parsed)}`);
  }
  try {
    resolveScenario(parsed as ScenarioInput);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(`--scenario-file ${path}: ${error.message}`);
    throw error;
  }
  return parsed as ScenarioInput;
}

/**
 * scenarioFileUsageError turns a scenario error the simulator finds only when
 * it builds the run (a fault after `healAtMs`, say) into a usage error that
 * names the file; any other configuration error is returned as it was.
 */
export function scenarioFileUsageError(error: ConfigError, path: string | undefined): UsageError {
  const inScenario = error.field === "scenario" || error.field.startsWith("scenario.");
  return new UsageError(path !== undefined && inScenario ? `--scenario-file ${path}: ${error.message}` : error.message);
}

/** ReplayableRun is what a replay command needs of a run: the simulator's replay fields, the scenario by name or as an object. */
export type ReplayableRun = Omit<Parameters<typeof replayCommand>[0], "scenario"> & { readonly scenario: string | ScenarioInput };

/**
 * replayCommandFor is the command that replays a run: the simulator's own
 * replay command, with `--scenario-file <path>` in place of `--scenario` when
 * the scenario came from a file, so that a bug report carries its fault
 * schedule.
 */
export function replayCommandFor(run: ReplayableRun, scenarioFile: string | undefined): string {
  if (typeof run.scenario === "string") return replayCommand({ ...run, scenario: run.scenario });
  const name = run.scenario.name;
  const replay = replayCommand({ ...run, scenario: name });
  return scenarioFile === undefined ? replay : replay.replace(` --scenario ${name} `, ` --scenario-file ${shellQuote(scenarioFile)} `);
}

/** shellQuote quotes a word for a POSIX shell when it holds anything but safe characters. */
export function shellQuote(word: string): string {
  return /^[\w./:@%+=,-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}
