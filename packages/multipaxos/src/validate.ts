import { type NodeId, firstClientId, isNodeId, unreachable } from "@concord/core";
import type { BallotFields, Command, Configuration, MultiPaxosMessage, SlotValue, Value } from "./messages.ts";

/** MultiPaxosRejectionReason names why a replica refused a message unapplied; a fixed set, so that counting stays bounded. */
export type MultiPaxosRejectionReason =
  /** requestNotFromClient: a request from a replica id, or for another client than its sender. */
  | "requestNotFromClient"
  /** impossibleRequest: a sequence or session key out of range (in a request or a proposed command). */
  | "impossibleRequest"
  /** notFromReplica: a peer message from an id that cannot be a replica. */
  | "notFromReplica"
  /** notFromMember: a peer message (other than catch-up) from a replica of no configuration this one knows. */
  | "notFromMember"
  /** replyToReplica: a reply or not-leader answer, which only clients receive. */
  | "replyToReplica"
  /** impossibleBallot: a ballot round below 1, or owned by a non-member or a non-replica. */
  | "impossibleBallot"
  /** ballotOfAnother: a proposer's message in another node's ballot, or a reply for a ballot that is not the receiver's. */
  | "ballotOfAnother"
  /** impossibleSlot: a slot below 1, outside what the message's own watermark and α allow, or below its fromSlot. */
  | "impossibleSlot"
  /** impossibleValue: a value that is both a batch and a configuration, or a command of a non-client. */
  | "impossibleValue"
  /** impossibleConfiguration: a configuration with no or repeated members, or configurations out of order. */
  | "impossibleConfiguration"
  /** unaskedReply: a reply the receiver's own history rules out, for a ballot it never used or a slot not yet proposed (checked by the replica). */
  | "unaskedReply";

/** MultiPaxosMessageRejection is why a message is refused: the reason counted, and a detail with the offending values for people. */
export interface MultiPaxosMessageRejection {
  readonly reason: MultiPaxosRejectionReason;
  readonly detail: string;
}

function rejection(reason: MultiPaxosRejectionReason, detail: string): MultiPaxosMessageRejection {
  return { reason, detail };
}

/**
 * validateMessage checks what the types cannot: that a message comes from a
 * sender allowed to send it and carries a possible ballot and slot. It returns
 * why to reject it, or undefined for a message to handle. A rejected message
 * changes nothing; the replica counts it by reason.
 *
 * Members are the nodes of every configuration the replica knows; alphaSlots
 * is the cluster's α. Checks that need the replica's own history (a reply for
 * a ballot it never used) are the replica's. Catch-up
 * traffic (CatchupRequest, Chosen, SnapshotTransfer) is accepted from any
 * replica id: chosen values are facts, and a replica that fell behind a
 * reconfiguration must be able to learn the configurations it missed from
 * members it does not know yet.
 */
export function validateMessage(from: NodeId, message: MultiPaxosMessage, self: NodeId, members: ReadonlySet<NodeId>, alphaSlots: number): MultiPaxosMessageRejection | undefined {
  if (message.type === "clientRequest") {
    if (from < firstClientId) return rejection("requestNotFromClient", `request from ${from}, which is not a client`);
    if (message.clientId !== from) return rejection("requestNotFromClient", `request for client ${message.clientId} sent by ${from}`);
    return sequenceError(message.sequence) ?? sessionError(message.session);
  }
  if (!isReplicaId(from)) return rejection("notFromReplica", `${message.type} from ${from}, which is not a replica`);
  const catchup = message.type === "catchupRequest" || message.type === "chosen" || message.type === "snapshotTransfer";
  if (!catchup && !members.has(from)) return rejection("notFromMember", `${message.type} from ${from}, which is not a member`);
  switch (message.type) {
    case "clientReply":
    case "notLeader":
      return rejection("replyToReplica", `${message.type} sent to a replica`);
    case "prepare":
      return ballotError(message, members) ?? senderOwnsBallot(from, message) ?? slotError(message.fromSlot, "fromSlot");
    case "promise":
      return (
        ballotError(message, members) ??
        ownBallot(self, message) ??
        slotError(message.fromSlot, "fromSlot") ??
        valuesError(message.accepted, true) ??
        // Phase 1b reports acceptances from the Prepare's fromSlot on only.
        (message.accepted.some((value) => value.slot < message.fromSlot) ? rejection("impossibleSlot", `promise reporting a slot below its fromSlot ${message.fromSlot}`) : undefined)
      );
    case "nack":
      // The higher ballot may belong to a leader of a configuration this replica has not learned yet.
      return ballotError(message, undefined);
    case "accept":
      return (
        ballotError(message, members) ??
        senderOwnsBallot(from, message) ??
        slotError(message.slot, "slot") ??
        (message.slot <= message.chosenWatermark ? rejection("impossibleSlot", `accept for slot ${message.slot}, at or below its own watermark ${message.chosenWatermark}`) : undefined) ??
        // A leader proposes at most α slots past its watermark (the configuration further out is unknown), and the
        // watermark it sends only grows.
        (message.slot > message.chosenWatermark + alphaSlots ? rejection("impossibleSlot", `accept for slot ${message.slot}, beyond its watermark ${message.chosenWatermark} plus α`) : undefined) ??
        valueError(message)
      );
    case "accepted":
      return ballotError(message, members) ?? ownBallot(self, message) ?? slotError(message.slot, "slot");
    case "heartbeat":
      return ballotError(message, members) ?? senderOwnsBallot(from, message);
    case "heartbeatAck":
      return ballotError(message, members) ?? ownBallot(self, message);
    case "catchupRequest":
      return slotError(message.fromSlot, "fromSlot");
    case "chosen":
      return valuesError(message.entries, false);
    case "snapshotTransfer":
      return slotError(message.slot, "slot") ?? configurationsError(message.configs);
    default:
      return unreachable(message);
  }
}

