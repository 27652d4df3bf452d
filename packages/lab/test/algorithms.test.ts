import { describe, expect, it } from "vitest";
import { solo } from "@concord/core";
import { pbft } from "@concord/pbft";
import { raft } from "@concord/raft";
import { algorithmNames, algorithms, clusterSizes, findAlgorithm, isBaseline } from "@concord/lab";

describe("the algorithm registry", () => {
  it("registers each algorithm once, under its own name", () => {
    expect(algorithmNames).toEqual(["solo", "raft", "multipaxos", "pbft", "paxos", "eventual", "quorum", "vr"]);
    for (const algorithm of algorithms) expect(findAlgorithm(algorithm.name)).toBe(algorithm);
    expect(findAlgorithm("zab")).toBeUndefined();
  });

  it("runs the unreplicated baseline on one node and the others at equal tolerated faults", () => {
    expect(isBaseline(solo)).toBe(true);
    expect(isBaseline(raft)).toBe(false);
    expect(clusterSizes(solo, [1, 2])).toEqual([1]);
    expect(clusterSizes(raft, [1, 2])).toEqual([3, 5]);
    expect(clusterSizes(pbft, [1, 2])).toEqual([4, 7]);
  });
});
