// The planted bugs that `pnpm test:mutants --explore` finds, found again with
// the partial-order reduction on: each mutant's patch is applied in a scratch
// copy of the working tree (as scripts/mutants does), and `concord explore`
// runs there with the patch header's own `Explore:` flags and `--por`.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const repoRoot = join(import.meta.dirname, "../../..");

/** mutants are those whose header has an `Explore:` line (docs/testing.md, "Does the model checker find them?"). */
const mutants = ["paxos/accepts-below-promise", "paxos/proposer-ignores-promised-values", "paxos/promise-not-persisted-before-reply", "paxos/snapshot-forgets-promise", "raft/hard-state-after-entries"];

/** exploreFlags reads a patch header's `Explore:` flags. */
function exploreFlags(patch: string): string[] {
  const line = patch.split("\n").find((candidate) => candidate.startsWith("Explore:"));
  if (line === undefined) throw new Error("the patch has no Explore: line");
  return line.slice("Explore:".length).trim().split(/\s+/);
}

/** scratchCopy copies the working tree's files (tracked and new, not ignored) and links node_modules, so that a patch can be applied away from the real tree. */
function scratchCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), "concord-explore-por-"));
  const listed = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: repoRoot, maxBuffer: 64 << 20 }).toString("utf8");
  for (const path of new Set(listed.split("\0").filter((path) => path !== ""))) {
    if (!existsSync(join(repoRoot, path))) continue;
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    cpSync(join(repoRoot, path), join(dir, path), { verbatimSymlinks: true });
  }
  const rootModules = join(repoRoot, "node_modules");
  mkdirSync(join(dir, "node_modules"));
  for (const entry of readdirSync(rootModules)) {
    if (entry.startsWith(".vite")) continue;
    if (entry === ".pnpm") symlinkSync(join(rootModules, entry), join(dir, "node_modules", entry));
    else cpSync(join(rootModules, entry), join(dir, "node_modules", entry), { recursive: true, verbatimSymlinks: true });
  }
  // Each workspace package's own node_modules holds relative links to its dependencies, which then lead to the copy's packages.
  for (const top of ["packages", "bench"]) {
    for (const sub of top === "bench" ? [""] : readdirSync(join(repoRoot, top))) {
      const from = join(repoRoot, top, sub, "node_modules");
      if (existsSync(from) && lstatSync(from).isDirectory()) cpSync(from, join(dir, top, sub, "node_modules"), { recursive: true, verbatimSymlinks: true });
    }
  }
  return dir;
}

interface ExploreReport {
  readonly outcome: string;
  readonly uniqueStates: number;
  readonly slept: number;
  readonly violation?: { readonly property: string; readonly steps: readonly unknown[] };
}

function runExplore(dir: string, flags: readonly string[]): ExploreReport {
  const args = [join(dir, "node_modules/tsx/dist/cli.mjs"), "packages/cli/src/main.ts", "explore", ...flags, "--json", "--progress-every", "0"];
  try {
    return JSON.parse(execFileSync(process.execPath, args, { cwd: dir, maxBuffer: 64 << 20 }).toString("utf8")) as ExploreReport;
  } catch (error) {
    // Exit 1 (a violation) and 3 (inconclusive) still print the report.
    const stdout = (error as { stdout?: Buffer }).stdout?.toString("utf8") ?? "";
    if (stdout === "") throw error;
    return JSON.parse(stdout) as ExploreReport;
  }
}

describe("the partial-order reduction finds every planted bug the full search finds, at the same shortest depth", () => {
  let scratch = "";
  beforeAll(() => {
    scratch = scratchCopy();
  });
  afterAll(() => {
    if (scratch !== "") rmSync(scratch, { recursive: true, force: true });
  });

  for (const mutant of mutants) {
    it(mutant, () => {
      const patchPath = join(repoRoot, "scripts/mutants", `${mutant}.patch`);
      const flags = exploreFlags(readFileSync(patchPath, "utf8"));
      const depth = Number(flags[flags.indexOf("--depth") + 1]);
      execFileSync("git", ["apply", patchPath], { cwd: scratch });
      try {
        const reduced = runExplore(scratch, [...flags, "--por"]);
        expect(reduced.outcome).toBe("violation");
        // The header's --depth is the full search's shortest counterexample (a shallower one finds nothing, docs/testing.md): breadth-first, the reduced search's is as short.
        expect(reduced.violation?.steps).toHaveLength(depth);
        expect(reduced.slept).toBeGreaterThan(0);
      } finally {
        execFileSync("git", ["apply", "-R", patchPath], { cwd: scratch });
      }
    });
  }
});
