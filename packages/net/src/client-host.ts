import { randomInt } from "node:crypto";
import {
  CorruptionError,
  type AlgorithmDefinition,
  type Client,
  type Crypto,
  type NodeId,
  type Outcome,
  type ProtocolOptions,
  type ReadLevel,
  createRng,
  firstClientId,
  timedOut,
} from "@concord/core";
import type { FrameSink, FrameTransport } from "./frame-transport.ts";
import { type AdminRequest, type AdminResponse, decodeAdmin, encodeAdmin, frameKind, wrapFrame } from "./runtime-frame.ts";
import { tickMsDefault } from "./node-runtime.ts";

/** clientIdMax is the largest client id: the client wire carries it as a uint32. */
export const clientIdMax = 0xffff_ffff;

/** ClientHostSetup is what {@link ClientHost.start} needs to run clients of one algorithm against a real cluster. */
export interface ClientHostSetup<M> {
  readonly algorithm: AlgorithmDefinition<M>;
  /** replicas are the cluster's replica ids, as its nodes were started. */
  readonly replicas: readonly NodeId[];
  /** crypto builds one client's crypto (its MAC keys with the replicas). */
  readonly crypto: (clientId: NodeId) => Crypto;
  readonly options: ProtocolOptions;
  readonly tickMs?: number | undefined;
  readonly connect: (sink: FrameSink) => Promise<FrameTransport>;
}

/** ClientHostCounts is what one host's clients did, for the load report. */
export interface ClientHostCounts {
  messagesSent: number;
  bytesSent: number;
  messagesReceived: number;
  bytesReceived: number;
  refusedFrames: number;
  sendDrops: number;
}

interface HostedClient<M> {
  readonly client: Client<M>;
  readonly waiting: Map<number, (outcome: Outcome) => void>;
}

/**
 * ClientHost runs any number of an algorithm's clients in one process
 * against a real cluster: one transport (one connection per replica, shared
 * by every client), one tick timer for all of them, and a promise per
 * request. A client's retries, leader hints and give-up are the protocol's
 * own, in ticks, as in the simulator.
 *
 * Each client gets a random id in [firstClientId, 2^32) (unique in this
 * host; across processes a clash is as unlikely as 1 in 4 billion per pair,
 * and costs only misrouted replies, which the session key tells apart) and a
 * session key drawn from a seed of its own.
 */
export class ClientHost<M> {
  private transport: FrameTransport | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly clients = new Map<NodeId, HostedClient<M>>();
  private readonly adminWaiting = new Map<number, (response: AdminResponse) => void>();
  private nextAdminRequest = 1;
  private closed = false;
  readonly counts: ClientHostCounts = { messagesSent: 0, bytesSent: 0, messagesReceived: 0, bytesReceived: 0, refusedFrames: 0, sendDrops: 0 };
  /** adminId is the id this host's operator requests come from. */
  readonly adminId: NodeId;

  private constructor(private readonly setup: ClientHostSetup<M>) {
    this.adminId = this.freshId();
  }

  /** start connects the transport and starts the clients' tick timer. */
  static async start<M>(setup: ClientHostSetup<M>): Promise<ClientHost<M>> {
    const host = new ClientHost(setup);
    host.transport = await setup.connect((from, to, payload) => host.receive(from, to, payload));
    host.timer = setInterval(() => host.tick(), setup.tickMs ?? tickMsDefault);
    return host;
  }

  /** newClient creates one client and returns its id. */
  newClient(): NodeId {
    const id = this.freshId();
    const client = this.setup.algorithm.createClient({
      id,
      replicas: this.setup.replicas,
      rng: createRng(randomInt(0, 2 ** 31)),
      crypto: this.setup.crypto(id),
      options: this.setup.options,
    });
    this.clients.set(id, { client, waiting: new Map() });
    return id;
  }

