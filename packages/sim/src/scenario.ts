import { z } from "zod";
import { cpuCalibration } from "./calibrated-cpu.ts";
import { noCpu } from "./cpu-calibration.ts";
import { scriptSchema } from "./script.ts";

/** latencySchema describes one-way link latency: constant, uniform in [min, max], or exponential around a mean, in milliseconds. */
export const latencySchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("constant"), ms: z.number().min(0) }).strict(),
  z.object({ kind: z.literal("uniform"), msMin: z.number().min(0), msMax: z.number().min(0) }).strict(),
  z.object({ kind: z.literal("exponential"), msMin: z.number().min(0), msExtraMean: z.number().min(0) }).strict(),
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

/** cpuSchema is the per-node CPU cost model: time a node is busy handling each message. A figure left out is 0. */
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

/**
 * cpuChoiceSchema is a CPU cost model as a scenario or a run gives it: the figures, or "none" for a free CPU (every
 * figure 0, only links and disks take time).
 */
export const cpuChoiceSchema = z.union([z.literal("none").transform(() => ({ ...noCpu })), cpuSchema]);

/**
 * diskSchema models stable storage: how long a sync takes and how often a
 * crash tears the first unsynced record. A scenario that leaves `syncMs` out
 * gets one drawn from the seed (0.1 to 2 ms), so that every run has windows
 * in which a crash loses writes.
 */
