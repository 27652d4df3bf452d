import { type ChaosFaultHints, ConfigError, type NodeId, parseConfig, type Rng } from "@concord/core";
import { type Fault, type Scenario, type ScenarioInput, scenarioSchema } from "./scenario.ts";

/** builtInWarmupMs lets the first leader be elected before the workload and the faults begin. */
const builtInWarmupMs = 500;

/**
 * builtInScenarios are the scenarios Concord ships, as data. Times are in
 * milliseconds of virtual time, counted from the end of a 500 ms warm-up; every fault is healed by `healAtMs`, after
 * which the cluster must make progress again (the liveness phase).
 */
export const builtInScenarios: readonly ScenarioInput[] = ([
  {
    name: "steady",
    description: "No faults: a closed-loop workload on a healthy cluster with 1 ms links and instant disks.",
    disk: { syncMs: 0 },
  },
  {
    name: "leader-crash",
    description:
      "The leader crashes at 500 ms, at a moment it holds writes not yet synced, and restarts after a delay drawn from the seed (10 ms to 1 s): sometimes before the others elect a new leader; the workload spans 2 s.",
    workload: { spreadMs: 2000 },
    faults: [{ type: "crash", atMs: 500, target: "leader", restartAfterMs: 10, restartAfterMsMax: 1000, timing: "while-unsynced", windowMs: 200 }],
  },
  {
    name: "partition",
    description:
      "The leader is cut off in a minority of one from 500 ms to 2 s, with half the clients on its side, then the partition heals: a CP algorithm serves only the majority side meanwhile, an AP store both.",
    workload: { spreadMs: 2500 },
    faults: [{ type: "partition", atMs: 500, isolate: ["leader"], clients: "split", durationMs: 1500 }],
  },
  {
    name: "lossy",
    description: "Every link drops 5% of messages for the whole fault phase.",
    workload: { spreadMs: 2000 },
    faults: [{ type: "link", atMs: 0, durationMs: 2500, link: { dropPercent: 5 } }],
  },
  {
    name: "slow-node",
    description: "One follower is slow (20 ms extra latency each way, 5x the CPU cost model's costs) for the fault phase.",
    workload: { spreadMs: 2000 },
    faults: [{ type: "slow", atMs: 0, target: "follower", durationMs: 2500, extraLatencyMs: 20, cpuFactor: 5 }],
  },
  {
    name: "crash-restart",
    description: "Every node crashes at once at 800 ms and restarts 300 ms later, losing writes not yet synced (syncs take 1 ms).",
    workload: { spreadMs: 2000 },
    disk: { syncMs: 1, tearPercent: 50 },
    faults: [{ type: "crash", atMs: 800, target: "all", restartAfterMs: 300 }],
  },
  {
    name: "byzantine",
    description: "f replicas (the first primary among them) run a Byzantine strategy chosen by the protocol.",
    workload: { spreadMs: 2000 },
    byzantine: "f",
  },
  {
    name: "chaos",
    description:
      "Swarm testing: a fault mix drawn from the seed (crashes that lose unsynced writes, all-node crashes, partitions that spare the clients or strand them with a minority, a leader cut off from its peers but not from its clients, one-way cuts, loss of some message types, duplication, reordering, long pauses, slow nodes, client restarts, leadership transfers and membership changes where the algorithm has them), with the sync latency, the clients' first sequence and, sometimes, a split of the clients into readers and writers drawn too.",
    workload: { spreadMs: 3000 },
    disk: { tearPercent: 50 },
    chaos: true,
  },
] satisfies ScenarioInput[]).map((scenario) => ({ warmupMs: builtInWarmupMs, ...scenario }));

/** scenarioNames lists the built-in scenarios' names. */
export const scenarioNames: readonly string[] = builtInScenarios.map((scenario) => scenario.name);

/** resolveScenario validates a scenario object, or looks up a built-in one by name. */
export function resolveScenario(scenario: string | ScenarioInput): Scenario {
  if (typeof scenario !== "string") return parseConfig(scenarioSchema, scenario, "scenario");
  const found = builtInScenarios.find((candidate) => candidate.name === scenario);
  if (found === undefined) throw new ConfigError("scenario", `unknown scenario "${scenario}"; allowed: ${scenarioNames.join(", ")}`);
  return parseConfig(scenarioSchema, found, "scenario");
}

