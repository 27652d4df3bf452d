// The shape of results.json, the simulated matrix's results: one zod schema per
// section, so that a reader (report.html, a notebook, a later version of the
// bench) validates what it reads, and so that other sections (sweeps,
// predictions) can be added beside these without touching them.
import { z } from "zod";
import { benchCostModelSchema } from "./cost-model.ts";
import { predictionComparisonSchema } from "./predict.ts";
import { sweepsSchema } from "./sweeps/index.ts";

/** spreadSchema summarises one figure across the seeds of a cell: its median, min and max, and how many seeds had it. */
export const spreadSchema = z
  .object({
    median: z.number(),
    min: z.number(),
    max: z.number(),
    /** seeds counts the seeds the figure was measured in (a recovery time is absent from a seed whose fault never let throughput drop, for example). */
    seeds: z.number().int().min(1),
  })
  .strict();

/** latencySummarySchema holds latency percentiles of operations completed ok, in milliseconds of virtual time. */
export const latencySummarySchema = z.object({ p50: z.number().min(0), p95: z.number().min(0), p99: z.number().min(0), max: z.number().min(0) }).strict();

/** kindLatencySchema is the latency of one kind of operation completed ok: p50, p99 (ms of virtual time) and how many. */
export const kindLatencySchema = z.object({ p50: z.number().min(0), p99: z.number().min(0), count: z.number().int().min(1) }).strict();

/** faultWindowSchema is one fault as it acted (the simulator's FaultWindow): times in milliseconds of virtual time from the start of the run. */
export const faultWindowSchema = z
  .object({
    atMs: z.number().min(0),
    /** untilMs: when the fault was lifted; `atMs` for an action that has no duration; the end of the run for a crash that outlasts the heal. */
    untilMs: z.number().min(0),
    kind: z.string(),
    nodes: z.array(z.number().int().min(0)),
    /** clients: for a partition, the clients cut off with the isolated replicas. */
    clients: z.array(z.number().int().min(0)).optional(),
  })
  .strict();

/**
 * faultRecoverySchema is how long the cluster took to recover from one fault.
 * `baselineOpsPerSec` is the throughput over the window before the fault;
 * `recoveryMs` runs from the fault until the throughput over a window starting
 * there is back to 90% of it; `firstCommitMs` from the fault until the first
 * completion (ok) of an operation invoked at or after it. Each is null when
 * it cannot be measured (no workload before the fault, or not before the
 * workload ended), never guessed.
 */
export const faultRecoverySchema = z
  .object({
    /** fault is the index of the fault in the run's `faults`. */
    fault: z.number().int().min(0),
    kind: z.string(),
    atMs: z.number().min(0),
    baselineOpsPerSec: z.number().min(0).nullable(),
    recoveryMs: z.number().min(0).nullable(),
    firstCommitMs: z.number().min(0).nullable(),
  })
  .strict();

/** sideAvailabilitySchema counts the operations clients on one side of a partition invoked during it, and how many completed ok before it healed. */
export const sideAvailabilitySchema = z
  .object({
    clients: z.array(z.number().int().min(0)),
    invoked: z.number().int().min(0),
    ok: z.number().int().min(0),
    /** share is ok / invoked, null when these clients invoked nothing during the partition. */
    share: z.number().min(0).max(1).nullable(),
  })
  .strict();

/**
 * partitionAvailabilitySchema is the availability on each side of one
 * partition: the clients cut off with the isolated replicas, and all the
 * others (with the rest of the replicas).
 */
export const partitionAvailabilitySchema = z
  .object({
    fault: z.number().int().min(0),
    atMs: z.number().min(0),
    untilMs: z.number().min(0),
    isolatedReplicas: z.array(z.number().int().min(0)),
    isolatedSide: sideAvailabilitySchema,
    otherSide: sideAvailabilitySchema,
  })
  .strict();

