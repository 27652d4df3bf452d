import protobuf from "protobufjs/minimal.js";
import type { NodeId } from "./ids.ts";
import type { StateMachine } from "./state-machine.ts";
import { CorruptionError, assert } from "./errors.ts";

/** ClientRequest is a command tagged with the session that sent it, as it travels in a log entry. */
export interface ClientRequest {
  /** clientId is the network address of the client: where the reply goes, not which session the request belongs to. */
  readonly clientId: NodeId;
  /** session is the client object's session key (1 to 2^53 - 1, see ClientSession): the session table's key. */
  readonly session: number;
  /** sequence numbers a session's requests firstSequence, +1, +2, ... up to 2^53 - 1; a retry reuses its number. */
  readonly sequence: number;
  readonly command: Uint8Array;
}

/**
 * Execution is what executing a logged request did: `applied` for the first
 * time, `duplicate` (the cached result of an earlier execution is returned),
 * or `stale` (older than the session's last request: its client has moved on
 * and wants no answer).
 */
export type Execution =
  | { readonly kind: "applied"; readonly result: Uint8Array }
  | { readonly kind: "duplicate"; readonly result: Uint8Array }
  | { readonly kind: "stale" };

interface Session {
  /** key is the session key the table holds it under. */
  readonly key: number;
  /** owner is the client id that opened the session: only its requests may use it. */
  readonly owner: NodeId;
  sequence: number;
  result: Uint8Array;
  /** older and newer link the live sessions in recency order (undefined at either end). */
  older: Session | undefined;
  newer: Session | undefined;
  /** nextInBucket links the live sessions whose keys share a bucket (see SessionStateMachine.buckets). */
  nextInBucket: Session | undefined;
}

/** RetiredSession is what is remembered of an evicted session. */
interface RetiredSession {
  readonly owner: NodeId;
  readonly sequence: number;
}

/** sessionsMaxDefault bounds the session table; the least recently used session is evicted past it. */
export const sessionsMaxDefault = 100_000;

/**
 * retiredPerSession bounds how many evicted sessions are remembered (as a
 * session key and its last sequence, without the result), per session slot.
 */
const retiredPerSession = 100;

/**
 * SessionStateMachine gives exactly-once execution (Raft thesis §6.3): it
 * wraps the application's {@link StateMachine} with a replicated table of the
 * last sequence and result per session, so that a retried request returns the
 * cached result instead of being applied twice. The table is part of the
 * replicated state and of every snapshot.
 *
 * Sessions are keyed by the request's session key, never by its client id: a
 * client object restarted with its old network id draws a new key and starts a
 * fresh session at its first sequence, while its predecessor's late retries
 * stay in the old session (issue 21, bug 7). The first request of an unknown
 * key opens its session, whatever its sequence: the key stands in for the
 * thesis's RegisterClient, so no extra round trip is needed.
 *
 * Past `sessionsMax`, the least recently used session is evicted, but its last
 * sequence is remembered (retired): a late retry of a request it already
 * executed is then refused as stale (never applied twice, and its client
 * reports the outcome as indeterminate), while a newer request of that session
 * opens it again. Only past `sessionsMax * 100` retired sessions is the oldest
 * forgotten for good. Expiry is deterministic: recency is log order.
 *
 * A session belongs to the client id that opened it: a request of another
 * client id that names its key is refused as stale and is answered from
 * nothing. Where client ids are authenticated (PBFT), a faulty client that
 * learned a correct client's key (from a faulty replica) can then neither
 * spend that session's sequences nor have the correct client's request
 * answered with its own command's cached result.
 *
 * Invariant: replicas that execute the same requests in the same order hold
 * identical tables (eviction depends only on that order).
 * Invariant: sequences are integers in [1, 2^53 - 1] in memory, uint64 on the
 * wire and in snapshots; a snapshot holding a wider one is corrupt.
 */
export class SessionStateMachine {
  /**
   * buckets finds a live session by its key: a Map from the key's bucket (a
   * small integer made from the key's bits, see bucketOf) to the sessions of
   * that bucket, linked by nextInBucket. A key is a 53-bit number, which a
   * Map hashes and compares as a boxed double, where a bucket is a small
   * integer it takes at once: every replica looks a session up for every
   * request it executes, and a leader twice more for every request it is
   * sent (issue 18). Their recency order is the list from `oldest` to `newest`.
   */
  private readonly buckets = new Map<number, Session>();
  /** liveCount counts the live sessions. */
  private liveCount = 0;
  /**
   * oldest and newest are the ends of the live sessions' list in recency
   * order: a session used again moves to the newest end, so the oldest is the
   * least recently used. A list, not the Map's insertion order (delete and set
   * again to move a key): with many clients taking turns, every execution
   * moved a key, and the Map's deleted slots then cost a rehash of the whole
   * table every few dozen executions.
   */
  private oldest: Session | undefined;
  private newest: Session | undefined;
  /** retired maps the keys of evicted sessions to their last executed sequence, oldest eviction first. */
  private readonly retired = new Map<number, RetiredSession>();

