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
  lastUsed: number;
}

/** defaultMaxSessions bounds the session table; the least recently used session is evicted past it. */
export const defaultMaxSessions = 100_000;

/**
 * SessionStateMachine gives exactly-once execution (Raft thesis §6.3): it
 * wraps the application's {@link StateMachine} with a replicated table of the
 * last sequence and result per client, so that a retried request returns the
 * cached result instead of being applied twice. The table is part of the
 * replicated state and of every snapshot.
 *
 * Invariant: replicas that execute the same requests in the same order hold
 * identical tables (eviction depends only on that order).
 */
export class SessionStateMachine {
  private readonly sessions = new Map<NodeId, Session>();
  private clock = 0;

  constructor(
    private readonly application: StateMachine,
    private readonly maxSessions: number = defaultMaxSessions,
  ) {
    assert(maxSessions > 0, "maxSessions must be positive");
  }

  /** execute runs a committed request at most once. */
  execute(request: ClientRequest): Execution {
    this.clock++;
    const session = this.sessions.get(request.clientId);
    if (session !== undefined) {
      if (request.sequence === session.sequence) {
        session.lastUsed = this.clock;
        return { kind: "duplicate", result: session.result };
      }
      if (request.sequence < session.sequence) return { kind: "stale" };
    }
    const result = this.application.apply(request.command);
    if (session !== undefined) {
      session.sequence = request.sequence;
      session.result = result;
      session.lastUsed = this.clock;
    } else {
      this.sessions.set(request.clientId, { sequence: request.sequence, result, lastUsed: this.clock });
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

  /** lastSequence returns the newest sequence executed for a client, or 0. */
  lastSequence(clientId: NodeId): number {
    return this.sessions.get(clientId)?.sequence ?? 0;
  }

  /** snapshot encodes the session table and the application's snapshot together. */
  snapshot(): Uint8Array {
    const writer = protobuf.Writer.create();
    writer.uint32(snapshotVersion);
    writer.uint32(this.clock);
    writer.uint32(this.sessions.size);
    for (const [clientId, session] of this.sessions) {
      writer.uint32(clientId).uint32(session.sequence).uint32(session.lastUsed).bytes(session.result);
    }
    writer.bytes(this.application.snapshot());
    return writer.finish();
  }

  /** restore replaces the session table and the application state with a snapshot. */
  restore(snapshot: Uint8Array): void {
    const reader = protobuf.Reader.create(snapshot);
    try {
      const version = reader.uint32();
      if (version !== snapshotVersion) throw new CorruptionError(`session snapshot: unknown version ${version}`);
      const clock = reader.uint32();
      const count = reader.uint32();
      const sessions = new Map<NodeId, Session>();
      for (let i = 0; i < count; i++) {
        const clientId = reader.uint32();
        const sequence = reader.uint32();
        const lastUsed = reader.uint32();
        const result = new Uint8Array(reader.bytes()); // own memory: the reader hands out views of the snapshot
        sessions.set(clientId, { sequence, lastUsed, result });
      }
      const application = reader.bytes();
      // Checked before anything changes: bytes past the end mean the snapshot is not what was written.
      if (reader.pos !== reader.len) throw new CorruptionError(`session snapshot: ${reader.len - reader.pos} unexpected trailing bytes`);
      this.application.restore(application);
      this.clock = clock;
      this.sessions.clear();
      for (const [id, session] of sessions) this.sessions.set(id, session);
    } catch (error) {
      if (error instanceof CorruptionError) throw error;
      throw new CorruptionError(`session snapshot: ${(error as Error).message}`);
    }
  }

  private evictLeastRecentlyUsed(): void {
    let victim: NodeId | undefined;
    let oldest = Number.POSITIVE_INFINITY;
    for (const [clientId, session] of this.sessions) {
      if (session.lastUsed < oldest) {
        oldest = session.lastUsed;
        victim = clientId;
      }
    }
    if (victim !== undefined) this.sessions.delete(victim);
  }
}

const snapshotVersion = 1;
