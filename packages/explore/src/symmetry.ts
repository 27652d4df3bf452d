import { type NodeId, firstClientId } from "@concord/core";
import { paxosRecordCodec } from "@concord/paxos/internals";
import { decodeRecord as decodeRaftRecord, decodeSnapshot as decodeRaftSnapshot } from "@concord/raft/internals";
import { type IdField, type Renaming, encodeCanonical, fingerprint } from "./fingerprint.ts";
import type { ExploreBounds } from "./search.ts";
import type { SymmetryView, World, WorldSetup } from "./world.ts";

/**
 * Symmetry reduction (`--symmetry`, ExploreOptions.symmetry): the search
 * keeps one state per orbit of a group of permutations of the replicas' ids,
 * keyed by the least encoding over the group (Ip and Dill's scalarsets,
 * Murphi; Clarke, Emerson, Jha and Sistla). It is sound when every
 * permutation of the group maps the model onto itself: renaming the ids of a
 * state and then taking an action gives the renamed successor of the
 * original action (the transitions are equivariant), and no property reads
 * an id's rank. Then two states of one orbit have the same violations, now
 * and after any actions, and the search needs only one of them.
 *
 * Three things make that hold here, and each is this file's or the model's:
 *
 * 1. The model: a replica's random stream is seeded by its id in the
 *    default model, so two replicas that lived the same life still draw
 *    different timeouts. Under symmetry the world seeds every replica by its
 *    incarnation alone (WorldSetup.symmetricStreams): the stream is then
 *    state that moves with the replica under a renaming. A model of its own,
 *    not a reduction of the default one; its counts without the reduction
 *    are the baseline the reduction is measured against.
 * 2. The renaming: each protocol says where its state, its disk records and
 *    its messages name replicas (ProtocolSymmetry.fields, `disk`, `text`),
 *    and the state is written with those ids renamed (encodeCanonical with a
 *    Renaming). Ids kept as sets (a configuration, a Map keyed by replica)
 *    are written in the renamed order.
 * 3. The group: only permutations that preserve every order some code reads.
 *    - The generic breakers, where no permutation but the identity is kept:
 *      an ordered network (the order of sending is state, and a replica
 *      sends to its peers in id order); spares, membership changes and
 *      transfers (a configuration that is not every replica, Raft's
 *      hand-over to the lowest id with the longest log); Byzantine replicas
 *      (the liars are named); a client restart still in the budget (the new
 *      client draws its first replica by index into the id-ordered list); and
 *      the bounded "eventually" check (its continuation ticks replicas in id
 *      order and delivers oldest first), which explore refuses with it.
 *    - Clients: core's LeaderClient moves to the next replica in id order,
 *      cyclically, on a timeout and on a NotLeader without a hint. While a
 *      client may still do either (it has an operation to come or
 *      outstanding, and a timeout in its budget, or the protocol answers
 *      NotLeader without a hint) only rotations of the ids commute with it.
 *    - The protocol's own orders (ProtocolSymmetry.ordered): the ids a
 *      permutation must fix in this state.
 *
 * Per protocol:
 * - Raft orders no ids (terms, votes and logs are compared, never ids), so
 *   its group is every permutation, or the rotations while a client is
 *   active.
 * - Single-decree Paxos orders ballots by (round, node id), so every replica
 *   whose id is in a ballot anywhere (a replica, a disk, a message, a
 *   monitor), and every replica a client's request may reach (an active
 *   client's current replica, a request in flight, a replica holding
 *   waiting requests: each may start a ballot), is fixed; the others, pure
 *   acceptors, are interchangeable.
 * - Multi-Paxos has none: its ballots are ordered by node id and every
 *   replica that can still time out may start one, and a replica behind
 *   asks a peer drawn at random by index from its peers in id order
 *   (randomKnownPeer), on a message as well as on a tick, so no permutation
 *   but the identity commutes with that draw.
 * - PBFT and VR have none: the primary of view v is replica v mod n.
 */

