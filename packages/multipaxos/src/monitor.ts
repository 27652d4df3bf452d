import type { InvariantMonitor, InvariantViolation, MonitorEventContext, NodeId, Replica } from "@concord/core";
import { formatBallot } from "./ballot.ts";
import type { Command, MultiPaxosMessage } from "./messages.ts";
import { majoritySize } from "./quorum.ts";
import { MultiPaxosReplica } from "./replica.ts";

interface Proposal {
  readonly valueKey: string;
  readonly acceptors: Set<NodeId>;
  /** members is the acceptor set of the slot, learned from the Accept fan-out. */
  readonly members: Set<NodeId>;
}

const violationsMax = 100;

/**
 * OneValuePerSlotMonitor is the Paxos safety oracle (Paxos Made Simple §2.1:
 * "only a single value is chosen"). It sees every message sent, so it sees
 * every acceptance: an Accept is its sender's own acceptance (the leader
 * persisted it before sending) and an Accepted is its sender's. When a
 * majority of a ballot's acceptors accepted one (slot, ballot) the value is
 * chosen; a second, different value chosen for that slot is a violation. It
 * also flags a proposer that sends two values for one (slot, ballot).
 *
 * The acceptor set of a (slot, ballot) is the proposer's configuration for
 * that slot, read from the proposer (the latest replica object the monitor saw
 * for its id) when its Accept leaves. Learned from the Accept fan-out alone it
 * was too small when a leader crashed part-way through sending the fan-out
 * (the simulator's 'while-sending' crash): three Accepts of five made a
 * quorum of two look like a choice.
 *
 * Acceptances seen in messages can miss one: an acceptor that crashes after
 * syncing its acceptance and before sending the Accepted. So the monitor also
 * watches the learners: after every event of a replica it compares the slots
 * the replica newly knows chosen with what any replica learned or the
 * acceptances showed for them. Once a Byzantine replica has spoken, learners
 * may have been lied to (Multi-Paxos tolerates crashes only), and this second
 * check stops.
 */
export class OneValuePerSlotMonitor implements InvariantMonitor<MultiPaxosMessage> {
  /** name labels the violations this monitor reports. */
  readonly name = "multipaxos-one-value-per-slot";
  private readonly proposals = new Map<string, Proposal>();
  private readonly chosenBySlot = new Map<number, string>();
  /** untrusted holds the (slot, ballot)s a Byzantine proposer sent Accepts for. */
  private readonly untrusted = new Set<string>();
  private readonly found: InvariantViolation[] = [];
  /** learnedThrough is, per replica, the chosen watermark through which its learned values were compared. */
  private readonly learnedThrough = new Map<NodeId, number>();
  private learnedSlotsCompared = 0;
  private byzantineSeen = false;
  /** replicas holds the latest replica object seen for each id, to read a proposer's configuration from. */
  private readonly replicas = new Map<NodeId, MultiPaxosReplica>();

  /** learnedSlotsChecked counts the learned slots compared so far (so that a test can see the check ran). */
  learnedSlotsChecked(): number {
    return this.learnedSlotsCompared;
  }

  /** observeReplica compares the values a correct replica newly learned as chosen with every earlier sighting of those slots. */
  observeReplica(replica: Replica<MultiPaxosMessage>, context: MonitorEventContext): void {
    if (context.faulty) this.byzantineSeen = true;
    if (!(replica instanceof MultiPaxosReplica)) return;
    if (!context.faulty) this.replicas.set(replica.id, replica);
    if (this.byzantineSeen) return;
    const watermark = replica.status().commitIndex;
    const seen = this.learnedThrough.get(replica.id) ?? 0;
    // A restarted replica learns again from its snapshot on: its slots are compared again.
    const from = Math.min(seen, watermark);
    for (let slot = from + 1; slot <= watermark; slot++) {
      const value = replica.chosenValueAt(slot);
      if (value === undefined) continue; // compacted within the same event
      this.learnedSlotsCompared++;
      const valueKey = valueKeyOf(value.commands, value.members);
      const chosen = this.chosenBySlot.get(slot);
      if (chosen === undefined) this.chosenBySlot.set(slot, valueKey);
      else if (chosen !== valueKey) this.report(context, `replica ${replica.id} learned a value for slot ${slot} that differs from the one chosen there`);
    }
    this.learnedThrough.set(replica.id, watermark);
  }

