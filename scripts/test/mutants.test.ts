// The planted bugs of `pnpm test:mutants` are too slow to run in `pnpm test`, but they must not rot:
// every patch still applies to the tree, sits in a vitest project's folder, and names test files that exist.
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { type Mutant, applyError, exploreFlagsOf, isProtocolMutant, listMutants, parseMutantHeader, swarmTargets, testsOutsideProject, vitestProjects } from "../mutants/mutants.ts";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const mutants = listMutants(repoRoot);

describe("planted bugs (pnpm test:mutants)", () => {
  test("there are some, among them the old pause behaviour of the simulator", () => {
    expect(mutants.map((mutant) => mutant.id)).toContain("sim/paused-node-drops-ticks");
  });

  test.each(mutants.map((mutant) => [mutant.id, mutant] as const))("%s still applies to the tree, and its header names a project and test files that exist", async (_id, mutant) => {
    expect(applyError(repoRoot, join(repoRoot, mutant.path)), `${mutant.path} no longer applies: refresh it against the code it mutates`).toBeUndefined();
    expect(await vitestProjects(repoRoot)).toContain(mutant.project);
    expect(mutant.name).toMatch(/^[a-z0-9][a-z0-9-]*$/);
    for (const file of mutant.header.tests) expect(existsSync(join(repoRoot, file)), `${mutant.path} names ${file}, which does not exist`).toBe(true);
    expect(testsOutsideProject(mutant), `${mutant.path} names tests its project ${mutant.project} does not run (vitest --project would skip them)`).toEqual([]);
  });

  // The model checker's side of the mutation check (`pnpm test:mutants --explore`): each protocol bug either names the
  // bounds within which `concord explore` finds it, or says which bound would have to grow and what that costs.
  test.each(mutants.filter(isProtocolMutant).map((mutant) => [mutant.id, mutant] as const))("%s names the bounds that find it with concord explore, or why none can", (_id, mutant) => {
    const { explore, exploreOutOfReach } = mutant.header;
    expect([explore, exploreOutOfReach].filter((line) => line !== undefined).length, `${mutant.path} needs exactly one of an Explore: line and an Explore-out-of-reach: line`).toBe(1);
    if (explore !== undefined) {
      expect(explore[0], `${mutant.path}: Explore: must start with --algo`).toBe("--algo");
      expect(explore, `${mutant.path}: the mode adds --json itself`).not.toContain("--json");
    }
    if (exploreOutOfReach !== undefined) expect(exploreOutOfReach.length, `${mutant.path}: say which bound would have to grow and what it costs`).toBeGreaterThan(30);
  });
});