/** ChaosContext tells chaos what the algorithm offers: its message types, and whether it can transfer leadership or change membership. */
export interface ChaosContext {
  readonly messageTypes: readonly string[];
  readonly transfer: boolean;
  readonly reconfigure: boolean;
  /** clientRestarts: draw client restarts (a fresh client object behind a used id). */
  readonly clientRestarts: boolean;
  /** ops is the workload's operation count, which bounds how far a client's sequence numbers run. */
  readonly ops: number;
}

const noChaosContext: ChaosContext = { messageTypes: [], transfer: false, reconfigure: false, clientRestarts: false, ops: 0 };

const chaosKinds = [
  "crash",
  "crash-all",
  "crash-while-sending",
  "partition",
  "partition-clients",
  "cut-leader",
  "one-way",
  "lossy",
  "typed-link",
  "pause",
  "long-pause",
  "slow",
  "reorder",
  "restart-client",
  "transfer",
  "reconfigure",
] as const;
type ChaosKind = (typeof chaosKinds)[number];

/**
 * drawChaosFaults draws a fault timeline from the seed (swarm testing, after
 * TigerBeetle's VOPR): each run enables a random subset of fault kinds and
 * then draws 2 to 8 faults of those kinds over the fault phase. Crashes strike
 * at once, while a replica holds unsynced writes, or between a sync and its
 * sends; some take every replica down. Partitions may leave the clients in
 * touch with both sides or put them with the minority (or cut the leader off
 * from its peers alone, half or all of the clients still with it), one-way cuts go either
 * way, link faults may pick some message types, and pauses may outlast an
 * election. Leadership transfers and membership changes are drawn for
 * algorithms whose admin hook offers them.
 */
export function drawChaosFaults(rng: Rng, phaseMs: number, context: ChaosContext = noChaosContext): Fault[] {
  const kinds = chaosKinds.filter(
    (kind) =>
      (kind !== "transfer" || context.transfer) && (kind !== "reconfigure" || context.reconfigure) && (kind !== "typed-link" || context.messageTypes.length > 0) &&
      (kind !== "restart-client" || context.clientRestarts),
  );
  const enabled: ChaosKind[] = kinds.filter(() => rng.chance(1, 2));
  if (enabled.length === 0) enabled.push(kinds[rng.nextInt(kinds.length)] as ChaosKind);
  const count = rng.nextIntBetween(2, 8);
  const faults: Fault[] = [];
  for (let i = 0; i < count; i++) {
    const kind = enabled[rng.nextInt(enabled.length)] as ChaosKind;
    const atMs = rng.nextInt(Math.max(1, Math.floor(phaseMs * 0.8)));
    const durationMs = rng.nextIntBetween(50, Math.max(51, Math.floor(phaseMs / 3)));
    const target = rng.chance(1, 2) ? "leader" : "random";
    faults.push(drawChaosFault(rng, kind, atMs, durationMs, target, context));
  }
  return faults.sort((a, b) => a.atMs - b.atMs);
}

function pickOne<T>(rng: Rng, values: readonly T[]): T {
  return values[rng.nextInt(values.length)] as T;
}

