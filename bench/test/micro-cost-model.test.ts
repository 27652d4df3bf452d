import { readFileSync } from "node:fs";
import { cpuCalibration, resolveScenario, scenarioNames } from "@concord/sim";
import { describe, expect, it } from "vitest";
import { calibrate, codecTasks, stepTasks } from "../src/cost-model-calibrate.ts";
import { benchCostModel, calibratedCpuModule, calibratedCpuPath, costModelFileSchema, currentMachine } from "../src/cost-model.ts";
import { calibrationTaskNames } from "../src/micro/calibration.ts";
import type { MicroTask } from "../src/micro/results/micro-results.ts";

function task(name: string, medianUs: number): MicroTask {
  return { suite: "test", name, meanUs: medianUs, medianUs, p99Us: medianUs, opsPerSec: 1e6 / medianUs, rmePercent: 1, samples: 100 };
}

describe("the CPU cost model", () => {
  it("committed as the simulator's calibrated default validates, names its machine and date, and is what the bench and a scenario without its own charge", () => {
    const file = costModelFileSchema.parse(cpuCalibration);
    expect(file.machine.cpus).toBeGreaterThan(0);
    expect(Date.parse(file.measuredAt)).toBeGreaterThan(Date.parse("2026-01-01"));
    for (const value of Object.values(file.cpu)) expect(value).toBeGreaterThan(0);
    const model = benchCostModel();
    expect(model.cpu).toEqual(file.cpu);
    expect(model.source).toContain(file.measuredAt);
    expect(resolveScenario({ name: "plain", description: "" }).cpu).toEqual(file.cpu);
    for (const name of scenarioNames) expect(resolveScenario(name).cpu, name).toEqual(file.cpu);
    expect(resolveScenario({ name: "free", description: "", cpu: "none" }).cpu).toEqual({ perMessageUs: 0, perKilobyteUs: 0, perMacUs: 0, perDigestUs: 0, perSignatureUs: 0, perVerifyUs: 0 });
  });

  it("is written by --calibrate as the module the simulator imports, byte for byte what is committed", () => {
    expect(calibratedCpuModule(costModelFileSchema.parse(cpuCalibration))).toBe(readFileSync(calibratedCpuPath, "utf8"));
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
