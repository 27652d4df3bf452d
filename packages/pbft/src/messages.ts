import protobuf from "protobufjs/light.js";
import { CorruptionError, createProtobufCodec, type MessageCodec } from "@concord/core";
import { descriptor } from "./pbft-proto.generated.ts";
import { copyDecoded, decodeCanonical, encodeCanonical, encodeProtoValue, encodeSealed } from "./sealed-bytes.ts";

/** PbftRequest is a client request (PBFT §4.1), authenticated by the client with one MAC per replica. */
export interface PbftRequest {
  readonly type: "request";
  /** clientId is the client's network id, where replies go. */
  readonly clientId: number;
  /** session is the client object's session key (see ClientSession in core), the session table's key. */
  readonly session: number;
  readonly sequence: number;
  readonly command: Uint8Array;
  readonly readOnly: boolean;
  /** readLevel is the code of the level a read-only request asks for (core's readLevelCode): 2, stale, is answered at once. */
  readonly readLevel: number;
  readonly macs: readonly Uint8Array[];
}

/** PbftReply is a replica's answer to one request, authenticated with the MAC shared with that client. */
export interface PbftReply {
  readonly type: "reply";
  readonly view: number;
  readonly clientId: number;
  /** session is the session of the request answered. */
  readonly session: number;
  readonly sequence: number;
  readonly replica: number;
  readonly result: Uint8Array;
  readonly readOnly: boolean;
  readonly mac: Uint8Array;
}

/** PbftPrePrepare is the primary's proposal of a batch (`requests`) at sequence number `seq` in `view` (PBFT §4.2). */
export interface PbftPrePrepare {
  readonly type: "prePrepare";
  readonly view: number;
  readonly seq: number;
  readonly digest: Uint8Array;
  readonly requests: readonly PbftRequest[];
  readonly replica: number;
  readonly macs: readonly Uint8Array[];
  readonly signature: Uint8Array;
}

/** PbftPrepare is a backup's agreement with the pre-prepare of `digest` at (`view`, `seq`). */
export interface PbftPrepare {
  readonly type: "prepare";
  readonly view: number;
  readonly seq: number;
  readonly digest: Uint8Array;
  readonly replica: number;
  readonly macs: readonly Uint8Array[];
  readonly signature: Uint8Array;
}

/** PbftCommit announces that its sender has prepared `digest` at (`view`, `seq`). */
export interface PbftCommit {
  readonly type: "commit";
  readonly view: number;
  readonly seq: number;
  readonly digest: Uint8Array;
  readonly replica: number;
  readonly macs: readonly Uint8Array[];
  readonly signature: Uint8Array;
}

/** PbftCheckpoint announces the digest of the sender's state after executing `seq` (PBFT §4.3). */
export interface PbftCheckpoint {
  readonly type: "checkpoint";
  readonly seq: number;
  readonly stateDigest: Uint8Array;
  readonly replica: number;
  readonly macs: readonly Uint8Array[];
  readonly signature: Uint8Array;
}

/** CheckpointClaim is one checkpoint a view-change sender holds (TOCS §4.4, the set C). */
export interface CheckpointClaim {
  readonly seq: number;
  readonly stateDigest: Uint8Array;
}

/** PreparedClaim is the latest prepared certificate a view-change sender holds for `seq` (the set P), with the batch. */
export interface PreparedClaim {
  readonly seq: number;
  readonly view: number;
  readonly digest: Uint8Array;
  readonly requests: readonly PbftRequest[];
}

/** PrePreparedClaim is a batch the sender pre-prepared (or prepared for) at `seq` in `view` (the set Q). */
export interface PrePreparedClaim {
  readonly seq: number;
  readonly view: number;
  readonly digest: Uint8Array;
}

/** PbftViewChange asks to move to `newView`, carrying the sender's checkpoints and prepared and pre-prepared claims (TOCS §4.4); it is signed. */
export interface PbftViewChange {
  readonly type: "viewChange";
  readonly newView: number;
  readonly replica: number;
  readonly stableSeq: number;
  readonly checkpoints: readonly CheckpointClaim[];
  readonly prepared: readonly PreparedClaim[];
  readonly prePrepared: readonly PrePreparedClaim[];
  readonly signature: Uint8Array;
}

/** NewViewEntry is one re-issued pre-prepare of a NEW-VIEW; an empty batch is the null request. */
export interface NewViewEntry {
  readonly seq: number;
  readonly digest: Uint8Array;
  readonly requests: readonly PbftRequest[];
}

