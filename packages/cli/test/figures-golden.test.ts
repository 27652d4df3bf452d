// Issue 11: the refactors of the replica host, the test kit and the registry change no behaviour. For
// a fixed set of runs (every algorithm, every built-in scenario, three seeds, messages encoded) the
// report's figures are pinned in testdata/figures.json. A change that means to alter a figure (a
// field the issue renames or fixes) rewrites the file with CONCORD_UPDATE_FIGURES=1 and says why in
// its commit; any other difference is a behaviour change the refactor did not mean.
import { readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { scenarioNames } from "@concord/sim";
import { algorithms, checkRun, clusterSizes, simulate } from "@concord/lab";

const figuresPath = new URL("./testdata/figures.json", import.meta.url);
const seeds = [1, 2, 3];
const ops = 120;

type Figures = Record<string, unknown>;

function runAll(): Figures {
  const figures: Figures = {};
  for (const algorithm of algorithms) {
    const nodes = clusterSizes(algorithm, [1])[0] as number;
    for (const scenario of scenarioNames) {
      for (const seed of seeds) {
        const { report } = simulate({ algorithm, nodes, scenario, seed, ops, encode: true }, checkRun);
        figures[`${algorithm.name} n=${nodes} ${scenario} seed ${seed}`] = report;
      }
    }
  }
  return figures;
}

describe("the simulator's figures for a fixed set of runs", () => {
  it("are those pinned in testdata/figures.json", () => {
    const figures = JSON.parse(JSON.stringify(runAll())) as Figures;
    if (process.env["CONCORD_UPDATE_FIGURES"] === "1") writeFileSync(figuresPath, `${JSON.stringify(figures, null, 1)}\n`);
    const pinned = JSON.parse(readFileSync(figuresPath, "utf8")) as Figures;
    expect(Object.keys(figures)).toEqual(Object.keys(pinned));
    for (const [run, report] of Object.entries(figures)) expect(report, run).toEqual(pinned[run]);
  });
});
