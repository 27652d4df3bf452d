// Analytic predictions of what each protocol costs in the normal case (a
// stable leader or primary, no faults, no retries): messages per committed
// operation by message type, latency in one-way network delays, and the work
// the busiest replica does per operation (the input of predict-queueing.ts).
// Each formula was checked against the protocol's code and against the
// simulator's messages.byType for a steady run (bench/test/predict.test.ts).
import type { CpuModel } from "@concord/sim";
import { z } from "zod";
import { criticalPathCpuMs, criticalPathWork } from "./predict-cpu.ts";

/** predictedAlgorithms are the protocols with a prediction, by their registry names. */
export const predictedAlgorithms = ["solo", "raft", "multipaxos", "pbft", "paxos", "vr"] as const;

/** PredictedAlgorithm names a protocol with a prediction. */
export type PredictedAlgorithm = (typeof predictedAlgorithms)[number];

/** isPredicted tells whether `algo` has a prediction. */
export function isPredicted(algo: string): algo is PredictedAlgorithm {
  return (predictedAlgorithms as readonly string[]).includes(algo);
}

/** predictionWorkloadSchema says what the prediction assumes of the workload and the protocol's batching. */
export const predictionWorkloadSchema = z
  .object({
    /** readShare is the share of operations that are reads (KV get); the rest write. */
    readShare: z.number().min(0).max(1).default(0),
    /** batchOps is how many operations share one round of agreement (a Raft append, a Multi-Paxos slot, a PBFT pre-prepare, a ReadIndex round): 1 without batching. */
    batchOps: z.number().min(1).default(1),
    /** freshKeyShare (Paxos only) is the share of operations on a key with no chosen value yet: only those run consensus. */
    freshKeyShare: z.number().min(0).max(1).default(1),
    /** checkpointIntervalSeqs (PBFT only) is K: every replica broadcasts a checkpoint every K sequence numbers. */
    checkpointIntervalSeqs: z.number().int().min(1).default(16),
  })
  .strict();

/** PredictionWorkload is a validated prediction workload. */
export type PredictionWorkload = z.output<typeof predictionWorkloadSchema>;
/** PredictionWorkloadInput is a prediction workload before defaults. */
export type PredictionWorkloadInput = z.input<typeof predictionWorkloadSchema>;

/** predictedMessageSchema is one message type's predicted count per completed operation, with its formula. */
export const predictedMessageSchema = z
  .object({
    type: z.string().min(1),
    perOp: z.number().min(0),
    /** formula in n (replicas), b (batchOps), r (readShare, w = 1 - r), s (freshKeyShare), K (checkpointIntervalSeqs). */
    formula: z.string().min(1),
  })
  .strict();

/** bottleneckWorkSchema is the work the busiest replica (leader, primary) does per completed operation: what the CPU cost model charges. */
export const bottleneckWorkSchema = z
  .object({
    /** replica says which replica is the busiest, and why. */
    replica: z.string().min(1),
    /** receivedMessages the simulator charges perMessageUs (and perKilobyteUs by size) for; sending is free in its model. */
    receivedMessages: z.number().min(0),
    macs: z.number().min(0),
    digests: z.number().min(0),
    signatures: z.number().min(0),
    verifications: z.number().min(0),
  })
  .strict();

/** predictionSchema is the analytic prediction for one protocol at one cluster size and workload. */
export const predictionSchema = z
  .object({
    algo: z.string().min(1),
    nodes: z.number().int().min(1),
    workload: predictionWorkloadSchema,
    messagesPerOp: z.number().min(0),
    /** formula is messagesPerOp's formula. */
    formula: z.string().min(1),
    byType: z.array(predictedMessageSchema),
    /**
     * latencyOneWayDelays counts the one-way network delays on an operation's critical path (no queueing, no CPU):
     * for a write and a read (Paxos: averaged over fresh and chosen keys), their mean over the workload, and the
     * median (the delays of the operation in the middle), which is what a run's p50 is compared with.
     */
    latencyOneWayDelays: z.object({ write: z.number().min(0), read: z.number().min(0), mean: z.number().min(0), median: z.number().min(0) }).strict(),
    /**
     * latencyClasses split the operations by critical path: their share, one-way delays, and the disk syncs on the
     * path (records a replica must sync before it answers or sends on: instant in the steady scenario, drawn from
     * the seed in the others), so that a latency can be predicted for any link delay and sync time.
     */
    latencyClasses: z.array(z.object({ kind: z.string(), share: z.number().min(0).max(1), delays: z.number().min(0), syncs: z.number().min(0) }).strict()),
    bottleneck: bottleneckWorkSchema,
    /** assumptions say what the formulas take for granted, and where the protocol or the simulator may differ. */
    assumptions: z.array(z.string().min(1)),
  })
  .strict();

