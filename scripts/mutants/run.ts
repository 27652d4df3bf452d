// `pnpm test:mutants [filter ...] [--jobs n] [--keep]`: the mutation check. Each
// planted bug in scripts/mutants/<project>/<name>.patch is applied in turn to a
// scratch copy of the working tree, the project's tests run there, and the
// mutant is reported caught (a test failed), missed (every test passed) or an
// error (it does not apply, or no test ran). Exit code 1 unless every mutant
// is caught; 2 for a bad flag or a filter that matches nothing. `--swarm` and
// `--explore` look for the bugs by random simulation and by model checking
// instead of by the tests. See
// scripts/mutants/README.md and docs/testing.md.
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import {
  type Mutant,
  type MutantVerdict,
  type SwarmPlan,
  describeExplore,
  exploreFlagsOf,
  isProtocolMutant,
  listMutants,
  makeScratchCopy,
  projectTestFolder,
  removeScratchCopy,
  runExplore,
  runMutant,
  runMutantExplore,
  runMutantSwarm,
  swarmTargets,
  testsOutsideProject,
  vitestProjects,
} from "./mutants.ts";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

const usage = `usage: pnpm test:mutants [filter ...] [--jobs n] [--swarm seeds | --explore [--no-por] [--symmetry]] [--keep] [--list]

  filter   run only the mutants whose <project>/<name> contains one of these
  --jobs   mutants tested at once, each in its own scratch copy (default 1;
           vitest already spreads one project's files over the cores); with
           --swarm, the worker threads of each swarm (mutants run one at a time)
  --swarm  instead of the tests, look for each planted bug with
           \`concord swarm\` (chaos, seeds 1..seeds) of its project's algorithm
           or its header's Swarm: line: caught when a seed breaks a guarantee
  --explore  instead of the tests, look for each planted bug with
           \`concord explore\` and its header's Explore: flags: caught when
           the model checker finds a violation; a protocol mutant with an
           Explore-out-of-reach: line instead is listed with its reason. The
           same flags run once on the unmutated code first, which must show
           no violation
  --no-por   with --explore: run concord explore without its partial-order
           reduction (on by default), baselines and mutants alike, to see
           the full model's counts; a header's own flags are kept as given
  --symmetry with --explore: run concord explore with its symmetry reduction
           (off by default), baselines and mutants alike, to show that it
           loses no planted bug; left out where a header asks --eventually,
           which it excludes
  --keep   keep the scratch copies (their paths are printed)
  --list   list the mutants and their headers, run nothing
`;