/** ballotError checks a ballot's round, and that its owner is a member (of `members` when given, else any replica id). */
function ballotError(fields: BallotFields, members: ReadonlySet<NodeId> | undefined): MultiPaxosMessageRejection | undefined {
  if (!Number.isSafeInteger(fields.ballotRound) || fields.ballotRound < 1) return rejection("impossibleBallot", `impossible ballot round ${fields.ballotRound}`);
  if (members !== undefined && !members.has(fields.ballotNode)) return rejection("impossibleBallot", `ballot of ${fields.ballotNode}, which is not a member`);
  if (members === undefined && !isReplicaId(fields.ballotNode)) return rejection("impossibleBallot", `ballot of ${fields.ballotNode}, which is not a replica`);
  return undefined;
}

function isReplicaId(id: NodeId): boolean {
  return isNodeId(id) && id < firstClientId;
}

function senderOwnsBallot(from: NodeId, fields: BallotFields): MultiPaxosMessageRejection | undefined {
  return fields.ballotNode === from ? undefined : rejection("ballotOfAnother", `${from} sent a message of ${fields.ballotNode}'s ballot`);
}

function ownBallot(self: NodeId, fields: BallotFields): MultiPaxosMessageRejection | undefined {
  return fields.ballotNode === self ? undefined : rejection("ballotOfAnother", `reply for ${fields.ballotNode}'s ballot sent to ${self}`);
}

function slotError(slot: number, field: string): MultiPaxosMessageRejection | undefined {
  return Number.isSafeInteger(slot) && slot >= 1 ? undefined : rejection("impossibleSlot", `impossible ${field} ${slot}`);
}

function sequenceError(sequence: number): MultiPaxosMessageRejection | undefined {
  return Number.isSafeInteger(sequence) && sequence >= 1 ? undefined : rejection("impossibleRequest", `impossible sequence ${sequence}`);
}

/** sessionError refuses a session key outside [1, 2^53 - 1] (a wider uint64 decodes to an inexact number). */
function sessionError(session: number): MultiPaxosMessageRejection | undefined {
  return Number.isSafeInteger(session) && session >= 1 ? undefined : rejection("impossibleRequest", `impossible session key ${session}`);
}

function commandsError(commands: readonly Command[]): MultiPaxosMessageRejection | undefined {
  for (const command of commands) {
    if (command.clientId < firstClientId) return rejection("impossibleValue", `command of ${command.clientId}, which is not a client`);
    const error = sequenceError(command.sequence) ?? sessionError(command.session);
    if (error !== undefined) return error;
  }
  return undefined;
}

/** valuesError checks reported slot values; their ballots may belong to leaders of configurations this replica has not learned. */
function valuesError(values: readonly SlotValue[], withBallots: boolean): MultiPaxosMessageRejection | undefined {
  for (const value of values) {
    const error = slotError(value.slot, "slot") ?? (withBallots ? ballotError(value, undefined) : undefined) ?? valueError(value);
    if (error !== undefined) return error;
  }
  return undefined;
}

function valueError(value: Value): MultiPaxosMessageRejection | undefined {
  if (value.members.length > 0 && value.commands.length > 0) return rejection("impossibleValue", "a value that is both a batch and a configuration");
  return membersError(value.members, true) ?? commandsError(value.commands);
}

function membersError(members: readonly NodeId[], mayBeEmpty: boolean): MultiPaxosMessageRejection | undefined {
  if (members.length === 0) return mayBeEmpty ? undefined : rejection("impossibleConfiguration", "a configuration with no members");
  if (new Set(members).size !== members.length) return rejection("impossibleConfiguration", "a configuration with a member twice");
  for (const member of members) if (!isReplicaId(member)) return rejection("impossibleConfiguration", `configuration member ${member} is not a replica id`);
  return undefined;
}

function configurationsError(configs: readonly Configuration[]): MultiPaxosMessageRejection | undefined {
  if (configs.length === 0) return rejection("impossibleConfiguration", "a snapshot without a configuration");
  let previous = 0;
  for (const config of configs) {
    if (!Number.isSafeInteger(config.effectiveSlot) || config.effectiveSlot <= previous) return rejection("impossibleConfiguration", `configuration effective at ${config.effectiveSlot} out of order`);
    previous = config.effectiveSlot;
    const error = membersError(config.members, false);
    if (error !== undefined) return error;
  }
  return undefined;
}
