import { z } from "zod";
import { safeLeaseTicks } from "./lease.ts";

/**
 * multiPaxosOptionsSchema validates Multi-Paxos's options. Times are in ticks of
 * the runtime's clock; every limit is bounded.
 */
export const multiPaxosOptionsSchema = z
  .object({
    /** heartbeatTicks: an idle leader sends a heartbeat to a peer it sent nothing to for this long. */
    heartbeatTicks: z.number().int().min(1).default(3),
    /** electionTimeoutTicks: a follower that hears no leader for a random time in [this, 2 x this) starts phase 1. */
    electionTimeoutTicks: z.number().int().min(2).default(15),
    /** windowSlots bounds the slots a leader has proposed but not yet seen chosen (phase 2 pipelining). */
    windowSlots: z.number().int().min(1).max(10_000).default(64),
    /** alphaSlots is α: a configuration chosen in slot i governs from slot i + α on, so a leader proposes at most α slots past its watermark. */
    alphaSlots: z.number().int().min(1).max(10_000).default(64),
    /** batchCommandsMax bounds the client commands batched into one slot. */
    batchCommandsMax: z.number().int().min(1).max(10_000).default(64),
    /** queuedRequestsMax bounds the client requests a leader holds while its window is full; past it they are dropped. */
    queuedRequestsMax: z.number().int().min(1).default(10_000),
    /** retransmitTicks: a slot still open after this long is sent again to the acceptors that have not accepted it. */
    retransmitTicks: z.number().int().min(1).default(5),
    /** catchupRetryTicks: a replica with a hole asks a peer again after this long. */
    catchupRetryTicks: z.number().int().min(1).default(5),
    /** catchupSlotsMax bounds the chosen values one Chosen message carries. */
    catchupSlotsMax: z.number().int().min(1).default(256),
    /** snapshotEveryEntries: compact the log into a snapshot after this many applied slots. */
    snapshotEveryEntries: z.number().int().min(1).default(1_000),
    /** leaseTicks: leader leases for local reads, off at 0 (reads then go through the log). */
    leaseTicks: z.number().int().min(0).default(0),
    /** clockDriftBoundPercent is the assumed bound on how much two replicas' tick rates differ. */
    clockDriftBoundPercent: z.number().int().min(0).max(40).default(10),
    /** clientRetryTicks: a client resends a request unanswered for this long, in its ticks. */
    clientRetryTicks: z.number().int().min(1).default(20),
    /** clientGiveUpTicks: a client reports a request it could not get answered for this long as indeterminate. */
    clientGiveUpTicks: z.number().int().min(1).default(300),
  })
  .strict()
  .refine((options) => options.heartbeatTicks < options.electionTimeoutTicks, {
    message: "heartbeatTicks must be below electionTimeoutTicks",
    path: ["heartbeatTicks"],
  })
  .refine((options) => options.leaseTicks === 0 || safeLeaseTicks(options.leaseTicks, options.clockDriftBoundPercent) > options.heartbeatTicks, {
    message: "leaseTicks, less the clock drift bound, must outlast heartbeatTicks so that heartbeats can renew the lease",
    path: ["leaseTicks"],
  })
  .refine((options) => options.leaseTicks <= options.electionTimeoutTicks, {
    message: "leaseTicks must not exceed electionTimeoutTicks (a follower waits out a lease before it starts phase 1)",
    path: ["leaseTicks"],
  })
  .refine((options) => options.clientGiveUpTicks >= options.clientRetryTicks, {
    message: "clientGiveUpTicks must be at least clientRetryTicks",
    path: ["clientGiveUpTicks"],
  });

/** MultiPaxosOptions are Multi-Paxos's validated options. */
export type MultiPaxosOptions = z.output<typeof multiPaxosOptionsSchema>;
