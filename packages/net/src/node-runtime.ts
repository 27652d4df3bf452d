import {
  CorruptionError,
  ReplicaHost,
  type AlgorithmDefinition,
  type Crypto,
  type NodeId,
  type Outbound,
  type ProtocolOptions,
  type ReplicaStatus,
  type StateMachine,
  type Storage,
  createRng,
} from "@concord/core";
import { z } from "zod";
import { TickClock } from "./tick-clock.ts";
import { StorageFailedError } from "./file-storage.ts";
import type { FrameSink, FrameTransport } from "./frame-transport.ts";
import {
  type AdminRequest,
  type AdminResponse,
  type NodeStatusReport,
  decodeAdmin,
  encodeAdmin,
  frameKind,
  wrapFrame,
} from "./runtime-frame.ts";

/** tickMsDefault is the real time one logical tick lasts, the simulator's default too (so the protocols' timeouts, in ticks, mean the same wall time). */
export const tickMsDefault = 10;

/** TypeTally counts messages and their payload bytes by the codec's type name. */
export type TypeTally = Map<string, { messages: number; bytes: number }>;

/** NodeRuntimeCounts is what one node did since it started, for logs and metrics. */
export interface NodeRuntimeCounts {
  readonly ticks: number;
  readonly turns: number;
  readonly sent: TypeTally;
  readonly received: TypeTally;
  /** refusedFrames counts frames dropped on arrival: undecodable, addressed to another id, or of an unknown kind. */
  readonly refusedFrames: number;
  /** sendDrops counts messages the transport would not queue (a full queue, an unknown peer). */
  readonly sendDrops: number;
  readonly adminRequests: number;
}

/** NodeRuntimeSetup is what {@link NodeRuntime.start} needs to host one replica for real. */
export interface NodeRuntimeSetup<M> {
  readonly algorithm: AlgorithmDefinition<M>;
  readonly id: NodeId;
  /** replicas is the initial configuration (this node is outside it when it joins a running cluster). */
  readonly replicas: readonly NodeId[];
  readonly storage: Storage;
  readonly stateMachine: StateMachine;
  readonly crypto: Crypto;
  readonly options: ProtocolOptions;
  /** seed draws the replica's randomized timeouts; any integer, different per node and per start. */
  readonly seed: number;
  readonly tickMs?: number | undefined;
  /**
   * monotonicNow reads the real-time clock the ticks are counted from, in milliseconds (`performance.now` when
   * absent): the replica is handed as many ticks as this clock says have passed, also across a pause of the process.
   */
  readonly monotonicNow?: (() => number) | undefined;
  /** connect builds the transport, handing it the sink the runtime reads frames from. */
  readonly connect: (sink: FrameSink) => Promise<FrameTransport & { setPeers?(peers: ReadonlyMap<NodeId, { host: string; port: number }>): void }>;
  /**
   * onPeersLearned is told the addresses an operator's `peers` request gave, before the transport uses them, so that
   * a restart can keep them; if it throws (a full disk), the request is refused and the old peers stay.
   */
  readonly onPeersLearned?: ((peers: ReadonlyMap<NodeId, { host: string; port: number }>) => void) | undefined;
  /** log receives one line per event worth an operator's eye (role changes, refused frames, admin orders). */
  readonly log?: (line: string) => void;
  /**
   * onDiskFull, when given, makes a full disk (ENOSPC or EDQUOT on a sync) survivable: the node holds the Ready it
   * could not sync (its messages never leave) and retries the sync until it succeeds, taking no ticks or frames
   * meanwhile; and it is told when the storage refuses to retry (a failed sync it cannot undo): the node has then
   * halted (no more ticks, frames or sends; its transport closes), and the caller ends the process (the CLI exits
   * with {@link diskFullExitCode}); a restart recovers what was synced. Without it, such an error is thrown on like
   * any other.
   */
  readonly onDiskFull?: ((error: Error) => void) | undefined;
  /** storageName names the storage in the disk-full line (the data directory). */
  readonly storageName?: string | undefined;
}

/** diskFullExitCode is what `concord node` exits with after a disk-full halt: EX_TEMPFAIL, "try again" once space is freed. */
export const diskFullExitCode = 75;

/** diskFullRetryMs is how often a node waiting for space on its disk retries the sync the disk refused. */
export const diskFullRetryMs = 250;

