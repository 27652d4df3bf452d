import { type NodeId, firstClientId, unreachable } from "@concord/core";
import { type BallotFields, ballotOf, compareBallots, formatBallot } from "./ballot.ts";
import type { PaxosMessage } from "./messages.ts";

/** PaxosRejectionReason names why a replica refused a message unapplied; a fixed set, so that counting stays bounded. */
export type PaxosRejectionReason =
  /** requestNotFromClient: a request from a replica id, or for another client than its sender. */
  | "requestNotFromClient"
  /** impossibleRequest: a sequence or session key out of range. */
  | "impossibleRequest"
  /** notFromReplica: a peer message from an id that is not one of the cluster's replicas. */
  | "notFromReplica"
  /** replyToReplica: a reply or not-leader answer, which only clients receive. */
  | "replyToReplica"
  /** impossibleBallot: a ballot round below 1 or past 2^53 - 1, or owned by an id that is not a replica. */
  | "impossibleBallot"
  /** ballotOfAnother: a Prepare or Accept in another node's ballot, or a Promise, Accepted or Nack for a ballot that is not the receiver's. */
  | "ballotOfAnother"
  /** impossibleAcceptance: a Promise reporting a value accepted in a ballot above the one it promises. */
  | "impossibleAcceptance"
  /** unaskedReply: a Promise or Accepted for a ballot of the receiver's that it never used (checked by the replica). */
  | "unaskedReply";

/** PaxosMessageRejection is why a message is refused: the reason counted, and a detail with the offending values for people. */
export interface PaxosMessageRejection {
  readonly reason: PaxosRejectionReason;
  readonly detail: string;
}

function rejection(reason: PaxosRejectionReason, detail: string): PaxosMessageRejection {
  return { reason, detail };
}

/**
 * validateMessage checks what the types cannot: that a message comes from a
 * sender allowed to send it and carries a possible ballot. It returns why to
 * reject it, or undefined for a message to handle. A rejected message changes
 * nothing; the replica counts it by reason. `replicas` are the cluster's
 * replicas (single-decree Paxos here has a fixed set of acceptors).
 */
export function validateMessage(from: NodeId, message: PaxosMessage, self: NodeId, replicas: ReadonlySet<NodeId>): PaxosMessageRejection | undefined {
  if (message.type === "clientRequest") {
    if (from < firstClientId) return rejection("requestNotFromClient", `request from ${from}, which is not a client`);
    if (message.clientId !== from) return rejection("requestNotFromClient", `request for client ${message.clientId} sent by ${from}`);
    return positiveSafe(message.sequence, "sequence") ?? positiveSafe(message.session, "session key");
  }
  if (!replicas.has(from)) return rejection("notFromReplica", `${message.type} from ${from}, which is not a replica`);
  switch (message.type) {
    case "clientReply":
    case "notLeader":
      return rejection("replyToReplica", `${message.type} sent to a replica`);
    case "prepare":
    case "accept":
      return ballotError(message, replicas) ?? (message.ballotNode === from ? undefined : rejection("ballotOfAnother", `${from} sent a ${message.type} of ${message.ballotNode}'s ballot`));
    case "promise":
      return ballotError(message, replicas) ?? ownBallot(self, message) ?? acceptanceError(message, replicas);
    case "accepted":
      return ballotError(message, replicas) ?? ownBallot(self, message);
    case "nack":
      return (
        ballotError(message, replicas) ??
        ownBallot(self, message) ??
        ballotError({ ballotRound: message.promisedRound, ballotNode: message.promisedNode }, replicas) ??
        // A Nack refuses a ballot below the one promised: anything else is no refusal.
        (compareBallots({ round: message.promisedRound, node: message.promisedNode }, ballotOf(message)) > 0
          ? undefined
          : rejection("impossibleBallot", `nack of ${formatBallot(ballotOf(message))} naming a promise of ${message.promisedRound}.${message.promisedNode}, which is not above it`))
      );
    case "chosen":
      return undefined;
    default:
      return unreachable(message);
  }
}

function positiveSafe(value: number, field: string): PaxosMessageRejection | undefined {
  return Number.isSafeInteger(value) && value >= 1 ? undefined : rejection("impossibleRequest", `impossible ${field} ${value}`);
}

/** ballotError checks a ballot's round, and that its owner is a replica. */
function ballotError(fields: BallotFields, replicas: ReadonlySet<NodeId>): PaxosMessageRejection | undefined {
  if (!Number.isSafeInteger(fields.ballotRound) || fields.ballotRound < 1) return rejection("impossibleBallot", `impossible ballot round ${fields.ballotRound}`);
  if (!replicas.has(fields.ballotNode)) return rejection("impossibleBallot", `ballot of ${fields.ballotNode}, which is not a replica`);
  return undefined;
}

function ownBallot(self: NodeId, fields: BallotFields & { readonly type: string }): PaxosMessageRejection | undefined {
  return fields.ballotNode === self ? undefined : rejection("ballotOfAnother", `${fields.type} for ${fields.ballotNode}'s ballot sent to ${self}`);
}

/** acceptanceError checks the acceptance a Promise reports: a possible ballot, no higher than the one promised (an acceptor accepts only ballots it may promise). */
function acceptanceError(promise: Extract<PaxosMessage, { type: "promise" }>, replicas: ReadonlySet<NodeId>): PaxosMessageRejection | undefined {
  if (!promise.hasAccepted) return undefined;
  const accepted = { ballotRound: promise.acceptedRound, ballotNode: promise.acceptedNode };
  const error = ballotError(accepted, replicas);
  if (error !== undefined) return rejection("impossibleAcceptance", `promise reporting an acceptance in an impossible ballot: ${error.detail}`);
  if (compareBallots(ballotOf(accepted), ballotOf(promise)) > 0) {
    return rejection("impossibleAcceptance", `promise of ${formatBallot(ballotOf(promise))} reporting a value accepted in the higher ballot ${formatBallot(ballotOf(accepted))}`);
  }
  return undefined;
}
