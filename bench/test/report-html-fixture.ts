// A small, deterministic results.json for report.html's tests: three replicated algorithms in two fault
// scenarios over three seeds, a baseline that is not applicable, one broken run, and sweeps beside them.
// Its figures are shaped like the simulator's (a dip at the fault, a slow tail) but drawn from a seeded
// generator, so the page's tests need no matrix run and stay fast.
import { type ApplicableCell, type BenchCell, type BenchResults, type SeedRun, type Spread, benchResultsSchema, cellSummarySchema, seedRunSchema } from "../src/results-schema.ts";
import type { HtmlReportExtras } from "../src/html/report.ts";
import { pacelcTable } from "../src/pacelc.ts";

/** seededRandom is mulberry32: a tiny PRNG, so the fixture is the same on every run. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface AlgoShape {
  readonly algo: string;
  readonly nodes: number;
  readonly faultModel: string;
  readonly opsPerSec: number;
  readonly latencyMs: number;
  readonly messages: Readonly<Record<string, number>>;
}

const shapes: readonly AlgoShape[] = [
  { algo: "raft", nodes: 3, faultModel: "crash", opsPerSec: 820, latencyMs: 2.1, messages: { clientRequest: 1, appendEntries: 2, appendEntriesResponse: 2, clientReply: 1 } },
  { algo: "multipaxos", nodes: 3, faultModel: "crash", opsPerSec: 760, latencyMs: 2.3, messages: { clientRequest: 1, accept: 2, accepted: 2, commit: 2, clientReply: 1 } },
  { algo: "pbft", nodes: 4, faultModel: "byzantine", opsPerSec: 540, latencyMs: 3.4, messages: { request: 1, prePrepare: 3, prepare: 9, commit: 12, reply: 4 } },
];

const faultAtMs = 2000;
const faultUntilMs: Readonly<Record<string, number>> = { "leader-crash": 2600, partition: 3000 };
const percentiles = [0, 5, 10, 25, 50, 75, 90, 95, 99, 99.9, 100];

function seedRun(shape: AlgoShape, scenario: string, seed: number, broken: readonly string[]): SeedRun {
  const random = seededRandom(seed * 7919 + shape.nodes * 31 + scenario.length);
  const jitter = (spread: number): number => 1 + (random() - 0.5) * spread;
  const until = faultUntilMs[scenario.startsWith("partition") ? "partition" : "leader-crash"] ?? faultAtMs;
  const startMs = 300 + Math.floor(random() * 40);
  const bucketMs = 100;
  const opsPerSec = Array.from({ length: 50 }, (_, index) => {
    const timeMs = startMs + (index + 0.5) * bucketMs;
    const base = shape.opsPerSec * jitter(0.12);
    if (timeMs < faultAtMs) return Math.round(base);
    if (timeMs < faultAtMs + 300 + random() * 200) return Math.round(base * 0.05 * random());
    const sinceRecovery = Math.max(0, timeMs - faultAtMs - 450);
    return Math.round(base * Math.min(1, 0.4 + sinceRecovery / 800));
  });
  const completed = opsPerSec.reduce((sum, value) => sum + (value * bucketMs) / 1000, 0);
  const perOpByType = Object.fromEntries(Object.entries(shape.messages).map(([type, count]) => [type, Math.round(count * jitter(0.1) * 100) / 100]));
  const perOp = Object.values(perOpByType).reduce((sum, value) => sum + value, 0);
  const latency = (percentile: number): number => Math.round(shape.latencyMs * (1 + percentile / 60 + (percentile > 95 ? (percentile - 95) * 40 : 0)) * jitter(0.15) * 100) / 100;
  const cdf = percentiles.map((percentile) => ({ percentile, latencyMs: latency(percentile) }));
  const partition = scenario.startsWith("partition");
  const run = {
    seed,
    replayCommand: `pnpm concord sim --algo ${shape.algo} --nodes ${shape.nodes} --scenario ${scenario} --seed ${seed}`,
    ops: { invoked: Math.round(completed) + 12, completed: Math.round(completed), failed: 4, indeterminate: 8 },
    finalReadsCompleted: 5,
    virtualSeconds: 5.3,
    workloadSeconds: 5,
    throughputOpsPerSec: Math.round((completed / 5) * 10) / 10,
    latencyMs: { p50: latency(50), p95: latency(95), p99: latency(99), max: latency(100) },
    readLevel: { requested: "linearizable", served: "linearizable" },
    latencyByKind: { read: { p50: latency(40), p99: latency(98), count: Math.round(completed * 0.4) }, write: { p50: latency(60), p99: latency(99), count: Math.round(completed * 0.6) } },
    messages: { total: Math.round(perOp * completed), perOp, byType: Object.fromEntries(Object.entries(perOpByType).map(([type, value]) => [type, Math.round(value * completed)])), perOpByType },
    bytes: { total: Math.round(perOp * completed * 96), perOp: Math.round(perOp * 96) },
    leaderChanges: 1 + Math.floor(random() * 2),
    faults: [partition ? { atMs: faultAtMs, untilMs: until, kind: "partition", nodes: [0], clients: [2] } : { atMs: faultAtMs, untilMs: until, kind: "crash", nodes: [0] }, { atMs: 4200, untilMs: 4200, kind: "transfer", nodes: [1] }],
    recovery: [
      { fault: 0, kind: partition ? "partition" : "crash", atMs: faultAtMs, baselineOpsPerSec: shape.opsPerSec, recoveryMs: seed === 3 && shape.algo === "pbft" ? null : Math.round(700 + random() * 400), firstCommitMs: Math.round(250 + random() * 250) },
      { fault: 1, kind: "transfer", atMs: 4200, baselineOpsPerSec: shape.opsPerSec, recoveryMs: Math.round(60 + random() * 60), firstCommitMs: Math.round(20 + random() * 30) },
    ],
    availability: partition
      ? [
          {
            fault: 0,
            atMs: faultAtMs,
            untilMs: until,
            isolatedReplicas: [0],
            isolatedSide: { clients: [2], invoked: 40, ok: Math.floor(random() * 3), share: 0 },
            otherSide: { clients: [0, 1], invoked: 400, ok: 0, share: 0 },
          },
        ].map((entry) => ({ ...entry, isolatedSide: { ...entry.isolatedSide, share: entry.isolatedSide.ok / 40 }, otherSide: { ...entry.otherSide, ok: 360 + Math.floor(random() * 40), share: 0 } })).map((entry) => ({ ...entry, otherSide: { ...entry.otherSide, share: entry.otherSide.ok / 400 } }))
      : [],
    verdict: { linearizable: broken.length === 0, summary: broken.length === 0 ? "linearizable" : "NOT linearizable", invariantViolations: [], broken: [...broken] },
    throughputOverTime: { startMs, bucketMs, opsPerSec },
    latencyCdf: cdf,
    prediction: null,
  };
  return seedRunSchema.parse(knownFields(seedRunSchema.shape, run));
}

/** knownFields keeps the fields a strict schema knows, so the fixture can be written once for the schema as it grows. */
function knownFields<T extends object>(shape: object, value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([key]) => key in shape)) as Partial<T>;
}

