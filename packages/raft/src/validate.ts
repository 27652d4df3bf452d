import { firstClientId, type NodeId } from "@concord/core";
import { entryKind, type Entry, type RaftMessage } from "./messages.ts";

function isCount(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

function isId(value: number): boolean {
  return isCount(value) && value < firstClientId;
}

/** EntryProblem names what is impossible about a log entry in an appendEntries. */
export type EntryProblem =
  | "config entry names an impossible node"
  | "config entry without voters"
  | "entry index does not follow the one before it"
  | "entry of unknown kind"
  | "entry term above the message's term"
  | "entry terms go down"
  | "entry with a negative or fractional field";

/**
 * MessageProblem names why a message is impossible: a fixed set of phrases
 * (entry problems prefixed by the message that carries them), so that counting
 * them stays bounded and a misspelt one does not compile.
 */
export type MessageProblem =
  | "appendEntries with a negative or fractional field"
  | "appendEntries with prevLogTerm above its term"
  | "appendResponse with a negative or fractional field"
  | "client reply sent to a replica"
  | "client request for another client's session"
  | "client request from a replica"
  | "client request with an impossible sequence"
  | "client request with an impossible session key"
  | "heartbeat with a negative or fractional field"
  | "heartbeatResponse with a negative or fractional field"
  | "installSnapshot chunk runs past the snapshot's size"
  | "installSnapshot of a term above its term"
  | "installSnapshot whose done flag disagrees with its length"
  | "installSnapshot with a negative or fractional field"
  | "installSnapshot with an impossible configuration"
  | "peer message from a non-replica id"
  | "peer message with a negative or fractional term"
  | "requestVote with a negative or fractional field"
  | "requestVote with lastLogTerm above its term"
  | "snapshotResponse with a negative or fractional field"
  | "voteResponse with a commit term above its term"
  | "voteResponse with a negative or fractional field"
  | `appendEntries: ${EntryProblem}`;

/** entryProblem explains what is impossible about an entry, or returns undefined. */
function entryProblem(entry: Entry, expectedIndex: number, previousTerm: number, messageTerm: number): EntryProblem | undefined {
  if (!isCount(entry.term) || !isCount(entry.index) || !isCount(entry.sequence) || !isCount(entry.session)) return "entry with a negative or fractional field";
  if (entry.index !== expectedIndex) return "entry index does not follow the one before it";
  if (entry.term < previousTerm) return "entry terms go down";
  if (entry.term > messageTerm) return "entry term above the message's term";
  switch (entry.kind) {
    case entryKind.command:
    case entryKind.noop:
      return undefined;
    case entryKind.config:
      if (entry.voters.length === 0) return "config entry without voters";
      if (![...entry.voters, ...entry.outgoing, ...entry.learners].every(isId)) return "config entry names an impossible node";
      return undefined;
    default:
      return "entry of unknown kind";
  }
}

/**
 * messageProblem names why a message is impossible and must be rejected
 * unapplied (a negative index, entries that do not follow prevLogIndex, a
 * peer message from a client), or returns undefined for a message that may be
 * stepped. Reasons are fixed strings, so that counting them stays bounded.
 */
export function messageProblem(from: NodeId, message: RaftMessage): MessageProblem | undefined {
  const fromClient = from >= firstClientId;
  switch (message.type) {
    case "clientRequest":
      if (!fromClient) return "client request from a replica";
      if (message.clientId !== from) return "client request for another client's session";
      if (!isCount(message.sequence) || message.sequence === 0) return "client request with an impossible sequence";
      if (!isCount(message.session) || message.session === 0) return "client request with an impossible session key";
      return undefined;
    case "clientReply":
    case "notLeader":
      return "client reply sent to a replica";
    default:
      break;
  }
  if (fromClient || !isId(from)) return "peer message from a non-replica id";
  if (!isCount(message.term)) return "peer message with a negative or fractional term";
  switch (message.type) {
    case "appendEntries": {
      if (!isCount(message.prevLogIndex) || !isCount(message.prevLogTerm) || !isCount(message.commit) || !isCount(message.readContext)) {
        return "appendEntries with a negative or fractional field";
      }
      if (message.prevLogTerm > message.term) return "appendEntries with prevLogTerm above its term";
      let previousTerm = message.prevLogTerm;
      for (let k = 0; k < message.entries.length; k++) {
        const entry = message.entries[k] as Entry;
        const problem = entryProblem(entry, message.prevLogIndex + 1 + k, previousTerm, message.term);
        if (problem !== undefined) return `appendEntries: ${problem}`;
        previousTerm = entry.term;
      }
      return undefined;
    }
    case "appendResponse":
      // Checked field by field, not through an array: every acknowledgement passes here.
      if (!isCount(message.index) || !isCount(message.rejectHint) || !isCount(message.logTerm) || !isCount(message.readContext)) {
        return "appendResponse with a negative or fractional field";
      }
      return undefined;
    case "heartbeat":
      if (!isCount(message.commit) || !isCount(message.readContext)) return "heartbeat with a negative or fractional field";
      return undefined;
    case "heartbeatResponse":
      if (!isCount(message.readContext)) return "heartbeatResponse with a negative or fractional field";
      return undefined;
    case "requestVote":
      if (!isCount(message.lastLogIndex) || !isCount(message.lastLogTerm)) return "requestVote with a negative or fractional field";
      if (message.lastLogTerm > message.term) return "requestVote with lastLogTerm above its term";
      return undefined;
    case "voteResponse":
      if (!isCount(message.commit) || !isCount(message.commitTerm)) return "voteResponse with a negative or fractional field";
      if (message.commitTerm > message.term) return "voteResponse with a commit term above its term";
      return undefined;
    case "timeoutNow":
      return undefined;
    case "installSnapshot": {
      const { snapshotIndex, snapshotTerm, offset, totalBytes, data } = message;
      if (![snapshotIndex, snapshotTerm, offset, totalBytes].every(isCount)) return "installSnapshot with a negative or fractional field";
      if (snapshotTerm > message.term) return "installSnapshot of a term above its term";
      if (message.voters.length === 0 || ![...message.voters, ...message.outgoing, ...message.learners].every(isId)) return "installSnapshot with an impossible configuration";
      if (offset + data.length > totalBytes) return "installSnapshot chunk runs past the snapshot's size";
      if (message.done !== (offset + data.length === totalBytes)) return "installSnapshot whose done flag disagrees with its length";
      return undefined;
    }
    case "snapshotResponse":
      if (!isCount(message.snapshotIndex) || !isCount(message.offset)) return "snapshotResponse with a negative or fractional field";
      return undefined;
  }
}