/**
 * throughputSeriesSchema is throughput over virtual time, for the charts: the
 * operations completed ok in each bucket of `bucketMs`, from `startMs` (the
 * workload's first invocation) to the last completion, as operations per second.
 */
export const throughputSeriesSchema = z
  .object({
    startMs: z.number().min(0),
    bucketMs: z.number().positive(),
    opsPerSec: z.array(z.number().min(0)),
  })
  .strict();

/** latencyCdfPointSchema is one point of a latency CDF: this percentile of the operations completed ok took at most `latencyMs`. */
export const latencyCdfPointSchema = z.object({ percentile: z.number().min(0).max(100), latencyMs: z.number().min(0) }).strict();

/** invariantViolationSchema is one broken safety or liveness property, as the simulator's monitors reported it. */
export const invariantViolationSchema = z.object({ invariant: z.string(), timeUs: z.number(), message: z.string() }).strict();

/** verdictSchema is the judgement of one run: the linearizability checker's verdict, the invariants broken, and every broken guarantee as one line. */
export const verdictSchema = z
  .object({
    /** linearizable is null when the checker could not decide within its budget. */
    linearizable: z.boolean().nullable(),
    summary: z.string(),
    invariantViolations: z.array(invariantViolationSchema),
    /** broken lists every broken guarantee, one line each (lab's brokenGuarantees); empty when the run kept them all. */
    broken: z.array(z.string()),
  })
  .strict();

/** seedRunSchema is every figure of one seed of a cell. It holds no wall-clock figure: the same seed gives the same record. */
export const seedRunSchema = z
  .object({
    seed: z.number().int(),
    /** replayCommand is the `concord sim` command that repeats this run exactly. */
    replayCommand: z.string(),
    ops: z.object({ invoked: z.number().int().min(0), completed: z.number().int().min(0), failed: z.number().int().min(0), indeterminate: z.number().int().min(0) }).strict(),
    /** finalReadsCompleted counts the reads after the workload that completed ok (their traffic is in the per-operation figures, as the simulator counts it). */
    finalReadsCompleted: z.number().int().min(0),
    virtualSeconds: z.number().min(0),
    /** workloadSeconds is the span the throughput is measured over: from the workload's first invocation to its last completion. */
    workloadSeconds: z.number().min(0),
    /** throughputOpsPerSec is the workload's operations completed ok per second of virtual time, as the simulator measures it. */
    throughputOpsPerSec: z.number().min(0),
    latencyMs: latencySummarySchema,
    /** latencyByKind: p50 and p99 of the reads (get) and of the writes (put, append, cas, delete) completed ok; null for a kind with none. */
    latencyByKind: z.object({ read: kindLatencySchema.nullable(), write: kindLatencySchema.nullable() }).strict(),
    /** readLevel: the consistency level the workload's reads asked for, and the level the algorithm served them at (its servedReadLevel). */
    readLevel: z.object({ requested: z.string(), served: z.string() }).strict(),
    messages: z
      .object({
        total: z.number().int().min(0),
        /** perOp divides the traffic by the operations completed ok, final reads included. */
        perOp: z.number().min(0),
        byType: z.record(z.string(), z.number().int().min(0)),
        /** perOpByType divides each type's count by the same operations as `perOp`. */
        perOpByType: z.record(z.string(), z.number().min(0)),
      })
      .strict(),
    bytes: z.object({ total: z.number().int().min(0), perOp: z.number().min(0) }).strict(),
    leaderChanges: z.number().int().min(0),
    faults: z.array(faultWindowSchema),
    recovery: z.array(faultRecoverySchema),
    availability: z.array(partitionAvailabilitySchema),
    verdict: verdictSchema,
    throughputOverTime: throughputSeriesSchema,
    latencyCdf: z.array(latencyCdfPointSchema),
    /** prediction sets the run's messages per operation (all and by type) and median latency beside the analytic ones (predict.ts); null for an algorithm with no prediction. */
    prediction: predictionComparisonSchema.nullable(),
  })
  .strict();

