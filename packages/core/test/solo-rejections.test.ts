import { describe, expect, test } from "vitest";
import { SoloReplica, createRng, emptyDurableState, firstClientId, type StateMachine } from "@concord/core";

const echo: StateMachine = { apply: (command) => command, query: (command) => command, snapshot: () => new Uint8Array(), restore: () => {} };
const server = 0;
const alice = firstClientId;

function soloReplica(): SoloReplica {
  const crypto = { digest: fail, mac: fail, sign: fail, verify: fail, macKey: fail };
  return new SoloReplica({ id: server, replicas: [server], rng: createRng(1), durable: emptyDurableState, stateMachine: echo, crypto, options: {} });
}

function fail(): never {
  throw new Error("solo uses no crypto");
}

describe("SoloReplica refuses what only a client may receive or send, counted by reason (core's RejectionCounter)", () => {
  test("a reply sent to the replica and a request sent on another client's behalf are counted and change nothing", () => {
    const replica = soloReplica();
    replica.step(alice, { type: "clientReply", session: 1, sequence: 1, result: new Uint8Array() });
    replica.step(alice + 1, { type: "clientRequest", clientId: alice, session: 1, sequence: 1, command: new Uint8Array([1]), readOnly: false, readLevel: 0 });
    expect(replica.ready()).toBeUndefined();
    expect([...replica.rejections().byReason()]).toEqual([
      ["replyToReplica", 1],
      ["requestNotFromClient", 1],
    ]);
    replica.step(alice, { type: "clientRequest", clientId: alice, session: 1, sequence: 1, command: new Uint8Array([1]), readOnly: false, readLevel: 0 });
    expect(replica.ready()?.persist).toHaveLength(1);
    expect(replica.rejections().total()).toBe(2);
  });
});
