// A seeded random scheduler over the in-memory cluster: it delivers, drops,
// duplicates and reorders messages, ticks nodes, crashes and restarts them, and
// reconfigures the acceptor set, which the simulator cannot do. Every seed is
// checked for one value per slot (the oracle), agreement of every replica's
// chosen values, equal states at equal applied slots, and progress once the
// faults stop. CONCORD_SEED=<n> replays one seed.
import { type Rng, createRng, firstClientId } from "@concord/core";
import type { Command } from "@concord/multipaxos";
import { describe, expect, test } from "vitest";
import { multiPaxosCluster, put, restart } from "./kit.ts";

const seedCount = Math.max(60, Math.floor(Number(process.env["CONCORD_SEEDS"] ?? 200) / 2));
const onlySeed = process.env["CONCORD_SEED"] === undefined ? undefined : Number(process.env["CONCORD_SEED"]);

function seedsToRun(offset: number): number[] {
  if (onlySeed !== undefined) return [onlySeed];
  return Array.from({ length: seedCount }, (_, i) => offset + i + 1);
}
const clients = 5;

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.nextInt(items.length)] as T;
}

function randomMembers(rng: Rng, ids: readonly number[]): number[] {
  const members = ids.filter(() => rng.chance(1, 2));
  if (members.length === 0) members.push(pick(rng, ids));
  return members.sort((a, b) => a - b);
}

function key(commands: readonly Command[]): string {
  return commands.map((command) => `${command.clientId}:${command.sequence}`).join(",");
}

/** run plays one seed and returns what went wrong (empty when nothing did). */
function run(seed: number, withReconfiguration: boolean): string[] {
  const rng = createRng(seed);
  const electionTimeoutTicks = pick(rng, [3, 6, 12]);
  const options = {
    heartbeatTicks: 1,
    electionTimeoutTicks,
    // Leases (grants refusing Prepares) where the timeout allows them; ticks here drift without bound, so lease
    // reads are not checked for linearizability, only that grants keep the log safe and live.
    leaseTicks: electionTimeoutTicks >= 8 ? pick(rng, [0, 8]) : 0,
    alphaSlots: pick(rng, [2, 3, 8]),
    windowSlots: pick(rng, [1, 2, 8]),
    snapshotEveryEntries: pick(rng, [2, 5, 1000]),
    catchupSlotsMax: pick(rng, [1, 4, 256]),
    retransmitTicks: 2,
    catchupRetryTicks: 2,
  };
  const cluster = multiPaxosCluster(5, options, seed, [0, 1, 2]);
  let requests = 0;
  for (let step = 0; step < 1500; step++) {
    const roll = rng.nextInt(100);
    if (roll < 55 && cluster.queue.length > 0) {
      const index = rng.nextInt(cluster.queue.length);
      const envelope = cluster.queue[index];
      if (envelope === undefined) continue;
      if (!rng.chance(1, 10)) cluster.queue.splice(index, 1); // else: delivered now and again later (a duplicate)
      if (rng.chance(1, 12)) continue; // dropped
      cluster.deliver(envelope);
    } else if (roll < 80) {
      cluster.tick([pick(rng, cluster.ids)]);
    } else if (roll < 93) {
      requests++;
      cluster.request(pick(rng, cluster.ids), put(`k${rng.nextInt(4)}`, `${seed}-${step}`), { clientId: firstClientId + rng.nextInt(clients) });
    } else if (roll < 96) {
      restart(cluster, pick(rng, cluster.ids), seed * 7919 + step);
    } else if (withReconfiguration) {
      const leader = cluster.leaders()[0];
      if (leader !== undefined) {
        cluster.replica(leader).reconfigure(randomMembers(rng, cluster.ids));
        cluster.drain(leader);
      }
    }
  }
  // Faults stop: every message is delivered and time passes until one leader commits a last write.
  let finished = false;
  for (let round = 0; round < 400 && !finished; round++) {
    cluster.tickAndDeliver(1);
    // A replica removed from the acceptor set may keep believing it leads (members refuse its messages);
    // progress is asked of the members of the newest configuration.
    const newest = cluster.ids.map((id) => cluster.replica(id)).reduce((a, b) => (b.status().commitIndex > a.status().commitIndex ? b : a));
    const members = newest.membersAt(newest.status().commitIndex + 1);
    const leaders = cluster.leaders().filter((id) => members.includes(id));
    if (leaders.length !== 1 || round % 20 !== 19) continue;
    const leader = leaders[0] as number;
    const sequence = cluster.request(leader, put("final", `${seed}`), { clientId: firstClientId + clients });
    cluster.deliverAll();
    cluster.tickAndDeliver(3);
    finished = cluster.replyTo(firstClientId + clients, sequence) !== undefined;
  }
  const problems: string[] = cluster.violations().map((violation) => violation.message);
  if (!finished) problems.push(`no progress after the faults stopped (leaders: ${cluster.leaders().join(",") || "none"})`);
  const chosen = new Map<number, string>();
  for (const id of cluster.ids) {
    const replica = cluster.replica(id);
    for (let slot = replica.compactionSlot() + 1; slot <= replica.status().commitIndex; slot++) {
      const commands = replica.chosenAt(slot);
      if (commands === undefined) continue;
      const known = chosen.get(slot);
      if (known === undefined) chosen.set(slot, key(commands));
      else if (known !== key(commands)) problems.push(`replica ${id} chose ${key(commands)} at slot ${slot}, another chose ${known}`);
    }
  }
  // Replicas that applied the same number of slots hold the same state.
  const stateAt = new Map<number, string>();
  for (const id of cluster.ids) {
    const applied = cluster.replica(id).status().appliedIndex;
    const state = Array.from(cluster.machine(id).snapshot()).join(",");
    const known = stateAt.get(applied);
    if (known === undefined) stateAt.set(applied, state);
    else if (known !== state) problems.push(`replica ${id} holds a different state after applying ${applied} slots`);
  }
  const replay = `CONCORD_SEED=${seed} npx vitest run --project multipaxos test/random-schedule.test.ts -t "${withReconfiguration ? "with" : "without"} reconfiguration"`;
  return problems.length === 0 ? [] : [`seed ${seed} (${requests} requests): ${problems.slice(0, 3).join("; ")}\n  replay: ${replay}`];
}

describe("random schedules (drops, duplicates, reordering, crash-restarts)", () => {
  test(`${seedCount} seeds with reconfigurations of the acceptor set keep one value per slot and make progress afterwards`, () => {
    const failures: string[] = [];
    for (const seed of seedsToRun(0)) failures.push(...run(seed, true));
    expect(failures).toEqual([]);
  });

  test(`${seedCount} seeds without reconfiguration keep one value per slot and make progress afterwards`, () => {
    const failures: string[] = [];
    for (const seed of seedsToRun(100_000)) failures.push(...run(seed, false));
    expect(failures).toEqual([]);
  });
});
