// pnpm bench's flags for the simulated matrix: parsed and checked before
// anything runs, so that a bad flag costs one line and exit code 2.
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import type { AnyAlgorithm } from "@concord/core";
import { algorithmNames, algorithms } from "@concord/lab";
import { benchScenarioNames, defaultScenarios } from "./matrix.ts";

/** BenchFlags are the checked flags of a matrix run. */
export interface BenchFlags {
  readonly algorithms: readonly AnyAlgorithm[];
  readonly faults: readonly number[];
  readonly equalN: readonly number[];
  readonly scenarios: readonly string[];
  readonly seeds: readonly number[];
  readonly ops: number | null;
  readonly quick: boolean;
  /** sweeps: run the latency-throughput and scalability sweeps after the matrix (off with --no-sweeps). */
  readonly sweeps: boolean;
  /** includeNotApplicable: also run the cells not applicable by design, and judge them as if they were (--include-not-applicable). */
  readonly includeNotApplicable: boolean;
  readonly workers: number;
  /** out is the directory to write to (null: bench/results/<time>). */
  readonly out: string | null;
}

/** ParsedFlags is what parseBenchFlags made of the arguments: flags to run, a request for help, or a one-line error. */
export type ParsedFlags = { readonly kind: "run"; readonly flags: BenchFlags } | { readonly kind: "help" } | { readonly kind: "error"; readonly message: string };

/** defaultFaults are the f of the default equal-fault-tolerance groups. */
export const defaultFaults: readonly number[] = [1, 2];
/** defaultEqualN is the default equal-size group: PBFT's smallest cluster (f = 1), where Raft, Multi-Paxos and Paxos also tolerate one crash. */
export const defaultEqualN: readonly number[] = [4];
/** defaultSeedCount is how many seeds each cell runs by default: enough for a median with a spread. */
export const defaultSeedCount = 5;

/**
 * quickDefaults shrink the matrix for `--quick` (under a minute on two
 * cores): f = 1 only, no equal-n group, 2 seeds, 100 operations per run.
 * Any flag given explicitly overrides them.
 */
export const quickDefaults = { faults: [1], equalN: [] as number[], seedCount: 2, ops: 100 } as const;

const flagNames = ["--algo", "--nodes", "--faults", "--scenario", "--seeds", "--ops", "--quick", "--no-sweeps", "--include-not-applicable", "--workers", "--out", "--real", "--help"];

/** benchUsage is `pnpm bench --help`'s text: every flag, its default, and the values allowed. */
export function benchUsage(): string {
  return [
    "usage: pnpm bench [flags]          the simulated matrix: algorithm x cluster size x scenario x seed",
    "       pnpm bench --real [flags]   real clusters instead (flags in docs/benchmarks.md, \"Real clusters\")",
    "",
    "flags (lists are comma-separated, or the flag repeated):",
    `  --algo <names>      algorithms to run (default: all): ${algorithmNames.join(", ")}`,
    `  --scenario <names>  scenarios to run (default: ${defaultScenarios.join(", ")}); allowed: ${benchScenarioNames.join(", ")}`,
    `  --faults <f,...>    equal-fault-tolerance groups: each algorithm sized to tolerate f (2f+1 crash-tolerant, 3f+1 PBFT); "none" for no such group (default: ${defaultFaults.join(",")})`,
    `  --nodes <n,...>     equal-size groups: every replicated algorithm on n replicas; "none" for no such group (default: ${defaultEqualN.join(",")})`,
    `  --seeds <count>     seeds 1..count per cell (default: ${defaultSeedCount})`,
    "  --ops <k>           operations per run (default: each scenario's own, 200)",
    `  --quick             a small matrix, under a minute on two cores: f=${quickDefaults.faults.join(",")}, no equal-n group, ${quickDefaults.seedCount} seeds, ${quickDefaults.ops} ops`,
    "  --no-sweeps         skip the latency-throughput and scalability sweeps (run after the matrix; quick ones with --quick)",
    "  --include-not-applicable",
    "                      also run the cells whose faults the algorithm does not promise to tolerate, and judge them as",
    "                      if it did: what breaks when it meets them (their broken guarantees then count for the exit code)",
    `  --workers <n>       worker threads (default: the cores, here ${availableParallelism()}); the results do not depend on it`,
    "  --out <dir>         where results.json, report.md and report.html go (default: bench/results/<time>)",
    "  --help              this text",
    "",
    "exit codes: 0 every applicable cell kept its guarantees; 1 some broke one (listed, with replay commands); 2 bad flags or --out.",
    "",
  ].join("\n");
}

