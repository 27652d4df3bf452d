import protobuf from "protobufjs/minimal.js";
import type { NodeId } from "./ids.ts";
import type { StateMachine } from "./state-machine.ts";
import { CorruptionError, assert } from "./errors.ts";

/** ClientRequest is a command tagged with the session that sent it, as it travels in a log entry. */
export interface ClientRequest {
  readonly clientId: NodeId;
  /** sequence numbers a client's requests 1, 2, 3, ...; a retry reuses its number. */
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
  sequence: number;
  result: Uint8Array;
}

/** defaultMaxSessions bounds the session table; the least recently used session is evicted past it. */
export const defaultMaxSessions = 100_000;

/**
 * retiredPerSession bounds how many evicted sessions are remembered (as a
 * client id and its last sequence, without the result), per session slot.
 */
const retiredPerSession = 100;

/**
 * SessionStateMachine gives exactly-once execution (Raft thesis §6.3): it
 * wraps the application's {@link StateMachine} with a replicated table of the
 * last sequence and result per client, so that a retried request returns the
 * cached result instead of being applied twice. The table is part of the
 * replicated state and of every snapshot.
 *
 * Past `maxSessions`, the least recently used session is evicted, but its
 * client's last sequence is remembered (retired): a late retry of a request it
 * already executed is then refused as stale (never applied twice, and its
 * client reports the outcome as indeterminate), while a new request from that
 * client opens a fresh session. Only past `maxSessions * 100` retired clients
 * is the oldest forgotten for good.
 *
 * Invariant: replicas that execute the same requests in the same order hold
 * identical tables (eviction depends only on that order).
 */
export class SessionStateMachine {
  /** sessions in recency order: a session used again moves to the end, so the first is the least recently used. */
  private readonly sessions = new Map<NodeId, Session>();
  /** retired maps the clients of evicted sessions to their last executed sequence, oldest eviction first. */
  private readonly retired = new Map<NodeId, number>();

  constructor(
    private readonly application: StateMachine,
    private readonly maxSessions: number = defaultMaxSessions,
  ) {
    assert(maxSessions > 0, "maxSessions must be positive");
  }

  /** execute runs a committed request at most once. */
  execute(request: ClientRequest): Execution {
    const session = this.sessions.get(request.clientId);
    if (session !== undefined) {
      if (request.sequence < session.sequence) return { kind: "stale" };
      this.touch(request.clientId, session);
      if (request.sequence === session.sequence) return { kind: "duplicate", result: session.result };
    } else {
      const retiredSequence = this.retired.get(request.clientId);
      if (retiredSequence !== undefined && request.sequence <= retiredSequence) return { kind: "stale" };
      this.retired.delete(request.clientId);
    }
    const result = this.application.apply(request.command);
    if (session !== undefined) {
      session.sequence = request.sequence;
      session.result = result;
    } else {
      this.sessions.set(request.clientId, { sequence: request.sequence, result });
      if (this.sessions.size > this.maxSessions) this.evictLeastRecentlyUsed();
    }
    return { kind: "applied", result };
  }

  /** query runs a read-only command against the current state; it bypasses sessions. */
  query(command: Uint8Array): Uint8Array {
    return this.application.query(command);
  }

  /** cachedResult returns the cached result of a request already executed, if it is the session's latest. */
  cachedResult(clientId: NodeId, sequence: number): Uint8Array | undefined {
    const session = this.sessions.get(clientId);
    return session !== undefined && session.sequence === sequence ? session.result : undefined;
  }

  /** hasSession tells whether a client has a live session (with its cached result) in the table. */
  hasSession(clientId: NodeId): boolean {
    return this.sessions.has(clientId);
  }

  /** retiredCount counts the evicted sessions whose last sequence is still remembered. */
  retiredCount(): number {
    return this.retired.size;
  }

  /** lastSequence returns the newest sequence executed for a client (live or retired), or 0. */
  lastSequence(clientId: NodeId): number {
    return this.sessions.get(clientId)?.sequence ?? this.retired.get(clientId) ?? 0;
  }

  /** snapshot encodes the session table and the application's snapshot together. */
  snapshot(): Uint8Array {
    const writer = protobuf.Writer.create();
    writer.uint32(snapshotVersion);
    // Sessions in recency order: restoring them in this order restores which is evicted next.
    writer.uint32(this.sessions.size);
    // Sequences are uint64 here as on the wire: a narrower width would wrap them (issue 21, bug 6).
    for (const [clientId, session] of this.sessions) writer.uint32(clientId).uint64(session.sequence).bytes(session.result);
    writer.uint32(this.retired.size);
    for (const [clientId, sequence] of this.retired) writer.uint32(clientId).uint64(sequence);
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
      const sessions = new Map<NodeId, Session>();
      for (let i = 0; i < count; i++) {
        const clientId = reader.uint32();
        const sequence = readSequence(reader);
        const result = new Uint8Array(reader.bytes()); // own memory: the reader hands out views of the snapshot
        sessions.set(clientId, { sequence, result });
      }
      const retiredCount = reader.uint32();
      const retired = new Map<NodeId, number>();
      for (let i = 0; i < retiredCount; i++) {
        const clientId = reader.uint32();
        retired.set(clientId, readSequence(reader));
      }
      const application = reader.bytes();
      // Checked before anything changes: bytes past the end mean the snapshot is not what was written.
      if (reader.pos !== reader.len) throw new CorruptionError(`session snapshot: ${reader.len - reader.pos} unexpected trailing bytes`);
      this.application.restore(application);
      this.sessions.clear();
      for (const [id, session] of sessions) this.sessions.set(id, session);
      this.retired.clear();
      for (const [id, sequence] of retired) this.retired.set(id, sequence);
    } catch (error) {
      if (error instanceof CorruptionError) throw error;
      throw new CorruptionError(`session snapshot: ${(error as Error).message}`);
    }
  }

  /** touch makes a session the most recently used. */
  private touch(clientId: NodeId, session: Session): void {
    this.sessions.delete(clientId);
    this.sessions.set(clientId, session);
  }

  private evictLeastRecentlyUsed(): void {
    const oldest = this.sessions.entries().next();
    if (oldest.done === true) return;
    const [victim, session] = oldest.value;
    this.sessions.delete(victim);
    this.retired.set(victim, session.sequence);
    if (this.retired.size > this.maxSessions * retiredPerSession) {
      const forgotten = this.retired.keys().next();
      if (forgotten.done !== true) this.retired.delete(forgotten.value);
    }
  }
}

/**
 * readSequence reads a uint64 sequence and refuses one that a JavaScript number
 * cannot hold exactly: no client numbers past Number.MAX_SAFE_INTEGER.
 */
function readSequence(reader: protobuf.Reader): number {
  // protobufjs hands out a Long when the long package is installed, else a (possibly rounded) number.
  const value = reader.uint64() as unknown as number | { readonly low: number; readonly high: number };
  const sequence = typeof value === "number" ? value : (value.high >>> 0) * 0x1_0000_0000 + (value.low >>> 0);
  if (!Number.isSafeInteger(sequence)) throw new CorruptionError(`session snapshot: sequence ${sequence} is past 2^53 - 1`);
  return sequence;
}

// Version 3 widened sequences from uint32 to uint64. Version 2 added the retired sessions and keeps recency as the order of the sessions.
const snapshotVersion = 3;
