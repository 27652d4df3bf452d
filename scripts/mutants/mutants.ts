// The mutation check's machinery: find the planted-bug patches, read their
// headers, check that they apply, and run one against a scratch copy of the
// working tree. scripts/mutants/run.ts is the command; README.md says how a
// patch is laid out.
import { execFile, execFileSync } from "node:child_process";
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** MutantHeader is what a patch says about itself, before its first `diff --git` line. */
export interface MutantHeader {
  /** description is the `Mutant:` line: what the planted bug is. */
  readonly description: string;
  /** tests are the `Tests:` files (from the repository root) to run instead of the whole project. */
  readonly tests: readonly string[];
  /** testName is the `Test-name:` pattern handed to vitest's `-t`. */
  readonly testName: string | undefined;
  /** env holds the `Env:` variables set for the run. */
  readonly env: Readonly<Record<string, string>>;
  /**
   * swarm lists the `Swarm:` runs (`<algo>` or `<algo>:<nodes>`) that
   * `--swarm` uses to look for the bug by random simulation; empty means the
   * project's own algorithm when the project is one, else none.
   */
  readonly swarm: readonly SwarmTarget[];
  /**
   * explore holds the `Explore:` line's `concord explore` flags, which
   * `--explore` runs to look for the bug by model checking, or undefined
   * when the header has none.
   */
  readonly explore: readonly string[] | undefined;
  /** exploreOutOfReach is the `Explore-out-of-reach:` line: why no bounds the model checker can search find the bug. */
  readonly exploreOutOfReach: string | undefined;
}

/** SwarmTarget is one algorithm (and cluster size, undefined for its default) a swarm of a mutant runs. */
export interface SwarmTarget {
  readonly algo: string;
  readonly nodes: number | undefined;
}

/** Mutant is one planted bug: a patch whose tests live in a vitest project. */
export interface Mutant {
  /** id is `<project>/<name>`, what the report and the filters use. */
  readonly id: string;
  readonly project: string;
  readonly name: string;
  /** path is the patch file, from the repository root. */
  readonly path: string;
  readonly header: MutantHeader;
}

/**
 * MutantVerdict is how a mutant fared: caught (a test failed), missed (all
 * passed), an error (it did not apply, or no test ran), or, in the explore
 * mode only, unexplored (its header says why no bounds reach it).
 */
export interface MutantVerdict {
  readonly mutant: Mutant;
  readonly kind: "caught" | "missed" | "error" | "unexplored";
  readonly detail: string;
  readonly seconds: number;
}

/** mutantsDir is where the patches live, from the repository root. */
export const mutantsDir = "scripts/mutants";

/** mutantTimeoutMs bounds one mutant's test run; a run that takes longer is an error, not a catch. */
const mutantTimeoutMs = 30 * 60_000;

/** parseMutantHeader reads the header lines before a patch's first `diff --git` line. */
export function parseMutantHeader(patch: string): MutantHeader {
  const headerEnd = patch.search(/^diff --git /m);
  const lines = (headerEnd < 0 ? "" : patch.slice(0, headerEnd)).split("\n");
  let description = "";
  const tests: string[] = [];
  let testName: string | undefined;
  const env: Record<string, string> = {};
  const swarm: SwarmTarget[] = [];
  let explore: string[] | undefined;
  let exploreOutOfReach: string | undefined;
  for (const line of lines) {
    const match = /^([A-Za-z-]+):\s*(.*)$/.exec(line.trim());
    if (match === null) continue;
    const [, field, value] = match as unknown as [string, string, string];
    switch (field.toLowerCase()) {
      case "mutant":
        description = value;
        break;
      case "tests":
        tests.push(...value.split(/\s+/).filter((path) => path !== ""));
        break;
      case "test-name":
        testName = value;
        break;
      case "env":
        for (const pair of value.split(/\s+/).filter((item) => item !== "")) {
          const at = pair.indexOf("=");
          if (at <= 0) throw new Error(`Env: expected NAME=value, got "${pair}"`);
          env[pair.slice(0, at)] = pair.slice(at + 1);
        }
        break;
      case "swarm":
        for (const item of value.split(/\s+/).filter((part) => part !== "")) swarm.push(parseSwarmTarget(item));
        break;
      case "explore":
        // One flag set per mutant: the one the mode runs and the docs' table quotes.
        if (explore !== undefined) throw new Error("Explore: given twice; a mutant names one set of bounds");
        explore = value.split(/\s+/).filter((flag) => flag !== "");
        if (explore.length === 0) throw new Error("Explore: expected concord explore flags, got nothing");
        break;
      case "explore-out-of-reach":
        if (exploreOutOfReach !== undefined) throw new Error("Explore-out-of-reach: given twice");
        if (value.trim() === "") throw new Error("Explore-out-of-reach: expected the reason, got nothing");
        exploreOutOfReach = value.trim();
        break;
    }
  }
  return { description, tests, testName, env, swarm, explore, exploreOutOfReach };
}

