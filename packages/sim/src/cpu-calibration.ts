// The shape of the simulator's calibrated CPU cost model (calibrated-cpu.ts), and the words that say where its
// figures came from. The figures themselves are written by `pnpm bench:micro --calibrate`, never by hand.
import type { CpuModel } from "./scenario.ts";

/** CpuCalibrationMachine describes the machine a calibration was measured on. */
export interface CpuCalibrationMachine {
  readonly cpuModel: string;
  readonly cpus: number;
  readonly platform: string;
  readonly release: string;
  readonly arch: string;
  readonly totalMemoryMb: number;
  readonly node: string;
}

/** CpuCalibrationTerm says how one figure was derived: from which micro-benchmark tasks (median microseconds per iteration), by what arithmetic. */
export interface CpuCalibrationTerm {
  readonly field: string;
  readonly valueUs: number;
  readonly method: string;
  readonly tasks: readonly { readonly name: string; readonly medianUs: number }[];
}

/**
 * CpuCalibration is a CPU cost model measured by `pnpm bench:micro --calibrate`: the figures, the machine, the date
 * and the command, and per figure the tasks and the arithmetic, so that a report can say which figures it charged.
 */
export interface CpuCalibration {
  readonly cpu: CpuModel;
  readonly measuredAt: string;
  readonly machine: CpuCalibrationMachine;
  readonly command: string;
  readonly terms: readonly CpuCalibrationTerm[];
}

/** noCpu is the free CPU (`cpu: "none"`, `concord sim --cpu none`): every figure 0, so that only links and disks take time. */
export const noCpu: CpuModel = { perMessageUs: 0, perKilobyteUs: 0, perMacUs: 0, perDigestUs: 0, perSignatureUs: 0, perVerifyUs: 0 };

/** calibrationSource says in one line where a calibration's figures came from: its command, machine, Node version and date. */
export function calibrationSource(calibration: CpuCalibration): string {
  return `calibrated by \`${calibration.command}\` on ${calibration.machine.cpus}x ${calibration.machine.cpuModel}, Node ${calibration.machine.node}, at ${calibration.measuredAt}`;
}

/** sameCpu says whether two CPU cost models charge the same figures. */
export function sameCpu(a: CpuModel, b: CpuModel): boolean {
  return (
    a.perMessageUs === b.perMessageUs &&
    a.perKilobyteUs === b.perKilobyteUs &&
    a.perMacUs === b.perMacUs &&
    a.perDigestUs === b.perDigestUs &&
    a.perSignatureUs === b.perSignatureUs &&
    a.perVerifyUs === b.perVerifyUs
  );
}