/** PredictedMessage is one message type's predicted count per operation. */
export type PredictedMessage = z.output<typeof predictedMessageSchema>;
/** BottleneckWork is the busiest replica's work per operation. */
export type BottleneckWork = z.output<typeof bottleneckWorkSchema>;
/** Prediction is one protocol's analytic prediction. */
export type Prediction = z.output<typeof predictionSchema>;

/** commonAssumptions hold for every protocol. */
const commonAssumptions = [
  "normal case: a stable leader or primary known to every client, no faults, no retransmissions, no client retries",
  "per completed operation, amortised: a round of agreement shared by b operations costs 1/b of its messages each",
  "tick-driven traffic (heartbeats of an idle leader, status messages) and a client's first redirect to the leader are not per-operation costs and are left out",
];

/** LatencyClass is a kind of operation with its share of the workload, its one-way delays and the disk syncs on its path. */
interface LatencyClass {
  readonly kind: string;
  readonly share: number;
  readonly delays: number;
  readonly syncs: number;
}

interface Shape {
  readonly byType: PredictedMessage[];
  readonly formula: string;
  readonly write: number;
  readonly read: number;
  /** writeSyncs and readSyncs are the disk syncs on a write's and a read's critical path. */
  readonly writeSyncs: number;
  readonly readSyncs: number;
  /** classes are the operations' latency classes, when more than a write and a read (Paxos's fresh and chosen keys). */
  readonly classes?: readonly LatencyClass[];
  readonly bottleneck: BottleneckWork;
  readonly assumptions: string[];
}

function type(name: string, perOp: number, formula: string): PredictedMessage {
  return { type: name, perOp, formula };
}

function soloShape(): Shape {
  return {
    byType: [type("clientRequest", 1, "1"), type("clientReply", 1, "1")],
    formula: "2",
    write: 2,
    read: 2,
    writeSyncs: 1,
    readSyncs: 0,
    bottleneck: { replica: "the only replica", receivedMessages: 1, macs: 0, digests: 0, signatures: 0, verifications: 0 },
    assumptions: ["one replica applies and answers every request itself"],
  };
}

function raftShape(n: number, w: PredictionWorkload): Shape {
  const { readShare: r, batchOps: b } = w;
  const peers = n - 1;
  return {
    byType: [
      type("clientRequest", 1, "1"),
      type("appendEntries", ((1 - r) * peers) / b, "w(n-1)/b"),
      type("appendResponse", ((1 - r) * peers) / b, "w(n-1)/b"),
      type("heartbeat", (r * peers) / b, "r(n-1)/b"),
      type("heartbeatResponse", (r * peers) / b, "r(n-1)/b"),
      type("clientReply", 1, "1"),
    ],
    formula: "2 + 2(n-1)/b",
    write: 4,
    read: 4,
    // The leader sends its appends before its own sync completes (etcd-raft's order), so only the followers' sync is on the path.
    writeSyncs: 1,
    readSyncs: 0,
    bottleneck: { replica: "the leader: every request and every follower's answer", receivedMessages: 1 + peers / b, macs: 0, digests: 0, signatures: 0, verifications: 0 },
    assumptions: [
      "writes: the leader appends and sends one AppendEntries per follower per batch; the new commit index rides on the next append or heartbeat, never a message of its own (Raft §5.3)",
      "reads: ReadIndex (thesis §6.4): one heartbeat round per batch of reads confirms leadership, no log entry; lease reads (option leaseReads) would cost 2 messages and 2 delays",
      "latency: client -> leader -> followers -> leader -> client, with disk syncs instant; a sync adds its time once on the leader and once on the followers",
    ],
  };
}