/** PbftNewView starts `view`: the view changes it rests on, the chosen checkpoint and the re-issued pre-prepares (PBFT §4.4); it is signed. */
export interface PbftNewView {
  readonly type: "newView";
  readonly view: number;
  readonly replica: number;
  readonly viewChanges: readonly PbftViewChange[];
  readonly checkpointSeq: number;
  readonly checkpointDigest: Uint8Array;
  readonly entries: readonly NewViewEntry[];
  readonly signature: Uint8Array;
}

/** PbftStatus tells peers where a stuck replica is, so that they retransmit what it misses. */
export interface PbftStatus {
  readonly type: "status";
  readonly view: number;
  readonly active: boolean;
  readonly executedSeq: number;
  readonly stableSeq: number;
  readonly replica: number;
  readonly macs: readonly Uint8Array[];
  readonly signature: Uint8Array;
}

/** PbftFetchState asks for the state of checkpoint (`seq`, `stateDigest`) (state transfer, PBFT §4.3). */
export interface PbftFetchState {
  readonly type: "fetchState";
  readonly seq: number;
  readonly stateDigest: Uint8Array;
  readonly replica: number;
  readonly macs: readonly Uint8Array[];
  readonly signature: Uint8Array;
}

/** PbftStateTransfer carries a checkpoint's whole state; its receiver checks it against a checkpoint certificate. */
export interface PbftStateTransfer {
  readonly type: "stateTransfer";
  readonly seq: number;
  readonly stateDigest: Uint8Array;
  readonly state: Uint8Array;
  readonly replica: number;
  readonly macs: readonly Uint8Array[];
  readonly signature: Uint8Array;
}

/** PbftMessage is every message PBFT sends, defined once in `pbft.proto`. */
export type PbftMessage =
  | PbftRequest
  | PbftReply
  | PbftPrePrepare
  | PbftPrepare
  | PbftCommit
  | PbftCheckpoint
  | PbftViewChange
  | PbftNewView
  | PbftStatus
  | PbftFetchState
  | PbftStateTransfer;

/** PbftReplicaMessage is a message replicas send one another (everything but requests and replies). */
export type PbftReplicaMessage = Exclude<PbftMessage, PbftRequest | PbftReply>;

/** pbftProtobufCodec is protobufjs's codec of PBFT messages alone, which pbftCodec's shortcuts must match byte for byte. */
export const pbftProtobufCodec: MessageCodec<PbftMessage> = createProtobufCodec<PbftMessage>(descriptor, "concord.pbft.PbftMessage");

/**
 * pbftCodec encodes PBFT messages with protobufjs. It also hands the
 * authenticator the bytes each message's seal covers, so that they are not
 * encoded again (issue 18): a canonical frame (exactly what the codec writes,
 * see sealed-bytes.ts) is decoded in one pass that also cuts them from it, and
 * a message sealed by the authenticator is encoded by putting its MACs or
 * signature back between the bytes they cover. Any other frame takes
 * protobufjs's path, and its seal is checked over its re-encoding. The
 * message it decoded last from a canonical frame it can copy, as decoding
 * that frame again would give it, without reading the frame.
 */
export const pbftCodec: MessageCodec<PbftMessage> = {
  typeNames: pbftProtobufCodec.typeNames ?? [],
  typeName: (message) => message.type,
  encode(message: PbftMessage): Uint8Array {
    return encodeSealed(message) ?? encodeCanonical(message, false) ?? pbftProtobufCodec.encode(message);
  },
  decode(bytes: Uint8Array): PbftMessage {
    return decodeCanonical(bytes) ?? pbftProtobufCodec.decode(bytes);
  },
  copy: copyDecoded,
};

const root = protobuf.Root.fromJSON(descriptor);
const batchType = root.lookupType("concord.pbft.Batch");
const recordType = root.lookupType("concord.pbft.DurableRecord");
const imageType = root.lookupType("concord.pbft.DurableImage");
const conversion: protobuf.IConversionOptions = { longs: Number, enums: String, defaults: true, arrays: true, oneofs: true };

/** encodeBatch encodes a batch without the requests' authenticators: the bytes whose SHA-256 is the batch digest. */
export function encodeBatch(requests: readonly PbftRequest[]): Uint8Array {
  const batch = { requests: requests.map((r) => ({ clientId: r.clientId, session: r.session, sequence: r.sequence, command: r.command, readOnly: r.readOnly })) };
  return encodeProtoValue("Batch", batch) ?? batchType.encode(batch).finish();
}