/** ProtocolSymmetry is how one protocol names replicas in its state, and which it orders. */
export interface ProtocolSymmetry {
  /** fields names the properties (of replicas, clients, monitors, decoded messages and disk records) that hold node ids. */
  readonly fields: ReadonlyMap<string, IdField>;
  /** text renames the node ids inside a string of a `text` field. */
  readonly text: (field: string, value: string, node: (id: NodeId) => NodeId) => string;
  /** disk decodes a replica's durable records and snapshot into objects whose ids `fields` names. */
  readonly disk: (records: readonly Uint8Array[], snapshot: Uint8Array | undefined) => unknown;
  /** placeholder tells whether a field `fields` names holds no node's id in `holder` (Renaming.placeholder). */
  readonly placeholder?: (field: string, holder: object) => boolean;
  /** ordered lists the replicas whose ids the protocol compares in this state or may compare after it: every permutation fixes them. */
  readonly ordered: (view: SymmetryView, setup: WorldSetup) => Iterable<NodeId>;
  /** redirectsWithoutHint: a replica may answer a client NotLeader with no hint, sending it to the next replica in id order. */
  readonly redirectsWithoutHint: boolean;
}

const raftSymmetry: ProtocolSymmetry = {
  fields: new Map<string, IdField>([
    // RaftReplica, Progress, the hard state and its record, the configuration (replica, log entries, snapshots, messages).
    ["id", "id"],
    ["vote", "id"],
    ["leader", "id"],
    ["transferee", "id"],
    ["voters", "id"],
    ["outgoing", "id"],
    ["learners", "id"],
    ["progress", "keys"],
    ["votes", "keys"],
    // LeaderPerTermMonitor (term -> leader), ConfigurationMonitor (replica -> its object).
    ["leaders", "values"],
    ["replicas", "id"],
    // core's LeaderClient and the client wire.
    ["leaderGuess", "id"],
    ["leaderHint", "id"],
    ["to", "id"],
  ]),
  text: (_field, value) => value,
  disk: (records, snapshot) => [records.map((record) => decodeRaftRecord(record)), snapshot === undefined ? null : decodeRaftSnapshot(snapshot)],
  ordered: () => [],
  redirectsWithoutHint: true,
};

/** paxosBallotRounds maps each Paxos field that holds a ballot's owner (in replicas, messages and records) to the field of its round. */
const paxosBallotRounds = new Map([
  ["node", "round"],
  ["ballotNode", "ballotRound"],
  ["acceptedNode", "acceptedRound"],
  ["promisedNode", "promisedRound"],
]);

/**
 * paxosPlaceholder: the owner of a round-0 ballot names no replica. It is the
 * zero ballot every acceptor starts having promised (`{ round: 0, node: 0 }`),
 * or the absent acceptance of a Promise; rounds decide every comparison with
 * it, so its node is never read, and renaming it would invent a ballot of
 * node 2 that no state holds.
 */
function paxosPlaceholder(field: string, holder: object): boolean {
  const round = paxosBallotRounds.get(field);
  return round !== undefined && (holder as Record<string, unknown>)[round] === 0;
}