function multipaxosShape(n: number, w: PredictionWorkload): Shape {
  const peers = n - 1;
  const b = w.batchOps;
  return {
    byType: [type("clientRequest", 1, "1"), type("accept", peers / b, "(n-1)/b"), type("accepted", peers / b, "(n-1)/b"), type("clientReply", 1, "1")],
    formula: "2 + 2(n-1)/b",
    write: 4,
    read: 4,
    // The leader syncs its own acceptance before it sends the Accepts, then each acceptor syncs before it answers.
    writeSyncs: 2,
    readSyncs: 2,
    bottleneck: { replica: "the leader: every request and every acceptor's Accepted", receivedMessages: 1 + peers / b, macs: 0, digests: 0, signatures: 0, verifications: 0 },
    assumptions: [
      "a stable leader skips phase 1 (Multi-Paxos): one Accept per acceptor per slot, a slot carrying a batch of b commands",
      "reads go through the log like writes (leaseTicks = 0, the default): the read share changes nothing",
      "the chosen watermark rides on the next Accept or heartbeat; no separate Chosen message in the normal case",
    ],
  };
}

function vrShape(n: number, w: PredictionWorkload): Shape {
  const peers = n - 1;
  const b = w.batchOps;
  return {
    byType: [type("clientRequest", 1, "1"), type("prepare", peers / b, "(n-1)/b"), type("prepareOk", peers / b, "(n-1)/b"), type("clientReply", 1, "1")],
    formula: "2 + 2(n-1)/b",
    write: 4,
    read: 4,
    // The primary sends its Prepares before its own copy is synced and counts that copy once it is: the backups' sync
    // before their PrepareOk is the one on the path (persisting mode, the default; memory mode writes nothing).
    writeSyncs: 1,
    readSyncs: 1,
    bottleneck: { replica: "the primary: every request and every backup's PrepareOk", receivedMessages: 1 + peers / b, macs: 0, digests: 0, signatures: 0, verifications: 0 },
    assumptions: [
      "VR Revisited §4.1: one Prepare per backup per op, an op carrying a batch of b requests, and one PrepareOk back; the commit-number rides on the next Prepare, a Commit goes out only when the primary is idle",
      "reads go through the log like writes (the paper's reads; no leases): the read share changes nothing, except stale reads, which any replica answers at once",
      "latency: client -> primary -> backups -> primary -> client; the primary commits after f PrepareOks and its own synced copy",
    ],
  };
}

function pbftShape(n: number, w: PredictionWorkload): Shape {
  const { readShare: r, batchOps: b, checkpointIntervalSeqs: k } = w;
  const wr = 1 - r;
  const peers = n - 1;
  return {
    byType: [
      type("request", wr + r * n, "w + r n"),
      type("prePrepare", (wr * peers) / b, "w(n-1)/b"),
      type("prepare", (wr * peers * peers) / b, "w(n-1)^2/b"),
      type("commit", (wr * n * peers) / b, "w n(n-1)/b"),
      type("checkpoint", (wr * n * peers) / (k * b), "w n(n-1)/(K b)"),
      type("reply", n, "n"),
    ],
    formula: "w(1 + (2n^2 - 2n + n(n-1)/K)/b) + r n + n; at r = 0, b = 1, K = infinity: 2n^2 - n + 1",
    write: 5,
    read: 2,
    // The pre-prepare, the prepare, the commit and the execution are each logged before the next step goes out.
    writeSyncs: 4,
    readSyncs: 0,
    bottleneck: {
      replica: "the primary: the requests and every backup's prepare, commit and checkpoint",
      receivedMessages: wr * (1 + (2 * peers + peers / k) / b) + r,
      // Per write: the request's MAC checked, the reply's MAC made; per batch: the pre-prepare's authenticator (n-1 MACs),
      // n-1 prepares and n-1 commits checked, its own commit's authenticator; per checkpoint one authenticator made, n-1 checked.
      macs: 2 + (wr * (4 * peers + (2 * peers) / k)) / b,
      digests: (wr * (1 + 1 / k)) / b,
      signatures: 0,
      verifications: 0,
    },
    assumptions: [
      "writes run the three phases of PBFT §4.2: the request to the primary, a pre-prepare per batch to the n-1 backups, each backup's prepare to the other n-1 replicas, each replica's commit to the other n-1",
      "every replica replies to the client, which waits for f+1 matching replies (all n replies are sent and counted)",
      "reads use the read-only optimisation (PBFT §5.1.3, on by default): the client sends the request to all n replicas and takes 2f+1 matching replies; latency 2 delays",
      "checkpoints: every replica broadcasts one every K sequence numbers (a batch takes one); authentication by MACs (authenticators, the default), no signatures in the normal case",
      "latency: request, pre-prepare, prepare, commit, reply: 5 delays",
    ],
  };
}