  /**
   * submit sends one command from client `id` and resolves with its outcome:
   * `ok` with the result, `failed` (it certainly did not take effect) or
   * `indeterminate` (it may have: the client gave up waiting). `readLevel`
   * is the consistency a read asks for (`linearizable` when absent; see
   * core's ReadLevel); a write ignores it.
   */
  submit(id: NodeId, command: Uint8Array, readOnly: boolean, readLevel?: ReadLevel): Promise<Outcome> {
    const hosted = this.clients.get(id);
    if (hosted === undefined) throw new Error(`no client ${id} in this host`);
    if (this.closed) return Promise.resolve({ kind: "failed", rejection: { kind: "dropped", reason: "the client host is closed" } });
    const submitted = hosted.client.submit(command, readLevel === undefined ? { readOnly } : { readOnly, readLevel });
    if (submitted.kind === "rejected") return Promise.resolve({ kind: "failed", rejection: submitted.rejection });
    const promise = new Promise<Outcome>((resolve) => hosted.waiting.set(submitted.sequence, resolve));
    this.flush(hosted);
    return promise;
  }

  /** admin sends an operator's request to node `to` and resolves with its answer, or an error after `timeoutMs`. */
  admin(to: NodeId, request: AdminRequest, timeoutMs: number): Promise<AdminResponse> {
    const requestId = this.nextAdminRequest++;
    return new Promise<AdminResponse>((resolve) => {
      const timer = setTimeout(() => {
        this.adminWaiting.delete(requestId);
        resolve({ ok: false, error: `node ${to} did not answer within ${timeoutMs} ms` });
      }, timeoutMs);
      this.adminWaiting.set(requestId, (response) => {
        clearTimeout(timer);
        resolve(response);
      });
      if (!this.transport?.send(this.adminId, to, encodeAdmin(frameKind.adminRequest, requestId, request))) {
        this.adminWaiting.delete(requestId);
        clearTimeout(timer);
        resolve({ ok: false, error: `could not queue a request for node ${to}` });
      }
    });
  }

  /**
   * close stops the clients: every request still waiting resolves as
   * indeterminate (it may yet take effect), and the transport closes.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    for (const hosted of this.clients.values()) {
      for (const resolve of hosted.waiting.values()) resolve({ kind: "indeterminate", rejection: timedOut(0) });
      hosted.waiting.clear();
    }
    await this.transport?.close();
  }

  private freshId(): NodeId {
    for (;;) {
      const id = randomInt(firstClientId, clientIdMax + 1);
      if (!this.clients.has(id) && id !== this.adminId) return id;
    }
  }

  private tick(): void {
    for (const hosted of this.clients.values()) {
      hosted.client.tick();
      this.flush(hosted);
    }
  }

  private receive(from: NodeId, to: NodeId, payload: Uint8Array): void {
    if (this.closed || payload.length === 0) return;
    const body = payload.subarray(1);
    if (payload[0] === frameKind.adminResponse && to === this.adminId) {
      try {
        const { requestId, body: response } = decodeAdmin<AdminResponse>(body);
        this.adminWaiting.get(requestId)?.(response);
        this.adminWaiting.delete(requestId);
      } catch (error) {
        if (!(error instanceof CorruptionError)) throw error;
        this.counts.refusedFrames++;
      }
      return;
    }
    const hosted = this.clients.get(to);
    if (payload[0] !== frameKind.protocol || hosted === undefined) {
      this.counts.refusedFrames++;
      return;
    }
    let message: M;
    try {
      message = this.setup.algorithm.codec.decode(body);
    } catch (error) {
      if (!(error instanceof CorruptionError)) throw error;
      this.counts.refusedFrames++;
      return;
    }
    this.counts.messagesReceived++;
    this.counts.bytesReceived += body.length;
    hosted.client.step(from, message);
    this.flush(hosted);
  }

  /** flush carries out a client's Ready: its messages go out, its completions resolve their promises. */
  private flush(hosted: HostedClient<M>): void {
    const codec = this.setup.algorithm.codec;
    for (let ready = hosted.client.ready(); ready !== undefined; ready = hosted.client.ready()) {
      for (const { to, message } of ready.messages) {
        const bytes = codec.encode(message);
        this.counts.messagesSent++;
        this.counts.bytesSent += bytes.length;
        if (!this.transport?.send(hosted.client.id, to, wrapFrame(frameKind.protocol, bytes))) this.counts.sendDrops++;
      }
      hosted.client.advance(ready);
      for (const completion of ready.completions) {
        hosted.waiting.get(completion.sequence)?.(completion.outcome);
        hosted.waiting.delete(completion.sequence);
      }
    }
  }
}