/** diskFullCode is ENOSPC or EDQUOT when `error` (or an error it was caused by) is a full disk or an exhausted quota. */
export function diskFullCode(error: unknown): "ENOSPC" | "EDQUOT" | undefined {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 5; cause = cause.cause, depth++) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === "ENOSPC" || code === "EDQUOT") return code;
  }
  return undefined;
}

/** clockRateMin and clockRateMax bound the `clock` admin order's rate: a clock 20 times slow or fast. */
const clockRateMin = 0.05;
const clockRateMax = 20;

const adminRequestSchema = z.discriminatedUnion("op", [
  z.object({ op: z.literal("status") }),
  z.object({ op: z.literal("peers"), peers: z.record(z.string(), z.string()) }),
  z.object({
    op: z.literal("reconfigure"),
    changes: z.array(z.object({ type: z.enum(["addVoter", "removeVoter", "addLearner", "removeLearner"]), node: z.number().int().nonnegative() })).min(1),
    joint: z.boolean(),
  }),
  z.object({ op: z.literal("transfer"), target: z.number().int().nonnegative() }),
  z.object({ op: z.literal("clock"), rate: z.number().min(clockRateMin).max(clockRateMax) }),
]);

/**
 * NodeRuntime hosts one replica in real time: a tick timer, a transport and
 * a disk around core's {@link ReplicaHost}, which carries out the Ready
 * contract (persist, sync, then send).
 *
 * A turn: the frames of one socket read (and a tick, when its timer fires)
 * are stepped into the replica at once; one drain follows on the next
 * `setImmediate`, so that everything they caused goes to disk in one Ready
 * and one fsync (group commit) before any message leaves.
 *
 * Invariant: the replica is touched only between Readies (the host's drain is
 * synchronous, so no frame or tick can reach it mid-Ready).
 */
export class NodeRuntime<M> {
  private readonly host: ReplicaHost<M>;
  private transport: (FrameTransport & { setPeers?(peers: ReadonlyMap<NodeId, { host: string; port: number }>): void }) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly clock: TickClock;
  private drainScheduled = false;
  private stopped = false;
  /** haltedOnDiskFull: a sync failed on a full disk for good; the host keeps that Ready unreleased and is never touched again. */
  private haltedOnDiskFull = false;
  /**
   * waitingForSpace: a sync failed on a full disk and the storage can retry it. Until a retry succeeds the Ready
   * stays unreleased, the replica takes no ticks and no frames (peers' and clients' are dropped, as a paused
   * node's would go unanswered), and `status` says the disk is full.
   */
  private waitingForSpace: { readonly code: string; readonly sinceMs: number; readonly timer: NodeJS.Timeout; dropped: number } | undefined;
  private closing: Promise<void> | undefined;
  private lastStatus: ReplicaStatus;
  private readonly startedAtMs = Date.now();
  private readonly tally = {
    ticks: 0,
    turns: 0,
    sent: new Map() as TypeTally,
    received: new Map() as TypeTally,
    refusedFrames: 0,
    sendDrops: 0,
    adminRequests: 0,
  };
  private readonly log: (line: string) => void;
  /** refusalsLogged bounds the log lines for refused frames, so that a flood of garbage cannot fill the disk. */
  private refusalsLogged = 0;

  private constructor(private readonly setup: NodeRuntimeSetup<M>) {
    this.log = setup.log ?? (() => {});
    this.clock = new TickClock(setup.tickMs ?? tickMsDefault, setup.monotonicNow ?? (() => performance.now()));
    const { algorithm, id } = setup;
    this.host = ReplicaHost.boot(
      setup.storage,
      (durable) =>
        algorithm.createReplica({
          id,
          replicas: setup.replicas,
          rng: createRng(setup.seed),
          durable,
          stateMachine: setup.stateMachine,
          crypto: setup.crypto,
          options: setup.options,
        }),
      (from, messages) => this.sendAll(from, messages),
    );
    this.lastStatus = this.host.status();
  }

  /** start recovers the replica from its storage, connects the transport and starts the tick timer. */
  static async start<M>(setup: NodeRuntimeSetup<M>): Promise<NodeRuntime<M>> {
    const runtime = new NodeRuntime(setup);
    runtime.transport = await setup.connect((from, to, payload) => runtime.receive(from, to, payload));
    const status = runtime.lastStatus;
    runtime.log(`node ${setup.id} (${setup.algorithm.name}) started as ${status.role} in epoch ${status.epoch}, commit ${status.commitIndex}`);
    runtime.timer = setInterval(() => runtime.tick(), runtime.clock.periodMs);
    runtime.scheduleDrain();
    return runtime;
  }

