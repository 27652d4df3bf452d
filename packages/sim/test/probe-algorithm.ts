import {
  type AlgorithmDefinition,
  AssertionError,
  type ClientRequest,
  type ClientRequestMessage,
  type ClientWireMessage,
  type Crypto,
  type InvariantMonitor,
  type InvariantViolation,
  LeaderClient,
  type MessageCodec,
  type MonitorEventContext,
  type NodeId,
  type Outbound,
  type Ready,
  type Replica,
  type ReplicaContext,
  type ReplicaStatus,
  SessionStateMachine,
} from "@concord/core";
import { encodeCommand } from "@concord/kv";

/**
 * ProbeMessage is the wire vocabulary of the probe algorithm: pings between
 * replicas (to observe the network), core's client wire, and primary-backup
 * replication.
 */
export type ProbeMessage =
  | { readonly type: "ping"; readonly id: number; readonly sentTick: number }
  | ClientWireMessage
  | { readonly type: "replicate"; readonly index: number; readonly clientId: number; readonly session: number; readonly sequence: number; readonly command: Uint8Array };

/** ProbeOptions switch the probe's behaviours on. */
export interface ProbeOptions {
  /** pingEveryTicks: every replica pings every other replica this often (0: never). */
  readonly pingEveryTicks?: number;
  /** persistPings: each ping round also persists a record, so that syncs (and in-flight Readies) are frequent. */
  readonly persistPings?: boolean;
  /** divergent: backups apply a command of their own instead of the primary's (breaks the applied-prefix invariant). */
  readonly divergent?: boolean;
  /** signsPerRequest / macsPerRequest: crypto work the primary does on each request it receives. */
  readonly signsPerRequest?: number;
  readonly macsPerRequest?: number;
}

/** Receipt is one ping a replica received. */
export interface Receipt {
  readonly to: NodeId;
  readonly from: NodeId;
  readonly id: number;
  readonly sentTick: number;
  readonly receivedTick: number;
  /** message is the object the replica was handed. */
  readonly message: object;
}

/** Send is one replica message the probe monitor saw leave. */
export interface Send {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly type: ProbeMessage["type"];
  readonly id: number;
  readonly timeUs: number;
  readonly faulty: boolean;
}

/** ProbeLog collects what every replica and the monitor observed during one run. */
export class ProbeLog {
  readonly receipts: Receipt[] = [];
  readonly sends: Send[] = [];
  replicaObservations = 0;
  faultyReplicaObservations = 0;
  replicasCreated = 0;
}

const primary = 1;

/**
 * ProbeReplica is a small honest primary-backup replica for the simulator's
 * own tests: replica 1 logs each write, applies it once synced, answers and
 * forwards it to the backups, which apply in index order. It also pings its
 * peers every few ticks, and it asserts the Ready contract: no method may be
 * called between `ready()` and `advance()`.
 */
class ProbeReplica implements Replica<ProbeMessage> {
  readonly id: NodeId;
  private readonly peers: readonly NodeId[];
  private readonly sessions: SessionStateMachine;
  private readonly crypto: Crypto;
  private ticks = 0;
  private nextPingId = 1;
  private persist: Uint8Array[] = [];
  private outbox: Outbound<ProbeMessage>[] = [];
  private unstable: ClientRequest[] = [];
  private handedOut: ClientRequest[] | undefined;
  private logIndex = 0;
  private applied = 0;
  private readonly early = new Map<number, ProbeMessage & { type: "replicate" }>();

  constructor(
    context: ReplicaContext,
    private readonly options: ProbeOptions,
    private readonly log: ProbeLog,
  ) {
    this.id = context.id;
    this.peers = context.replicas.filter((id) => id !== context.id);
    this.sessions = new SessionStateMachine(context.stateMachine);
    this.crypto = context.crypto;
    for (const record of context.durable.records) {
      const message = probeCodec.decode(record);
      if (message.type === "clientRequest") this.execute(message);
    }
    log.replicasCreated++;
  }

  tick(): void {
    this.guard("tick");
    this.ticks++;
    const every = this.options.pingEveryTicks ?? 0;
    if (every === 0 || this.ticks % every !== 0) return;
    for (const peer of this.peers) this.outbox.push({ to: peer, message: { type: "ping", id: this.nextPingId++, sentTick: this.ticks } });
    if (this.options.persistPings === true) this.persist.push(probeCodec.encode({ type: "ping", id: 0, sentTick: this.ticks }));
  }

  step(from: NodeId, message: ProbeMessage): void {
    this.guard("step");
    switch (message.type) {
      case "ping":
        this.log.receipts.push({ to: this.id, from, id: message.id, sentTick: message.sentTick, receivedTick: this.ticks, message });
        return;
      case "clientRequest":
        this.request(message);
        return;
      case "replicate":
        this.early.set(message.index, message);
        this.applyInOrder();
        return;
      case "clientReply":
      case "notLeader":
        return;
    }
  }

  ready(): Ready<ProbeMessage> | undefined {
    this.guard("ready");
    if (this.persist.length === 0 && this.outbox.length === 0) return undefined;
    const ready: Ready<ProbeMessage> = { snapshot: undefined, persist: this.persist, messages: this.outbox };
    this.persist = [];
    this.outbox = [];
    this.handedOut = this.unstable;
    this.unstable = [];
    return ready;
  }

