// CAP as a measured number (issue 15): in the built-in partition scenario (the leader cut off with half of the
// clients), a CP algorithm serves none of the cut-off clients and stays linearizable; the AP store `eventual`
// serves both sides and the checker catches its stale reads. The run is the one the issue names:
// `concord sim --algo <algo> --nodes 3 --scenario partition --seed 271828 --json`.
import { describe, expect, it } from "vitest";
import { brokenGuarantees, checkRun, findAlgorithm, simulate } from "@concord/lab";

function partitionRun(algo: string) {
  const algorithm = findAlgorithm(algo);
  if (algorithm === undefined) throw new Error(`${algo} is not registered`);
  return simulate({ algorithm, nodes: 3, scenario: "partition", seed: 271828 }, checkRun).report;
}

describe("the partition scenario, CP against AP", () => {
  it("raft serves no cut-off client during the partition, serves the majority's, and stays linearizable", () => {
    const report = partitionRun("raft");
    expect(report.availability).toHaveLength(1);
    const [partition] = report.availability;
    expect(partition?.isolatedSide.invoked).toBeGreaterThan(0);
    expect(partition?.isolatedSide.ok).toBe(0);
    expect(partition?.otherSide.share).toBeGreaterThan(0.9);
    expect(report.linearizable).toBe(true);
    expect(brokenGuarantees(report)).toEqual([]);
  });

  it("eventual serves both sides during the partition, is not linearizable, and that is no broken guarantee", () => {
    const report = partitionRun("eventual");
    const [partition] = report.availability;
    expect(partition?.isolatedSide.share).toBeGreaterThan(0.9);
    expect(partition?.otherSide.share).toBeGreaterThan(0.9);
    expect(report.linearizable).toBe(false);
    expect(report.linearizability).toMatch(/^not linearizable: key "k\d+"/);
    expect(report.promisesLinearizability).toBe(false);
    expect(brokenGuarantees(report)).toEqual([]);
  });
});