function drawChaosFault(rng: Rng, kind: ChaosKind, atMs: number, durationMs: number, target: "leader" | "random", context: ChaosContext): Fault {
  const crashDefaults = { windowMs: rng.nextIntBetween(200, 1000) };
  switch (kind) {
    case "crash":
      return { type: "crash", atMs, target, restartAfterMs: durationMs, timing: pickOne(rng, ["at-once", "while-unsynced", "while-unsynced", "after-sync"] as const), ...crashDefaults };
    case "crash-while-sending":
      // A leader cut off part-way through a pipeline or a batch of rounds: some of its messages reach their peers,
      // others never leave (a new leader then finds holes below what it learns, Paxos Made Simple §3).
      return { type: "crash", atMs, target: "leader", restartAfterMs: durationMs, timing: "while-sending", ...crashDefaults };
    case "crash-all":
      return { type: "crash", atMs, target: "all", restartAfterMs: rng.nextIntBetween(1, 300), timing: pickOne(rng, ["at-once", "while-unsynced", "while-unsynced"] as const), ...crashDefaults };
    case "partition":
      return { type: "partition", atMs, isolate: rng.chance(1, 3) ? [target, "random"] : [target], oneWay: false, direction: "outbound", clients: "rest", durationMs };
    case "partition-clients":
      // Cut replicas off from their peers but not from the clients, or put clients with the minority (read paths, issue 10).
      return { type: "partition", atMs, isolate: rng.chance(1, 3) ? [target, "random"] : [target], oneWay: false, direction: "outbound", clients: pickOne(rng, ["both", "isolated", "split"] as const), durationMs };
    case "cut-leader":
      // The leader alone cut off from its peers while the first half of the clients, or all of them, still reach it:
      // the others elect a leader and take writes while the deposed one may still serve reads, as long as it trusts
      // its lease (thesis §6.4.1; PML "Master leases"). It lasts at least a few election timeouts' worth.
      return { type: "partition", atMs, isolate: ["leader"], oneWay: false, direction: "outbound", clients: rng.chance(1, 2) ? "split" : "both", durationMs: Math.max(durationMs, 300) };
    case "one-way":
      return { type: "partition", atMs, isolate: [target], oneWay: true, direction: rng.chance(1, 2) ? "outbound" : "inbound", clients: rng.chance(1, 2) ? "rest" : "both", durationMs };
    case "lossy":
      return { type: "link", atMs, durationMs, link: { dropPercent: rng.nextIntBetween(1, 30), duplicatePercent: rng.nextIntBetween(0, 10) } };
    case "typed-link": {
      // Lose or hold back only some message types (only commits, only checkpoints, only heartbeats...), perhaps only one replica's.
      const types = [pickOne(rng, context.messageTypes)];
      if (rng.chance(1, 3)) types.push(pickOne(rng, context.messageTypes));
      const link = rng.chance(2, 3) ? { dropPercent: pickOne(rng, [50, 90, 100]) } : { latency: { kind: "constant" as const, ms: rng.nextIntBetween(20, 200) } };
      return { type: "link", atMs, durationMs, link, messageTypes: [...new Set(types)], ...(rng.chance(1, 2) ? { from: target } : {}) };
    }
    case "pause":
      return { type: "pause", atMs, target, durationMs };
    case "long-pause":
      // Longer than any election timeout: the cluster elects a new leader behind the paused node's back.
      return { type: "pause", atMs, target: "leader", durationMs: rng.nextIntBetween(500, 1500) };
    case "slow":
      return { type: "slow", atMs, target, durationMs, extraLatencyMs: rng.nextIntBetween(5, 50), cpuFactor: 1 };
    case "reorder":
      return { type: "link", atMs, durationMs, link: { reorderPercent: rng.nextIntBetween(5, 50), reorderDelayMs: rng.nextIntBetween(1, 20) } };
    case "restart-client":
      return { type: "restart-client", atMs, client: "random" };
    case "transfer":
      return { type: "transfer", atMs };
    case "reconfigure":
      return {
        type: "reconfigure",
        atMs,
        change: pickOne(rng, ["add-voter", "remove-voter", "remove-leader", "add-learner", "promote-learner", "replace"] as const),
        joint: rng.chance(1, 4),
      };
  }
}

const chaosRaceKinds = ["lagging-cut-leader", "follower-returns-as-leader-cut"] as const;
/** ChaosRaceKind names a race: faults that walk a path only together, in one order, one right after the other. */
export type ChaosRaceKind = (typeof chaosRaceKinds)[number];

/** ChaosRace is the faults of a race drawn for a run (none in about half of the runs). */
export interface ChaosRace {
  readonly kind: ChaosRaceKind | undefined;
  readonly faults: readonly Fault[];
}

