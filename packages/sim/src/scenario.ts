import { z } from "zod";

/** latencySchema describes one-way link latency: constant, uniform in [min, max], or exponential around a mean, in milliseconds. */
export const latencySchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("constant"), ms: z.number().min(0) }).strict(),
  z.object({ kind: z.literal("uniform"), minMs: z.number().min(0), maxMs: z.number().min(0) }).strict(),
  z.object({ kind: z.literal("exponential"), minMs: z.number().min(0), meanExtraMs: z.number().min(0) }).strict(),
]);

/** linkSchema is the model of every link unless a fault changes it. */
export const linkSchema = z
  .object({
    latency: latencySchema.default({ kind: "constant", ms: 1 }),
    /** jitterMs adds a uniform [0, jitterMs] delay on top of the latency distribution. */
    jitterMs: z.number().min(0).default(0),
    /** bandwidthBytesPerSec serialises a link's messages (0 means unlimited). */
    bandwidthBytesPerSec: z.number().min(0).default(0),
    dropPercent: z.number().min(0).max(100).default(0),
    duplicatePercent: z.number().min(0).max(100).default(0),
    /** reorderPercent: this share of messages gets an extra delay of up to reorderDelayMs, overtaking later ones. */
    reorderPercent: z.number().min(0).max(100).default(0),
    reorderDelayMs: z.number().min(0).default(5),
  })
  .strict();

/** linkOverrideSchema changes some link properties for a while (fields left out keep their current value). */
export const linkOverrideSchema = z
  .object({
    latency: latencySchema.optional(),
    jitterMs: z.number().min(0).optional(),
    bandwidthBytesPerSec: z.number().min(0).optional(),
    dropPercent: z.number().min(0).max(100).optional(),
    duplicatePercent: z.number().min(0).max(100).optional(),
    reorderPercent: z.number().min(0).max(100).optional(),
    reorderDelayMs: z.number().min(0).optional(),
  })
  .strict();

/** cpuSchema is the per-node CPU cost model: time a node is busy handling each message. */
export const cpuSchema = z
  .object({
    perMessageUs: z.number().min(0).default(0),
    perKilobyteUs: z.number().min(0).default(0),
    perMacUs: z.number().min(0).default(0),
    perDigestUs: z.number().min(0).default(0),
    perSignatureUs: z.number().min(0).default(0),
    perVerifyUs: z.number().min(0).default(0),
  })
  .strict();

/** diskSchema models stable storage: how long a sync takes and how often a crash tears the first unsynced record. */
export const diskSchema = z
  .object({
    syncMs: z.number().min(0).default(0),
    tearPercent: z.number().min(0).max(100).default(50),
  })
  .strict();

/** mixSchema weights the KV operations a workload issues. */
export const mixSchema = z
  .object({
    get: z.number().min(0).default(40),
    put: z.number().min(0).default(30),
    append: z.number().min(0).default(10),
    cas: z.number().min(0).default(15),
    delete: z.number().min(0).default(5),
  })
  .strict()
  .refine((mix) => mix.get + mix.put + mix.append + mix.cas + mix.delete > 0, { message: "the operation mix needs a positive weight" });

/** workloadSchema describes the clients: closed-loop (each waits for its answer) or open-loop (arrivals at a rate). */
export const workloadSchema = z
  .object({
    kind: z.enum(["closed", "open"]).default("closed"),
    clients: z.number().int().min(1).max(10_000).default(4),
    ops: z.number().int().min(0).max(10_000_000).default(200),
    /** spreadMs paces a closed-loop workload over this long (think time between ops), so that it overlaps the faults. */
    spreadMs: z.number().min(0).default(0),
    /** ratePerSec is the open-loop arrival rate. */
    ratePerSec: z.number().min(0).default(1000),
    /** queueLimit bounds open-loop arrivals waiting for an idle client; past it they are rejected. */
    queueLimit: z.number().int().min(0).default(1000),
    keys: z.number().int().min(1).default(8),
    distribution: z.enum(["uniform", "zipfian"]).default("uniform"),
    zipfExponent: z.number().min(0).default(0.99),
    valueBytes: z.number().int().min(1).max(1 << 20).default(8),
    mix: mixSchema.default({ get: 40, put: 30, append: 10, cas: 15, delete: 5 }),
    /** finalReads reads every key once the cluster is healed, so that a lost acknowledged write shows in the history. */
    finalReads: z.boolean().default(true),
  })
  .strict();

