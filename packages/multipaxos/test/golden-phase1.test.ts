// Golden trace, after etcd-io/raft's testdata/*.txt and Raft's golden.test.ts:
// a hand-built schedule's every message, as text, compared with a file under
// test/testdata. A change of behaviour shows up as a readable diff.
// Regenerate on purpose with CONCORD_UPDATE_GOLDEN=1.
//
// The schedule runs the replicas on the test kit (@concord/testkit), which
// delivers what the test lets through and writes every fate to the trace.
import { join } from "node:path";
import { type Crypto, type NodeId, type StateMachine, createRng, firstClientId } from "@concord/core";
import { TestCluster, goldenText, type DeliveryFate, type Envelope as KitEnvelope } from "@concord/testkit";
import { describe, expect, it } from "vitest";
import { type Command, type MultiPaxosMessage, MultiPaxosReplica, type SlotValue, multipaxos } from "../src/index.ts";

type Envelope = KitEnvelope<MultiPaxosMessage>;

const text = new TextEncoder();
const fromText = new TextDecoder();

/** echo is a state machine whose result is the command itself, so that a reply shows which command it answers. */
const echo: StateMachine = {
  apply: (command) => command,
  query: (command) => command,
  snapshot: () => new Uint8Array(),
  restore: () => {},
};

/** noCrypto: Multi-Paxos authenticates nothing, so any call is a bug. */
const noCrypto: Crypto = {
  digest: () => unexpected("digest"),
  mac: () => unexpected("mac"),
  sign: () => unexpected("sign"),
  verify: () => unexpected("verify"),
  macKey: () => unexpected("macKey"),
};

function unexpected(what: string): never {
  throw new Error(`multipaxos called crypto.${what}`);
}

function describeCommands(commands: readonly Command[]): string {
  return commands.length === 0 ? "no-op" : `[${commands.map((command) => fromText.decode(command.command)).join(" ")}]`;
}

function describeSlotValue(value: SlotValue): string {
  return `${value.slot}@${value.ballotRound}.${value.ballotNode}=${describeCommands(value.commands)}`;
}

function describeMessage(message: MultiPaxosMessage): string {
  switch (message.type) {
    case "clientRequest":
      return `request seq=${message.sequence} ${fromText.decode(message.command)}`;
    case "clientReply":
      return `reply seq=${message.sequence} ${fromText.decode(message.result)}`;
    case "notLeader":
      return `notLeader seq=${message.sequence} hint=${message.hasLeaderHint ? message.leaderHint : "none"}`;
    case "prepare":
      return `prepare ballot=${message.ballotRound}.${message.ballotNode} from=${message.fromSlot}`;
    case "promise":
      return `promise ballot=${message.ballotRound}.${message.ballotNode} from=${message.fromSlot} compacted=${message.compactedSlot} accepted=[${message.accepted.map(describeSlotValue).join(" ")}]`;
    case "nack":
      return `nack ballot=${message.ballotRound}.${message.ballotNode}`;
    case "accept":
      return `accept ballot=${message.ballotRound}.${message.ballotNode} slot=${message.slot} ${message.members.length > 0 ? `members=[${message.members.join(",")}]` : describeCommands(message.commands)} watermark=${message.chosenWatermark}`;
    case "accepted":
      return `accepted ballot=${message.ballotRound}.${message.ballotNode} slot=${message.slot}`;
    case "heartbeat":
      return `heartbeat ballot=${message.ballotRound}.${message.ballotNode} watermark=${message.chosenWatermark}`;
    case "heartbeatAck":
      return `heartbeatAck ballot=${message.ballotRound}.${message.ballotNode}`;
    case "catchupRequest":
      return `catchupRequest from=${message.fromSlot}`;
    case "chosen":
      return `chosen [${message.entries.map(describeSlotValue).join(" ")}]`;
    case "snapshotTransfer":
      return `snapshotTransfer slot=${message.slot}`;
  }
}

const client = firstClientId;

function nodeName(id: NodeId): string {
  return id >= firstClientId ? `c${id - firstClientId}` : String(id);
}

/**
 * Schedule runs the replicas on the test kit, each Ready synced at once (no
 * crash here loses a record); messages are delivered one at a time in send
 * order, or dropped by hand, each written to the trace with its fate.
 */
class Schedule {
  readonly cluster: TestCluster<MultiPaxosMessage, MultiPaxosReplica, StateMachine>;
  readonly trace: string[] = [];
  /** keep decides, during one `deliver`, whether a message that reaches the wire arrives. */
  private keep: (envelope: Envelope) => boolean = () => true;

  constructor(ids: readonly NodeId[]) {
    this.cluster = new TestCluster({
      algorithm: multipaxos,
      ids,
      rng: (id) => createRng(100 + id),
      crypto: () => noCrypto,
      stateMachine: () => echo,
      monitors: [],
      createReplica: (context) => new MultiPaxosReplica(context),
    });
    this.cluster.drop = (envelope) => !this.keep(envelope);
    this.cluster.onDelivery = (envelope, fate) => this.noteDelivery(envelope, fate);
  }

