import protobuf from "protobufjs";
import { describe, expect, test } from "vitest";
import { CorruptionError, createProtobufCodec, createRng, soloCodec, type ProtoDescriptor, type SoloMessage } from "@concord/core";

/** A test protocol whose messages nest bytes inside repeated sub-messages. */
type TestMessage =
  | { readonly type: "batch"; readonly term: number; readonly entries: readonly { readonly index: number; readonly data: Uint8Array }[] }
  | { readonly type: "ping"; readonly note: string };

const testDescriptor = {
  nested: {
    test: {
      nested: {
        Entry: { fields: { index: { type: "uint64", id: 1 }, data: { type: "bytes", id: 2 } } },
        Batch: { fields: { term: { type: "uint64", id: 1 }, entries: { rule: "repeated", type: "Entry", id: 2 } } },
        Ping: { fields: { note: { type: "string", id: 1 } } },
        Envelope: {
          oneofs: { body: { oneof: ["batch", "ping"] } },
          fields: { batch: { type: "Batch", id: 1 }, ping: { type: "Ping", id: 2 } },
        },
        NoOneof: { fields: { x: { type: "uint32", id: 1 } } },
        Typed: { fields: { type: { type: "string", id: 1 } } },
        TypedEnvelope: { oneofs: { body: { oneof: ["typed"] } }, fields: { typed: { type: "Typed", id: 1 } } },
      },
    },
  },
} as ProtoDescriptor;

const testCodec = createProtobufCodec<TestMessage>(testDescriptor, "test.Envelope");

const soloMessages: SoloMessage[] = [
  { type: "clientRequest", clientId: 1_000_000, session: 1, sequence: 1, command: new Uint8Array([1, 2, 3]), readOnly: false, readLevel: 0 },
  { type: "clientRequest", clientId: 0, session: Number.MAX_SAFE_INTEGER, sequence: 2 ** 40 + 1, command: new Uint8Array(0), readOnly: true, readLevel: 0 },
  { type: "clientRequest", clientId: 1, session: 2 ** 32 + 5, sequence: Number.MAX_SAFE_INTEGER, command: new Uint8Array(0), readOnly: false, readLevel: 0 },
  { type: "clientReply", session: 2 ** 52 + 3, sequence: 7, result: new Uint8Array([0xff]) },
  { type: "clientReply", session: 0, sequence: 0, result: new Uint8Array(0) },
];

