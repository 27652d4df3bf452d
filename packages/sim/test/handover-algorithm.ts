import type { AlgorithmDefinition, NodeId, Ready, Replica, ReplicaStatus } from "@concord/core";
import { type ProbeLog, type ProbeMessage, type ProbeOptions, createProbeAlgorithm } from "./probe-algorithm.ts";

/** handoverTicks is when replica 1 gives up leading epoch 1 and replica 2 leads epoch 2. */
export const handoverTicks = 200;

/**
 * HandoverReplica reports, around the probe replica, a leadership that moves
 * by the clock: replica 1 leads epoch 1 until `handoverTicks`, then replica 2
 * leads epoch 2 (as a view change to the next primary would).
 */
class HandoverReplica implements Replica<ProbeMessage> {
  private ticks = 0;
  constructor(private readonly inner: Replica<ProbeMessage>) {}
  get id(): NodeId {
    return this.inner.id;
  }
  tick(): void {
    this.ticks++;
    this.inner.tick();
  }
  step(from: NodeId, message: ProbeMessage): void {
    this.inner.step(from, message);
  }
  ready(): Ready<ProbeMessage> | undefined {
    return this.inner.ready();
  }
  advance(done: Ready<ProbeMessage>): void {
    this.inner.advance(done);
  }
  status(): ReplicaStatus {
    const status = this.inner.status();
    const epoch = this.ticks < handoverTicks ? 1 : 2;
    const leader = epoch === 1 ? 1 : 2;
    return { ...status, epoch, leader, role: this.id === leader ? "primary" : "backup" };
  }
}

/** handoverAlgorithm is the probe algorithm (with `options`) whose leadership moves from replica 1 to replica 2 at handoverTicks, with the log its replicas fill in. */
export function handoverAlgorithm(options: ProbeOptions = {}): { algorithm: AlgorithmDefinition<ProbeMessage>; log: ProbeLog } {
  const { algorithm, log } = createProbeAlgorithm(options);
  return { algorithm: { ...algorithm, name: "handover", createReplica: (context) => new HandoverReplica(algorithm.createReplica(context)) }, log };
}