  constructor(
    private readonly application: StateMachine,
    private readonly sessionsMax: number = sessionsMaxDefault,
  ) {
    assert(sessionsMax > 0, "sessionsMax must be positive");
  }

  /** execute runs a committed request at most once. */
  execute(request: ClientRequest): Execution {
    const session = this.live(request.session);
    if (session !== undefined) {
      if (session.owner !== request.clientId || request.sequence < session.sequence) return { kind: "stale" };
      this.touch(session);
      if (request.sequence === session.sequence) return { kind: "duplicate", result: session.result };
    } else {
      const retired = this.retired.get(request.session);
      if (retired !== undefined && (retired.owner !== request.clientId || request.sequence <= retired.sequence)) return { kind: "stale" };
      this.retired.delete(request.session);
    }
    const result = this.application.apply(request.command);
    if (session !== undefined) {
      session.sequence = request.sequence;
      session.result = result;
    } else {
      const added: Session = { key: request.session, owner: request.clientId, sequence: request.sequence, result, older: this.newest, newer: undefined, nextInBucket: undefined };
      this.link(added);
      if (this.liveCount > this.sessionsMax) this.evictLeastRecentlyUsed();
    }
    return { kind: "applied", result };
  }

  /** query runs a read-only command against the current state; it bypasses sessions. */
  query(command: Uint8Array): Uint8Array {
    return this.application.query(command);
  }

  /** cachedResult returns the cached result of a request already executed, if it is its session's latest and the session is its client's. */
  cachedResult(request: Pick<ClientRequest, "clientId" | "session" | "sequence">): Uint8Array | undefined {
    const live = this.live(request.session);
    return live !== undefined && live.owner === request.clientId && live.sequence === request.sequence ? live.result : undefined;
  }

  /** hasSession tells whether a session is live (with its cached result) in the table. */
  hasSession(session: number): boolean {
    return this.live(session) !== undefined;
  }

  /** retiredCount counts the evicted sessions whose last sequence is still remembered. */
  retiredCount(): number {
    return this.retired.size;
  }

  /** lastSequence returns the newest sequence executed in a session (live or retired), or 0. */
  lastSequence(session: number): number {
    return this.live(session)?.sequence ?? this.retired.get(session)?.sequence ?? 0;
  }

  /** snapshot encodes the session table and the application's snapshot together. */
  snapshot(): Uint8Array {
    const writer = protobuf.Writer.create();
    writer.uint32(snapshotVersion);
    // Sessions in recency order: restoring them in this order restores which is evicted next.
    writer.uint32(this.liveCount);
    // Keys and sequences are uint64 here as on the wire: a narrower width would wrap them (issue 21, bug 6).
    for (let session = this.oldest; session !== undefined; session = session.newer) {
      writer.uint64(session.key).uint64(session.owner).uint64(session.sequence).bytes(session.result);
    }
    writer.uint32(this.retired.size);
    for (const [key, retired] of this.retired) writer.uint64(key).uint64(retired.owner).uint64(retired.sequence);
    writer.bytes(this.application.snapshot());
    return writer.finish();
  }

  /** restore replaces the session table and the application state with a snapshot. */
  restore(snapshot: Uint8Array): void {
    const reader = protobuf.Reader.create(snapshot);
    try {
      const version = reader.uint32();
      if (version !== snapshotVersion) throw new CorruptionError(`session snapshot: unknown version ${version}`);
      const count = reader.uint32();
      const sessions = new Map<number, { readonly owner: NodeId; readonly sequence: number; readonly result: Uint8Array }>();
      for (let i = 0; i < count; i++) {
        const key = readSafeInteger(reader, "session key");
        const owner = readSafeInteger(reader, "client id");
        const sequence = readSafeInteger(reader, "sequence");
        const result = new Uint8Array(reader.bytes()); // own memory: the reader hands out views of the snapshot
        sessions.set(key, { owner, sequence, result });
      }
      const retiredCount = reader.uint32();
      const retired = new Map<number, RetiredSession>();
      for (let i = 0; i < retiredCount; i++) {
        const key = readSafeInteger(reader, "session key");
        const owner = readSafeInteger(reader, "client id");
        retired.set(key, { owner, sequence: readSafeInteger(reader, "sequence") });
      }
      const application = reader.bytes();
      // Checked before anything changes: bytes past the end mean the snapshot is not what was written.
      if (reader.pos !== reader.len) throw new CorruptionError(`session snapshot: ${reader.len - reader.pos} unexpected trailing bytes`);
      this.application.restore(application);
      this.buckets.clear();
      this.liveCount = 0;
      this.oldest = undefined;
      this.newest = undefined;
      // In the order read (a key listed twice keeps its first place and its last values, as a Map keeps them).
      for (const [key, { owner, sequence, result }] of sessions) this.link({ key, owner, sequence, result, older: this.newest, newer: undefined, nextInBucket: undefined });
      this.retired.clear();
      for (const [id, entry] of retired) this.retired.set(id, entry);
    } catch (error) {
      if (error instanceof CorruptionError) throw error;
      throw new CorruptionError(`session snapshot: ${(error as Error).message}`);
    }
  }

