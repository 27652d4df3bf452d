import { type ClientWireMessage, type MessageCodec, type NodeId, createProtobufCodec } from "@concord/core";
import { descriptor } from "./leaderless-proto.generated.ts";

/**
 * StampFields are a write's stamp: a hybrid logical clock reading (`wall`, `logical`) and the replica that took the
 * write (`node`), which breaks ties. Stamps are totally ordered (see compareStamps in stamp.ts).
 */
export interface StampFields {
  /** wall is the physical part of the clock reading: the taking replica's clock in ticks, or a later reading it had heard of. */
  readonly wall: number;
  /** logical orders writes within one `wall`. */
  readonly logical: number;
  /** node is the replica that took the write. */
  readonly node: NodeId;
}

/** LeaderlessEntry is one key's latest write as a replica holds it: the value, or a tombstone, and its stamp. */
export interface LeaderlessEntry extends StampFields {
  /** key is the KV key. */
  readonly key: string;
  /** value is the value written (empty for a tombstone). */
  readonly value: Uint8Array;
  /** deleted marks a tombstone: the key was deleted by this write. */
  readonly deleted: boolean;
}

/** LeaderlessStamp is a key's stamp without its value, as digests carry it. */
export interface LeaderlessStamp extends StampFields {
  /** key is the KV key. */
  readonly key: string;
}

/** LeaderlessUpdate pushes the writes a replica took to its peers at once. */
export interface LeaderlessUpdate {
  /** type tags the message. */
  readonly type: "update";
  /** entries are the writes. */
  readonly entries: readonly LeaderlessEntry[];
}

/** LeaderlessDigest opens a round of push-pull anti-entropy: the stamp of every key the sender holds. */
export interface LeaderlessDigest {
  /** type tags the message. */
  readonly type: "digest";
  /** round numbers the sender's anti-entropy rounds, so that an answer can be matched to its round. */
  readonly round: number;
  /** stamps are the sender's keys with their stamps. */
  readonly stamps: readonly LeaderlessStamp[];
}

/** LeaderlessRepair answers a digest with newer entries and asks for the keys the other side holds newer. */
export interface LeaderlessRepair {
  /** type tags the message. */
  readonly type: "repair";
  /** round is the digest's round. */
  readonly round: number;
  /** entries are the entries the sender holds newer than the receiver, or that the receiver lacks. */
  readonly entries: readonly LeaderlessEntry[];
  /** want names the keys the receiver holds newer: it should answer with them (a Repair with no `want`). */
  readonly want: readonly string[];
}

/** QuorumRead asks a replica of `quorum` for the entry it holds of a key (a read, or an `atomic` write's query of the highest stamp). */
export interface QuorumRead {
  /** type tags the message. */
  readonly type: "quorumRead";
  /** op numbers the coordinator's operation, which the reply carries back. */
  readonly op: number;
  /** key is the KV key. */
  readonly key: string;
}

/** QuorumReadReply answers a QuorumRead with the entry held: none, or one. */
export interface QuorumReadReply {
  /** type tags the message. */
  readonly type: "quorumReadReply";
  /** op is the QuorumRead's. */
  readonly op: number;
  /** entries holds the key's entry, or nothing when the replica never saw a write of it. */
  readonly entries: readonly LeaderlessEntry[];
}

/** QuorumWrite asks a replica of `quorum` to keep an entry: a client's write, or an `atomic` read's write-back. */
export interface QuorumWrite {
  /** type tags the message. */
  readonly type: "quorumWrite";
  /** op numbers the coordinator's operation, which the ack carries back. */
  readonly op: number;
  /** entry is the write, stamped by the coordinator. */
  readonly entry: LeaderlessEntry;
}

/** QuorumAck acknowledges a QuorumWrite once its entry, or a newer one of its key, is synced. */
export interface QuorumAck {
  /** type tags the message. */
  readonly type: "quorumAck";
  /** op is the QuorumWrite's. */
  readonly op: number;
}

/** LeaderlessMessage is every message the leaderless stores send: core's client wire, updates, anti-entropy and `quorum`'s reads and writes. */
export type LeaderlessMessage = ClientWireMessage | LeaderlessUpdate | LeaderlessDigest | LeaderlessRepair | QuorumRead | QuorumReadReply | QuorumWrite | QuorumAck;

/** EventualMessage is every message `eventual` sends: core's client wire, pushed updates and anti-entropy. */
export type EventualMessage = ClientWireMessage | LeaderlessUpdate | LeaderlessDigest | LeaderlessRepair;

/** QuorumMessage is every message `quorum` sends: core's client wire, its reads and writes, read repair's updates and anti-entropy. */
export type QuorumMessage = ClientWireMessage | LeaderlessUpdate | LeaderlessDigest | LeaderlessRepair | QuorumRead | QuorumReadReply | QuorumWrite | QuorumAck;

/** leaderlessCodec encodes the leaderless stores' messages with protobufjs. */
export const leaderlessCodec: MessageCodec<LeaderlessMessage> = createProtobufCodec<LeaderlessMessage>(descriptor, "concord.leaderless.LeaderlessMessage");

/** quorumCodec is the codec `quorum` declares: leaderlessCodec itself, since quorum sends every type of the envelope. */
export const quorumCodec: MessageCodec<LeaderlessMessage> = leaderlessCodec;

/** quorumTypeNames are the message types only `quorum` sends. */
const quorumTypeNames: ReadonlySet<string> = new Set(["quorumRead", "quorumReadReply", "quorumWrite", "quorumAck"]);

/**
 * eventualCodec is leaderlessCodec as `eventual` declares it: its `typeNames` leave out `quorum`'s messages, which
 * eventual never sends, so that the chaos scenario's typed link faults draw only among the types it does send.
 */
export const eventualCodec: MessageCodec<LeaderlessMessage> = {
  ...leaderlessCodec,
  typeNames: (leaderlessCodec.typeNames ?? []).filter((name) => !quorumTypeNames.has(name)),
};

/** EntryRecord is a write a replica took, from a client or a peer, persisted before anything that depends on it leaves. */
export interface EntryRecord extends LeaderlessEntry {
  /** type tags the record. */
  readonly type: "entry";
}

/** EntrySnapshotRecord is every entry a replica holds; staged as a Ready's snapshot, it replaces every record before it. */
export interface EntrySnapshotRecord {
  /** type tags the record. */
  readonly type: "snapshot";
  /** entries are every key's latest write. */
  readonly entries: readonly LeaderlessEntry[];
}

/** LeaderlessRecord is every durable record a leaderless replica writes. */
export type LeaderlessRecord = EntryRecord | EntrySnapshotRecord;

/** leaderlessRecordCodec encodes durable records with protobufjs. */
export const leaderlessRecordCodec: MessageCodec<LeaderlessRecord> = createProtobufCodec<LeaderlessRecord>(descriptor, "concord.leaderless.LeaderlessRecord");
