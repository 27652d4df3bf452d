import type { InvariantMonitor, InvariantViolation, MonitorEventContext, NodeId, Replica } from "@concord/core";
import { formatBallot } from "./ballot.ts";
import type { PaxosMessage } from "./messages.ts";
import { PaxosReplica } from "./replica.ts";

const violationsMax = 100;

interface Proposal {
  readonly valueKey: string;
  readonly acceptors: Set<NodeId>;
}

/**
 * OneValuePerKeyMonitor is the Paxos safety oracle (Paxos Made Simple §2.1:
 * "only a single value is chosen"), per key. It sees every message sent, so it
 * sees every acceptance: an Accept is its sender's own acceptance (the
 * proposer persisted it in the Ready that sends the Accepts) and an Accepted
 * is its sender's. A value accepted by a majority of the replicas in one
 * ballot is chosen; a second, different value chosen for the key is a
 * violation, and so is a ballot that proposes two values or an Accepted for a
 * ballot that proposed nothing.
 *
 * Acceptances seen in messages can miss one (an acceptor that crashes after
 * its sync and before its Accepted leaves): the monitor may then miss a
 * choice, never invent one, since messages leave only after their records
 * are synced.
 */
export class OneValuePerKeyMonitor implements InvariantMonitor<PaxosMessage> {
  /** name labels the violations this monitor reports. */
  readonly name = "paxos-one-value-per-key";
  private readonly proposals = new Map<string, Proposal>();
  private readonly chosenByKey = new Map<string, string>();
  private readonly proposedByKey = new Map<string, Set<string>>();
  private readonly found: InvariantViolation[] = [];
  /** clusterSize is the number of replicas, read from the first replica seen. */
  private clusterSize: number | undefined;

  /** observeReplica learns the cluster's size, whose majorities choose. */
  observeReplica(replica: Replica<PaxosMessage>): void {
    if (this.clusterSize === undefined && replica instanceof PaxosReplica) this.clusterSize = replica.replicaIds().length;
  }

  /** observeSend counts the acceptances an Accept or Accepted reveals, and reports a second value chosen for a key. */
  observeSend(from: NodeId, _to: NodeId, message: PaxosMessage, context: MonitorEventContext): void {
    if (context.faulty || (message.type !== "accept" && message.type !== "accepted")) return;
    const ballot = formatBallot({ round: message.ballotRound, node: message.ballotNode });
    const id = `${message.key}@${ballot}`;
    let proposal = this.proposals.get(id);
    if (message.type === "accept") {
      const valueKey = binaryKey(message.value);
      if (proposal === undefined) {
        proposal = { valueKey, acceptors: new Set() };
        this.proposals.set(id, proposal);
        this.proposedOf(message.key).add(valueKey);
      } else if (proposal.valueKey !== valueKey) {
        this.report(context, `ballot ${ballot} proposed two values for key ${JSON.stringify(message.key)}`);
        return;
      }
    } else if (proposal === undefined) {
      this.report(context, `${from} accepted key ${JSON.stringify(message.key)} in ballot ${ballot}, which proposed nothing`);
      return;
    }
    proposal.acceptors.add(from);
    if (this.clusterSize === undefined || proposal.acceptors.size < Math.floor(this.clusterSize / 2) + 1) return;
    this.noteChosen(message.key, proposal.valueKey, `in ballot ${ballot}`, context);
  }

  /** violations lists what was found so far (at most 100). */
  violations(): readonly InvariantViolation[] {
    return this.found;
  }

  /** chosenValueKey is the value seen chosen for `key` (as a binary string), if any. */
  chosenValueKey(key: string): string | undefined {
    return this.chosenByKey.get(key);
  }

  /** wasProposed tells whether a correct proposer sent an Accept of this value for the key. */
  wasProposed(key: string, valueKey: string): boolean {
    return this.proposedByKey.get(key)?.has(valueKey) ?? false;
  }

  /** clusterReplicas is the number of replicas, once a replica was seen. */
  clusterReplicas(): number | undefined {
    return this.clusterSize;
  }

  /** noteChosen records a value chosen for a key, and reports a different one chosen before. */
  noteChosen(key: string, valueKey: string, where: string, context: MonitorEventContext): void {
    const chosen = this.chosenByKey.get(key);
    if (chosen === undefined) this.chosenByKey.set(key, valueKey);
    else if (chosen !== valueKey) this.report(context, `two different values chosen for key ${JSON.stringify(key)} (the second ${where})`);
  }

  private proposedOf(key: string): Set<string> {
    let proposed = this.proposedByKey.get(key);
    if (proposed === undefined) {
      proposed = new Set();
      this.proposedByKey.set(key, proposed);
    }
    return proposed;
  }

