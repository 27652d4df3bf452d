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
    /** inflightMessagesMax bounds the pipelined appends to one follower. */
    inflightMessagesMax: z.number().int().min(1).default(256),
    /** messageBytesMax bounds the entries of one append and the chunk of one InstallSnapshot. */
    messageBytesMax: z.number().int().min(64).default(1 << 20),
    /** batchEntriesMax bounds the entries of one append. */
    batchEntriesMax: z.number().int().min(1).default(1024),
    /** uncommittedEntriesMax: past this many uncommitted entries the leader drops new proposals. */
    uncommittedEntriesMax: z.number().int().min(1).default(10_000),
    /** pendingReadsMax bounds reads waiting for a ReadIndex round. */
    pendingReadsMax: z.number().int().min(1).default(10_000),
    /** snapshotEveryEntries: a replica snapshots its state machine and compacts its log after applying this many entries (§7). */
    snapshotEveryEntries: z.number().int().min(1).default(10_000),
    /** leaseReads: serve reads from the leader's lease instead of a ReadIndex round (thesis §6.4.1); needs checkQuorum. */
    leaseReads: z.boolean().default(false),
    /**
     * clockDriftBoundPercent is the assumed bound on how much two replicas'
     * tick rates differ; a lease read is correct only if it holds (see
     * {@link leaseTicks}).
     */
    clockDriftBoundPercent: z.number().int().min(0).max(40).default(10),
    /** transferTimeoutTicks: a leadership transfer that has not finished by then is abandoned (thesis §3.10). */
    transferTimeoutTicks: z.number().int().min(1).optional(),
    /** clientRetryTicks / clientGiveUpTicks: the client's patience, in ticks. */
    clientRetryTicks: z.number().int().min(1).default(20),
    clientGiveUpTicks: z.number().int().min(1).default(300),
  })
  .strict()
  .refine((o) => o.heartbeatTicks < o.electionTimeoutTicks, { message: "heartbeatTicks must be below electionTimeoutTicks", path: ["heartbeatTicks"] })
  .refine((o) => !o.leaseReads || o.checkQuorum, { message: "leaseReads requires checkQuorum", path: ["leaseReads"] })
  .refine((o) => !o.leaseReads || leaseTicks(o.electionTimeoutTicks, o.clockDriftBoundPercent) > o.heartbeatTicks, {
    message: "with leaseReads, the lease (electionTimeoutTicks less the clock drift bound and one tick) must outlast heartbeatTicks so that heartbeats can renew it",
    path: ["clockDriftBoundPercent"],
  })
  .refine((o) => o.clientGiveUpTicks >= o.clientRetryTicks, { message: "clientGiveUpTicks must be at least clientRetryTicks", path: ["clientGiveUpTicks"] });

/**
 * leaseTicks is how many of its own ticks after sending a heartbeat round a
 * leader may serve reads on the acknowledgements of that round (thesis
 * §6.4.1). A voter that acknowledged the round ignores vote requests for
 * electionTimeoutTicks of its own ticks after receiving it (thesis §4.2.3, with
 * check-quorum), and two clocks may differ in rate by up to the drift bound
 * each way, so the leader trusts only electionTimeoutTicks x (1 - 2 x drift),
 * less one tick because neither side counts the part of a tick that passed
 * before the round was sent or received. The lease starts at the tick the
 * round was sent, never when its acknowledgements arrive.
 */
export function leaseTicks(electionTimeoutTicks: number, clockDriftBoundPercent: number): number {
  return Math.floor((electionTimeoutTicks * (100 - 2 * clockDriftBoundPercent)) / 100) - 1;
}

/** RaftOptions are Raft's validated options. */
export type RaftOptions = z.output<typeof raftOptionsSchema>;
