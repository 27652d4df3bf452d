import { z } from "zod";

/**
 * endpointSchema names a node of a script: a replica by its id (a number, as
 * the model checker numbers them from 0) or a client by its index, as "c0".
 */
export const endpointSchema = z.union([z.number().int().min(0), z.string().regex(/^c\d+$/, 'a client is written "c<index>", e.g. "c0"')]);

/**
 * messageRefFields name one message in flight: its sender, receiver and type,
 * and `nth`, its place among the messages in flight with that sender,
 * receiver and type, in the order they were sent (0 = the oldest). `sha256`,
 * when given, is the hash of its encoded bytes: a run whose message differs
 * has left the path the script was written for, and stops saying so.
 */
const messageRefFields = {
  from: endpointSchema,
  to: endpointSchema,
  type: z.string().min(1),
  nth: z.number().int().min(0).default(0),
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex digits")
    .optional(),
};

/**
 * scriptCrashSchema crashes the step's node inside the step, at its `write`-th
 * Ready that writes something (0 = the first): before the sync, keeping the
 * first `keep` records of that Ready (a torn record is one recovery drops),
 * or after the sync and before any of its messages leave ("after-sync").
 */
export const scriptCrashSchema = z
  .object({
    write: z.number().int().min(0),
    keep: z.union([z.number().int().min(0), z.literal("after-sync")]),
  })
  .strict();

/** note is a step's description in words (the model checker's), for the reader; the run ignores it. */
const note = z.string().optional();

/**
 * scriptStepSchema is one step of a scripted run, each the model checker's
 * action of the same name (docs/explore.md): deliver, drop or duplicate one
 * message in flight; fire one replica's timeout (tick it alone until it
 * acts) or one client's; a client invokes its next command; crash or restart
 * a replica; or `tick`, time passing for every node together until one acts.
 */
export const scriptStepSchema = z.discriminatedUnion("step", [
  z.object({ step: z.literal("deliver"), ...messageRefFields, crash: scriptCrashSchema.optional(), note }).strict(),
  z.object({ step: z.literal("drop"), ...messageRefFields, note }).strict(),
  z.object({ step: z.literal("duplicate"), ...messageRefFields, note }).strict(),
  z.object({ step: z.literal("timeout"), node: endpointSchema, crash: scriptCrashSchema.optional(), note }).strict(),
  z.object({ step: z.literal("invoke"), client: z.string().regex(/^c\d+$/, 'a client is written "c<index>", e.g. "c0"'), note }).strict(),
  z.object({ step: z.literal("crash"), node: z.number().int().min(0), note }).strict(),
  z.object({ step: z.literal("restart"), node: z.number().int().min(0), crash: scriptCrashSchema.optional(), note }).strict(),
  z.object({ step: z.literal("tick"), note }).strict(),
  /** client-restart: the client's object is replaced by a fresh one under its id (a new session); its outstanding operation is given up. */
  z.object({ step: z.literal("client-restart"), client: z.string().regex(/^c\d+$/, 'a client is written "c<index>", e.g. "c0"'), note }).strict(),
  /** reconfigure: an operator asks replica `node` (a leader) for a membership change through the algorithm's admin hook. */
  z
    .object({
      step: z.literal("reconfigure"),
      node: z.number().int().min(0),
      changes: z.array(z.object({ type: z.enum(["addVoter", "removeVoter", "addLearner", "removeLearner"]), node: z.number().int().min(0) }).strict()).min(1),
      joint: z.boolean().default(false),
      note,
    })
    .strict(),
  /** transfer: an operator asks replica `node` (a leader) to hand its leadership to `target`. */
  z.object({ step: z.literal("transfer"), node: z.number().int().min(0), target: z.number().int().min(0), note }).strict(),
  /** partition: the nodes of `side` are cut off from all the others until a `heal` step; no step may deliver a message across the cut meanwhile. */
  z.object({ step: z.literal("partition"), side: z.array(endpointSchema).min(1), note }).strict(),
  /** heal: the standing partition is healed. */
  z.object({ step: z.literal("heal"), note }).strict(),
  /** turn-liar: replica `node`, one of the script's `byzantine.nodes` with `midPath`, lies from this step on. */
  z.object({ step: z.literal("turn-liar"), node: z.number().int().min(0), note }).strict(),
]);