/**
 * cellSummarySchema summarises a cell's seeds: median, min and max of each
 * figure. A figure no seed measured (recovery in a run without faults) is null.
 */
export const cellSummarySchema = z
  .object({
    throughputOpsPerSec: spreadSchema,
    latencyMs: z.object({ p50: spreadSchema, p95: spreadSchema, p99: spreadSchema, max: spreadSchema }).strict(),
    messagesPerOp: spreadSchema,
    bytesPerOp: spreadSchema,
    /** messagesPerOpByType summarises each message type's count per operation (0 in a seed that sent none of that type). */
    messagesPerOpByType: z.record(z.string(), spreadSchema),
    leaderChanges: spreadSchema,
    /** recoveryMs summarises each seed's longest recovery over its faults. */
    recoveryMs: spreadSchema.nullable(),
    /** firstCommitMs summarises each seed's longest wait for a first commit over its faults. */
    firstCommitMs: spreadSchema.nullable(),
    /** availability summarises each seed's lowest share over its partitions, per side. */
    availability: z.object({ isolatedSide: spreadSchema.nullable(), otherSide: spreadSchema.nullable() }).strict(),
    /** prediction summarises the seeds' measured / predicted ratios (predict.ts); null for an algorithm with no prediction. */
    prediction: z.object({ messagesPerOp: spreadSchema.nullable(), latencyP50Ms: spreadSchema.nullable() }).strict().nullable(),
    /** brokenSeeds lists the seeds that broke a guarantee. */
    brokenSeeds: z.array(z.number().int()),
  })
  .strict();

/** cellKeySchema names a cell: algorithm, cluster size and scenario, and the comparison groups it belongs to. */
const cellKeyShape = {
  algo: z.string(),
  /** variant: the algorithm run other than with its defaults, for the PACELC table (a read level, protocol options); absent: its defaults. */
  variant: z
    .object({ name: z.string().min(1), protocolOptions: z.record(z.string(), z.unknown()).optional(), readLevel: z.string().optional() })
    .strict()
    .optional(),
  nodes: z.number().int().min(1),
  /** f is how many faults of the algorithm's model this cluster tolerates. */
  f: z.number().int().min(0),
  faultModel: z.string(),
  /** comparisons names the groups the cell is compared in ("baseline", "f=1", "f=2", "n=4"); one run serves every group it is in. */
  comparisons: z.array(z.string()).min(1),
  scenario: z.string(),
};

/** applicableCellSchema is a cell that ran: every seed's figures and their summary. */
export const applicableCellSchema = z
  .object({
    ...cellKeyShape,
    applicable: z.literal(true),
    /** notApplicableByDesign: why the algorithm does not promise to tolerate this cell's faults, when --include-not-applicable ran and judged it all the same. */
    notApplicableByDesign: z.string().optional(),
    runs: z.array(seedRunSchema).min(1),
    summary: cellSummarySchema,
  })
  .strict();

/** notApplicableCellSchema is a cell the algorithm does not promise to tolerate by design: not run, with why. */
export const notApplicableCellSchema = z.object({ ...cellKeyShape, applicable: z.literal(false), reason: z.string(), seeds: z.array(z.number().int()) }).strict();

/** cellSchema is one cell of the matrix (algorithm x n x scenario, in one or more comparison groups). */
export const cellSchema = z.discriminatedUnion("applicable", [applicableCellSchema, notApplicableCellSchema]);

/** machineSchema describes the machine and runtime that produced the results. */
export const machineSchema = z
  .object({
    cpuModel: z.string(),
    cores: z.number().int().min(1),
    memoryBytes: z.number().int().min(0),
    platform: z.string(),
    arch: z.string(),
    nodeVersion: z.string(),
  })
  .strict();

