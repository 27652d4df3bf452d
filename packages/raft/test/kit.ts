// Raft on the shared test kit (@concord/testkit): how to build a cluster of
// RaftReplicas (plain Raft unless a test asks for pre-vote or check-quorum)
// with KV requests on core's client wire, and etcd-style conveniences (elect, put,
// preloaded logs). The Ready loop, disks, network and crashes are the kit's.
import { createRng, type Crypto, type NodeId, type ProtocolOptions } from "@concord/core";
import { TestCluster, type Envelope as KitEnvelope, coreClientWire } from "@concord/testkit";
import { RaftReplica, raft, type Entry, type RaftMessage } from "@concord/raft";
import { encodeEntryRecord, encodeHardState } from "../src/records.ts";

/** Envelope is one Raft message in flight. */
export type Envelope = KitEnvelope<RaftMessage>;

/** RaftCluster is a kit cluster of RaftReplicas. */
export type RaftCluster = TestCluster<RaftMessage, RaftReplica>;

/** noCrypto stands in for the runtime's cryptography, which Raft (a crash-fault protocol) never uses. */
export const noCrypto: Crypto = {
  digest: () => {
    throw new Error("raft does not hash");
  },
  mac: () => {
    throw new Error("raft does not MAC");
  },
  sign: () => {
    throw new Error("raft does not sign");
  },
  verify: () => {
    throw new Error("raft does not verify");
  },
  macKey: () => {
    throw new Error("raft has no MAC keys");
  },
};

/** plainOptions turns pre-vote and check-quorum off (the paper's plain Raft) unless a test asks for them. */
const plainOptions: ProtocolOptions = { preVote: false, checkQuorum: false };

/**
 * raftCluster builds RaftReplicas `ids` whose initial configuration is
 * `initialConfig` (the other ids start outside it); every (re)start draws a
 * new random stream from `seed`, as etcd's tests reseed each raft.
 */
export function raftCluster(ids: readonly NodeId[], options: ProtocolOptions = plainOptions, seed = 1, initialConfig: readonly NodeId[] = ids): RaftCluster {
  let starts = seed;
  return new TestCluster({
    algorithm: raft,
    ids,
    initialMembers: initialConfig,
    options,
    rng: (id) => createRng(starts++ * 7919 + id),
    crypto: () => noCrypto,
    // The rule tests build impossible logs on purpose (seedLog); the monitors are tested on their own and in the simulator.
    monitors: [],
    clientWire: coreClientWire<RaftMessage>(),
    createReplica: (context) => new RaftReplica(context),
  });
}

/** elect makes `id` campaign and delivers until quiet. */
export function elect(net: RaftCluster, id: NodeId): void {
  net.replica(id).campaign();
  net.deliverAll();
}

/** put proposes a put through `to` (stepped straight into it) and delivers until quiet. */
export function put(net: RaftCluster, to: NodeId, key: string, value: string, clientId?: NodeId, sequence?: number): void {
  net.request(to, { type: "put", key, value: new TextEncoder().encode(value) }, { stepOnly: true, ...(clientId === undefined ? {} : { clientId }), ...(sequence === undefined ? {} : { sequence }) });
  net.deliverAll();
}

/** terms lists the terms of a replica's log entries after its snapshot. */
export function terms(net: RaftCluster, id: NodeId): number[] {
  return net
    .replica(id)
    .logEntries()
    .map((entry) => entry.term);
}

/** logEntry builds an empty log entry (a no-op unless `kind` says otherwise) at `index` of `term`. */
export function logEntry(index: number, term: number, kind = 1): Entry {
  return { term, index, kind, clientId: 0, session: 0, sequence: 0, command: new Uint8Array(0), voters: [], outgoing: [], learners: [] };
}

/** entriesOfTerms builds no-op log entries with the given terms, starting at index `first`. */
export function entriesOfTerms(terms: readonly number[], first = 1): Entry[] {
  return terms.map((term, k) => logEntry(first + k, term));
}

/**
 * seedLog restarts replica `id` from a disk holding `terms` as its log and
 * `term` as its current term, as etcd-io/raft's tests preload a MemoryStorage.
 */
export function seedLog(net: RaftCluster, id: NodeId, terms: readonly number[], term: number, options?: ProtocolOptions): RaftReplica {
  net.crash(id);
  net.disk(id).load({ snapshot: undefined, records: [...entriesOfTerms(terms).map(encodeEntryRecord), encodeHardState({ term, vote: undefined, commit: 0 })] });
  return net.restart(id, options === undefined ? {} : { options });
}
