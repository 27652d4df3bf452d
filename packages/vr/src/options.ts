import { z } from "zod";

/**
 * safeLeaseTicks is how long a primary may count on a lease granted at its tick
 * t: backups hold the grant for leaseTicks of their own clock from when they
 * received the message (after t), and two clocks may differ in rate by up to
 * the drift bound each way, so the primary trusts only leaseTicks x (1 - 2 x
 * drift), less one tick for the granularity of tick counting (Multi-Paxos's rule).
 */
export function safeLeaseTicks(leaseTicks: number, clockDriftBoundPercent: number): number {
  return Math.floor((leaseTicks * (100 - 2 * clockDriftBoundPercent)) / 100) - 1;
}

/** vrDurabilities names where a replica keeps its view and log. */
const vrDurabilities = {
  /** persist: the view and the log are written through Ready.persist before any message that depends on them. */
  persist: "persist",
  /** memory: the paper's mode (§4.3): nothing is written, and a restarted replica recovers from its peers. */
  memory: "memory",
} as const;

/**
 * vrOptionsSchema validates VR's options. Times are in ticks of the runtime's
 * clock; every limit is bounded.
 */
export const vrOptionsSchema = z
  .object({
    /**
     * durability: `memory` is the paper's mode (§4.3): nothing is written on the normal path and a restarted replica
     * recovers its state from its peers; `persist` writes the view and the log through Ready.persist before any
     * message that depends on them, as Raft does, and a restarted replica resumes from its disk.
     */
    durability: z.enum(vrDurabilities).default("persist"),
    /** commitTicks: an idle primary sends a Commit to a backup it sent nothing to for this long (§4.1 step 6). */
    commitTicks: z.number().int().min(1).default(3),
    /** viewChangeTimeoutTicks: a backup that hears no primary for a random time in [this, 2 x this) starts a view change (§4.2). */
    viewChangeTimeoutTicks: z.number().int().min(2).default(15),
    /** windowOps bounds the ops a primary has prepared but not yet committed (a bounded pipeline, §4.1). */
    windowOps: z.number().int().min(1).max(10_000).default(64),
    /** batchCommandsMax bounds the client requests batched into one op. */
    batchCommandsMax: z.number().int().min(1).max(10_000).default(64),
    /** queuedRequestsMax bounds the requests a primary holds while its window is full; past it they are dropped. */
    queuedRequestsMax: z.number().int().min(1).default(10_000),
    /** retransmitTicks: a Prepare not yet acknowledged, a view change or a recovery not yet answered is sent again after this long. */
    retransmitTicks: z.number().int().min(1).default(5),
    /** checkpointEveryOps: take a checkpoint and truncate the log after this many executed ops (§5.1). */
    checkpointEveryOps: z.number().int().min(1).default(1_000),
    /** stateTransferOpsMax bounds the entries one NewState carries (§5.2). */
    stateTransferOpsMax: z.number().int().min(1).default(256),
    /**
     * leaseTicks: the primary's read lease, off at 0 (reads then go through the log). A backup that took a Prepare or
     * Commit from its primary joins no view change for this many of its ticks, so the primary, while a majority's
     * grants last (less the drift bound), answers reads from its own state without a round of messages.
     */
    leaseTicks: z.number().int().min(0).default(0),
    /** clockDriftBoundPercent is the assumed bound on how much two replicas' tick rates differ, each way. */
    clockDriftBoundPercent: z.number().int().min(0).max(40).default(10),
    /** clientRetryTicks: a client resends a request unanswered for this long, in its ticks. */
    clientRetryTicks: z.number().int().min(1).default(20),
    /** clientGiveUpTicks: a client reports a request it could not get answered for this long as indeterminate. */
    clientGiveUpTicks: z.number().int().min(1).default(300),
  })
  .strict()
  .refine((options) => options.commitTicks < options.viewChangeTimeoutTicks, {
    message: "commitTicks must be below viewChangeTimeoutTicks",
    path: ["commitTicks"],
  })
  .refine((options) => options.leaseTicks === 0 || safeLeaseTicks(options.leaseTicks, options.clockDriftBoundPercent) > options.commitTicks, {
    message: "leaseTicks, less the clock drift bound, must outlast commitTicks so that the primary's Commits can renew the lease",
    path: ["leaseTicks"],
  })
  .refine((options) => options.leaseTicks <= options.viewChangeTimeoutTicks, {
    message: "leaseTicks must not exceed viewChangeTimeoutTicks (a backup waits out its grant before it joins a view change)",
    path: ["leaseTicks"],
  })
  .refine((options) => options.clientGiveUpTicks >= options.clientRetryTicks, {
    message: "clientGiveUpTicks must be at least clientRetryTicks",
    path: ["clientGiveUpTicks"],
  });

/** VrOptions are VR's validated options. */
export type VrOptions = z.output<typeof vrOptionsSchema>;
