// The transport's hand-written wire codec against protobufjs and the
// descriptor generated from envelope.proto, both ways, and the frame reader's
// splitting and limits.
import { describe, expect, test } from "vitest";
import protobuf from "protobufjs/light.js";
import { descriptor } from "../src/envelope-proto.generated.ts";
import { decodeFrame, encodeEnvelopes, encodeHello, FrameDecodeError, FrameReader, protocolName, type OutgoingEnvelope } from "../src/transport-codec.ts";

const root = protobuf.Root.fromJSON(descriptor);
const Frame = root.lookupType("concord.net.Frame");

/** A small deterministic generator (no test here needs more than a varied sample). */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state;
  };
}

function sampleEnvelopes(count: number, seed: number): OutgoingEnvelope[] {
  const next = generator(seed);
  const ids = [0, 1, 127, 128, 999_999, 1_000_000, 2 ** 31, 0xffffffff];
  return Array.from({ length: count }, () => {
    const length = [0, 1, 127, 128, 300, 20_000][next() % 6]!;
    const payload = new Uint8Array(length);
    for (let i = 0; i < length; i++) payload[i] = next() & 0xff;
    return { from: ids[next() % ids.length]!, to: ids[next() % ids.length]!, payload };
  });
}

/** splitDelimited reads protobufjs' length-delimited frames. */
function decodeAllWithProtobufjs(bytes: Uint8Array): Record<string, unknown>[] {
  const reader = protobuf.Reader.create(bytes);
  const frames: Record<string, unknown>[] = [];
  while (reader.pos < reader.len) frames.push(Frame.toObject(Frame.decodeDelimited(reader), { longs: Number, defaults: true, oneofs: true }));
  return frames;
}

describe("the envelope codec", () => {
  test("what it encodes, protobufjs decodes to the same envelopes", () => {
    const envelopes = sampleEnvelopes(200, 7);
    const decoded = decodeAllWithProtobufjs(encodeEnvelopes(envelopes, protocolName("multipaxos").utf8));
    expect(decoded).toHaveLength(envelopes.length);
    decoded.forEach((frame, i) => {
      const envelope = frame["envelope"] as { from: number; to: number; protocol: string; payload: Uint8Array };
      expect(frame["body"]).toBe("envelope");
      expect(envelope.from).toBe(envelopes[i]!.from);
      expect(envelope.to).toBe(envelopes[i]!.to);
      expect(envelope.protocol).toBe("multipaxos");
      expect(Buffer.from(envelope.payload).equals(Buffer.from(envelopes[i]!.payload))).toBe(true);
    });
  });

  test("what protobufjs encodes (zeros written out, unknown fields), it decodes", () => {
    const known = protocolName("raft");
    for (const envelope of sampleEnvelopes(100, 11)) {
      for (const protocol of ["raft", "pbft", "ünïcode"]) {
        const bytes = Frame.encode(Frame.fromObject({ envelope: { ...envelope, protocol } })).finish();
        const frame = decodeFrame(bytes, known);
        expect(frame).toEqual({ kind: "envelope", from: envelope.from, to: envelope.to, protocol, payload: expect.any(Uint8Array) });
        if (frame.kind === "envelope") expect(Buffer.from(frame.payload).equals(Buffer.from(envelope.payload))).toBe(true);
      }
    }
    const hello = { version: 1, protocol: "raft", nodeId: 42, client: true };
    const helloBytes = Frame.encode(Frame.fromObject({ hello })).finish();
    // An unknown field (number 15, varint) after the oneof must be skipped.
    const withUnknown = new Uint8Array([...helloBytes, (15 << 3) | 0, 0x96, 0x01]);
    expect(decodeFrame(withUnknown, known)).toEqual({ kind: "hello", ...hello });
    const ours = encodeHello(hello);
    // encodeHello's output is length-prefixed: protobufjs reads it delimited.
    expect(decodeAllWithProtobufjs(ours)[0]!["hello"]).toEqual(hello);
  });

  test("unknown fields inside a hello or an envelope are skipped, whatever their wire type", () => {
    const known = protocolName("raft");
    // Field 9 varint 300, field 10 bytes "xy", field 11 fixed32, field 12 fixed64: a later version's additions.
    const unknown = [(9 << 3) | 0, 0xac, 0x02, (10 << 3) | 2, 2, 0x78, 0x79, (11 << 3) | 5, 1, 2, 3, 4, (12 << 3) | 1, 1, 2, 3, 4, 5, 6, 7, 8];
    const Hello = root.lookupType("concord.net.Hello");
    const Envelope = root.lookupType("concord.net.Envelope");
    const hello = { version: 1, protocol: "raft", nodeId: 3, client: false };
    const envelope = { from: 1_000_001, to: 2, protocol: "raft", payload: new Uint8Array([9, 8, 7]) };
    const wrap = (field: number, body: Uint8Array): Uint8Array => {
      // Unknown fields first and last, around the known ones.
      const inner = [...unknown, ...body, ...unknown];
      return new Uint8Array([(field << 3) | 2, ...protobuf.Writer.create().uint32(inner.length).finish(), ...inner]);
    };
    expect(decodeFrame(wrap(1, Hello.encode(Hello.fromObject(hello)).finish()), known)).toEqual({ kind: "hello", ...hello });
    const decoded = decodeFrame(wrap(2, Envelope.encode(Envelope.fromObject(envelope)).finish()), known);
    expect(decoded).toEqual({ kind: "envelope", from: envelope.from, to: 2, protocol: "raft", payload: expect.any(Uint8Array) });
    if (decoded.kind === "envelope") expect([...decoded.payload]).toEqual([9, 8, 7]);
  });

  test("malformed frames throw a FrameDecodeError naming the problem", () => {
    const known = protocolName("raft");
    expect(() => decodeFrame(new Uint8Array([0xff, 0xff, 0xff]), known)).toThrow(FrameDecodeError);
    expect(() => decodeFrame(new Uint8Array([(2 << 3) | 2, 10, 1]), known)).toThrow(/overruns/);
    expect(() => decodeFrame(new Uint8Array([(1 << 3) | 0, 1]), known)).toThrow(/wire type/);
    expect(() => decodeFrame(new Uint8Array([(9 << 3) | 0, 1]), known)).toThrow(/neither a hello nor an envelope/);
    expect(() => decodeFrame(new Uint8Array([0, 1]), known)).toThrow(/field number 0/);
    expect(() => decodeFrame(new Uint8Array([(2 << 3) | 2, 3, (3 << 3) | 2, 1, 0xff]), known)).toThrow(/not UTF-8/);
  });
});

