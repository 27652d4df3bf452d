import { type Rng, createRng } from "@concord/core";
import type { StorageDamage } from "@concord/net";
import type { RelayStats } from "./delay-relay.ts";
import type { NamespaceNetwork, WireStats } from "./netns.ts";

// A Jepsen-style nemesis for clusters of real processes in network
// namespaces: a schedule of faults drawn from a seed (which replays: the same
// seed gives the same faults at the same offsets on the same nodes, a leader
// aside, which is whoever leads when the fault starts), and an executor that
// applies each to the kernel and the processes and records when it really
// started and ended.

/** nemesisKinds are the faults `concord test --nemesis` takes. */
export const nemesisKinds = ["partition", "kill", "pause", "loss", "latency", "disk", "clock"] as const;
export type NemesisKind = (typeof nemesisKinds)[number];

/** partitionShapes are the partitions the nemesis draws from. */
export const partitionShapes = ["majority-minority", "isolate-leader", "bridge", "one-way"] as const;
export type PartitionShape = (typeof partitionShapes)[number];

/**
 * diskShapes are the disk faults: the leader's or a random node's data
 * directory filled to ENOSPC; or a random node killed, its log damaged while
 * it is down (a torn last append, or a byte of synced data changed) and
 * restarted on it at the end.
 */
export const diskShapes = ["leader", "random", "torn", "corrupt"] as const;
export type DiskShape = (typeof diskShapes)[number];

/** PlannedFault is one fault of a schedule: what, to whom, and when (milliseconds from the load's start). */
export interface PlannedFault {
  readonly kind: NemesisKind;
  /**
   * shape says how: a {@link PartitionShape}, or for kill and pause `leader`,
   * `random` or `majority` (kill only), for loss and latency `one` or `all`,
   * or a {@link DiskShape}.
   */
  readonly shape: string;
  /** nodes are the nodes the seed chose, in the order the shape reads them; a leader-targeted fault picks at run time and falls back to these. */
  readonly nodes: readonly number[];
  readonly startMs: number;
  readonly endMs: number;
  /** percent of packets dropped (loss), milliseconds of delay (latency), or the clock's rate against real time (clock). */
  readonly amount?: number | undefined;
}

/** NemesisPlanSetup is what a schedule is drawn from. */
export interface NemesisPlanSetup {
  readonly kinds: readonly NemesisKind[];
  readonly nodes: number;
  readonly seconds: number;
  readonly seed: number;
}

/** quietStartMs is how long the load runs before the first fault: the cluster's calm baseline. */
const quietStartMs = 1_000;
/** quietEndMs is how long before the load's end the last fault is planned to be healed. */
export const quietEndMs = 1_000;
const faultMsMin = 700;
const faultMsMax = 2_500;
const gapMsMin = 500;
const gapMsMax = 1_500;

/**
 * planNemesis draws a schedule from the seed: faults one at a time from 1 s
 * into the load until 1 s before its end, each 0.7 to 2.5 s long with 0.5 to
 * 1.5 s of calm between them; the kinds take turns in an order the seed
 * shuffles, so that a short run still sees each kind once before any repeats.
 * The same setup gives the same schedule.
 */
export function planNemesis(setup: NemesisPlanSetup): PlannedFault[] {
  if (setup.kinds.length === 0) return [];
  const rng = createRng(setup.seed).fork("nemesis");
  const endMs = setup.seconds * 1000 - quietEndMs;
  const faults: PlannedFault[] = [];
  let turn: NemesisKind[] = [];
  for (let atMs = quietStartMs; endMs - atMs >= faultMsMin / 2; ) {
    if (turn.length === 0) turn = shuffle(rng, [...new Set(setup.kinds)]);
    const kind = turn.shift() as NemesisKind;
    const durationMs = Math.min(rng.nextIntBetween(faultMsMin, faultMsMax), endMs - atMs);
    faults.push({ ...drawTarget(rng, kind, setup.nodes), startMs: atMs, endMs: atMs + durationMs });
    atMs += durationMs + rng.nextIntBetween(gapMsMin, gapMsMax);
  }
  return faults;
}

