import { createProtobufCodec, type ClientWireMessage, type MessageCodec, type NodeId } from "@concord/core";
import { descriptor } from "./multipaxos-proto.generated.ts";

/** Command is one client request inside a slot's batch, as it travels in Accept messages and log records. */
export interface Command {
  /** clientId is the client the reply goes to. */
  readonly clientId: NodeId;
  /** session is the client object's session key, the session table's key (thesis §6.3). */
  readonly session: number;
  /** sequence is the command's number in its session (exactly-once execution). */
  readonly sequence: number;
  /** command is the encoded state machine command. */
  readonly command: Uint8Array;
  /** readOnly marks a read, which a leader holding a lease may answer without a slot. */
  readonly readOnly: boolean;
}

/**
 * Value is what a slot holds: a batch of client commands, or, when `members`
 * is not empty, a new configuration of acceptors (then `commands` is empty).
 * Both empty is a no-op.
 */
export interface Value {
  /** commands is the batch of client commands, in execution order. */
  readonly commands: readonly Command[];
  /** members is the new acceptor set when the value is a configuration change. */
  readonly members: readonly NodeId[];
}

/** SlotValue is one slot with the ballot it was accepted in and its value. */
export interface SlotValue extends Value {
  /** slot is the log position the value belongs to. */
  readonly slot: number;
  /** ballotRound is the round of the ballot the value was accepted in (0 in Chosen messages). */
  readonly ballotRound: number;
  /** ballotNode is the owner of the ballot the value was accepted in. */
  readonly ballotNode: NodeId;
}

/** Configuration is a set of acceptors and the first slot it governs (PMS §3: the set for slot i is fixed by slot i - α). */
export interface Configuration {
  /** effectiveSlot is the first slot the configuration governs. */
  readonly effectiveSlot: number;
  /** members are the acceptors of the configuration. */
  readonly members: readonly NodeId[];
}

/** BallotFields are the two fields that carry a ballot on the wire, ordered by round then node id. */
export interface BallotFields {
  /** ballotRound is the ballot's round, compared first. */
  readonly ballotRound: number;
  /** ballotNode is the ballot's owner, which breaks ties between rounds. */
  readonly ballotNode: NodeId;
}

/** MultiPaxosPrepare is phase 1a (Paxos Made Simple §2.2) for every slot from `fromSlot` on (§3: one phase 1 for all instances). */
export interface MultiPaxosPrepare extends BallotFields {
  /** type tags the message. */
  readonly type: "prepare";
  /** fromSlot is the first slot phase 1 covers: the proposer's watermark plus one. */
  readonly fromSlot: number;
}

/** MultiPaxosPromise is phase 1b: the acceptor's accepted values from `fromSlot` on, and its compaction point. */
export interface MultiPaxosPromise extends BallotFields {
  /** type tags the message. */
  readonly type: "promise";
  /** fromSlot echoes the Prepare's first slot. */
  readonly fromSlot: number;
  /** compactedSlot: every slot through it is chosen and was folded into the acceptor's snapshot. */
  readonly compactedSlot: number;
  /** accepted lists every value the acceptor accepted from fromSlot on, with its ballot (PMS §2.2). */
  readonly accepted: readonly SlotValue[];
}

/** MultiPaxosNack refuses a Prepare or an Accept and carries the acceptor's higher promised ballot (PMMC: the leader is preempted). */
export interface MultiPaxosNack extends BallotFields {
  /** type tags the message. */
  readonly type: "nack";
}

/** MultiPaxosAccept is phase 2a for one slot; it piggybacks the leader's chosen watermark. */
export interface MultiPaxosAccept extends BallotFields, Value {
  /** type tags the message. */
  readonly type: "accept";
  /** slot is the log position proposed. */
  readonly slot: number;
  /** chosenWatermark is the leader's chosen watermark: every slot through it is chosen. */
  readonly chosenWatermark: number;
  /** leaseTick is the leader's tick when it sent this, echoed back to renew its lease. */
  readonly leaseTick: number;
}

/** MultiPaxosAccepted is phase 2b, sent to the ballot's leader only. */
export interface MultiPaxosAccepted extends BallotFields {
  /** type tags the message. */
  readonly type: "accepted";
  /** slot is the log position accepted. */
  readonly slot: number;
  /** leaseTick echoes the Accept's leaseTick, to renew the leader's lease. */
  readonly leaseTick: number;
}