/**
 * targetSchema picks nodes for a fault when it fires: the current leader, the
 * i-th replica, a seeded random replica, every replica, or all but the leader.
 */
export const targetSchema = z.union([
  z.literal("leader"),
  z.literal("follower"),
  z.literal("random"),
  z.literal("all"),
  z.object({ index: z.number().int().min(0) }).strict(),
]);

/** faultSchema is one timed action of a scenario's timeline. */
export const faultSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("crash"), atMs: z.number().min(0), target: targetSchema, restartAfterMs: z.number().min(0).optional() }).strict(),
  z.object({ type: z.literal("restart"), atMs: z.number().min(0), target: targetSchema }).strict(),
  z.object({ type: z.literal("pause"), atMs: z.number().min(0), target: targetSchema, durationMs: z.number().min(0) }).strict(),
  z
    .object({
      type: z.literal("partition"),
      atMs: z.number().min(0),
      /** isolate: these replicas are cut off from every other node, clients included. */
      isolate: z.array(targetSchema).min(1),
      oneWay: z.boolean().default(false),
      durationMs: z.number().min(0),
    })
    .strict(),
  z.object({ type: z.literal("link"), atMs: z.number().min(0), durationMs: z.number().min(0), link: linkOverrideSchema }).strict(),
  z.object({ type: z.literal("slow"), atMs: z.number().min(0), target: targetSchema, durationMs: z.number().min(0), extraLatencyMs: z.number().min(0), cpuFactor: z.number().min(1).default(1) }).strict(),
]);

/** scenarioSchema is a whole scenario: cluster models, workload, fault timeline and the liveness phase after it. */
export const scenarioSchema = z
  .object({
    name: z.string().min(1),
    description: z.string(),
    tickMs: z.number().min(0.1).default(10),
    link: linkSchema.default(linkSchema.parse({})),
    cpu: cpuSchema.default(cpuSchema.parse({})),
    disk: diskSchema.default(diskSchema.parse({})),
    workload: workloadSchema.default(workloadSchema.parse({})),
    faults: z.array(faultSchema).default([]),
    /** chaos: draw the fault timeline from the seed instead of `faults`. */
    chaos: z.boolean().default(false),
    /** byzantine: how many replicas run a Byzantine strategy (f when "f"). */
    byzantine: z.union([z.literal("f"), z.number().int().min(0)]).default(0),
    /**
     * warmupMs: the cluster runs this long before the workload starts, and the
     * fault timeline (every atMs, healAtMs) counts from the end of it, so that
     * the first election is not measured as steady-state latency.
     */
    warmupMs: z.number().min(0).default(0),
    /** healAtMs: every fault is healed (nodes restarted, partitions and link faults lifted) at this time, if not before. */
    healAtMs: z.number().min(0).default(0),
    /** livenessTimeoutMs: after healing, every operation must complete within this long. */
    livenessTimeoutMs: z.number().min(1).default(30_000),
    /** maxVirtualMs bounds the whole run. */
    maxVirtualMs: z.number().min(1).default(600_000),
  })
  .strict();

/** Scenario is a validated scenario. */
export type Scenario = z.output<typeof scenarioSchema>;
/** ScenarioInput is a scenario as written, before defaults are filled in. */
export type ScenarioInput = z.input<typeof scenarioSchema>;
/** Fault is one validated timeline action. */
export type Fault = z.output<typeof faultSchema>;
/** Target selects the nodes a fault hits. */
export type Target = z.output<typeof targetSchema>;
/** LinkModel is a validated link model. */
export type LinkModel = z.output<typeof linkSchema>;
/** CpuModel is a validated CPU cost model. */
export type CpuModel = z.output<typeof cpuSchema>;
/** Workload is a validated workload. */
export type Workload = z.output<typeof workloadSchema>;