describe("a mutant's header", () => {
  test("reads the description, test files, test name and environment before the first diff, and nothing after it", () => {
    const header = parseMutantHeader(
      [
        "Mutant: a vote not persisted before the reply",
        "Tests: packages/raft/test/a.test.ts packages/raft/test/b.test.ts",
        "Tests: packages/raft/test/c.test.ts",
        "Test-name: persists its vote",
        "Env: CONCORD_SEEDS=20 X=1",
        "Swarm: raft multipaxos:5",
        "",
        "diff --git a/x.ts b/x.ts",
        "Tests: packages/raft/test/not-a-header.test.ts",
      ].join("\n"),
    );
    expect(header).toEqual({
      description: "a vote not persisted before the reply",
      tests: ["packages/raft/test/a.test.ts", "packages/raft/test/b.test.ts", "packages/raft/test/c.test.ts"],
      testName: "persists its vote",
      env: { CONCORD_SEEDS: "20", X: "1" },
      swarm: [
        { algo: "raft", nodes: undefined },
        { algo: "multipaxos", nodes: 5 },
      ],
      explore: undefined,
      exploreOutOfReach: undefined,
    });
  });

  test("finds a Tests: file its project does not run, which vitest --project would skip without a word", () => {
    const mutant = (project: string, tests: string[]): Mutant => ({ id: `${project}/x`, project, name: "x", path: `scripts/mutants/${project}/x.patch`, header: { ...parseMutantHeader("diff --git a/x b/x\n"), tests } });
    expect(testsOutsideProject(mutant("raft", ["packages/raft/test/held-races.test.ts"]))).toEqual([]);
    expect(testsOutsideProject(mutant("raft", ["packages/raft/test/a.test.ts", "packages/cli/test/held-races.test.ts"]))).toEqual(["packages/cli/test/held-races.test.ts"]);
    expect(testsOutsideProject(mutant("raft", ["packages/raft/test/helpers.ts"]))).toEqual(["packages/raft/test/helpers.ts"]);
    expect(testsOutsideProject(mutant("repo", ["scripts/test/mutants.test.ts"]))).toEqual([]);
    expect(testsOutsideProject(mutant("bench", ["packages/sim/test/x.test.ts"]))).toEqual(["packages/sim/test/x.test.ts"]);
  });

  test("reads the Explore: flags and the Explore-out-of-reach: reason, and refuses either line twice", () => {
    expect(parseMutantHeader("Explore: --algo paxos  --clients 2 --timeouts 0\ndiff --git a/x b/x\n").explore).toEqual(["--algo", "paxos", "--clients", "2", "--timeouts", "0"]);
    expect(parseMutantHeader("Explore-out-of-reach: needs a client restart\ndiff --git a/x b/x\n").exploreOutOfReach).toBe("needs a client restart");
    expect(() => parseMutantHeader("Explore: --algo raft\nExplore: --algo pbft\ndiff --git a/x b/x\n")).toThrow(/Explore: given twice/);
    expect(() => parseMutantHeader("Explore-out-of-reach: a\nExplore-out-of-reach: b\ndiff --git a/x b/x\n")).toThrow(/Explore-out-of-reach: given twice/);
  });

  test("runs the Explore: flags as the header gives them (its --no-por honoured), adding the mode's --no-por only where the header says nothing of the reduction", () => {
    const of = (line: string): Mutant => ({ id: "p/x", project: "p", name: "x", path: "x.patch", header: parseMutantHeader(`${line}\ndiff --git a/x b/x\n`) });
    expect(exploreFlagsOf(of("Explore: --algo paxos --no-por"))).toEqual(["--algo", "paxos", "--no-por"]);
    expect(exploreFlagsOf(of("Explore: --algo paxos"), ["--no-por"])).toEqual(["--algo", "paxos", "--no-por"]);
    expect(exploreFlagsOf(of("Explore: --algo paxos --no-por"), ["--no-por"])).toEqual(["--algo", "paxos", "--no-por"]);
    expect(exploreFlagsOf(of("Explore: --algo paxos --por"), ["--no-por"])).toEqual(["--algo", "paxos", "--por"]);
    expect(exploreFlagsOf(of("Explore-out-of-reach: needs a client restart"), ["--no-por"])).toBeUndefined();
  });

  test("is optional: a bare diff runs the whole project", () => {
    expect(parseMutantHeader("diff --git a/x.ts b/x.ts\n")).toEqual({ description: "", tests: [], testName: undefined, env: {}, swarm: [], explore: undefined, exploreOutOfReach: undefined });
  });

  test("refuses a Swarm entry that is not <algo> or <algo>:<nodes>", () => {
    expect(() => parseMutantHeader("Swarm: raft:0\ndiff --git a/x b/x\n")).toThrow(/Swarm: expected <algo> or <algo>:<nodes>, got "raft:0"/);
  });

  test("swarms a protocol project's own algorithm unless the header names others, and nothing for a project that is not one", () => {
    const mutant = (project: string, swarm: string): Mutant => ({ id: `${project}/x`, project, name: "x", path: "x.patch", header: parseMutantHeader(`${swarm}diff --git a/x b/x\n`) });
    expect(swarmTargets(mutant("pbft", ""))).toEqual([{ algo: "pbft", nodes: undefined }]);
    expect(swarmTargets(mutant("core", ""))).toEqual([]);
    expect(swarmTargets(mutant("core", "Swarm: solo raft:5\n"))).toEqual([
      { algo: "solo", nodes: undefined },
      { algo: "raft", nodes: 5 },
    ]);
  });

  test("refuses an Env entry that is not NAME=value", () => {
    expect(() => parseMutantHeader("Env: CONCORD_SEEDS\ndiff --git a/x b/x\n")).toThrow(/Env: expected NAME=value, got "CONCORD_SEEDS"/);
  });
});

describe("applyError", () => {
  test("says why a patch that no longer matches the code does not apply", () => {
    const stale = join(mkdtempSync(join(tmpdir(), "concord-stale-")), "stale.patch");
    const lines = ["diff --git a/package.json b/package.json", "--- a/package.json", "+++ b/package.json", "@@ -1,3 +1,3 @@", " {", '-  "name": "not-this-repository",', '+  "name": "mutated",', '   "private": true,', ""];
    writeFileSync(stale, lines.join("\n"));
    expect(applyError(repoRoot, stale)).toMatch(/patch does not apply/);
  });
});
