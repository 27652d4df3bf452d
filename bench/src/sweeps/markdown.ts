// The sweeps' section of report.md: tables a reader can compare at a glance,
// each measured figure beside the model's.
import { renderTable } from "@concord/lab";
import type { Spread } from "./plan.ts";
import type { Sweeps } from "./index.ts";

function figure(value: number, digits = 0): string {
  return value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function withRange(value: Spread, digits = 0): string {
  return value.min === value.max ? figure(value.median, digits) : `${figure(value.median, digits)} (${figure(value.min, digits)}-${figure(value.max, digits)})`;
}

function ratio(value: number | null): string {
  return value === null ? "-" : `${value.toFixed(2)}x`;
}

/**
 * sweepsMarkdown renders the sweeps as report.md's section: the CPU model
 * they charged, one table per latency-throughput curve (offered rate,
 * achieved, p50, p99, the M/D/1 latency), a table of saturation points beside
 * the queueing model, and the scalability table with predictions beside.
 */
export function sweepsMarkdown(sweeps: Sweeps): string {
  const cpu = sweeps.cpu;
  const lines = [
    "## Latency against throughput, and scalability in n",
    "",
    `Workload: ${sweeps.workload}; seeds ${sweeps.seeds.join(", ")} (median, with min-max when they differ)${sweeps.quick ? "; quick run" : ""}. ` +
      `CPU model: the calibrated one x ${sweeps.cpuScale} (${sweeps.costModel.source}): ${figure(cpu.perMessageUs, 1)} us per message, ${figure(cpu.perKilobyteUs, 1)} us per KiB, ${figure(cpu.perMacUs, 1)} us per MAC, ${figure(cpu.perDigestUs, 1)} us per digest.`,
    "",
    "### Saturation beside the queueing model",
    "",
    "`knee` is the lowest offered rate past saturation; `model` is the M/D/1 model's peak, unbatched and at the batch the runs formed at the peak.",
    "",
    "```",
    renderTable([
      ["algo", "n", "f", "peak ops/s", "knee ops/s", "batch", "model unbatched", "model at batch", "peak / model"],
      ...sweeps.latencyThroughput.map((curve) => [
        curve.algo,
        String(curve.nodes),
        String(curve.f),
        withRange(curve.saturation.peakOpsPerSec),
        curve.saturation.offeredOpsPerSec === null ? "not reached" : figure(curve.saturation.offeredOpsPerSec),
        figure(curve.saturation.batchOpsAtPeak, 1),
        figure(curve.model.peakUnbatchedOpsPerSec),
        figure(curve.model.peakBatchedOpsPerSec),
        ratio(curve.peakOverModel),
      ]),
    ]).trimEnd(),
    "```",
    "",
  ];
  for (const curve of sweeps.latencyThroughput) {
    lines.push(
      `### ${curve.algo} n=${curve.nodes} (f=${curve.f})`,
      "",
      "```",
      renderTable([
        ["offered ops/s", "achieved ops/s", "p50 ms", "p99 ms", "M/D/1 ms", "msgs/op", "batch"],
        ...curve.points.map((point) => [
          figure(point.offeredOpsPerSec),
          withRange(point.achievedOpsPerSec),
          withRange(point.p50Ms, 2),
          withRange(point.p99Ms, 2),
          point.modelLatencyMs === null ? "saturated" : figure(point.modelLatencyMs, 2),
          figure(point.messagesPerOp.median, 2),
          figure(point.batchOps.median, 1),
        ]),
      ]).trimEnd(),
      "```",
      "",
    );
  }
  lines.push(
    "### Scalability in n",
    "",
    "`msgs/op` at a light load beside the prediction at the batch formed there; `peak` offered 1.5 x the model's batched peak, beside the model at the batch formed.",
    "",
    "```",
    renderTable([
      ["algo", "n", "msgs/op", "predicted", "ratio", "peak ops/s", "model", "ratio"],
      ...sweeps.scalability.map((point) => [
        point.algo,
        String(point.nodes),
        withRange(point.messagesPerOp, 2),
        figure(point.predictedMessagesPerOp, 2),
        ratio(point.messagesOverPredicted),
        withRange(point.peakOpsPerSec),
        figure(point.model.peakBatchedOpsPerSec),
        ratio(point.peakOverModel),
      ]),
    ]).trimEnd(),
    "```",
    "",
  );
  return lines.join("\n");
}