/** matrixOptionsSchema records what the matrix was asked for, after defaults: enough to run it again. */
export const matrixOptionsSchema = z
  .object({
    algorithms: z.array(z.string()),
    /** faults lists the tolerated-fault counts f the clusters were sized for. */
    faults: z.array(z.number().int().min(1)),
    /** equalN lists the extra cluster sizes every replicated algorithm also ran at (equal-n comparison). */
    equalN: z.array(z.number().int().min(1)),
    /** nodes is a filter keeping only cells of these sizes; null (no filter) in every run of this version, whose `--nodes` sets `equalN`. */
    nodes: z.array(z.number().int().min(1)).nullable(),
    scenarios: z.array(z.string()),
    seeds: z.array(z.number().int()),
    /** ops is the operations per run (null: each scenario's own count). */
    ops: z.number().int().min(1).nullable(),
    quick: z.boolean(),
    /** includeNotApplicable: the cells not applicable by design were run and judged too (--include-not-applicable). */
    includeNotApplicable: z.boolean().default(false),
  })
  .strict();

/** comparisonSchema explains one comparison group. */
export const comparisonSchema = z.object({ name: z.string(), description: z.string() }).strict();

/** scenarioInfoSchema says what a scenario does and which CPU cost model its runs charged (the simulator's microseconds per message, per kilobyte, per MAC, digest, signature and verification): the bench's, in place of the scenario's own. */
export const scenarioInfoSchema = z
  .object({
    name: z.string(),
    description: z.string(),
    /** scenarioFile is where the bench wrote a scenario that is not built in, for replay commands' `--scenario-file`. */
    scenarioFile: z.string().nullable(),
    costModel: z
      .object({
        perMessageUs: z.number().min(0),
        perKilobyteUs: z.number().min(0),
        perMacUs: z.number().min(0),
        perDigestUs: z.number().min(0),
        perSignatureUs: z.number().min(0),
        perVerifyUs: z.number().min(0),
      })
      .strict(),
  })
  .strict();

/** pacelcRowSchema is one row of the PACELC table (pacelc.ts): an algorithm with its defaults or one variant. */
export const pacelcRowSchema = z
  .object({
    algo: z.string(),
    /** variant names the read level or options the row ran with (null: the algorithm's defaults). */
    variant: z.string().nullable(),
    /** readLevel is the level the algorithm served its reads at, asked at the variant's level (linearizable by default); null when no run recorded one. */
    readLevel: z.string().nullable(),
    nodes: z.number().int().min(1),
    /** noPartition: latency by kind in the steady scenario, each the median over seeds of a seed's figure, with min and max (null when not run). */
    noPartition: z
      .object({
        scenario: z.string(),
        seeds: z.number().int().min(1),
        readP50Ms: spreadSchema.nullable(),
        readP99Ms: spreadSchema.nullable(),
        writeP50Ms: spreadSchema.nullable(),
        writeP99Ms: spreadSchema.nullable(),
      })
      .strict()
      .nullable(),
    /** partition: the share of operations that succeeded on each side during the partition scenario's partition (null when not run). */
    partition: z
      .object({
        scenario: z.string(),
        seeds: z.number().int().min(1),
        /** minoritySide: the clients cut off with the isolated replicas (the old leader's side). */
        minoritySide: spreadSchema.nullable(),
        /** majoritySide: every other client, with the rest of the replicas. */
        majoritySide: spreadSchema.nullable(),
      })
      .strict()
      .nullable(),
    /** verdict: the checker's verdicts over the runs of both scenarios. */
    verdict: z
      .object({
        runs: z.number().int().min(0),
        linearizable: z.number().int().min(0),
        notLinearizable: z.number().int().min(0),
        undecided: z.number().int().min(0),
        /** broken counts the runs that broke a guarantee the algorithm makes (a history that is not linearizable is one only where it promises linearizability). */
        broken: z.number().int().min(0),
        text: z.string(),
      })
      .strict(),
  })
  .strict();


/** brokenRunSchema is one applicable run that broke a guarantee, with the command that replays it. */
export const brokenRunSchema = z
  .object({ algo: z.string(), nodes: z.number().int(), scenario: z.string(), seed: z.number().int(), problems: z.array(z.string()), replayCommand: z.string() })
  .strict();