/**
 * drawChaosRaces draws, in one run of two, a race: faults placed together
 * in one order, which drawChaosFaults draws independently and so almost
 * never lines up (issue 21). Both end with the leader cut off from its peers
 * while half or all of its clients still reach it, for long enough that the
 * others elect a successor, and both model real failures:
 *
 * - "lagging-cut-leader": the links into the leader grow slow first (its
 *   peers' messages to it lag 20 to 300 ms, so the acknowledgements of its
 *   last rounds come back late), then it is cut off: a lease must run from
 *   when a round was sent, not from when its acknowledgement came back
 *   (thesis §6.4.1).
 * - "follower-returns-as-leader-cut": a follower cut off long enough to time
 *   out comes back in the instant the leader is cut off (a flapping link
 *   moving from one replica to another), and asks for a new round at once,
 *   inside the old leader's lease: the others must refuse it until that
 *   lease is over (PML "Master leases").
 *
 * A run with a race splits its clients into readers and writers (see
 * drawChaosSetup), so that a reader stays with the cut-off leader while the
 * writers go to its successor. Races come from a stream of their own, so
 * that the faults drawChaosFaults draws for a seed stay what they were.
 */
export function drawChaosRaces(rng: Rng, phaseMs: number, nodes: number): ChaosRace {
  // A race needs a successor to the leader it cuts off: a cluster of three or more.
  if (rng.chance(1, 2) || nodes < 3) return { kind: undefined, faults: [] };
  const kind = pickOne(rng, chaosRaceKinds);
  // The cut falls inside the fault phase, and the fault before it starts no earlier than the phase.
  const cutAtMs = rng.nextInt(Math.max(1, Math.floor(phaseMs * 0.8)));
  const cutMs = rng.nextIntBetween(300, 1000);
  const clients = rng.chance(1, 2) ? ("split" as const) : ("both" as const);
  switch (kind) {
    case "lagging-cut-leader": {
      const lagMs = rng.nextIntBetween(20, 300);
      const leadMs = Math.min(cutAtMs, rng.nextIntBetween(20, 300));
      return {
        kind,
        faults: [
          // Only the replicas' messages lag: the clients' requests to the leader still arrive at once.
          { type: "link", atMs: cutAtMs - leadMs, durationMs: leadMs + 1, link: { latency: { kind: "constant", ms: lagMs } }, from: "all", to: "leader" },
          { type: "partition", atMs: cutAtMs, isolate: ["leader"], oneWay: false, direction: "outbound", clients, durationMs: cutMs + lagMs },
        ],
      };
    }
    case "follower-returns-as-leader-cut": {
      const awayMs = Math.min(cutAtMs, rng.nextIntBetween(200, 1000));
      return {
        kind,
        faults: [
          { type: "partition", atMs: cutAtMs - awayMs, isolate: ["follower"], oneWay: false, direction: "outbound", clients: "rest", durationMs: awayMs },
          { type: "partition", atMs: cutAtMs, isolate: ["leader"], oneWay: false, direction: "outbound", clients, durationMs: cutMs + 500 },
        ],
      };
    }
  }
}

const chaosMembershipRaceKinds = ["member-returns-as-new-leader-cut", "member-returns-cut-from-new-leader"] as const;
/** ChaosMembershipRaceKind names a race around a membership change. */
export type ChaosMembershipRaceKind = (typeof chaosMembershipRaceKinds)[number];

/** ChaosMembershipRace is the faults of a membership race drawn for a run, and the spares it needs. */
export interface ChaosMembershipRace {
  readonly kind: ChaosMembershipRaceKind | undefined;
  readonly faults: readonly Fault[];
  /** spares: the run needs at least this many spare replicas (0 without a race). */
  readonly spares: number;
}

/**
 * drawChaosMembershipRaces draws, for an algorithm that changes its
 * membership, in one run of two among those without a race of
 * drawChaosRaces, a race around a change of the voters, which the
 * independent draws of drawChaosFaults (a partition here, a change there)
 * never lined up in 2,000 seeds (issue 21, bug 2). Both start alike: one of
 * the initial voters after the first is cut off for 1 to 2 s, and 10 to
 * 100 ms into its absence the leader is asked to replace a majority of the
 * voters by spares, keeping the absent one (the run gets the spares it
 * needs), so that it misses the change while the new voters elect a leader
 * of their own and take writes. It comes back to run for leader with the
 * removed voters, which never heard the new voters' ballots, and, once it
 * has learned the change, heartbeats the new voters:
 *
 * - "member-returns-as-new-leader-cut": in the instant it returns, the new
 *   voters' leader is cut off alone (half or all of its clients still with
 *   it, for 0.6 to 1.5 s), and in one run of two the spares' Promises are
 *   lost meanwhile, so that a new voter answers the returning leader's
 *   heartbeats while nothing tells it what the new voters chose: a lease
 *   must count only acceptors that promised its ballot in phase 1, and a
 *   voter inside the cut-off leader's lease must not take the returning
 *   leader's ballot from a heartbeat (Paxos Made Live, "Master leases").
 * - "member-returns-cut-from-new-leader": it returns cut off from the new
 *   voters' leader alone, both ways, for 0.6 to 1.5 s, and the spares' Nacks
 *   are lost meanwhile: that leader keeps leading, and serving reads from its
 *   lease, while the returning one asks its voters for their promises.
 *
 * It comes from a stream of its own, drawn only when drawChaosRaces drew no
 * race, so that the runs with one of those stay what they were.
 */
