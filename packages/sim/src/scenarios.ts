import { ConfigError, parseConfig, type Rng } from "@concord/core";
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
    description: "No faults: a closed-loop workload on a healthy cluster with 1 ms links.",
  },
  {
    name: "leader-crash",
    description: "The leader crashes at 500 ms and restarts 1 s later; the workload spans 2 s.",
    workload: { spreadMs: 2000 },
    faults: [{ type: "crash", atMs: 500, target: "leader", restartAfterMs: 1000 }],
  },
  {
    name: "partition",
    description: "The leader is cut off in a minority of one from 500 ms to 2 s, then the partition heals.",
    workload: { spreadMs: 2500 },
    faults: [{ type: "partition", atMs: 500, isolate: ["leader"], durationMs: 1500 }],
  },
  {
    name: "lossy",
    description: "Every link drops 5% of messages for the whole fault phase.",
    workload: { spreadMs: 2000 },
    faults: [{ type: "link", atMs: 0, durationMs: 2500, link: { dropPercent: 5 } }],
  },
  {
    name: "slow-node",
    description: "One follower is slow (20 ms extra latency each way, 5x CPU cost) for the fault phase.",
    workload: { spreadMs: 2000 },
    cpu: { perMessageUs: 20 },
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
    description: "Swarm testing: a fault mix (crashes, partitions, loss, duplication, reordering, pauses, slow nodes) drawn from the seed.",
    workload: { spreadMs: 3000 },
    disk: { syncMs: 1, tearPercent: 50 },
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

/**
 * drawChaosFaults draws a fault timeline from the seed (swarm testing, after
 * TigerBeetle's VOPR): each run enables a random subset of fault kinds and
 * then draws 2 to 8 faults of those kinds over the fault phase.
 */
export function drawChaosFaults(rng: Rng, phaseMs: number): Fault[] {
  const kinds = ["crash", "partition", "one-way", "lossy", "pause", "slow", "reorder"] as const;
  const enabled = kinds.filter(() => rng.chance(1, 2));
  if (enabled.length === 0) enabled.push(kinds[rng.nextInt(kinds.length)] as (typeof kinds)[number]);
  const count = rng.nextIntBetween(2, 8);
  const faults: Fault[] = [];
  for (let i = 0; i < count; i++) {
    const kind = enabled[rng.nextInt(enabled.length)] as (typeof kinds)[number];
    const atMs = rng.nextInt(Math.max(1, Math.floor(phaseMs * 0.8)));
    const durationMs = rng.nextIntBetween(50, Math.max(51, Math.floor(phaseMs / 3)));
    const target = rng.chance(1, 2) ? "leader" : "random";
    switch (kind) {
      case "crash":
        faults.push({ type: "crash", atMs, target, restartAfterMs: durationMs });
        break;
      case "partition":
        faults.push({ type: "partition", atMs, isolate: rng.chance(1, 3) ? [target, "random"] : [target], oneWay: false, durationMs });
        break;
      case "one-way":
        faults.push({ type: "partition", atMs, isolate: [target], oneWay: true, durationMs });
        break;
      case "lossy":
        faults.push({ type: "link", atMs, durationMs, link: { dropPercent: rng.nextIntBetween(1, 30), duplicatePercent: rng.nextIntBetween(0, 10) } });
        break;
      case "pause":
        faults.push({ type: "pause", atMs, target, durationMs });
        break;
      case "slow":
        faults.push({ type: "slow", atMs, target, durationMs, extraLatencyMs: rng.nextIntBetween(5, 50), cpuFactor: 1 });
        break;
      case "reorder":
        faults.push({ type: "link", atMs, durationMs, link: { reorderPercent: rng.nextIntBetween(5, 50), reorderDelayMs: rng.nextIntBetween(1, 20) } });
        break;
    }
  }
  return faults.sort((a, b) => a.atMs - b.atMs);
}

/** faultEndMs is when a fault's effect ends on its own (its time, plus its duration or restart delay). */
export function faultEndMs(fault: Fault): number {
  switch (fault.type) {
    case "crash":
      return fault.atMs + (fault.restartAfterMs ?? 0);
    case "restart":
      return fault.atMs;
    case "pause":
    case "partition":
    case "link":
    case "slow":
      return fault.atMs + fault.durationMs;
  }
}
