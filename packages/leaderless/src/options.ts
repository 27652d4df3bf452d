import { z } from "zod";

/**
 * eventualOptionsSchema validates the options of `eventual`, the last-writer-wins store. Times are in ticks of the
 * runtime's clock; every limit is bounded.
 */
export const eventualOptionsSchema = z
  .object({
    /** antiEntropyTicks: every this many ticks a replica opens a round of push-pull anti-entropy with one peer drawn at random. */
    antiEntropyTicks: z.number().int().min(1).max(100_000).default(10),
    /** pushWrites: send every write to every peer as soon as it is taken; off, writes spread by anti-entropy alone. */
    pushWrites: z.boolean().default(true),
    /** compactEveryRecords: once this many records were written since the last snapshot, the next Ready stages a snapshot of every entry instead. */
    compactEveryRecords: z.number().int().min(1).max(1_000_000).default(1_000),
    /** clientRetryTicks: a client resends a request unanswered for this long to the next replica, in its ticks. */
    clientRetryTicks: z.number().int().min(1).default(20),
    /** clientGiveUpTicks: a client reports a request it could not get answered for this long as indeterminate. */
    clientGiveUpTicks: z.number().int().min(1).default(300),
  })
  .strict()
  .refine((options) => options.clientGiveUpTicks >= options.clientRetryTicks, {
    message: "clientGiveUpTicks must be at least clientRetryTicks",
    path: ["clientGiveUpTicks"],
  });

/** EventualOptions are `eventual`'s validated options. */
export type EventualOptions = z.output<typeof eventualOptionsSchema>;

/**
 * quorumOptionsSchema validates the options of `quorum`, the Dynamo-style store. `r` and `w` default to a majority
 * of the replicas (derived from n by the replica, which knows n); times are in ticks of the runtime's clock.
 */
export const quorumOptionsSchema = z
  .object({
    /** r: replies a read waits for, the coordinator's own included; a majority when unset. */
    r: z.number().int().min(1).max(1_000).optional(),
    /** w: acknowledgements a write waits for, the coordinator's own (once synced) included; a majority when unset. */
    w: z.number().int().min(1).max(1_000).optional(),
    /** readRepair: after a read, send the entry it returns to the repliers that held an older one. */
    readRepair: z.boolean().default(true),
    /** atomic: multi-writer ABD: writes first query a quorum for the highest stamp, reads write back what they return; quorums of at least a majority. */
    atomic: z.boolean().default(false),
    /** antiEntropyTicks: every this many ticks a replica opens a round of push-pull anti-entropy with one peer drawn at random. */
    antiEntropyTicks: z.number().int().min(1).max(100_000).default(10),
    /** resendTicks: a coordinator resends an operation's phase to the replicas that have not answered it after this long. */
    resendTicks: z.number().int().min(1).max(100_000).default(10),
    /** operationTimeoutTicks: a coordinator drops an operation unfinished for this long, unanswered (the client reports it indeterminate). */
    operationTimeoutTicks: z.number().int().min(1).max(1_000_000).default(200),
    /** maxPendingOperations: a coordinator refuses new operations (unanswered, as when busy) while this many are unfinished. */
    maxPendingOperations: z.number().int().min(1).max(1_000_000).default(1_000),
    /** compactEveryRecords: once this many records were written since the last snapshot, the next Ready stages a snapshot of every entry instead. */
    compactEveryRecords: z.number().int().min(1).max(1_000_000).default(1_000),
    /**
     * clientRetryTicks: a client resends a request unanswered for this long to the next replica. Unset: 20 ticks, but
     * with `atomic` never before it gives up, since a write retried at a second coordinator is taken twice, with two
     * stamps, which ABD does not allow (docs/leaderless.md).
     */
    clientRetryTicks: z.number().int().min(1).optional(),
    /** clientGiveUpTicks: a client reports a request it could not get answered for this long as indeterminate. */
    clientGiveUpTicks: z.number().int().min(1).default(300),
  })
  .strict()
  .refine((options) => options.clientGiveUpTicks >= (options.clientRetryTicks ?? 1), {
    message: "clientGiveUpTicks must be at least clientRetryTicks",
    path: ["clientGiveUpTicks"],
  });

/** QuorumOptions are `quorum`'s validated options. */
export type QuorumOptions = z.output<typeof quorumOptionsSchema>;