const paxosSymmetry: ProtocolSymmetry = {
  fields: new Map<string, IdField>([
    ["id", "id"],
    ["replicas", "id"],
    ["replicaSet", "id"],
    ["peers", "id"],
    // Ballot owners: fixed by every permutation of the group (see `ordered`), listed so that a mistake there cannot rename half of them.
    ["node", "id"],
    ["ballotNode", "id"],
    ["acceptedNode", "id"],
    ["promisedNode", "id"],
    // An attempt's promisers and acceptors; the monitor's acceptors of a proposal.
    ["promisedBy", "id"],
    ["acceptedBy", "id"],
    ["acceptors", "id"],
    // LearnedValueMonitor's learnings, `<replica id>:<key as JSON>:<value>`.
    ["compared", "text"],
    ["leaderGuess", "id"],
    ["leaderHint", "id"],
    ["to", "id"],
  ]),
  text: (field, value, node) => {
    if (field !== "compared") throw new Error(`symmetry: paxos has no text field "${field}"`);
    const colon = value.indexOf(":");
    return `${node(Number(value.slice(0, colon)))}${value.slice(colon)}`;
  },
  placeholder: paxosPlaceholder,
  disk: (records, snapshot) => [records.map((record) => paxosRecordCodec.decode(record)), snapshot === undefined ? null : paxosRecordCodec.decode(snapshot)],
  ordered: (view) => {
    const owners = new Set<NodeId>();
    // What a replica (with its disk) and a message name is kept with the object, which an action copies before changing it.
    view.disks.forEach((disk, id) => {
      const replica = view.replicas[id];
      for (const owner of remembered(ownersCache, disk, () => {
        const found = new Set<NodeId>();
        collectFields(replica, paxosBallotRounds, found);
        collectFields(decodedDisk(paxosSymmetry, disk), paxosBallotRounds, found);
        // A replica holding a client's request may start a ballot for it (on the request, or on a tick after its back-off).
        const instances = (replica as { instances?: Map<string, { waiters: readonly unknown[]; attempt: unknown }> } | undefined)?.instances;
        if (instances !== undefined) for (const instance of instances.values()) if (instance.waiters.length > 0 || instance.attempt !== undefined) found.add(id);
        return found;
      })) {
        owners.add(owner);
      }
    });
    for (const envelope of view.network) {
      for (const owner of remembered(ownersCache, envelope, () => {
        const found = new Set<NodeId>();
        collectFields(envelope.message, paxosBallotRounds, found);
        // A client's request in flight reaches a replica that proposes for it.
        if (envelope.from >= firstClientId) found.add(envelope.to);
        return found;
      })) {
        owners.add(owner);
      }
    }
    // OneValuePerKeyMonitor keys its proposals `<key>@<round>.<node>`.
    collectFields(view.monitors, new Map(), owners, (key) => {
      const at = key.lastIndexOf("@");
      const dot = key.lastIndexOf(".");
      if (at >= 0 && dot > at) owners.add(Number(key.slice(dot + 1)));
    });
    // The replica each active client sends its next request to.
    view.clients.forEach((client, index) => {
      if (clientActive(view, index)) {
        const guess = (client as unknown as { leaderGuess?: NodeId }).leaderGuess;
        if (guess !== undefined) owners.add(guess);
      }
    });
    return owners;
  },
  // A Paxos replica answers every request itself, never NotLeader.
  redirectsWithoutHint: false,
};

/** protocolSymmetries maps an algorithm's name to its symmetry; an algorithm not here has none (the identity alone). */
export const protocolSymmetries: ReadonlyMap<string, ProtocolSymmetry> = new Map([
  ["raft", raftSymmetry],
  ["paxos", paxosSymmetry],
]);

/** SymmetryGroup is the permutations a state's key is the least encoding over: each maps old id -> new id. */
export type SymmetryGroup = readonly (readonly NodeId[])[];

/**
 * symmetryGroup is the group of permutations of the replicas' ids under which
 * `world`'s behaviour within `bounds` is the same up to the renaming (the
 * file's comment says which and why). Its first member is the identity.
 */
export function symmetryGroup(view: SymmetryView, setup: WorldSetup, bounds: ExploreBounds, spec = protocolSymmetries.get(setup.algorithm.name)): SymmetryGroup {
  const n = view.replicas.length;
  const identity = Array.from({ length: n }, (_, id) => id);
  if (
    spec === undefined ||
    setup.ordered ||
    (setup.spares ?? 0) > 0 ||
    view.liars ||
    // Replicas named to turn liar mid-path are told apart before they do.
    (setup.byzantine?.nodes.length ?? 0) > 0 ||
    (bounds.reconfigurationsMax ?? 0) > 0 ||
    (bounds.transfersMax ?? 0) > 0 ||
    // A lasting partition names its side by ids (and World.key keys it; encodeUnder does not rename it): identity alone.
    (bounds.partitionsMax ?? 0) > 0 ||
    view.budget.clientRestarts < (bounds.clientRestartsMax ?? 0)
  ) {
    return [identity];
  }
  const fixed = new Set(spec.ordered(view, setup));
  const cyclic = view.clients.some(
    (client, index) => clientActive(view, index) && (spec.redirectsWithoutHint || (view.budget.timeouts.get(client.id) ?? 0) < bounds.timeoutsPerNodeMax),
  );
  if (cyclic) {
    if (fixed.size > 0) return [identity];
    return identity.map((shift) => identity.map((id) => (id + shift) % n));
  }
  const free = identity.filter((id) => !fixed.has(id));
  if (free.length < 2) return [identity];
  const group: NodeId[][] = [];
  for (const order of permutations(free)) {
    const permutation = [...identity];
    free.forEach((id, index) => {
      permutation[id] = order[index] as NodeId;
    });
    group.push(permutation);
  }
  return group;
}

