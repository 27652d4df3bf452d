import { type ReplayRun, brokenGuarantees, checkRun, findAlgorithm, replayCommand, simulate } from "@concord/lab";
import { runThrew } from "@concord/check";
import type { ReadLevel } from "@concord/core";
import type { ScenarioInput } from "@concord/sim";

/**
 * SeedTask is one run of a swarm: plain data, so that it can cross to a
 * worker thread. The algorithm travels by name and is looked up there.
 */
export interface SeedTask {
  readonly algo: string;
  readonly nodes: number;
  readonly scenario: string | ScenarioInput;
  /** scenarioFile is the file the scenario came from, for the replay command. */
  readonly scenarioFile?: string;
  readonly seed: number;
  readonly ops?: number;
  readonly clients?: number;
  readonly protocolOptions?: Readonly<Record<string, unknown>>;
  /** readLevel is the level the workload's reads ask for (`--read`). */
  readonly readLevel?: ReadLevel;
}

/** SeedOutcome is what one seed showed: its problems (none when it kept every guarantee) and the command that replays it. */
export interface SeedOutcome {
  readonly algo: string;
  readonly nodes: number;
  readonly seed: number;
  /** problems lists broken invariants, a non-linearizable or undecided history, or the error the run threw. */
  readonly problems: readonly string[];
  readonly replay: string;
  /** paths counts the protocol's hard paths the run reached (empty when it threw). */
  readonly paths: Readonly<Record<string, number>>;
  /** crashes counts the run's crashes, those that lost unsynced records, and those that tore one. */
  readonly crashes: SeedCrashes;
}

/** SeedCrashes is what a run's crashes cost: how many struck, how many lost unsynced records, how many tore one. */
export interface SeedCrashes {
  readonly crashes: number;
  readonly lostRecords: number;
  readonly torn: number;
}

const noCrashes: SeedCrashes = { crashes: 0, lostRecords: 0, torn: 0 };

/**
 * runSeedTask runs one seed and checks it as `concord sim` does. A run that
 * throws (an assertion in a protocol, say) is a failing seed, not the end of
 * the swarm: assertions guard programmer errors, and finding those is the
 * point. A checker that cannot decide counts as a failure too: a swarm must
 * not call a history it could not check a pass.
 */
export function runSeedTask(task: SeedTask): SeedOutcome {
  const { algo, nodes, seed } = task;
  const run = simulatedRun(task);
  const replay = replayCommand(run, where(task));
  const algorithm = findAlgorithm(algo);
  if (algorithm === undefined) return { algo, nodes, seed, problems: [`no algorithm named "${algo}"`], replay, paths: {}, crashes: noCrashes };
  try {
    const { report } = simulate({ ...run, algorithm }, checkRun);
    const problems = brokenGuarantees(report, { undecidedIsBroken: true });
    // The replay carries every option the run used, those chaos drew from the seed included (issue 10).
    const usedOptions = Object.keys(report.options).length > 0 ? { protocolOptions: report.options } : {};
    const crashes = { crashes: report.crashes.crashes, lostRecords: report.crashes.lostRecords, torn: report.crashes.torn };
    return { algo, nodes, seed, problems, replay: replayCommand({ ...run, ...usedOptions }, where(task)), paths: report.paths, crashes };
  } catch (error) {
    return { algo, nodes, seed, problems: [runThrew(error)], replay, paths: {}, crashes: noCrashes };
  }
}

/** seedFailure is the outcome of a seed whose run could not report (its worker died). */
export function seedFailure(task: SeedTask, problem: string): SeedOutcome {
  return { algo: task.algo, nodes: task.nodes, seed: task.seed, problems: [problem], replay: replayCommand(simulatedRun(task), where(task)), paths: {}, crashes: noCrashes };
}

/** simulatedRun is the part of a task that the simulator and the replay command read: all of it but the scenario's file name. */
function simulatedRun(task: SeedTask): ReplayRun {
  const { scenarioFile: _file, ...run } = task;
  return run;
}

/** where names the file a task's scenario came from, for its replay command. */
function where(task: SeedTask): { scenarioFile?: string } {
  return task.scenarioFile !== undefined ? { scenarioFile: task.scenarioFile } : {};
}
