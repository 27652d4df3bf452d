import { type NodeId, firstClientId, isNodeId, unreachable } from "@concord/core";
import type { VrCommand, VrEntry, VrLogSuffix, VrMessage, VrStartEpoch } from "./messages.ts";

/** epochViewCount is how many views an epoch holds (the replica's epochViews): an epoch's view 0 is a multiple of it. */
const epochViewCount = 2 ** 32;

/** VrRejectionReason names why a replica refused a message unapplied; a fixed set, so that counting stays bounded. */
export type VrRejectionReason =
  /** requestNotFromClient: a request from a replica id, or for another client than its sender. */
  | "requestNotFromClient"
  /** impossibleRequest: a request-number or session key out of range (in a request or a prepared command). */
  | "impossibleRequest"
  /** notFromMember: a peer message from an id that is not a replica of the group. */
  | "notFromMember"
  /** replyToReplica: a reply or not-leader answer, which only clients receive. */
  | "replyToReplica"
  /** notPrimaryOfView: a Prepare, Commit or StartView (or a RecoveryResponse with a log) from a replica that is not the primary of its view (view mod n, §4). */
  | "notPrimaryOfView"
  /** notToPrimary: a PrepareOk or DoViewChange sent to a replica that is not the primary of its view. */
  | "notToPrimary"
  /** impossibleView: a view change to view 0, or a last normal view at or past the view it is reported in. */
  | "impossibleView"
  /** impossibleOp: an op-number below 1, a commit-number past the op-number, or a checkpoint past the commit-number. */
  | "impossibleOp"
  /** impossibleConfig: a group (in a reconfiguration or a StartEpoch) that is empty, out of id order, repeats an id or names a non-replica, or a reconfiguration that carries requests. */
  | "impossibleConfig";

/** VrMessageRejection is why a message is refused: the reason counted, and a detail with the offending values for people. */
export interface VrMessageRejection {
  readonly reason: VrRejectionReason;
  readonly detail: string;
}

function rejection(reason: VrRejectionReason, detail: string): VrMessageRejection {
  return { reason, detail };
}

/**
 * validateMessage checks what the types cannot: that a message comes from a
 * sender allowed to send it, reaches the replica it is for, and carries
 * possible view, op and commit numbers. It returns why to reject it, or
 * undefined for a message to handle. A rejected message changes nothing; the
 * replica counts it by reason. `replicas` is the group in ascending order: the
 * primary of view v is replicas[v mod n] (§4).
 */
export function validateMessage(from: NodeId, message: VrMessage, self: NodeId, replicas: readonly NodeId[]): VrMessageRejection | undefined {
  if (message.type === "clientRequest") {
    if (from < firstClientId) return rejection("requestNotFromClient", `request from ${from}, which is not a client`);
    if (message.clientId !== from) return rejection("requestNotFromClient", `request for client ${message.clientId} sent by ${from}`);
    return requestError(message.sequence, message.session);
  }
  if (!isNodeId(from) || !replicas.includes(from)) return rejection("notFromMember", `${message.type} from ${from}, which is not a replica of the group`);
  const primaryOf = (view: number): NodeId => replicas[view % replicas.length] as NodeId;
  const fromPrimary = (view: number): VrMessageRejection | undefined =>
    from === primaryOf(view) ? undefined : rejection("notPrimaryOfView", `${message.type} of view ${view} from ${from}, whose primary is ${primaryOf(view)}`);
  const toPrimary = (view: number): VrMessageRejection | undefined =>
    self === primaryOf(view) ? undefined : rejection("notToPrimary", `${message.type} of view ${view} sent to ${self}, whose primary is ${primaryOf(view)}`);
  switch (message.type) {
    case "clientReply":
    case "notLeader":
      return rejection("replyToReplica", `${message.type} sent to a replica`);
    case "prepare":
      // The commit-number may be at or past op: a primary sends an op again, with its commit-number of now, to a
      // backup that has not acknowledged it (after a view change, every op from the first one the backup may lack).
      return fromPrimary(message.view) ?? opError(message.op, "op") ?? entryError(message.entry);
    case "prepareOk":
      // op 0: a backup with an empty log acknowledging a Commit, to renew a lease.
      return toPrimary(message.view) ?? (Number.isSafeInteger(message.op) && message.op >= 0 ? undefined : rejection("impossibleOp", `impossible op ${message.op}`));
    case "commit":
      return fromPrimary(message.view);
    case "startViewChange":
      return viewChangeError(message.view);
    case "doViewChange":
      return (
        viewChangeError(message.view) ??
        toPrimary(message.view) ??
        (message.lastNormalView >= message.view ? rejection("impossibleView", `doViewChange for view ${message.view} reporting last normal view ${message.lastNormalView}`) : undefined) ??
        logError(message.log, message.commit)
      );
    case "startView":
      return viewChangeError(message.view) ?? fromPrimary(message.view) ?? logError(message.log, message.commit);
    case "getState":
      return opError(message.fromOp, "fromOp");
    case "newState":
      return opError(message.fromOp, "fromOp") ?? logError(message.log, message.commit);
    case "recovery":
      return undefined;
    case "startEpoch":
      return startEpochError(from, message);
    case "epochStarted":
      return message.view % epochViewCount === 0 && message.view > 0 ? undefined : rejection("impossibleView", `epochStarted for view ${message.view}, which starts no epoch after the first`);
    case "recoveryResponse":
      if (!message.hasLog) return undefined;
      return fromPrimary(message.view) ?? logError(message.log, message.commit);
    default:
      return unreachable(message);
  }
}

