import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { calibrate, codecTasks, stepTasks } from "../src/cost-model-calibrate.ts";
import { benchCostModel, costModelFileSchema, costModelPath, currentMachine, fallbackCpu, readCostModelFile } from "../src/cost-model.ts";
import { calibrationTaskNames } from "../src/micro/calibration.ts";
import type { MicroTask } from "../src/micro/results/micro-results.ts";

function task(name: string, medianUs: number): MicroTask {
  return { suite: "test", name, meanUs: medianUs, medianUs, p99Us: medianUs, opsPerSec: 1e6 / medianUs, rmePercent: 1, samples: 100 };
}

describe("the CPU cost model", () => {
  it("committed in bench/cost-model.json validates, names its machine and date, and is what benchCostModel returns", () => {
    const file = readCostModelFile();
    expect(costModelFileSchema.safeParse(file).success).toBe(true);
    expect(file.machine.cpus).toBeGreaterThan(0);
    expect(Date.parse(file.measuredAt)).toBeGreaterThan(Date.parse("2026-01-01"));
    for (const value of Object.values(file.cpu)) expect(value).toBeGreaterThan(0);
    const model = benchCostModel();
    expect(model.cpu).toEqual(file.cpu);
    expect(model.source).toContain(file.measuredAt);
  });

  it("falls back to stated figures, and says why, when the file is missing or invalid", () => {
    const dir = mkdtempSync(join(tmpdir(), "cost-model-"));
    expect(benchCostModel(join(dir, "absent.json"))).toEqual({ cpu: fallbackCpu, source: expect.stringContaining("fallback figures (no ") });
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ cpu: { perMessageUs: -1 } }));
    expect(benchCostModel(bad).source).toMatch(/fallback figures \(.*cpu/);
    expect(costModelPath.endsWith(join("bench", "cost-model.json"))).toBe(true);
  });

  it("is calibrated from the micro-benchmarks: step cost per message plus a codec round trip, the codec's slope, the crypto primitives", () => {
    const results = [
      ...stepTasks.map((step) => task(step.name, step.messages * 2)),
      ...codecTasks.map((name) => task(name, name === calibrationTaskNames.codecSmall ? 3 : 3)),
      task(calibrationTaskNames.codecLarge, 3 + 16 * 1.5),
      task(calibrationTaskNames.mac, 2.5),
      task(calibrationTaskNames.digest, 1.25),
      task(calibrationTaskNames.sign, 25),
      task(calibrationTaskNames.verify, 70),
    ];
    const file = calibrate(results, { machine: currentMachine(), command: "pnpm bench:micro --calibrate", measuredAt: "2026-12-04T20:00:00.000Z", largeAppendKilobytes: 16 });
    expect(file.cpu).toEqual({ perMessageUs: 5, perKilobyteUs: 1.5, perMacUs: 2.5, perDigestUs: 1.25, perSignatureUs: 25, perVerifyUs: 70 });
    expect(file.terms.map((term) => term.field)).toEqual(["perMessageUs", "perKilobyteUs", "perMacUs", "perDigestUs", "perSignatureUs", "perVerifyUs"]);
    expect(() => calibrate(results.slice(1), { machine: currentMachine(), command: "x", measuredAt: "2026-12-04T20:00:00.000Z", largeAppendKilobytes: 16 })).toThrow(/needs the micro-benchmark task "raft: 3 nodes/);
  });
});