export function drawChaosMembershipRaces(rng: Rng, phaseMs: number, nodes: number, context: ChaosContext): ChaosMembershipRace {
  // A majority of the voters replaced needs a cluster of three or more, and an algorithm that changes membership.
  if (!context.reconfigure || nodes < 3 || rng.chance(1, 2)) return { kind: undefined, faults: [], spares: 0 };
  const kind = pickOne(rng, chaosMembershipRaceKinds);
  // The member that misses the change is named by its index, one of the initial voters after the first (the first
  // leader, most often), so that the change can keep it.
  const away = { index: rng.nextIntBetween(1, nodes - 1) };
  const awayAtMs = rng.nextInt(Math.max(1, Math.floor(phaseMs * 0.2)));
  const awayMs = rng.nextIntBetween(1000, 2000);
  const returnAtMs = awayAtMs + awayMs;
  const cutMs = rng.nextIntBetween(600, 1500);
  const spares = Math.floor(nodes / 2) + 1;
  const faults: Fault[] = [
    { type: "partition", atMs: awayAtMs, isolate: [away], oneWay: false, direction: "outbound", clients: "rest", durationMs: awayMs },
    { type: "reconfigure", atMs: awayAtMs + rng.nextIntBetween(10, 100), change: "replace", joint: false, keep: away },
  ];
  switch (kind) {
    case "member-returns-as-new-leader-cut":
      faults.push({ type: "partition", atMs: returnAtMs, isolate: ["leader"], oneWay: false, direction: "outbound", clients: rng.chance(2, 3) ? "both" : "split", durationMs: cutMs });
      if (rng.chance(1, 2) && context.messageTypes.includes("promise")) {
        // In one run of two the new voters' promises are lost while the cut lasts, their other messages not.
        for (let spare = 0; spare < spares; spare++) {
          faults.push({ type: "link", atMs: returnAtMs, durationMs: cutMs, link: { dropPercent: 100 }, messageTypes: ["promise"], from: { index: nodes + spare } });
        }
      }
      break;
    case "member-returns-cut-from-new-leader":
      faults.push(
        { type: "link", atMs: returnAtMs, durationMs: cutMs, link: { dropPercent: 100 }, from: away, to: "leader" },
        { type: "link", atMs: returnAtMs, durationMs: cutMs, link: { dropPercent: 100 }, from: "leader", to: away },
      );
      if (context.messageTypes.includes("nack")) {
        // The new voters' refusals are lost while the cut lasts: the new leader hears no Nack from a voter that moved on.
        for (let spare = 0; spare < spares; spare++) {
          faults.push({ type: "link", atMs: returnAtMs, durationMs: cutMs, link: { dropPercent: 100 }, messageTypes: ["nack"], from: { index: nodes + spare } });
        }
      }
      break;
  }
  return { kind, faults, spares };
}

const chaosOperationRaceKinds = ["demotion-attempt", "transfer-to-removed"] as const;
/** ChaosOperationRaceKind names a race of operations on the cluster: membership changes and transfers drawn together. */
export type ChaosOperationRaceKind = (typeof chaosOperationRaceKinds)[number];

/** ChaosOperationRace is the operations of such a race drawn for a run (none in most runs). */
export interface ChaosOperationRace {
  readonly kind: ChaosOperationRaceKind | undefined;
  readonly faults: readonly Fault[];
}