function parseSwarmTarget(item: string): SwarmTarget {
  const match = /^([a-z][a-z0-9-]*)(?::([1-9][0-9]*))?$/.exec(item);
  if (match === null) throw new Error(`Swarm: expected <algo> or <algo>:<nodes>, got "${item}"`);
  return { algo: match[1] as string, nodes: match[2] === undefined ? undefined : Number(match[2]) };
}

/** swarmAlgorithms are the projects whose mutants a swarm looks for by default: each is a registered algorithm of the same name. */
const swarmAlgorithms: readonly string[] = ["raft", "multipaxos", "pbft"];

/** swarmTargets are the swarms that look for a mutant: the header's `Swarm:` line, else the project's own algorithm. */
export function swarmTargets(mutant: Mutant): readonly SwarmTarget[] {
  if (mutant.header.swarm.length > 0) return mutant.header.swarm;
  return swarmAlgorithms.includes(mutant.project) ? [{ algo: mutant.project, nodes: undefined }] : [];
}

/**
 * protocolProjects are the projects whose mutants are protocol bugs, each of
 * which must say whether the model checker reaches it: an `Explore:` line, or
 * an `Explore-out-of-reach:` line saying why not. Mutants of the simulator,
 * the checker and the front ends plant no protocol bug and are exempt.
 */
export const protocolProjects: readonly string[] = ["raft", "multipaxos", "pbft", "paxos", "core", "vr"];

/** isProtocolMutant tells whether a mutant plants a protocol bug (see protocolProjects). */
export function isProtocolMutant(mutant: Mutant): boolean {
  return protocolProjects.includes(mutant.project);
}

/** listMutants finds every `scripts/mutants/<project>/<name>.patch`, sorted by id. */
export function listMutants(repoRoot: string): Mutant[] {
  const root = join(repoRoot, mutantsDir);
  const mutants: Mutant[] = [];
  for (const project of readdirSync(root).sort()) {
    if (!lstatSync(join(root, project)).isDirectory()) continue;
    for (const file of readdirSync(join(root, project)).sort()) {
      if (!file.endsWith(".patch")) continue;
      const name = file.slice(0, -".patch".length);
      const path = `${mutantsDir}/${project}/${file}`;
      mutants.push({ id: `${project}/${name}`, project, name, path, header: parseMutantHeader(readFileSync(join(repoRoot, path), "utf8")) });
    }
  }
  return mutants;
}

/** vitestProjects lists the project names vitest.config.ts defines, the only folders a mutant may sit in. */
export async function vitestProjects(repoRoot: string): Promise<string[]> {
  const config = (await import(join(repoRoot, "vitest.config.ts"))) as { default: { test?: { projects?: { test?: { name?: string } }[] } } };
  return (config.default.test?.projects ?? []).map((project) => project.test?.name ?? "").filter((name) => name !== "");
}

/**
 * projectTestFolder is the folder (from the repository root) whose test files
 * a vitest project runs, as vitest.config.ts lays them out: a package's
 * `packages/<name>/test/`, the bench's `bench/test/`, the repository's
 * `scripts/test/`.
 */
export function projectTestFolder(project: string): string {
  if (project === "bench") return "bench/test/";
  if (project === "repo") return "scripts/test/";
  return `packages/${project}/test/`;
}