  /** observeSend counts the acceptances an Accept or Accepted reveals, and reports a second value chosen for a slot. */
  observeSend(from: NodeId, to: NodeId, message: MultiPaxosMessage, context: MonitorEventContext): void {
    if (context.faulty) this.byzantineSeen = true;
    // A Byzantine replica's claims prove nothing, and neither does what correct acceptors did with
    // a Byzantine proposer's ballot: the oracle judges the protocol among correct replicas only (the
    // simulator's applied-prefix check and the linearizability checker still see the damage).
    if (message.type !== "accept" && message.type !== "accepted") return;
    const ballot = formatBallot({ round: message.ballotRound, node: message.ballotNode });
    const key = `${message.slot}@${ballot}`;
    if (context.faulty) {
      if (message.type === "accept") this.untrusted.add(key);
      return;
    }
    if (this.untrusted.has(key)) return;
    if (message.type === "accept") {
      const valueKey = valueKeyOf(message.commands, message.members);
      let proposal = this.proposals.get(key);
      if (proposal === undefined) {
        proposal = { valueKey, acceptors: new Set(), members: new Set([from, ...(this.replicas.get(from)?.membersAt(message.slot) ?? [])]) };
        this.proposals.set(key, proposal);
      } else if (proposal.valueKey !== valueKey) {
        this.report(context, `ballot ${ballot} proposed two values for slot ${message.slot}`);
        return;
      }
      proposal.members.add(to);
      this.accept(message.slot, ballot, proposal, from, context);
      return;
    }
    const proposal = this.proposals.get(key);
    if (proposal === undefined) {
      this.report(context, `${from} accepted slot ${message.slot} in ballot ${ballot}, which proposed nothing there`);
      return;
    }
    this.accept(message.slot, ballot, proposal, from, context);
  }

  /** violations lists what was found so far (at most 100). */
  violations(): readonly InvariantViolation[] {
    return this.found;
  }

  private accept(slot: number, ballot: string, proposal: Proposal, acceptor: NodeId, context: MonitorEventContext): void {
    proposal.acceptors.add(acceptor);
    const quorum = majoritySize(proposal.members.size);
    if (proposal.acceptors.size < quorum) return;
    const chosen = this.chosenBySlot.get(slot);
    if (chosen === undefined) this.chosenBySlot.set(slot, proposal.valueKey);
    else if (chosen !== proposal.valueKey) this.report(context, `two different values chosen for slot ${slot} (the second in ballot ${ballot})`);
  }

  private report(context: MonitorEventContext, message: string): void {
    if (this.found.length < violationsMax) this.found.push({ invariant: this.name, timeUs: context.timeUs, message });
  }
}

function valueKeyOf(commands: readonly Command[], members: readonly NodeId[]): string {
  if (members.length > 0) return `config:${members.join(",")}`;
  if (commands.length === 0) return "noop";
  let key = "";
  for (const command of commands) key += `${command.clientId}:${command.session}:${command.sequence}:${hashBytes(command.command)};`;
  return key;
}

function hashBytes(bytes: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ (bytes[i] as number), 0x01000193) >>> 0;
  return hash;
}

/** createMultiPaxosMonitors returns fresh safety monitors for one run of Multi-Paxos: at most one value chosen per slot. */
export function createMultiPaxosMonitors(): InvariantMonitor<MultiPaxosMessage>[] {
  return [new OneValuePerSlotMonitor()];
}
