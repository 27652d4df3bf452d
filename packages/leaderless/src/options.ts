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
