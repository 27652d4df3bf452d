import { type ByzantineClient, type Client, type ClientReady, CorruptionError, type HistoryOperation, type NodeId, type Outcome, type ReadLevel, type Rng, assert } from "@concord/core";
import { type KvCommand, type KvResult, decodeResult, encodeCommand, isReadOnly } from "@concord/kv";
import { type SimContext, msToUs, usPerMs, usPerSecond } from "./context.ts";
import type { Delivery } from "./events.ts";
import type { FinalReadCounts } from "./result.ts";
import type { Wire } from "./wire.ts";
import { type OperationGenerator, keyName } from "./workload.ts";

/** watchdogPeriodUs is how often the liveness watchdog looks for progress. */
export const watchdogPeriodUs = 100_000;

/** openLoopRatePerSecMin keeps an open-loop rate of zero from dividing by zero: it means one arrival in ages. */
const openLoopRatePerSecMin = 1e-9;

/** uint32DrawsPlusOne maps a uint32 draw plus one into (0, 1]: never 0, whose logarithm is infinite. */
const uint32DrawsPlusOne = 0x1_0000_0001;

/** MutableOperation is a history entry while its operation runs. */
export type MutableOperation = { -readonly [K in keyof HistoryOperation<KvCommand, KvResult>]: HistoryOperation<KvCommand, KvResult>[K] };

/** ClientNode is one client endpoint: the client object now behind its network id, and the operation it has outstanding. */
export interface ClientNode {
  readonly id: NodeId;
  readonly index: number;
  /** client is the client object now behind this network id: a restart replaces it. */
  client: Client<unknown>;
  /** incarnation counts the client's restarts, so that each object draws from a stream of its own. */
  incarnation: number;
  pending: MutableOperation | undefined;
  arrivalUs: number;
  finalRead: boolean;
  /** tickEvent is this client's tick, queued again on every tick (one object for the whole run). */
  readonly tickEvent: { readonly kind: "tick"; readonly node: NodeId };
}

/** OpenArrival is an open-loop operation waiting for an idle client, with its arrival time. */
interface OpenArrival {
  readonly command: KvCommand;
  readonly arrivalUs: number;
}

/** ClientDriverSetup is what the driver needs to run the workload. */
export interface ClientDriverSetup {
  /** createClient builds the client object behind a network id, for its first life or a restart. */
  readonly createClient: (id: NodeId, incarnation: number) => Client<unknown>;
  readonly clientIds: readonly NodeId[];
  readonly generator: OperationGenerator;
  readonly arrivalRng: Rng;
  /** warmupUs is when the workload starts. */
  readonly warmupUs: number;
  /** healUs is when the faults are all healed (0: no faults to heal). */
  readonly healUs: number;
  /** readLevel is the level the workload's reads ask for; the final reads, which look for lost writes, ask `linearizable`. */
  readonly readLevel: ReadLevel;
  /** servedReadLevel is the level the algorithm serves a read asked at `level`, which the history records. */
  readonly servedReadLevel: (level: ReadLevel) => ReadLevel;
  /** byzantineClient is the faulty client's id, if the run has one: it overhears what the other clients send. */
  readonly byzantineClient?: NodeId;
}

/**
 * ClientDriver runs the workload through the clients (closed-loop with think
 * time, or open-loop arrivals), records every invocation and completion as
 * the history the checker judges, and after the workload reads every key
 * once more to find lost writes. It decides when the run is finished, and
 * its watchdog calls a run with no progress after the heal a liveness
 * failure.
 */
export class ClientDriver {
  private readonly clients: ClientNode[] = [];
  private readonly clientById = new Map<NodeId, ClientNode>();
  readonly history: MutableOperation[] = [];
  /** finalReadOperations are the history's final reads, which the workload's counts leave out. */
  private readonly finalReadOperations = new Set<MutableOperation>();
  /** latenciesUs are the workload's completed-ok latencies (final reads left out). */
  readonly latenciesUs: number[] = [];
  /** openQueue holds open-loop arrivals waiting for an idle client. Invariant: at most the workload's queueLimit. */
  private readonly openQueue: OpenArrival[] = [];
  /** finalReadKeys are the keys still to read after the workload. Invariant: at most the workload's key count. */
  private finalReadKeys: string[] = [];
  private finalReadsStarted = false;
  /** pendingOperations counts clients with an operation outstanding. */
  private pendingOperations = 0;
  /** idleSinceUs is when pendingOperations last fell to zero. */
  private idleSinceUs = 0;
  workloadInvoked = 0;
  private workloadDone = 0;
  private rejected = 0;
  /** abandoned counts operations left outstanding by a client restart. */
  abandoned = 0;
  private healed = false;
  private lastProgressUs = 0;
  firstInvokeUs = -1;
  lastWorkloadCompleteUs = 0;
  /** finished is set when the workload and the final reads are done, or liveness failed. */
  finished = false;
  private readonly thinkUs: number;

