// Randomized runs in the deterministic simulator, judged by the test kit's judgeRun: the invariant monitors
// (one value chosen per key, learners learn only it), the simulator's own checks (durable epochs, liveness after
// healing), and the clients' history checked linearizable against the write-once register model (the
// definition's kvSemantics). Every failure names its seed and the command that replays it.
import { type ProtocolOptions, assert } from "@concord/core";
import { paxos } from "@concord/paxos";
import { createPaxosPathCounter } from "@concord/paxos/internals";
import { type SimulationResult, runSimulation, scenarioNames } from "@concord/sim";
import { failuresOf, judgeRun } from "@concord/testkit";
import { describe, expect, test } from "vitest";

/** seedCount is 60 in the regular run; CONCORD_SEEDS=2000 runs more. */
const seedCount = Number(process.env["CONCORD_SEEDS"] ?? 60);

interface Run {
  readonly nodes: number;
  readonly scenario: string;
  readonly seed: number;
  readonly protocolOptions?: ProtocolOptions;
}

function simulate(run: Run): SimulationResult {
  return runSimulation({ algorithm: paxos, ...run });
}

function replay(run: Run): string {
  const options = Object.entries(run.protocolOptions ?? {}).map(([name, value]) => ` --option ${name}=${String(value)}`);
  return `pnpm concord sim --algo paxos --nodes ${run.nodes} --scenario ${run.scenario} --seed ${run.seed}${options.join("")}`;
}

function sweep(runs: readonly Run[]): string[] {
  return failuresOf(runs.map((run) => judgeRun(() => simulate(run), { undecidedIsBroken: true, replay: () => replay(run) })));
}

function seeds(count: number, first = 1): number[] {
  return Array.from({ length: count }, (_, i) => first + i);
}

describe("chaos (swarm testing): one value per key, learners learn only it, histories linearizable as write-once registers", () => {
  for (const nodes of [3, 5]) {
    test(`${seedCount} seeds of chaos on ${nodes} nodes`, () => {
      expect(sweep(seeds(seedCount).map((seed) => ({ nodes, scenario: "chaos", seed })))).toEqual([]);
    });
  }

  test("chaos with a snapshot in every Ready", () => {
    expect(sweep(seeds(20, 2001).map((seed) => ({ nodes: 3, scenario: "chaos", seed, protocolOptions: { compactEveryRecords: 1 } })))).toEqual([]);
  });

  test("chaos with hair-trigger ballots (duelling proposers): a one-tick timeout and back-off", () => {
    const protocolOptions = { attemptTimeoutTicks: 1, backoffTicksBase: 1, backoffTicksMax: 1 };
    expect(sweep(seeds(20, 1001).map((seed) => ({ nodes: 3, scenario: "chaos", seed, protocolOptions })))).toEqual([]);
  });
});

describe("built-in scenarios", () => {
  for (const scenario of scenarioNames.filter((name) => name !== "chaos" && name !== "byzantine")) {
    test(`${scenario} on 3 and 5 nodes keeps every guarantee and ends every operation`, () => {
      expect(sweep([3, 5].flatMap((nodes) => seeds(3).map((seed) => ({ nodes, scenario, seed }))))).toEqual([]);
    });
  }

  test("clients issue only gets and puts, and puts answer the value their key holds", () => {
    const result = simulate({ nodes: 3, scenario: "steady", seed: 7 });
    expect(new Set(result.history.map((op) => op.input.type))).toEqual(new Set(["get", "put"]));
    expect(result.kvSemantics).toBe("write-once");
    const puts = result.history.filter((op) => op.status === "ok" && op.input.type === "put");
    expect(puts.length).toBeGreaterThan(20);
    // Most puts find their key taken: they answer another put's value, the first one chosen.
    const answeredOther = puts.filter((op) => op.output?.type === "put" && op.input.type === "put" && op.output.value !== undefined && new TextDecoder().decode(op.output.value) !== new TextDecoder().decode(op.input.value));
    expect(answeredOther.length).toBeGreaterThan(0);
  });

  test("the judgement has teeth: a history whose puts all claim their own value fails as write-once", () => {
    const result = simulate({ nodes: 3, scenario: "steady", seed: 7 });
    const forged = result.history.map((op) => (op.input.type === "put" && op.status === "ok" ? { ...op, output: { type: "put" as const, value: op.input.value } } : op));
    expect(judgeRun({ ...result, history: forged }).ok).toBe(false);
    expect(judgeRun(result).ok).toBe(true);
  });
});

describe("the swarm's hard paths", () => {
  test("chaos reaches every hard path of Paxos within a few seeds", () => {
    const reached = new Map<string, number>();
    for (const seed of seeds(20)) {
      const result = simulate({ nodes: 3, scenario: "chaos", seed });
      for (const [path, count] of Object.entries(result.paths)) reached.set(path, (reached.get(path) ?? 0) + count);
    }
    const names = [...createPaxosPathCounter().counts().keys()];
    assert(names.length === 4, "four hard paths");
    for (const name of names) expect(reached.get(name) ?? 0, name).toBeGreaterThan(0);
  });
});
