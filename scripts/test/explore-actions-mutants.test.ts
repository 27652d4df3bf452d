// The model checker's actions beyond the network, the clocks and the crashes (issue 20: a client restart, a membership
// change, a leadership transfer, a lasting partition; packages/explore/src/operations.ts), each tested by a planted bug that only it reaches:
// with the patch applied in a scratch copy of the working tree (the mutation check's own helpers,
// scripts/mutants/mutants.ts), `concord explore` with the header's `Explore:` flags finds a counterexample that takes
// the action, and the same flags with the action's bound at 0 find none (the bug is out of the search's reach without it).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeScratchCopy, parseMutantHeader, removeScratchCopy, runExplore } from "../mutants/mutants.ts";

const repoRoot = join(import.meta.dirname, "../..");

/** cases name each mutant, the flag of the action only it reaches, and the action kind its counterexample must take. */
const cases = [
  { mutant: "core/leader-client-takes-another-sessions-result", flag: "--client-restarts", kind: "client-restart" },
  { mutant: "raft/demotion-in-one-change", flag: "--reconfigurations", kind: "reconfigure" },
  { mutant: "vr/new-epoch-starts-before-state", flag: "--reconfigurations", kind: "reconfigure" },
  // A majority replaced in one change (every voter, here), then the bounded "eventually" check's continuation.
  { mutant: "vr/leaving-replica-shuts-down-at-once", flag: "--reconfigurations", kind: "reconfigure" },
  // A client cut off with one replica for good, then the continuation, which keeps the cut.
  { mutant: "pbft/stale-read-waits-for-f-plus-1", flag: "--partitions", kind: "partition" },
] as const;

/** withBound returns `flags` with `flag`'s value replaced by `value`. */
function withBound(flags: readonly string[], flag: string, value: string): string[] {
  const at = flags.indexOf(flag);
  expect(at, `the Explore: line gives ${flag}`).toBeGreaterThanOrEqual(0);
  return flags.map((given, index) => (index === at + 1 ? value : given));
}

describe("each new action of the model checker reaches a planted bug that no other action reaches", () => {
  let scratch = "";
  beforeAll(() => {
    scratch = makeScratchCopy(repoRoot);
  });
  afterAll(() => {
    if (scratch !== "") removeScratchCopy(scratch);
  });

  for (const { mutant, flag, kind } of cases) {
    it(`${mutant} (${flag})`, async () => {
      const patchPath = join(repoRoot, "scripts/mutants", `${mutant}.patch`);
      const flags = parseMutantHeader(readFileSync(patchPath, "utf8")).explore ?? [];
      const depth = Number(flags[flags.indexOf("--depth") + 1]);
      execFileSync("git", ["apply", patchPath], { cwd: scratch });
      try {
        const found = await runExplore(scratch, flags);
        if (found.kind === "failed") throw new Error(found.detail);
        expect(found.exitCode).toBe(1);
        const violation = found.report.violation;
        // A bounded "eventually" counterexample is a path within the depth bound, then the fault-free continuation.
        const path = (violation?.steps ?? []).slice(0, violation?.continuationFrom);
        if (violation?.continuationFrom === undefined) expect(path).toHaveLength(depth);
        else expect(path.length).toBeLessThanOrEqual(depth);
        expect(path.map((step) => (step as { readonly action: { readonly kind: string } }).action.kind)).toContain(kind);
        const without = await runExplore(scratch, withBound(flags, flag, "0"));
        if (without.kind === "failed") throw new Error(without.detail);
        expect(without.report.outcome, `without ${flag} the bounds hold no violation`).not.toBe("violation");
        expect(without.exitCode).not.toBe(1);
      } finally {
        execFileSync("git", ["apply", "-R", patchPath], { cwd: scratch });
      }
    });
  }
});
