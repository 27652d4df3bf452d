import type { ChaosFaultHints, NodeId, Rng } from "@concord/core";
import type { Fault } from "./scenario.ts";

/**
 * drawChaosAdversary draws, in one run of two that has liars, the liars' ally
 * in the network (issue 21): Byzantine fault tolerance assumes an adversary
 * that coordinates the faulty replicas and delays messages between correct
 * ones (PBFT §2, "a strong adversary that can coordinate faulty nodes, delay
 * communication"), and its worst lag leaves exactly f+1 replicas, the liars
 * among them, executing while every other correct replica lags. For one
 * window, a quarter to three quarters of the fault phase long, one group of
 * message types from the algorithm's chaos hints (only commits; only
 * checkpoints and state transfer; or both at once) is lost on its way to the
 * correct replicas but the f+1 - liars drawn to keep up: those prepare what
 * the primary orders but execute nothing, so a write completes on the replies
 * of the liars and the replicas kept up while most correct replicas still hold
 * its batch prepared, unexecuted; and they hear no checkpoint of what the
 * others execute. The liars are never starved: the adversary is on their side.
 * Each starved replica's window is one link fault (from every sender), all
 * with one start and one length. Nothing without liars or loss groups. Drawn
 * from a stream of its own, so that a seed's other draws stay what they were.
 */
export function drawChaosAdversary(rng: Rng, phaseMs: number, replicaIds: readonly NodeId[], liars: readonly NodeId[], tolerated: number, hints: ChaosFaultHints | undefined): Fault[] {
  const groups = hints?.lossGroups ?? [];
  if (groups.length === 0 || liars.length === 0 || rng.chance(1, 2)) return [];
  const correct = replicaIds.filter((id) => !liars.includes(id));
  const keptUp = Math.max(0, tolerated + 1 - liars.length);
  if (correct.length <= keptUp) return [];
  const choices = [...groups, [...new Set(groups.flat())]];
  const types = choices[rng.nextInt(choices.length)] as readonly string[];
  const atMs = rng.nextInt(Math.max(1, Math.floor(phaseMs / 2)));
  const durationMs = rng.nextIntBetween(Math.floor(phaseMs / 4), Math.max(Math.floor(phaseMs / 4), Math.floor((phaseMs * 3) / 4)));
  const starved = [...correct];
  for (let i = 0; i < keptUp; i++) starved.splice(rng.nextInt(starved.length), 1);
  return starved.map((id) => ({ type: "link", atMs, durationMs, link: { dropPercent: 100 }, messageTypes: [...types], to: { index: replicaIds.indexOf(id) } }));
}