/**
 * testsOutsideProject lists the header's `Tests:` files that the mutant's
 * project does not run. runMutant hands them to vitest with `--project`, which
 * would skip them without a word: a test named there but living in another
 * project would never be run against the bug it claims to catch.
 */
export function testsOutsideProject(mutant: Mutant): string[] {
  const folder = projectTestFolder(mutant.project);
  return mutant.header.tests.filter((file) => !file.startsWith(folder) || !file.endsWith(".test.ts"));
}

/** applyError returns why a patch does not apply to the tree at `dir` (`git apply --check`), or undefined when it does. */
export function applyError(dir: string, patchPath: string): string | undefined {
  try {
    execFileSync("git", ["apply", "--check", patchPath], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    return undefined;
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? (error as Error).message).trim();
    return stderr === "" ? "git apply --check failed" : stderr.split("\n").slice(0, 3).join(" / ");
  }
}

/**
 * makeScratchCopy copies the working tree (tracked and untracked files, not
 * ignored ones) into a new temporary folder, with node_modules rebuilt from
 * links: the packages' own links to each other are copied as the relative
 * links they are, so that they lead to the copy's (mutated) packages, and the
 * pnpm store is linked, not copied. A copy takes about a second.
 */
export function makeScratchCopy(repoRoot: string): string {
  const dir = mkdtempSync(join(tmpdir(), "concord-mutant-"));
  const listed = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: repoRoot, maxBuffer: 64 << 20 }).toString("utf8");
  for (const path of new Set(listed.split("\0").filter((path) => path !== ""))) {
    const from = join(repoRoot, path);
    if (!existsSync(from)) continue; // deleted in the working tree
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    cpSync(from, join(dir, path), { verbatimSymlinks: true });
  }
  linkNodeModules(repoRoot, dir);
  return dir;
}

function linkNodeModules(repoRoot: string, dir: string): void {
  const rootModules = join(repoRoot, "node_modules");
  mkdirSync(join(dir, "node_modules"), { recursive: true });
  for (const entry of readdirSync(rootModules)) {
    if (entry.startsWith(".vite")) continue; // vite's caches: the copy makes its own
    if (entry === ".pnpm") symlinkSync(join(rootModules, entry), join(dir, "node_modules", entry));
    else cpSync(join(rootModules, entry), join(dir, "node_modules", entry), { recursive: true, verbatimSymlinks: true });
  }
  // Each workspace package's node_modules (packages/*, bench) holds relative links to its dependencies.
  for (const top of readdirSync(repoRoot)) {
    if (top === "node_modules" || top.startsWith(".") || !lstatSync(join(repoRoot, top)).isDirectory()) continue;
    for (const sub of ["", ...readdirSync(join(repoRoot, top))]) {
      const from = join(repoRoot, top, sub, "node_modules");
      if (existsSync(from)) cpSync(from, join(dir, top, sub, "node_modules"), { recursive: true, verbatimSymlinks: true });
    }
  }
}

