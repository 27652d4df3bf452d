import type { ChaosFaultHints, Rng } from "@concord/core";
import type { Fault } from "./scenario.ts";

/**
 * drawChaosClientLoop draws, in one run of two for an algorithm whose chaos
 * hints ask for it (PBFT), a client in a crash loop (issue 21): one of the
 * run's clients is restarted three to six times, each 100 to 400 ms after the
 * one before, from a time in the first half of the fault phase (none after its end), as a client
 * process that a supervisor restarts while it keeps failing would be. Each
 * restart is a fresh object with the client's id and a new session, numbered
 * from the same first sequence as the last, so each session's last request
 * has the number its successor reaches a request or two later: a replay of
 * that request (a faulty primary's, or a late copy the network still holds)
 * is answered from the cache to the old session, at the sequence number the
 * new session is waiting on, and only the client's check of the session in
 * each reply tells the two apart. The faults are ordinary `restart-client`
 * faults, listed in the run's faults. Drawn from a stream of its own, so that
 * a seed's other draws stay what they were.
 */
export function drawChaosClientLoop(rng: Rng, phaseMs: number, clients: number, hints: ChaosFaultHints | undefined): Fault[] {
  if (hints?.clientRestartLoops !== true || clients < 1 || rng.chance(1, 2)) return [];
  const index = rng.nextInt(clients);
  const restarts = rng.nextIntBetween(3, 6);
  let atMs = rng.nextInt(Math.max(1, Math.floor(phaseMs / 2)));
  const faults: Fault[] = [];
  for (let i = 0; i < restarts && atMs < phaseMs; i++) {
    faults.push({ type: "restart-client", atMs, client: { index } });
    atMs += rng.nextIntBetween(100, 400);
  }
  return faults;
}