function listOf(values: readonly string[] | undefined): string[] | undefined {
  return values?.flatMap((value) => value.split(",")).map((value) => value.trim()).filter((value) => value !== "");
}

class FlagError extends Error {}

function integers(flag: string, values: readonly string[], min: number, max: number): number[] {
  const numbers = values.map((value) => {
    const number = Number(value);
    if (!/^\d+$/.test(value) || !Number.isInteger(number) || number < min || number > max) throw new FlagError(`${flag}: expected integers from ${min} to ${max}, got "${value}"`);
    return number;
  });
  return [...new Set(numbers)].sort((a, b) => a - b);
}

function groupSizes(flag: string, raw: readonly string[] | undefined, fallback: readonly number[], min: number, max: number): readonly number[] {
  const values = listOf(raw);
  if (values === undefined) return fallback;
  if (values.length === 1 && values[0] === "none") return [];
  return integers(flag, values, min, max);
}

/** parseBenchFlags checks the arguments of a matrix run (without --real, which main.ts hands to the real-cluster command). */
export function parseBenchFlags(args: readonly string[]): ParsedFlags {
  try {
    const { values } = parseArgs({
      args: [...args],
      options: {
        algo: { type: "string", multiple: true },
        nodes: { type: "string", multiple: true },
        faults: { type: "string", multiple: true },
        scenario: { type: "string", multiple: true },
        seeds: { type: "string" },
        ops: { type: "string" },
        quick: { type: "boolean" },
        "no-sweeps": { type: "boolean" },
        "include-not-applicable": { type: "boolean" },
        workers: { type: "string" },
        out: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.help === true) return { kind: "help" };
    const quick = values.quick === true;
    const algoNames = listOf(values.algo);
    for (const name of algoNames ?? []) if (!algorithmNames.includes(name)) throw new FlagError(`--algo: unknown algorithm "${name}"; allowed: ${algorithmNames.join(", ")}`);
    const scenarios = listOf(values.scenario) ?? defaultScenarios;
    for (const name of scenarios) if (!benchScenarioNames.includes(name)) throw new FlagError(`--scenario: unknown scenario "${name}"; allowed: ${benchScenarioNames.join(", ")}`);
    const seedCount = values.seeds === undefined ? (quick ? quickDefaults.seedCount : defaultSeedCount) : (integers("--seeds", [values.seeds], 1, 1000)[0] as number);
    const ops = values.ops === undefined ? (quick ? quickDefaults.ops : null) : (integers("--ops", [values.ops], 1, 1_000_000)[0] as number);
    const workers = values.workers === undefined ? availableParallelism() : (integers("--workers", [values.workers], 1, 256)[0] as number);
    const faults = groupSizes("--faults", values.faults, quick ? quickDefaults.faults : defaultFaults, 1, 5);
    const equalN = groupSizes("--nodes", values.nodes, quick ? quickDefaults.equalN : defaultEqualN, 1, 16);
    if (values.out !== undefined && values.out.trim() === "") throw new FlagError("--out: expected a directory, got an empty string");
    return {
      kind: "run",
      flags: {
        algorithms: algoNames === undefined ? algorithms : algorithms.filter((algorithm) => algoNames.includes(algorithm.name)),
        faults,
        equalN,
        scenarios: [...new Set(scenarios)],
        seeds: Array.from({ length: seedCount }, (_, index) => index + 1),
        ops,
        quick,
        sweeps: values["no-sweeps"] !== true,
        includeNotApplicable: values["include-not-applicable"] === true,
        workers,
        out: values.out ?? null,
      },
    };
  } catch (error) {
    if (error instanceof FlagError) return { kind: "error", message: error.message };
    return { kind: "error", message: `${(error as Error).message.split("\n")[0]} (allowed flags: ${flagNames.join(", ")}; see --help)` };
  }
}