function drawTarget(rng: Rng, kind: NemesisKind, n: number): Pick<PlannedFault, "kind" | "shape" | "nodes" | "amount"> {
  const order = shuffle(rng, Array.from({ length: n }, (_unused, i) => i));
  switch (kind) {
    case "partition": {
      const shapes = partitionShapes.filter((shape) => shape !== "bridge" || n >= 3);
      return { kind, shape: shapes[rng.nextInt(shapes.length)] as PartitionShape, nodes: order };
    }
    case "kill": {
      const shapes = ["leader", "random", "majority"];
      return { kind, shape: shapes[rng.nextInt(shapes.length)] as string, nodes: order };
    }
    case "pause":
      return { kind, shape: rng.chance(1, 2) ? "leader" : "random", nodes: order };
    case "loss":
      return { kind, shape: rng.chance(1, 2) ? "one" : "all", nodes: order, amount: 10 * rng.nextIntBetween(1, 4) };
    case "latency":
      return { kind, shape: rng.chance(1, 2) ? "one" : "all", nodes: order, amount: 25 * rng.nextIntBetween(2, 8) };
    case "disk":
      return { kind, shape: diskShapes[rng.nextInt(diskShapes.length)] as DiskShape, nodes: order };
    case "clock": {
      const rates = [0.25, 0.5, 2, 4];
      return { kind, shape: rng.chance(1, 2) ? "leader" : "random", nodes: order, amount: rates[rng.nextInt(rates.length)] as number };
    }
  }
}