/** clientActive tells whether client number `index` has an operation outstanding or still to invoke. */
function clientActive(view: SymmetryView, index: number): boolean {
  return (view.pendingOp[index] ?? -1) >= 0 || (view.nextOp[index] ?? 0) < (view.workloadLengths[index] ?? 0);
}

/** permutations lists every order of `items`, the given order first. */
function permutations(items: readonly NodeId[]): NodeId[][] {
  if (items.length <= 1) return [[...items]];
  const out: NodeId[][] = [];
  items.forEach((item, index) => {
    for (const rest of permutations([...items.slice(0, index), ...items.slice(index + 1)])) out.push([item, ...rest]);
  });
  return out;
}

/**
 * SymmetricKey is a state's key under symmetry: `key` the least encoding over
 * its group (one per orbit), `exact` the state's own (the identity's), which
 * tells two states of one orbit apart (the search's sleep sets name actions
 * in the state's own ids).
 */
export interface SymmetricKey {
  readonly key: string;
  readonly exact: string;
  /** group is the size of the group the key was taken over (1: no symmetry in this state). */
  readonly group: number;
}

/** Caches: a replica's, a client's and a message's encoding under each permutation, kept with the (copied-on-write) object. */
const nodeCache = new WeakMap<object, Map<string, string>>();
const clientCache = new WeakMap<object, Map<string, string>>();
const messageCache = new WeakMap<object, Map<string, string>>();
const diskCache = new WeakMap<object, unknown>();
const ownersCache = new WeakMap<object, ReadonlySet<NodeId>>();

/** remembered reads `cache` (a Map or a WeakMap) at `key`, computing and keeping the value the first time. */
function remembered<K, V>(cache: { get(key: K): V | undefined; set(key: K, value: V): unknown }, key: K, compute: () => V): V {
  let value = cache.get(key);
  if (value === undefined) {
    value = compute();
    cache.set(key, value);
  }
  return value;
}

function decodedDisk(spec: ProtocolSymmetry, disk: SymmetryView["disks"][number]): unknown {
  return remembered(diskCache, disk, () => spec.disk(disk.records, disk.snapshot));
}

function cached(cache: WeakMap<object, Map<string, string>>, owner: object, name: string, compute: () => string): string {
  return remembered(remembered(cache, owner, () => new Map<string, string>()), name, compute);
}

/**
 * symmetricKey fingerprints `world` by the least of its encodings under its
 * symmetry group (symmetryGroup), with the monitors' memory read as sets and
 * the history as its real-time precedence (the partial-order reduction's
 * identity, World.key("unordered"), whose argument holds here too). With a
 * group of one it is World.key("unordered"). `spec` is the protocol's
 * symmetry (protocolSymmetries), or another for a test.
 */
