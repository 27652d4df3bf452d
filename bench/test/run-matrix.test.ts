import { beforeAll, describe, expect, it } from "vitest";
import { solo } from "@concord/core";
import { brokenGuarantees } from "@concord/lab";
import { raft } from "@concord/raft";
import { buildMatrix } from "../src/matrix.ts";
import { markdownReport, skippedSummary, summaryTable } from "../src/report.ts";
import { type MatrixRun, runMatrix } from "../src/run-matrix.ts";

describe("pnpm bench's matrix", () => {
  const cases = buildMatrix({ algorithms: [solo, raft], scenarios: ["steady", "byzantine"], seeds: 2, faults: [1] });
  const lines: string[] = [];
  let rows: MatrixRun["rows"] = [];
  let skipped: MatrixRun["skipped"] = [];
  beforeAll(() => {
    ({ rows, skipped } = runMatrix(cases, 20, (line) => lines.push(line)));
  });

  it("skips the byzantine scenario for solo, seed by seed, and says why", () => {
    expect(skipped.map((cell) => `${cell.algo} n=${cell.nodes} ${cell.scenario} seed ${cell.seed}`)).toEqual(["solo n=1 byzantine seed 1", "solo n=1 byzantine seed 2"]);
    expect(lines.filter((line) => line.includes("skipped"))).toEqual([
      "[5/8] solo n=1 byzantine seed 1 ... skipped, not applicable: solo on 1 node tolerates no faulty replica, and this run makes its only replica Byzantine",
      "[6/8] solo n=1 byzantine seed 2 ... skipped, not applicable: solo on 1 node tolerates no faulty replica, and this run makes its only replica Byzantine",
    ]);
  });

  it("runs every other case, Raft's byzantine scenario (a silent replica) included, and no row breaks a guarantee", () => {
    expect(rows.map(({ report }) => `${report.algo} ${report.scenario} ${report.seed}`)).toEqual([
      "solo steady 1",
      "solo steady 2",
      "raft steady 1",
      "raft steady 2",
      "raft byzantine 1",
      "raft byzantine 2",
    ]);
    for (const { report } of rows) expect(brokenGuarantees(report, { undecidedIsBroken: true }), `${report.algo} ${report.scenario} seed ${report.seed}`).toEqual([]);
  });

  it("lists the skipped cells once per algorithm, size and scenario under the table, and in report.md", () => {
    expect(summaryTable(rows)).not.toContain("solo     1  baseline  byzantine");
    expect(skippedSummary(skipped)).toBe("skipped solo n=1 byzantine: not applicable: solo on 1 node tolerates no faulty replica, and this run makes its only replica Byzantine\n");
    expect(markdownReport(rows, "pnpm bench", skipped)).toContain("## Not applicable (skipped)\n\n- skipped solo n=1 byzantine: not applicable: ");
  });
});
