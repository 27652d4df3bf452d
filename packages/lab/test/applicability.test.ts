import { describe, expect, it } from "vitest";
import { solo } from "@concord/core";
import { multipaxos } from "@concord/multipaxos";
import { pbft } from "@concord/pbft";
import { raft } from "@concord/raft";
import { algorithms, applicability, crashLikeStrategies } from "@concord/lab";
import { byzantineStrategyNames, scenarioNames } from "@concord/sim";

describe("applicability", () => {
  it("calls the byzantine scenario not applicable to solo: its only replica would lie", () => {
    const fit = applicability({ algorithm: solo, nodes: 1, scenario: "byzantine" });
    expect(fit).toEqual({ applicable: false, reason: "solo on 1 node tolerates no faulty replica, and this run makes its only replica Byzantine" });
  });

  it("applies every scenario without Byzantine replicas to every algorithm", () => {
    for (const algorithm of algorithms) {
      const nodes = algorithm === solo ? 1 : algorithm.replicasToTolerate(1);
      for (const scenario of scenarioNames.filter((name) => name !== "byzantine")) {
        expect(applicability({ algorithm, nodes, scenario }), `${algorithm.name} ${scenario}`).toEqual({ applicable: true });
      }
    }
  });

  it("applies the byzantine scenario to PBFT with every strategy, f liars at n = 3f + 1", () => {
    for (const byzantineStrategy of byzantineStrategyNames(pbft)) {
      expect(applicability({ algorithm: pbft, nodes: 4, scenario: "byzantine", byzantineStrategy })).toEqual({ applicable: true });
    }
    expect(applicability({ algorithm: pbft, nodes: 7, scenario: "byzantine", byzantineNodes: [2, 5] })).toEqual({ applicable: true });
  });

  it("calls more liars than the cluster tolerates not applicable, PBFT's included", () => {
    const fit = applicability({ algorithm: pbft, nodes: 4, scenario: "byzantine", byzantineNodes: [1, 2] });
    expect(fit).toEqual({ applicable: false, reason: "pbft on 4 nodes tolerates 1 faulty replica, and this run makes 2 replicas Byzantine" });
    const scenario = { name: "all-lie", description: "", byzantine: 3 };
    expect(applicability({ algorithm: raft, nodes: 3, scenario, byzantineStrategy: "silent" })).toMatchObject({ applicable: false, reason: expect.stringContaining("makes every replica Byzantine") });
  });

  it("applies a crash-fault protocol's byzantine scenario only with a replica that fails as a crash or a slow node does", () => {
    for (const algorithm of [raft, multipaxos]) {
      for (const byzantineStrategy of byzantineStrategyNames(algorithm)) {
        const fit = applicability({ algorithm, nodes: 3, scenario: "byzantine", byzantineStrategy });
        if (crashLikeStrategies.includes(byzantineStrategy)) expect(fit, byzantineStrategy).toEqual({ applicable: true });
        else expect(fit, byzantineStrategy).toEqual({ applicable: false, reason: `${algorithm.name} tolerates crash faults, not Byzantine ones, and a replica playing "${byzantineStrategy}" sends what its honest code would not` });
      }
      // The default strategy of a crash-fault protocol's byzantine scenario goes silent: applicable.
      expect(applicability({ algorithm, nodes: 3, scenario: "byzantine" })).toEqual({ applicable: true });
    }
  });
});