export function symmetricKey(world: World, bounds: ExploreBounds, spec = protocolSymmetries.get(world.setup.algorithm.name)): SymmetricKey {
  if (spec === undefined) {
    const key = world.key("unordered");
    return { key, exact: key, group: 1 };
  }
  const view = world.symmetryView();
  const group = symmetryGroup(view, world.setup, bounds, spec);
  if (group.length === 1) {
    // No symmetry in this state (nor in any state of its orbit: the group is the orbit's): its own key, cheaply.
    const key = world.key("unordered");
    return { key, exact: key, group: 1 };
  }
  let least: string | undefined;
  let exact: string | undefined;
  for (const permutation of group) {
    const encoding = encodeUnder(view, spec, permutation);
    if (exact === undefined) exact = encoding;
    if (least === undefined || encoding < least) least = encoding;
  }
  // A prefix of its own, so that no encoding of this format is ever read as one of World.key's.
  return { key: fingerprint(`symmetric:${least as string}`), exact: fingerprint(`symmetric:${exact as string}`), group: group.length };
}

/** encodeUnder writes the state of `view` with every replica id renamed by `permutation` (old id -> new id). */
function encodeUnder(view: SymmetryView, spec: ProtocolSymmetry, permutation: readonly NodeId[]): string {
  const name = permutation.join(",");
  const node = (id: NodeId): NodeId => (Number.isInteger(id) && id >= 0 && id < permutation.length ? (permutation[id] as NodeId) : id);
  const renaming: Renaming = { node, fields: spec.fields, text: (field, value) => spec.text(field, value, node), ...(spec.placeholder === undefined ? {} : { placeholder: spec.placeholder }) };
  const nodes: string[] = new Array(permutation.length);
  const incarnations: number[] = new Array(permutation.length);
  view.disks.forEach((disk, id) => {
    const hash = cached(nodeCache, disk, name, () => fingerprint(encodeCanonical([view.replicas[id] ?? null, decodedDisk(spec, disk)], view.opaque, false, renaming)));
    nodes[node(id)] = hash;
    incarnations[node(id)] = view.incarnations[id] ?? 0;
  });
  const clients = view.clients.map((client) => cached(clientCache, client, name, () => fingerprint(encodeCanonical(client, view.opaque, false, renaming))));
  const network = view.network
    .map((envelope) => cached(messageCache, envelope, name, () => `${node(envelope.from)}>${node(envelope.to)}:${envelope.type}:${encodeCanonical(envelope.message, view.opaque, false, renaming)}`))
    .sort();
  const timeouts = [...view.budget.timeouts].map(([id, count]) => [node(id), count] as const).sort((a, b) => a[0] - b[0]);
  const state = {
    nodes,
    incarnations,
    clients,
    nextOp: view.nextOp,
    pendingOp: view.pendingOp.map((at) => at >= 0),
    network,
    history: view.precedence(),
    budget: [view.budget.crashes, view.budget.drops, view.budget.duplicates, timeouts],
    operations: [view.budget.clientRestarts, view.budget.reconfigurations, view.budget.transfers, view.clientIncarnations],
  };
  return encodeCanonical(state, view.opaque) + encodeCanonical(view.monitors, view.monitorOpaque(), true, renaming);
}

/**
 * collectFields adds to `into` every number found under a property named in
 * `fields`, anywhere in `root` (Maps' keys and values, Sets, arrays and
 * objects); `onKey` hears every string key of a Map.
 */
function collectFields(root: unknown, fields: ReadonlyMap<string, string>, into: Set<number>, onKey?: (key: string) => void): void {
  const seen = new Set<object>();
  const walk = (value: unknown): void => {
    if (typeof value !== "object" || value === null || seen.has(value) || ArrayBuffer.isView(value)) return;
    seen.add(value);
    if (Array.isArray(value) || value instanceof Set) {
      for (const entry of value) walk(entry);
      return;
    }
    if (value instanceof Map) {
      for (const [key, entry] of value) {
        if (typeof key === "string") onKey?.(key);
        walk(key);
        walk(entry);
      }
      return;
    }
    if (value instanceof WeakMap || value instanceof WeakSet) return;
    for (const [key, entry] of Object.entries(value)) {
      const round = fields.get(key);
      if (round !== undefined && typeof entry === "number") {
        if ((value as Record<string, unknown>)[round] !== 0) into.add(entry);
      } else walk(entry);
    }
  };
  walk(root);
}
