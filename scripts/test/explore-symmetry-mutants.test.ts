// A planted bug found again under symmetry reduction (`concord explore --symmetry`)
// where the reduction acts (this file sits with the mutation check, whose helpers it
// uses; it tests packages/explore). `pnpm test:mutants --explore --symmetry` runs every
// mutant's own Explore: flags with --symmetry, and catches all of them, but at those
// bounds the group is the identity or the rotations almost everywhere (membership
// changes, client restarts, an active client, two Paxos clients: docs/explore.md), so
// it removes no state there. Raft's hard-state-after-entries needs no client: a
// leader's own no-op entry, written before its term and vote, is what the crash
// tears. Without a client every permutation of the three replicas maps the model onto
// itself, and the reduced search must find the same shortest counterexample in fewer
// states.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeScratchCopy, removeScratchCopy, runExplore } from "../mutants/mutants.ts";

const repoRoot = join(import.meta.dirname, "../..");
const flags = ["--algo", "raft", "--clients", "0", "--crashes", "1", "--timeouts", "1", "--option", "preVote=false", "--option", "checkQuorum=false", "--depth", "5"];

describe("symmetry reduction finds a planted bug where it removes states", () => {
  let scratch = "";
  beforeAll(() => {
    scratch = makeScratchCopy(repoRoot);
  });
  afterAll(() => {
    if (scratch !== "") removeScratchCopy(scratch);
  });

  it("raft/hard-state-after-entries with no client: the same 5-step counterexample, in fewer states", async () => {
    const patchPath = join(repoRoot, "scripts/mutants/raft/hard-state-after-entries.patch");
    execFileSync("git", ["apply", patchPath], { cwd: scratch });
    try {
      const plain = await runExplore(scratch, flags);
      const reduced = await runExplore(scratch, [...flags, "--symmetry"]);
      if (plain.kind === "failed") throw new Error(plain.detail);
      if (reduced.kind === "failed") throw new Error(reduced.detail);
      const report = reduced.report as typeof reduced.report & { readonly symmetry?: boolean; readonly symmetric?: number };
      expect(plain.report.outcome).toBe("violation");
      expect(report).toMatchObject({ outcome: "violation", symmetry: true, violation: { property: plain.report.violation?.property } });
      expect(report.violation?.steps).toHaveLength(plain.report.violation?.steps.length ?? -1);
      expect(report.violation?.steps).toHaveLength(5);
      expect(report.uniqueStates * 2).toBeLessThan(plain.report.uniqueStates);
      expect(report.symmetric).toBeGreaterThan(0);
    } finally {
      execFileSync("git", ["apply", "-R", patchPath], { cwd: scratch });
    }
    // Unmutated, the reduced search exhausts the same bounds with no violation.
    const clean = await runExplore(scratch, [...flags, "--symmetry"]);
    if (clean.kind === "failed") throw new Error(clean.detail);
    expect(clean.report.outcome).toBe("exhausted");
  });
});