describe("the frame reader", () => {
  test("reassembles frames split anywhere, byte by byte too, in order", () => {
    const envelopes = sampleEnvelopes(50, 3);
    const stream = Buffer.from(encodeEnvelopes(envelopes, protocolName("raft").utf8));
    const known = protocolName("raft");
    for (const chunkBytes of [1, 7, 1_000, stream.length]) {
      const reader = new FrameReader(1 << 20);
      const seen: Uint8Array[] = [];
      const errors = [];
      for (let at = 0; at < stream.length; at += chunkBytes) {
        const error = reader.push(stream.subarray(at, at + chunkBytes), (bytes, start, end) => (seen.push(bytes.subarray(start, end)), true));
        if (error !== undefined) errors.push(error);
      }
      expect(errors).toEqual([]);
      expect(seen).toHaveLength(envelopes.length);
      // Compared with Buffer.equals: deep equality over 170 KB of bytes would take seconds.
      const matches = seen.map((bytes, i) => {
        const frame = decodeFrame(bytes, known);
        return frame.kind === "envelope" && Buffer.from(frame.payload).equals(envelopes[i]!.payload);
      });
      expect(matches.every(Boolean)).toBe(true);
    }
  });

  test("refuses a length above the limit as soon as the prefix is read, and a prefix longer than 5 bytes", () => {
    const reader = new FrameReader(100);
    expect(reader.push(Buffer.from([101]), () => true)).toEqual({ kind: "oversized", detail: expect.stringContaining("101") });
    // Once refused, it reads nothing more.
    expect(reader.push(Buffer.from([1, 0]), () => true)).toBeUndefined();
    expect(new FrameReader(100).push(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), () => true)?.kind).toBe("badFrame");
    expect(new FrameReader(100).push(Buffer.from([0]), () => true)).toEqual({ kind: "badFrame", detail: "empty frame" });
    // A limit exactly met is fine.
    const frames: Uint8Array[] = [];
    expect(new FrameReader(3).push(Buffer.from([3, 1, 2, 3]), (bytes, start, end) => (frames.push(bytes.subarray(start, end)), true))).toBeUndefined();
    expect(frames).toEqual([Buffer.from([1, 2, 3])]);
  });
});
