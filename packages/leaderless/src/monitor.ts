import type { InvariantMonitor, InvariantViolation, MonitorEventContext, NodeId, Replica } from "@concord/core";
import { EventualReplica } from "./eventual.ts";
import type { LeaderlessMessage } from "./messages.ts";
import { QuorumReplica } from "./quorum.ts";

/** convergenceBoundUs is how long after the heal (or the last write, if later) the replicas may still disagree: 5 s of virtual time. */
export const convergenceBoundUs = 5_000_000;

/**
 * ConvergenceMonitor is the leaderless stores' liveness property (what "eventual" promises, and `quorum` with its
 * anti-entropy): once every fault is
 * lifted, every correct replica holds the same entry for every key within `boundUs` of the heal or of the last
 * write taken anywhere, whichever is later. It compares the replicas' fingerprints (every key with its stamp) after
 * each of their events; until they agree, it keeps the run going (`awaiting`), and once the bound has passed it
 * reports the replicas that disagree, once.
 */
export class ConvergenceMonitor implements InvariantMonitor<LeaderlessMessage> {
  /** name labels the violations this monitor reports. */
  readonly name: string;
  private readonly fingerprints = new Map<NodeId, string>();
  private readonly writes = new Map<NodeId, number>();
  private readonly faulty = new Set<NodeId>();
  private readonly found: InvariantViolation[] = [];
  private replicaCount: number | undefined;
  private healedUs: number | undefined;
  private lastWriteUs = 0;
  private reported = false;

  constructor(
    private readonly boundUs: number = convergenceBoundUs,
    name = "eventual-convergence",
  ) {
    this.name = name;
  }

  /** observeReplica notes the replica's store, and reports a disagreement that outlived the bound. */
  observeReplica(replica: Replica<LeaderlessMessage>, context: MonitorEventContext): void {
    if (!(replica instanceof EventualReplica) && !(replica instanceof QuorumReplica)) return;
    if (context.faulty) {
      this.faulty.add(replica.id);
      return;
    }
    this.replicaCount ??= replica.replicaCount();
    this.fingerprints.set(replica.id, replica.fingerprint());
    const writes = replica instanceof EventualReplica ? replica.eventualCounters().writesTaken : replica.quorumCounters().writesTaken;
    if (this.writes.get(replica.id) !== writes) {
      this.writes.set(replica.id, writes);
      this.lastWriteUs = context.timeUs;
    }
    if (this.healedUs === undefined || this.reported || this.converged()) return;
    const deadlineUs = Math.max(this.healedUs, this.lastWriteUs) + this.boundUs;
    if (context.timeUs <= deadlineUs) return;
    this.reported = true;
    const groups = new Map<string, NodeId[]>();
    for (const [id, fingerprint] of this.fingerprints) groups.set(fingerprint, [...(groups.get(fingerprint) ?? []), id]);
    this.found.push({
      invariant: this.name,
      timeUs: context.timeUs,
      message: `the replicas still disagree ${this.boundUs / 1000} ms after the heal and the last write: ${[...groups.values()].map((ids) => `{${ids.sort((a, b) => a - b).join(",")}}`).join(" vs ")} hold different stores`,
    });
  }

  /** observeHealed starts the clock of the convergence bound. */
  observeHealed(context: MonitorEventContext): void {
    this.healedUs = context.timeUs;
  }

  /** awaiting keeps the run going after its workload until the replicas agree (or the bound has passed, reported). */
  awaiting(_timeUs: number): boolean {
    return this.healedUs !== undefined && !this.reported && !this.converged();
  }

  violations(): readonly InvariantViolation[] {
    return this.found;
  }

  /** converged tells whether every correct replica has been seen and all hold the same store. */
  private converged(): boolean {
    if (this.replicaCount === undefined || this.fingerprints.size < this.replicaCount - this.faulty.size) return false;
    let first: string | undefined;
    for (const fingerprint of this.fingerprints.values()) {
      first ??= fingerprint;
      if (fingerprint !== first) return false;
    }
    return true;
  }
}

/** createEventualMonitors returns `eventual`'s monitors for one run: convergence after the heal. */
export function createEventualMonitors(): InvariantMonitor<LeaderlessMessage>[] {
  return [new ConvergenceMonitor()];
}

/** createQuorumMonitors returns `quorum`'s monitors for one run: convergence after the heal (its anti-entropy's promise). */
export function createQuorumMonitors(): InvariantMonitor<LeaderlessMessage>[] {
  return [new ConvergenceMonitor(convergenceBoundUs, "quorum-convergence")];
}
