// Issue 10, swarm options: in `chaos` every seed draws each protocol's options from their
// legal ranges (Groce et al., ISSTA 2012; TigerBeetle's VOPR), merged under explicit options.
// These tests show that the draws reach every option's extremes within the hard-path swarm's
// seeds, that every draw passes the protocol's own validation, and that a replay with the
// drawn options given explicitly runs the same run as the seed alone.
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { type AnyAlgorithm, type OptionValue, parseConfig } from "@concord/core";
import { runCli } from "@concord/cli";
import { algorithms, checkRun, findAlgorithm, replayCommand, simulate } from "@concord/lab";
import { multiPaxosOptionsSchema } from "@concord/multipaxos";
import { paxosOptionsSchema } from "@concord/paxos";
import { pbftOptionsSchema } from "@concord/pbft";
import { raftOptionsSchema } from "@concord/raft";
import { vrOptionsSchema } from "@concord/vr";
import { swarmOptions } from "@concord/sim";
import { captureIo } from "./helpers.ts";
import { swarmSeedsFor } from "./swarm-seeds.ts";

const schemas: Readonly<Record<string, z.ZodType>> = { raft: raftOptionsSchema, multipaxos: multiPaxosOptionsSchema, pbft: pbftOptionsSchema, paxos: paxosOptionsSchema, vr: vrOptionsSchema };

const swarmed = algorithms.filter((algorithm) => algorithm.optionSpace !== undefined);

function algorithmNamed(name: string): AnyAlgorithm {
  const algorithm = findAlgorithm(name);
  if (algorithm === undefined) throw new Error(`no algorithm named ${name}`);
  return algorithm;
}

describe("swarm options", () => {
  it("are declared by every replicated protocol", () => {
    expect(swarmed.map((algorithm) => algorithm.name).sort()).toEqual(["multipaxos", "paxos", "pbft", "raft", "vr"]);
  });

  describe.each(swarmed.map((algorithm) => [algorithm.name, algorithm] as const))("%s", (name, algorithm) => {
    const space = algorithm.optionSpace!;
    const seeds = swarmSeedsFor(name);

    it("reach both extremes of every option within the hard-path swarm's seeds", () => {
      const seen = new Map<string, Set<OptionValue>>(space.ranges.map((range) => [range.name, new Set()]));
      for (const seed of seeds) {
        for (const [option, value] of Object.entries(swarmOptions(algorithm, seed, true, {}).options)) seen.get(option)?.add(value as OptionValue);
      }
      const missed = space.ranges.flatMap((range) =>
        [range.low, range.high].filter((extreme) => !seen.get(range.name)!.has(extreme)).map((extreme) => `${range.name}=${String(extreme)}`),
      );
      expect(missed, `extremes no seed of ${seeds.length} drew`).toEqual([]);
    });

    it("draw only values inside their declared ranges, and every draw passes the protocol's validation", () => {
      const schema = schemas[name]!;
      for (const seed of seeds) {
        const { options, drawn } = swarmOptions(algorithm, seed, true, {});
        expect(Object.keys(drawn).sort()).toEqual(space.ranges.map((range) => range.name).sort());
        for (const range of space.ranges) {
          const value = options[range.name];
          if (typeof range.low === "number") {
            expect(value, `${range.name} at seed ${seed}`).toBeGreaterThanOrEqual(range.low);
            expect(value, `${range.name} at seed ${seed}`).toBeLessThanOrEqual(range.high as number);
          } else {
            expect([range.low, range.high], `${range.name} at seed ${seed}`).toContain(value);
          }
        }
        expect(() => parseConfig(schema, options, name), `seed ${seed}: ${JSON.stringify(options)}`).not.toThrow();
      }
    });

    it("leave explicit options as given and draw the others around them, still valid", () => {
      const schema = schemas[name]!;
      // An explicit option at an extreme constrains the options drawn with it (a heartbeat below the election timeout).
      const explicitSets = space.ranges.flatMap((range) => [{ [range.name]: range.low }, { [range.name]: range.high }]);
      for (const explicit of explicitSets) {
        for (const seed of seeds.slice(0, 40)) {
          const { options, drawn } = swarmOptions(algorithm, seed, true, explicit);
          for (const [option, value] of Object.entries(explicit)) {
            expect(options[option]).toBe(value);
            expect(drawn).not.toHaveProperty(option);
          }
          expect(() => parseConfig(schema, options, name), `seed ${seed} with ${JSON.stringify(explicit)}: ${JSON.stringify(options)}`).not.toThrow();
        }
      }
    });

    it("are drawn only in chaos", () => {
      expect(swarmOptions(algorithm, 7, false, { preVote: false })).toEqual({ options: { preVote: false }, drawn: {} });
    });
  });
});

