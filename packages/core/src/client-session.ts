import { z } from "zod";
import type { ClientContext } from "./algorithm.ts";
import { parseConfig } from "./config.ts";
import { dropped, type Rejection } from "./results.ts";
import type { Rng } from "./rng.ts";

/**
 * sequenceMax is the last sequence number a session may use: the widest
 * integer every width agrees on (uint64 on the wire and on disk, a JavaScript
 * number in memory). A client that has used it refuses further requests
 * (see {@link ClientSession.next}) rather than wrap; a new client object opens
 * a new session and numbers from 1 again.
 */
export const sequenceMax = Number.MAX_SAFE_INTEGER;

/** sessionKeyMax is the largest session key: keys are 53-bit, in [1, 2^53 - 1]. */
export const sessionKeyMax = Number.MAX_SAFE_INTEGER;

/**
 * drawSessionKey draws a session key uniformly from [1, 2^53 - 1]. Two client
 * objects collide only if their draws match: among k keys the chance of any
 * collision is about k^2 / 2^54 (one in 1.8e6 for a million keys), and a new
 * key meets one of the m keys a replica remembers (live and retired sessions)
 * with chance m / 2^53 (1.1e-9 for m = 10^7, the default table's bound).
 */
export function drawSessionKey(rng: Rng): number {
  for (;;) {
    const key = rng.nextInt(0x20_0000) * 0x1_0000_0000 + rng.nextUint32();
    if (key !== 0) return key;
  }
}

const sessionStartSchema = z
  .object({
    /** session pins the session key (tests and simulator scenarios); drawn from the client's Rng when absent. */
    session: z.number().int().min(1).max(sessionKeyMax).optional(),
    /** firstSequence is the sequence of the client's first request, 1 unless a scenario starts near a width boundary. */
    firstSequence: z.number().int().min(1).max(sequenceMax).default(1),
  })
  .strict();

/**
 * ClientSession is the client's half of an exactly-once session (Raft thesis
 * §6.3): a key that no other client object uses, instead of RegisterClient's
 * round trip, and the next sequence number. The key is distinct from the
 * client's network id, so a client restarted with its old id opens a fresh
 * session and is never answered from its predecessor's cache.
 *
 * Invariant: sequences handed out increase by one from `firstSequence` and
 * never pass {@link sequenceMax}.
 */
export class ClientSession {
  /** key identifies the session in every replica's session table. */
  readonly key: number;
  private nextSequence: number;

  constructor(context: ClientContext) {
    const start = parseConfig(sessionStartSchema, { session: context.session, firstSequence: context.firstSequence }, "client");
    // Drawn only when not pinned, so that pinning a key changes no other draw of the client's Rng.
    this.key = start.session ?? drawSessionKey(context.rng);
    this.nextSequence = start.firstSequence;
  }

  /** next hands out the next sequence number, or the rejection of a session that has used its last one. */
  next(): { readonly sequence: number } | { readonly rejection: Rejection } {
    if (this.nextSequence > sequenceMax) {
      return { rejection: dropped(`session ${this.key} has used its last sequence (2^53 - 1); open a new client for a new session`) };
    }
    return { sequence: this.nextSequence++ };
  }
}