/**
 * drawChaosOperationRaces draws, in one run of three of an algorithm whose
 * membership an operator can change, a race of operations that an operator's
 * script issues together and that drawChaosFaults draws only apart (issue 21):
 *
 * - "demotion-attempt": one membership change that removes a follower voter
 *   and adds it back as a learner (an operator demoting a voter in one step),
 *   in a single-server or a joint change. Correct code refuses it: a node
 *   cannot be an outgoing voter and a learner at once (Raft's
 *   cluster-config.ts); the run lists it among the faults without effect.
 * - "transfer-to-removed": the removal of a follower voter, and in the same
 *   instant a leadership transfer to that voter (an operator draining a node
 *   moves leadership onto it by mistake, or two scripts race). The transfer
 *   waits for the target to catch up, and the acknowledgement that catches
 *   it up may be the one that commits its removal: the leader must not tell
 *   a voter it is removing to campaign (thesis §4.2.3).
 *
 * They come from a stream of their own, so that a seed's other faults and
 * races stay what they were.
 */
export function drawChaosOperationRaces(rng: Rng, phaseMs: number, context: ChaosContext): ChaosOperationRace {
  if (!context.reconfigure || !rng.chance(1, 3)) return { kind: undefined, faults: [] };
  const kinds = chaosOperationRaceKinds.filter((kind) => kind !== "transfer-to-removed" || context.transfer);
  const kind = pickOne(rng, kinds);
  const atMs = rng.nextInt(Math.max(1, Math.floor(phaseMs * 0.8)));
  switch (kind) {
    case "demotion-attempt":
      return { kind, faults: [{ type: "reconfigure", atMs, change: "demote", joint: rng.chance(1, 2) }] };
    case "transfer-to-removed":
      return {
        kind,
        faults: [
          { type: "reconfigure", atMs, change: "remove-voter", joint: rng.chance(1, 4) },
          { type: "transfer", atMs, to: "removed" },
        ],
      };
  }
}

const chaosSuccessionRaceKinds = ["successive-leaders-cut"] as const;
/** ChaosSuccessionRaceKind names a race of faults that follow the leadership from one replica to the next. */
export type ChaosSuccessionRaceKind = (typeof chaosSuccessionRaceKinds)[number];

/** ChaosSuccessionRace is the faults of such a race drawn for a run (none in most runs). */
export interface ChaosSuccessionRace {
  readonly kind: ChaosSuccessionRaceKind | undefined;
  readonly faults: readonly Fault[];
}

/**
 * drawChaosSuccessionRaces draws, in one run of four of a cluster of three
 * or more, faults that follow the leadership from one replica to the next,
 * which drawChaosFaults's faults (each aimed at the leader of the moment it
 * fires) meet together almost never (issue 21):
 *
 * - "successive-leaders-cut": the leader is cut off from its peers (its
 *   clients still reach it, so it writes their entries on itself alone);
 *   the moment the others elect a successor, the cut moves onto it (a
 *   flapping link: the successor's first entry, its no-op, stays on it
 *   alone), and the first leader comes back when its own cut ends; and the
 *   next replica to lead crashes right after its commit point first
 *   advances, before it tells anyone, staying down for a while. This is
 *   Figure 8 of the Raft paper (§5.4.2): the first leader, elected again,
 *   spreads its old entry to a majority, and must not count it committed
 *   before an entry of its own term is there too, since the second one,
 *   back, can still be elected and overwrite it.
 *
 * It comes from a stream of its own, so that a seed's other faults and races
 * stay what they were.
 */
export function drawChaosSuccessionRaces(rng: Rng, phaseMs: number, nodes: number): ChaosSuccessionRace {
  if (nodes < 3 || !rng.chance(1, 4)) return { kind: undefined, faults: [] };
  const kind = pickOne(rng, chaosSuccessionRaceKinds);
  const atMs = rng.nextInt(Math.max(1, Math.floor(phaseMs * 0.6)));
  switch (kind) {
    case "successive-leaders-cut": {
      const firstCutMs = rng.nextIntBetween(300, 1500);
      return {
        kind,
        faults: [
          { type: "partition", atMs, isolate: ["leader"], oneWay: false, direction: "outbound", clients: "both", durationMs: firstCutMs },
          {
            type: "partition",
            atMs,
            isolate: ["leader"],
            nextLeader: true,
            windowMs: firstCutMs,
            oneWay: false,
            direction: "outbound",
            clients: "both",
            durationMs: firstCutMs + rng.nextIntBetween(300, 2000),
          },
          { type: "crash", atMs, target: "all", timing: "after-commit", nextLeader: true, windowMs: 4000, restartAfterMs: rng.nextIntBetween(500, 2500) },
        ],
      };
    }
  }
}