function paxosShape(n: number, w: PredictionWorkload): Shape {
  const { readShare: r, freshKeyShare: s } = w;
  const wr = 1 - r;
  const peers = n - 1;
  const atProposer = 1 + s * peers * (1 + wr);
  const asAcceptor = s * (1 + 2 * wr);
  return {
    byType: [
      type("clientRequest", 1, "1"),
      type("prepare", s * peers, "s(n-1)"),
      type("promise", s * peers, "s(n-1)"),
      type("accept", s * wr * peers, "s w(n-1)"),
      type("accepted", s * wr * peers, "s w(n-1)"),
      type("chosen", s * wr * peers, "s w(n-1)"),
      type("clientReply", 1, "1"),
    ],
    formula: "2 + s(n-1)(2 + 3w)",
    write: s * 6 + (1 - s) * 2,
    read: s * 4 + (1 - s) * 2,
    writeSyncs: s * 4,
    readSyncs: s * 2,
    // The proposer and the acceptors sync each promise and each acceptance before they send on.
    classes: [
      { kind: "write of a fresh key", delays: 6, syncs: 4, share: s * wr },
      { kind: "read of a fresh key", delays: 4, syncs: 2, share: s * r },
      { kind: "operation on a chosen key", delays: 2, syncs: 0, share: 1 - s },
    ],
    bottleneck: {
      replica: "any replica (no leader): with clients spread evenly, 1/n of the operations as proposer and (n-1)/n as acceptor",
      receivedMessages: (atProposer + peers * asAcceptor) / n,
      macs: 0,
      digests: 0,
      signatures: 0,
      verifications: 0,
    },
    assumptions: [
      "single-decree Paxos per key (a write-once register): the replica a client asks proposes; only an operation on a key with no chosen value yet (share s) runs a ballot",
      "a put on a fresh key runs phase 1 (prepare, promise) and phase 2 (accept, accepted), then the proposer tells the other learners (chosen): 6 delays; a get on a fresh key runs phase 1 only and answers no value: 4 delays",
      "an operation on a key already chosen is answered by the replica from its learned value: 2 messages, 2 delays",
      "no duelling proposers: two clients racing on one fresh key cost a second ballot (not modelled)",
    ],
  };
}

/** medianOf is the value of the operation in the middle when the classes' operations are sorted by `value`. */
function medianOf<C extends { readonly share: number }>(classes: readonly C[], value: (c: C) => number): number {
  const sorted = classes.filter((c) => c.share > 0).sort((a, b) => value(a) - value(b));
  let below = 0;
  for (const c of sorted) {
    below += c.share;
    // The nearest-rank median, as the simulator's summarize takes its p50: the first class that reaches half.
    if (below >= 0.5 - 1e-9) return value(c);
  }
  const last = sorted[sorted.length - 1];
  return last === undefined ? 0 : value(last);
}