/** lastOpOf is the op-number of a log suffix's last entry. */
export function lastOpOf(log: VrLogSuffix): number {
  return log.checkpointOp + log.entries.length;
}

function viewChangeError(view: number): VrMessageRejection | undefined {
  return view % epochViewCount !== 0 ? undefined : rejection("impossibleView", `a view change to view ${view}, an epoch's initial view`);
}

/**
 * startEpochError checks a StartEpoch (§7.1) on its own, since a replica that is not in the new group yet cannot
 * check its sender against it: the sender is in the old or the new group, the view starts an epoch after the first,
 * the op is possible and both groups are sets of replica ids in order.
 */
export function startEpochError(from: NodeId, message: VrStartEpoch): VrMessageRejection | undefined {
  if (message.view === 0 || message.view % epochViewCount !== 0) return rejection("impossibleView", `startEpoch for view ${message.view}, which starts no epoch after the first`);
  return (
    opError(message.op, "op") ??
    configError(message.oldConfig) ??
    configError(message.newConfig) ??
    (message.oldConfig.includes(from) || message.newConfig.includes(from) ? undefined : rejection("notFromMember", `startEpoch from ${from}, in neither group`))
  );
}

function configError(config: readonly NodeId[]): VrMessageRejection | undefined {
  if (config.length === 0) return rejection("impossibleConfig", "an empty group");
  for (let i = 0; i < config.length; i++) {
    const id = config[i] as NodeId;
    if (!isNodeId(id) || id >= firstClientId) return rejection("impossibleConfig", `group [${config.join(",")}] names ${id}, which is not a replica id`);
    if (i > 0 && (config[i - 1] as NodeId) >= id) return rejection("impossibleConfig", `group [${config.join(",")}] is not a set in id order`);
  }
  return undefined;
}

function opError(op: number, field: string): VrMessageRejection | undefined {
  return Number.isSafeInteger(op) && op >= 1 ? undefined : rejection("impossibleOp", `impossible ${field} ${op}`);
}

/** logError checks a log that travels with a commit-number: the commit within the log, the checkpoint within the commit. */
function logError(log: VrLogSuffix, commit: number): VrMessageRejection | undefined {
  const op = lastOpOf(log);
  if (!Number.isSafeInteger(op)) return rejection("impossibleOp", `a log ending at op ${op}`);
  if (commit > op) return rejection("impossibleOp", `commit-number ${commit} past the log's op-number ${op}`);
  if (log.hasState && log.checkpointOp > commit) return rejection("impossibleOp", `checkpoint at op ${log.checkpointOp} past the commit-number ${commit}`);
  for (const entry of log.entries) {
    const error = entryError(entry);
    if (error !== undefined) return error;
  }
  return undefined;
}

function entryError(entry: VrEntry): VrMessageRejection | undefined {
  if (entry.config.length > 0) return entry.commands.length > 0 ? rejection("impossibleConfig", "a reconfiguration carrying requests") : configError(entry.config);
  for (const command of entry.commands) {
    const error = commandError(command);
    if (error !== undefined) return error;
  }
  return undefined;
}

function commandError(command: VrCommand): VrMessageRejection | undefined {
  if (command.clientId < firstClientId) return rejection("impossibleRequest", `command of ${command.clientId}, which is not a client`);
  return requestError(command.sequence, command.session);
}

/** requestError refuses a request-number or session key outside [1, 2^53 - 1]. */
function requestError(sequence: number, session: number): VrMessageRejection | undefined {
  if (!Number.isSafeInteger(sequence) || sequence < 1) return rejection("impossibleRequest", `impossible request-number ${sequence}`);
  if (!Number.isSafeInteger(session) || session < 1) return rejection("impossibleRequest", `impossible session key ${session}`);
  return undefined;
}