  constructor(
    private readonly context: SimContext,
    private readonly setup: ClientDriverSetup,
    private readonly wire: Wire,
  ) {
    const workload = context.scenario.workload;
    this.thinkUs = workload.ops > 0 ? Math.round((workload.spreadMs * usPerMs * workload.clients) / workload.ops) : 0;
    setup.clientIds.forEach((id, index) => {
      const node: ClientNode = { id, index, client: setup.createClient(id, 0), incarnation: 0, pending: undefined, arrivalUs: 0, finalRead: false, tickEvent: { kind: "tick", node: id } };
      this.clients.push(node);
      this.clientById.set(id, node);
    });
  }

  /** count is the number of clients. */
  get count(): number {
    return this.clients.length;
  }

  /** ids lists the clients' network ids, in order. */
  ids(): NodeId[] {
    return this.clients.map((client) => client.id);
  }

  /** tickEvents lists each client's tick event, for the run to queue first. */
  tickEvents(): { readonly kind: "tick"; readonly node: NodeId }[] {
    return this.clients.map((client) => client.tickEvent);
  }

  /** clientAt is the client at `index` (the fault schedule draws it). */
  clientAt(index: number): ClientNode | undefined {
    return this.clients[index];
  }

  /** isClient tells whether a network id is a client's. */
  isClient(id: NodeId): boolean {
    return this.clientById.has(id);
  }

  /** startWorkload queues the first operations: each closed-loop client's, or the first open-loop arrival. */
  startWorkload(): void {
    const workload = this.context.scenario.workload;
    const queue = this.context.queue;
    if (workload.kind === "closed") {
      for (const client of this.clients) queue.push(this.setup.warmupUs, { kind: "client-next", client: client.id });
    } else if (workload.ops > 0) {
      queue.push(this.setup.warmupUs, { kind: "arrival" });
    }
    this.maybeFinish();
  }

  /** tick hands a client one tick. */
  tick(id: NodeId): void {
    const client = this.clientById.get(id) as ClientNode;
    client.client.tick();
    this.drainClient(client);
  }

  /** deliver hands a client a message. */
  deliver(id: NodeId, delivery: Delivery): void {
    const client = this.clientById.get(id) as ClientNode;
    client.client.step(delivery.from, delivery.message);
    this.drainClient(client);
  }

  private drainClient(client: ClientNode): void {
    for (;;) {
      const ready: ClientReady<unknown> | undefined = client.client.ready();
      if (ready === undefined) return;
      // Advance first: handling a completion may submit the next request, which re-enters this drain.
      const { messages, completions } = ready;
      client.client.advance(ready);
      for (let i = 0; i < messages.length; i++) {
        const outbound = messages[i] as (typeof messages)[number];
        this.wire.transmit(client.id, outbound.to, outbound.message, this.context.nowUs, i > 0);
      }
      this.overheard(client, messages);
      for (const completion of completions) this.complete(client, completion.outcome);
    }
  }

  /** overheard lets the faulty client, if any, hear what another client sent, and sends what it makes of it. */
  private overheard(client: ClientNode, messages: ClientReady<unknown>["messages"]): void {
    const spyId = this.setup.byzantineClient;
    if (spyId === undefined || spyId === client.id || messages.length === 0) return;
    const spy = this.clientById.get(spyId) as ClientNode;
    for (const outbound of messages) (spy.client as ByzantineClient<unknown>).overhear(client.id, outbound.message);
    this.drainClient(spy);
  }