/** removeScratchCopy deletes a scratch copy (its links into the real node_modules are removed, not followed). */
export function removeScratchCopy(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * runMutant applies one patch to a scratch copy, runs the project's tests
 * (or the header's selection) there with vitest's JSON report, reverts the
 * patch, and says whether a test caught it. A run in which no test ran is an
 * error, never a catch: a misspelt test file must not pass for a caught bug.
 */
export async function runMutant(scratch: string, repoRoot: string, mutant: Mutant): Promise<MutantVerdict> {
  const startedMs = performance.now();
  const verdict = (kind: MutantVerdict["kind"], detail: string): MutantVerdict => ({ mutant, kind, detail, seconds: (performance.now() - startedMs) / 1000 });
  const patchPath = join(repoRoot, mutant.path);
  const notApplying = applyError(scratch, patchPath);
  if (notApplying !== undefined) return verdict("error", `does not apply: ${notApplying}`);
  execFileSync("git", ["apply", patchPath], { cwd: scratch, stdio: "ignore" });
  try {
    const reportPath = join(scratch, `.mutant-report-${process.pid}.json`);
    rmSync(reportPath, { force: true });
    const args = [join(scratch, "node_modules/vitest/vitest.mjs"), "run", "--project", mutant.project, "--reporter=json", `--outputFile=${reportPath}`];
    if (mutant.header.testName !== undefined) args.push("-t", mutant.header.testName);
    args.push(...mutant.header.tests);
    const exit = await run(process.execPath, args, scratch, { ...process.env, ...mutant.header.env });
    if (exit.timedOut) return verdict("error", `the tests ran longer than ${mutantTimeoutMs / 60_000} minutes`);
    if (!existsSync(reportPath)) return verdict("error", `vitest wrote no report (exit ${exit.code}): ${exit.stderr.trim().split("\n").slice(-3).join(" / ")}`);
    const report = JSON.parse(readFileSync(reportPath, "utf8")) as VitestJsonReport;
    return judge(report, verdict);
  } finally {
    execFileSync("git", ["apply", "-R", patchPath], { cwd: scratch, stdio: "ignore" });
  }
}

/** SwarmPlan says how many seeds (from seed 1) a swarm of each target runs, and on how many worker threads. */
export interface SwarmPlan {
  readonly seeds: number;
  readonly jobs: number;
}

/**
 * runMutantSwarm applies one patch to a scratch copy and runs `concord swarm`
 * (the chaos scenario, options drawn from each seed) for each of its targets
 * there: caught when some seed breaks a guarantee, missed when every seed of
 * every target keeps them all. It answers whether random simulation, not a
 * test written for the bug, finds it. A mutant with no target is an error.
 */
export async function runMutantSwarm(scratch: string, repoRoot: string, mutant: Mutant, plan: SwarmPlan): Promise<MutantVerdict> {
  const startedMs = performance.now();
  const verdict = (kind: MutantVerdict["kind"], detail: string): MutantVerdict => ({ mutant, kind, detail, seconds: (performance.now() - startedMs) / 1000 });
  const targets = swarmTargets(mutant);
  if (targets.length === 0) return verdict("error", "no algorithm to swarm: the project is not one, and the header has no Swarm: line");
  const patchPath = join(repoRoot, mutant.path);
  const notApplying = applyError(scratch, patchPath);
  if (notApplying !== undefined) return verdict("error", `does not apply: ${notApplying}`);
  execFileSync("git", ["apply", patchPath], { cwd: scratch, stdio: "ignore" });
  try {
    const looked: string[] = [];
    for (const target of targets) {
      const args = [join(scratch, "node_modules/tsx/dist/cli.mjs"), "packages/cli/src/main.ts", "swarm", "--algo", target.algo, "--seeds", String(plan.seeds), "--jobs", String(plan.jobs), "--json"];
      if (target.nodes !== undefined) args.push("--nodes", String(target.nodes));
      const exit = await run(process.execPath, args, scratch, process.env);
      const name = `${target.algo}${target.nodes === undefined ? "" : ` n=${target.nodes}`}`;
      if (exit.timedOut) return verdict("error", `the swarm of ${name} ran longer than ${mutantTimeoutMs / 60_000} minutes`);
      let result: SwarmJson;
      try {
        result = JSON.parse(exit.stdout) as SwarmJson;
      } catch {
        return verdict("error", `the swarm of ${name} printed no report (exit ${exit.code}): ${exit.stderr.trim().split("\n").slice(-3).join(" / ")}`);
      }
      const first = result.failures[0];
      if (first !== undefined) {
        return verdict("caught", `${name}: ${result.failures.length} of ${plan.seeds} seeds failed, first seed ${first.seed}: ${first.problems[0] ?? "?"}`);
      }
      looked.push(name);
    }
    return verdict("missed", `every seed kept every guarantee (${looked.join(", ")}; seeds 1..${plan.seeds})`);
  } finally {
    execFileSync("git", ["apply", "-R", patchPath], { cwd: scratch, stdio: "ignore" });
  }
}

/** exploreTimeoutMs bounds one `concord explore` run of the mode; the bounds in a header are meant to take under a minute. */
const exploreTimeoutMs = 10 * 60_000;

/** ExploreRunResult is what one `concord explore --json` run reported, or why it reported nothing. */
export type ExploreRunResult =
  | { readonly kind: "ran"; readonly exitCode: number; readonly report: ExploreJson; readonly seconds: number }
  | { readonly kind: "failed"; readonly detail: string; readonly seconds: number };

/** ExploreJson is the part of `concord explore --json` the verdict reads. */
export interface ExploreJson {
  readonly outcome: "violation" | "exhausted" | "stopped";
  readonly uniqueStates: number;
  /** por tells whether the partial-order reduction was on (the default), so that the counts say which model they count. */
  readonly por?: boolean;
  readonly elapsedMs: number;
  readonly depthReached: number;
  readonly cutBy: Readonly<Record<string, number>>;
  readonly sometimes: readonly { readonly name: string; readonly reached: boolean }[];
  readonly violation?: { readonly property: string; readonly message: string; readonly steps: readonly unknown[]; readonly continuationFrom?: number };
}

/**
 * runExplore runs `concord explore <flags> --json` in the tree at `dir` and
 * reads its report: exit 0 (no violation), 1 (a violation), 3 (inconclusive).
 * Exit 2 (bad flags), a crash or a timeout is a failed run.
 */
export async function runExplore(dir: string, flags: readonly string[]): Promise<ExploreRunResult> {
  const startedMs = performance.now();
  const seconds = (): number => (performance.now() - startedMs) / 1000;
  const args = [join(dir, "node_modules/tsx/dist/cli.mjs"), "packages/cli/src/main.ts", "explore", ...flags, "--json", "--progress-every", "0"];
  const exit = await run(process.execPath, args, dir, process.env, exploreTimeoutMs);
  if (exit.timedOut) return { kind: "failed", detail: `concord explore ran longer than ${exploreTimeoutMs / 60_000} minutes`, seconds: seconds() };
  if (![0, 1, 3].includes(exit.code)) return { kind: "failed", detail: `concord explore exited ${exit.code}: ${exit.stderr.trim().split("\n").slice(-3).join(" / ")}`, seconds: seconds() };
  try {
    return { kind: "ran", exitCode: exit.code, report: JSON.parse(exit.stdout) as ExploreJson, seconds: seconds() };
  } catch {
    return { kind: "failed", detail: `concord explore printed no report (exit ${exit.code}): ${exit.stderr.trim().split("\n").slice(-3).join(" / ")}`, seconds: seconds() };
  }
}

/** describeExplore says in one line what an exploration found: the counterexample's length, or how the search ended, with its unique states and seconds. */
export function describeExplore(result: Extract<ExploreRunResult, { kind: "ran" }>): string {
  const { report } = result;
  const size = `${report.uniqueStates.toLocaleString("en-US")} unique states${report.por === true ? " (partial-order reduction on)" : report.por === false ? " (no reduction)" : ""}, ${(report.elapsedMs / 1000).toFixed(1)} s`;
  if (report.violation !== undefined) return `a ${report.violation.steps.length}-step counterexample, ${size}: ${report.violation.property}: ${report.violation.message}`;
  const cuts = Object.entries(report.cutBy).filter(([, count]) => count > 0).map(([name]) => name);
  const never = report.sometimes.filter((property) => !property.reached).map((property) => property.name);
  const how = report.outcome === "stopped" ? "stopped at the state limit" : "no violation within the bounds";
  return `${how}, ${size}, deepest path ${report.depthReached}${cuts.length > 0 ? `, cut by ${cuts.join(", ")}` : ""}${never.length > 0 ? `, never reached: ${never.join(", ")}` : ""}`;
}

/**
 * exploreFlagsOf is the `concord explore` flags a mutant runs with: its
 * header's `Explore:` flags as given (a `--no-por` or `--eventually` there is
 * honoured), then each of `extra` the header does not already give and does
 * not exclude (`--symmetry` where it asks `--eventually`); undefined when the
 * header has no `Explore:` line.
 */
export function exploreFlagsOf(mutant: Mutant, extra: readonly string[] = []): readonly string[] | undefined {
  const own = mutant.header.explore;
  if (own === undefined) return undefined;
  const contradicts = (flag: string): boolean =>
    (flag === "--no-por" && own.includes("--por")) || (flag === "--por" && own.includes("--no-por")) || (flag === "--symmetry" && own.includes("--eventually"));
  return [...own, ...extra.filter((flag) => !own.includes(flag) && !contradicts(flag))];
}

/**
 * runMutantExplore applies one patch to a scratch copy and runs `concord
 * explore` with its header's `Explore:` flags there: caught when the search
 * finds a violation (exit 1), missed when it finds none within the bounds
 * (exit 0, or 3 when inconclusive). A mutant with an `Explore-out-of-reach:`
 * line instead is reported unexplored with its reason, not run; a protocol
 * mutant with neither line is an error.
 */
export async function runMutantExplore(scratch: string, repoRoot: string, mutant: Mutant, extra: readonly string[] = []): Promise<MutantVerdict> {
  const startedMs = performance.now();
  const verdict = (kind: MutantVerdict["kind"], detail: string): MutantVerdict => ({ mutant, kind, detail, seconds: (performance.now() - startedMs) / 1000 });
  const flags = exploreFlagsOf(mutant, extra);
  if (flags === undefined) {
    if (mutant.header.exploreOutOfReach !== undefined) return verdict("unexplored", `out of reach: ${mutant.header.exploreOutOfReach}`);
    return verdict("error", "the header has neither an Explore: line (the bounds that find it) nor an Explore-out-of-reach: line (why none do)");
  }
  const patchPath = join(repoRoot, mutant.path);
  const notApplying = applyError(scratch, patchPath);
  if (notApplying !== undefined) return verdict("error", `does not apply: ${notApplying}`);
  execFileSync("git", ["apply", patchPath], { cwd: scratch, stdio: "ignore" });
  try {
    const result = await runExplore(scratch, flags);
    if (result.kind === "failed") return verdict("error", result.detail);
    return verdict(result.exitCode === 1 ? "caught" : "missed", describeExplore(result));
  } finally {
    execFileSync("git", ["apply", "-R", patchPath], { cwd: scratch, stdio: "ignore" });
  }
}

/** SwarmJson is the part of `concord swarm --json` the verdict reads. */
interface SwarmJson {
  readonly failures: readonly { readonly seed: number; readonly problems: readonly string[] }[];
}

/** VitestJsonReport is the part of vitest's JSON report the verdict reads. */
interface VitestJsonReport {
  readonly numTotalTests: number;
  readonly numFailedTests: number;
  readonly numPassedTests: number;
  readonly numFailedTestSuites: number;
  readonly testResults: readonly { readonly name: string; readonly status: string; readonly message?: string; readonly assertionResults: readonly { readonly fullName: string; readonly status: string }[] }[];
}

function judge(report: VitestJsonReport, verdict: (kind: MutantVerdict["kind"], detail: string) => MutantVerdict): MutantVerdict {
  if (report.numFailedTests > 0) {
    const failed = report.testResults.flatMap((file) => file.assertionResults.filter((test) => test.status === "failed").map((test) => test.fullName));
    return verdict("caught", `${report.numFailedTests} of ${report.numTotalTests} tests failed, first: ${failed[0] ?? "?"}`);
  }
  if (report.numFailedTestSuites > 0) {
    const file = report.testResults.find((result) => result.status === "failed");
    return verdict("caught", `a test file failed to run: ${file?.name ?? "?"}: ${(file?.message ?? "").split("\n")[0] ?? ""}`);
  }
  if (report.numPassedTests === 0) return verdict("error", "no test ran: check the project and the header's Tests and Test-name");
  return verdict("missed", `all ${report.numPassedTests} tests passed`);
}

function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs = mutantTimeoutMs): Promise<{ code: number; stdout: string; stderr: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env, timeout: timeoutMs, maxBuffer: 256 << 20 }, (error, stdout, stderr) => {
      const timedOut = error !== null && (error as { killed?: boolean }).killed === true;
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr, timedOut });
    });
  });
}
