import type { AnyAlgorithm, History, InvariantViolation, KvSemantics, NodeId, ProtocolOptions, ReadLevel } from "@concord/core";
import type { KvCommand, KvResult } from "@concord/kv";
import type { CpuChoice, Scenario, ScenarioInput } from "./scenario.ts";
import type { FaultWindow } from "./context.ts";
import type { MessageTrace, MessageTraceWindow } from "./message-trace.ts";

/** SimulationOptions are the inputs of one simulated run. The same options give the same run, byte for byte. */
export interface SimulationOptions {
  readonly algorithm: AnyAlgorithm;
  readonly nodes: number;
  /** scenario is a built-in scenario's name or a scenario object. */
  readonly scenario: string | ScenarioInput;
  readonly seed: number;
  /** ops overrides the scenario's operation count. */
  readonly ops?: number;
  /** clients overrides the scenario's client count. */
  readonly clients?: number;
  readonly protocolOptions?: ProtocolOptions;
  /** byzantineStrategy names the strategy Byzantine replicas play (default: the protocol's first, else "silent"). */
  readonly byzantineStrategy?: string;
  /** byzantineNodes overrides which replicas are Byzantine (default: the scenario's count, the first primary among them). */
  readonly byzantineNodes?: readonly NodeId[];
  /**
   * cpu replaces the scenario's CPU cost model, every figure of it (one left out is 0), or with "none" charges no CPU
   * at all (only links and disks take time: for a test that pins exact delays). Absent, the scenario's own model is
   * charged: the calibrated one (`cpuCalibration`, measured by `pnpm bench:micro --calibrate`) unless it sets one.
   */
  readonly cpu?: CpuChoice;
  /** encode: really encode and decode every message (default true); off for raw speed, which also leaves every message 0 bytes for the CPU model's per-KiB charge, so that a run's timing may differ from the encoded run's. */
  readonly encode?: boolean;
  /** recordMessages: record the messages sent in this window into the result's `messageTrace` (off by default; it changes nothing else). */
  readonly recordMessages?: MessageTraceWindow;
  /**
   * readLevel is the consistency the workload's reads ask for (`concord sim --read`; `linearizable` when absent):
   * the history records the level each read was served at (AlgorithmDefinition.servedReadLevel), and a run whose
   * reads are served `stale` promises no linearizability. The final reads that look for lost writes always ask
   * `linearizable`.
   */
  readonly readLevel?: ReadLevel;
}