function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number, seeds: sorted.length };
}

function optionalSpread(values: readonly (number | null)[]): Spread | null {
  const present = values.filter((value): value is number => value !== null);
  return present.length === 0 ? null : spread(present);
}

function cell(shape: AlgoShape, scenario: string, seeds: readonly number[], brokenSeed: (seed: number) => readonly string[]): ApplicableCell {
  const runs = seeds.map((seed) => seedRun(shape, scenario, seed, brokenSeed(seed)));
  const types = Object.keys(shape.messages);
  const lowest = (side: "isolatedSide" | "otherSide"): Spread | null => optionalSpread(runs.map((run) => (run.availability.length === 0 ? null : Math.min(...run.availability.map((entry) => entry[side].share ?? 1)))));
  return {
    algo: shape.algo,
    nodes: shape.nodes,
    f: 1,
    faultModel: shape.faultModel,
    comparisons: ["f=1"],
    scenario,
    applicable: true,
    runs,
    summary: cellSummarySchema.parse(knownFields(cellSummarySchema.shape, {
      prediction: { messagesPerOp: spread(runs.map((run) => run.messages.perOp / Object.values(shape.messages).reduce((sum, value) => sum + value, 0))), latencyP50Ms: spread(runs.map((run) => run.latencyMs.p50 / (shape.latencyMs * 0.8))) },
      throughputOpsPerSec: spread(runs.map((run) => run.throughputOpsPerSec)),
      latencyMs: { p50: spread(runs.map((run) => run.latencyMs.p50)), p95: spread(runs.map((run) => run.latencyMs.p95)), p99: spread(runs.map((run) => run.latencyMs.p99)), max: spread(runs.map((run) => run.latencyMs.max)) },
      messagesPerOp: spread(runs.map((run) => run.messages.perOp)),
      bytesPerOp: spread(runs.map((run) => run.bytes.perOp)),
      messagesPerOpByType: Object.fromEntries(types.map((type) => [type, spread(runs.map((run) => run.messages.perOpByType[type] ?? 0))])),
      leaderChanges: spread(runs.map((run) => run.leaderChanges)),
      recoveryMs: optionalSpread(runs.map((run) => Math.max(...run.recovery.map((entry) => entry.recoveryMs ?? 0)))),
      firstCommitMs: optionalSpread(runs.map((run) => Math.max(...run.recovery.map((entry) => entry.firstCommitMs ?? 0)))),
      availability: { isolatedSide: lowest("isolatedSide"), otherSide: lowest("otherSide") },
      brokenSeeds: runs.filter((run) => run.verdict.broken.length > 0).map((run) => run.seed),
    })),
  };
}