/** timingSchema holds the wall-clock facts of the run: never compared between runs, since they depend on the machine and the worker count. */
export const timingSchema = z.object({ startedAt: z.string(), wallSeconds: z.number().min(0), workers: z.number().int().min(1) }).strict();

/**
 * benchResultsSchema is the whole of results.json for the simulated matrix.
 * Everything but `timing` (and `command`) is a function of the code, the
 * options and the seeds: two runs with the same ones give the same values,
 * whatever the number of workers.
 */
export const benchResultsSchema = z
  .object({
    schemaVersion: z.literal(1),
    kind: z.literal("simulated-matrix"),
    command: z.string(),
    options: matrixOptionsSchema,
    /** packages maps each @concord package to its package.json version. */
    packages: z.record(z.string(), z.string()),
    machine: machineSchema,
    timing: timingSchema,
    comparisons: z.array(comparisonSchema),
    scenarios: z.array(scenarioInfoSchema),
    cells: z.array(cellSchema),
    broken: z.array(brokenRunSchema),
    /** sweeps are the latency-throughput and scalability sweeps (sweeps/index.ts), under the calibrated cost model; null with --no-sweeps. */
    sweeps: sweepsSchema.nullable(),
    /**
     * costModel is the CPU cost model every cell charged, whatever its scenario's own (the same for every algorithm
     * and scenario: the simulator's calibrated default, by `pnpm bench:micro --calibrate`), with where its figures
     * came from: the calibration's command, machine and date.
     */
    costModel: benchCostModelSchema,
    /** pacelc is the PACELC table (pacelc.ts): per algorithm and read level or variant, latency with no partition, availability on each side of one, and the checker's verdict. */
    pacelc: z.array(pacelcRowSchema),
  })
  .strict();

/** BenchResults is a validated results.json of the simulated matrix. */
export type BenchResults = z.infer<typeof benchResultsSchema>;
/** BenchCell is one cell of BenchResults. */
export type BenchCell = z.infer<typeof cellSchema>;
/** ApplicableCell is a cell that ran. */
export type ApplicableCell = z.infer<typeof applicableCellSchema>;
/** NotApplicableCell is a cell that did not run, with why. */
export type NotApplicableCell = z.infer<typeof notApplicableCellSchema>;
/** SeedRun is one seed's figures. */
export type SeedRun = z.infer<typeof seedRunSchema>;
/** CellSummary is a cell's summary across seeds. */
export type CellSummary = z.infer<typeof cellSummarySchema>;
/** Spread is one figure's median, min and max across seeds. */
export type Spread = z.infer<typeof spreadSchema>;
/** FaultRecovery is the recovery from one fault. */
export type FaultRecovery = z.infer<typeof faultRecoverySchema>;
/** PartitionAvailability is the availability on each side of one partition. */
export type PartitionAvailability = z.infer<typeof partitionAvailabilitySchema>;
/** ThroughputSeries is throughput over virtual time in buckets. */
export type ThroughputSeries = z.infer<typeof throughputSeriesSchema>;
/** LatencyCdfPoint is one point of a latency CDF. */
export type LatencyCdfPoint = z.infer<typeof latencyCdfPointSchema>;
/** Machine describes the machine that produced the results. */
export type Machine = z.infer<typeof machineSchema>;
/** MatrixOptionsRecord is what the matrix was asked for. */
export type MatrixOptionsRecord = z.infer<typeof matrixOptionsSchema>;
/** ScenarioInfo describes one scenario of the results. */
export type ScenarioInfo = z.infer<typeof scenarioInfoSchema>;
/** PacelcRow is one row of the PACELC table. */
export type PacelcRow = z.infer<typeof pacelcRowSchema>;
/** BrokenRun is one run that broke a guarantee. */
export type BrokenRun = z.infer<typeof brokenRunSchema>;