async function main(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, options: { jobs: { type: "string" }, swarm: { type: "string" }, explore: { type: "boolean" }, "no-por": { type: "boolean" }, symmetry: { type: "boolean" }, keep: { type: "boolean" }, list: { type: "boolean" }, help: { type: "boolean" } } });
  } catch (error) {
    process.stderr.write(`test:mutants: ${(error as Error).message.split("\n")[0]}\n${usage}`);
    return 2;
  }
  const { values, positionals: filters } = parsed;
  if (values.help === true) {
    process.stdout.write(usage);
    return 0;
  }
  const jobs = values.jobs === undefined ? 1 : Number(values.jobs);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 16) {
    process.stderr.write(`test:mutants: --jobs: expected an integer from 1 to 16, got "${values.jobs}"\n`);
    return 2;
  }
  const swarmSeeds = values.swarm === undefined ? undefined : Number(values.swarm);
  if (swarmSeeds !== undefined && (!Number.isInteger(swarmSeeds) || swarmSeeds < 1 || swarmSeeds > 100_000)) {
    process.stderr.write(`test:mutants: --swarm: expected a number of seeds from 1 to 100000, got "${values.swarm}"\n`);
    return 2;
  }
  const exploring = values.explore === true;
  if (exploring && swarmSeeds !== undefined) {
    process.stderr.write(`test:mutants: --swarm and --explore ask different questions: give one\n${usage}`);
    return 2;
  }
  if (values["no-por"] === true && !exploring) {
    process.stderr.write(`test:mutants: --no-por belongs to --explore (it is concord explore's flag)\n${usage}`);
    return 2;
  }
  if (values.symmetry === true && !exploring) {
    process.stderr.write(`test:mutants: --symmetry belongs to --explore (it is concord explore's flag)\n${usage}`);
    return 2;
  }
  const extraExploreFlags = [...(values["no-por"] === true ? ["--no-por"] : []), ...(values.symmetry === true ? ["--symmetry"] : [])];
  const projects = await vitestProjects(repoRoot);
  const all = listMutants(repoRoot);
  const strays = all.filter((mutant) => !projects.includes(mutant.project));
  if (strays.length > 0) {
    process.stderr.write(`test:mutants: ${strays.map((mutant) => mutant.path).join(", ")}: the folder must be a vitest project (${projects.join(", ")})\n`);
    return 2;
  }
  const misplaced = all.filter((mutant) => testsOutsideProject(mutant).length > 0);
  if (misplaced.length > 0) {
    const lines = misplaced.map((mutant) => `${mutant.path} names ${testsOutsideProject(mutant).join(", ")}, which its project ${mutant.project} does not run (its tests are ${projectTestFolder(mutant.project)}**/*.test.ts)`);
    process.stderr.write(`test:mutants: ${lines.join("; ")}\n`);
    return 2;
  }
  const filtered = filters.length === 0 ? all : all.filter((mutant) => filters.some((filter) => mutant.id.includes(filter)));
  // A swarm looks only for the bugs a simulated run can show: a mutant with no algorithm to swarm is left out.
  // The model checker looks for protocol bugs (and any other mutant whose header gives it bounds).
  const chosen =
    swarmSeeds !== undefined ? filtered.filter((mutant) => swarmTargets(mutant).length > 0) : exploring ? filtered.filter((mutant) => isProtocolMutant(mutant) || mutant.header.explore !== undefined) : filtered;
  if (chosen.length === 0) {
    process.stderr.write(`test:mutants: no mutant matches ${filters.map((filter) => `"${filter}"`).join(", ")}; there are: ${all.map((mutant) => mutant.id).join(", ")}\n`);
    return 2;
  }
  if (values.list === true) {
    for (const mutant of chosen) process.stdout.write(`${mutant.id}: ${mutant.header.description || "(no Mutant: line)"}\n  ${exploring ? `explore: ${describeExploreFlags(mutant)}` : `tests: ${describeSelection(mutant)}`}\n`);
    return 0;
  }

  if (exploring) return exploreAll(chosen, jobs, values.keep === true, extraExploreFlags);
  if (swarmSeeds !== undefined) {
    const plan: SwarmPlan = { seeds: swarmSeeds, jobs };
    process.stdout.write(`test:mutants: ${chosen.length} mutant${chosen.length === 1 ? "" : "s"} looked for by swarms of ${swarmSeeds} seeds, ${jobs} worker thread${jobs === 1 ? "" : "s"} each\n`);
    const run = (scratch: string, mutant: Mutant): Promise<MutantVerdict> => runMutantSwarm(scratch, repoRoot, mutant, plan);
    return report(await runAll(chosen, 1, values.keep === true, run, describeSwarm));
  }
  process.stdout.write(`test:mutants: ${chosen.length} mutant${chosen.length === 1 ? "" : "s"}, ${jobs} at a time\n`);
  const run = (scratch: string, mutant: Mutant): Promise<MutantVerdict> => runMutant(scratch, repoRoot, mutant);
  const verdicts = await runAll(chosen, jobs, values.keep === true, run, describeSelection);
  return report(verdicts);
}

/** runAll tests the mutants on `jobs` scratch copies, each copy reverting one patch before applying the next. */
async function runAll(
  mutants: readonly Mutant[],
  jobs: number,
  keep: boolean,
  runOne: (scratch: string, mutant: Mutant) => Promise<MutantVerdict>,
  describe: (mutant: Mutant) => string,
): Promise<MutantVerdict[]> {
  const verdicts: MutantVerdict[] = [];
  await pool(mutants, jobs, keep, async (scratch, mutant) => {
    process.stdout.write(`  ${mutant.id} ... (${describe(mutant)})\n`);
    const verdict = await runOne(scratch, mutant);
    verdicts.push(verdict);
    process.stdout.write(`  ${mutant.id}: ${verdict.kind.toUpperCase()} in ${verdict.seconds.toFixed(0)} s: ${verdict.detail}\n`);
  });
  return verdicts.sort((a, b) => a.mutant.id.localeCompare(b.mutant.id));
}

/**
 * exploreAll runs every distinct Explore: flag set on the unmutated code
 * (each must find no violation: one there is a bug of the protocol or of the
 * explorer, and would make every catch with those flags meaningless), then
 * each mutant with its flags. A mutant whose flags fail on the unmutated code
 * is an error, whatever its own run found.
 */
