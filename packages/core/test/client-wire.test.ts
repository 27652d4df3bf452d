// Core's client wire (client-wire.proto, client-wire.ts): the one definition
// of the request, reply and not-leader messages that solo, Raft and
// Multi-Paxos carry in their envelopes.
import { describe, expect, test } from "vitest";
import {
  clientAnswerOf,
  readLevelCode,
  readLevelOfCode,
  readLevels,
  createProtobufCodec,
  soloCodec,
  type ClientWireMessage,
  type NodeId,
  type ProtoDescriptor,
} from "@concord/core";
import { descriptor as clientWireDescriptor } from "../src/client-wire-proto.generated.ts";

/** envelopeDescriptor wraps the client wire in an envelope, as each protocol's .proto does by importing it. */
const envelopeDescriptor = {
  nested: {
    ...(clientWireDescriptor.nested ?? {}),
    test: {
      nested: {
        Envelope: {
          oneofs: { body: { oneof: ["clientRequest", "clientReply", "notLeader"] } },
          fields: {
            clientRequest: { type: "concord.client.ClientRequest", id: 1 },
            clientReply: { type: "concord.client.ClientReply", id: 2 },
            notLeader: { type: "concord.client.NotLeader", id: 3 },
          },
        },
      },
    },
  },
} as ProtoDescriptor;

const codec = createProtobufCodec<ClientWireMessage>(envelopeDescriptor, "test.Envelope");
const hex = (bytes: Uint8Array): string => Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");

const messages: ClientWireMessage[] = [
  { type: "clientRequest", clientId: 1_000_000, session: 2 ** 40 + 3, sequence: 7, command: new Uint8Array([1, 2, 3]), readOnly: true, readLevel: 0 },
  { type: "clientRequest", clientId: 0, session: Number.MAX_SAFE_INTEGER, sequence: Number.MAX_SAFE_INTEGER, command: new Uint8Array(0), readOnly: false, readLevel: 0 },
  { type: "clientReply", session: 2 ** 40 + 3, sequence: 7, result: new Uint8Array([9]) },
  { type: "notLeader", sequence: 7, hasLeaderHint: true, leaderHint: 2 },
  { type: "notLeader", sequence: 8, hasLeaderHint: true, leaderHint: 0 },
  { type: "notLeader", sequence: 9, hasLeaderHint: false, leaderHint: 0 },
  { type: "clientRequest", clientId: 5, session: 1, sequence: 1, command: new Uint8Array(0), readOnly: true, readLevel: 2 },
];

describe("the client wire", () => {
  test("each TypeScript message has exactly the fields of its .proto message: every message round-trips whole", () => {
    for (const message of messages) expect(codec.decode(codec.encode(message))).toEqual(message);
  });

  test("its field numbers are pinned, so the bytes of every protocol's client traffic stay the same", () => {
    // The layout Raft's own messages had before the wire moved to core (issue 11), written out so that a renumbered field fails here.
    const [request, , reply, redirect] = messages as [ClientWireMessage, ClientWireMessage, ClientWireMessage, ClientWireMessage];
    expect(hex(codec.encode(request))).toBe("0a1408c0843d10071a03010203200128838080808020");
    expect(hex(codec.encode(reply))).toBe("120c080712010918838080808020");
    expect(hex(codec.encode(redirect))).toBe("1a06080710011802");
    // solo carries the same messages at the same oneof numbers (1 and 2).
    if (request.type !== "clientRequest" || reply.type !== "clientReply") throw new Error("the samples changed");
    expect(hex(soloCodec.encode(request))).toBe(hex(codec.encode(request)));
    expect(hex(soloCodec.encode(reply))).toBe(hex(codec.encode(reply)));
  });

  test("a read's level travels as a code: 0, the default, is linearizable and adds no bytes; an unknown code is served linearizably", () => {
    expect(readLevels.map((level) => readLevelOfCode(readLevelCode(level)))).toEqual(readLevels);
    expect(readLevelCode("linearizable")).toBe(0);
    expect(readLevelOfCode(7)).toBe("linearizable");
    const base = { type: "clientRequest", clientId: 5, session: 1, sequence: 1, command: new Uint8Array(0), readOnly: true } as const;
    expect(codec.encode({ ...base, readLevel: readLevelCode("stale") }).length).toBe(codec.encode({ ...base, readLevel: 0 }).length + 2);
  });

  test("clientAnswerOf takes a reply or a redirection, and nothing else", () => {
    const answers = messages.filter((message) => message.type !== "clientRequest");
    for (const answer of answers) expect(clientAnswerOf(answer)).toBe(answer);
    expect(clientAnswerOf(messages[0] as ClientWireMessage)).toBeUndefined();
    expect(clientAnswerOf({ type: "appendEntries" })).toBeUndefined();
    expect(clientAnswerOf({ type: "reply" })).toBeUndefined();
  });

  test("a leader hint of replica 0 is told apart from no hint", () => {
    const hinted = codec.decode(codec.encode({ type: "notLeader", sequence: 1, hasLeaderHint: true, leaderHint: 0 as NodeId }));
    const unhinted = codec.decode(codec.encode({ type: "notLeader", sequence: 1, hasLeaderHint: false, leaderHint: 0 as NodeId }));
    expect(hinted).toMatchObject({ hasLeaderHint: true, leaderHint: 0 });
    expect(unhinted).toMatchObject({ hasLeaderHint: false, leaderHint: 0 });
  });
});
