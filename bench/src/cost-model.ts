// The simulator's CPU cost model as the benchmarks use it: calibrated on this
// machine by `pnpm bench:micro --calibrate` (cost-model-calibrate.ts) and
// committed as bench/cost-model.json, so that every `pnpm bench` charges the
// same, stated costs, and a report can say which figures it used.
import { existsSync, readFileSync } from "node:fs";
import { arch, cpus, platform, release, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type CpuModel, cpuSchema } from "@concord/sim";
import { z } from "zod";

/** costModelPath is where the committed calibration lives: bench/cost-model.json. */
export const costModelPath: string = join(dirname(fileURLToPath(import.meta.url)), "..", "cost-model.json");

/** calibrationTermSchema says how one figure of the cost model was derived: from which micro-benchmark tasks, by what arithmetic. */
export const calibrationTermSchema = z
  .object({
    /** field is the cost model's field, e.g. "perMessageUs". */
    field: z.string().min(1),
    valueUs: z.number().min(0),
    /** method says the arithmetic in one sentence. */
    method: z.string().min(1),
    /** tasks are the tinybench task names the figure came from, with their median time per iteration in microseconds. */
    tasks: z.array(z.object({ name: z.string().min(1), medianUs: z.number().min(0) }).strict()),
  })
  .strict();

/** machineSchema describes the machine a measurement was taken on. */
export const machineSchema = z
  .object({
    cpuModel: z.string(),
    cpus: z.number().int().min(1),
    platform: z.string(),
    release: z.string(),
    arch: z.string(),
    totalMemoryMb: z.number().int().min(0),
    node: z.string(),
  })
  .strict();

/** costModelFileSchema validates bench/cost-model.json: the CPU model, where and when it was measured, and how each figure was derived. */
export const costModelFileSchema = z
  .object({
    cpu: cpuSchema.required(),
    measuredAt: z.iso.datetime(),
    machine: machineSchema,
    command: z.string().min(1),
    terms: z.array(calibrationTermSchema).min(1),
  })
  .strict();

/** CostModelFile is a validated bench/cost-model.json. */
export type CostModelFile = z.output<typeof costModelFileSchema>;
/** Machine describes the machine a measurement was taken on. */
export type Machine = z.output<typeof machineSchema>;

/** currentMachine describes the machine this process runs on. */
export function currentMachine(): Machine {
  const cores = cpus();
  return {
    cpuModel: cores[0]?.model.trim() ?? "unknown",
    cpus: Math.max(1, cores.length),
    platform: platform(),
    release: release(),
    arch: arch(),
    totalMemoryMb: Math.round(totalmem() / 2 ** 20),
    node: process.version,
  };
}

/** benchCostModelSchema is what the matrix and the report record about the CPU model they charged: the figures, and where they came from. */
export const benchCostModelSchema = z
  .object({
    cpu: cpuSchema.required(),
    /** source says where the figures came from: the calibration file with its machine and date, or the fallback. */
    source: z.string().min(1),
  })
  .strict();

/** BenchCostModel is the CPU model a benchmark charged, with where its figures came from. */
export type BenchCostModel = z.output<typeof benchCostModelSchema>;

/**
 * fallbackCpu is charged when bench/cost-model.json is absent or invalid: round
 * figures of the order the calibration measured on a 2-core EPYC (December
 * 2026), so that saturation still exists; `source` says it is the fallback.
 */
export const fallbackCpu: CpuModel = { perMessageUs: 5, perKilobyteUs: 1, perMacUs: 2, perDigestUs: 2, perSignatureUs: 40, perVerifyUs: 90 };

/** readCostModelFile reads and validates a calibration file, throwing an error that names the field when it is invalid. */
export function readCostModelFile(path: string = costModelPath): CostModelFile {
  const parsed = costModelFileSchema.safeParse(JSON.parse(readFileSync(path, "utf8")));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${path}: ${issue === undefined ? "invalid" : `${issue.path.join(".") || "(root)"}: ${issue.message}`}`);
  }
  return parsed.data;
}

/**
 * benchCostModel returns the CPU cost model the benchmarks charge: the
 * committed calibration (bench/cost-model.json) when it is present and valid,
 * else {@link fallbackCpu}, with a `source` that says which, and for a
 * calibration, on what machine and when it was measured.
 */
export function benchCostModel(path: string = costModelPath): BenchCostModel {
  if (!existsSync(path)) return { cpu: fallbackCpu, source: `fallback figures (no ${path})` };
  try {
    const file = readCostModelFile(path);
    return { cpu: file.cpu, source: `calibrated by \`${file.command}\` on ${file.machine.cpus}x ${file.machine.cpuModel}, Node ${file.machine.node}, at ${file.measuredAt}` };
  } catch (error) {
    return { cpu: fallbackCpu, source: `fallback figures (${(error as Error).message})` };
  }
}
