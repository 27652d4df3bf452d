import { z } from "zod";
import { parseConfig, type ProtocolOptions } from "@concord/core";

/** pbftAuthentications names how replicas authenticate their messages to each other. */
const pbftAuthentications = {
  /** macs: an authenticator on each message, one MAC per replica (PBFT §3; cheap, and what the paper's implementation uses). */
  macs: "macs",
  /** signatures: a public-key signature on each message (costly, but any third party can check it). */
  signatures: "signatures",
} as const;

/** pbftOptionsSchema validates PBFT's options; every duration is in ticks of the runtime's clock. */
export const pbftOptionsSchema = z
  .object({
    /** batchSizeMax bounds how many requests one pre-prepare orders. */
    batchSizeMax: z.number().int().min(1).max(4096).default(16),
    /** inflightBatchesMax bounds the batches the primary has proposed but not yet executed; requests queue behind them and form the next batch. */
    inflightBatchesMax: z.number().int().min(1).max(1024).default(4),
    /** checkpointIntervalSeqs is K: a checkpoint is taken every K sequence numbers (PBFT §4.3). */
    checkpointIntervalSeqs: z.number().int().min(1).default(16),
    /** watermarkWindowSeqs is L: sequence numbers are accepted in (h, h + L] above the stable checkpoint h. */
    watermarkWindowSeqs: z.number().int().min(2).default(64),
    /** viewChangeTimeoutTicks is the first view-change timeout; each further view change without progress doubles it (PBFT §4.5.2). */
    viewChangeTimeoutTicks: z.number().int().min(2).default(40),
    /** viewChangeBackoffExponentMax caps the doubling: the timeout never exceeds base * 2^this. */
    viewChangeBackoffExponentMax: z.number().int().min(0).max(16).default(5),
    /** statusTicks: a replica with work but no progress for this long tells its peers where it is, so they retransmit. */
    statusTicks: z.number().int().min(1).default(10),
    /** authentication: `macs` (authenticators) or `signatures` on every replica message. */
    authentication: z.enum(pbftAuthentications).default("macs"),
    /** pendingRequestsMax bounds the primary's queue of requests waiting for a batch. */
    pendingRequestsMax: z.number().int().min(1).default(10_000),
    /** readOnlyOptimization: clients send read-only requests to every replica and accept 2f+1 matching unordered replies; off, reads are ordered like writes. */
    readOnlyOptimization: z.boolean().default(true),
    /** clientRetryTicks: a client with no accepted result for this long broadcasts its request to every replica. */
    clientRetryTicks: z.number().int().min(1).default(20),
    /** clientReadTicks: a read-only request without 2f+1 matching replies for this long is retried as an ordered request. */
    clientReadTicks: z.number().int().min(1).default(10),
    /** clientGiveUpTicks: with no result for this long the client reports the request as indeterminate. */
    clientGiveUpTicks: z.number().int().min(1).default(6000),
  })
  .strict()
  .refine((o) => o.watermarkWindowSeqs >= 2 * o.checkpointIntervalSeqs, {
    message: "watermarkWindowSeqs must be at least 2 * checkpointIntervalSeqs, so that a new checkpoint can become stable before the window fills",
    path: ["watermarkWindowSeqs"],
  })
  .refine((o) => o.clientGiveUpTicks >= o.clientRetryTicks, { message: "clientGiveUpTicks must be at least clientRetryTicks", path: ["clientGiveUpTicks"] });

/** PbftOptions are PBFT's validated options. */
export type PbftOptions = z.output<typeof pbftOptionsSchema>;

/** parsePbftOptions validates raw options, throwing a ConfigError naming the field. */
export function parsePbftOptions(options: ProtocolOptions): PbftOptions {
  return parseConfig(pbftOptionsSchema, options, "pbft");
}