/** SlotRecord is a durable promise about one sequence number: what was pre-prepared, prepared or committed there. */
export interface SlotRecord {
  readonly seq: number;
  readonly view: number;
  readonly digest: Uint8Array;
  readonly requests: readonly PbftRequest[];
}

/** DurableRecord is one record a PBFT replica persists before the messages that depend on it leave. */
export type DurableRecord =
  | { readonly kind: "view"; readonly view: number; readonly active: boolean }
  | { readonly kind: "prePrepared"; readonly slot: SlotRecord }
  | { readonly kind: "prepared"; readonly slot: SlotRecord }
  | { readonly kind: "committed"; readonly slot: SlotRecord }
  /** newViewCheckpoint: the checkpoint a NEW-VIEW started the view from, adopted before its state arrived (the low watermark). */
  | { readonly kind: "newViewCheckpoint"; readonly seq: number; readonly digest: Uint8Array };

/** DurableImage is the snapshot a PBFT replica writes when its stable checkpoint moves. */
export interface DurableImage {
  readonly stableSeq: number;
  readonly stableDigest: Uint8Array;
  readonly stableState: Uint8Array;
  readonly records: readonly DurableRecord[];
}

function recordObject(record: DurableRecord): Record<string, unknown> {
  switch (record.kind) {
    case "view":
      return { view: { view: record.view, active: record.active } };
    case "prePrepared":
      return { prePrepared: record.slot };
    case "prepared":
      return { prepared: record.slot };
    case "committed":
      return { committed: record.slot };
    case "newViewCheckpoint":
      return { newViewCheckpoint: { seq: record.seq, digest: record.digest } };
  }
}

function recordFromObject(object: Record<string, unknown>): DurableRecord {
  const body = object["body"];
  switch (body) {
    case "view": {
      const view = object["view"] as { view: number; active: boolean };
      return { kind: "view", view: view.view, active: view.active };
    }
    case "prePrepared":
    case "prepared":
    case "committed":
      return { kind: body, slot: slotFromObject(object[body] as SlotRecord) };
    case "newViewCheckpoint": {
      const checkpoint = object["newViewCheckpoint"] as { seq: number; digest: Uint8Array };
      return { kind: "newViewCheckpoint", seq: checkpoint.seq, digest: checkpoint.digest };
    }
    default:
      throw new CorruptionError(`pbft durable record: unknown body ${String(body)}`);
  }
}

function slotFromObject(slot: SlotRecord): SlotRecord {
  return { seq: slot.seq, view: slot.view, digest: slot.digest, requests: slot.requests.map((r) => ({ ...r, type: "request" })) };
}

/** encodeDurableRecord encodes one persisted record. */
export function encodeDurableRecord(record: DurableRecord): Uint8Array {
  const object = recordObject(record);
  // Written as protobufjs writes it, without its writer's pooled buffers (issue 18); by protobufjs for values it writes otherwise.
  return encodeProtoValue("DurableRecord", object[record.kind] as object, record.kind) ?? recordType.encode(object).finish();
}

/** decodeDurableRecord decodes one persisted record, throwing a CorruptionError for bytes that are not one. */
export function decodeDurableRecord(bytes: Uint8Array): DurableRecord {
  try {
    return recordFromObject(recordType.toObject(recordType.decode(bytes), conversion));
  } catch (error) {
    if (error instanceof CorruptionError) throw error;
    throw new CorruptionError(`pbft durable record: ${(error as Error).message}`);
  }
}

/** encodeDurableImage encodes a replica's durable snapshot. */
export function encodeDurableImage(image: DurableImage): Uint8Array {
  return imageType
    .encode({ stableSeq: image.stableSeq, stableDigest: image.stableDigest, stableState: image.stableState, records: image.records.map(recordObject) })
    .finish();
}

/** decodeDurableImage decodes a replica's durable snapshot, throwing a CorruptionError for bytes that are not one. */
export function decodeDurableImage(bytes: Uint8Array): DurableImage {
  try {
    const object = imageType.toObject(imageType.decode(bytes), conversion) as {
      stableSeq: number;
      stableDigest: Uint8Array;
      stableState: Uint8Array;
      records: Record<string, unknown>[];
    };
    return { stableSeq: object.stableSeq, stableDigest: object.stableDigest, stableState: object.stableState, records: object.records.map(recordFromObject) };
  } catch (error) {
    if (error instanceof CorruptionError) throw error;
    throw new CorruptionError(`pbft durable image: ${(error as Error).message}`);
  }
}
