import { findStaleReads, type HistorySummary, type StaleRead } from "@concord/check";
import { type PartitionAvailability, partitionAvailability } from "./availability.ts";
import type { InvariantViolation, ProtocolOptions, ReadLevel } from "@concord/core";
import { type CpuModel, type FaultWindow, type SimulationOptions, type SimulationResult, runSimulation } from "@concord/sim";

/** SimulationReport is one run's figures as `concord sim --json` prints them: deterministic, no wall-clock time. */
export interface SimulationReport {
  readonly algo: string;
  readonly nodes: number;
  readonly scenario: string;
  readonly seed: number;
  /** ops counts the workload's operations; finalReads the reads after it that look for lost writes. */
  readonly ops: SimulationResult["ops"];
  readonly finalReads: SimulationResult["finalReads"];
  readonly virtualSeconds: number;
  readonly throughputOpsPerSec: number;
  readonly latencyMs: SimulationResult["latencyMs"];
  readonly messages: SimulationResult["messages"];
  readonly bytes: SimulationResult["bytes"];
  /** warmup is the traffic before the workload (left out of messages and bytes). */
  readonly warmup: SimulationResult["warmup"];
  readonly leaderChanges: number;
  /** linearizable is the checker's verdict on the run's history: null when it could not decide. */
  readonly linearizable: boolean | null;
  readonly linearizability: string;
  /**
   * promisesLinearizability is false for an algorithm that does not promise it (an eventually consistent store), and
   * for a run whose reads were served stale: a history that is not linearizable is then its verdict, not a broken
   * guarantee.
   */
  readonly promisesLinearizability: boolean;
  /** readLevel is the consistency the workload's reads asked for (`concord sim --read`); readLevelServed the level the algorithm served them at. */
  readonly readLevel: ReadLevel;
  readonly readLevelServed: ReadLevel;
  /**
   * staleReads names each read that certainly returned an overwritten value: which read, what it returned, and
   * which write, completed before the read began, it missed (@concord/check's findStaleReads; the first
   * staleReadsShownMax of them, staleReadCount counts all). Each one alone makes the history not linearizable.
   */
  readonly staleReads: readonly StaleRead[];
  readonly staleReadCount: number;
  /**
   * withoutStaleReads is, for a run of an algorithm that promises linearizability whose reads were served stale, the
   * checker's verdict on its history with the stale reads left out (the writes and the final reads, which are
   * linearizable): a guarantee the run still makes. Absent for every other run.
   */
  readonly withoutStaleReads?: { readonly linearizable: boolean | null; readonly linearizability: string };
  readonly invariantViolations: readonly InvariantViolation[];
  /** byzantine names the faulty replicas and their strategy, and the faulty client (chaos draws one for PBFT), if any. */
  readonly byzantine: { readonly nodes: readonly number[]; readonly strategy: string | null; readonly client: { readonly id: number; readonly strategy: string } | null };
  /**
   * availability is, for each partition of the run, the share of the operations invoked during it that completed
   * ok before it healed, on the side of the clients cut off with the isolated replicas and on the other side.
   */
  readonly availability: readonly PartitionAvailability[];
  /** faults lists each fault that acted: when (ms of virtual time), what kind, on which replicas, and until when (its `atMs` for an instant one). */
  readonly faults: readonly FaultWindow[];
  /** faultLog is the fault log as people read it, one stamped line per event (armed, fired, ended, called off), as `concord sim` prints it. */
  readonly faultLog: readonly string[];
  /** options are the protocol options the run used: explicit ones over those `chaos` drew from the seed. */
  readonly options: ProtocolOptions;
  /** drawnOptions are the options `chaos` drew from the seed (swarm options); empty in other scenarios. */
  readonly drawnOptions: ProtocolOptions;
  /** paths counts how often the run walked each of the protocol's hard paths, by name. */
  readonly paths: Readonly<Record<string, number>>;
  /** crashes counts the run's crashes: those that lost unsynced records or a staged snapshot, the records lost, the records torn. */
  readonly crashes: SimulationResult["crashes"];
  /** ineffectiveFaults lists each fault that had no effect, with why. */
  readonly ineffectiveFaults: readonly string[];
  /** abandonedOperations counts operations a client restart left indeterminate. */
  readonly abandonedOperations: number;
  /** cpu is the CPU cost model the run charged: the simulator's calibrated default, the scenario's own, the run's `cpu` option, or all zeros for "none". */
  readonly cpu: CpuModel;
}

/** SimulateOptions select one run: the simulator's options, with a built-in scenario named or a scenario object (from a file). */
export type SimulateOptions = SimulationOptions;

/** HistoryVerdict is what the linearizability check said of a history: @concord/check's one-line summary of it. */
export type HistoryVerdict = HistorySummary;

/** HistoryChecker checks a run's history; the front ends plug in `checkRun`, @concord/check's checker within a step budget. */
export type HistoryChecker = (result: SimulationResult) => HistoryVerdict;

/** simulate runs one simulation and checks its history. */
export function simulate(options: SimulateOptions, checker: HistoryChecker): { result: SimulationResult; report: SimulationReport } {
  const result = runSimulation(options);
  const verdict = checker(result);
  const stale = findStaleReads(result.history, result.kvSemantics);
  // A CP algorithm read stale still promises the rest of its history: check it without the stale reads.
  const algorithmPromises = options.algorithm.promisesLinearizability?.(result.protocolOptions) ?? true;
  const rest =
    algorithmPromises && result.readLevelServed === "stale" ? checker({ ...result, history: result.history.filter((operation) => operation.readLevel !== "stale") }) : undefined;
  const report: SimulationReport = {
    algo: result.algo,
    nodes: result.nodes,
    scenario: result.scenario,
    seed: result.seed,
    ops: result.ops,
    finalReads: result.finalReads,
    virtualSeconds: result.virtualSeconds,
    throughputOpsPerSec: result.throughputOpsPerSec,
    latencyMs: result.latencyMs,
    messages: result.messages,
    bytes: result.bytes,
    warmup: result.warmup,
    leaderChanges: result.leaderChanges,
    linearizable: verdict.linearizable,
    linearizability: verdict.summary,
    promisesLinearizability: result.promisesLinearizability,
    readLevel: result.readLevel,
    readLevelServed: result.readLevelServed,
    staleReads: stale.staleReads,
    staleReadCount: stale.total,
    ...(rest !== undefined ? { withoutStaleReads: { linearizable: rest.linearizable, linearizability: rest.summary } } : {}),
    invariantViolations: result.invariantViolations,
    byzantine: { nodes: result.byzantineNodes, strategy: result.byzantineStrategy ?? null, client: result.byzantineClient ?? null },
    availability: partitionAvailability(result.history.slice(0, result.history.length - result.finalReads.invoked), result.faults),
    faults: result.faults,
    faultLog: result.faultLog,
    options: result.protocolOptions,
    drawnOptions: result.drawnOptions,
    paths: result.paths,
    crashes: result.crashes,
    ineffectiveFaults: result.ineffectiveFaults,
    abandonedOperations: result.abandonedOperations,
    cpu: result.scenarioDefinition.cpu,
  };
  return { result, report };
}
