// The arithmetic of `pnpm bench:anchors`: medians, ratios, and whether two
// checkers' verdicts on one history agree.
import type { Verdict } from "@concord/check";

/** median is the middle of `samples` (the mean of the two middle ones for an even count); NaN for none. */
export function median(samples: readonly number[]): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** VerdictComparison is whether Concord's verdict and porcupine's agree, and if not, the one-line error. */
export type VerdictComparison = { readonly agree: true; readonly verdict: "linearizable" | "not linearizable" } | { readonly agree: false; readonly error: string };

/**
 * compareVerdicts compares Concord's verdict on a history with porcupine's
 * (true: linearizable). "unknown" never agrees: porcupine always decides, so
 * a Concord search that gave up is a miss to report, not a match.
 */
export function compareVerdicts(history: string, concord: Verdict, porcupineLinearizable: boolean): VerdictComparison {
  const porcupine = porcupineLinearizable ? "linearizable" : "not linearizable";
  if (concord.kind === "unknown") return { agree: false, error: `${history}: Concord gave up (${concord.reason}); porcupine says ${porcupine}` };
  const mine = concord.kind === "linearizable" ? "linearizable" : "not linearizable";
  if (mine !== porcupine) return { agree: false, error: `${history}: Concord says ${mine}, porcupine says ${porcupine}` };
  return { agree: true, verdict: mine };
}