async function exploreAll(mutants: readonly Mutant[], jobs: number, keep: boolean, extra: readonly string[]): Promise<number> {
  const flagSets = [...new Set(mutants.flatMap((mutant) => { const flags = exploreFlagsOf(mutant, extra); return flags === undefined ? [] : [flags.join(" ")]; }))];
  const explored = mutants.filter((mutant) => mutant.header.explore !== undefined).length;
  process.stdout.write(`test:mutants: ${mutants.length} mutant${mutants.length === 1 ? "" : "s"}, ${explored} with bounds for concord explore (${flagSets.length} distinct), ${jobs} at a time\n`);
  process.stdout.write("the bounds on the unmutated code, which must show no violation:\n");
  const baselines = new Map<string, string | undefined>();
  await pool(flagSets, jobs, keep, async (scratch, flags) => {
    const result = await runExplore(scratch, flags.split(" "));
    const problem = result.kind === "failed" ? result.detail : result.exitCode === 1 ? `the unmutated code violates: ${describeExplore(result)}` : undefined;
    baselines.set(flags, problem);
    process.stdout.write(`  ${flags}: ${problem === undefined && result.kind === "ran" ? `clean (exit ${result.exitCode}): ${describeExplore(result)}` : `FAILS: ${problem}`}\n`);
  });
  process.stdout.write("the mutants:\n");
  const run = (scratch: string, mutant: Mutant): Promise<MutantVerdict> => runMutantExplore(scratch, repoRoot, mutant, extra);
  const verdicts = (await runAll(mutants, jobs, keep, run, (mutant) => describeExploreFlags(mutant, extra))).map((verdict): MutantVerdict => {
    const flags = exploreFlagsOf(verdict.mutant, extra);
    const baseline = flags === undefined ? undefined : baselines.get(flags.join(" "));
    return baseline === undefined ? verdict : { ...verdict, kind: "error", detail: `${baseline}; the mutant: ${verdict.detail}` };
  });
  return report(verdicts);
}

/** pool runs `task` on every item, `jobs` at a time, each worker in its own scratch copy of the working tree (a task that mutates it reverts its change). */
async function pool<T>(items: readonly T[], jobs: number, keep: boolean, task: (scratch: string, item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    const scratch = makeScratchCopy(repoRoot);
    try {
      for (let item = items[next++]; item !== undefined; item = items[next++]) await task(scratch, item);
    } finally {
      if (keep) process.stdout.write(`  scratch copy kept at ${scratch}\n`);
      else removeScratchCopy(scratch);
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, items.length) }, worker));
}

function describeExploreFlags(mutant: Mutant, extra: readonly string[] = []): string {
  const { exploreOutOfReach } = mutant.header;
  const explore = exploreFlagsOf(mutant, extra);
  if (explore !== undefined) return `concord explore ${explore.join(" ")}`;
  return exploreOutOfReach === undefined ? "no Explore: line and no Explore-out-of-reach: line" : `out of reach: ${exploreOutOfReach}`;
}

function describeSelection(mutant: Mutant): string {
  const { tests, testName, env } = mutant.header;
  const parts = [`project ${mutant.project}`, tests.length > 0 ? tests.join(" ") : "every test file"];
  if (testName !== undefined) parts.push(`-t "${testName}"`);
  for (const [name, value] of Object.entries(env)) parts.push(`${name}=${value}`);
  return parts.join(", ");
}

function describeSwarm(mutant: Mutant): string {
  return `swarm ${swarmTargets(mutant).map((target) => `${target.algo}${target.nodes === undefined ? "" : `:${target.nodes}`}`).join(" ")}`;
}

function report(verdicts: readonly MutantVerdict[]): number {
  const count = (kind: MutantVerdict["kind"]): number => verdicts.filter((verdict) => verdict.kind === kind).length;
  process.stdout.write(`\n${"mutant".padEnd(60)}  verdict\n`);
  for (const verdict of verdicts) {
    process.stdout.write(`${verdict.mutant.id.padEnd(60)}  ${verdict.kind}${verdict.kind === "caught" && !verdict.detail.includes("counterexample") ? "" : `: ${verdict.detail}`}\n`);
  }
  const unexplored = count("unexplored");
  process.stdout.write(`\n${count("caught")} caught, ${count("missed")} missed, ${count("error")} errors${unexplored > 0 ? `, ${unexplored} out of the model checker's reach` : ""}\n`);
  // An unexplored mutant is not a failure: its header says why no bounds reach it.
  return count("caught") + unexplored === verdicts.length ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
