// The seeds of the hard-path swarm (hard-paths.test.ts), which the swarm-options test also
// draws from: the options' extremes must be reached within the same seeds whose runs reach
// the hard paths. CONCORD_PATH_SEEDS sets one count for every protocol (a soak run).

/**
 * defaultSwarmSeeds is the regular run's seed count per protocol: each costs
 * 10 to 70 ms a seed for Raft and Multi-Paxos and 100 to 200 ms for PBFT (n=4)
 * on the shared 2-core machine, so that each protocol's swarm stays near 15 s.
 * The rarest path sets each count: PBFT's checkpoint-from-new-view is reached
 * by about 3 seeds in 100, Raft's snapshot-chunked by about 4 in 100.
 */
const defaultSwarmSeeds: Readonly<Record<string, number>> = { raft: 200, multipaxos: 300, pbft: 120 };

/** swarmSeedsFor lists the seeds of `algo`'s hard-path swarm, from 1. */
export function swarmSeedsFor(algo: string): number[] {
  const fromEnv = process.env["CONCORD_PATH_SEEDS"];
  const count = fromEnv !== undefined ? Number(fromEnv) : (defaultSwarmSeeds[algo] ?? 100);
  if (!Number.isSafeInteger(count) || count < 1) throw new Error(`CONCORD_PATH_SEEDS must be a positive integer, got ${fromEnv}`);
  return Array.from({ length: count }, (_, i) => i + 1);
}