  advance(_done: Ready<ProbeMessage>): void {
    const synced = this.handedOut;
    if (synced === undefined) throw new AssertionError(`replica ${this.id}: advance() without a ready()`);
    this.handedOut = undefined;
    for (const request of synced) {
      const result = this.execute(request);
      if (result !== undefined) this.outbox.push({ to: request.clientId, message: { type: "clientReply", session: request.session, sequence: request.sequence, result } });
      for (const peer of this.peers) this.outbox.push({ to: peer, message: { type: "replicate", index: this.logIndex, ...request } });
    }
  }

  status(): ReplicaStatus {
    this.guard("status");
    return { id: this.id, role: this.id === primary ? "primary" : "backup", epoch: 1, leader: primary, commitIndex: this.applied, appliedIndex: this.applied };
  }

  private guard(method: string): void {
    if (this.handedOut !== undefined) throw new AssertionError(`replica ${this.id}: ${method}() called between ready() and advance()`);
  }

  private request(message: ClientRequestMessage): void {
    if (this.id !== primary) {
      this.outbox.push({ to: message.clientId, message: { type: "notLeader", sequence: message.sequence, hasLeaderHint: true, leaderHint: primary } });
      return;
    }
    for (let i = 0; i < (this.options.signsPerRequest ?? 0); i++) this.crypto.sign(message.command);
    for (let i = 0; i < (this.options.macsPerRequest ?? 0); i++) this.crypto.mac(this.crypto.macKey(message.clientId), message.command);
    if (message.readOnly) {
      this.outbox.push({ to: message.clientId, message: { type: "clientReply", session: message.session, sequence: message.sequence, result: this.sessions.query(message.command) } });
      return;
    }
    const request = { clientId: message.clientId, session: message.session, sequence: message.sequence, command: message.command };
    this.unstable.push(request);
    this.persist.push(probeCodec.encode({ type: "clientRequest", ...request, readOnly: false, readLevel: 0 }));
  }

  private execute(request: ClientRequest): Uint8Array | undefined {
    this.logIndex++;
    const execution = this.sessions.execute(request);
    if (execution.kind === "stale") return undefined;
    if (execution.kind === "applied") this.applied++;
    return execution.result;
  }

  private applyInOrder(): void {
    for (;;) {
      const next = this.early.get(this.logIndex + 1);
      if (next === undefined) return;
      this.early.delete(next.index);
      if (this.options.divergent === true) {
        this.logIndex++;
        this.sessions.execute({ clientId: next.clientId, session: next.session, sequence: next.sequence, command: encodeCommand({ type: "put", key: "divergent", value: Uint8Array.of(this.id) }) });
        this.applied++;
      } else {
        this.execute(next);
      }
    }
  }
}

/** ProbeMonitor records every replica send and counts replica observations. */
class ProbeMonitor implements InvariantMonitor<ProbeMessage> {
  readonly name = "probe";
  constructor(private readonly log: ProbeLog) {}

  observeSend(from: NodeId, to: NodeId, message: ProbeMessage, context: MonitorEventContext): void {
    this.log.sends.push({ from, to, type: message.type, id: message.type === "ping" ? message.id : 0, timeUs: context.timeUs, faulty: context.faulty });
  }

  observeReplica(replica: Replica<ProbeMessage>, context: MonitorEventContext): void {
    if (context.faulty) this.log.faultyReplicaObservations++;
    else this.log.replicaObservations++;
    replica.status();
  }

  violations(): readonly InvariantViolation[] {
    return [];
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** probeCodec encodes probe messages as JSON, byte arrays as number arrays. */
export const probeCodec: MessageCodec<ProbeMessage> = {
  encode: (message) =>
    encoder.encode(
      JSON.stringify(message, function (this: Record<string, unknown>, key: string, value: unknown) {
        // The holder's own value: a Node Buffer's toJSON has already run on `value`.
        const original = this[key];
        return original instanceof Uint8Array ? { bytes: Array.from(original) } : value;
      }),
    ),
  decode: (bytes) =>
    JSON.parse(decoder.decode(bytes), (_key, value: unknown) =>
      value !== null && typeof value === "object" && "bytes" in value ? Uint8Array.from((value as { bytes: number[] }).bytes) : value,
    ) as ProbeMessage,
  typeName: (message) => message.type,
};

/**
 * createProbeAlgorithm builds the probe as an AlgorithmDefinition, with the
 * log that its replicas and monitor fill in during a run.
 */
export function createProbeAlgorithm(options: ProbeOptions = {}): { algorithm: AlgorithmDefinition<ProbeMessage>; log: ProbeLog } {
  const log = new ProbeLog();
  const algorithm: AlgorithmDefinition<ProbeMessage> = {
    name: "probe",
    description: "Primary-backup test algorithm that records what the network delivers.",
    faultModel: "crash",
    codec: probeCodec,
    clusterSizeError: (n) => (n >= 1 && n <= 9 ? undefined : `probe runs on 1 to 9 nodes, not ${n}`),
    replicasToTolerate: (f) => f + 1,
    faultsTolerated: (n) => n - 1,
    createReplica: (context) => new ProbeReplica(context, options, log),
    createClient: (context) =>
      new LeaderClient<ProbeMessage>({ ...context, replicas: context.replicas.slice(0, 1) }, { retryTicks: 20, giveUpTicks: 200 }),
    createMonitors: () => [new ProbeMonitor(log)],
    byzantineStrategies: [],
    analyticMessagesPerOp: (n) => 2 + (n - 1),
    oneWayDelaysPerOp: 2,
  };
  return { algorithm, log };
}
