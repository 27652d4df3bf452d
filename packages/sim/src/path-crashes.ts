import type { ChaosFaultHints, MonitorEventContext, NodeId, PathCounter, Replica, Rng } from "@concord/core";
import type { Cluster } from "./cluster.ts";
import { type SimContext, msToUs } from "./context.ts";
import type { CrashSchedule } from "./crashes.ts";
import type { FaultRecord } from "./faults.ts";
import type { Fault } from "./scenario.ts";

/** PathCrashFault is a "path-crash" fault. */
export type PathCrashFault = Extract<Fault, { type: "path-crash" }>;

/**
 * pathCrashAfterMsMin and pathCrashAfterMsMax bound how long after the walk chaos's crash comes: past the slowest sync
 * the swarm draws (2 ms), so that what the replica wrote there is on its disk and what it sends on it has left, and
 * soon enough that what it learned there is seldom overtaken yet (PBFT: a checkpoint adopted without its state, whose
 * state transfer is on its way).
 */
const pathCrashAfterMsMin = 2;
const pathCrashAfterMsMax = 100;
/** pathCrashRestartMsMin and pathCrashRestartMsMax bound how long a replica chaos crashed at its path stays down. */
const pathCrashRestartMsMin = 10;
const pathCrashRestartMsMax = 200;

/**
 * drawChaosPathCrash draws, in one run of two for an algorithm whose chaos
 * hints name crash paths (PBFT), a crash timed by the replicas' own progress
 * (issue 21): from a time in the first quarter of the fault phase to its end,
 * every replica that walks the named hard path (one of the hints' paths,
 * counted by the algorithm's path counter), up to f+1 of them (the most
 * replicas chaos's loss windows and the liars' ally starve at once), crashes
 * 2 to 100 ms after the event in which it walked it (long enough to act on
 * what it learned there: its records synced, its answers sent) and restarts
 * 10 to 200 ms later. A crash drawn at a time of the clock almost never falls
 * after a replica's rare step and before the next one that undoes its
 * effect: this one lands there by construction, and what the replica wrote
 * on that path must survive the restart. Drawn from a stream of its own, so
 * that a seed's other draws stay what they were.
 */
export function drawChaosPathCrash(rng: Rng, phaseMs: number, tolerated: number, hints: ChaosFaultHints | undefined): Fault[] {
  const paths = hints?.crashPaths ?? [];
  if (paths.length === 0 || rng.chance(1, 2)) return [];
  const path = paths[rng.nextInt(paths.length)] as string;
  const atMs = rng.nextInt(Math.max(1, Math.floor(phaseMs / 4)));
  return [
    {
      type: "path-crash",
      atMs,
      path,
      target: "all",
      count: tolerated + 1,
      afterPathMs: rng.nextIntBetween(pathCrashAfterMsMin, pathCrashAfterMsMax),
      restartAfterMs: rng.nextIntBetween(pathCrashRestartMsMin, pathCrashRestartMsMax),
      windowMs: Math.max(0, phaseMs - atMs),
    },
  ];
}

/**
 * PathWalks passes everything a runtime shows a path counter on to the
 * algorithm's own counter, and tells `listener` which replica walked a watched
 * path: the replica the counter was looking at (the sender of a message, the
 * replica a message was handed to, the replica after its event) when that
 * path's count grew. The counter itself is unchanged (a run's `paths` counts
 * are its own); the simulator wraps it only in runs that have a path crash.
 */
export class PathWalks implements PathCounter<unknown> {
  /** listener hears each walk of a watched path, in the event that walked it. */
  listener: ((path: string, replica: NodeId) => void) | undefined;
  private readonly seen: number[];

  constructor(
    private readonly inner: PathCounter<unknown>,
    private readonly paths: readonly string[],
  ) {
    this.seen = paths.map(() => 0);
  }

  observeSend(from: NodeId, to: NodeId, message: unknown, context: MonitorEventContext): void {
    this.inner.observeSend?.(from, to, message, context);
    this.check(from);
  }

  observeDeliver(replica: Replica<unknown>, from: NodeId, message: unknown, context: MonitorEventContext): void {
    this.inner.observeDeliver?.(replica, from, message, context);
    this.check(replica.id);
  }

  observeReplica(replica: Replica<unknown>, context: MonitorEventContext): void {
    this.inner.observeReplica?.(replica, context);
    this.check(replica.id);
  }

  counts(): ReadonlyMap<string, number> {
    return this.inner.counts();
  }

  private check(replica: NodeId): void {
    const counts = this.inner.counts();
    for (let i = 0; i < this.paths.length; i++) {
      const path = this.paths[i] as string;
      const count = counts.get(path) ?? 0;
      if (count <= (this.seen[i] as number)) continue;
      this.seen[i] = count;
      this.listener?.(path, replica);
    }
  }
}

/** ArmedPathCrash is a path crash that fired: the replicas it watches, those whose crash is on its way, those it crashed. */
interface ArmedPathCrash {
  readonly fault: PathCrashFault;
  readonly watched: ReadonlySet<NodeId>;
  readonly deadlineUs: number;
  /** coming are the replicas that walked the path and whose crash comes afterPathMs later. */
  readonly coming: Set<NodeId>;
  readonly struck: Set<NodeId>;
  /** walked: a watched replica walked the path within the window. */
  walked: boolean;
}