/**
 * ChaosSetup is what chaos draws besides the faults: spare replicas for
 * membership changes, the clients' first sequence, and whether the clients
 * split into readers and writers.
 */
export interface ChaosSetup {
  readonly spares: number;
  readonly firstSequence: number | undefined;
  /** readersAndWriters: the first half of the clients only read and the rest only write (see OperationGenerator). */
  readonly readersAndWriters: boolean;
}

/**
 * drawChaosSetup draws spares (for algorithms that change membership), where
 * the clients' sequence numbers start: at 1, just below 2^32 (so that they
 * cross it), or near 2^53 (leaving room for the run's requests), and, in one
 * run of three, a split of the clients into readers and writers. A client
 * of the mixed workload stops reading at its first write that a cut-off
 * leader cannot commit, so a stale read of a leader that outlives its lease
 * needs a client that keeps reading at it while the others write to the new
 * leader: the readers are the half a "split" partition puts with the isolated
 * replicas (issue 21).
 */
export function drawChaosSetup(rng: Rng, context: ChaosContext): ChaosSetup {
  const spares = context.reconfigure ? rng.nextInt(3) : 0;
  const roll = rng.nextInt(4);
  const firstSequence =
    roll === 0 ? 2 ** 32 - rng.nextIntBetween(1, 20) : roll === 1 ? Number.MAX_SAFE_INTEGER - 2 * context.ops - 10_000 - rng.nextInt(1000) : undefined;
  // Drawn last, so that the spares and the first sequence of a seed stay what they were.
  const readersAndWriters = rng.chance(1, 3);
  return { spares, firstSequence, readersAndWriters };
}

/** drawSyncMs draws a disk's sync latency, 0.1 to 2 ms, for a scenario that does not set one. */
export function drawSyncMs(rng: Rng): number {
  return rng.nextIntBetween(1, 20) / 10;
}

/** nextLeaderWindowMsDefault is how long a cut for the next leader waits for one when its fault sets no window. */
export const nextLeaderWindowMsDefault = 1000;

/** faultEndMs is when a fault's effect ends on its own (its time, plus its duration or restart delay). */
export function faultEndMs(fault: Fault): number {
  switch (fault.type) {
    case "crash": {
      const restartMs = Math.max(fault.restartAfterMs ?? 0, fault.restartAfterMs === undefined ? 0 : (fault.restartAfterMsMax ?? 0));
      // A timed crash strikes at the latest at the end of its window.
      return fault.atMs + (fault.timing === "at-once" && fault.atCampaign !== true ? 0 : fault.windowMs) + restartMs;
    }
    case "restart":
    case "transfer":
    case "reconfigure":
    case "restart-client":
      return fault.atMs;
    case "partition":
      // A cut that waits for the next leader or for a campaign strikes at the latest at the end of its window.
      return fault.atMs + (fault.nextLeader === true ? (fault.windowMs ?? nextLeaderWindowMsDefault) + (fault.afterLeadsMs ?? 0) : fault.atCampaign === true ? (fault.windowMs ?? nextLeaderWindowMsDefault) : 0) + fault.durationMs;
    case "pause":
    case "link":
    case "slow":
      return fault.atMs + fault.durationMs;
    case "path-crash":
      // The last walk it watches comes at the end of its window; that replica is down afterPathMs later, for restartAfterMs.
      return fault.atMs + fault.windowMs + fault.afterPathMs + fault.restartAfterMs;
    case "held-race":
      // Each of its two waits lasts at most windowMs; then the cut, and the held messages of its last stage.
      return fault.atMs + 2 * fault.windowMs + fault.settleMs + Math.max(fault.cutMs, fault.delayMs);
  }
}

