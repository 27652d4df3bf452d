import { z } from "zod";

/**
 * paxosOptionsSchema validates single-decree Paxos's options. Times are in
 * ticks of the runtime's clock; every limit is bounded.
 */
export const paxosOptionsSchema = z
  .object({
    /** attemptTimeoutTicks: a proposal (phase 1 and 2 of one ballot) still unfinished after this long is abandoned and retried with a higher ballot. */
    attemptTimeoutTicks: z.number().int().min(1).default(10),
    /** backoffTicksBase: after its k-th failed ballot in a row a proposer waits a random time below backoffTicksBase x 2^k (capped) before the next. */
    backoffTicksBase: z.number().int().min(1).default(2),
    /** backoffTicksMax caps that random wait, so that a proposer that lost many duels still retries. */
    backoffTicksMax: z.number().int().min(1).default(64),
    /** waitingRequestsMax bounds the client requests a replica holds for keys not yet chosen; past it they are dropped (the client retries). */
    waitingRequestsMax: z.number().int().min(1).max(1_000_000).default(10_000),
    /** compactEveryRecords: once this many records were written since the last snapshot, the next Ready stages a snapshot of every key's state instead (bounding what a restart replays). */
    compactEveryRecords: z.number().int().min(1).max(1_000_000).default(1_000),
    /** clientRetryTicks: a client resends a request unanswered for this long to the next replica, in its ticks. */
    clientRetryTicks: z.number().int().min(1).default(20),
    /** clientGiveUpTicks: a client reports a request it could not get answered for this long as indeterminate. */
    clientGiveUpTicks: z.number().int().min(1).default(300),
  })
  .strict()
  .refine((options) => options.backoffTicksBase <= options.backoffTicksMax, {
    message: "backoffTicksBase must not exceed backoffTicksMax",
    path: ["backoffTicksBase"],
  })
  .refine((options) => options.clientGiveUpTicks >= options.clientRetryTicks, {
    message: "clientGiveUpTicks must be at least clientRetryTicks",
    path: ["clientGiveUpTicks"],
  });

/** PaxosOptions are single-decree Paxos's validated options. */
export type PaxosOptions = z.output<typeof paxosOptionsSchema>;
