import { describe, expect, test } from "vitest";
import {
  AssertionError,
  LeaderClient,
  readLevelCode,
  type ClientReady,
  type ClientReplyMessage,
  type ClientWireMessage,
  type Completion,
  type NodeId,
  type NotLeaderMessage,
} from "@concord/core";
import { bytes, clientContext, type SessionStart } from "./helpers.ts";

/** TestMessage is a protocol's union: core's client wire and a message among replicas, which the client ignores. */
type TestMessage = ClientWireMessage | { readonly type: "gossip" };

const replicas = [0, 1, 2];
const clientId = 1_000_000;
/** session is the key the harness pins; results without one are taken to name it. */
const session = 77;
const timing = { retryTicks: 5, giveUpTicks: 20 };

/** reply is a replica's answer to `sequence` of the harness's session (or another's). */
function reply(sequence: number, result: Uint8Array, replySession = session): ClientReplyMessage {
  return { type: "clientReply", session: replySession, sequence, result };
}

/** notLeader is a redirection, naming `leaderHint` when it is given. */
function notLeader(sequence: number, leaderHint: NodeId | undefined): NotLeaderMessage {
  return { type: "notLeader", sequence, hasLeaderHint: leaderHint !== undefined, leaderHint: leaderHint ?? 0 };
}

interface Sent {
  to: NodeId;
  sequence: number;
}

/** Harness drives a LeaderClient the way a runtime does: ready, then advance. */
class Harness {
  readonly client: LeaderClient<TestMessage>;

  constructor(seed = 1, clientTiming = timing, start: SessionStart = { session }) {
    this.client = new LeaderClient<TestMessage>(clientContext(clientId, replicas, seed, {}, start), clientTiming);
  }

  drain(): { sent: Sent[]; completions: Completion[] } {
    const ready: ClientReady<TestMessage> | undefined = this.client.ready();
    if (ready === undefined) return { sent: [], completions: [] };
    const sent = ready.messages.map(({ to, message }) => {
      if (message.type !== "clientRequest") throw new Error(`the client sent a ${message.type}`);
      expect(message.clientId).toBe(clientId);
      expect(message.session).toBe(this.client.sessionKey);
      return { to, sequence: message.sequence };
    });
    const completions = [...ready.completions];
    this.client.advance(ready);
    return { sent, completions };
  }

  submit(command = "c"): number {
    const submitted = this.client.submit(bytes(command), { readOnly: false });
    if (submitted.kind !== "accepted") throw new Error("submit rejected");
    return submitted.sequence;
  }

  ticks(count: number): { sent: Sent[]; completions: Completion[] } {
    const sent: Sent[] = [];
    const completions: Completion[] = [];
    for (let i = 0; i < count; i++) {
      this.client.tick();
      const drained = this.drain();
      sent.push(...drained.sent);
      completions.push(...drained.completions);
    }
    return { sent, completions };
  }
}

function firstTarget(harness: Harness): NodeId {
  harness.submit();
  const { sent } = harness.drain();
  expect(sent.length).toBe(1);
  return (sent[0] as Sent).to;
}