describe("createProtobufCodec", () => {
  test("refuses a 64-bit field above 2^53 - 1, naming it, where protobufjs would round it to another number", () => {
    // Envelope { batch (1) = Batch { term (1), entries (2) = Entry { index (1), data (2) } } }, written field by field.
    const frame = (term: string, index: string) => {
      const entry = protobuf.Writer.create().uint32(8).uint64(index).uint32(18).bytes(new Uint8Array(0)).finish();
      const batch = protobuf.Writer.create().uint32(8).uint64(term).uint32(18).bytes(entry).finish();
      return protobuf.Writer.create().uint32(10).bytes(batch).finish();
    };
    expect(testCodec.decode(frame("9007199254740991", "1"))).toMatchObject({ type: "batch", term: Number.MAX_SAFE_INTEGER });
    expect(() => testCodec.decode(frame("9007199254740993", "1"))).toThrow(CorruptionError);
    expect(() => testCodec.decode(frame("9007199254740993", "1"))).toThrow(/batch\.term is 9007199254740992, beyond the largest safe integer/);
    expect(() => testCodec.decode(frame("1", "18446744073709551615"))).toThrow(/batch\.entries\.index is .*beyond the largest safe integer/);
  });

  test("round-trips every solo message exactly, empty bytes and 64-bit sequences included", () => {
    for (const message of soloMessages) {
      expect(soloCodec.decode(soloCodec.encode(message))).toEqual(message);
    }
  });

  test("round-trips nested repeated messages", () => {
    const message: TestMessage = {
      type: "batch",
      term: 3,
      entries: [
        { index: 1, data: new Uint8Array([9]) },
        { index: 2, data: new Uint8Array(0) },
      ],
    };
    expect(testCodec.decode(testCodec.encode(message))).toEqual(message);
    expect(testCodec.decode(testCodec.encode({ type: "ping", note: "héllo 🙂" }))).toEqual({ type: "ping", note: "héllo 🙂" });
  });

  test("fills absent fields with their defaults", () => {
    expect(testCodec.decode(testCodec.encode({ type: "batch", term: 0, entries: [] }))).toEqual({ type: "batch", term: 0, entries: [] });
  });

  test("decodes bytes as plain Uint8Arrays that own their memory, at every depth", () => {
    const frame = testCodec.encode({ type: "batch", term: 1, entries: [{ index: 1, data: new Uint8Array([5, 6]) }] });
    const decoded = testCodec.decode(frame);
    const data = decoded.type === "batch" ? decoded.entries[0]?.data : undefined;
    expect(data?.constructor).toBe(Uint8Array);
    frame.fill(0);
    expect(data).toEqual(new Uint8Array([5, 6]));

    const request = soloCodec.decode(soloCodec.encode(soloMessages[0] as SoloMessage));
    expect(request.type === "clientRequest" && request.command.constructor).toBe(Uint8Array);
  });

  test("a frame holding two members of the oneof decodes as the last one on the wire, as protobuf's oneof rule says", () => {
    // core installs its own oneof setter in protobufjs (it deletes only the members a message holds): the last
    // member read must still clear the one before it, whichever field number each has.
    const batch = testCodec.encode({ type: "batch", term: 3, entries: [] });
    const ping = testCodec.encode({ type: "ping", note: "hi" });
    const join = (a: Uint8Array, b: Uint8Array): Uint8Array => Uint8Array.of(...a, ...b);
    expect(testCodec.decode(join(batch, ping))).toEqual({ type: "ping", note: "hi" });
    expect(testCodec.decode(join(ping, batch))).toEqual({ type: "batch", term: 3, entries: [] });
  });

  test("typeName is the variant's type", () => {
    expect(soloMessages.map((message) => soloCodec.typeName(message))).toEqual(["clientRequest", "clientRequest", "clientRequest", "clientReply", "clientReply"]);
  });

  test("an empty frame carries no message: CorruptionError", () => {
    expect(() => soloCodec.decode(new Uint8Array(0))).toThrow(CorruptionError);
  });

  test("every truncation of a valid frame is a CorruptionError", () => {
    for (const message of soloMessages) {
      const frame = soloCodec.encode(message);
      for (let length = 0; length < frame.length; length++) {
        expect(() => soloCodec.decode(frame.slice(0, length)), `${message.type} cut to ${length} bytes`).toThrow(CorruptionError);
      }
    }
  });

  test("garbage either decodes to a known message or throws CorruptionError, never anything else", () => {
    const rng = createRng(17);
    const known = new Set(["clientRequest", "clientReply"]);
    let corrupt = 0;
    for (let i = 0; i < 3000; i++) {
      const garbage = Uint8Array.from({ length: rng.nextInt(24) }, () => rng.nextInt(256));
      try {
        const message = soloCodec.decode(garbage);
        expect(known.has(message.type)).toBe(true);
      } catch (error) {
        expect(error).toBeInstanceOf(CorruptionError);
        corrupt++;
      }
    }
    expect(corrupt).toBeGreaterThan(1000);
  });

  test("the error names the envelope and the frame size", () => {
    expect(() => soloCodec.decode(new Uint8Array([0xff]))).toThrow(/concord\.solo\.SoloMessage.*1 bytes/);
  });

  test("refuses a variant with a field named 'type', which would overwrite the discriminant on decode", () => {
    expect(() => createProtobufCodec(testDescriptor, "test.TypedEnvelope")).toThrow(/field named 'type'/);
  });

  test("refuses an envelope without a oneof body", () => {
    expect(() => createProtobufCodec(testDescriptor, "test.NoOneof")).toThrow(/oneof body/);
  });
});