/** FixtureText lets a test plant hostile strings (markup, script end tags) where the results carry free text. */
export interface FixtureText {
  readonly command: string;
  readonly problem: string;
  readonly scenarioSuffix: string;
}

/** reportFixture builds a results.json that validates against benchResultsSchema, with the sweeps beside it. */
export function reportFixture(text: FixtureText = { command: "pnpm bench --seeds 3 --scenario leader-crash --scenario partition", problem: "[linearizability] read of key k3 returned 7, which no write wrote", scenarioSuffix: "" }): { results: BenchResults; extras: HtmlReportExtras } {
  const seeds = [1, 2, 3];
  const scenarios = ["leader-crash", "partition"].map((name) => `${name}${text.scenarioSuffix}`);
  const cells: BenchCell[] = [];
  for (const scenario of scenarios) {
    for (const shape of shapes) cells.push(cell(shape, scenario, seeds, (seed) => (shape.algo === "multipaxos" && scenario.startsWith("partition") && seed === 2 ? [text.problem] : [])));
    cells.push({ algo: "solo", nodes: 1, f: 0, faultModel: "none", comparisons: ["baseline"], scenario, applicable: false, reason: "solo is one replica and tolerates no faults; its clients would only wait out the fault", seeds });
  }
  const results = benchResultsSchema.parse(knownFields(benchResultsSchema.shape, {
    sweeps: null,
    pacelc: pacelcTable(cells),
    costModel: { cpu: { perMessageUs: 4, perKilobyteUs: 1.5, perMacUs: 0.6, perDigestUs: 0.9, perSignatureUs: 40, perVerifyUs: 60 }, source: "the fixture's own figures" },
    schemaVersion: 1,
    kind: "simulated-matrix",
    command: text.command,
    options: { algorithms: ["raft", "multipaxos", "pbft", "solo"], faults: [1], equalN: [], nodes: null, scenarios, seeds, ops: null, quick: false },
    packages: { "@concord/bench": "0.1.0", "@concord/raft": "0.1.0", "@concord/pbft": "0.1.0" },
    machine: { cpuModel: "Test CPU @ 2.0GHz", cores: 2, memoryBytes: 8 * 2 ** 30, platform: "linux", arch: "x64", nodeVersion: "v20.19.0" },
    timing: { startedAt: "2026-12-04T20:00:00.000Z", wallSeconds: 12.5, workers: 2 },
    comparisons: [
      { name: "f=1", description: "clusters that tolerate one fault of their model (n = 2f+1 crash, 3f+1 Byzantine)" },
      { name: "baseline", description: "one unreplicated node" },
    ],
    scenarios: scenarios.map((name) => ({ name, description: `the ${name} scenario`, scenarioFile: null, costModel: { perMessageUs: 4, perKilobyteUs: 1.5, perMacUs: 0.6, perDigestUs: 0.9, perSignatureUs: 40, perVerifyUs: 60 } })),
    cells,
    broken: cells.flatMap((entry) =>
      entry.applicable ? entry.runs.filter((run) => run.verdict.broken.length > 0).map((run) => ({ algo: entry.algo, nodes: entry.nodes, scenario: entry.scenario, seed: run.seed, problems: run.verdict.broken, replayCommand: run.replayCommand })) : [],
    ),
  }));
  return { results, extras: sweepsFixture() };
}

