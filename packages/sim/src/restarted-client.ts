// A client restarted with its old id (issue 21, bug 7), run against any
// algorithm: a tiny synchronous runtime over the AlgorithmDefinition alone, so
// that solo, Raft, Multi-Paxos and PBFT are tried by the same schedule. Each
// protocol's tests call it; it lives here, beside the other runtime, so that
// they import it by package name.
import {
  createRng,
  emptyDurableState,
  firstClientId,
  type AlgorithmDefinition,
  type Client,
  type Completion,
  type Crypto,
  type NodeId,
  type Outbound,
  type ProtocolOptions,
  ReplicaHost,
} from "@concord/core";
import { KvStateMachine, decodeResult, encodeCommand, type KvCommand, type KvResult } from "@concord/kv";
import { SimStorage } from "./sim-storage.ts";

/** RestartSetup says how to build the cluster: its replica ids, options and each node's cryptography. */
export interface RestartSetup {
  readonly replicas: readonly NodeId[];
  readonly options: ProtocolOptions;
  /** crypto builds each node's cryptography; the default one refuses every call (crash-fault protocols use none). */
  readonly crypto?: (id: NodeId) => Crypto;
  /** ticksMax bounds each phase; a phase that needs more is a liveness failure of the test. */
  readonly ticksMax?: number;
  /** firstSequence starts both client objects there (ClientContext.firstSequence), say near 2^32 or 2^53. */
  readonly firstSequence?: number;
}

/** RestartRun is what the schedule observed. */
export interface RestartRun {
  /** first is the old client object's result for `put x a`. */
  readonly first: KvResult | string;
  /** second is the restarted client object's result for `cas x a -> b`, under the same id. */
  readonly second: KvResult | string;
  /** sequences are the sequences the two objects gave their first requests. */
  readonly sequences: readonly [number, number];
  /** values is x on every replica after the old object's late retry was delivered again. */
  readonly values: readonly (string | undefined)[];
}

const text = new TextEncoder();
const clientId = firstClientId;

const refuse = (): never => {
  throw new Error("runRestartedClient: this algorithm needs a crypto; pass setup.crypto");
};
const noCrypto: Crypto = { digest: refuse, mac: refuse, sign: refuse, verify: refuse, macKey: refuse };

/**
 * runRestartedClient runs the schedule: client object A (id X) writes `put x a`
 * and gets its answer; A is dropped and a new object B with the same id X
 * writes `cas x a -> b`; then A's request, still in the network, arrives once
 * more at every replica. B must get its own answer (`cas ok`), never A's cached
 * `put`, and x must be `b` everywhere: B's write applied once, A's not again.
 */
export function runRestartedClient<M>(algorithm: AlgorithmDefinition<M>, setup: RestartSetup): RestartRun {
  const runtime = new TinyRuntime(algorithm, setup);
  const a = runtime.connect(1);
  const first = runtime.call(a, { type: "put", key: "x", value: text.encode("a") });
  const lateRetry = runtime.lastRequests();
  const b = runtime.connect(2);
  const second = runtime.call(b, { type: "cas", key: "x", expected: text.encode("a"), value: text.encode("b") });
  runtime.redeliver(lateRetry);
  return { first: first.result, second: second.result, sequences: [first.sequence, second.sequence], values: runtime.values("x") };
}

class TinyRuntime<M> {
  private readonly replicas = new Map<NodeId, ReplicaHost<M>>();
  private readonly machines = new Map<NodeId, KvStateMachine>();
  private client: Client<M> | undefined;
  private readonly sentByClient: Outbound<M>[] = [];
  private queue: { from: NodeId; to: NodeId; message: M }[] = [];
  private completions: Completion[] = [];
  private readonly ticksMax: number;
  private readonly crypto: (id: NodeId) => Crypto;

