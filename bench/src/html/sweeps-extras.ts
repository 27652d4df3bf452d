import type { Sweeps } from "../sweeps/index.ts";
import type { PredictionRow } from "./page.ts";
import type { HtmlReportExtras } from "./report.ts";

/**
 * sweepsHtmlExtras maps the sweeps' section of results.json onto report.html's
 * sweep charts and its measured/predicted table. The measured saturation is
 * the peak the ladder reached and the predicted one the queueing model's peak
 * at the batch the runs formed there, so the two rules compare like with like
 * (below saturation, offered load and throughput coincide). A model peak of 0
 * means the model found no bound, and is left out rather than drawn at zero.
 */
export function sweepsHtmlExtras(sweeps: Sweeps): Required<HtmlReportExtras> {
  const modelPeak = (peak: number): { predictedSaturationOpsPerSec: number } | Record<string, never> => (peak > 0 ? { predictedSaturationOpsPerSec: peak } : {});
  const latencyThroughput = sweeps.latencyThroughput.map((curve) => ({
    series: `${curve.algo} n=${curve.nodes} (f=${curve.f})`,
    steps: curve.points.map((point) => ({ offeredOpsPerSec: point.offeredOpsPerSec, p50Ms: point.p50Ms, p99Ms: point.p99Ms, modelLatencyMs: point.modelLatencyMs })),
    saturationOpsPerSec: curve.saturation.peakOpsPerSec.median,
    ...modelPeak(curve.model.peakBatchedOpsPerSec),
  }));
  const scalability = sweeps.scalability.map((point) => ({
    algo: point.algo,
    nodes: point.nodes,
    messagesPerOp: point.messagesPerOp,
    peakThroughputOpsPerSec: point.peakOpsPerSec,
    predictedMessagesPerOp: point.predictedMessagesPerOp,
    ...(point.model.peakBatchedOpsPerSec > 0 ? { predictedPeakThroughputOpsPerSec: point.model.peakBatchedOpsPerSec } : {}),
  }));
  const predictions: PredictionRow[] = [
    ...sweeps.latencyThroughput.flatMap((curve) =>
      curve.model.peakBatchedOpsPerSec > 0
        ? [{ series: `${curve.algo} n=${curve.nodes} (f=${curve.f})`, figure: "peak throughput against the queueing model", unit: "ops/s", measured: curve.saturation.peakOpsPerSec.median, predicted: curve.model.peakBatchedOpsPerSec }]
        : [],
    ),
    ...sweeps.scalability.map((point) => ({ series: `${point.algo} n=${point.nodes}`, figure: "messages per operation at light load", unit: "msgs", measured: point.messagesPerOp.median, predicted: point.predictedMessagesPerOp })),
  ];
  return { latencyThroughput, scalability, predictions };
}
