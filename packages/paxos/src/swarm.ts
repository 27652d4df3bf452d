import { type HardPath, type MonitorEventContext, type OptionSpace, type OptionValue, type PathCounter, type Replica, drawSwarmInt } from "@concord/core";
import type { PaxosMessage } from "./messages.ts";
import { type PaxosCounters, PaxosReplica } from "./replica.ts";

const attemptTimeoutTicksMax = 40;
const backoffTicksBaseMax = 8;
const backoffTicksMaxMax = 128;
const waitingRequestsMaxMax = 10_000;
/** compactEveryRecordsMax is the default compaction interval, the longest a drawn one is. */
const compactEveryRecordsMax = 1_000;
/** clientRetryTicksMax is the default client retry, the longest a drawn one is. */
const clientRetryTicksMax = 20;

/**
 * paxosOptionSpace is the range of single-decree Paxos's options that `chaos`
 * draws from (swarm testing). Every value it draws passes paxosOptionsSchema:
 * the back-off cap is drawn at or above its base. A ballot timeout of one tick
 * and a back-off of one make proposers duel; a queue of one drops requests; a
 * compaction interval of one record stages a snapshot in every Ready.
 */
export const paxosOptionSpace: OptionSpace = {
  ranges: [
    { name: "attemptTimeoutTicks", low: 1, high: attemptTimeoutTicksMax },
    { name: "backoffTicksBase", low: 1, high: backoffTicksBaseMax },
    { name: "backoffTicksMax", low: 1, high: backoffTicksMaxMax },
    { name: "waitingRequestsMax", low: 1, high: waitingRequestsMaxMax },
    { name: "clientRetryTicks", low: 1, high: clientRetryTicksMax },
    { name: "compactEveryRecords", low: 1, high: compactEveryRecordsMax },
  ],
  draw(rng, fixed) {
    const drawn: Record<string, OptionValue> = {};
    if (fixed["attemptTimeoutTicks"] === undefined) drawn["attemptTimeoutTicks"] = drawSwarmInt(rng, 1, attemptTimeoutTicksMax);
    const fixedBase = typeof fixed["backoffTicksBase"] === "number" ? fixed["backoffTicksBase"] : undefined;
    const fixedCap = typeof fixed["backoffTicksMax"] === "number" ? fixed["backoffTicksMax"] : undefined;
    const base = fixedBase ?? (drawn["backoffTicksBase"] = drawSwarmInt(rng, 1, Math.min(backoffTicksBaseMax, fixedCap ?? backoffTicksBaseMax)));
    if (fixedCap === undefined) drawn["backoffTicksMax"] = drawSwarmInt(rng, base, Math.max(base, backoffTicksMaxMax));
    if (fixed["waitingRequestsMax"] === undefined) drawn["waitingRequestsMax"] = drawSwarmInt(rng, 1, waitingRequestsMaxMax);
    // The give-up time stays at its default, which is never below the retry.
    if (fixed["clientRetryTicks"] === undefined && fixed["clientGiveUpTicks"] === undefined) drawn["clientRetryTicks"] = drawSwarmInt(rng, 1, clientRetryTicksMax);
    // Drawn last, so that the draws above stay what they were: a snapshot in every Ready at the low extreme.
    if (fixed["compactEveryRecords"] === undefined) drawn["compactEveryRecords"] = drawSwarmInt(rng, 1, compactEveryRecordsMax);
    return drawn;
  },
};

/** paxosHardPaths are the paths of single-decree Paxos a swarm of runs should reach. */
export const paxosHardPaths: readonly HardPath[] = [
  { name: "adopted-accepted-value", description: "a proposer with a put of its own proposed instead the value a promise reported (Paxos Made Simple §2.2)" },
  { name: "duelling-proposers", description: "a proposer gave up its ballot because an acceptor had promised a higher one (§2.4)" },
  { name: "read-finished-value", description: "a get found a value accepted but not known chosen, and finished it with phase 2" },
  { name: "read-of-no-value", description: "a get was answered 'no value' after a majority promised and reported no acceptance" },
];

const counterPaths: readonly (readonly [keyof PaxosCounters, string])[] = [
  ["valuesAdopted", "adopted-accepted-value"],
  ["ballotsPreempted", "duelling-proposers"],
  ["readsFinishedValue", "read-finished-value"],
  ["readsOfNoValue", "read-of-no-value"],
];

/** PaxosPathCounter counts {@link paxosHardPaths} from the counters every replica keeps (their growth after each event). */
class PaxosPathCounter implements PathCounter<PaxosMessage> {
  private readonly found = new Map<string, number>(paxosHardPaths.map((path) => [path.name, 0]));
  private readonly seen = new WeakMap<Replica<PaxosMessage>, PaxosCounters>();

  observeReplica(replica: Replica<PaxosMessage>, context: MonitorEventContext): void {
    if (context.faulty || !(replica instanceof PaxosReplica)) return;
    const now = replica.stats();
    const before = this.seen.get(replica);
    for (const [counter, path] of counterPaths) {
      const grown = now[counter] - (before?.[counter] ?? 0);
      if (grown > 0) this.found.set(path, (this.found.get(path) ?? 0) + grown);
    }
    this.seen.set(replica, now);
  }

  counts(): ReadonlyMap<string, number> {
    return this.found;
  }
}

/** createPaxosPathCounter returns a fresh counter of {@link paxosHardPaths} for one run. */
export function createPaxosPathCounter(): PathCounter<PaxosMessage> {
  return new PaxosPathCounter();
}