  /** status is the replica's status as of the last turn. */
  get status(): ReplicaStatus {
    return this.lastStatus;
  }

  /** counts reports what the node did since it started. */
  get counts(): NodeRuntimeCounts {
    return { ...this.tally };
  }

  /** hostCounts reports the replica host's own counts (Readies, records, syncs). */
  get hostCounts(): ReplicaHost<M>["counts"] {
    return this.host.counts;
  }

  /** membership reads the configuration the replica holds, where the algorithm can say. */
  membership(): { voters: readonly NodeId[]; learners: readonly NodeId[] } | undefined {
    return this.setup.algorithm.admin?.membership?.(this.host.replica);
  }

  /**
   * stop ends the node cleanly: no more ticks or frames, one last drain so
   * that everything the replica asked to persist is synced, then the
   * transport is closed. The caller closes the storage.
   */
  async stop(): Promise<void> {
    if (this.stopped) return this.closing;
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    // A Ready still waiting for space is dropped unsynced, as a crash drops it: none of its messages left.
    if (this.waitingForSpace !== undefined) clearInterval(this.waitingForSpace.timer);
    this.drain();
    await this.transport?.close();
  }

  /**
   * tick hands the replica every tick real time owes it: one per firing of the timer as a rule, and all that were
   * missed after the process was paused (SIGSTOP, a long GC pause), as the simulator's pause does.
   */
  private tick(): void {
    // Waiting for space, the ticks are owed, not lost: the replica gets them all once it resumes, as after a pause.
    if (this.stopped || this.waitingForSpace !== undefined) return;
    const due = this.clock.due();
    if (this.tally.ticks >= due) return;
    while (this.tally.ticks < due) {
      this.tally.ticks++;
      this.host.tick();
    }
    this.scheduleDrain();
  }

  private receive(from: NodeId, to: NodeId, payload: Uint8Array): void {
    if (this.stopped) return;
    if (to !== this.setup.id || payload.length === 0) return this.refuse(from, `a frame for ${to}, not this node`);
    const body = payload.subarray(1);
    switch (payload[0]) {
      case frameKind.protocol: {
        let message: M;
        try {
          message = this.setup.algorithm.codec.decode(body);
        } catch (error) {
          if (error instanceof CorruptionError) return this.refuse(from, error.message);
          throw error;
        }
        this.countType(this.tally.received, this.setup.algorithm.codec.typeName(message), body.length);
        if (this.waitingForSpace !== undefined) {
          this.waitingForSpace.dropped++;
          return;
        }
        this.host.step(from, message);
        this.scheduleDrain();
        return;
      }
      case frameKind.adminRequest:
        return this.answerAdmin(from, body);
      default:
        return this.refuse(from, `a frame of unknown kind ${payload[0]}`);
    }
  }

  private refuse(from: NodeId, why: string): void {
    this.tally.refusedFrames++;
    if (this.refusalsLogged < 20) {
      this.refusalsLogged++;
      this.log(`node ${this.setup.id}: refused a frame from ${from}: ${why}${this.refusalsLogged === 20 ? " (further refusals are counted, not logged)" : ""}`);
    }
  }

  private scheduleDrain(): void {
    if (this.drainScheduled || this.stopped) return;
    this.drainScheduled = true;
    setImmediate(() => {
      this.drainScheduled = false;
      this.drain();
    });
  }

  private drain(): void {
    if (this.haltedOnDiskFull || this.waitingForSpace !== undefined) return;
    this.tally.turns++;
    // What the replica lets leave before the sync is flushed to the sockets before the fsync blocks the
    // thread (the transport would otherwise write it at the end of the turn), so the disk and the network overlap.
    try {
      this.host.drain((ready) => {
        if ((ready.messagesBeforeSync?.length ?? 0) > 0 && this.host.unsynced) this.transport?.flushNow?.();
      });
    } catch (error) {
      const code = diskFullCode(error);
      if (code === undefined || this.setup.onDiskFull === undefined) throw error;
      this.waitForSpace(code);
      return;
    }
    this.noteStatus();
  }

