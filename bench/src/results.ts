// Assembles results.json: the cells, and what a reader needs to trust and
// repeat them (command, options, package versions, machine, cost model).
import { readFileSync, readdirSync } from "node:fs";
import type { Sweeps } from "./sweeps/index.ts";
import { cpus, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type CpuModel, resolveScenario } from "@concord/sim";
import type { BenchCostModel } from "./cost-model.ts";
import { type BenchScenario, comparisonDescription } from "./matrix.ts";
import { pacelcTable } from "./pacelc.ts";
import { type BenchCell, type BenchResults, type BrokenRun, type Machine, type MatrixOptionsRecord, type ScenarioInfo, benchResultsSchema } from "./results-schema.ts";

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** packageVersions reads the version of every @concord package (the workspace's packages and the bench) from its package.json. */
export function packageVersions(): Record<string, string> {
  const versions: Record<string, string> = {};
  const manifests = [
    ...readdirSync(join(repoRoot, "packages"), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => join(repoRoot, "packages", entry.name, "package.json")),
    join(repoRoot, "bench", "package.json"),
  ];
  const found: [string, string][] = [];
  for (const path of manifests) {
    let manifest: { name?: unknown; version?: unknown };
    try {
      manifest = JSON.parse(readFileSync(path, "utf8")) as { name?: unknown; version?: unknown };
    } catch {
      continue;
    }
    if (typeof manifest.name === "string" && manifest.name.startsWith("@concord/") && typeof manifest.version === "string") found.push([manifest.name, manifest.version]);
  }
  for (const [name, version] of found.sort(([a], [b]) => (a < b ? -1 : 1))) versions[name] = version;
  return versions;
}

/** machineFacts describes this machine and Node. */
export function machineFacts(): Machine {
  const cores = cpus();
  return { cpuModel: cores[0]?.model.trim() ?? "unknown", cores: Math.max(1, cores.length), memoryBytes: totalmem(), platform: process.platform, arch: process.arch, nodeVersion: process.version };
}

/** scenarioInfo says what a scenario does and the CPU cost model its runs charged (`cpu`, the bench's, in place of the scenario's own). */
export function scenarioInfo(scenario: BenchScenario, cpu: CpuModel): ScenarioInfo {
  const resolved = resolveScenario(scenario.run);
  return { name: scenario.name, description: resolved.description, scenarioFile: scenario.file, costModel: { ...cpu } };
}

/** brokenRuns lists every applicable run that broke a guarantee, in matrix order. */
export function brokenRuns(cells: readonly BenchCell[]): BrokenRun[] {
  return cells.flatMap((cell) =>
    cell.applicable
      ? cell.runs.filter((run) => run.verdict.broken.length > 0).map((run) => ({ algo: cell.algo, nodes: cell.nodes, scenario: cell.scenario, seed: run.seed, problems: run.verdict.broken, replayCommand: run.replayCommand }))
      : [],
  );
}

/** ResultsInput is what assembleResults needs beyond the cells. */
export interface ResultsInput {
  readonly command: string;
  readonly options: MatrixOptionsRecord;
  readonly scenarios: readonly BenchScenario[];
  readonly cells: readonly BenchCell[];
  readonly startedAt: string;
  readonly wallSeconds: number;
  readonly workers: number;
  /** sweeps are the latency-throughput and scalability sweeps, null when they did not run. */
  readonly sweeps: Sweeps | null;
  /** costModel is the CPU cost model every cell charged, with where it came from. */
  readonly costModel: BenchCostModel;
}

/** assembleResults builds results.json's content and validates it against the schema (a bench bug fails here, not in a reader). */
export function assembleResults(input: ResultsInput): BenchResults {
  const groups = [...new Set(input.cells.flatMap((cell) => cell.comparisons))];
  const order = (group: string): number => (group === "baseline" ? 0 : group.startsWith("f=") ? 1 : group.startsWith("n=") ? 2 : 3);
  groups.sort((a, b) => order(a) - order(b) || Number(a.slice(2)) - Number(b.slice(2)));
  return benchResultsSchema.parse({
    schemaVersion: 1,
    kind: "simulated-matrix",
    command: input.command,
    options: input.options,
    packages: packageVersions(),
    machine: machineFacts(),
    timing: { startedAt: input.startedAt, wallSeconds: Math.round(input.wallSeconds * 10) / 10, workers: input.workers },
    comparisons: groups.map((name) => ({ name, description: comparisonDescription(name) })),
    scenarios: input.scenarios.map((scenario) => scenarioInfo(scenario, input.costModel.cpu)),
    cells: input.cells,
    broken: brokenRuns(input.cells),
    sweeps: input.sweeps,
    costModel: input.costModel,
    pacelc: pacelcTable(input.cells),
  });
}
