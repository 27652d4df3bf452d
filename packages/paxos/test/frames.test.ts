// Frames at the edge: the codec refuses bytes that are no Paxos message with a clear error, and a replica refuses
// a message it could never have been sent (a client posing as a replica, an impossible ballot, a reply for a
// ballot it never used), counting it by reason and changing nothing.
import { CorruptionError, firstClientId } from "@concord/core";
import { type PaxosMessage, paxosCodec } from "@concord/paxos";
import { paxosRecordCodec } from "@concord/paxos/internals";
import { describe, expect, test } from "vitest";
import { bytes, paxosCluster } from "./kit.ts";

describe("the codec", () => {
  test("every message type survives a round trip", () => {
    const messages: PaxosMessage[] = [
      { type: "prepare", key: "x", ballotRound: 3, ballotNode: 2 },
      { type: "promise", key: "x", ballotRound: 3, ballotNode: 2, hasAccepted: true, acceptedRound: 1, acceptedNode: 1, acceptedValue: bytes("v") },
      { type: "nack", key: "x", ballotRound: 3, ballotNode: 2, promisedRound: 4, promisedNode: 1 },
      { type: "accept", key: "x", ballotRound: 3, ballotNode: 2, value: bytes("v") },
      { type: "accepted", key: "x", ballotRound: 3, ballotNode: 2 },
      { type: "chosen", key: "x", value: bytes("v") },
      { type: "clientRequest", clientId: firstClientId, session: 9, sequence: 1, command: bytes("c"), readOnly: false, readLevel: 0 },
      { type: "clientReply", session: 9, sequence: 1, result: bytes("r") },
    ];
    for (const message of messages) expect(paxosCodec.decode(paxosCodec.encode(message))).toEqual(message);
    expect(paxosRecordCodec.decode(paxosRecordCodec.encode({ type: "acceptance", key: "k", ballotRound: 2, ballotNode: 3, value: bytes("v") }))).toEqual({
      type: "acceptance",
      key: "k",
      ballotRound: 2,
      ballotNode: 3,
      value: bytes("v"),
    });
  });

  test("bytes that are no message are refused with a CorruptionError that says so", () => {
    expect(() => paxosCodec.decode(new Uint8Array([0xff, 0xff, 0xff]))).toThrow(CorruptionError);
    expect(() => paxosCodec.decode(new Uint8Array([0xff, 0xff, 0xff]))).toThrow(/PaxosMessage: undecodable frame/);
    expect(() => paxosCodec.decode(new Uint8Array(0))).toThrow(/carries no known message/);
    // A ballot round past 2^53 - 1 would decode rounded: refused, naming the field.
    const wide = new Uint8Array([0x22, 0x0c, 0x0a, 0x01, 0x78, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x18]);
    expect(() => paxosCodec.decode(wide)).toThrow(CorruptionError);
  });
});

describe("validation", () => {
  const refusals: [string, number, PaxosMessage, string][] = [
    ["a Prepare from a client", firstClientId, { type: "prepare", key: "x", ballotRound: 1, ballotNode: 2 }, "notFromReplica"],
    ["a Prepare from an id outside the cluster", 9, { type: "prepare", key: "x", ballotRound: 1, ballotNode: 9 }, "notFromReplica"],
    ["a Prepare of round 0", 2, { type: "prepare", key: "x", ballotRound: 0, ballotNode: 2 }, "impossibleBallot"],
    ["a Prepare in another node's ballot", 2, { type: "prepare", key: "x", ballotRound: 1, ballotNode: 3 }, "ballotOfAnother"],
    ["an Accept in another node's ballot", 2, { type: "accept", key: "x", ballotRound: 1, ballotNode: 3, value: bytes("v") }, "ballotOfAnother"],
    ["a Promise for another node's ballot", 2, { type: "promise", key: "x", ballotRound: 1, ballotNode: 3, hasAccepted: false, acceptedRound: 0, acceptedNode: 0, acceptedValue: bytes("") }, "ballotOfAnother"],
    ["a Promise for a ballot the receiver never used", 2, { type: "promise", key: "x", ballotRound: 4, ballotNode: 1, hasAccepted: false, acceptedRound: 0, acceptedNode: 0, acceptedValue: bytes("") }, "unaskedReply"],
    ["an Accepted for a ballot the receiver never used", 2, { type: "accepted", key: "x", ballotRound: 4, ballotNode: 1 }, "unaskedReply"],
    ["a Nack that names no higher promise", 2, { type: "nack", key: "x", ballotRound: 4, ballotNode: 1, promisedRound: 3, promisedNode: 2 }, "impossibleBallot"],
    ["a client reply sent to a replica", 2, { type: "clientReply", session: 1, sequence: 1, result: bytes("") }, "replyToReplica"],
    ["a request for another client", firstClientId, { type: "clientRequest", clientId: firstClientId + 1, session: 1, sequence: 1, command: bytes(""), readOnly: false, readLevel: 0 }, "requestNotFromClient"],
    ["a request of sequence 0", firstClientId, { type: "clientRequest", clientId: firstClientId, session: 1, sequence: 0, command: bytes(""), readOnly: false, readLevel: 0 }, "impossibleRequest"],
  ];
  for (const [what, from, message, reason] of refusals) {
    test(`${what} is refused as ${reason}, and changes nothing`, () => {
      const cluster = paxosCluster(3);
      const replica = cluster.replica(1);
      const before = replica.status();
      replica.step(from, message);
      expect(replica.rejections().get(reason as never)).toBe(1);
      expect(replica.ready()).toBeUndefined();
      expect(replica.status()).toEqual(before);
    });
  }

  test("a Promise reporting a value accepted above the ballot it promises is refused", () => {
    const cluster = paxosCluster(3);
    const replica = cluster.replica(1);
    cluster.request(1, { type: "get", key: "x" }, { stepOnly: true });
    cluster.drain(1);
    replica.step(2, { type: "promise", key: "x", ballotRound: 1, ballotNode: 1, hasAccepted: true, acceptedRound: 2, acceptedNode: 3, acceptedValue: bytes("v") });
    expect(replica.rejections().get("impossibleAcceptance")).toBe(1);
  });

  test("an undecodable client command is answered with an invalid result, not a crash", () => {
    const cluster = paxosCluster(3);
    cluster.deliver({ from: firstClientId, to: 1, message: { type: "clientRequest", clientId: firstClientId, session: 1, sequence: 1, command: new Uint8Array([0xff, 0xff]), readOnly: false, readLevel: 0 } });
    expect(cluster.replyTo(firstClientId, 1)?.type).toBe("invalid");
  });
});
