// A counterexample concord explore finds, written as a simulator scenario
// (--counterexample-out), replays in concord sim --scenario-file step by step
// to the same violation, and is drawn as a message diagram (--diagram): for a
// planted Raft bug that needs a crash inside a write and a planted Paxos bug,
// each mutant's patch applied in a scratch copy of the working tree (the
// mutation check's own helpers, scripts/mutants/mutants.ts) and explored with
// its header's own `Explore:` flags; and two planted bugs that only the
// operator's and the clients' actions reach (a membership change adding a
// spare, a client restarted under its old id).
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeScratchCopy, parseMutantHeader, removeScratchCopy, runExplore } from "../mutants/mutants.ts";

const repoRoot = join(import.meta.dirname, "../..");

/** simReplay is what the test reads of `concord sim --json`. */
interface SimReplay {
  readonly invariantViolations: readonly { readonly invariant: string; readonly message: string }[];
  readonly linearizable: boolean | null;
}

/** simViolation says whether a replayed run broke what the explorer found broken: the same monitor, a replica that threw (the simulator stops it), or linearizability. */
function sameViolation(property: string, replay: SimReplay): boolean {
  if (property === "linearizable") return replay.linearizable === false;
  const invariant = property === "no node throws" ? "replica-stopped" : property;
  return replay.invariantViolations.some((violation) => violation.invariant === invariant);
}

const mutants = [
  { mutant: "raft/hard-state-after-entries", nodes: 3 },
  { mutant: "paxos/accepts-below-promise", nodes: 3 },
  // A membership change on a spare (the operator's action), and a client restart under its old id.
  { mutant: "vr/new-epoch-starts-before-state", nodes: 3 },
  { mutant: "core/leader-client-takes-another-sessions-result", nodes: 3 },
];

describe("a counterexample replays in the simulator to the same violation", () => {
  let scratch = "";
  beforeAll(() => {
    scratch = makeScratchCopy(repoRoot);
  });
  afterAll(() => {
    if (scratch !== "") removeScratchCopy(scratch);
  });

  for (const { mutant, nodes } of mutants) {
    it(mutant, async () => {
      const patchPath = join(repoRoot, "scripts/mutants", `${mutant}.patch`);
      const flags = parseMutantHeader(readFileSync(patchPath, "utf8")).explore ?? [];
      expect(flags, "the header has an Explore: line").not.toHaveLength(0);
      const algo = flags[flags.indexOf("--algo") + 1] ?? "";
      const scenarioPath = join(scratch, `${mutant.replace("/", "-")}.json`);
      const diagramPath = join(scratch, `${mutant.replace("/", "-")}.svg`);
      execFileSync("git", ["apply", patchPath], { cwd: scratch });
      try {
        const run = await runExplore(scratch, [...flags, "--counterexample-out", scenarioPath, "--diagram", diagramPath]);
        if (run.kind === "failed") throw new Error(run.detail);
        const violation = run.report.violation;
        expect(violation, "the explorer finds the planted bug").toBeDefined();
        if (violation === undefined) return;
        const scenario = JSON.parse(readFileSync(scenarioPath, "utf8")) as { readonly script: { readonly steps: readonly { readonly step: string; readonly note?: string }[]; readonly expected: { readonly property: string } } };
        expect(scenario.script.steps.map((step) => step.note)).toEqual((violation.steps as readonly { readonly description: string }[]).map((step) => step.description));
        expect(scenario.script.expected.property).toBe(violation.property);
        const sim = spawnSync(process.execPath, [join(scratch, "node_modules/tsx/dist/cli.mjs"), "packages/cli/src/main.ts", "sim", "--algo", algo, "--nodes", String(nodes), "--seed", "1", "--scenario-file", scenarioPath, "--json"], {
          cwd: scratch,
          encoding: "utf8",
        });
        expect(sim.status, `concord sim exits 1 on the replayed violation (stderr: ${sim.stderr})`).toBe(1);
        const replay = JSON.parse(sim.stdout) as SimReplay;
        expect(sameViolation(violation.property, replay), `the replay breaks ${violation.property}: ${JSON.stringify(replay.invariantViolations)}`).toBe(true);
        if (mutant === "paxos/accepts-below-promise") {
          // The parallel search (--jobs 2, breadth-first level by level) finds a counterexample as short, of the same property.
          const parallel = await runExplore(scratch, [...flags, "--jobs", "2"]);
          if (parallel.kind === "failed") throw new Error(parallel.detail);
          expect(parallel.report.violation?.property).toBe(violation.property);
          expect(parallel.report.violation?.steps).toHaveLength(violation.steps.length);
        }
        const svg = readFileSync(diagramPath, "utf8");
        expect(svg).toContain("<svg");
        expect(svg).toContain(`counterexample to ${violation.property}`);
      } finally {
        execFileSync("git", ["apply", "-R", patchPath], { cwd: scratch });
      }
    });
  }
});
