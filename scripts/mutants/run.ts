// `pnpm test:mutants [filter ...] [--jobs n] [--keep]`: the mutation check. Each
// planted bug in scripts/mutants/<project>/<name>.patch is applied in turn to a
// scratch copy of the working tree, the project's tests run there, and the
// mutant is reported caught (a test failed), missed (every test passed) or an
// error (it does not apply, or no test ran). Exit code 1 unless every mutant
// is caught; 2 for a bad flag or a filter that matches nothing. See
// scripts/mutants/README.md and docs/testing.md.
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import {
  type Mutant,
  type MutantVerdict,
  type SwarmPlan,
  listMutants,
  makeScratchCopy,
  removeScratchCopy,
  runMutant,
  runMutantSwarm,
  swarmTargets,
  vitestProjects,
} from "./mutants.ts";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

const usage = `usage: pnpm test:mutants [filter ...] [--jobs n] [--swarm seeds] [--keep] [--list]

  filter   run only the mutants whose <project>/<name> contains one of these
  --jobs   mutants tested at once, each in its own scratch copy (default 1;
           vitest already spreads one project's files over the cores); with
           --swarm, the worker threads of each swarm (mutants run one at a time)
  --swarm  instead of the tests, look for each planted bug with
           \`concord swarm\` (chaos, seeds 1..seeds) of its project's algorithm
           or its header's Swarm: line: caught when a seed breaks a guarantee
  --keep   keep the scratch copies (their paths are printed)
  --list   list the mutants and their headers, run nothing
`;

async function main(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, options: { jobs: { type: "string" }, swarm: { type: "string" }, keep: { type: "boolean" }, list: { type: "boolean" }, help: { type: "boolean" } } });
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
  const projects = await vitestProjects(repoRoot);
  const all = listMutants(repoRoot);
  const strays = all.filter((mutant) => !projects.includes(mutant.project));
  if (strays.length > 0) {
    process.stderr.write(`test:mutants: ${strays.map((mutant) => mutant.path).join(", ")}: the folder must be a vitest project (${projects.join(", ")})\n`);
    return 2;
  }
  const filtered = filters.length === 0 ? all : all.filter((mutant) => filters.some((filter) => mutant.id.includes(filter)));
  // A swarm looks only for the bugs a simulated run can show: a mutant with no algorithm to swarm is left out.
  const chosen = swarmSeeds === undefined ? filtered : filtered.filter((mutant) => swarmTargets(mutant).length > 0);
  if (chosen.length === 0) {
    process.stderr.write(`test:mutants: no mutant matches ${filters.map((filter) => `"${filter}"`).join(", ")}; there are: ${all.map((mutant) => mutant.id).join(", ")}\n`);
    return 2;
  }
  if (values.list === true) {
    for (const mutant of chosen) process.stdout.write(`${mutant.id}: ${mutant.header.description || "(no Mutant: line)"}\n  tests: ${describeSelection(mutant)}\n`);
    return 0;
  }

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
  let next = 0;
  const worker = async (): Promise<void> => {
    const scratch = makeScratchCopy(repoRoot);
    try {
      for (let mutant = mutants[next++]; mutant !== undefined; mutant = mutants[next++]) {
        process.stdout.write(`  ${mutant.id} ... (${describe(mutant)})\n`);
        const verdict = await runOne(scratch, mutant);
        verdicts.push(verdict);
        process.stdout.write(`  ${mutant.id}: ${verdict.kind.toUpperCase()} in ${verdict.seconds.toFixed(0)} s: ${verdict.detail}\n`);
      }
    } finally {
      if (keep) process.stdout.write(`  scratch copy kept at ${scratch}\n`);
      else removeScratchCopy(scratch);
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, mutants.length) }, worker));
  return verdicts.sort((a, b) => a.mutant.id.localeCompare(b.mutant.id));
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
    process.stdout.write(`${verdict.mutant.id.padEnd(60)}  ${verdict.kind}${verdict.kind === "caught" ? "" : `: ${verdict.detail}`}\n`);
  }
  process.stdout.write(`\n${count("caught")} caught, ${count("missed")} missed, ${count("error")} errors\n`);
  return count("caught") === verdicts.length ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
