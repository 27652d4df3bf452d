import { z } from "zod";

/**
 * raftOptionsSchema validates Raft's options. Defaults suit the simulator's
 * 10 ms tick and 1 ms links: a 100-200 ms randomized election timeout, a
 * 10 ms heartbeat.
 */
export const raftOptionsSchema = z
  .object({
    /** electionTimeoutTicks: a follower campaigns after a random timeout in [this, 2*this) ticks without a leader (§5.2). */
    electionTimeoutTicks: z.number().int().min(2).default(10),
    /** heartbeatTicks: a leader sends heartbeats this often; must be below the election timeout. */
    heartbeatTicks: z.number().int().min(1).default(1),
    /** preVote: a candidate first asks whether it could win (thesis §9.6). */
    preVote: z.boolean().default(true),
    /** checkQuorum: a leader that has not heard from a quorum for an election timeout steps down (thesis §6.2). */
    checkQuorum: z.boolean().default(true),
    /** maxInflightMessages bounds the pipelined appends to one follower. */
    maxInflightMessages: z.number().int().min(1).default(256),
    /** maxBytesPerMessage bounds the entries of one append and the chunk of one InstallSnapshot. */
    maxBytesPerMessage: z.number().int().min(64).default(1 << 20),
    /** maxBatchEntries bounds the entries of one append. */
    maxBatchEntries: z.number().int().min(1).default(1024),
    /** maxUncommittedEntries: past this many uncommitted entries the leader drops new proposals. */
    maxUncommittedEntries: z.number().int().min(1).default(10_000),
    /** maxPendingReads bounds reads waiting for a ReadIndex round. */
    maxPendingReads: z.number().int().min(1).default(10_000),
    /** snapshotEveryEntries: a replica snapshots its state machine and compacts its log after applying this many entries (§7). */
    snapshotEveryEntries: z.number().int().min(1).default(10_000),
    /** leaseReads: serve reads from the leader's lease instead of a ReadIndex round (thesis §6.4.1); needs checkQuorum. */
    leaseReads: z.boolean().default(false),
    /** transferTimeoutTicks: a leadership transfer that has not finished by then is abandoned (thesis §3.10). */
    transferTimeoutTicks: z.number().int().min(1).optional(),
    /** clientRetryTicks / clientGiveUpTicks: the client's patience, in ticks. */
    clientRetryTicks: z.number().int().min(1).default(20),
    clientGiveUpTicks: z.number().int().min(1).default(300),
  })
  .strict()
  .refine((o) => o.heartbeatTicks < o.electionTimeoutTicks, { message: "heartbeatTicks must be below electionTimeoutTicks", path: ["heartbeatTicks"] })
  .refine((o) => !o.leaseReads || o.checkQuorum, { message: "leaseReads requires checkQuorum", path: ["leaseReads"] })
  .refine((o) => o.clientGiveUpTicks >= o.clientRetryTicks, { message: "clientGiveUpTicks must be at least clientRetryTicks", path: ["clientGiveUpTicks"] });

/** RaftOptions are Raft's validated options. */
export type RaftOptions = z.output<typeof raftOptionsSchema>;