  constructor(
    private readonly algorithm: AlgorithmDefinition<M>,
    private readonly setup: RestartSetup,
  ) {
    this.ticksMax = setup.ticksMax ?? 2_000;
    this.crypto = setup.crypto ?? (() => noCrypto);
    for (const id of setup.replicas) {
      const machine = new KvStateMachine();
      this.machines.set(id, machine);
      const replica = algorithm.createReplica({
        id,
        replicas: setup.replicas,
        rng: createRng(100 + id),
        durable: emptyDurableState,
        stateMachine: machine,
        crypto: this.crypto(id),
        options: setup.options,
      });
      // Its disk syncs at once and is never read back: this schedule crashes no replica.
      const send = (from: NodeId, messages: readonly Outbound<M>[]): void => {
        for (const out of messages) this.queue.push({ from, to: out.to, message: this.roundTrip(out.message) });
      };
      this.replicas.set(id, new ReplicaHost(replica, new SimStorage(), send));
    }
  }

  /** connect builds a new client object under the one client id, with its own Rng stream (so its own session key). */
  connect(seed: number): Client<M> {
    const start = this.setup.firstSequence === undefined ? {} : { firstSequence: this.setup.firstSequence };
    this.client = this.algorithm.createClient({
      id: clientId,
      replicas: this.setup.replicas,
      rng: createRng(seed),
      crypto: this.crypto(clientId),
      options: this.setup.options,
      ...start,
    });
    this.sentByClient.length = 0;
    return this.client;
  }

  /** call submits one command and runs until the client completes it. */
  call(client: Client<M>, command: KvCommand): { sequence: number; result: KvResult | string } {
    const submitted = client.submit(encodeCommand(command), { readOnly: false });
    if (submitted.kind !== "accepted") return { sequence: 0, result: `rejected: ${submitted.rejection.kind}` };
    for (let tick = 0; tick < this.ticksMax; tick++) {
      this.deliverAll();
      const done = this.completions.find((completion) => completion.sequence === submitted.sequence);
      if (done !== undefined) {
        this.completions = [];
        const result = done.outcome.kind === "ok" ? decodeResult(done.outcome.result) : `${done.outcome.kind}: ${done.outcome.rejection.kind}`;
        return { sequence: submitted.sequence, result };
      }
      for (const replica of this.replicas.values()) replica.tick();
      client.tick();
    }
    return { sequence: submitted.sequence, result: `no completion in ${this.ticksMax} ticks` };
  }

  /** lastRequests returns the current client object's latest message to each replica, to be delivered again later. */
  lastRequests(): Outbound<M>[] {
    const last = new Map<NodeId, Outbound<M>>();
    for (const out of this.sentByClient) last.set(out.to, out);
    return [...last.values()];
  }

  /** redeliver hands messages the old client object sent to the replicas again, and lets the cluster settle. */
  redeliver(messages: readonly Outbound<M>[]): void {
    for (const replica of this.setup.replicas) {
      const message = messages.find((out) => out.to === replica)?.message ?? messages[0]?.message;
      if (message !== undefined) this.queue.push({ from: clientId, to: replica, message: this.roundTrip(message) });
    }
    for (let tick = 0; tick < 50; tick++) {
      this.deliverAll();
      for (const replica of this.replicas.values()) replica.tick();
    }
    this.deliverAll();
  }

  values(key: string): (string | undefined)[] {
    return this.setup.replicas.map((id) => {
      const value = this.machines.get(id)?.store.get(key);
      return value === undefined ? undefined : new TextDecoder().decode(value);
    });
  }

  private roundTrip(message: M): M {
    return this.algorithm.codec.decode(this.algorithm.codec.encode(message));
  }

  private collect(): void {
    for (const host of this.replicas.values()) host.drain();
    const client = this.client;
    const ready = client?.ready();
    if (client !== undefined && ready !== undefined) {
      for (const out of ready.messages) {
        this.sentByClient.push(out);
        this.queue.push({ from: clientId, to: out.to, message: this.roundTrip(out.message) });
      }
      this.completions.push(...ready.completions);
      client.advance(ready);
    }
  }

  private deliverAll(): void {
    for (let delivered = 0; delivered < 100_000; delivered++) {
      this.collect();
      const envelope = this.queue.shift();
      if (envelope === undefined) return;
      if (envelope.to === clientId) this.client?.step(envelope.from, envelope.message);
      else this.replicas.get(envelope.to)?.step(envelope.from, envelope.message);
    }
    throw new Error("the network did not go quiet");
  }
}
