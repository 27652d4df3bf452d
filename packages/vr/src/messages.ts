import { createProtobufCodec, type ClientWireMessage, type MessageCodec, type NodeId } from "@concord/core";
import { descriptor } from "./vr-proto.generated.ts";

/** VrCommand is one client request inside an entry's batch, as it travels in Prepares and log records. */
export interface VrCommand {
  /** clientId is the client the reply goes to. */
  readonly clientId: NodeId;
  /** session is the client object's session key, the client table's key (§4; Raft thesis §6.3). */
  readonly session: number;
  /** sequence is the request-number of the command in its session (§4: the client table keeps the latest). */
  readonly sequence: number;
  /** command is the encoded state machine command. */
  readonly command: Uint8Array;
  /** readOnly marks a read. */
  readonly readOnly: boolean;
}

/** VrEntry is one op of the log: a batch of client requests executed in order (§4.1, batching), or a reconfiguration (§7.1). */
export interface VrEntry {
  /** commands is the batch, in execution order (none in a reconfiguration). */
  readonly commands: readonly VrCommand[];
  /** config is, in a reconfiguration, the group of the next epoch in id order: executing it ends the epoch (§7.1); empty otherwise. */
  readonly config: readonly NodeId[];
}

/**
 * VrLogSuffix is a log as it travels in a view change, a recovery or a state
 * transfer: the entries of ops checkpointOp + 1 .. checkpointOp + entries.length,
 * with the application state through checkpointOp when `hasState` (§5.1, §5.2).
 */
export interface VrLogSuffix {
  /** checkpointOp is the op the log starts after: every op through it is committed and folded into a checkpoint. */
  readonly checkpointOp: number;
  /** hasState tells whether `state` carries the checkpoint (the session table and the application state). */
  readonly hasState: boolean;
  /** state is the checkpoint's state when hasState, else empty. */
  readonly state: Uint8Array;
  /** entries are the ops after checkpointOp, in order. */
  readonly entries: readonly VrEntry[];
}

/** VrPrepare is §4.1 step 3: the primary asks the backups to append `op` and tells its commit-number. */
export interface VrPrepare {
  readonly type: "prepare";
  readonly view: number;
  readonly op: number;
  readonly entry: VrEntry;
  readonly commit: number;
  /** leaseTick is the primary's tick when it sent this plus one, echoed in PrepareOk to renew its lease (0 with leases off). */
  readonly leaseTick: number;
}

/** VrPrepareOk is §4.1 step 4: the backup holds every op through `op` in `view`. */
export interface VrPrepareOk {
  readonly type: "prepareOk";
  readonly view: number;
  readonly op: number;
  /** leaseTick echoes the Prepare's or Commit's leaseTick. */
  readonly leaseTick: number;
}

/** VrCommit is §4.1 step 6: the primary's commit-number, sent when no Prepare has gone out for a while. */
export interface VrCommit {
  readonly type: "commit";
  readonly view: number;
  readonly commit: number;
  /** leaseTick is the primary's tick when it sent this plus one (0 with leases off); with leases on, backups answer a Commit with a PrepareOk echoing it. */
  readonly leaseTick: number;
}

/** VrStartViewChange is §4.2 step 1. */
export interface VrStartViewChange {
  readonly type: "startViewChange";
  readonly view: number;
}

/** VrDoViewChange is §4.2 step 2: the sender's log, last normal view and commit-number, sent to the new primary. */
export interface VrDoViewChange {
  readonly type: "doViewChange";
  readonly view: number;
  readonly lastNormalView: number;
  readonly commit: number;
  readonly log: VrLogSuffix;
}

/** VrStartView is §4.2 step 3: the new primary's log and commit-number. */
export interface VrStartView {
  readonly type: "startView";
  readonly view: number;
  readonly commit: number;
  readonly log: VrLogSuffix;
}

/** VrGetState is §5.2: the sender lacks the ops of `view` from `fromOp` on. */
export interface VrGetState {
  readonly type: "getState";
  readonly view: number;
  readonly fromOp: number;
  /** committed: a replica of a new epoch asks any replica for committed ops only, whatever its view (§7.1). */
  readonly committed: boolean;
}

