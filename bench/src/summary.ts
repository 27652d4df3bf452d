// A cell's summary across its seeds: the median, min and max of each figure.
import { roundTo } from "./figures.ts";
import type { CellSummary, SeedRun, Spread } from "./results-schema.ts";

/** spreadOf summarises a figure over seeds: median (the mean of the middle two for an even count), min and max; null when no seed measured it. */
export function spreadOf(values: readonly (number | null)[]): Spread | null {
  const measured = values.filter((value): value is number => value !== null).sort((a, b) => a - b);
  if (measured.length === 0) return null;
  const middle = Math.floor(measured.length / 2);
  const median = measured.length % 2 === 1 ? (measured[middle] as number) : ((measured[middle - 1] as number) + (measured[middle] as number)) / 2;
  return { median: roundTo(median, 4), min: measured[0] as number, max: measured[measured.length - 1] as number, seeds: measured.length };
}

function spreadOfAll(values: readonly number[]): Spread {
  return spreadOf(values) as Spread;
}

/** worst is the largest of a seed's figures (its longest recovery), null when it has none. */
function worst(values: readonly (number | null)[]): number | null {
  const measured = values.filter((value): value is number => value !== null);
  return measured.length === 0 ? null : Math.max(...measured);
}

/** lowest is the smallest of a seed's figures (its least available partition side), null when it has none. */
function lowest(values: readonly (number | null)[]): number | null {
  const measured = values.filter((value): value is number => value !== null);
  return measured.length === 0 ? null : Math.min(...measured);
}

/**
 * summarizeCell summarises a cell's seeds. Per-fault figures are first
 * reduced within each seed (its longest recovery, its lowest availability),
 * since seeds of a chaos cell draw different faults, then summarised across
 * seeds; a message type a seed never sent counts 0 there.
 */
export function summarizeCell(runs: readonly SeedRun[]): CellSummary {
  const types = [...new Set(runs.flatMap((run) => Object.keys(run.messages.perOpByType)))].sort();
  const messagesPerOpByType: Record<string, Spread> = {};
  for (const type of types) messagesPerOpByType[type] = spreadOfAll(runs.map((run) => run.messages.perOpByType[type] ?? 0));
  return {
    throughputOpsPerSec: spreadOfAll(runs.map((run) => run.throughputOpsPerSec)),
    latencyMs: {
      p50: spreadOfAll(runs.map((run) => run.latencyMs.p50)),
      p95: spreadOfAll(runs.map((run) => run.latencyMs.p95)),
      p99: spreadOfAll(runs.map((run) => run.latencyMs.p99)),
      max: spreadOfAll(runs.map((run) => run.latencyMs.max)),
    },
    messagesPerOp: spreadOfAll(runs.map((run) => run.messages.perOp)),
    bytesPerOp: spreadOfAll(runs.map((run) => run.bytes.perOp)),
    messagesPerOpByType,
    leaderChanges: spreadOfAll(runs.map((run) => run.leaderChanges)),
    recoveryMs: spreadOf(runs.map((run) => worst(run.recovery.map((fault) => fault.recoveryMs)))),
    firstCommitMs: spreadOf(runs.map((run) => worst(run.recovery.map((fault) => fault.firstCommitMs)))),
    availability: {
      isolatedSide: spreadOf(runs.map((run) => lowest(run.availability.map((partition) => partition.isolatedSide.share)))),
      otherSide: spreadOf(runs.map((run) => lowest(run.availability.map((partition) => partition.otherSide.share)))),
    },
    prediction: runs.every((run) => run.prediction === null)
      ? null
      : {
          messagesPerOp: spreadOf(runs.map((run) => run.prediction?.messagesPerOp.ratio ?? null)),
          latencyP50Ms: spreadOf(runs.map((run) => run.prediction?.latencyP50Ms.ratio ?? null)),
        },
    brokenSeeds: runs.filter((run) => run.verdict.broken.length > 0).map((run) => run.seed),
  };
}