describe("a chaos run with swarm options", () => {
  it("reports the options it drew and ran with, and a replay with them given explicitly runs the same run", () => {
    const explicitByAlgo: Readonly<Record<string, Readonly<Record<string, number>>>> = {
      raft: { snapshotEveryEntries: 3 },
      multipaxos: { snapshotEveryEntries: 3 },
      pbft: { checkpointIntervalSeqs: 2 },
    };
    for (const [name, explicit] of Object.entries(explicitByAlgo)) {
      const algorithm = algorithmNamed(name);
      const nodes = algorithm.replicasToTolerate(1);
      const run = { nodes, scenario: "chaos", seed: 11, ops: 20, clients: 2 };
      const { result, report } = simulate({ algorithm, ...run, protocolOptions: explicit }, checkRun);
      const expected = swarmOptions(algorithm, 11, true, explicit);
      expect(result.protocolOptions).toEqual(expected.options);
      expect(report.options).toEqual(expected.options);
      expect(report.drawnOptions).toEqual(expected.drawn);
      expect(Object.keys(report.drawnOptions).length).toBeGreaterThan(3);

      // The replay route: every option the run used passed explicitly, nothing left to draw.
      const replayed = simulate({ algorithm, ...run, protocolOptions: report.options }, checkRun).report;
      expect(replayed.drawnOptions).toEqual({});
      expect(JSON.stringify({ ...replayed, drawnOptions: undefined })).toBe(JSON.stringify({ ...report, drawnOptions: undefined }));

      const command = replayCommand({ algo: name, ...run, protocolOptions: report.options });
      for (const [option, value] of Object.entries(report.drawnOptions)) expect(command).toContain(`--option ${option}=${String(value)}`);
    }
  });

  it("draws its options from a stream of their own: the faults a seed draws do not depend on the options", () => {
    const algorithm = algorithmNamed("raft");
    const run = { algorithm, nodes: 3, scenario: "chaos", seed: 5, ops: 20, clients: 2 } as const;
    const drawn = simulate(run, checkRun).result.scenarioDefinition.faults;
    const fixed = simulate({ ...run, protocolOptions: { preVote: false, snapshotEveryEntries: 1 } }, checkRun).result.scenarioDefinition.faults;
    expect(fixed).toEqual(drawn);
  });

  it("prints a failing run's replay command with every option it drew, and that command replays the run", () => {
    // A run cut off at 700 ms of virtual time cannot finish a workload spread over a second: a failing chaos run on demand.
    const scenario = { name: "short-chaos", description: "", chaos: true, virtualMsMax: 700, workload: { ops: 20, spreadMs: 1000 } };
    const io = captureIo({ "chaos.json": JSON.stringify(scenario) });
    expect(runCli(["sim", "--algo", "raft", "--nodes", "3", "--scenario-file", "chaos.json", "--seed", "4", "--option", "preVote=false", "--json"], io)).toBe(1);
    const report = JSON.parse(io.out) as { drawnOptions: Record<string, unknown>; options: Record<string, unknown> };
    const replay = /replay with: pnpm concord (.*)$/m.exec(io.err)?.[1];
    expect(replay, io.err).toBeDefined();
    expect(replay).toContain("--option preVote=false");
    for (const [option, value] of Object.entries(report.drawnOptions)) expect(replay).toContain(`--option ${option}=${String(value)}`);

    const again = captureIo({ "chaos.json": JSON.stringify(scenario) });
    expect(runCli([...replay!.split(" "), "--json"], again)).toBe(1);
    const replayed = JSON.parse(again.out) as { drawnOptions: Record<string, unknown>; options: Record<string, unknown> };
    expect(replayed.drawnOptions).toEqual({});
    expect({ ...replayed, drawnOptions: {} }).toEqual({ ...report, drawnOptions: {} });
  });

  it("gives concord swarm's failing seeds replay commands with the options they drew", async () => {
    const scenario = { name: "short-chaos", description: "", chaos: true, virtualMsMax: 700, workload: { ops: 20, spreadMs: 1000 } };
    const io = captureIo({ "chaos.json": JSON.stringify(scenario) });
    expect(await runCli(["swarm", "--algo", "raft", "--nodes", "3", "--scenario-file", "chaos.json", "--seeds", "1", "--first-seed", "4", "--jobs", "1"], io)).toBe(1);
    const drawn = swarmOptions(algorithmNamed("raft"), 4, true, {}).drawn;
    const replay = /replay: (pnpm concord sim .*)$/m.exec(io.out)?.[1];
    expect(replay, io.out).toBeDefined();
    for (const [option, value] of Object.entries(drawn)) expect(replay).toContain(`--option ${option}=${String(value)}`);
  });
});
