import {
  type ClientRequestMessage,
  type NodeId,
  type Ready,
  type Rejections,
  type Replica,
  type ReplicaContext,
  type ReplicaStatus,
  RejectionCounter,
  assert,
  parseConfig,
  unreachable,
} from "@concord/core";
import { type KvCommand, type KvResult, decodeCommand } from "@concord/kv";
import type { LeaderlessEntry, LeaderlessMessage } from "./messages.ts";
import { type EventualOptions, eventualOptionsSchema } from "./options.ts";
import { LeaderlessCore } from "./replica-core.ts";

/** EventualRejectionReason names why a replica refused a message unapplied. */
export type EventualRejectionReason = "replyToReplica" | "requestNotFromClient" | "peerMessageFromStranger" | "stampFromStranger" | "quorumMessage";

/** EventualCounters count what a replica took, spread and refused, for tests, reports and the swarm's hard paths. */
export interface EventualCounters {
  /** writesTaken counts the puts and deletes this replica took from clients (stamped here). */
  writesTaken: number;
  /** entriesMerged counts writes heard from peers (pushed or repaired) that were newer than what this replica held. */
  entriesMerged: number;
  /** roundsStarted counts the anti-entropy rounds this replica opened. */
  roundsStarted: number;
  /** entriesRepaired counts the entries this replica sent in answer to digests and wants. */
  entriesRepaired: number;
  /** refusedCommands counts client commands refused because the store offers get, put and delete only. */
  refusedCommands: number;
  /** retriesAnswered counts retried requests answered from the client table without taking the write again. */
  retriesAnswered: number;
}

/** refusal is the answer to a command the store cannot make atomic without consensus. */
const refusal: KvResult = { type: "invalid", reason: "eventual offers get, put and delete only: cas and append cannot be made atomic without consensus" };

/**
 * EventualReplica is one replica of `eventual`, an AP store: a last-writer-wins register per key (see LwwStore),
 * in which every replica answers every request at once, on whichever side of a partition it is.
 *
 * - A put or delete is stamped by the replica's hybrid logical clock (see HybridClock) and its node id, kept if
 *   newer than what the key holds (it always is: the clock has passed every stamp heard), persisted, and answered
 *   once its record is synced; with `pushWrites` it is sent to every peer in the same Ready.
 * - A get answers the value this replica holds: possibly stale, the point of an AP store.
 * - Anti-entropy (Demers et al. 1987, push-pull): every `antiEntropyTicks` the replica sends one random peer a
 *   digest of every key's stamp; the peer answers with the entries it holds newer and the keys it wants, and the
 *   replica sends those. Every write reaches every replica that stays connected to its taker's through some path,
 *   so once the network heals the replicas converge: equal writes seen, equal stores (merging is commutative).
 * - Entries heard from peers are persisted too, so a restart keeps them; the clock observes every stamp heard, so
 *   a write taken after a replica learned of another orders after it.
 * - Retries: a client table per replica answers a retried request with its first answer; it is not durable, and a
 *   retry sent to another replica is taken again, with a newer stamp (docs/leaderless.md).
 *
 * Invariant: every entry the store holds has been persisted in this or an earlier Ready, and the clock is past
 * every stamp the store holds.
 */
export class EventualReplica implements Replica<LeaderlessMessage> {
  /** id is this replica's node id. */
  readonly id: NodeId;
  private readonly options: EventualOptions;
  private readonly core: LeaderlessCore;
  private readonly rejected = new RejectionCounter<EventualRejectionReason>();
  private readonly counters: EventualCounters = { writesTaken: 0, entriesMerged: 0, roundsStarted: 0, entriesRepaired: 0, refusedCommands: 0, retriesAnswered: 0 };
  /** pushed are the writes taken since the last Ready, sent to every peer in one Update each. */
  private pushed: LeaderlessEntry[] = [];

  constructor(context: ReplicaContext) {
    this.options = parseConfig(eventualOptionsSchema, context.options, "eventual");
    this.core = new LeaderlessCore(context, this.options);
    this.id = context.id;
  }

  /** tick advances the clock and opens an anti-entropy round when one is due. */
  tick(): void {
    this.core.advanceClock();
    if (this.core.openRoundIfDue()) this.counters.roundsStarted++;
  }

