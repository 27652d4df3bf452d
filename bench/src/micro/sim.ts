// Micro-benchmarks of the simulator itself: its event loop (delivered messages per
// wall second, encoding off; DESIGN.md's target is 1,000,000), whole runs of Raft and
// PBFT under `steady` (simulated operations per wall second, issue 18) and its event queue.
import { type AlgorithmDefinition, type ClientWireMessage, LeaderClient, type NodeId, type Outbound, type Ready, type Replica, type ReplicaStatus, createRng, solo } from "@concord/core";
import { pbft } from "@concord/pbft";
import { raft } from "@concord/raft";
import { runSimulation } from "@concord/sim";
import { EventQueue } from "@concord/sim/internals";
import type { Bench } from "tinybench";

/** TokenMessage is a token passed around a ring of replicas, or the client traffic the ring never serves. */
type TokenMessage = { readonly type: "token" } | ClientWireMessage;

const token: TokenMessage = { type: "token" };

/**
 * TokenRingReplica passes every token it receives to the next replica at
 * once: the cheapest replica possible, so that a run measures the simulator's
 * own cost per delivered message (network, queue, dispatch, Ready handling).
 */
class TokenRingReplica implements Replica<TokenMessage> {
  private outbox: Outbound<TokenMessage>[] = [];
  private readonly next: NodeId;

  constructor(
    readonly id: NodeId,
    replicas: readonly NodeId[],
    tokens: number,
  ) {
    this.next = replicas[(replicas.indexOf(id) + 1) % replicas.length] as NodeId;
    for (let i = 0; i < tokens; i++) this.outbox.push({ to: this.next, message: token });
  }

  tick(): void {}

  step(_from: NodeId, message: TokenMessage): void {
    if (message.type === "token") this.outbox.push({ to: this.next, message });
  }

  ready(): Ready<TokenMessage> | undefined {
    if (this.outbox.length === 0) return undefined;
    const ready: Ready<TokenMessage> = { snapshot: undefined, persist: [], messages: this.outbox };
    this.outbox = [];
    return ready;
  }

  advance(): void {}

  status(): ReplicaStatus {
    return { id: this.id, role: "follower", epoch: 0, leader: undefined, commitIndex: 0, appliedIndex: 0 };
  }
}

const tokensPerReplica = 100;

/** tokenRing is the token ring as an algorithm; its clients are never used (the run has no operations). */
const tokenRing: AlgorithmDefinition<TokenMessage> = {
  name: "token-ring",
  description: "Replicas pass tokens around a ring (a simulator benchmark).",
  faultModel: "crash",
  codec: {
    encode: (message) => new TextEncoder().encode(JSON.stringify(message)),
    decode: (bytes) => JSON.parse(new TextDecoder().decode(bytes)) as TokenMessage,
    typeName: (message) => message.type,
  },
  clusterSizeError: () => undefined,
  replicasToTolerate: (f) => f + 1,
  faultsTolerated: () => 0,
  createReplica: (context) => new TokenRingReplica(context.id, context.replicas, tokensPerReplica),
  createClient: (context) => new LeaderClient<TokenMessage>(context, { retryTicks: 10, giveUpTicks: 100 }),
  createMonitors: () => [],
  byzantineStrategies: [],
  analyticMessagesPerOp: () => 0,
  oneWayDelaysPerOp: 0,
};

// 3 replicas x 100 tokens, one hop per 1 ms of virtual time: 300 deliveries per virtual ms.
const ringVirtualMs = 1000;
const ringMessages = 3 * tokensPerReplica * ringVirtualMs;

function runRing(): void {
  const result = runSimulation({
    algorithm: tokenRing,
    nodes: 3,
    seed: 1,
    encode: false,
    // No CPU charged: the calibrated model's cost per message would slow the ring in virtual time (about 190,000
    // deliveries in the second instead of 300,000), and the task measures the simulator's own cost per delivery.
    cpu: "none",
    scenario: { name: "token-ring", description: "Tokens only.", workload: { ops: 0, clients: 1 }, healAtMs: ringVirtualMs },
  });
  if (Math.abs(result.messages.total - ringMessages) > 3 * tokensPerReplica) throw new Error(`token ring delivered ${result.messages.total} messages`);
}

function runSolo(encode: boolean): void {
  const result = runSimulation({
    algorithm: solo,
    nodes: 1,
    seed: 1,
    encode,
    scenario: { name: "solo-steady", description: "Solo, closed loop.", workload: { ops: 10_000, clients: 16, finalReads: false } },
  });
  if (result.ops.completed !== 10_000) throw new Error(`solo completed ${result.ops.completed} operations`);
}

/** steadyOps is how many operations one run of an algorithm under `steady` completes (issue 18 measures operations per wall second). */
const steadyOps = { raft: 2000, pbft: 1000 } as const;

/** runSteady runs an algorithm under `steady` with encoding on, as `concord sim` does. */
function runSteady(name: keyof typeof steadyOps, nodes: number): void {
  const ops = steadyOps[name];
  const result = runSimulation({ algorithm: name === "raft" ? raft : pbft, nodes, seed: 1, scenario: "steady", ops });
  if (result.ops.completed !== ops) throw new Error(`${name} completed ${result.ops.completed} of ${ops} operations`);
}

const queueSize = 1024;
const queueRounds = 1000;
const queue = new EventQueue(queueSize);
const queueRng = createRng(1);
const offsetsUs = Array.from({ length: 4096 }, () => queueRng.nextInt(10_000));
let offsetIndex = 0;
for (let i = 0; i < queueSize; i++) queue.push(offsetsUs[i] as number, 0, i, undefined);

/** churnQueue pops the earliest event and pushes one a random offset later, `queueRounds` times, at a steady 1,024 queued. */
function churnQueue(): void {
  for (let i = 0; i < queueRounds; i++) {
    queue.pop();
    offsetIndex = (offsetIndex + 1) & 4095;
    queue.push(queue.poppedTimeUs + (offsetsUs[offsetIndex] as number), 0, i, undefined);
  }
}

/** register adds the simulator's micro-benchmarks; multiply a task's ops/s by its size (in its name) for events per second. */
export function register(bench: Bench): void {
  bench.add(`sim: event loop, token ring, ${ringMessages.toLocaleString("en-US")} delivered messages per op (encode off)`, runRing);
  bench.add("sim: solo steady, 10,000 operations (20,000 messages) per op (encode off)", () => runSolo(false));
  bench.add("sim: solo steady, 10,000 operations (20,000 messages) per op (encode on)", () => runSolo(true));
  bench.add(`sim: raft n = 3 steady, ${steadyOps.raft.toLocaleString("en-US")} operations per op (encode on)`, () => runSteady("raft", 3));
  bench.add(`sim: pbft n = 4 steady, ${steadyOps.pbft.toLocaleString("en-US")} operations per op (encode on)`, () => runSteady("pbft", 4));
  bench.add(`sim: EventQueue pop + push at ${queueSize} queued, ${queueRounds} pairs per op`, churnQueue);
}
