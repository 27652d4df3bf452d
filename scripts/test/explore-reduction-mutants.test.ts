// The planted bugs that `pnpm test:mutants --explore` finds, found again by
// `concord explore` as it runs by default (this file sits with the mutation check,
// whose helpers it uses; it tests packages/explore), with the partial-order reduction on:
// each mutant's patch is applied in a scratch copy of the working tree (the
// mutation check's own scratchCopy and runExplore, scripts/mutants/mutants.ts),
// and `concord explore` runs there with the patch header's own `Explore:` flags.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeScratchCopy, parseMutantHeader, removeScratchCopy, runExplore } from "../mutants/mutants.ts";

const repoRoot = join(import.meta.dirname, "../..");

/** mutants are those whose header has an `Explore:` line (docs/testing.md, "Does the model checker find them?"). */
const mutants = ["paxos/accepts-below-promise", "paxos/proposer-ignores-promised-values", "paxos/promise-not-persisted-before-reply", "paxos/snapshot-forgets-promise", "raft/hard-state-after-entries"];

describe("the partial-order reduction, on by default, finds every planted bug the full search finds, at the same shortest depth", () => {
  let scratch = "";
  beforeAll(() => {
    scratch = makeScratchCopy(repoRoot);
  });
  afterAll(() => {
    if (scratch !== "") removeScratchCopy(scratch);
  });

  for (const mutant of mutants) {
    it(mutant, async () => {
      const patchPath = join(repoRoot, "scripts/mutants", `${mutant}.patch`);
      const flags = parseMutantHeader(readFileSync(patchPath, "utf8")).explore ?? [];
      expect(flags, "the header has an Explore: line").not.toHaveLength(0);
      expect(flags, "the header leaves the reduction at its default").not.toContain("--no-por");
      const depth = Number(flags[flags.indexOf("--depth") + 1]);
      execFileSync("git", ["apply", patchPath], { cwd: scratch });
      try {
        const run = await runExplore(scratch, flags);
        if (run.kind === "failed") throw new Error(run.detail);
        const report = run.report as typeof run.report & { readonly slept: number };
        expect(report.por).toBe(true);
        expect(run.exitCode).toBe(1);
        expect(report.outcome).toBe("violation");
        // The header's --depth is the full search's shortest counterexample (a shallower one finds nothing, docs/testing.md): breadth-first, the reduced search's is as short.
        expect(report.violation?.steps).toHaveLength(depth);
        expect(report.slept).toBeGreaterThan(0);
      } finally {
        execFileSync("git", ["apply", "-R", patchPath], { cwd: scratch });
      }
    });
  }
});