/** ChargedCpu is the CPU cost model a run charged, and the mean size of its messages (for perKilobyteUs). */
export interface ChargedCpu {
  readonly model: CpuModel;
  readonly bytesPerMessage: number;
}

/** chargedCpuOf is the CPU a simulated run charged, as the predictions take it: its scenario's model (the calibrated default unless the run or the scenario set another), at the run's mean message size. */
export function chargedCpuOf(result: { readonly scenarioDefinition: { readonly cpu: CpuModel }; readonly messages: { readonly total: number }; readonly bytes: { readonly total: number } }): ChargedCpu {
  return { model: result.scenarioDefinition.cpu, bytesPerMessage: result.messages.total > 0 ? result.bytes.total / result.messages.total : 0 };
}

/**
 * predictedLatencyMs is the predicted median latency of an unloaded operation:
 * each class's one-way delays times `oneWayDelayMs` plus its syncs times
 * `syncMs` plus, when `cpu` is given, the CPU service times on its critical
 * path (predict-cpu.ts), the median over the classes' shares. Queueing is left out.
 */
export function predictedLatencyMs(prediction: Prediction, oneWayDelayMs: number, syncMs: number, cpu?: ChargedCpu): number {
  return medianOf(prediction.latencyClasses, (c) => c.delays * oneWayDelayMs + c.syncs * syncMs + classCpuMs(prediction, c.kind, cpu));
}

/** classCpuMs is the CPU on the critical path of one latency class under `cpu` (0 without one, or for a class with no count). */
function classCpuMs(prediction: Prediction, kind: string, cpu: ChargedCpu | undefined): number {
  const work = cpu === undefined ? undefined : criticalPathWork(prediction.algo, prediction.nodes, kind);
  return work === undefined || cpu === undefined ? 0 : criticalPathCpuMs(work, cpu.model, cpu.bytesPerMessage);
}

/**
 * predict gives the analytic normal-case prediction for `algo` on `nodes`
 * replicas under `workload` (reads share, batch size, Paxos's fresh-key
 * share, PBFT's checkpoint interval): messages per completed operation by
 * type, latency in one-way delays, and the busiest replica's work per
 * operation. It throws for a protocol it has no formula for.
 */
export function predict(algo: string, nodes: number, workload: PredictionWorkloadInput = {}): Prediction {
  const w = predictionWorkloadSchema.parse(workload);
  if (!Number.isInteger(nodes) || nodes < 1) throw new Error(`predict: nodes must be a positive integer (got ${nodes})`);
  let shape: Shape;
  switch (algo) {
    case "solo":
      shape = soloShape();
      break;
    case "raft":
      shape = raftShape(nodes, w);
      break;
    case "multipaxos":
      shape = multipaxosShape(nodes, w);
      break;
    case "pbft":
      shape = pbftShape(nodes, w);
      break;
    case "paxos":
      shape = paxosShape(nodes, w);
      break;
    case "vr":
      shape = vrShape(nodes, w);
      break;
    default:
      throw new Error(`predict: no prediction for "${algo}"; predicted: ${predictedAlgorithms.join(", ")}`);
  }
  const byType = shape.byType.filter((message) => message.perOp > 0);
  const classes = shape.classes ?? [
    { kind: "write", delays: shape.write, syncs: shape.writeSyncs, share: 1 - w.readShare },
    { kind: "read", delays: shape.read, syncs: shape.readSyncs, share: w.readShare },
  ];
  return {
    algo,
    nodes,
    workload: w,
    messagesPerOp: byType.reduce((sum, message) => sum + message.perOp, 0),
    formula: shape.formula,
    byType,
    latencyOneWayDelays: { write: shape.write, read: shape.read, mean: classes.reduce((sum, c) => sum + c.delays * c.share, 0), median: medianOf(classes, (c) => c.delays) },
    latencyClasses: classes.filter((c) => c.share > 0),
    bottleneck: shape.bottleneck,
    assumptions: [...commonAssumptions, ...shape.assumptions],
  };
}

/**
 * batchTypes are, per protocol, the message types sent once per round of
 * agreement and how many of them a round sends: what {@link inferBatchOps}
 * divides by.
 */