/** LatencySummary holds latency percentiles of completed operations, in milliseconds of virtual time. */
export interface LatencySummary {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

/** OperationCounts splits the workload's invoked operations by how they ended. */
export interface OperationCounts {
  readonly invoked: number;
  readonly completed: number;
  readonly failed: number;
  readonly indeterminate: number;
}

/**
 * FinalReadCounts counts the reads of every key that follow the workload to
 * find lost writes: how many were invoked (a read that fails is tried again)
 * and how many completed ok.
 */
export interface FinalReadCounts {
  readonly invoked: number;
  readonly completed: number;
}

/**
 * CrashCounts says what the run's crashes did to stable storage: how many
 * crashes struck, how many lost unsynced records, how many lost a staged
 * snapshot, how many records were lost in all, and how many crashes tore a
 * record (left a prefix of it for recovery to truncate).
 */
export interface CrashCounts {
  readonly crashes: number;
  readonly lostRecords: number;
  readonly lostSnapshot: number;
  readonly recordsLost: number;
  readonly torn: number;
}

/** SimulationResult is everything one run measured. It holds no wall-clock figures. */
export interface SimulationResult {
  readonly algo: string;
  /** kvSemantics is the object the algorithm's clients saw (its definition's `kvSemantics`, `kv` when it names none): the history is judged by its model. */
  readonly kvSemantics: KvSemantics;
  /**
   * promisesLinearizability: whether the algorithm, with the options it ran with, promises a linearizable history
   * (see AlgorithmDefinition), and the workload's reads were not served `stale`.
   */
  readonly promisesLinearizability: boolean;
  /** readLevel is the level the workload's reads asked for; readLevelServed the level the algorithm served them at. */
  readonly readLevel: ReadLevel;
  readonly readLevelServed: ReadLevel;
  readonly nodes: number;
  readonly scenario: string;
  readonly seed: number;
  /** ops counts the workload's operations only: `--ops 2000` invokes 2,000. */
  readonly ops: OperationCounts;
  /** finalReads counts the reads after the workload that look for lost writes (in the history too, not in `ops`). */
  readonly finalReads: FinalReadCounts;
  readonly virtualSeconds: number;
  readonly throughputOpsPerSec: number;
  readonly latencyMs: LatencySummary;
  /** messages and bytes count the traffic from the workload's start to the run's end; `perOp` divides it by every operation completed ok, final reads included (their traffic is counted too). */
  readonly messages: { readonly total: number; readonly perOp: number; readonly byType: Readonly<Record<string, number>> };
  readonly bytes: { readonly total: number; readonly perOp: number };
  /**
   * warmup is the traffic before the workload began (first election, idle
   * heartbeats): left out of `messages` and `bytes`, which count what the
   * operations cost from the workload's start to the end of the run.
   */
  readonly warmup: { readonly seconds: number; readonly messages: number; readonly bytes: number };
  /**
   * leaderChanges counts the changes of leader, view or ballot the run saw:
   * the epochs (term, view, ballot round) in which some replica claimed to
   * lead, a faulty one included, less the first.
   */
  readonly leaderChanges: number;
  /** invariantViolations lists every broken safety or liveness property (empty when none). */
  readonly invariantViolations: readonly InvariantViolation[];
  /** history is every client operation, for the linearizability checker. */
  readonly history: History<KvCommand, KvResult>;
  /** byzantineNodes lists the replicas that ran a Byzantine strategy. */
  readonly byzantineNodes: readonly NodeId[];
  readonly byzantineStrategy: string | undefined;
  /** byzantineClient is the faulty client of the run (its id and strategy), if it has one: its own operations are in the history, judged like any other's. */
  readonly byzantineClient: { readonly id: NodeId; readonly strategy: string } | undefined;
  /** healedAtSeconds is when every fault had been lifted (virtual time). */
  readonly healedAtSeconds: number;
  /** faultLog lists each fault as it fired, for reports and replay. */
  readonly faultLog: readonly string[];
  /** faults lists each fault that acted, as data: when, what kind, on which replicas (and clients), until when. */
  readonly faults: readonly FaultWindow[];
  /** abandonedOperations counts the operations a client restart left outstanding: indeterminate in `ops`, they are not a lack of progress. */
  readonly abandonedOperations: number;
  /** crashes counts the crashes of the fault timeline and what they cost stable storage. */
  readonly crashes: CrashCounts;
  /** ineffectiveFaults lists every fault that had no effect (no node it could act on, a refused operation, a moment that never came), with why. */
  readonly ineffectiveFaults: readonly string[];
  /** scenarioDefinition is the validated scenario that ran. */
  readonly scenarioDefinition: Scenario;
  /**
   * protocolOptions are the options the replicas and clients ran with: the
   * explicit ones over those `chaos` drew from the seed (swarm options). A
   * replay that passes them all as `--option` runs the same options.
   */
  readonly protocolOptions: ProtocolOptions;
  /** drawnOptions are the options `chaos` drew from the seed (those no explicit option fixed); empty in other scenarios. */
  readonly drawnOptions: ProtocolOptions;
  /** paths counts how often the run walked each of the protocol's hard paths (issue 21), in the protocol's order. */
  readonly paths: Readonly<Record<string, number>>;
  /** messageTrace lists the messages of the window `recordMessages` asked for (absent when the run recorded none). */
  readonly messageTrace?: MessageTrace;
}
