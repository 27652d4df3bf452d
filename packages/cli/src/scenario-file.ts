import { ConfigError } from "@concord/core";
import { type ScenarioInput, resolveScenario } from "@concord/sim";
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