const batchTypes: Readonly<Record<string, { readonly types: readonly string[]; readonly perRound: (n: number) => number }>> = {
  raft: { types: ["appendEntries", "heartbeat"], perRound: (n) => n - 1 },
  multipaxos: { types: ["accept"], perRound: (n) => n - 1 },
  vr: { types: ["prepare"], perRound: (n) => n - 1 },
  pbft: { types: ["prePrepare"], perRound: (n) => n - 1 },
};

/**
 * inferBatchOps estimates the mean batch a run formed: its completed ordered
 * operations over its rounds of agreement (a round's messages counted in
 * `byType`, over how many a round sends). Tick-driven heartbeats count as
 * rounds too, so it is a lower bound; 1 for a protocol that does not batch.
 */
export function inferBatchOps(algo: string, nodes: number, byType: Readonly<Record<string, number>>, orderedOps: number): number {
  const shape = batchTypes[algo];
  if (shape === undefined || nodes < 2) return 1;
  const rounds = shape.types.reduce((sum, name) => sum + (byType[name] ?? 0), 0) / shape.perRound(nodes);
  return rounds > 0 ? Math.max(1, orderedOps / rounds) : 1;
}

/** expectedFreshKeyShare is the share of `ops` operations that find their key unchosen, for `writes` of them writes over `keys` uniformly drawn keys (Paxos's s). */
export function expectedFreshKeyShare(ops: number, keys: number, writeShare: number): number {
  if (ops <= 0) return 0;
  // Each write chooses its key if no earlier write did: the expected number of distinct keys written.
  const writes = ops * writeShare;
  const chosen = keys * (1 - (1 - 1 / keys) ** writes);
  // Reads before a key's first write are fresh too; that share is small for more operations than keys and is left out.
  return Math.min(1, chosen / ops);
}

/** ratioSchema is a measured figure beside its prediction and their ratio (null when the prediction is zero). */
export const ratioSchema = z.object({ measured: z.number(), predicted: z.number(), ratio: z.number().nullable() }).strict();

/** predictionComparisonSchema is a run's figures beside their predictions: messages per operation in all and by type, and latency. */
export const predictionComparisonSchema = z
  .object({
    prediction: predictionSchema,
    messagesPerOp: ratioSchema,
    byType: z.array(ratioSchema.extend({ type: z.string() })),
    /** latencyP50Ms: the measured median latency beside the predicted median (delays x the one-way delay + syncs x the sync time + the CPU on the critical path). */
    latencyP50Ms: ratioSchema,
    /** cpuOnPathMs is the CPU service time the predicted median holds (predict-cpu.ts): 0 when the run charged no CPU. */
    cpuOnPathMs: z.number().min(0),
  })
  .strict();

/** Ratio is a measured figure beside its prediction. */
export type Ratio = z.output<typeof ratioSchema>;
/** PredictionComparison is a run's figures beside their predictions. */
export type PredictionComparison = z.output<typeof predictionComparisonSchema>;

/** MeasuredFigures are what {@link comparePrediction} needs of a run: a SimulationReport has them all (see {@link measuredFigures}). */
export interface MeasuredFigures {
  /** completedOps are the operations the messages are divided by: the workload's completed ones and the final reads. */
  readonly completedOps: number;
  readonly messagesByType: Readonly<Record<string, number>>;
  readonly latencyP50Ms: number;
}

/** RunFigures is the part of a SimulationReport (lab's `simulate`) that {@link measuredFigures} reads. */
export interface RunFigures {
  readonly ops: { readonly completed: number };
  readonly finalReads: { readonly completed: number };
  readonly messages: { readonly byType: Readonly<Record<string, number>> };
  readonly latencyMs: { readonly p50: number };
}

/** measuredFigures takes a run report's figures for {@link comparePrediction}. */
export function measuredFigures(report: RunFigures): MeasuredFigures {
  return { completedOps: report.ops.completed + report.finalReads.completed, messagesByType: report.messages.byType, latencyP50Ms: report.latencyMs.p50 };
}