/** ChaosByzantine is the Byzantine replicas chaos drew for a run: none, or at most f of them and the strategy they play. */
export interface ChaosByzantine {
  readonly nodes: readonly NodeId[];
  readonly strategy: string | undefined;
}

/**
 * drawChaosByzantine draws, in one run of two, Byzantine replicas for an
 * algorithm that names strategies in its chaos hints (PBFT): one to f of
 * them (f being what the cluster tolerates, so that the run stays inside the
 * fault model and must keep every guarantee), all playing one strategy drawn
 * from the hints, each aimed at one of the protocol's checks (issue 21). A
 * strategy that acts only while leading has the first leader (replica 1)
 * among its liars; any other has it in one run of two. Drawn from a stream of
 * its own, so that a seed's other draws stay what they were.
 */
export function drawChaosByzantine(rng: Rng, replicaIds: readonly NodeId[], tolerated: number, hints: ChaosFaultHints | undefined): ChaosByzantine {
  const strategies = hints?.byzantineStrategies ?? [];
  if (strategies.length === 0 || tolerated < 1 || replicaIds.length === 0 || rng.chance(1, 2)) return { nodes: [], strategy: undefined };
  const strategy = pickOne(rng, strategies);
  const count = rng.nextIntBetween(1, Math.min(tolerated, replicaIds.length));
  const nodes = new Set<NodeId>();
  if (hints?.leaderStrategies?.includes(strategy) === true || rng.chance(1, 2)) nodes.add(replicaIds[0] as NodeId);
  while (nodes.size < count) nodes.add(pickOne(rng, replicaIds));
  return { nodes: [...nodes].sort((a, b) => a - b), strategy };
}

/**
 * drawChaosLossWindows draws, in one run of two, one or two windows in which
 * one group of message types from the algorithm's chaos hints (only
 * checkpoints and state transfer, only commits) is lost on its way to one to
 * f+1 replicas, for a quarter to three quarters of the fault phase: the
 * schedules of issue 21's PBFT bugs 3 and 8, which random loss of every type,
 * or of a type to every replica, almost never produces. Each window is one
 * link fault per replica it starves (from every sender), all with one start
 * and one length. Drawn from a stream of its own.
 */
export function drawChaosLossWindows(rng: Rng, phaseMs: number, nodes: number, tolerated: number, hints: ChaosFaultHints | undefined): Fault[] {
  const groups = hints?.lossGroups ?? [];
  if (groups.length === 0 || nodes < 2 || rng.chance(1, 2)) return [];
  const faults: Fault[] = [];
  const windows = rng.nextIntBetween(1, 2);
  for (let window = 0; window < windows; window++) {
    const group = pickOne(rng, groups);
    const atMs = rng.nextInt(Math.max(1, Math.floor(phaseMs / 2)));
    const durationMs = rng.nextIntBetween(Math.floor(phaseMs / 4), Math.max(Math.floor(phaseMs / 4), Math.floor((phaseMs * 3) / 4)));
    const starved = new Set<number>();
    const count = rng.nextIntBetween(1, Math.min(nodes - 1, tolerated + 1));
    while (starved.size < count) starved.add(rng.nextInt(nodes));
    for (const index of [...starved].sort((a, b) => a - b)) {
      faults.push({ type: "link", atMs, durationMs, link: { dropPercent: 100 }, messageTypes: [...group], to: { index } });
    }
  }
  return faults;
}

/** ChaosByzantineClient is the faulty client chaos drew for a run: which of the clients, and what it does. */
export interface ChaosByzantineClient {
  readonly index: number;
  readonly strategy: string;
}

/**
 * drawChaosByzantineClient draws, in one run of two, a faulty client for an
 * algorithm whose chaos hints name client strategies: one of the run's
 * clients (never the only one, whose sessions it would have no other to
 * attack), playing a strategy drawn from the hints. Drawn from a stream of its
 * own.
 */
export function drawChaosByzantineClient(rng: Rng, clients: number, hints: ChaosFaultHints | undefined): ChaosByzantineClient | undefined {
  const strategies = hints?.byzantineClientStrategies ?? [];
  if (strategies.length === 0 || clients < 2 || rng.chance(1, 2)) return undefined;
  return { index: rng.nextInt(clients), strategy: pickOne(rng, strategies) };
}