  /**
   * waitForSpace holds the Ready whose sync the full disk refused (its messages unsent: what they would
   * acknowledge is not durable) and retries the sync every diskFullRetryMs. A retry that succeeds sends them
   * and resumes the node; one the storage refuses for good (a failed sync it cannot undo) halts it.
   */
  private waitForSpace(code: string): void {
    const sinceMs = Date.now();
    this.log(`node ${this.setup.id}: ${this.setup.storageName ?? "the data directory"} is full (${code}): holding what was not synced (none of it sent), taking no ticks or frames, retrying the sync every ${diskFullRetryMs} ms`);
    const timer = setInterval(() => this.retrySync(), diskFullRetryMs);
    this.waitingForSpace = { code, sinceMs, timer, dropped: 0 };
  }

  private retrySync(): void {
    const waiting = this.waitingForSpace;
    if (waiting === undefined || this.stopped) return;
    try {
      this.host.synced();
    } catch (error) {
      const code = diskFullCode(error);
      if (code === undefined) throw error;
      if (!(error instanceof StorageFailedError)) return; // still full
      clearInterval(waiting.timer);
      this.waitingForSpace = undefined;
      this.haltOnDiskFull(error, code);
      return;
    }
    clearInterval(waiting.timer);
    this.waitingForSpace = undefined;
    this.log(`node ${this.setup.id}: space freed: synced what was held after ${Date.now() - waiting.sinceMs} ms (${waiting.dropped} frames dropped meanwhile); resuming`);
    this.host.release();
    this.host.advance();
    this.scheduleDrain();
  }

  private noteStatus(): void {
    const status = this.host.status();
    const before = this.lastStatus;
    if (status.role !== before.role || status.epoch !== before.epoch || status.leader !== before.leader) {
      this.log(`node ${this.setup.id}: ${status.role} in epoch ${status.epoch}, leader ${status.leader ?? "unknown"}, commit ${status.commitIndex}`);
    }
    this.lastStatus = status;
  }

  /**
   * haltOnDiskFull stops the node after a sync failed on a full disk and the storage refuses to retry it (a failed
   * fsync, a snapshot: what it wrote is in doubt until recovery). The failed Ready stays unreleased (its messages
   * never leave: what they would acknowledge is not durable), the node takes no more input at all, and the process
   * ends; a restart recovers exactly what was synced.
   */
  private haltOnDiskFull(error: Error, code: string): void {
    this.haltedOnDiskFull = true;
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.log(`node ${this.setup.id}: ${this.setup.storageName ?? "the data directory"} is full (${code}) and the storage cannot retry the failed sync: halting without sending what was not synced; restart once space is freed`);
    this.closing = this.transport?.close();
    this.setup.onDiskFull?.(error);
  }

  private sendAll(from: NodeId, messages: readonly Outbound<M>[]): void {
    const transport = this.transport;
    const codec = this.setup.algorithm.codec;
    for (const { to, message } of messages) {
      const bytes = codec.encode(message);
      this.countType(this.tally.sent, codec.typeName(message), bytes.length);
      if (transport === undefined || !transport.send(from, to, wrapFrame(frameKind.protocol, bytes))) this.tally.sendDrops++;
    }
  }

  private countType(tally: TypeTally, type: string, bytes: number): void {
    const entry = tally.get(type);
    if (entry === undefined) tally.set(type, { messages: 1, bytes });
    else {
      entry.messages++;
      entry.bytes += bytes;
    }
  }

  private answerAdmin(from: NodeId, body: Uint8Array): void {
    this.tally.adminRequests++;
    let requestId: number;
    let request: AdminRequest;
    try {
      const decoded = decodeAdmin<unknown>(body);
      requestId = decoded.requestId;
      const parsed = adminRequestSchema.safeParse(decoded.body);
      if (!parsed.success) {
        this.reply(from, requestId, { ok: false, error: `bad admin request: ${parsed.error.issues.map((issue) => `${issue.path.join(".") || "request"}: ${issue.message}`).join("; ")}` });
        return;
      }
      request = parsed.data;
    } catch (error) {
      if (error instanceof CorruptionError) return this.refuse(from, error.message);
      throw error;
    }
    this.reply(from, requestId, this.carryOut(request));
    // An order may have given the replica work (a reconfiguration entry to replicate).
    this.scheduleDrain();
  }

