import { z } from "zod";
import type { AlgorithmDefinition, ClientContext, ReplicaContext } from "../algorithm.ts";
import { parseConfig } from "../config.ts";
import { LeaderClient } from "../leader-client.ts";
import type { NodeId } from "../ids.ts";
import type { InvariantMonitor } from "../monitor.ts";
import type { Outbound, Ready, Replica, ReplicaStatus } from "../replica.ts";
import { SessionStateMachine } from "../sessions.ts";
import { CorruptionError, assert } from "../errors.ts";
import { RejectionCounter, type Rejections } from "../rejection-counter.ts";
import type { ClientRequestMessage } from "../client-wire.ts";
import { soloCodec, type SoloMessage } from "./messages.ts";

/** soloOptionsSchema validates solo's options. */
export const soloOptionsSchema = z
  .object({
    /** snapshotEveryEntries: compact the log into a snapshot after this many logged requests. */
    snapshotEveryEntries: z.number().int().min(1).default(10_000),
    /** clientRetryTicks / clientGiveUpTicks: the client's patience, in ticks. */
    clientRetryTicks: z.number().int().min(1).default(20),
    clientGiveUpTicks: z.number().int().min(1).default(200),
  })
  .strict()
  .refine((options) => options.clientGiveUpTicks >= options.clientRetryTicks, {
    message: "clientGiveUpTicks must be at least clientRetryTicks",
    path: ["clientGiveUpTicks"],
  });

/** unstableRequestsMax bounds the requests waiting for their sync; past it, requests are dropped and clients retry. */
const unstableRequestsMax = 10_000;

/** SoloRejectionReason names why the solo replica refused a message: a reply sent to it, or a request sent by another node than its client. */
export type SoloRejectionReason = "replyToReplica" | "requestNotFromClient";

/** SoloOptions are solo's validated options. */
export type SoloOptions = z.output<typeof soloOptionsSchema>;

/**
 * SoloReplica is the unreplicated baseline: one server that logs each write
 * durably, applies it and replies. It tolerates no faults and shows the floor
 * for latency and the ceiling for throughput beside the real algorithms.
 */
export class SoloReplica implements Replica<SoloMessage> {
  readonly id: NodeId;
  private readonly sessions: SessionStateMachine;
  private readonly options: SoloOptions;
  private applied = 0;
  private loggedSinceSnapshot = 0;
  private persist: Uint8Array[] = [];
  private outbox: Outbound<SoloMessage>[] = [];
  private pendingSnapshot: Uint8Array | undefined;
  /** unstable holds requests whose records are in `persist` but not yet synced, in log order. */
  private unstable: ClientRequestMessage[] = [];
  private readonly rejected = new RejectionCounter<SoloRejectionReason>();

  constructor(context: ReplicaContext) {
    assert(context.replicas.length === 1 && context.replicas[0] === context.id, "solo runs on exactly one replica");
    this.id = context.id;
    this.options = parseConfig(soloOptionsSchema, context.options, "solo");
    this.sessions = new SessionStateMachine(context.stateMachine);
    this.recover(context.durable.snapshot, context.durable.records);
  }

  tick(): void {}

  step(from: NodeId, message: SoloMessage): void {
    if (message.type !== "clientRequest") {
      this.rejected.count("replyToReplica");
      return;
    }
    if (message.clientId !== from) {
      this.rejected.count("requestNotFromClient"); // a request must come from its own client
      return;
    }
    if (message.readOnly) {
      // Reads see only applied state, and a request is applied only once its record is synced,
      // so no read can observe a write that a crash could still take back.
      this.reply(message, this.sessions.query(message.command));
      return;
    }
    if (this.unstable.length >= unstableRequestsMax) return; // overloaded: the client will retry
    this.unstable.push(message);
    this.persist.push(soloCodec.encode(message));
  }

  ready(): Ready<SoloMessage> | undefined {
    if (this.persist.length === 0 && this.outbox.length === 0 && this.pendingSnapshot === undefined) return undefined;
    // Hand the buffers over; advance() learns from them what was done.
    const ready: Ready<SoloMessage> = { snapshot: this.pendingSnapshot, persist: this.persist, messages: this.outbox };
    this.persist = [];
    this.outbox = [];
    this.pendingSnapshot = undefined;
    return ready;
  }

