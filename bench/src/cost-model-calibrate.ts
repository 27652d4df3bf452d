// Derives the simulator's CPU cost model from `pnpm bench:micro` measurements
// (`pnpm bench:micro --calibrate` writes the result to packages/sim/src/calibrated-cpu.ts,
// the simulator's default).
import type { CpuModel } from "@concord/sim";
import { type CostModelFile, type Machine, costModelFileSchema } from "./cost-model.ts";
import { calibrationTaskNames } from "./micro/calibration.ts";
import type { MicroTask } from "./micro/results/micro-results.ts";

/**
 * StepTask is a step-function task of the raft, multipaxos or pbft suites and
 * the messages one of its iterations steps into replicas, so that its mean
 * divided by them is a cost per message handled.
 */
interface StepTask {
  readonly name: string;
  readonly messages: number;
  /** why says where the count comes from (checked against the simulator's messages.byType, see predict.ts). */
  readonly why: string;
}

/**
 * stepTasks are the single-operation tasks, crypto off: each steps one client
 * request through a cluster until it is quiet. The counts are predict.ts's
 * normal-case counts less the replies (sent to clients, never stepped).
 */
export const stepTasks: readonly StepTask[] = [
  { name: "raft: 3 nodes in one process, one proposal committed, applied and answered", messages: 5, why: "1 clientRequest + 2 appendEntries + 2 appendResponse" },
  { name: "multipaxos: 3 nodes in one process, one proposal committed and applied", messages: 5, why: "1 clientRequest + 2 accept + 2 accepted" },
  {
    name: "pbft: 4 nodes in one process, 1 request per batch (no crypto)",
    messages: 25.75,
    why: "1 request + 3 prePrepare + 9 prepare + 12 commit + 12 checkpoint messages every 16 sequence numbers",
  },
];

/** codecTasks are the one-message codec round trips (encode at the sender plus decode at the receiver): the wire's cost per message. */
export const codecTasks: readonly string[] = [
  "raft: encode and decode an AppendEntries of one entry",
  "multipaxos: encode and decode an Accept of one command",
  calibrationTaskNames.codecSmall,
];

/** calibrationSuites are the micro-benchmark suites whose tasks the calibration reads. */
export const calibrationSuites: readonly string[] = ["calibration", "multipaxos", "pbft", "raft"];

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

function roundUs(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/**
 * calibrate derives the CPU cost model from micro-benchmark results:
 * perMessageUs is the median over protocols of a step task's median divided by
 * the messages it steps, plus the median codec round trip of a small message
 * (the simulator charges a message's whole cost to its receiver); perKilobyteUs
 * is the codec's slope between a 1-entry and a large AppendEntries; the crypto
 * figures are the simulator's own node:crypto primitives on a 256-byte input.
 * It throws, naming the task, when a task it needs is missing.
 */
export function calibrate(results: readonly MicroTask[], context: { readonly machine: Machine; readonly command: string; readonly measuredAt: string; readonly largeAppendKilobytes: number }): CostModelFile {
  const find = (name: string): MicroTask => {
    const task = results.find((result) => result.name === name);
    if (task === undefined) throw new Error(`calibration needs the micro-benchmark task "${name}", which did not run`);
    return task;
  };
  const steps = stepTasks.map((task) => ({ task: find(task.name), perMessageUs: find(task.name).medianUs / task.messages }));
  const codecs = codecTasks.map(find);
  const stepUs = median(steps.map((step) => step.perMessageUs));
  const codecUs = median(codecs.map((task) => task.medianUs));
  const small = find(calibrationTaskNames.codecSmall);
  const large = find(calibrationTaskNames.codecLarge);
  const perKilobyteUs = Math.max(0, (large.medianUs - small.medianUs) / context.largeAppendKilobytes);
  const crypto = { digest: find(calibrationTaskNames.digest), mac: find(calibrationTaskNames.mac), sign: find(calibrationTaskNames.sign), verify: find(calibrationTaskNames.verify) };
  const cpu: CpuModel = {
    perMessageUs: roundUs(stepUs + codecUs),
    perKilobyteUs: roundUs(perKilobyteUs),
    perMacUs: roundUs(crypto.mac.medianUs),
    perDigestUs: roundUs(crypto.digest.medianUs),
    perSignatureUs: roundUs(crypto.sign.medianUs),
    perVerifyUs: roundUs(crypto.verify.medianUs),
  };
  const taskFigures = (tasks: readonly MicroTask[]): { name: string; medianUs: number }[] => tasks.map((task) => ({ name: task.name, medianUs: roundUs(task.medianUs) }));
  const file: CostModelFile = {
    cpu,
    measuredAt: context.measuredAt,
    machine: context.machine,
    command: context.command,
    terms: [
      {
        field: "perMessageUs",
        valueUs: cpu.perMessageUs,
        method: `median over protocols of a single-operation step task's mean per message stepped (${stepTasks.map((task, i) => `${task.name.split(":")[0]}: ${roundUs(steps[i]?.perMessageUs ?? 0)} us over ${task.messages} = ${task.why}`).join("; ")}) = ${roundUs(stepUs)} us, plus the median codec round trip of one small message, ${roundUs(codecUs)} us`,
        tasks: taskFigures([...steps.map((step) => step.task), ...codecs]),
      },
      {
        field: "perKilobyteUs",
        valueUs: cpu.perKilobyteUs,
        method: `codec round trip of the large AppendEntries less the 1-entry one, over the ${roundUs(context.largeAppendKilobytes)} KiB between them`,
        tasks: taskFigures([small, large]),
      },
      { field: "perMacUs", valueUs: cpu.perMacUs, method: "median of one HMAC-SHA256 by the simulator's NodeCrypto", tasks: taskFigures([crypto.mac]) },
      { field: "perDigestUs", valueUs: cpu.perDigestUs, method: "median of one SHA-256 by the simulator's NodeCrypto", tasks: taskFigures([crypto.digest]) },
      { field: "perSignatureUs", valueUs: cpu.perSignatureUs, method: "median of one Ed25519 signature by the simulator's NodeCrypto", tasks: taskFigures([crypto.sign]) },
      { field: "perVerifyUs", valueUs: cpu.perVerifyUs, method: "median of one Ed25519 verification by the simulator's NodeCrypto", tasks: taskFigures([crypto.verify]) },
    ],
  };
  return costModelFileSchema.parse(file);
}
