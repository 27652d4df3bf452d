// The CPU an unloaded operation waits for on its critical path, as the
// simulator charges it: every message a replica steps costs perMessageUs plus
// its kilobytes times perKilobyteUs, every MAC, digest, signature and
// verification its price, and a replica sends only once it has paid for what
// it stepped. So predicted latency = one-way delays x the link delay + syncs x
// the sync time + the CPU service times on the path (predict.ts's
// predictedLatencyMs). The counts below were derived from the protocols'
// message flow and checked against one-client runs of the simulator at every
// size the sweeps use (bench/test/predict.test.ts).
import type { CpuModel } from "@concord/sim";

/** CriticalPathWork is the work an unloaded operation waits for, summed over the replicas on its path. */
export interface CriticalPathWork {
  /** messages stepped (and charged) before the operation's answer leaves: each hop's receiver, in turn. */
  readonly messages: number;
  readonly macs: number;
  readonly digests: number;
}

/**
 * quorumSteps is how many of m answers that arrive at once a replica steps
 * before it has k of them: the first is stepped as it arrives, and the rest
 * wait for the CPU together, so they are all stepped (and paid for) before
 * the replica sends on. One when one answer is enough, else all m.
 */
export function quorumSteps(k: number, m: number): number {
  return k <= 1 ? 1 : m;
}

/**
 * criticalPathWork gives the work on the critical path of an operation of
 * class `kind` (predict.ts's latency classes: "write", "read", Paxos's
 * "write of a fresh key", "read of a fresh key", "operation on a chosen
 * key") for `algo` on `nodes` replicas; undefined for a protocol or class it
 * has no count for (its latency is predicted without CPU, and says so).
 */
export function criticalPathWork(algo: string, nodes: number, kind: string): CriticalPathWork | undefined {
  const n = nodes;
  const majorityOfOthers = Math.floor(n / 2);
  const none = { macs: 0, digests: 0 };
  switch (algo) {
    case "solo":
      // The request, stepped by the only replica.
      return { messages: 1, ...none };
    case "raft":
    case "multipaxos":
    case "vr":
      // The request at the leader, the append (accept, prepare) or heartbeat at each follower, and the followers' answers at the
      // leader until a majority has answered (ReadIndex's heartbeat round and a write's append alike).
      return { messages: 2 + quorumSteps(majorityOfOthers, n - 1), ...none };
    case "paxos": {
      const phase = 1 + quorumSteps(majorityOfOthers, n - 1);
      if (kind === "write of a fresh key") return { messages: 1 + 2 * phase, ...none };
      if (kind === "read of a fresh key") return { messages: 1 + phase, ...none };
      if (kind === "operation on a chosen key") return { messages: 1, ...none };
      return undefined;
    }
    case "pbft": {
      const f = Math.floor((n - 1) / 3);
      if (kind === "read") return { messages: 1, macs: 2, digests: 0 };
      if (kind !== "write") return undefined;
      // A backup prepares on 2f prepares, its own among them: 2f - 1 of the n - 2 other backups'; the primary on 2f of
      // the n - 1 backups', later. A backup commits on 2f + 1 commits, its own among them: it steps the first other
      // backup's as it arrives, then the other n - 3 together, with the primary's when that has arrived by then.
      const prepares = quorumSteps(2 * f - 1, n - 2);
      const primaryPrepares = quorumSteps(2 * f, n - 1);
      const commits = 1 + (n - 3) + (primaryPrepares <= prepares + 1 ? 1 : 0);
      // MACs: the request's, an authenticator of n - 1 MACs for each of the pre-prepare, the prepare and the commit, one
      // per prepare and commit stepped, and the reply's; as the simulator's crypto counters count them, one more.
      return { messages: 2 + prepares + commits, macs: 4 + 3 * (n - 1) + prepares + commits, digests: 2 };
    }
    default:
      return undefined;
  }
}

/**
 * criticalPathCpuMs prices `work` with `cpu`, each message at `bytesPerMessage`
 * bytes, in milliseconds (the simulator rounds each charge to a whole
 * microsecond; this does not, so it may differ by a microsecond a step).
 */
export function criticalPathCpuMs(work: CriticalPathWork, cpu: CpuModel, bytesPerMessage: number): number {
  const messagesUs = work.messages * (cpu.perMessageUs + (bytesPerMessage / 1024) * cpu.perKilobyteUs);
  return (messagesUs + work.macs * cpu.perMacUs + work.digests * cpu.perDigestUs) / 1000;
}