  replica(id: NodeId): MultiPaxosReplica {
    return this.cluster.replica(id);
  }

  note(line: string): void {
    this.trace.push(line);
  }

  /** request has client c0 send one write to `to` (sequence numbers from 1, one session). */
  request(to: NodeId, sequence: number, command: string): void {
    this.cluster.step(to, client, { type: "clientRequest", clientId: client, session: 1, sequence, command: text.encode(command), readOnly: false, readLevel: 0 });
    this.cluster.drain(to);
  }

  crash(id: NodeId): void {
    this.cluster.crash(id);
  }

  /** tick ticks `id` `count` times, queueing what it sends. */
  tick(id: NodeId, count: number): void {
    this.cluster.tick(id, count);
  }

  /** tickUntil ticks `id` until it has sent a message of `type`, and says how many ticks that took. */
  tickUntil(id: NodeId, type: MultiPaxosMessage["type"], ticksMax = 100): number {
    for (let ticks = 1; ticks <= ticksMax; ticks++) {
      this.cluster.tick(id);
      if (this.cluster.queue.some((envelope) => envelope.from === id && envelope.message.type === type)) return ticks;
    }
    throw new Error(`${id} sent no ${type} in ${ticksMax} ticks`);
  }

  /**
   * deliver hands over queued messages in send order, and those their
   * handling sends, until none is left; `keep` decides for each whether it
   * arrives (a message to or from a crashed replica never does, nor one to a
   * client, which is only written down).
   */
  deliver(keep: (envelope: Envelope) => boolean = () => true): void {
    this.keep = keep;
    for (let envelope = this.cluster.queue.shift(); envelope !== undefined; envelope = this.cluster.queue.shift()) this.cluster.deliver(envelope);
    this.keep = () => true;
  }

  /** noteDelivery writes a message the cluster tried to deliver to the trace, with its fate. */
  private noteDelivery(envelope: Envelope, fate: DeliveryFate): void {
    const line = `  ${nodeName(envelope.from)} -> ${nodeName(envelope.to)}: ${describeMessage(envelope.message)}`;
    this.note(fate === "lost" ? `${line}  (lost: ${envelope.to} is down)` : fate === "dropped" ? `${line}  (dropped)` : line);
  }

}

function compareWithGolden(name: string, lines: readonly string[]): void {
  const { actual, golden } = goldenText(join(import.meta.dirname, "testdata", `${name}.txt`), lines);
  expect(actual).toBe(golden);
}

describe("golden traces", () => {
  it("phase 1 of a new leader fills a slot no promiser accepted, below one that was accepted, with a no-op (PMS §3)", () => {
    const schedule = new Schedule([0, 1, 2]);
    schedule.note("0 leads ballot 1.0 from its first boot; c0 sends three writes, each proposed in its own slot");
    schedule.request(0, 1, "a");
    schedule.request(0, 2, "b");
    schedule.request(0, 3, "c");
    schedule.note("slot 1 reaches both acceptors and is chosen; slot 2 reaches none; slot 3 reaches 1 only, and its Accepted is lost");
    schedule.deliver((envelope) => {
      const { message } = envelope;
      if (message.type === "accept") return message.slot === 1 || (message.slot === 3 && envelope.to === 1);
      return message.type !== "accepted" || message.slot === 1;
    });
    schedule.crash(0);
    schedule.note("0 crashes; 2 times out and runs phase 1 for every slot above its watermark (0): its quorum {1, 2} accepted slots 1 and 3, none slot 2");
    const ticks = schedule.tickUntil(2, "prepare");
    schedule.note(`(2 timed out after ${ticks} ticks)`);
    schedule.deliver();
    schedule.note("2 idles one heartbeat interval: the watermark tells 1 that slots 1-3 are chosen");
    schedule.tick(2, 3);
    schedule.deliver();

    const leader = schedule.replica(2);
    const chosen = [1, 2, 3].map((slot) => {
      const commands = leader.chosenAt(slot);
      return commands === undefined ? "unknown" : describeCommands(commands);
    });
    schedule.note(`chosen at 2: ${chosen.map((value, i) => `${i + 1}=${value}`).join(" ")}`);
    schedule.note(`2: role=${leader.status().role} noopsProposed=${leader.stats().noopsProposed}; 1: watermark=${schedule.replica(1).status().commitIndex}`);

    // The behaviour the trace shows, asserted on its own too: a no-op in the gap, the accepted values kept.
    expect(chosen).toEqual(["[a]", "no-op", "[c]"]);
    expect(leader.status().role).toBe("leader");
    expect(leader.stats().noopsProposed).toBe(1);
    expect(schedule.replica(1).chosenAt(2)).toEqual([]);
    compareWithGolden("phase1-gap-noop", schedule.trace);
  });
});