  advance(done: Ready<SoloMessage>): void {
    // done.persist is synced: those requests may now take effect and be answered, in log order.
    const synced = this.unstable.splice(0, done.persist.length);
    for (const request of synced) this.applyRequest(request);
    // Compact only between Readies: the snapshot must cover every record it discards.
    if (this.loggedSinceSnapshot >= this.options.snapshotEveryEntries) this.compact();
  }

  private applyRequest(request: ClientRequestMessage): void {
    const execution = this.sessions.execute(request);
    if (execution.kind === "stale") return;
    if (execution.kind === "applied") {
      this.applied++;
      this.loggedSinceSnapshot++;
    }
    this.reply(request, execution.result);
  }

  /** rejections counts the messages this replica refused unapplied, by reason. */
  rejections(): Rejections<SoloRejectionReason> {
    return this.rejected;
  }

  status(): ReplicaStatus {
    return { id: this.id, role: "leader", epoch: 1, leader: this.id, commitIndex: this.applied, appliedIndex: this.applied };
  }

  private reply(request: ClientRequestMessage, result: Uint8Array): void {
    this.outbox.push({ to: request.clientId, message: { type: "clientReply", session: request.session, sequence: request.sequence, result } });
  }

  private compact(): void {
    // The snapshot covers every applied request; requests still unstable are re-persisted after it.
    this.pendingSnapshot = encodeSnapshot(this.applied, this.sessions.snapshot());
    this.persist = this.unstable.map((request) => soloCodec.encode(request));
    this.loggedSinceSnapshot = 0;
  }

  private recover(snapshot: Uint8Array | undefined, records: readonly Uint8Array[]): void {
    if (snapshot !== undefined) {
      const decoded = decodeSnapshot(snapshot);
      this.sessions.restore(decoded.state);
      this.applied = decoded.applied;
    }
    for (const record of records) {
      const message = soloCodec.decode(record);
      assert(message.type === "clientRequest", "solo log holds only requests");
      // Count as advance() does: the log also holds retries and stale requests, which apply nothing.
      if (this.sessions.execute(message).kind !== "applied") continue;
      this.applied++;
      this.loggedSinceSnapshot++;
    }
  }
}

function encodeSnapshot(applied: number, state: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(8 + state.length);
  new DataView(bytes.buffer).setFloat64(0, applied, true);
  bytes.set(state, 8);
  return bytes;
}

function decodeSnapshot(bytes: Uint8Array): { applied: number; state: Uint8Array } {
  if (bytes.length < 8) throw new CorruptionError(`solo snapshot: ${bytes.length} bytes, shorter than its 8-byte header`);
  const applied = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getFloat64(0, true);
  return { applied, state: bytes.subarray(8) };
}

/** SoloClient is solo's client: the shared leader-based client, with one replica to send to and solo's patience. */
export class SoloClient extends LeaderClient<SoloMessage> {
  constructor(context: ClientContext) {
    const options = parseConfig(soloOptionsSchema, context.options, "solo");
    super(context, { retryTicks: options.clientRetryTicks, giveUpTicks: options.clientGiveUpTicks });
  }
}

/** createSoloClient builds a {@link SoloClient}. */
export function createSoloClient(context: ClientContext): SoloClient {
  return new SoloClient(context);
}

/**
 * createSoloMonitors returns solo's safety monitors for one run: none, since a
 * single replica has no peer to disagree with (its log is the order), and the
 * history's linearizability check covers what it answers.
 */
export function createSoloMonitors(): InvariantMonitor<SoloMessage>[] {
  return [];
}

/** solo is the unreplicated baseline's {@link AlgorithmDefinition}. */
export const solo: AlgorithmDefinition<SoloMessage> = {
  name: "solo",
  description: "Unreplicated single server: the latency floor and throughput ceiling (tolerates no faults).",
  faultModel: "crash",
  codec: soloCodec,
  clusterSizeError: (n) => (n === 1 ? undefined : `solo runs on exactly 1 node, not ${n}`),
  replicasToTolerate: (f) => (f === 0 ? 1 : Number.NaN),
  faultsTolerated: () => 0,
  createReplica: (context) => new SoloReplica(context),
  createClient: (context) => createSoloClient(context),
  createMonitors: () => createSoloMonitors(),
  byzantineStrategies: [],
  analyticMessagesPerOp: () => 2,
  oneWayDelaysPerOp: 2,
};
