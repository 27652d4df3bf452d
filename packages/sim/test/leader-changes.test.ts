import { describe, expect, test } from "vitest";
import type { AlgorithmDefinition, NodeId, Ready, Replica, ReplicaStatus } from "@concord/core";
import { type ScenarioInput, type SimulationOptions, runSimulation } from "@concord/sim";
import { type ProbeMessage, createProbeAlgorithm } from "./probe-algorithm.ts";
import { replayOf } from "./helpers.ts";

/** handoverTicks is when replica 1 gives up leading epoch 1 and replica 2 leads epoch 2. */
const handoverTicks = 200;

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

function handoverAlgorithm(): AlgorithmDefinition<ProbeMessage> {
  const { algorithm } = createProbeAlgorithm();
  return { ...algorithm, name: "handover", createReplica: (context) => new HandoverReplica(algorithm.createReplica(context)) };
}

const quiet: ScenarioInput = { name: "handover", description: "No workload; the run lasts until the heal at 1 s.", tickMs: 1, disk: { syncMs: 0 }, workload: { ops: 0 }, healAtMs: 1000 };

describe("leaderChanges", () => {
  test("counts a change of leader and epoch", () => {
    const options: SimulationOptions = { algorithm: handoverAlgorithm(), nodes: 3, scenario: quiet, seed: 1 };
    expect(runSimulation(options).leaderChanges, replayOf(options)).toBe(1);
  });

  test("counts a change away from a faulty leader too (a view its silent primary led, then lost)", () => {
    const options: SimulationOptions = { algorithm: handoverAlgorithm(), nodes: 3, scenario: quiet, seed: 1, byzantineNodes: [1], byzantineStrategy: "silent" };
    const result = runSimulation(options);
    expect(result.byzantineNodes, replayOf(options)).toEqual([1]);
    expect(result.leaderChanges, replayOf(options)).toBe(1);
  });
});