/** spreadOver summarises a figure over the fixture's three seeds, as the sweeps store it. */
function spreadOver(values: readonly number[]): { median: number; min: number; max: number } {
  const { median, min, max } = spread(values);
  return { median, min, max };
}

function sweepsFixture(): HtmlReportExtras {
  const random = seededRandom(99);
  const seeds = [1, 2, 3];
  const curve = (series: string, saturation: number, baseMs: number) => ({
    series,
    saturationOpsPerSec: saturation,
    predictedSaturationOpsPerSec: Math.round(saturation * 1.15),
    steps: [250, 500, 1000, 1500, 2000, 2500, 3000].map((offered) => {
      const load = Math.min(offered / saturation, 1.6);
      const queueing = load < 0.95 ? 1 / (1 - load * 0.9) : 10 + (load - 0.95) * 200;
      const modelLoad = offered / (saturation * 1.15);
      return {
        offeredOpsPerSec: offered,
        p50Ms: spreadOver(seeds.map(() => baseMs * queueing * (0.95 + random() * 0.1))),
        p99Ms: spreadOver(seeds.map(() => baseMs * 3 * queueing * (0.9 + random() * 0.2))),
        modelLatencyMs: modelLoad < 1 ? baseMs * (1 + modelLoad / (2 * (1 - modelLoad))) : null,
      };
    }),
  });
  const scalability = [
    ...[3, 5, 7, 9].map((nodes) => ({ algo: "raft", nodes, perOp: 2 * nodes, peak: 9000 / nodes })),
    ...[4, 7, 10].map((nodes) => ({ algo: "pbft", nodes, perOp: 2 * nodes * nodes, peak: 16_000 / (nodes * nodes) })),
  ].map((point) => ({
    algo: point.algo,
    nodes: point.nodes,
    messagesPerOp: spreadOver(seeds.map(() => point.perOp * (1 + random() * 0.08))),
    peakThroughputOpsPerSec: spreadOver(seeds.map(() => point.peak * (0.9 + random() * 0.1))),
    predictedMessagesPerOp: point.perOp,
    predictedPeakThroughputOpsPerSec: point.peak * 1.1,
  }));
  return {
    latencyThroughput: [curve("raft n=3 (f=1)", 2100, 1.2), curve("pbft n=4 (f=1)", 1300, 2.2)],
    scalability,
    predictions: [
      { series: "raft n=3 (f=1)", figure: "messages per operation", unit: "msgs", measured: 6.1, predicted: 6 },
      { series: "raft n=3 (f=1)", figure: "latency", unit: "one-way delays", measured: 4.3, predicted: 4 },
      { series: "pbft n=4 (f=1)", figure: "messages per operation", unit: "msgs", measured: 29.4, predicted: 29 },
      { series: "pbft n=4 (f=1)", figure: "saturation throughput", unit: "ops/s", measured: 1300, predicted: 1495 },
    ],
  };
}
