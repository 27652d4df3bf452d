// The hand-written wire codec (src/codec.ts, issue 18) against protobufjs's codec of raft.proto: the same bytes
// for every message, the same object (key order, Uint8Array copies) or the same error for every frame.
import { type MessageCodec, createRng } from "@concord/core";
import { describe, expect, it } from "vitest";
import { createRaftCodec } from "../src/codec.ts";
import { type RaftMessage, raftCodec, raftProtobufCodec } from "../src/messages.ts";
import { damaged, outcome, randomMessage, withOddValue } from "./codec-fuzz.ts";

/** counting wraps protobufjs's codec, counting what the hand-written one hands it. */
function counting(): { codec: MessageCodec<RaftMessage>; encodes: number; decodes: number } {
  const counts = {
    encodes: 0,
    decodes: 0,
    codec: {
      typeNames: raftProtobufCodec.typeNames ?? [],
      encode: (message: RaftMessage) => {
        counts.encodes++;
        return raftProtobufCodec.encode(message);
      },
      decode: (bytes: Uint8Array) => {
        counts.decodes++;
        return raftProtobufCodec.decode(bytes);
      },
      typeName: (message: RaftMessage) => message.type,
    },
  };
  return counts;
}

const bytesOf = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("hex");

describe("raft wire codec", () => {
  it("writes protobufjs's bytes and decodes its objects for random messages of every type, without protobufjs", () => {
    const rng = createRng(18);
    const fallback = counting();
    const codec = createRaftCodec(fallback.codec);
    const types = new Set<string>();
    for (let i = 0; i < 4000; i++) {
      const message = randomMessage(rng);
      types.add(message.type);
      const bytes = codec.encode(message);
      expect(bytes.constructor).toBe(Uint8Array);
      const reference = raftProtobufCodec.encode(message);
      expect(bytesOf(bytes)).toBe(bytesOf(reference));
      expect(outcome(() => codec.decode(reference))).toBe(outcome(() => raftProtobufCodec.decode(reference)));
    }
    expect(types.size).toBe(12);
    // Every canonical frame and plain message is the hand-written codec's own work.
    expect([fallback.encodes, fallback.decodes]).toEqual([0, 0]);
  });

  it("leaves odd values to protobufjs: the same bytes, or the same error", () => {
    const rng = createRng(19);
    const fallback = counting();
    const codec = createRaftCodec(fallback.codec);
    for (let i = 0; i < 3000; i++) {
      const message = withOddValue(rng, randomMessage(rng));
      const ours = outcome(() => bytesOf(codec.encode(message)));
      expect(ours).toBe(outcome(() => bytesOf(raftProtobufCodec.encode(message))));
    }
    expect(fallback.encodes).toBeGreaterThan(1500);
  });

  it("decodes damaged and non-canonical frames as protobufjs does, or refuses them with its error", () => {
    const rng = createRng(20);
    const fallback = counting();
    const codec = createRaftCodec(fallback.codec);
    let refused = 0;
    for (let i = 0; i < 6000; i++) {
      const frame = damaged(rng, raftProtobufCodec.encode(randomMessage(rng)));
      const ours = outcome(() => codec.decode(frame));
      expect(ours).toBe(outcome(() => raftProtobufCodec.decode(frame)));
      if (!ours.startsWith("ok ")) {
        expect(ours).toMatch(/^CorruptionError: concord\.raft\.RaftMessage: /);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(1000);
    expect(fallback.decodes).toBeGreaterThan(2000);
    expect(fallback.decodes).toBeLessThan(6000);
  });

  it("refuses a frame whose 64-bit value is beyond 2^53 - 1 with the field's name", () => {
    // appendEntries { term: 2^53 }: key 0x08 and the varint of 2^53.
    const frame = new Uint8Array([0x0a, 0x09, 0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10]);
    expect(() => raftCodec.decode(frame)).toThrow("appendEntries.term is 9007199254740992, beyond the largest safe integer");
  });

  it("joins a packed list written in two parts, as protobufjs does", () => {
    // installSnapshot { term: 1, voters: [1, 2], voters: [3] }: protobufjs appends the second part.
    const frame = new Uint8Array([0x3a, 0x09, 0x08, 0x01, 0x22, 0x02, 0x01, 0x02, 0x22, 0x01, 0x03]);
    expect(raftCodec.decode(frame)).toMatchObject({ type: "installSnapshot", term: 1, voters: [1, 2, 3] });
    expect(outcome(() => raftCodec.decode(frame))).toBe(outcome(() => raftProtobufCodec.decode(frame)));
  });

  it("gives each decoded bytes value its own copy, never a view of the frame", () => {
    const message: RaftMessage = { type: "clientRequest", clientId: 1_000_000, session: 5, sequence: 1, command: new Uint8Array([1, 2, 3]), readOnly: false, readLevel: 0 };
    const frame = raftCodec.encode(message);
    const decoded = raftCodec.decode(frame);
    frame.fill(0);
    expect(decoded).toEqual(message);
  });
});
