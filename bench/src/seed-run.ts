// One seed of one cell: run the simulation, judge it, and reduce it to the
// figures results.json keeps (no history). It runs inside a worker thread
// (cell-worker.mjs) or in the main thread alike, and gives the same record.
import { brokenGuarantees, checkRun, findAlgorithm, replayCommand, replayRunOf, simulate } from "@concord/lab";
import { type ProtocolOptions, isReadLevel } from "@concord/core";
import { type CpuModel, type ScenarioInput, resolveScenario, sameCpu } from "@concord/sim";
import { faultRecovery, latencyByKind, latencyCdf, partitionAvailability, perOpByType, roundTo, throughputSeries, workloadOperations, workloadSpanOf } from "./figures.ts";
import { type PredictionComparison, chargedCpuOf, predictRun } from "./predict.ts";
import type { SeedRun } from "./results-schema.ts";

/**
 * predictionOf sets the run beside the analytic prediction at its own share of reads, key count, one-way delay (a
 * constant link latency; none for a drawn one, whose median the formula does not give), sync time and the CPU cost
 * model it charged (at its own mean message size).
 */
function predictionOf(report: Parameters<typeof predictRun>[0], result: ReturnType<typeof simulate>["result"]): PredictionComparison | null {
  const scenario = result.scenarioDefinition;
  const latency = scenario.link.latency;
  const mix = scenario.workload.mix;
  const total = mix.get + mix.put + mix.append + mix.cas + mix.delete;
  return (
    predictRun(report, {
      readShare: total > 0 ? mix.get / total : 0,
      keys: scenario.workload.keys,
      ...(latency.kind === "constant" ? { oneWayDelayMs: latency.ms + scenario.link.jitterMs / 2 } : {}),
      syncMs: scenario.disk.syncMs ?? 0,
      cpu: chargedCpuOf(result),
    }) ?? null
  );
}

/** SeedTask is one run the pool carries out: plain data, since it crosses to a worker thread. */
export interface SeedTask {
  readonly algo: string;
  readonly nodes: number;
  readonly scenario: string | ScenarioInput;
  /** scenarioFile is the scenario's JSON file for replay commands (null for a built-in scenario). */
  readonly scenarioFile: string | null;
  readonly seed: number;
  /** ops overrides the scenario's operation count (null: the scenario's own). */
  readonly ops: number | null;
  /** cpu is the CPU cost model charged instead of the scenario's: the bench's calibrated one, the same for every cell. */
  readonly cpu: CpuModel;
  /** protocolOptions are a PACELC variant's options (quorum's r and w); absent: the algorithm's defaults. */
  readonly protocolOptions?: ProtocolOptions;
  /** readLevel is the read consistency level a PACELC variant's clients ask for; absent: the default (linearizable). */
  readonly readLevel?: string;
}

/**
 * cpuOverride is the run's cpu option: none when the scenario already charges the bench's model (the simulator's
 * calibrated default, which every built-in scenario charges), so that the replay command is the plain `concord sim`
 * command a user would type; the model itself when the scenario sets another, so that every cell charges the same.
 */
export function cpuOverride(task: Pick<SeedTask, "scenario" | "cpu">): { cpu?: CpuModel } {
  return sameCpu(resolveScenario(task.scenario).cpu, task.cpu) ? {} : { cpu: { ...task.cpu } };
}

/** SeedOutcome is a finished run: its figures, and the wall-clock time it took (for the progress bar only, never in results.json's compared fields). */
export interface SeedOutcome {
  readonly run: SeedRun;
  readonly wallMs: number;
}

/** runSeed runs one seed of a cell and reduces it to a SeedRun. */
export function runSeed(task: SeedTask): SeedOutcome {
  const startedMs = performance.now();
  const algorithm = findAlgorithm(task.algo);
  if (algorithm === undefined) throw new Error(`unknown algorithm "${task.algo}"`);
  if (task.readLevel !== undefined && !isReadLevel(task.readLevel)) throw new Error(`unknown read level "${task.readLevel}"`);
  const options = {
    algorithm,
    nodes: task.nodes,
    scenario: task.scenario,
    seed: task.seed,
    ...cpuOverride(task),
    ...(task.ops !== null ? { ops: task.ops } : {}),
    ...(task.protocolOptions !== undefined ? { protocolOptions: task.protocolOptions } : {}),
    ...(task.readLevel !== undefined && isReadLevel(task.readLevel) ? { readLevel: task.readLevel } : {}),
  };
  const { result, report } = simulate(options, checkRun);
  const operations = workloadOperations(result);
  const span = workloadSpanOf(operations);
  // A crash that outlasts the heal is never lifted (its window's untilMs is NaN): it lasts to the end of the run.
  const endMs = result.virtualSeconds * 1000;
  const faults = result.faults.map((fault) => ({ atMs: fault.atMs, untilMs: Number.isNaN(fault.untilMs) ? endMs : fault.untilMs, kind: fault.kind, nodes: [...fault.nodes], ...(fault.clients !== undefined ? { clients: [...fault.clients] } : {}) }));
  const run: SeedRun = {
    seed: task.seed,
    replayCommand: replayCommand(replayRunOf(options), task.scenarioFile !== null ? { scenarioFile: task.scenarioFile } : {}),
    ops: { ...result.ops },
    finalReadsCompleted: result.finalReads.completed,
    virtualSeconds: result.virtualSeconds,
    workloadSeconds: roundTo((span.endMs - span.startMs) / 1000, 6),
    throughputOpsPerSec: result.throughputOpsPerSec,
    latencyMs: { ...result.latencyMs },
    latencyByKind: latencyByKind(operations),
    readLevel: { requested: result.readLevel, served: result.readLevelServed },
    messages: { total: result.messages.total, perOp: result.messages.perOp, byType: { ...result.messages.byType }, perOpByType: perOpByType(result) },
    bytes: { ...result.bytes },
    leaderChanges: result.leaderChanges,
    faults,
    recovery: faultRecovery(operations, faults),
    availability: partitionAvailability(operations, faults),
    verdict: {
      linearizable: report.linearizable,
      summary: report.linearizability,
      invariantViolations: result.invariantViolations.map((violation) => ({ invariant: violation.invariant, timeUs: violation.timeUs, message: violation.message })),
      broken: brokenGuarantees(report),
    },
    throughputOverTime: throughputSeries(operations),
    latencyCdf: latencyCdf(operations),
    // The predictions model linearizable reads (ReadIndex, the log, PBFT's read-only path): none for a run whose reads ask less.
    prediction: task.readLevel === undefined || task.readLevel === "linearizable" ? predictionOf(report, result) : null,
  };
  return { run, wallMs: performance.now() - startedMs };
}