export const diskSchema = z
  .object({
    syncMs: z.number().min(0).optional(),
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

/** workloadKinds names how clients issue operations; the API reference lists each with its meaning. */
const workloadKinds = {
  /** closed: each client waits for its answer (and any think time) before its next operation. */
  closed: "closed",
  /** open: operations arrive at `ratePerSec` whatever the answers, each taken by an idle client. */
  open: "open",
} as const;

/** keyDistributions names how a workload picks the key of each operation. */
const keyDistributions = {
  /** uniform: every key equally often. */
  uniform: "uniform",
  /** zipfian: a few hot keys take most operations, with exponent `zipfExponent`. */
  zipfian: "zipfian",
} as const;

/** workloadSchema describes the clients: closed-loop (each waits for its answer) or open-loop (arrivals at a rate). */
export const workloadSchema = z
  .object({
    kind: z.enum(workloadKinds).default("closed"),
    clients: z.number().int().min(1).max(10_000).default(4),
    ops: z.number().int().min(0).max(10_000_000).default(200),
    /** spreadMs paces a closed-loop workload over this long (think time between ops), so that it overlaps the faults. */
    spreadMs: z.number().min(0).default(0),
    /** ratePerSec is the open-loop arrival rate. */
    ratePerSec: z.number().min(0).default(1000),
    /** queueLimit bounds open-loop arrivals waiting for an idle client; past it they are rejected. */
    queueLimit: z.number().int().min(0).default(1000),
    keys: z.number().int().min(1).default(8),
    distribution: z.enum(keyDistributions).default("uniform"),
    zipfExponent: z.number().min(0).default(0.99),
    valueBytes: z.number().int().min(1).max(1 << 20).default(8),
    mix: mixSchema.default({ get: 40, put: 30, append: 10, cas: 15, delete: 5 }),
    /** finalReads reads every key once the cluster is healed, so that a lost acknowledged write shows in the history. */
    finalReads: z.boolean().default(true),
    /** firstSequence is the sequence number of each client's first request (1 when absent): near 2^32 or 2^53 to test widths. */
    firstSequence: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
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

/** crashTimings names the moments a crash may strike once it fires. */
const crashTimings = {
  /** at-once: when it fires. */
  "at-once": "at-once",
  /** while-unsynced: at the next moment a chosen node holds written but unsynced records or a staged snapshot (for target "all": the moment any node does). */
  "while-unsynced": "while-unsynced",
  /** after-sync: when a chosen node's next sync completes, before the messages that waited for it leave. */
  "after-sync": "after-sync",
  /** while-sending: part-way through sending a Ready of a chosen node that carries two or more messages to one peer (a drawn part of them leaves, at least one and never all). */
  "while-sending": "while-sending",
  /**
   * after-answering: right after a chosen node, having stepped a message of one of the crash's `messageTypes`, sends
   * its next Ready with messages (its answer left; the crash comes before anything else it does, as a process killed
   * just after it wrote to its socket).
   */
  "after-answering": "after-answering",
  /**
   * after-commit: right after a chosen node's commit point advances, before the Ready that would carry the news
   * leaves (a leader that commits and dies before telling anyone: the next leader must hold what it committed).
   */
  "after-commit": "after-commit",
} as const;

/**
 * crashTimingSchema says when a crash strikes once it fires: "at-once"; "while-unsynced", at the next moment a chosen
 * node holds written but unsynced records or a staged snapshot (for target "all": the moment any node does); or
 * "after-sync", when a chosen node's next sync completes, before the messages that waited for it leave; or
 * "while-sending", part-way through sending a Ready of a chosen node that carries two or more messages to one peer
 * (a drawn part of them leaves, at least one and never all); or "after-answering", right after a chosen node, having
 * stepped a message of one of the crash's `messageTypes`, sends its next Ready with messages (its answer left; the
 * crash comes before anything else it does, as a process killed just after it wrote to its socket); or
 * "after-commit", right after a chosen node's commit point advances, before the Ready that would carry the news leaves.
 */
export const crashTimingSchema = z.enum(crashTimings);

/**
 * clientPlacementSchema says which side of a partition the clients are on: "rest" (with the majority, cut off from
 * the isolated replicas), "isolated" (with the isolated replicas), "split" (the first half of the clients with the
 * isolated replicas, the rest outside), or "both" (the partition cuts replicas off from peers, not from clients).
 */
export const clientPlacementSchema = z.enum({
  /** rest: the clients are with the majority, cut off from the isolated replicas. */
  rest: "rest",
  /** isolated: the clients are with the isolated replicas. */
  isolated: "isolated",
  /** split: the first half of the clients are with the isolated replicas, the rest outside. */
  split: "split",
  /** both: the partition cuts replicas off from peers, not from clients. */
  both: "both",
} as const);

/**
 * reconfigureChangeSchema names a membership change, resolved against the configuration in force when it fires:
 * add a spare as a voter, remove a random follower voter, remove the leader, add a spare as a learner, promote a
 * learner, replace a majority of the voters by spares (a joint change in Raft, a new acceptor set in Multi-Paxos), or
 * demote a follower voter to a learner in one change (which Raft must refuse).
 */
export const reconfigureChangeSchema = z.enum({
  /** add-voter: add a spare as a voter. */
  "add-voter": "add-voter",
  /** remove-voter: remove a random follower voter. */
  "remove-voter": "remove-voter",
  /** remove-leader: remove the leader. */
  "remove-leader": "remove-leader",
  /** add-learner: add a spare as a learner. */
  "add-learner": "add-learner",
  /** promote-learner: promote a learner to a voter. */
  "promote-learner": "promote-learner",
  /** replace: replace a majority of the voters by spares (a joint change in Raft, a new acceptor set in Multi-Paxos). */
  replace: "replace",
  /**
   * demote: remove a random follower voter and add it back as a learner in one change: a demotion, which Raft must
   * refuse (a node cannot be an outgoing voter and a learner at once); Multi-Paxos has no learners and refuses it too.
   */
  demote: "demote",
} as const);

/**
 * transferTargetSchema picks a transfer's target: a replica target, or "removed", the voter that the run's last
 * membership change asked to remove (a transfer racing its target's removal).
 */
export const transferTargetSchema = z.union([targetSchema, z.literal("removed")]);

/** heldRaceKinds names the races a "held-race" fault plays (held-races.ts describes each). */
const heldRaceKinds = {
  /**
   * former-leader-returns: the leader's messages are held in the network; once another replica leads, what was held
   * for its side leaves, and the rest waits until a replica it no longer reaches climbs to a higher epoch and
   * campaigns: then the former leader's stale messages reach that replica and its answers reach the former leader,
   * now a follower inside the new leader's lease, and the new leader is cut off.
   */
  "former-leader-returns": "former-leader-returns",
  /**
   * former-leader-restarts-between-candidates: the leader's messages are held in the network (and its clients cut
   * off); in the instant a replica campaigns in a later epoch, what was held for its side leaves (and its answers
   * carry the new epoch to the former leader before its vote request does), while the other side hears neither of
   * them; in the instant a replica of the other side campaigns, the former leader crashes and restarts at once, and
   * then hears it.
   */
  "former-leader-restarts-between-candidates": "former-leader-restarts-between-candidates",
} as const;

/** heldRaceKindSchema names a race a "held-race" fault plays. */
export const heldRaceKindSchema = z.enum(heldRaceKinds);

/** clientTargetSchema picks a client: the i-th, or a seeded random one. */
export const clientTargetSchema = z.union([z.literal("random"), z.object({ index: z.number().int().min(0) }).strict()]);

/** faultSchema is one timed action of a scenario's timeline: a fault, or an operation on the cluster or its clients. */
export const faultSchema = z.discriminatedUnion("type", [
  z
    .object({
      type: z.literal("crash"),
      atMs: z.number().min(0),
      target: targetSchema,
      /** restartAfterMs: the crashed nodes restart this long after the crash (never, until the scenario heals, when absent). */
      restartAfterMs: z.number().min(0).optional(),
      /** restartAfterMsMax: with restartAfterMs, the restart delay is drawn from the seed in [restartAfterMs, restartAfterMsMax]. */
      restartAfterMsMax: z.number().min(0).optional(),
      timing: crashTimingSchema.default("at-once"),
      /** windowMs: a timed crash whose moment has not come this long after atMs is given up, and reported as without effect. */
      windowMs: z.number().min(0).default(1000),
      /** messageTypes: for "after-answering", the message types (the codec's type names) whose answer the crash waits for. */
      messageTypes: z.array(z.string().min(1)).min(1).optional(),
      /**
       * nextLeader: a timed crash watches every replica the target names, up or down, and strikes the first of them
       * that meets its moment while leading an epoch later than any a live replica held when the crash fired: a
       * successor elected after the crash fired, not the leader of then.
       */
      nextLeader: z.boolean().optional(),
      /**
       * atCampaign: the crash waits (up to windowMs) for a replica to start campaigning, and in that instant, before
       * its requests leave, strikes at once one of its targets that follows a leader, never the campaigner: a voter
       * that restarts just as another replica's election timer fires (timing must be "at-once").
       */
      atCampaign: z.boolean().optional(),
      /**
       * outlastsHeal: the crashed replica stays down through the heal to the end of the run (restartAfterMs must be
       * absent, the target one replica): it counts, with the Byzantine replicas, among the f faulty replicas the
       * run's liveness judgement (progress once the faults heal) tolerates, and a run whose lasting crashes and liars
       * exceed f is refused.
       */
      outlastsHeal: z.boolean().optional(),
    })
    .strict(),
  z.object({ type: z.literal("restart"), atMs: z.number().min(0), target: targetSchema }).strict(),
  z.object({ type: z.literal("pause"), atMs: z.number().min(0), target: targetSchema, durationMs: z.number().min(0) }).strict(),
  z
    .object({
      type: z.literal("partition"),
      atMs: z.number().min(0),
      /** isolate: these replicas are cut off from every other replica (and from the clients, as `clients` says). */
      isolate: z.array(targetSchema).min(1),
      /** oneWay cuts one direction only: what the isolated replicas send ("outbound"), or what they receive ("inbound"). */
      oneWay: z.boolean().default(false),
      direction: z.enum(["outbound", "inbound"]).default("outbound"),
      clients: clientPlacementSchema.default("rest"),
      durationMs: z.number().min(0),
      /**
       * nextLeader: the cut waits (up to windowMs) for a replica to lead an epoch later than any a live replica held
       * when it fired, and cuts that new leader off in the instant it leads, before anything it sends as leader
       * leaves (a flapping link that moves onto the successor), for durationMs from then; `isolate` is ignored.
       */
      nextLeader: z.boolean().optional(),
      /**
       * atCampaign: the cut waits (up to windowMs) for a replica to start campaigning, and cuts its targets off in that
       * instant, before the campaigner's requests leave ("leader": the leader the campaigner stopped hearing).
       */
      atCampaign: z.boolean().optional(),
      /** windowMs: with nextLeader or atCampaign, a cut whose moment has not come this long after atMs is given up, and reported as without effect. */
      windowMs: z.number().min(0).optional(),
      /**
       * afterLeadsMs: with nextLeader, the cut strikes this long after the new leader first leads (0, the default: in
       * that instant), so that what it sends in its first moments as leader (a round trip's worth) may still leave.
       */
      afterLeadsMs: z.number().min(0).optional(),
      /**
       * companions: with nextLeader, this many other replicas (drawn from the seed among those up, never the leader of
       * when the cut fired) are cut off with the new leader, on its side of the cut.
       */
      companions: z.number().int().min(0).optional(),
      /**
       * holdLeader: with nextLeader, from when the cut fires, what the leader of that moment sends to these replicas
       * ("follower": one follower drawn from the seed; "all": every other replica) is held in the network (a stalled
       * link: they stop hearing it and may elect another); when the cut strikes, what it held for the replicas left
       * outside the cut leaves, and what it held for those cut off leaves when the cut ends: an older leader's delayed
       * messages reach a successor that was cut off right after its election.
       */
      holdLeader: targetSchema.optional(),
      /**
       * formerLeaderHealsFirstMs: with holdLeader, the cut heals towards the leader whose messages it held this long
       * before it heals towards the other replicas (its stalled links recover first, and their backlog arrives
       * before anything from the rest of the cluster).
       */
      formerLeaderHealsFirstMs: z.number().min(0).optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal("link"),
      atMs: z.number().min(0),
      durationMs: z.number().min(0),
      link: linkOverrideSchema,
      /** messageTypes: the override acts only on messages of these types (the codec's type names); all when absent. */
      messageTypes: z.array(z.string().min(1)).min(1).optional(),
      /** from: the override acts only on messages these replicas send; every sender when absent. */
      from: targetSchema.optional(),
      /** to: the override acts only on messages sent to these replicas; every receiver when absent. */
      to: targetSchema.optional(),
      /**
       * hold: the messages the fault selects are held in the network instead of delivered, and leave, in the order
       * they were sent, when the fault ends (or at the heal): a stalled link delivering its backlog. A partition in
       * force when one is sent loses it; one in force when it leaves loses it too.
       */
      hold: z.boolean().optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal("held-race"),
      atMs: z.number().min(0),
      /** kind: which race it plays (heldRaceKindSchema). */
      kind: heldRaceKindSchema,
      /** windowMs: each stage waits this long for its election event; a stage whose event does not come ends the race, reported as without effect. */
      windowMs: z.number().min(0),
      /** settleMs: the race's second stage comes this long after the new leader first leads (its first round has reached its followers). */
      settleMs: z.number().min(0),
      /**
       * outsiders: former-leader-returns: how many of the new leader's followers the second stage parts from it (those
       * that then climb to a higher epoch); the other kind puts on the outsiders' side every replica that the first
       * candidate's side (a majority with the former leader) leaves.
       */
      outsiders: z.number().int().min(1),
      /** delayMs: in the last stage, what the outsiders send to the former leader is held this long. */
      delayMs: z.number().min(0),
      /** cutMs: in the last stage, the new leader is cut off this long. */
      cutMs: z.number().min(0),
      clients: clientPlacementSchema.default("split"),
      /** messageTypes: from the second stage, the new leader's messages of these types are lost (its appends, while its heartbeats flow). */
      messageTypes: z.array(z.string().min(1)).min(1).optional(),
      /**
       * campaignTypes: in the last stage, only what the outsiders send the former leader of these types (their vote
       * requests) is held delayMs, so that their answers to its stale messages reach it first; everything when absent.
       */
      campaignTypes: z.array(z.string().min(1)).min(1).optional(),
    })
    .strict(),
  /**
   * path-crash crashes the replicas that walk one of the algorithm's hard paths (its `hardPaths`, as the run's path
   * counter counts them), each afterPathMs after the event in which it walked it, and restarts each restartAfterMs
   * later: a crash timed by the replica's own progress (path-crashes.ts).
   */
  z
    .object({
      type: z.literal("path-crash"),
      atMs: z.number().min(0),
      /** path: the name of one of the algorithm's hard paths. */
      path: z.string().min(1),
      /** target: the replicas it watches (every replica by default); resolved when it fires. */
      target: targetSchema.default("all"),
      /** count: it crashes at most this many replicas, each the first time it walks the path (a replica it watches that is down then may walk it again later). */
      count: z.number().int().min(1).default(1),
      /** afterPathMs: each crash comes this long after the event in which its replica walked the path. */
      afterPathMs: z.number().min(0).default(0),
      /** restartAfterMs: each crashed replica restarts this long after its crash. */
      restartAfterMs: z.number().min(0),
      /** windowMs: walks of the path later than this after atMs are not watched; with none before, it is reported as without effect. */
      windowMs: z.number().min(0),
    })
    .strict(),
  z.object({ type: z.literal("slow"), atMs: z.number().min(0), target: targetSchema, durationMs: z.number().min(0), extraLatencyMs: z.number().min(0), cpuFactor: z.number().min(1).default(1) }).strict(),
  /**
   * transfer asks the leader to hand leadership to `to` (a random follower when absent; "removed": the voter the last
   * membership change asked to remove), through the algorithm's admin hook.
   */
  z.object({ type: z.literal("transfer"), atMs: z.number().min(0), to: transferTargetSchema.optional() }).strict(),
  /** reconfigure asks the leader for a membership change through the algorithm's admin hook; `joint` forces a joint change (Raft). */
  z
    .object({
      type: z.literal("reconfigure"),
      atMs: z.number().min(0),
      change: reconfigureChangeSchema,
      joint: z.boolean().default(false),
      /** keep: a "replace" leaves this replica among the voters (when it is one). */
      keep: targetSchema.optional(),
    })
    .strict(),
  /** restart-client replaces a client by a fresh object with the same network id; its outstanding request is recorded as indeterminate. */
  z.object({ type: z.literal("restart-client"), atMs: z.number().min(0), client: clientTargetSchema.default("random") }).strict(),
]);

/** scenarioSchema is a whole scenario: cluster models, workload, fault timeline and the liveness phase after it. */
export const scenarioSchema = z
  .object({
    name: z.string().min(1),
    description: z.string(),
    tickMs: z.number().min(0.1).default(10),
    link: linkSchema.default(linkSchema.parse({})),
    /** cpu is the CPU cost model: the calibrated one (calibrated-cpu.ts, `pnpm bench:micro --calibrate`) unless the scenario sets one. */
    cpu: cpuChoiceSchema.default(() => ({ ...cpuCalibration.cpu })),
    disk: diskSchema.default(diskSchema.parse({})),
    workload: workloadSchema.default(workloadSchema.parse({})),
    faults: z.array(faultSchema).default([]),
    /** spares: replicas booted outside the initial configuration (ids after the initial ones), for membership changes to add. */
    spares: z.number().int().min(0).max(16).default(0),
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
    /** virtualMsMax bounds the whole run. */
    virtualMsMax: z.number().min(1).default(600_000),
    /**
     * script: a run of named steps instead of timed ones (script.ts): every message held until a step delivers, drops
     * or copies it, each replica's clock moved only by its own timeout step. `concord explore --counterexample-out`
     * writes one; the faults are then the steps', and `faults` and `chaos` must be left out.
     */
    script: scriptSchema.optional(),
  })
  .strict();

/** Scenario is a validated scenario. */
export type Scenario = z.output<typeof scenarioSchema>;
/** ScenarioInput is a scenario as written, before defaults are filled in. */
export type ScenarioInput = z.input<typeof scenarioSchema>;
/** Fault is one validated timeline action. */
export type Fault = z.output<typeof faultSchema>;
/** FaultInput is a timeline action as written, before defaults are filled in. */
export type FaultInput = z.input<typeof faultSchema>;
/** HeldRaceKind names a race a "held-race" fault plays. */
export type HeldRaceKind = z.output<typeof heldRaceKindSchema>;
/** CrashTiming says when a crash strikes once it fires. */
export type CrashTiming = z.output<typeof crashTimingSchema>;
/** ReconfigureChange names a membership change a scenario asks for. */
export type ReconfigureChange = z.output<typeof reconfigureChangeSchema>;
/** Target selects the nodes a fault hits. */
export type Target = z.output<typeof targetSchema>;
/** LinkModel is a validated link model. */
export type LinkModel = z.output<typeof linkSchema>;
/** CpuModelInput is a CPU cost model as written: a figure left out is 0. */
export type CpuModelInput = z.input<typeof cpuSchema>;
/** CpuChoice is a CPU cost model as a run or a scenario may give it: figures, or "none" for a free CPU. */
export type CpuChoice = z.input<typeof cpuChoiceSchema>;
/** CpuModel is a validated CPU cost model. */
export type CpuModel = z.output<typeof cpuSchema>;
/** Workload is a validated workload. */
export type Workload = z.output<typeof workloadSchema>;
