import { createProtobufCodec, type MessageCodec, type NodeId } from "@concord/core";
import { descriptor } from "./multipaxos-proto.generated.ts";

/** Command is one client request inside a slot's batch, as it travels in Accept messages and log records. */
export interface Command {
  readonly clientId: NodeId;
  readonly sequence: number;
  readonly command: Uint8Array;
  readonly readOnly: boolean;
}

/**
 * Value is what a slot holds: a batch of client commands, or, when `members`
 * is not empty, a new configuration of acceptors (then `commands` is empty).
 * Both empty is a no-op.
 */
export interface Value {
  readonly commands: readonly Command[];
  readonly members: readonly NodeId[];
}

/** SlotValue is one slot with the ballot it was accepted in and its value. */
export interface SlotValue extends Value {
  readonly slot: number;
  readonly ballotRound: number;
  readonly ballotNode: NodeId;
}

/** Configuration is a set of acceptors and the first slot it governs (PMS §3: the set for slot i is fixed by slot i - α). */
export interface Configuration {
  readonly effectiveSlot: number;
  readonly members: readonly NodeId[];
}

/** BallotFields are the two fields that carry a ballot on the wire, ordered by round then node id. */
export interface BallotFields {
  readonly ballotRound: number;
  readonly ballotNode: NodeId;
}

/** MultiPaxosRequest is a client request (the shared LeaderClient's request). */
export interface MultiPaxosRequest {
  readonly type: "request";
  readonly clientId: NodeId;
  readonly sequence: number;
  readonly command: Uint8Array;
  readonly readOnly: boolean;
}

/** MultiPaxosReply is the leader's answer to the request with `sequence`. */
export interface MultiPaxosReply {
  readonly type: "reply";
  readonly sequence: number;
  readonly result: Uint8Array;
}

/** NotLeaderReply redirects a client to the replica it believes leads, if it knows one. */
export interface NotLeaderReply {
  readonly type: "notLeader";
  readonly sequence: number;
  readonly leaderHint: NodeId;
  readonly hasLeaderHint: boolean;
}

/** PrepareMessage is phase 1a (Paxos Made Simple §2.2) for every slot from `fromSlot` on (§3: one phase 1 for all instances). */
export interface PrepareMessage extends BallotFields {
  readonly type: "prepare";
  readonly fromSlot: number;
}

/** PromiseMessage is phase 1b: the acceptor's accepted values from `fromSlot` on, and its compaction point. */
export interface PromiseMessage extends BallotFields {
  readonly type: "promise";
  readonly fromSlot: number;
  /** compactedSlot: every slot through it is chosen and was folded into the acceptor's snapshot. */
  readonly compactedSlot: number;
  readonly accepted: readonly SlotValue[];
}

/** NackMessage refuses a Prepare or an Accept and carries the acceptor's higher promised ballot (PMMC: the leader is preempted). */
export interface NackMessage extends BallotFields {
  readonly type: "nack";
}

/** AcceptMessage is phase 2a for one slot; it piggybacks the leader's chosen watermark. */
export interface AcceptMessage extends BallotFields, Value {
  readonly type: "accept";
  readonly slot: number;
  readonly chosenWatermark: number;
  /** leaseTick is the leader's tick when it sent this, echoed back to renew its lease. */
  readonly leaseTick: number;
}

/** AcceptedMessage is phase 2b, sent to the ballot's leader only. */
export interface AcceptedMessage extends BallotFields {
  readonly type: "accepted";
  readonly slot: number;
  readonly leaseTick: number;
}

/** HeartbeatMessage keeps followers from electing a new leader while phase 2 traffic is idle, and carries the watermark. */
export interface HeartbeatMessage extends BallotFields {
  readonly type: "heartbeat";
  readonly chosenWatermark: number;
  readonly leaseTick: number;
}

/** HeartbeatAckMessage renews a leader lease; followers send it only when leases are on. */
export interface HeartbeatAckMessage extends BallotFields {
  readonly type: "heartbeatAck";
  readonly leaseTick: number;
}

/** CatchupRequestMessage asks a peer for the chosen values from `fromSlot` on (hole recovery). */
export interface CatchupRequestMessage {
  readonly type: "catchupRequest";
  readonly fromSlot: number;
}

/** ChosenMessage carries chosen values for hole recovery; the ballot fields of its entries are unused. */
export interface ChosenMessage {
  readonly type: "chosen";
  readonly entries: readonly SlotValue[];
}

/** SnapshotTransferMessage carries the replicated state through `slot` to a replica behind the sender's compaction point. */
export interface SnapshotTransferMessage {
  readonly type: "snapshotTransfer";
  readonly slot: number;
  readonly state: Uint8Array;
  /** configs are the configurations in force from the slot after `slot` on. */
  readonly configs: readonly Configuration[];
}

/** MultiPaxosMessage is every message Multi-Paxos sends, defined once in `multipaxos.proto`. */
export type MultiPaxosMessage =
  | MultiPaxosRequest
  | MultiPaxosReply
  | NotLeaderReply
  | PrepareMessage
  | PromiseMessage
  | NackMessage
  | AcceptMessage
  | AcceptedMessage
  | HeartbeatMessage
  | HeartbeatAckMessage
  | CatchupRequestMessage
  | ChosenMessage
  | SnapshotTransferMessage;

/** multiPaxosCodec encodes Multi-Paxos messages with protobufjs. */
export const multiPaxosCodec: MessageCodec<MultiPaxosMessage> = createProtobufCodec<MultiPaxosMessage>(
  descriptor,
  "concord.multipaxos.MultiPaxosMessage",
);

/** PromiseRecord is the durable form of the acceptor's promised ballot. */
export interface PromiseRecord extends BallotFields {
  readonly type: "promise";
}

/** AcceptanceRecord is the durable form of one acceptance. */
export interface AcceptanceRecord extends BallotFields, Value {
  readonly type: "acceptance";
  readonly slot: number;
}

/** SnapshotRecord is the replicated state through `slot` plus the acceptor state above it. */
export interface SnapshotRecord extends BallotFields {
  readonly type: "snapshot";
  readonly slot: number;
  readonly state: Uint8Array;
  readonly accepted: readonly SlotValue[];
  readonly configs: readonly Configuration[];
}

/** MultiPaxosRecord is every durable record a Multi-Paxos replica writes. */
export type MultiPaxosRecord = PromiseRecord | AcceptanceRecord | SnapshotRecord;

/** multiPaxosRecordCodec encodes durable records with protobufjs. */
export const multiPaxosRecordCodec: MessageCodec<MultiPaxosRecord> = createProtobufCodec<MultiPaxosRecord>(
  descriptor,
  "concord.multipaxos.MultiPaxosRecord",
);