  /** submit starts an operation on an idle client; `arrivalUs` is when an open-loop arrival was queued (latency counts from it). */
  private submit(client: ClientNode, command: KvCommand, finalRead: boolean, arrivalUs: number = this.context.nowUs): void {
    const nowUs = this.context.nowUs;
    const readOnly = isReadOnly(command);
    const readLevel: ReadLevel = finalRead ? "linearizable" : this.setup.readLevel;
    const result = client.client.submit(encodeCommand(command), { readOnly, readLevel });
    assert(result.kind === "accepted", () => `client ${client.id} refused a request while idle`);
    const operation: MutableOperation = {
      id: this.history.length,
      clientId: client.id,
      input: command,
      invokeUs: nowUs,
      completeUs: undefined,
      status: "info",
      output: undefined,
    };
    if (readOnly) operation.readLevel = this.setup.servedReadLevel(readLevel);
    this.history.push(operation);
    // The liveness clock stands still while no operation is outstanding (think time, gaps between
    // arrivals): move the last progress forward by the idle spell that ends now.
    if (this.pendingOperations === 0 && this.openQueue.length === 0) this.lastProgressUs += nowUs - Math.max(this.idleSinceUs, this.lastProgressUs);
    client.pending = operation;
    client.arrivalUs = arrivalUs;
    this.pendingOperations++;
    client.finalRead = finalRead;
    if (finalRead) this.finalReadOperations.add(operation);
    else this.workloadInvoked++;
    if (this.firstInvokeUs < 0) this.firstInvokeUs = nowUs;
    this.drainClient(client);
  }

  private complete(client: ClientNode, outcome: Outcome): void {
    const operation = client.pending;
    if (operation === undefined) return;
    const nowUs = this.context.nowUs;
    client.pending = undefined;
    this.pendingOperations--;
    if (this.pendingOperations === 0) this.idleSinceUs = nowUs;
    operation.completeUs = nowUs;
    const finalRead = client.finalRead;
    if (outcome.kind === "ok") {
      operation.status = "ok";
      const output = decodeClientResult(outcome.result);
      operation.output = output;
      this.lastProgressUs = nowUs;
      if (output.type === "get") this.setup.generator.observe(client.index, operation.input.key, output.value);
      // Queueing for a free client counts: an open-loop user waits from the moment the request arrived.
      if (!finalRead) this.latenciesUs.push(nowUs - client.arrivalUs);
    } else {
      operation.status = outcome.kind === "failed" ? "fail" : "info";
      // An indeterminate operation has no known effect; Jepsen's convention is to leave completeUs unset.
      if (outcome.kind === "indeterminate") operation.completeUs = undefined;
    }
    if (finalRead) {
      if (operation.status !== "ok") this.retryFinalRead(operation.input.key);
    } else {
      this.workloadDone++;
      this.lastWorkloadCompleteUs = nowUs;
    }
    this.afterClientIdle(client);
  }

  /** retryFinalRead puts a key whose final read did not succeed back in line. */
  private retryFinalRead(key: string): void {
    const keys = this.context.scenario.workload.keys;
    assert(this.finalReadKeys.length < keys, () => `more than the workload's ${keys} keys waiting for a final read`);
    this.finalReadKeys.push(key);
  }

  private afterClientIdle(client: ClientNode): void {
    if (this.finalReadsStarted) {
      this.nextFinalRead(client);
    } else if (this.context.scenario.workload.kind === "closed") {
      this.context.queue.push(this.context.nowUs + this.thinkUs, { kind: "client-next", client: client.id });
    } else {
      const next = this.openQueue.shift();
      if (next !== undefined) this.submit(client, next.command, false, next.arrivalUs);
    }
    this.maybeFinish();
  }

  /** clientNext starts a closed-loop client's next operation, its think time over. */
  clientNext(id: NodeId): void {
    const client = this.clientById.get(id) as ClientNode;
    if (client.pending !== undefined || this.finalReadsStarted) return;
    if (this.workloadInvoked >= this.context.scenario.workload.ops) {
      this.maybeFinish();
      return;
    }
    this.submit(client, this.setup.generator.next(client.index), false);
  }

  /** arrival takes one open-loop arrival: an idle client runs it, else it queues (up to the workload's limit, else it is rejected). */
  arrival(): void {
    const workload = this.context.scenario.workload;
    if (this.workloadInvoked + this.openQueue.length + this.rejected >= workload.ops) return;
    const nowUs = this.context.nowUs;
    const command = this.setup.generator.next(this.workloadInvoked % workload.clients);
    const idle = this.clients.find((client) => client.pending === undefined);
    if (idle !== undefined) this.submit(idle, command, false);
    else if (this.openQueue.length < workload.queueLimit) this.openQueue.push({ command, arrivalUs: nowUs });
    else this.rejected++;
    // Exponential gaps: a Poisson process at the workload's rate.
    const u = (this.setup.arrivalRng.nextUint32() + 1) / uint32DrawsPlusOne;
    const gapUs = Math.max(1, Math.round((-Math.log(u) * usPerSecond) / Math.max(workload.ratePerSec, openLoopRatePerSecMin)));
    this.context.queue.push(nowUs + gapUs, { kind: "arrival" });
  }

  private workloadComplete(): boolean {
    const ops = this.context.scenario.workload.ops;
    return this.workloadInvoked + this.rejected >= ops && this.workloadDone >= this.workloadInvoked && this.openQueue.length === 0;
  }