  /** step handles one message from a client or a peer; a message that fails validation is counted and changes nothing. */
  step(from: NodeId, message: LeaderlessMessage): void {
    const rejection = this.validate(from, message);
    if (rejection !== undefined) {
      this.rejected.count(rejection);
      return;
    }
    switch (message.type) {
      case "clientRequest":
        return this.onRequest(message);
      case "update":
        for (const entry of message.entries) if (this.core.take(entry)) this.counters.entriesMerged++;
        return;
      case "digest":
        this.counters.entriesRepaired += this.core.onDigest(from, message.round, message.stamps);
        return;
      case "repair": {
        const { kept, sent } = this.core.onRepair(from, message);
        this.counters.entriesMerged += kept;
        this.counters.entriesRepaired += sent;
        return;
      }
      case "clientReply":
      case "notLeader":
      case "quorumRead":
      case "quorumReadReply":
      case "quorumWrite":
      case "quorumAck":
        return; // validate refuses replies (only clients receive them) and `quorum`'s messages
      default:
        return unreachable(message);
    }
  }

  /** ready hands out the records to sync and the messages to send after them. */
  ready(): Ready<LeaderlessMessage> | undefined {
    if (this.pushed.length > 0) {
      for (const peer of this.core.peers) this.core.outbox.push({ to: peer, message: { type: "update", entries: this.pushed } });
      this.pushed = [];
    }
    return this.core.idle() ? undefined : this.core.ready();
  }

  /** advance learns that a Ready was carried out: its answers left after its records were synced, nothing to do. */
  advance(_done: Ready<LeaderlessMessage>): void {}

  /** status reports a leaderless replica: no leader, no epoch; commitIndex and appliedIndex count the writes it holds taken. */
  status(): ReplicaStatus {
    return this.core.status(this.counters.writesTaken + this.counters.entriesMerged);
  }

  /** replicaCount is the number of replicas in the cluster, this one included. */
  replicaCount(): number {
    return this.core.replicaSet.size;
  }

  /** fingerprint names the store's contents (every key with its stamp): equal on replicas that converged. */
  fingerprint(): string {
    return this.core.store.fingerprint();
  }

  /** entry returns the key's latest write this replica holds, for tests and monitors. */
  entry(key: string): LeaderlessEntry | undefined {
    return this.core.store.get(key);
  }

  /** eventualCounters reports what this replica took, spread and refused. */
  eventualCounters(): Readonly<EventualCounters> {
    return this.counters;
  }

  /** rejections counts the messages this replica refused unapplied, by reason. */
  rejections(): Rejections<EventualRejectionReason> {
    return this.rejected;
  }

  private validate(from: NodeId, message: LeaderlessMessage): EventualRejectionReason | undefined {
    switch (message.type) {
      case "clientRequest":
        return message.clientId === from ? undefined : "requestNotFromClient";
      case "clientReply":
      case "notLeader":
        return "replyToReplica";
      case "update":
      case "repair":
        return this.core.fromMember(from, message.entries);
      case "digest":
        return this.core.fromMember(from, []);
      case "quorumRead":
      case "quorumReadReply":
      case "quorumWrite":
      case "quorumAck":
        return "quorumMessage";
      default:
        return unreachable(message);
    }
  }

  private onRequest(request: ClientRequestMessage): void {
    // A retry of the latest answered request gets its answer again; an older one was answered before and is dropped.
    const retried = this.core.retried(request);
    if (retried === "answered") this.counters.retriesAnswered++;
    if (retried !== undefined) return;
    let command: KvCommand;
    try {
      command = decodeCommand(request.command);
    } catch (error) {
      return this.core.answer(request, { type: "invalid", reason: `undecodable command: ${(error as Error).message}` });
    }
    switch (command.type) {
      case "get": {
        const held = this.core.store.get(command.key);
        return this.core.answer(request, { type: "get", value: held === undefined || held.deleted ? undefined : held.value });
      }
      case "put":
        this.write(command.key, command.value, false);
        return this.core.answer(request, { type: "put" });
      case "delete": {
        const held = this.core.store.get(command.key);
        this.write(command.key, new Uint8Array(0), true);
        return this.core.answer(request, { type: "delete", existed: held !== undefined && !held.deleted });
      }
      case "cas":
      case "append":
        this.counters.refusedCommands++;
        return this.core.answer(request, refusal);
      default:
        return unreachable(command);
    }
  }

  /** write takes a client's put or delete: stamped now, kept, persisted, and pushed to the peers. */
  private write(key: string, value: Uint8Array, deleted: boolean): void {
    const entry: LeaderlessEntry = { key, value, deleted, ...this.core.stampNow() };
    assert(this.core.keep(entry), () => `a fresh stamp of key ${key} lost to the one held: the clock went back`);
    this.counters.writesTaken++;
    if (this.options.pushWrites) this.pushed.push(entry);
  }
}
