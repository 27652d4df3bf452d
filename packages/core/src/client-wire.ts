// The client wire of the leader-based protocols (solo, Raft, Multi-Paxos),
// defined once in `client-wire.proto`. Each protocol's message union includes
// these types and its envelope carries them under the same oneof field names,
// so that one client (LeaderClient) speaks to all of them without an adapter.
import type { ReadLevel } from "./client.ts";
import type { NodeId } from "./ids.ts";

/** ClientRequestMessage is a client's session request (Raft thesis §6.3); the session table executes it at most once. */
export interface ClientRequestMessage {
  /** type tags the message, the same in every protocol. */
  readonly type: "clientRequest";
  /** clientId is the sending client's network id, where replies go. */
  readonly clientId: NodeId;
  /** session is the client object's session key (see ClientSession), the session table's key, distinct from clientId. */
  readonly session: number;
  /** sequence numbers the request within its session. */
  readonly sequence: number;
  /** command is the encoded state machine command. */
  readonly command: Uint8Array;
  /** readOnly marks a command that changes nothing, which a protocol may serve without a log entry. */
  readonly readOnly: boolean;
  /**
   * readLevel is the code of the consistency a read-only request asks for (see {@link readLevelCode}): 0, the
   * proto3 default, for `linearizable` and for every write, so that such a request's bytes are what they were
   * before the field existed.
   */
  readonly readLevel: number;
}

/** readLevelCode is the wire code of `level`: 0 `linearizable`, 1 `lease`, 2 `stale`. */
export function readLevelCode(level: ReadLevel): number {
  return level === "stale" ? 2 : level === "lease" ? 1 : 0;
}

/** readLevelOfCode is the level a request's wire code asks for; a code it does not know is served as `linearizable`, the strongest. */
export function readLevelOfCode(code: number): ReadLevel {
  return code === 2 ? "stale" : code === 1 ? "lease" : "linearizable";
}

/** ClientReplyMessage is a replica's answer to request `sequence` of `session`. */
export interface ClientReplyMessage {
  /** type tags the message, the same in every protocol. */
  readonly type: "clientReply";
  /** session is the session of the request answered: a restarted client with the same id never takes its predecessor's answer. */
  readonly session: number;
  /** sequence is the request answered. */
  readonly sequence: number;
  /** result is the encoded state machine result. */
  readonly result: Uint8Array;
}

/** NotLeaderMessage refuses request `sequence` and names the replica the sender believes leads, if it knows one. */
export interface NotLeaderMessage {
  /** type tags the message, the same in every protocol. */
  readonly type: "notLeader";
  /** sequence is the request refused. */
  readonly sequence: number;
  /** hasLeaderHint tells whether leaderHint names a replica (0 is a replica id too). */
  readonly hasLeaderHint: boolean;
  /** leaderHint is the replica believed to lead, when hasLeaderHint is set. */
  readonly leaderHint: NodeId;
}

/** ClientAnswer is what a replica sends a client: a reply or a redirection. */
export type ClientAnswer = ClientReplyMessage | NotLeaderMessage;

/** ClientWireMessage is every message of the client wire. */
export type ClientWireMessage = ClientRequestMessage | ClientAnswer;

/**
 * clientAnswerOf returns `message` as a client answer when its type is one,
 * else undefined. A protocol's union holds the client wire's own types under
 * these type names (its envelope's oneof fields are core's messages), so the
 * type alone tells a reply or a redirection from a peer message.
 */
export function clientAnswerOf(message: { readonly type: string }): ClientAnswer | undefined {
  return message.type === "clientReply" || message.type === "notLeader" ? (message as ClientAnswer) : undefined;
}