/** MultiPaxosHeartbeat keeps followers from electing a new leader while phase 2 traffic is idle, and carries the watermark. */
export interface MultiPaxosHeartbeat extends BallotFields {
  /** type tags the message. */
  readonly type: "heartbeat";
  /** chosenWatermark is the leader's chosen watermark. */
  readonly chosenWatermark: number;
  /** leaseTick is the leader's tick when it sent this, echoed back to renew its lease. */
  readonly leaseTick: number;
}

/** MultiPaxosHeartbeatAck renews a leader lease; followers send it only when leases are on. */
export interface MultiPaxosHeartbeatAck extends BallotFields {
  /** type tags the message. */
  readonly type: "heartbeatAck";
  /** leaseTick echoes the Heartbeat's leaseTick. */
  readonly leaseTick: number;
}

/** MultiPaxosCatchupRequest asks a peer for the chosen values from `fromSlot` on (hole recovery). */
export interface MultiPaxosCatchupRequest {
  /** type tags the message. */
  readonly type: "catchupRequest";
  /** fromSlot is the first chosen slot the sender lacks. */
  readonly fromSlot: number;
}

/** MultiPaxosChosen carries chosen values for hole recovery; the ballot fields of its entries are unused. */
export interface MultiPaxosChosen {
  /** type tags the message. */
  readonly type: "chosen";
  /** entries are chosen values in consecutive slots. */
  readonly entries: readonly SlotValue[];
}

/** MultiPaxosSnapshotTransfer carries the replicated state through `slot` to a replica behind the sender's compaction point. */
export interface MultiPaxosSnapshotTransfer {
  /** type tags the message. */
  readonly type: "snapshotTransfer";
  /** slot is the last slot the state includes. */
  readonly slot: number;
  /** state is the replicated state (session table and application state) through slot. */
  readonly state: Uint8Array;
  /** configs are the configurations in force from the slot after `slot` on. */
  readonly configs: readonly Configuration[];
}

/**
 * MultiPaxosMessage is every message Multi-Paxos sends, defined once in
 * `multipaxos.proto`: core's client wire, which the shared LeaderClient
 * speaks, and the messages among replicas.
 */
export type MultiPaxosMessage =
  | ClientWireMessage
  | MultiPaxosPrepare
  | MultiPaxosPromise
  | MultiPaxosNack
  | MultiPaxosAccept
  | MultiPaxosAccepted
  | MultiPaxosHeartbeat
  | MultiPaxosHeartbeatAck
  | MultiPaxosCatchupRequest
  | MultiPaxosChosen
  | MultiPaxosSnapshotTransfer;

/** multiPaxosCodec encodes Multi-Paxos messages with protobufjs. */
export const multiPaxosCodec: MessageCodec<MultiPaxosMessage> = createProtobufCodec<MultiPaxosMessage>(
  descriptor,
  "concord.multipaxos.MultiPaxosMessage",
);

/** PromiseRecord is the durable form of the acceptor's promised ballot. */
export interface PromiseRecord extends BallotFields {
  /** type tags the record. */
  readonly type: "promise";
}

/** AcceptanceRecord is the durable form of one acceptance. */
export interface AcceptanceRecord extends BallotFields, Value {
  /** type tags the record. */
  readonly type: "acceptance";
  /** slot is the log position accepted. */
  readonly slot: number;
}

/** SnapshotRecord is the replicated state through `slot` plus the acceptor state above it. */
export interface SnapshotRecord extends BallotFields {
  /** type tags the record. */
  readonly type: "snapshot";
  /** slot is the last slot the snapshot includes. */
  readonly slot: number;
  /** state is the replicated state through slot. */
  readonly state: Uint8Array;
  /** accepted holds the acceptor's acceptances above slot. */
  readonly accepted: readonly SlotValue[];
  /** configs are the configurations in force from the slot after slot on. */
  readonly configs: readonly Configuration[];
}

/** MultiPaxosRecord is every durable record a Multi-Paxos replica writes. */
export type MultiPaxosRecord = PromiseRecord | AcceptanceRecord | SnapshotRecord;

/** multiPaxosRecordCodec encodes durable records with protobufjs. */
export const multiPaxosRecordCodec: MessageCodec<MultiPaxosRecord> = createProtobufCodec<MultiPaxosRecord>(
  descriptor,
  "concord.multipaxos.MultiPaxosRecord",
);
