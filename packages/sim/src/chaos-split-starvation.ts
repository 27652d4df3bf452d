import { type ChaosFaultHints, ConfigError, type NodeId, type Rng } from "@concord/core";
import type { Fault } from "./scenario.ts";

/**
 * drawChaosSplitStarvation draws, in one run of two, a split starvation
 * (issue 21, bug 8's shape): for one window, a quarter to three quarters of
 * the fault phase long, two sets of correct replicas are starved at once, of
 * different things.
 *
 * - The lagging replicas lose every loss group of the algorithm's chaos hints
 *   (commits, checkpoints and state transfer): they prepare what the primary
 *   orders but execute nothing and hear of no checkpoint.
 * - One more replica, the fetcher, hears nothing but the hints'
 *   `stateTransferTypes` (checkpoints and state transfer): it orders nothing
 *   itself, falls behind, and catches up only by fetching the state the
 *   replicas kept up vouch for.
 * - Exactly f+1 replicas, the liars among them (the adversary is on their
 *   side, as the liars' ally keeps them up), hear everything: the fewest whose
 *   replies still complete a write, so a checkpoint they take has f+1 holders
 *   and no more until the window ends.
 *
 * Then, in the window's last tenth, f - liars of the correct replicas kept up
 * crash for good (`outlastsHeal`): they are down through the heal to the end
 * of the run, so that, with the liars, the run's liveness judgement (progress
 * once the faults heal) holds exactly f replicas faulty, the most the
 * protocol tolerates. What they vouched for is then held by fewer replicas
 * than it had vouchers, and a replica that took a fetched state for a stable
 * checkpoint (bug 8) can leave a view change without one it may decide.
 *
 * Each starved replica's window is one link fault (from every sender), all
 * with one start and one length; each crash is one crash fault. Nothing
 * without `stateTransferTypes` and loss groups in the hints, without room for
 * one lagging replica, or where the liars already number f (no crash left to
 * draw; the liars' ally starves replicas in those runs). `messageTypes` are
 * the codec's type names (the fetcher's loss is every type but
 * `stateTransferTypes`). Drawn from a stream of its own, so that a seed's
 * other draws stay what they were.
 */
export function drawChaosSplitStarvation(
  rng: Rng,
  phaseMs: number,
  replicaIds: readonly NodeId[],
  liars: readonly NodeId[],
  tolerated: number,
  hints: ChaosFaultHints | undefined,
  messageTypes: readonly string[],
): Fault[] {
  const hears = hints?.stateTransferTypes ?? [];
  const groups = hints?.lossGroups ?? [];
  if (hears.length === 0 || groups.length === 0 || messageTypes.length === 0 || rng.chance(1, 2)) return [];
  const correct = replicaIds.filter((id) => !liars.includes(id));
  const keptUpCorrect = Math.max(0, tolerated + 1 - liars.length);
  const crashes = Math.min(keptUpCorrect, tolerated - liars.length);
  // At least one lagging replica and the fetcher besides those kept up, and a crash the liars leave room for.
  if (correct.length < keptUpCorrect + 2 || crashes < 1) return [];
  const atMs = rng.nextInt(Math.max(1, Math.floor(phaseMs / 2)));
  const durationMs = rng.nextIntBetween(Math.floor(phaseMs / 4), Math.max(Math.floor(phaseMs / 4), Math.floor((phaseMs * 3) / 4)));
  const rest = [...correct];
  const keptUp: NodeId[] = [];
  for (let i = 0; i < keptUpCorrect; i++) keptUp.push(rest.splice(rng.nextInt(rest.length), 1)[0] as NodeId);
  const fetcher = rest.splice(rng.nextInt(rest.length), 1)[0] as NodeId;
  const lagging = rest;
  const lost = [...new Set(groups.flat())];
  const deaf = messageTypes.filter((type) => !hears.includes(type));
  const to = (id: NodeId): { index: number } => ({ index: replicaIds.indexOf(id) });
  const faults: Fault[] = lagging.map((id) => ({ type: "link", atMs, durationMs, link: { dropPercent: 100 }, messageTypes: [...lost], to: to(id) }));
  faults.push({ type: "link", atMs, durationMs, link: { dropPercent: 100 }, messageTypes: deaf, to: to(fetcher) });
  const crashed = [...keptUp];
  const tenthMs = Math.max(1, Math.floor(durationMs / 10));
  for (let i = 0; i < crashes; i++) {
    const id = crashed.splice(rng.nextInt(crashed.length), 1)[0] as NodeId;
    faults.push({ type: "crash", atMs: atMs + durationMs - rng.nextInt(tenthMs), target: to(id), timing: "at-once", windowMs: 0, outlastsHeal: true });
  }
  return faults;
}

/**
 * checkLastingCrashes refuses crashes that outlast the heal (`outlastsHeal`) that the run's liveness judgement
 * could not count: each must crash one replica (not "all") and never restart, and with the Byzantine replicas
 * they must number at most the f the algorithm tolerates, since a run is judged to make progress once the faults
 * heal with every replica but those up.
 */
export function checkLastingCrashes(faults: readonly Fault[], liars: number, tolerated: number): void {
  let lasting = 0;
  faults.forEach((fault, index) => {
    if (fault.type !== "crash" || fault.outlastsHeal !== true) return;
    if (fault.target === "all") throw new ConfigError(`scenario.faults.${index}.target`, `a crash that outlasts the heal crashes one replica, not "all"`);
    if (fault.restartAfterMs !== undefined) throw new ConfigError(`scenario.faults.${index}.restartAfterMs`, `a crash that outlasts the heal never restarts (got ${fault.restartAfterMs})`);
    lasting++;
  });
  if (lasting > 0 && lasting + liars > tolerated) {
    throw new ConfigError("scenario.faults", `${lasting} crash(es) that outlast the heal and ${liars} Byzantine replica(s) exceed the ${tolerated} faulty replica(s) the algorithm tolerates at this size`);
  }
}