describe("LeaderClient", () => {
  test("sends a submitted request, with clientId and sequence 1, to one replica", () => {
    const harness = new Harness();
    const sequence = harness.submit();
    expect(sequence).toBe(1);
    const { sent, completions } = harness.drain();
    expect(sent).toHaveLength(1);
    expect(replicas).toContain(sent[0]?.to);
    expect(sent[0]?.sequence).toBe(1);
    expect(completions).toEqual([]);
    expect(harness.client.outstanding()).toBe(true);
    expect(harness.client.ready()).toBeUndefined();
  });

  test("the first replica it tries depends on its seed", () => {
    const targets = new Set(Array.from({ length: 30 }, (_, seed) => firstTarget(new Harness(seed))));
    expect(targets.size).toBeGreaterThan(1);
  });

  test("after retryTicks without an answer, resends the same request to the next replica", () => {
    const harness = new Harness();
    const first = firstTarget(harness);
    expect(harness.ticks(timing.retryTicks - 1).sent).toEqual([]);
    const retry = harness.ticks(1).sent;
    expect(retry).toEqual([{ to: replicas[(replicas.indexOf(first) + 1) % 3], sequence: 1 }]);
    const again = harness.ticks(timing.retryTicks).sent;
    expect(again).toEqual([{ to: replicas[(replicas.indexOf(first) + 2) % 3], sequence: 1 }]);
  });

  test("follows a notLeader hint at once, and restarts its retry timer", () => {
    const harness = new Harness();
    const first = firstTarget(harness);
    const hint = replicas[(replicas.indexOf(first) + 2) % 3] as NodeId;
    harness.ticks(3);
    harness.client.step(first, notLeader(1, hint));
    expect(harness.drain().sent).toEqual([{ to: hint, sequence: 1 }]);
    expect(harness.ticks(timing.retryTicks - 1).sent).toEqual([]);
    expect(harness.ticks(1).sent).toEqual([{ to: replicas[(replicas.indexOf(hint) + 1) % 3], sequence: 1 }]);
  });

  test("without a usable hint (none, the sender itself, or not a replica), tries the replica after the sender", () => {
    for (const leaderHint of [undefined, "self", 77] as const) {
      const harness = new Harness();
      const first = firstTarget(harness);
      harness.client.step(first, notLeader(1, leaderHint === "self" ? first : leaderHint));
      expect(harness.drain().sent).toEqual([{ to: replicas[(replicas.indexOf(first) + 1) % 3], sequence: 1 }]);
    }
  });

  test("completes with the result, and sends the next request to the replica that answered", () => {
    const harness = new Harness();
    const first = firstTarget(harness);
    const leader = replicas[(replicas.indexOf(first) + 1) % 3] as NodeId;
    harness.client.step(leader, reply(1, bytes("ok")));
    expect(harness.drain().completions).toEqual([{ sequence: 1, outcome: { kind: "ok", result: bytes("ok") } }]);
    expect(harness.client.outstanding()).toBe(false);
    expect(harness.submit()).toBe(2);
    expect(harness.drain().sent).toEqual([{ to: leader, sequence: 2 }]);
  });

  test("gives up after giveUpTicks as indeterminate (it may have executed), however often it was redirected", () => {
    const harness = new Harness();
    let target = firstTarget(harness);
    const completions: Completion[] = [];
    for (let tick = 1; tick <= timing.giveUpTicks; tick++) {
      if (tick % 3 === 0 && harness.client.outstanding()) {
        harness.client.step(target, notLeader(1, undefined));
      }
      const drained = harness.ticks(1);
      completions.push(...drained.completions);
      const last = drained.sent[drained.sent.length - 1];
      if (last !== undefined) target = last.to;
      if (tick < timing.giveUpTicks) expect(completions).toEqual([]);
    }
    expect(completions).toEqual([{ sequence: 1, outcome: { kind: "indeterminate", rejection: { kind: "timedOut", afterTicks: timing.giveUpTicks } } }]);
    expect(harness.client.outstanding()).toBe(false);
    expect(harness.ticks(100)).toEqual({ sent: [], completions: [] });
  });

  test("a late reply to a request it gave up on is ignored", () => {
    const harness = new Harness();
    const first = firstTarget(harness);
    harness.ticks(timing.giveUpTicks);
    harness.client.step(first, reply(1, bytes("late")));
    expect(harness.client.ready()).toBeUndefined();
  });

  test("refuses a second submit while one is outstanding, without using up a sequence number", () => {
    const harness = new Harness();
    const first = firstTarget(harness);
    expect(harness.client.submit(bytes("again"), { readOnly: false })).toEqual({ kind: "rejected", rejection: { kind: "overloaded", limit: 1 } });
    expect(harness.drain()).toEqual({ sent: [], completions: [] });
    harness.client.step(first, reply(1, bytes("1")));
    harness.drain();
    expect(harness.submit()).toBe(2);
  });

  test("ignores replies for other sequences and messages that are not replies", () => {
    const harness = new Harness();
    const first = firstTarget(harness);
    harness.client.step(first, reply(2, bytes("future")));
    harness.client.step(first, reply(0, bytes("past")));
    harness.client.step(first, notLeader(5, 2));
    harness.client.step(first, { type: "gossip" });
    expect(harness.client.ready()).toBeUndefined();
    expect(harness.client.outstanding()).toBe(true);
  });

  test("ignores a reply when nothing is outstanding", () => {
    const harness = new Harness();
    harness.client.step(0, reply(1, bytes("x")));
    expect(harness.client.ready()).toBeUndefined();
  });

  test("carries readOnly and the command bytes in the request", () => {
    const harness = new Harness();
    harness.client.submit(bytes("read"), { readOnly: true });
    const ready = harness.client.ready();
    expect(ready?.messages[0]?.message).toEqual({ type: "clientRequest", clientId, session, sequence: 1, command: bytes("read"), readOnly: true, readLevel: 0 });
  });

  test("carries a read's level in the request, and a write's as linearizable whatever the options say", () => {
    const stale = new Harness();
    stale.client.submit(bytes("read"), { readOnly: true, readLevel: "stale" });
    expect(stale.client.ready()?.messages[0]?.message).toMatchObject({ readOnly: true, readLevel: readLevelCode("stale") });
    const lease = new Harness();
    lease.client.submit(bytes("read"), { readOnly: true, readLevel: "lease" });
    expect(lease.client.ready()?.messages[0]?.message).toMatchObject({ readOnly: true, readLevel: readLevelCode("lease") });
    const write = new Harness();
    write.client.submit(bytes("write"), { readOnly: false, readLevel: "stale" });
    expect(write.client.ready()?.messages[0]?.message).toMatchObject({ readOnly: false, readLevel: 0 });
  });

  test("advance clears only the Ready that ready() returned", () => {
    const harness = new Harness();
    harness.submit();
    const ready = harness.client.ready();
    expect(ready).toBeDefined();
    harness.client.advance({ messages: [], completions: [] }); // not the Ready it returned: nothing is cleared
    expect(harness.client.ready()?.messages).toHaveLength(1);
  });

  test("refuses impossible timing and an empty replica list", () => {
    expect(() => new LeaderClient(clientContext(clientId, replicas), { retryTicks: 0, giveUpTicks: 5 })).toThrow(AssertionError);
    expect(() => new LeaderClient(clientContext(clientId, replicas), { retryTicks: 10, giveUpTicks: 5 })).toThrow(AssertionError);
    expect(() => new LeaderClient(clientContext(clientId, []), timing)).toThrow(AssertionError);
  });
});