  private carryOut(request: AdminRequest): AdminResponse {
    const admin = this.setup.algorithm.admin;
    switch (request.op) {
      case "status":
        return { ok: true, status: this.statusReport() };
      case "peers": {
        const peers = new Map<NodeId, { host: string; port: number }>();
        for (const [id, address] of Object.entries(request.peers)) {
          const parsed = parseAddress(address);
          const node = Number(id);
          if (parsed === undefined || !Number.isSafeInteger(node) || node < 0) return { ok: false, error: `bad peer ${id}=${address}: expected id=host:port` };
          peers.set(node, parsed);
        }
        if (this.transport?.setPeers === undefined) return { ok: false, error: "this node's transport cannot learn new peers" };
        // Kept on disk first (a restart must find them), then used: a disk that refuses them (ENOSPC) leaves the node
        // running with its old peers, what its disk still says, and the operator told why.
        try {
          this.setup.onPeersLearned?.(peers);
        } catch (error) {
          const reason = error instanceof Error ? error.message : String(error);
          this.log(`node ${this.setup.id}: could not keep the new peers on disk, keeping the old ones: ${reason}`);
          return { ok: false, error: `could not keep the new peers on disk (${reason}); the node keeps its old ones` };
        }
        this.transport.setPeers(peers);
        this.log(`node ${this.setup.id}: peers are now ${[...peers].map(([id, a]) => `${id}=${a.host}:${a.port}`).join(",")}`);
        return { ok: true, detail: `${peers.size} peers` };
      }
      case "reconfigure": {
        if (this.waitingForSpace !== undefined) return { ok: false, error: "the node's disk is full: it takes no orders to its replica until a sync succeeds" };
        if (admin?.reconfigure === undefined) return { ok: false, error: `${this.setup.algorithm.name} has no membership changes` };
        const result = admin.reconfigure(this.host.replica, request.changes, { joint: request.joint });
        this.log(`node ${this.setup.id}: reconfigure ${JSON.stringify(request.changes)}: ${result.detail}`);
        return result.accepted ? { ok: true, detail: result.detail } : { ok: false, error: result.detail, leader: this.host.status().leader ?? null };
      }
      case "clock": {
        // The protocol counts time in ticks; a tick every tickMs / rate real milliseconds is a clock running at `rate`.
        if (this.stopped) return { ok: false, error: "the node is stopping" };
        this.clock.setRate(request.rate);
        const periodMs = this.clock.periodMs;
        if (this.timer !== undefined) clearInterval(this.timer);
        this.timer = setInterval(() => this.tick(), periodMs);
        this.log(`node ${this.setup.id}: tick timer at ${request.rate} times real time (a tick every ${periodMs.toFixed(2)} ms)`);
        return { ok: true, detail: `a tick every ${periodMs.toFixed(2)} ms` };
      }
      case "transfer": {
        if (this.waitingForSpace !== undefined) return { ok: false, error: "the node's disk is full: it takes no orders to its replica until a sync succeeds" };
        if (admin?.transferLeadership === undefined) return { ok: false, error: `${this.setup.algorithm.name} has no leadership transfer` };
        const result = admin.transferLeadership(this.host.replica, request.target);
        this.log(`node ${this.setup.id}: transfer to ${request.target}: ${result.detail}`);
        return result.accepted ? { ok: true, detail: result.detail } : { ok: false, error: result.detail, leader: this.host.status().leader ?? null };
      }
    }
  }

  /** statusReport is what `status` answers. */
  statusReport(): NodeStatusReport {
    // A Ready in flight (held for space) forbids asking the replica: the status of the last turn, and no membership.
    const waiting = this.waitingForSpace !== undefined;
    const status = waiting ? this.lastStatus : this.host.status();
    const membership = waiting ? undefined : this.membership();
    return {
      id: this.setup.id,
      algorithm: this.setup.algorithm.name,
      role: status.role,
      epoch: status.epoch,
      leader: status.leader ?? null,
      commitIndex: status.commitIndex,
      appliedIndex: status.appliedIndex,
      membership: membership === undefined ? null : { voters: [...membership.voters], learners: [...membership.learners] },
      uptimeMs: Date.now() - this.startedAtMs,
      diskFull: this.waitingForSpace !== undefined,
    };
  }

  private reply(to: NodeId, requestId: number, response: AdminResponse): void {
    if (this.transport === undefined || !this.transport.send(this.setup.id, to, encodeAdmin(frameKind.adminResponse, requestId, response))) this.tally.sendDrops++;
  }
}

/** parseAddress reads `host:port` (an IPv6 host in brackets), or returns undefined. */
export function parseAddress(text: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(text);
  if (match === null) return undefined;
  const port = Number(match[3]);
  if (port > 65535) return undefined;
  return { host: (match[1] ?? match[2]) as string, port };
}
