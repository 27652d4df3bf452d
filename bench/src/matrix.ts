import { type AnyAlgorithm, type ProtocolOptions, readLevels } from "@concord/core";
import { isBaseline } from "@concord/lab";
import { type ScenarioInput, scenarioNames } from "@concord/sim";

/**
 * BenchScenario is a scenario the matrix runs: a built-in one by name, or a
 * scenario object kept as a JSON file (so that `concord sim --scenario-file`
 * replays it).
 */
export interface BenchScenario {
  readonly name: string;
  /** run is what the simulator is given: the built-in's name, or the scenario object. */
  readonly run: string | ScenarioInput;
  /** file is the scenario's JSON file, relative to the repository root (null for a built-in one). */
  readonly file: string | null;
}

/**
 * benchScenarios are the scenarios `--scenario` accepts: every built-in one (the partition puts half of the clients
 * on each side, so that availability is measured on both).
 */
export const benchScenarios: readonly BenchScenario[] = scenarioNames.map((name) => ({ name, run: name, file: null }));

/** benchScenarioNames lists what `--scenario` accepts. */
export const benchScenarioNames: readonly string[] = benchScenarios.map((scenario) => scenario.name);

/** defaultScenarios is what `pnpm bench` runs unless told otherwise: every built-in scenario. */
export const defaultScenarios: readonly string[] = benchScenarioNames;

/** findBenchScenario looks a bench scenario up by name. */
export function findBenchScenario(name: string): BenchScenario {
  const found = benchScenarios.find((scenario) => scenario.name === name);
  if (found === undefined) throw new Error(`unknown bench scenario "${name}"`);
  return found;
}

/**
 * CellVariant is a way of running an algorithm other than with its defaults, for the PACELC table: a read
 * consistency level its clients ask for, or protocol options (quorum with R + W <= N).
 */
export interface CellVariant {
  /** name labels the variant in the tables and charts: "r=1,w=1", "stale". */
  readonly name: string;
  readonly protocolOptions?: ProtocolOptions;
  /** readLevel is the read consistency level the clients ask for (linearizable, lease, stale). */
  readonly readLevel?: string;
}

/** pacelcScenarios are the scenarios the PACELC table reads: latency with no partition, availability on each side of one. */
export const pacelcScenarios: readonly string[] = ["steady", "partition"];

/** pacelcGroup is the comparison group of the PACELC variants' cells. */
export const pacelcGroup = "pacelc";

/**
 * pacelcVariants lists the ways the PACELC table runs an algorithm besides its defaults: each read level it serves as
 * asked (lease, stale) that its default reads are not already served at, and quorum with one-replica reads and writes
 * (R + W <= N, the Dynamo setting that serves both sides of a partition).
 */
export function pacelcVariants(algorithm: AnyAlgorithm): CellVariant[] {
  const served = (level: (typeof readLevels)[number]): string => algorithm.servedReadLevel?.(level, {}) ?? "linearizable";
  const levels = readLevels.filter((level) => level !== "linearizable" && served(level) === level && served("linearizable") !== level).map((level) => ({ name: level, readLevel: level }));
  if (algorithm.name === "quorum") return [...levels, { name: "r=1,w=1", protocolOptions: { r: 1, w: 1 } }];
  return levels;
}

/** MatrixCell is one cell of the benchmark matrix: an algorithm at a cluster size in a scenario, run once per seed. */
export interface MatrixCell {
  readonly algorithm: AnyAlgorithm;
  /** variant runs the algorithm other than with its defaults (the PACELC table's read levels and options); absent: its defaults. */
  readonly variant?: CellVariant;
  readonly nodes: number;
  /** comparisons names the groups the cell is compared in: "baseline", "f=<f>" (equal tolerated faults) or "n=<n>" (equal size). */
  readonly comparisons: readonly string[];
  readonly scenario: BenchScenario;
  readonly seeds: readonly number[];
}

/** MatrixOptions choose the matrix. */
export interface MatrixOptions {
  readonly algorithms: readonly AnyAlgorithm[];
  readonly scenarios: readonly string[];
  readonly seeds: readonly number[];
  /** faults lists the f of the equal-fault-tolerance groups: each replicated algorithm at the size that tolerates f. */
  readonly faults: readonly number[];
  /** equalN lists the sizes of the equal-size groups: each replicated algorithm at that n. */
  readonly equalN: readonly number[];
}

/**
 * clusterSizesOf lists an algorithm's sizes and the groups each serves.
 * The baseline runs on one node only. A replicated algorithm runs at
 * `replicasToTolerate(f)` for each f (Raft and Multi-Paxos 2f+1, PBFT 3f+1),
 * and at each equal n; a size reached both ways runs once, in both groups.
 */
export function clusterSizesOf(algorithm: AnyAlgorithm, faults: readonly number[], equalN: readonly number[]): Map<number, string[]> {
  const sizes = new Map<number, string[]>();
  const add = (nodes: number, group: string): void => {
    const groups = sizes.get(nodes) ?? [];
    groups.push(group);
    sizes.set(nodes, groups);
  };
  if (isBaseline(algorithm)) {
    add(1, "baseline");
    return sizes;
  }
  for (const f of faults) add(algorithm.replicasToTolerate(f), `f=${f}`);
  for (const n of equalN) add(n, `n=${n}`);
  return new Map([...sizes].sort(([a], [b]) => a - b));
}

/**
 * buildMatrix lays out scenario x algorithm x cluster size, each cell with
 * every seed. The order is fixed by the options alone, so that results.json
 * lists cells in the same order whatever the number of workers.
 */
export function buildMatrix(options: MatrixOptions): MatrixCell[] {
  const cells: MatrixCell[] = [];
  for (const name of options.scenarios) {
    const scenario = findBenchScenario(name);
    for (const algorithm of options.algorithms) {
      for (const [nodes, comparisons] of clusterSizesOf(algorithm, options.faults, options.equalN)) cells.push({ algorithm, nodes, comparisons, scenario, seeds: options.seeds });
    }
    // The PACELC table's variants, at the smallest f's size, in the scenarios it reads.
    const f = Math.min(...options.faults);
    if (!pacelcScenarios.includes(name) || !Number.isFinite(f)) continue;
    for (const algorithm of options.algorithms) {
      if (isBaseline(algorithm)) continue;
      for (const variant of pacelcVariants(algorithm)) cells.push({ algorithm, variant, nodes: algorithm.replicasToTolerate(f), comparisons: [pacelcGroup], scenario, seeds: options.seeds });
    }
  }
  return cells;
}

/** comparisonDescription explains a comparison group in a sentence, for results.json and report.md. */
export function comparisonDescription(group: string): string {
  if (group === pacelcGroup) return "the PACELC table's variants: an algorithm run with a read consistency level or protocol options other than its defaults (quorum with R + W <= N), at the size that tolerates the smallest f, in the steady and partition scenarios.";
  if (group === "baseline") return "solo: one unreplicated node, tolerating no fault; the floor every replicated algorithm's cost is measured against.";
  if (group.startsWith("f=")) {
    const f = group.slice(2);
    return `equal fault tolerance: every algorithm sized to tolerate f = ${f} faults of its own model (crash-tolerant: n = 2f+1; PBFT: n = 3f+1, Byzantine faults).`;
  }
  const n = group.slice(2);
  return `equal cluster size: every replicated algorithm on n = ${n} replicas, whatever it tolerates there (a crash-tolerant one tolerates floor((n-1)/2) crashes, PBFT floor((n-1)/3) Byzantine faults).`;
}
