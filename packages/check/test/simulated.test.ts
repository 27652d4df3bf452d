import { describe, expect, it } from "vitest";
import { solo } from "@concord/core";
import { runSimulation } from "@concord/sim";
import { checkKvHistory, kvHistoryToJsonl, parseKvHistory } from "@concord/check";

const seeds = Number(process.env["CONCORD_SEEDS"] ?? 4);
const scenarios = ["steady", "lossy", "crash-restart", "chaos"];

describe("simulated histories of the unreplicated baseline", () => {
  it("are linearizable in every scenario, also after a round trip through JSON lines", () => {
    for (const scenario of scenarios) {
      for (let seed = 1; seed <= seeds; seed++) {
        const replay = `pnpm concord sim --algo solo --nodes 1 --scenario ${scenario} --seed ${seed}`;
        const result = runSimulation({ algorithm: solo, nodes: 1, scenario, seed, ops: 300, clients: 6 });
        const verdict = checkKvHistory(result.history);
        expect(verdict.kind, `${replay}: ${verdict.kind === "not-linearizable" ? verdict.evidence.text : ""}`).toBe("linearizable");
        expect(checkKvHistory(parseKvHistory(kvHistoryToJsonl(result.history), "jsonl")).kind, replay).toBe("linearizable");
      }
    }
  });

  it("are not linearizable once one completed get returns a value nobody wrote", () => {
    const result = runSimulation({ algorithm: solo, nodes: 1, scenario: "steady", seed: 5, ops: 300, clients: 6 });
    const victim = result.history.find((operation) => operation.status === "ok" && operation.input.type === "get");
    expect(victim).toBeDefined();
    const history = result.history.map((operation) =>
      operation === victim ? { ...operation, output: { type: "get" as const, value: new TextEncoder().encode("never written") } } : operation,
    );
    const verdict = checkKvHistory(history);
    expect(verdict.kind).toBe("not-linearizable");
    if (verdict.kind === "not-linearizable") expect(verdict.evidence.blocking.id).toBe(victim!.id);
  });
});