  /** live finds the live session of a key, if there is one. */
  private live(key: number): Session | undefined {
    let session = this.buckets.get(bucketOf(key));
    while (session !== undefined && !sameValueZero(session.key, key)) session = session.nextInBucket;
    return session;
  }

  /** link adds a session, whose key has no live session, at the newest end of the list; its `older` must be the current newest. */
  private link(session: Session): void {
    if (this.newest === undefined) this.oldest = session;
    else this.newest.newer = session;
    this.newest = session;
    const bucket = bucketOf(session.key);
    session.nextInBucket = this.buckets.get(bucket);
    this.buckets.set(bucket, session);
    this.liveCount++;
  }

  /** unlinkFromBucket removes a live session from its bucket's chain. */
  private unlinkFromBucket(session: Session): void {
    const bucket = bucketOf(session.key);
    const first = this.buckets.get(bucket);
    if (first === session) {
      if (session.nextInBucket === undefined) this.buckets.delete(bucket);
      else this.buckets.set(bucket, session.nextInBucket);
    } else {
      let before = first;
      while (before !== undefined && before.nextInBucket !== session) before = before.nextInBucket;
      assert(before !== undefined, "an evicted session is in its bucket");
      before.nextInBucket = session.nextInBucket;
    }
    session.nextInBucket = undefined;
    this.liveCount--;
  }

  /** touch makes a live session the most recently used, moving it to the newest end of the list. */
  private touch(session: Session): void {
    if (session === this.newest) return;
    // Not the newest, so it has a newer neighbour.
    const newer = session.newer as Session;
    newer.older = session.older;
    if (session.older === undefined) this.oldest = newer;
    else session.older.newer = newer;
    session.older = this.newest;
    session.newer = undefined;
    (this.newest as Session).newer = session;
    this.newest = session;
  }

  private evictLeastRecentlyUsed(): void {
    const session = this.oldest;
    if (session === undefined) return;
    this.oldest = session.newer;
    if (session.newer === undefined) this.newest = undefined;
    else session.newer.older = undefined;
    session.newer = undefined;
    this.unlinkFromBucket(session);
    this.retired.set(session.key, { owner: session.owner, sequence: session.sequence });
    if (this.retired.size > this.sessionsMax * retiredPerSession) {
      const forgotten = this.retired.keys().next();
      if (forgotten.done !== true) this.retired.delete(forgotten.value);
    }
  }
}

/**
 * bucketOf is the bucket of a session key: its low 32 bits mixed with the
 * bits above them, cut to 30 bits, so that the Map takes it as a small
 * integer. Any number has a bucket (a key outside [1, 2^53 - 1] is refused
 * elsewhere, and would only share a bucket).
 */
function bucketOf(key: number): number {
  const low = key >>> 0;
  return (low ^ ((key - low) / 0x1_0000_0000)) & 0x3fff_ffff;
}

/** sameValueZero compares keys as a Map does: NaN is NaN, and 0 is -0. */
function sameValueZero(a: number, b: number): boolean {
  return a === b || (a !== a && b !== b);
}

/**
 * readSafeInteger reads a uint64 (a session key, a client id or a sequence) and refuses one
 * that a JavaScript number cannot hold exactly: none is past 2^53 - 1.
 */
function readSafeInteger(reader: protobuf.Reader, what: string): number {
  // protobufjs hands out a Long when the long package is installed, else a (possibly rounded) number.
  const read = reader.uint64() as unknown as number | { readonly low: number; readonly high: number };
  const value = typeof read === "number" ? read : (read.high >>> 0) * 0x1_0000_0000 + (read.low >>> 0);
  if (!Number.isSafeInteger(value)) throw new CorruptionError(`session snapshot: ${what} ${value} is past 2^53 - 1`);
  return value;
}

// Version 5 records each session's owner. Version 4 keys sessions by session key, not client id. Version 3 widened sequences from uint32 to uint64. Version 2 added the retired sessions and keeps recency as the order of the sessions.
const snapshotVersion = 5;