function ratio(measured: number, predicted: number): Ratio {
  const round = (value: number): number => Math.round(value * 1000) / 1000;
  return { measured: round(measured), predicted: round(predicted), ratio: predicted > 0 ? round(measured / predicted) : null };
}

/**
 * comparePrediction sets a run's measured figures beside `prediction`: messages
 * per completed operation (in all, and for every type either side has), and
 * the median latency beside the predicted median of one-way delays times
 * `oneWayDelayMs` (1 ms in every built-in scenario) plus syncs times `syncMs`
 * (0 in `steady`; the others draw it from the seed: a SimulationResult's
 * scenarioDefinition.disk.syncMs), each with the ratio
 * measured / predicted.
 */
export function comparePrediction(
  prediction: Prediction,
  measured: MeasuredFigures,
  timing: { readonly oneWayDelayMs?: number; readonly syncMs?: number; readonly cpu?: ChargedCpu } = {},
): PredictionComparison {
  const ops = Math.max(1, measured.completedOps);
  const types = [...new Set([...prediction.byType.map((message) => message.type), ...Object.keys(measured.messagesByType)])].sort();
  const total = Object.values(measured.messagesByType).reduce((sum, count) => sum + count, 0);
  const oneWayDelayMs = timing.oneWayDelayMs ?? 1;
  const syncMs = timing.syncMs ?? 0;
  const predicted = predictedLatencyMs(prediction, oneWayDelayMs, syncMs, timing.cpu);
  return {
    prediction,
    messagesPerOp: ratio(total / ops, prediction.messagesPerOp),
    byType: types.map((name) => ({ type: name, ...ratio((measured.messagesByType[name] ?? 0) / ops, prediction.byType.find((message) => message.type === name)?.perOp ?? 0) })),
    latencyP50Ms: ratio(measured.latencyP50Ms, predicted),
    cpuOnPathMs: Math.round(Math.max(0, predicted - predictedLatencyMs(prediction, oneWayDelayMs, syncMs)) * 1e6) / 1e6,
  };
}

/** defaultReadShare is the built-in scenarios' share of reads: the default mix's get weight, 40 of 100. */
export const defaultReadShare = 0.4;

/**
 * predictRun predicts a matrix run and compares: at the run's own mean batch
 * (inferred from its messages, so that the per-operation messages are the
 * check), the given read share (the default mix's 0.4 unless told), and for
 * Paxos the fresh-key share expected of the default workload (8 keys); pass
 * the run's `syncMs` for its latency, and the `cpu` it charged (its model and mean message size). The p50 of a mix whose read share is near
 * one half flips between the read and the write class (PBFT: 2 or 5 delays).
 * Returns undefined for an algorithm with no prediction.
 */
export function predictRun(
  report: RunFigures & { readonly algo: string; readonly nodes: number },
  context: { readonly readShare?: number; readonly keys?: number; readonly oneWayDelayMs?: number; readonly syncMs?: number; readonly cpu?: ChargedCpu } = {},
): PredictionComparison | undefined {
  if (!isPredicted(report.algo)) return undefined;
  const figures = measuredFigures(report);
  const readShare = context.readShare ?? defaultReadShare;
  // Multi-Paxos orders reads too; PBFT orders only writes (reads are unordered); Raft's rounds count reads and writes alike.
  const ordered = report.algo === "pbft" ? figures.completedOps * (1 - readShare) : figures.completedOps;
  const workload: PredictionWorkloadInput = {
    readShare,
    batchOps: inferBatchOps(report.algo, report.nodes, figures.messagesByType, ordered),
    ...(report.algo === "paxos" ? { freshKeyShare: expectedFreshKeyShare(figures.completedOps, context.keys ?? 8, 1 - readShare) } : {}),
  };
  return comparePrediction(predict(report.algo, report.nodes, workload), figures, { oneWayDelayMs: context.oneWayDelayMs ?? 1, syncMs: context.syncMs ?? 0, ...(context.cpu !== undefined ? { cpu: context.cpu } : {}) });
}