/** PathCrashParts is what path crashes act through: the run's replicas and crash schedule, and fresh fault ids. */
export interface PathCrashParts {
  readonly context: SimContext;
  readonly cluster: Cluster;
  readonly crashes: CrashSchedule;
  readonly rng: Rng;
  readonly newId: () => number;
}

/**
 * PathCrashes plays "path-crash" faults: once one fires, each replica it
 * watches that walks its path (as PathWalks reports) is crashed afterPathMs
 * later, if it is still the incarnation that walked it, as an ordinary crash
 * fault of that replica alone (the crash schedule's: logged, within the
 * algorithm's crash bound, restarted restartAfterMs later), until `count` of
 * them crashed. Walks after its window, and crashes due after the heal, are
 * not acted on; a path crash that crashed nothing is reported as without
 * effect, with why.
 */
export class PathCrashes {
  private readonly armed: ArmedPathCrash[] = [];
  private healed = false;

  constructor(private readonly parts: PathCrashParts) {}

  /** fire arms a path crash from now to the end of its window. */
  fire(fault: PathCrashFault): void {
    const { context, cluster } = this.parts;
    const watched = new Set(cluster.select(fault.target, this.parts.rng));
    const crash: ArmedPathCrash = { fault, watched, deadlineUs: context.nowUs + msToUs(fault.windowMs), coming: new Set(), struck: new Set(), walked: false };
    this.armed.push(crash);
    const nodes = [...watched].sort((a, b) => a - b);
    context.logFault(`path-crash armed (${fault.path}, up to ${fault.count}, ${fault.afterPathMs} ms after the walk, down ${fault.restartAfterMs} ms)`, nodes, "");
    context.queue.push(crash.deadlineUs, { kind: "race-step", step: () => this.windowEnds(crash) });
  }

  /** walked is told that replica `id` walked `path` in the event being handled. */
  walked(path: string, id: NodeId): void {
    if (this.healed) return;
    const { context, cluster } = this.parts;
    for (const crash of this.armed) {
      const { fault } = crash;
      if (fault.path !== path || context.nowUs > crash.deadlineUs || !crash.watched.has(id)) continue;
      if (crash.coming.has(id) || crash.struck.has(id) || crash.coming.size + crash.struck.size >= fault.count) continue;
      crash.coming.add(id);
      crash.walked = true;
      const incarnation = cluster.node(id).incarnation;
      context.logFault(`path-crash: node ${id} walked ${path}; it crashes in ${fault.afterPathMs} ms`, [], "");
      context.queue.push(context.nowUs + msToUs(fault.afterPathMs), { kind: "race-step", step: () => this.strike(crash, id, incarnation) });
    }
  }

  /** strike crashes replica `id` if it is still the incarnation that walked the path (else it may walk it again). */
  private strike(crash: ArmedPathCrash, id: NodeId, incarnation: number): void {
    crash.coming.delete(id);
    if (this.healed) return;
    const { context, cluster, crashes } = this.parts;
    const node = cluster.node(id);
    if (node.host === undefined || node.incarnation !== incarnation) {
      context.logFault(`path-crash: node ${id} went down before its crash`, [], "");
    } else {
      const { fault } = crash;
      const crashFault: Fault = { type: "crash", atMs: fault.atMs, target: { index: cluster.allReplicaIds.indexOf(id) }, restartAfterMs: fault.restartAfterMs, timing: "at-once", windowMs: 0 };
      const record: FaultRecord = { fault: crashFault, id: this.parts.newId(), hit: [] };
      crashes.fire(record, crashFault);
      if (record.hit.includes(id)) crash.struck.add(id);
    }
    this.settle(crash);
  }

  /** windowEnds reports, at the end of its window, a path crash that crashed nothing and has no crash on its way. */
  private windowEnds(crash: ArmedPathCrash): void {
    this.settle(crash);
  }

  /**
   * settle reports a path crash as without effect once its window is over, no crash of it is on its way and none
   * struck: no watched replica walked the path, or those that did were down (or past the crash bound) when their
   * crash came. Each path crash is settled once: at its window's end, or at its last crash after that.
   */
  private settle(crash: ArmedPathCrash): void {
    if (this.healed || crash.struck.size > 0 || crash.coming.size > 0 || this.parts.context.nowUs < crash.deadlineUs) return;
    const { path } = crash.fault;
    this.parts.context.noEffect(crash.fault, crash.walked ? `the replicas that walked ${path} were down, or past the crash bound, when their crash came` : `no replica it watches walked ${path} within its window`);
  }

  /** healAll: crashes still on their way are called off (after the heal, replicas stay up). */
  healAll(): void {
    if (this.healed) return;
    this.healed = true;
    for (const crash of this.armed) {
      if (crash.struck.size > 0) continue;
      const why = crash.coming.size > 0 ? "its crashes were still on their way when the scenario healed" : `no replica it watches walked ${crash.fault.path} before the heal`;
      if (this.parts.context.nowUs <= crash.deadlineUs || crash.coming.size > 0) this.parts.context.noEffect(crash.fault, why);
    }
  }
}
