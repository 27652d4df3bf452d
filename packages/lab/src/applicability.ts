import { findByzantineStrategy, resolveScenario, type SimulationOptions } from "@concord/sim";

/**
 * Applicability says whether a run's faults are ones the algorithm promises
 * to tolerate. A run that is not applicable still runs and shows its figures,
 * but its broken guarantees are not the algorithm's bugs: they are what its
 * design gives up (an unreplicated server whose only replica lies, Raft facing
 * a replica that lies).
 */
export type Applicability = { readonly applicable: true } | { readonly applicable: false; readonly reason: string };

/**
 * crashLikeStrategies are the generic Byzantine strategies that stay inside a
 * crash-fault model: the replica goes quiet (a crash that still receives) or
 * slow, and never sends anything its honest code would not. The others
 * (replaying a message to a peer it was not meant for, corrupting fields,
 * equivocating, and every protocol's own lies) are outside it.
 */
export const crashLikeStrategies: readonly string[] = ["silent", "delay"];

/** ApplicabilityQuestion is the part of a run's options that decides whether the algorithm promises to tolerate its faults. */
export type ApplicabilityQuestion = Pick<SimulationOptions, "algorithm" | "nodes" | "scenario" | "byzantineNodes" | "byzantineStrategy">;

/**
 * applicability tells whether an algorithm promises to tolerate a run's
 * Byzantine replicas: no more of them than it tolerates at this cluster size
 * (none for the unreplicated baseline), and, for a crash-fault algorithm,
 * only replicas that fail as a crash or a slow node does. The count follows
 * the simulator's own rule: the run's `byzantineNodes`, else the scenario's
 * count, "f" being what the cluster tolerates and at least one.
 */
export function applicability(run: ApplicabilityQuestion): Applicability {
  const { algorithm, nodes } = run;
  const scenario = resolveScenario(run.scenario);
  const scenarioCount = scenario.byzantine === "f" ? Math.max(1, algorithm.faultsTolerated(nodes)) : scenario.byzantine;
  const byzantine = run.byzantineNodes?.length ?? Math.min(scenarioCount, nodes);
  if (byzantine === 0) return { applicable: true };
  const tolerated = algorithm.faultsTolerated(nodes);
  if (byzantine > tolerated) {
    const made = byzantine === nodes ? (nodes === 1 ? "its only replica" : "every replica") : `${byzantine} replicas`;
    const tolerates = tolerated === 0 ? "tolerates no faulty replica" : `tolerates ${tolerated} faulty replica${tolerated === 1 ? "" : "s"}`;
    return { applicable: false, reason: `${algorithm.name} on ${nodes} node${nodes === 1 ? "" : "s"} ${tolerates}, and this run makes ${made} Byzantine` };
  }
  const strategy = findByzantineStrategy(algorithm, run.byzantineStrategy).name;
  if (algorithm.faultModel === "crash" && !crashLikeStrategies.includes(strategy)) {
    return {
      applicable: false,
      reason: `${algorithm.name} tolerates crash faults, not Byzantine ones, and a replica playing "${strategy}" sends what its honest code would not`,
    };
  }
  return { applicable: true };
}