/** scriptCommandSchema is one client command of a script, values as text. */
export const scriptCommandSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("get"), key: z.string() }).strict(),
  z.object({ type: z.literal("put"), key: z.string(), value: z.string() }).strict(),
  z.object({ type: z.literal("append"), key: z.string(), value: z.string() }).strict(),
  z.object({ type: z.literal("cas"), key: z.string(), expected: z.string().optional(), value: z.string() }).strict(),
  z.object({ type: z.literal("delete"), key: z.string() }).strict(),
]);

/**
 * scriptSchema is a scenario's script: a run in which nothing happens but
 * what its steps say, in their order (issue 20: the model checker's
 * counterexamples, replayed by the simulator). Every message waits on the
 * network until a step delivers, drops or copies it; a replica's clock moves
 * only in its own timeout step; disks sync at once unless a step crashes a
 * replica inside its write. Replicas are numbered from 0, and their random
 * streams and keys derive from `seed` as the model checker derives them, so
 * that the run sends the messages, byte for byte, that the script names.
 */
export const scriptSchema = z
  .object({
    /** nodes: the replicas (ids 0..nodes-1); the run's node count must match. */
    nodes: z.number().int().min(1),
    /** spares: replicas booted outside the initial configuration (ids nodes..nodes+spares-1), for a membership change to add. */
    spares: z.number().int().min(0).max(16).default(0),
    /** seed: the seed of the replicas' and clients' random streams and keys; the run's seed must match. */
    seed: z.number().int().min(0),
    /** protocolOptions: the options the replicas and clients run with (a run's explicit options override them). */
    protocolOptions: z.record(z.string(), z.unknown()).default({}),
    /** readLevel: the level every read asks for, as the model checker's `--read-level` (stale-served reads are left out of the linearizability check). */
    readLevel: z
      .enum({
        /** linearizable: every read goes through the protocol's linearizable path. */
        linearizable: "linearizable",
        /** lease: reads ask a leader's lease (served linearizable where the protocol has no lease). */
        lease: "lease",
        /** stale: reads may be served by any replica; the history leaves them out of the linearizability check. */
        stale: "stale",
      } as const)
      .default("linearizable"),
    /**
     * byzantine: the replicas that lie from the first step, each playing `strategy` over its honest code (one of
     * the algorithm's strategies the model checker plays, `--byzantine`), drawing from the model's stream for it.
     */
    byzantine: z
      .object({
        nodes: z.array(z.number().int().min(0)).min(1),
        strategy: z.string().min(1),
        /** midPath: the nodes start correct, and each lies from its `turn-liar` step on. */
        midPath: z.boolean().default(false),
      })
      .strict()
      .optional(),
    /** clients: each client's commands, in the order it invokes them. */
    clients: z.array(z.array(scriptCommandSchema)).max(64),
    /** ticksPerTimeoutMax: the most ticks a timeout step gives its node before the run says it never acted. */
    ticksPerTimeoutMax: z.number().int().min(1).max(100_000).default(200),
    steps: z.array(scriptStepSchema).min(1),
    /** expected: the violation the script was written to reach (for the reader and for tests; the run judges for itself). */
    expected: z.object({ property: z.string(), message: z.string() }).strict().optional(),
  })
  .strict();

/** Script is a validated script. */
export type Script = z.output<typeof scriptSchema>;
/** ScriptInput is a script as written. */
export type ScriptInput = z.input<typeof scriptSchema>;
/** ScriptStep is one validated step. */
export type ScriptStep = z.output<typeof scriptStepSchema>;
/** ScriptCrash is where a step crashes its node. */
export type ScriptCrash = z.output<typeof scriptCrashSchema>;
/** ScriptCommand is one client command as a script writes it. */
export type ScriptCommand = z.output<typeof scriptCommandSchema>;
