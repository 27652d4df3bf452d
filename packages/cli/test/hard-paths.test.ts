// Issue 21, "each protocol's hard paths, named and counted": every protocol lists the paths a
// run should reach (a snapshot installed, a view change carrying prepared requests...), each
// run counts them, and a swarm of chaos seeds, with the protocol's options drawn from the seed
// too, must reach every one of them at least once. A path no seed reaches is a hole in the
// fault model: the test fails naming it. The seeds are those of swarm-seeds.ts
// (CONCORD_PATH_SEEDS raises them for a soak run).
import { describe, expect, it } from "vitest";
import { algorithms, checkRun, simulate } from "@concord/lab";
import { swarmSeedsFor } from "./swarm-seeds.ts";

/**
 * expectedMissing lists, per protocol, the hard paths that the regular run's
 * seeds are known not to reach yet, each with the fault-model work that will
 * reach it: a known hole, listed and counted, that the test does not fail on
 * (and says so). Drop an entry once the fault model reaches its path.
 */
const expectedMissing: Readonly<Record<string, Readonly<Record<string, string>>>> = {};

const withPaths = algorithms.filter((algorithm) => algorithm.hardPaths !== undefined);

// Runs are kept small (20 operations, 2 clients, messages not encoded): the paths come from the
// faults and the options, not from the load. Multi-Paxos runs its chaos scenario's own load: its
// phase 1 with gap filling needs a leader to crash part-way through a fan-out while other slots
// are open, which 20 operations almost never leave (one seed of 1..1000 at that load, seeds 32, 53
// and 161 of 1..400 at the scenario's; a Multi-Paxos seed costs about 15 ms either way).
const smallLoad = { ops: 20, clients: 2 } as const;
const loadFor: Readonly<Record<string, { readonly ops?: number; readonly clients?: number }>> = { multipaxos: {} };

describe("hard paths", () => {
  it("are listed by every replicated protocol, with unique names", () => {
    expect(withPaths.map((algorithm) => algorithm.name).sort()).toEqual(["multipaxos", "paxos", "pbft", "raft", "vr"]);
    for (const algorithm of withPaths) {
      const names = algorithm.hardPaths!.map((path) => path.name);
      expect(new Set(names).size, `${algorithm.name}: ${names.join(", ")}`).toBe(names.length);
    }
  });

  it.each(withPaths.map((algorithm) => [algorithm.name, algorithm] as const))(
    "are each reached by at least one seed of a chaos swarm on %s",
    (name, algorithm) => {
      const nodes = algorithm.replicasToTolerate(1);
      const seeds = swarmSeedsFor(name);
      const reached = new Map<string, { runs: number; times: number; firstSeed: number }>();
      for (const seed of seeds) {
        const { report } = simulate({ algorithm, nodes, scenario: "chaos", seed, ...(loadFor[name] ?? smallLoad), encode: false }, checkRun);
        expect(Object.keys(report.paths), `seed ${seed}'s report`).toEqual(algorithm.hardPaths!.map((path) => path.name));
        for (const [path, times] of Object.entries(report.paths)) {
          if (times === 0) continue;
          const known = reached.get(path);
          if (known === undefined) reached.set(path, { runs: 1, times, firstSeed: seed });
          else reached.set(path, { runs: known.runs + 1, times: known.times + times, firstSeed: known.firstSeed });
        }
      }
      const missing = expectedMissing[name] ?? {};
      const holes = algorithm
        .hardPaths!.filter((path) => !reached.has(path.name) && missing[path.name] === undefined)
        .map((path) => `${path.name} (${path.description}): no seed of ${seeds.length} reached it, a hole in the fault model`);
      expect(holes, holes.join("\n")).toEqual([]);
      for (const [path, needs] of Object.entries(missing)) {
        const how = reached.has(path) ? "reached now: drop it from expectedMissing" : `not reached, expected until the fault model has ${needs}`;
        console.log(`${name}: hard path ${path} is listed as a known hole; ${how}`);
      }
    },
  );
});