/** VrNewState is §5.2's answer, from a replica normal in `view`; `fromOp` echoes the request. */
export interface VrNewState {
  readonly type: "newState";
  readonly view: number;
  readonly commit: number;
  readonly fromOp: number;
  readonly log: VrLogSuffix;
}

/** VrRecovery is §4.3 step 1: a replica that lost its state asks for it, naming a nonce. */
export interface VrRecovery {
  readonly type: "recovery";
  readonly nonce: number;
  /** view is the view the sender's disk recorded: it names its epoch, and a replica of a later epoch answers with StartEpoch (§7.2). */
  readonly view: number;
}

/**
 * VrStartEpoch is §7.1's STARTEPOCH: the epoch whose first view is `view` started at op-number `op` (its
 * reconfiguration), moving the group from `oldConfig` to `newConfig`. The old group sends it to the new replicas, and
 * any replica sends it to a replica it hears from in an earlier epoch (§7.2).
 */
export interface VrStartEpoch {
  readonly type: "startEpoch";
  readonly view: number;
  readonly op: number;
  readonly oldConfig: readonly NodeId[];
  readonly newConfig: readonly NodeId[];
}

/** VrEpochStarted is §7.1's EPOCHSTARTED: a replica of the new group holds the state through the start of the epoch of `view`. */
export interface VrEpochStarted {
  readonly type: "epochStarted";
  readonly view: number;
}

/**
 * VrRecoveryResponse is §4.3 step 2: every replica in normal status answers
 * with its view and the nonce; only the primary adds its log and commit-number
 * (`hasLog`). A replica that is not in normal status answers too, saying so
 * (`recovering`, `viewChange`): such an answer never counts toward recovery,
 * but it tells the recovering replica that more than f replicas lost their
 * memory at once, when they did.
 */
export interface VrRecoveryResponse {
  readonly type: "recoveryResponse";
  readonly view: number;
  readonly nonce: number;
  readonly hasLog: boolean;
  readonly commit: number;
  readonly log: VrLogSuffix;
  readonly recovering: boolean;
  readonly viewChange: boolean;
}

/** VrMessage is every message VR sends, defined once in `vr.proto`: core's client wire and the messages among replicas. */
export type VrMessage =
  | ClientWireMessage
  | VrPrepare
  | VrPrepareOk
  | VrCommit
  | VrStartViewChange
  | VrDoViewChange
  | VrStartView
  | VrGetState
  | VrNewState
  | VrRecovery
  | VrRecoveryResponse
  | VrStartEpoch
  | VrEpochStarted;

/** vrCodec encodes VR messages with protobufjs. */
export const vrCodec: MessageCodec<VrMessage> = createProtobufCodec<VrMessage>(descriptor, "concord.vr.VrMessage");

/**
 * ViewRecord is the durable view state: the view, the last normal view, and whether a view change is under way; from
 * the first reconfiguration on, the epoch's group, the previous epoch's and the op-number the epoch started at (§7;
 * empty in epoch 0, whose group the runtime gives).
 */
export interface ViewRecord {
  readonly type: "view";
  readonly view: number;
  readonly lastNormalView: number;
  readonly viewChange: boolean;
  readonly config: readonly NodeId[];
  readonly oldConfig: readonly NodeId[];
  readonly epochStartOp: number;
}

/** EntriesRecord says the log from `fromOp` on is `entries`: an append, or a replaced suffix. */
export interface EntriesRecord {
  readonly type: "entries";
  readonly fromOp: number;
  readonly entries: readonly VrEntry[];
}

/** SnapshotRecord is everything at a checkpoint: the view state, the state through checkpointOp and the log above it. */
export interface SnapshotRecord {
  readonly type: "snapshot";
  readonly view: Omit<ViewRecord, "type">;
  readonly checkpointOp: number;
  readonly state: Uint8Array;
  readonly entries: readonly VrEntry[];
}

/** VrRecord is every durable record a VR replica writes. */
export type VrRecord = ViewRecord | EntriesRecord | SnapshotRecord;

/** vrRecordCodec encodes durable records with protobufjs. */
export const vrRecordCodec: MessageCodec<VrRecord> = createProtobufCodec<VrRecord>(descriptor, "concord.vr.VrRecord");