  /** maybeFinish starts the final reads once the workload is done and the faults healed, and finishes the run after them. */
  maybeFinish(): void {
    if (this.finished || !this.workloadComplete() || this.context.nowUs < this.setup.healUs) return;
    const workload = this.context.scenario.workload;
    if (!this.finalReadsStarted) {
      this.finalReadsStarted = true;
      if (workload.finalReads && workload.ops > 0) {
        this.finalReadKeys = Array.from({ length: workload.keys }, (_, i) => keyName(i));
        for (const client of this.clients) this.nextFinalRead(client);
      }
    }
    if (this.finalReadKeys.length === 0 && this.clients.every((client) => client.pending === undefined)) this.finished = true;
  }

  private nextFinalRead(client: ClientNode): void {
    if (client.pending !== undefined) return;
    const key = this.finalReadKeys.shift();
    if (key !== undefined) this.submit(client, { type: "get", key }, true);
  }

  /** watchdog fails the run for liveness when no operation completed for the scenario's timeout after the heal. */
  watchdog(): void {
    const context = this.context;
    const scenario = context.scenario;
    const healUs = this.setup.healUs;
    const limitUs = msToUs(scenario.livenessTimeoutMs);
    const since = Math.max(this.lastProgressUs, healUs);
    // Only an operation that is outstanding (or queued for a client) can be stuck: think time and
    // gaps between open-loop arrivals are not a lack of progress.
    const waiting = this.pendingOperations > 0 || this.openQueue.length > 0 || (this.finalReadsStarted && this.finalReadKeys.length > 0);
    if (this.healed || healUs === 0) {
      if (waiting && context.nowUs - since > limitUs) {
        context.violation(
          "liveness",
          `no operation completed for ${scenario.livenessTimeoutMs} ms after the faults healed at ${healUs / usPerMs} ms (${this.workloadDone}/${scenario.workload.ops} workload ops done)`,
        );
        this.finished = true;
        return;
      }
    }
    this.maybeFinish();
    context.queue.push(context.nowUs + watchdogPeriodUs, { kind: "watchdog" });
  }

  /** workloadOperations lists the history's operations of the workload, final reads left out. */
  workloadOperations(): MutableOperation[] {
    return this.history.filter((operation) => !this.finalReadOperations.has(operation));
  }

  /** finalReadCounts counts the final reads invoked and those that completed ok. */
  finalReadCounts(): FinalReadCounts {
    let completed = 0;
    for (const operation of this.finalReadOperations) if (operation.status === "ok") completed++;
    return { invoked: this.finalReadOperations.size, completed };
  }

  /** afterHeal starts the liveness phase: progress is measured from the heal on. */
  afterHeal(): void {
    this.healed = true;
    this.lastProgressUs = Math.max(this.lastProgressUs, this.context.nowUs);
    this.maybeFinish();
  }

  /**
   * restartClient replaces a client by a fresh object with the same network
   * id and a session of its own (as a restarted process would be): the
   * request it had outstanding may or may not take effect, so the history
   * records it as indeterminate.
   */
  restartClient(client: ClientNode | undefined): void {
    if (client === undefined) return;
    const operation = client.pending;
    client.incarnation++;
    client.client = this.setup.createClient(client.id, client.incarnation);
    this.context.openFault("restart-client", [], true, [client.id]);
    this.context.logFault(`restart client ${client.id}${operation === undefined ? "" : ` (its operation ${operation.id} is indeterminate)`}`, [], "");
    if (operation === undefined) return;
    const nowUs = this.context.nowUs;
    client.pending = undefined;
    this.abandoned++;
    this.pendingOperations--;
    if (this.pendingOperations === 0) this.idleSinceUs = nowUs;
    operation.status = "info";
    operation.completeUs = undefined;
    if (client.finalRead) this.retryFinalRead(operation.input.key);
    else {
      this.workloadDone++;
      this.lastWorkloadCompleteUs = nowUs;
    }
    this.afterClientIdle(client);
  }
}

/**
 * decodeClientResult decodes what a client accepted as a result. A Byzantine
 * replica can make a crash-tolerant client accept garbage: that is recorded as
 * an `invalid` result, for the checker to judge, rather than stopping the run.
 */
export function decodeClientResult(bytes: Uint8Array): KvResult {
  try {
    return decodeResult(bytes);
  } catch (error) {
    if (error instanceof CorruptionError) return { type: "invalid", reason: `the client accepted an undecodable result (${error.message})` };
    throw error;
  }
}