  private report(context: MonitorEventContext, message: string): void {
    if (this.found.length < violationsMax) this.found.push({ invariant: this.name, timeUs: context.timeUs, message });
  }
}

/**
 * LearnedValueMonitor checks that a learner learns only a chosen value (Paxos
 * Made Simple §2.1: "a process never learns that a value has been chosen
 * unless it actually has been"). After every event of a replica it compares
 * the keys the replica newly learned with the value the acceptances showed
 * chosen. A learner learns only after a proposer counted a majority of
 * acceptances, each of which left in a message the choice monitor saw, so a
 * learned value with no choice seen is a violation, except in a cluster of
 * one, whose proposer's acceptance travels in no message (there it must at
 * least agree with every other learning).
 */
export class LearnedValueMonitor implements InvariantMonitor<PaxosMessage> {
  /** name labels the violations this monitor reports. */
  readonly name = "paxos-learns-only-chosen";
  private readonly found: InvariantViolation[] = [];
  /**
   * compared holds each learning compared (replica id, key, value), as `<id>:<key>:<value>`: a set of what was
   * learned, not a count of comparisons, so that it is the same whatever the order of events and however often a
   * replica is compared again. (It was a count, with a WeakMap of how far each replica object had been compared; the
   * model checker's copy of a world empties a WeakMap, so every fork compared every learned key again and the count
   * grew with the path, splitting states that differ in nothing else: docs/explore.md.) Comparing a key again is
   * harmless: its value was compared with the chosen one, or noted as chosen, the first time.
   */
  private readonly compared = new Set<string>();
  /**
   * comparedThrough is, per replica object, how many of its learned keys were looked at: only a shortcut, so that an
   * event costs the keys newly learned, not every key (a restarted replica is a new object, looked at again). A copy
   * of the monitor that loses it (the model checker's fork) looks at every key again and `compared` skips them.
   */
  private readonly comparedThrough = new WeakMap<PaxosReplica, number>();

  constructor(private readonly choices: OneValuePerKeyMonitor) {}

  /** learnedKeysChecked counts the learned keys compared so far (so that a test can see the check ran). */
  learnedKeysChecked(): number {
    return this.compared.size;
  }

  /** observeReplica compares the keys a replica newly learned with the values seen chosen. */
  observeReplica(replica: Replica<PaxosMessage>, context: MonitorEventContext): void {
    if (context.faulty || !(replica instanceof PaxosReplica)) return;
    this.choices.observeReplica(replica);
    const learned = replica.learnedKeys();
    for (let index = this.comparedThrough.get(replica) ?? 0; index < learned.length; index++) {
      const key = learned[index] as string;
      const value = replica.chosenFor(key);
      if (value === undefined) continue;
      const valueKey = binaryKey(value);
      // A replica (a restarted one included) that learns another value for a key is compared again.
      const learning = `${replica.id}:${JSON.stringify(key)}:${valueKey}`;
      if (this.compared.has(learning)) continue;
      this.compared.add(learning);
      const chosen = this.choices.chosenValueKey(key);
      if (chosen !== undefined && chosen !== valueKey) {
        this.report(context, `replica ${replica.id} learned a value for key ${JSON.stringify(key)} that differs from the one chosen`);
      } else if (chosen === undefined && this.choices.clusterReplicas() !== 1) {
        const proposed = this.choices.wasProposed(key, valueKey);
        this.report(context, `replica ${replica.id} learned a value for key ${JSON.stringify(key)} that no majority accepted${proposed ? "" : " (nor any proposer proposed)"}`);
      } else {
        this.choices.noteChosen(key, valueKey, `learned by replica ${replica.id}`, context);
      }
    }
    this.comparedThrough.set(replica, learned.length);
  }

  /** violations lists what was found so far (at most 100). */
  violations(): readonly InvariantViolation[] {
    return this.found;
  }

  private report(context: MonitorEventContext, message: string): void {
    if (this.found.length < violationsMax) this.found.push({ invariant: this.name, timeUs: context.timeUs, message });
  }
}

/** binaryKey renders bytes as a string of one character per byte, to compare values exactly. */
function binaryKey(bytes: Uint8Array): string {
  let key = "";
  for (let i = 0; i < bytes.length; i += 4096) key += String.fromCharCode(...bytes.subarray(i, i + 4096));
  return key;
}

/** createPaxosMonitors returns fresh safety monitors for one run of single-decree Paxos: one value chosen per key, and learners learn only it. */
export function createPaxosMonitors(): InvariantMonitor<PaxosMessage>[] {
  const choices = new OneValuePerKeyMonitor();
  return [choices, new LearnedValueMonitor(choices)];
}
