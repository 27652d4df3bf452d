import { createProtobufCodec, type ClientWireMessage, type MessageCodec, type NodeId } from "@concord/core";
import type { BallotFields } from "./ballot.ts";
import { descriptor } from "./paxos-proto.generated.ts";

/** PaxosPrepare is phase 1a (Paxos Made Simple §2.2) for one key: promise this ballot. */
export interface PaxosPrepare extends BallotFields {
  /** type tags the message. */
  readonly type: "prepare";
  /** key names the instance: every key is its own single-decree Paxos. */
  readonly key: string;
}

/** PaxosPromise is phase 1b: the acceptor promised the ballot, and reports what it accepted last (PMS §2.2). */
export interface PaxosPromise extends BallotFields {
  /** type tags the message. */
  readonly type: "promise";
  /** key names the instance. */
  readonly key: string;
  /** hasAccepted tells whether the acceptor accepted a value for the key; the accepted fields are unused when not. */
  readonly hasAccepted: boolean;
  /** acceptedRound is the round of the ballot the value was accepted in. */
  readonly acceptedRound: number;
  /** acceptedNode is the owner of the ballot the value was accepted in. */
  readonly acceptedNode: NodeId;
  /** acceptedValue is the value accepted. */
  readonly acceptedValue: Uint8Array;
}

/** PaxosNack refuses the Prepare or Accept of its ballot, and names the higher ballot the acceptor promised. */
export interface PaxosNack extends BallotFields {
  /** type tags the message. */
  readonly type: "nack";
  /** key names the instance. */
  readonly key: string;
  /** promisedRound is the round of the ballot the acceptor promised. */
  readonly promisedRound: number;
  /** promisedNode is the owner of the ballot the acceptor promised. */
  readonly promisedNode: NodeId;
}

/** PaxosAccept is phase 2a: accept `value` in this ballot. */
export interface PaxosAccept extends BallotFields {
  /** type tags the message. */
  readonly type: "accept";
  /** key names the instance. */
  readonly key: string;
  /** value is the value proposed: the highest-ballot value the promises reported, else a put's own. */
  readonly value: Uint8Array;
}

/** PaxosAccepted is phase 2b, sent to the ballot's proposer only. */
export interface PaxosAccepted extends BallotFields {
  /** type tags the message. */
  readonly type: "accepted";
  /** key names the instance. */
  readonly key: string;
}

/** PaxosChosen tells a learner the value chosen for a key (PMS §2.3). */
export interface PaxosChosen {
  /** type tags the message. */
  readonly type: "chosen";
  /** key names the instance. */
  readonly key: string;
  /** value is the value chosen. */
  readonly value: Uint8Array;
}

/**
 * PaxosMessage is every message single-decree Paxos sends, defined once in
 * `paxos.proto`: core's client wire and the messages among replicas.
 */
export type PaxosMessage = ClientWireMessage | PaxosPrepare | PaxosPromise | PaxosNack | PaxosAccept | PaxosAccepted | PaxosChosen;

/** paxosCodec encodes Paxos messages with protobufjs. */
export const paxosCodec: MessageCodec<PaxosMessage> = createProtobufCodec<PaxosMessage>(descriptor, "concord.paxos.PaxosMessage");

/** PromiseRecord is an acceptor's durable promise for one key (PMS §2.5). */
export interface PromiseRecord extends BallotFields {
  /** type tags the record. */
  readonly type: "promise";
  /** key names the instance. */
  readonly key: string;
}

/** AcceptanceRecord is an acceptor's durable acceptance for one key; it promises its ballot too. */
export interface AcceptanceRecord extends BallotFields {
  /** type tags the record. */
  readonly type: "acceptance";
  /** key names the instance. */
  readonly key: string;
  /** value is the value accepted. */
  readonly value: Uint8Array;
}

/** KeyState is one key's durable state in a snapshot. */
export interface KeyState {
  /** key names the instance. */
  readonly key: string;
  /** promisedRound is the round of the ballot the acceptor promised (0: none). */
  readonly promisedRound: number;
  /** promisedNode is the owner of the ballot the acceptor promised. */
  readonly promisedNode: NodeId;
  /** hasAccepted tells whether the acceptor accepted a value; the accepted fields are unused when not. */
  readonly hasAccepted: boolean;
  /** acceptedRound is the round of the ballot the value was accepted in. */
  readonly acceptedRound: number;
  /** acceptedNode is the owner of the ballot the value was accepted in. */
  readonly acceptedNode: NodeId;
  /** acceptedValue is the value accepted. */
  readonly acceptedValue: Uint8Array;
  /** hasChosen tells whether the replica had learned the key's chosen value. */
  readonly hasChosen: boolean;
  /** chosenValue is the value chosen, when hasChosen. */
  readonly chosenValue: Uint8Array;
}

/** SnapshotRecord is every key's durable state at once; staged as a Ready's snapshot, it replaces every record before it. */
export interface SnapshotRecord {
  /** type tags the record. */
  readonly type: "snapshot";
  /** keys holds the state of every key with any, in the order the replica first met them. */
  readonly keys: readonly KeyState[];
}

/** PaxosRecord is every durable record a Paxos replica writes. */
export type PaxosRecord = PromiseRecord | AcceptanceRecord | SnapshotRecord;

/** paxosRecordCodec encodes durable records with protobufjs. */
export const paxosRecordCodec: MessageCodec<PaxosRecord> = createProtobufCodec<PaxosRecord>(descriptor, "concord.paxos.PaxosRecord");
