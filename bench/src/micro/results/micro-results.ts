// The shape of micro.json, which `pnpm bench:micro` writes beside the other results.
// (In a folder of its own: every .ts file directly in bench/src/micro is a suite.)
import type { TaskResult } from "tinybench";
import { z } from "zod";
import { machineSchema } from "../../cost-model.ts";

/** microTaskSchema is one task's figures: mean, median and p99 time per iteration in microseconds, iterations per second, relative margin of error, samples, or the error it threw. */
export const microTaskSchema = z
  .object({
    suite: z.string(),
    name: z.string().min(1),
    meanUs: z.number().min(0),
    /** medianUs is the median time per iteration: on a shared machine, steadier than the mean, which preemption and GC pauses drag up. */
    medianUs: z.number().min(0),
    p99Us: z.number().min(0),
    /** opsPerSec is tinybench's mean throughput: the mean over samples of iterations per second (above 1e6 / meanUs when a few slow samples drag the mean time up). */
    opsPerSec: z.number().min(0),
    rmePercent: z.number().min(0),
    samples: z.number().int().min(0),
    error: z.string().optional(),
  })
  .strict();

/** microResultsSchema validates micro.json: the command, when and on what machine (and Node) it ran, the suites and each task's figures. */
export const microResultsSchema = z
  .object({
    command: z.string().min(1),
    startedAt: z.iso.datetime(),
    /** timeMs is how long tinybench sampled each task. */
    timeMs: z.number().positive(),
    machine: machineSchema,
    suites: z.array(z.string()),
    tasks: z.array(microTaskSchema),
  })
  .strict();

/** MicroTask is one task's figures in micro.json. */
export type MicroTask = z.output<typeof microTaskSchema>;
/** MicroResults is a validated micro.json. */
export type MicroResults = z.output<typeof microResultsSchema>;

/** taskResult turns tinybench's result for a task into micro.json's figures (tinybench measures in milliseconds). */
export function taskResult(suite: string, name: string, result: TaskResult | undefined): MicroTask {
  if (result === undefined || !("latency" in result) || !("throughput" in result)) {
    const error = result !== undefined && "error" in result ? String((result as { error: unknown }).error) : `no result (${result?.state ?? "not run"})`;
    return { suite, name, meanUs: 0, medianUs: 0, p99Us: 0, opsPerSec: 0, rmePercent: 0, samples: 0, error };
  }
  return {
    suite,
    name,
    meanUs: result.latency.mean * 1000,
    medianUs: result.latency.p50 * 1000,
    p99Us: result.latency.p99 * 1000,
    opsPerSec: result.throughput.mean,
    rmePercent: Number.isFinite(result.latency.rme) ? result.latency.rme : 0,
    samples: result.latency.samplesCount,
  };
}