function shuffle<T>(rng: Rng, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

/** NemesisTarget is what the executor acts on: the cluster's processes and its network. */
export interface NemesisTarget {
  readonly nodes: number;
  readonly network: NamespaceNetwork;
  /** leader is the node that says it leads (or is primary) now, or undefined (none, or a leaderless algorithm). */
  leader(): Promise<number | undefined>;
  /** pid is node `index`'s process id, or undefined when it is down. */
  pid(index: number): number | undefined;
  /** kill SIGKILLs node `index` and waits for it to exit. */
  kill(index: number): Promise<void>;
  /** restart starts node `index` again on its data directory, resolving once it serves. */
  restart(index: number): Promise<void>;
  /**
   * fillDisk fills node `index`'s data directory, a size-limited tmpfs, until
   * writes fail with ENOSPC, and returns what frees it again; undefined when
   * the data directories are not on their own file systems.
   */
  readonly fillDisk?: ((index: number) => Promise<() => Promise<void>>) | undefined;
  /**
   * damageStorage damages the log of node `index`, which is down (see net's
   * damageFileStorage): a torn last append, or a byte of synced data changed
   * (undefined when it holds nothing to change); etcd's WAL is damaged by
   * damageEtcdWal.
   */
  readonly damageStorage?: ((index: number, kind: "torn" | "corrupt") => NamedStorageDamage | undefined) | undefined;
  /** nodeLog reads what node `index` logged since a mark (for what a restart said of the damage; the last couple of thousand lines are kept). */
  readonly nodeLog?: { mark(index: number): number; since(index: number, mark: number): readonly string[] } | undefined;
  /** setClock runs node `index`'s tick timer at `rate` times real time (1 restores it); undefined for a system whose clock cannot be set (etcd). */
  readonly setClock?: ((index: number, rate: number) => Promise<void>) | undefined;
}

/**
 * NamedStorageDamage is a damaged log, and, for a system whose log lines are
 * not Concord's (etcd), which line of its restart names the damage: absent,
 * a Concord node's (`recovery dropped a torn tail ... at byte O of F`, or a
 * line naming the file with `is corrupt` or `is damaged`).
 */
export interface NamedStorageDamage extends StorageDamage {
  readonly names?: ((line: string) => boolean) | undefined;
}

/** FaultRecord is one fault as it happened: times in milliseconds from the load's start, when it was in force. */
export interface FaultRecord {
  readonly kind: NemesisKind;
  readonly shape: string;
  /** nodes are the nodes it acted on (for a partition, the first group's). */
  readonly nodes: readonly number[];
  /** description says it in full: "isolate-leader: [1] | [0 2]". */
  readonly description: string;
  readonly plannedStartMs: number;
  readonly plannedEndMs: number;
  /** startMs is when the fault was in force (its rules applied, its signal sent). */
  readonly startMs: number;
  /** endMs is when it was healed (rules removed, the node restarted or continued). */
  readonly endMs: number;
  readonly amount?: number | undefined;
  /** note says what differed from the plan (no leader to target, say). */
  readonly note?: string | undefined;
  /** outcome is what healing found: for a damaged log, what the restarted node said of it. */
  readonly outcome?: string | undefined;
  /** measured is what the delaying relays and reordering wires did while a latency fault was in force (absent with netem, which reports nothing). */
  readonly measured?: FaultMeasurement | undefined;
}

/**
 * FaultMeasurement is what a fault's mechanism measured of itself: for
 * latency through the relays, the delay each chunk really spent in them,
 * and in `wire`, the packets the reordering wires held back and wrote
 * twice, and the TCP segments the nodes received out of order or twice
 * meanwhile.
 */
export type FaultMeasurement = { readonly mechanism: "relay" } & RelayStats & { readonly wire?: WireStats | undefined };

/**
 * runNemesis applies the schedule to `target`: waits for each fault's start
 * (from `originMs`, a performance.now() reading), applies it, waits for its
 * end and heals it, and returns what it did. Healing may take longer than
 * planned (a killed node restarted under load takes seconds to listen
 * again): the faults after it then keep their planned lengths and the calm
 * between them, shifted by the delay, and one that could only start after
 * `lastStartMs` is left out, saying so. `stopped` cuts the waits short (the
 * faults in force are still healed).
 */
export async function runNemesis(target: NemesisTarget, schedule: readonly PlannedFault[], originMs: number, log: (line: string) => void, stopped: () => boolean = () => false, lastStartMs = Number.POSITIVE_INFINITY): Promise<FaultRecord[]> {
  const records: FaultRecord[] = [];
  const now = (): number => Math.round(performance.now() - originMs);
  let lateMs = 0;
  for (const fault of schedule) {
    await sleepUntil(originMs + fault.startMs + lateMs, stopped);
    if (stopped()) break;
    if (now() > lastStartMs) {
      log(`nemesis ${now()} ms: ${fault.kind} planned for ${fault.startMs} ms left out: healing the faults before it ran ${lateMs} ms late, past ${lastStartMs} ms`);
      continue;
    }
    const applied = await applyFault(target, fault);
    const startMs = now();
    log(`nemesis ${startMs} ms: ${applied.description}${applied.note === undefined ? "" : ` (${applied.note})`}`);
    await sleepUntil(originMs + startMs + (fault.endMs - fault.startMs), stopped);
    const outcome = await applied.heal();
    const endMs = now();
    const measured = await applied.measure?.();
    lateMs = Math.max(0, endMs - fault.endMs);
    log(`nemesis ${endMs} ms: healed ${fault.kind}${outcome === undefined ? "" : `: ${outcome}`}`);
    records.push({ kind: fault.kind, shape: fault.shape, nodes: applied.nodes, description: applied.description, plannedStartMs: fault.startMs, plannedEndMs: fault.endMs, startMs, endMs, amount: fault.amount, note: applied.note, ...(outcome === undefined ? {} : { outcome }), ...(measured === undefined ? {} : { measured }) });
  }
  return records;
}

interface AppliedFault {
  readonly nodes: readonly number[];
  readonly description: string;
  readonly note?: string | undefined;
  /** heal ends the fault, and may say what it found (the outcome of a damaged log's restart). */
  heal(): Promise<string | undefined | void>;
  /** measure, after the heal, reads what the fault's mechanism measured of it. */
  measure?(): Promise<FaultMeasurement | undefined>;
}

async function applyFault(target: NemesisTarget, fault: PlannedFault): Promise<AppliedFault> {
  const { network } = target;
  const n = target.nodes;
  const list = (nodes: readonly number[]): string => `[${[...nodes].sort((a, b) => a - b).join(" ")}]`;
  const leaderFirst = async (): Promise<{ order: number[]; note: string | undefined }> => {
    const leader = await target.leader();
    if (leader === undefined) return { order: [...fault.nodes], note: `no node said it leads: node ${fault.nodes[0]} instead, as the seed drew` };
    return { order: [leader, ...fault.nodes.filter((node) => node !== leader)], note: undefined };
  };
  switch (fault.kind) {
    case "partition": {
      const healPartition = () => network.heal();
      const minoritySize = Math.floor((n - 1) / 2) || 1;
      if (fault.shape === "majority-minority" || fault.shape === "isolate-leader") {
        const { order, note } = fault.shape === "isolate-leader" ? await leaderFirst() : { order: [...fault.nodes], note: undefined };
        const cutOff = fault.shape === "isolate-leader" ? order.slice(0, 1) : order.slice(0, minoritySize);
        const rest = order.filter((node) => !cutOff.includes(node));
        await network.partition([cutOff, rest]);
        return { nodes: cutOff, description: `partition ${fault.shape}: ${list(cutOff)} | ${list(rest)}`, note, heal: healPartition };
      }
      if (fault.shape === "bridge") {
        // Jepsen's bridge: two halves that cannot talk, and one node that talks to both.
        const [bridge, ...others] = fault.nodes as [number, ...number[]];
        const half = Math.floor(others.length / 2);
        const left = others.slice(0, half);
        const right = others.slice(half);
        await Promise.all(left.flatMap((a) => right.flatMap((b) => [network.cut(a, b), network.cut(b, a)])));
        return { nodes: [bridge], description: `partition bridge: ${list(left)} | ${list(right)}, node ${bridge} reaching both`, heal: healPartition };
      }
      // one-way: a minority hears nothing from the rest, which still hear it.
      const deaf = fault.nodes.slice(0, minoritySize);
      const rest = fault.nodes.filter((node) => !deaf.includes(node));
      await Promise.all(rest.flatMap((from) => deaf.map((to) => network.cut(from, to))));
      return { nodes: deaf, description: `partition one-way: ${list(deaf)} hear nothing from ${list(rest)} (which still hear them)`, heal: healPartition };
    }
    case "kill": {
      const { order, note } = fault.shape === "leader" ? await leaderFirst() : { order: [...fault.nodes], note: undefined };
      const victims = order.slice(0, fault.shape === "majority" ? Math.floor(n / 2) + 1 : 1);
      await Promise.all(victims.map((node) => target.kill(node)));
      return { nodes: victims, description: `kill ${fault.shape}: SIGKILL ${list(victims)}, restarted on the same data directory at the end`, note, heal: async () => void (await Promise.all(victims.map((node) => target.restart(node)))) };
    }
    case "pause": {
      const { order, note } = fault.shape === "leader" ? await leaderFirst() : { order: [...fault.nodes], note: undefined };
      const victim = order[0] as number;
      const pid = target.pid(victim);
      if (pid !== undefined) process.kill(pid, "SIGSTOP");
      return {
        nodes: [victim],
        description: `pause ${fault.shape}: SIGSTOP node ${victim}, SIGCONT at the end`,
        note: pid === undefined ? `node ${victim} was down; nothing paused` : note,
        heal: async () => {
          if (pid !== undefined) signalIfAlive(pid, "SIGCONT");
        },
      };
    }
    case "loss": {
      const nodes = fault.shape === "all" ? [...fault.nodes] : fault.nodes.slice(0, 1);
      const percent = fault.amount ?? 20;
      // A quarter as many duplicated as dropped, from the amount drawn, so that the schedule's draws are as before.
      const duplicatePercent = percent / 4;
      await Promise.all(nodes.map(async (node) => {
        await network.setLoss(node, percent);
        await network.setDuplication(node, duplicatePercent);
      }));
      return {
        nodes,
        description: `loss ${fault.shape}: ${percent}% of the packets in and out of ${list(nodes)} dropped, ${duplicatePercent}% of those they send duplicated`,
        heal: async () => {
          await Promise.all(nodes.map(async (node) => {
            await network.setLoss(node, 0);
            await network.setDuplication(node, 0);
          }));
        },
      };
    }
    case "disk": {
      if ((fault.shape === "torn" || fault.shape === "corrupt") && target.damageStorage !== undefined) return damageLog(target, fault.shape, fault.nodes[0] as number);
      const { order, note: leaderNote } = fault.shape === "leader" ? await leaderFirst() : { order: [...fault.nodes], note: undefined };
      // A system whose log this cannot damage gets its directory filled instead, and the record says so.
      const note = fault.shape === "torn" || fault.shape === "corrupt" ? `no ${fault.shape} record for this system (no damageStorage for its log): its data directory filled instead` : leaderNote;
      const victim = order[0] as number;
      if (target.fillDisk === undefined) throw new Error("the disk nemesis needs the data directories on their own tmpfs");
      const free = await target.fillDisk(victim);
      return {
        nodes: [victim],
        description: `disk ${fault.shape}: node ${victim}'s data directory filled (ENOSPC), freed at the end (and the node restarted if it died)`,
        note,
        heal: async () => {
          await free();
          if (target.pid(victim) === undefined) await target.restart(victim);
        },
      };
    }
    case "clock": {
      const { order, note } = fault.shape === "leader" ? await leaderFirst() : { order: [...fault.nodes], note: undefined };
      const victim = order[0] as number;
      const rate = fault.amount ?? 0.5;
      if (target.setClock === undefined) throw new Error("the clock nemesis needs a system whose tick timer it can set");
      const setClock = target.setClock;
      await setClock(victim, rate);
      return {
        nodes: [victim],
        description: `clock ${fault.shape}: node ${victim}'s tick timer at ${rate} times real time (${rate < 1 ? "slow" : "fast"}), restored at the end`,
        note,
        // A node killed meanwhile restarts with a clock at 1 anyway; one that does not answer keeps the rate until it restarts.
        heal: () => setClock(victim, 1).catch(() => undefined),
      };
    }
    case "latency": {
      const nodes = fault.shape === "all" ? [...fault.nodes] : fault.nodes.slice(0, 1);
      const delayMs = fault.amount ?? 100;
      // Jitter, the share reordered and the share duplicated all follow from the delay drawn, so that the schedule's draws are as before: 50 ms gives 10 ms, 10% and 1%; 200 ms gives 40 ms, 40% and 4%.
      const shaping = { delayMs, jitterMs: Math.round(delayMs / 5), reorderPercent: delayMs / 5, duplicatePercent: delayMs / 50 };
      // Count afresh: what the relays and wires did before this fault is not its.
      await network.takeDelayStats();
      await network.takeWireStats();
      await Promise.all(nodes.map((node) => network.setDelay(node, shaping)));
      const by = network.delayMechanism === "netem" ? "tc netem on their links" : "the delaying relays in front of every node and a reordering wire in the namespace of each node named (no sch_netem)";
      return {
        nodes,
        description: `latency ${fault.shape}: ${delayMs} ms (jitter ${shaping.jitterMs} ms) on what ${list(nodes)} send, ${shaping.reorderPercent}% of their packets reordered and ${shaping.duplicatePercent}% sent twice, by ${by}`,
        heal: async () => void (await Promise.all(nodes.map((node) => network.setDelay(node, undefined)))),
        measure: async () => {
          const stats = await network.takeDelayStats();
          const wire = await network.takeWireStats();
          return stats === undefined ? undefined : { mechanism: "relay", ...stats, ...(wire === undefined ? {} : { wire }) };
        },
      };
    }
  }
}

/**
 * damageLog kills `victim`, damages its log while it is down, and at the
 * heal restarts it and checks what it did: a torn tail must be dropped with
 * a line naming where it was; a changed byte of synced data must stop the
 * start with a line naming the file and the offset, after which the byte is
 * put back (a disk restored from a copy) and the node started again. A node
 * that starts on a corrupted log, or drops a torn tail without saying so,
 * fails the heal, and with it the run. Where the damage says which line
 * names it (etcd's, whose lines name the file but no offset), that line is
 * the one looked for.
 */
async function damageLog(target: NemesisTarget, kind: "torn" | "corrupt", victim: number): Promise<AppliedFault> {
  const damageStorage = target.damageStorage as NonNullable<NemesisTarget["damageStorage"]>;
  const wasUp = target.pid(victim) !== undefined;
  await target.kill(victim);
  const damage = damageStorage(victim, kind);
  const description = `disk ${kind}: SIGKILL node ${victim}, ${damage === undefined ? "nothing synced to corrupt in its log" : damage.description}, restarted on it at the end`;
  const note = wasUp ? undefined : `node ${victim} was down already`;
  const mark = target.nodeLog?.mark(victim) ?? 0;
  const saidSince = (matches: (line: string) => boolean): string | undefined => target.nodeLog?.since(victim, mark).find(matches);
  return {
    nodes: [victim],
    description,
    note,
    heal: async () => {
      if (damage === undefined) return void (await target.restart(victim));
      const named = damage.names;
      if (damage.kind === "torn") {
        await target.restart(victim);
        const line = saidSince(named ?? ((said) => said.includes("recovery dropped a torn tail")));
        if (line === undefined || (named === undefined && !line.includes(`at byte ${damage.offset} of ${damage.file}`))) throw new Error(`node ${victim} restarted on a log with ${damage.description} without a line saying it dropped it there${line === undefined ? "" : ` (it said: ${line})`}`);
        return `restarted, dropping the torn tail: ${line.replace(/^\S+Z /, "")}`;
      }
      const refused = await target.restart(victim).then(
        () => undefined,
        (error: unknown) => (error as Error).message,
      );
      if (refused === undefined) throw new Error(`node ${victim} started on a log with ${damage.description}: it must refuse corrupted synced data`);
      const line = saidSince(named ?? ((said) => /is corrupt|is damaged/.test(said)));
      if (line === undefined || (named === undefined && !line.includes(damage.file))) throw new Error(`node ${victim} did not start on a log with ${damage.description}, but no line named ${named === undefined ? "the file" : "the damage"}: ${refused}`);
      damage.repair();
      await target.restart(victim);
      return `refused to start, naming the damage: ${line.replace(/^concord: /, "").replace(/,"stacktrace":.*\}$/, "}")}; the byte put back (a disk restored from a copy) and restarted`;
    },
  };
}

function signalIfAlive(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // gone already
  }
}

async function sleepUntil(deadlineMs: number, stopped: () => boolean): Promise<void> {
  while (!stopped()) {
    const leftMs = deadlineMs - performance.now();
    if (leftMs <= 0) return;
    await new Promise((resolve) => setTimeout(resolve, Math.min(leftMs, 100)));
  }
}

/**
 * netemSupport tells why tc's netem qdisc cannot be used here (a kernel built
 * without sch_netem), or undefined when it can: it adds and removes a netem
 * qdisc on the loopback of a probe namespace.
 */
export async function netemSupport(network: NamespaceNetwork): Promise<string | undefined> {
  try {
    await network.setNetem(0, { delayMs: 1 });
  } catch (error) {
    return (error as Error).message;
  }
  await network.clearNetem(0);
  return undefined;
}
