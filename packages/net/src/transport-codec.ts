import type { NodeId } from "@concord/core";

// The transport's wire: each frame is a varint length prefix followed by one
// `concord.net.Frame` of envelope.proto. It is encoded and decoded by hand,
// rather than through protobufjs' reflection, because it is the hot path of
// every message a node sends (one allocation per socket write, payloads
// copied once, received payloads handed over as views without a copy); the
// tests check it against protobufjs and the generated descriptor both ways.

/** wireVersion is the transport's wire version, sent in every Hello; a peer with another one is refused. */
export const wireVersion = 1;

/** HelloFrame is the first frame each side of a connection sends: who it is and which protocol it speaks. */
export interface HelloFrame {
  readonly kind: "hello";
  readonly version: number;
  readonly protocol: string;
  /** nodeId is the sender's replica id; meaningless (0) when `client`. */
  readonly nodeId: NodeId;
  /** client is true for a client dialer: a process carrying the frames of many client ids. */
  readonly client: boolean;
}

/** EnvelopeFrame carries one protocol message's bytes from one endpoint to another. */
export interface EnvelopeFrame {
  readonly kind: "envelope";
  readonly from: NodeId;
  readonly to: NodeId;
  readonly protocol: string;
  /** payload is a view into the received bytes (not a copy). */
  readonly payload: Uint8Array;
}

/** DecodedFrame is one frame off the wire. */
export type DecodedFrame = HelloFrame | EnvelopeFrame;

/** OutgoingEnvelope is one queued frame to encode: the protocol is the transport's own. */
export interface OutgoingEnvelope {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly payload: Uint8Array;
}

/** FrameDecodeError says why bytes are not a valid frame. */
export class FrameDecodeError extends Error {
  override readonly name = "FrameDecodeError";
}

// Field tags: (field number << 3) | wire type (0 varint, 2 length-delimited).
const tagFrameHello = (1 << 3) | 2;
const tagFrameEnvelope = (2 << 3) | 2;
const tagHelloVersion = (1 << 3) | 0;
const tagHelloProtocol = (2 << 3) | 2;
const tagHelloNodeId = (3 << 3) | 0;
const tagHelloClient = (4 << 3) | 0;
const tagEnvelopeFrom = (1 << 3) | 0;
const tagEnvelopeTo = (2 << 3) | 0;
const tagEnvelopeProtocol = (3 << 3) | 2;
const tagEnvelopePayload = (4 << 3) | 2;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

/** varintBytes is how many bytes the varint of a non-negative integer below 2^53 takes. */
export function varintBytes(value: number): number {
  let bytes = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    bytes += 1;
  }
  return bytes;
}

function writeVarint(into: Uint8Array, at: number, value: number): number {
  while (value >= 0x80) {
    into[at++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  into[at++] = value;
  return at;
}

function writeBytesField(into: Uint8Array, at: number, tag: number, bytes: Uint8Array): number {
  into[at++] = tag;
  at = writeVarint(into, at, bytes.length);
  into.set(bytes, at);
  return at + bytes.length;
}

/** bytesFieldSize is the size of a length-delimited field with a one-byte tag, omitted (0) when empty as proto3 does. */
function bytesFieldSize(length: number): number {
  return length === 0 ? 0 : 1 + varintBytes(length) + length;
}

function varintFieldSize(value: number): number {
  return value === 0 ? 0 : 1 + varintBytes(value);
}

/** envelopeBodyBytes is the size of one Envelope message (without the Frame around it). */
function envelopeBodyBytes(envelope: OutgoingEnvelope, protocolBytes: number): number {
  return varintFieldSize(envelope.from) + varintFieldSize(envelope.to) + bytesFieldSize(protocolBytes) + bytesFieldSize(envelope.payload.length);
}

/** framedBytes is the size of one length-prefixed Frame around a message body of `bodyBytes`. */
function framedBytes(bodyBytes: number): number {
  const frame = 1 + varintBytes(bodyBytes) + bodyBytes;
  return varintBytes(frame) + frame;
}

/**
 * envelopeFrameBytesMax is the largest size of the Frame (without its length
 * prefix) that carries a payload of `payloadBytes`, whatever the ids, for
 * checking a payload against the frame size limit before queueing it.
 */
export function envelopeFrameBytesMax(payloadBytes: number, protocol: Uint8Array): number {
  const body = 2 * (1 + varintBytes(0xffffffff)) + bytesFieldSize(protocol.length) + bytesFieldSize(payloadBytes);
  return 1 + varintBytes(body) + body;
}

/**
 * encodeEnvelopes writes frames into one buffer, for one socket write: each a
 * length prefix then a Frame holding the Envelope. `protocol` is the UTF-8 of
 * the transport's protocol name.
 */
export function encodeEnvelopes(envelopes: readonly OutgoingEnvelope[], protocol: Uint8Array, first = 0, end = envelopes.length): Uint8Array {
  let total = 0;
  for (let i = first; i < end; i++) total += framedBytes(envelopeBodyBytes(envelopes[i]!, protocol.length));
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (let i = first; i < end; i++) {
    const envelope = envelopes[i]!;
    const body = envelopeBodyBytes(envelope, protocol.length);
    at = writeVarint(out, at, 1 + varintBytes(body) + body);
    out[at++] = tagFrameEnvelope;
    at = writeVarint(out, at, body);
    if (envelope.from !== 0) {
      out[at++] = tagEnvelopeFrom;
      at = writeVarint(out, at, envelope.from);
    }
    if (envelope.to !== 0) {
      out[at++] = tagEnvelopeTo;
      at = writeVarint(out, at, envelope.to);
    }
    if (protocol.length !== 0) at = writeBytesField(out, at, tagEnvelopeProtocol, protocol);
    if (envelope.payload.length !== 0) at = writeBytesField(out, at, tagEnvelopePayload, envelope.payload);
  }
  return out;
}

/** encodeHello writes one length-prefixed Frame holding a Hello. */
export function encodeHello(hello: Omit<HelloFrame, "kind">): Uint8Array {
  const protocol = utf8Encoder.encode(hello.protocol);
  const body = varintFieldSize(hello.version) + bytesFieldSize(protocol.length) + varintFieldSize(hello.nodeId) + (hello.client ? 2 : 0);
  const out = Buffer.allocUnsafe(framedBytes(body));
  let at = writeVarint(out, 0, 1 + varintBytes(body) + body);
  out[at++] = tagFrameHello;
  at = writeVarint(out, at, body);
  if (hello.version !== 0) {
    out[at++] = tagHelloVersion;
    at = writeVarint(out, at, hello.version);
  }
  if (protocol.length !== 0) at = writeBytesField(out, at, tagHelloProtocol, protocol);
  if (hello.nodeId !== 0) {
    out[at++] = tagHelloNodeId;
    at = writeVarint(out, at, hello.nodeId);
  }
  if (hello.client) {
    out[at++] = tagHelloClient;
    out[at++] = 1;
  }
  return out;
}

/**
 * ProtobufReader reads the fields of one protobuf message in `bytes[start, end)`,
 * as protobufjs would: unknown fields are skipped, a repeated scalar keeps its
 * last value; anything malformed throws a {@link FrameDecodeError}.
 */
class ProtobufReader {
  at: number;
  constructor(
    readonly bytes: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.at = start;
  }

  done(): boolean {
    return this.at >= this.end;
  }

  /** uint32 reads a varint of up to 10 bytes and returns its value modulo 2^32, as a uint32 field keeps. */
  uint32(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.at >= this.end) throw new FrameDecodeError("truncated varint");
      const byte = this.bytes[this.at++]!;
      // Bits beyond the 35th cannot change the low 32 bits.
      if (i < 5) value += (byte & 0x7f) * scale;
      scale *= 128;
      if ((byte & 0x80) === 0) return value % 4294967296;
    }
    throw new FrameDecodeError("varint longer than 10 bytes");
  }

  /** lengthDelimited reads a length and returns where the delimited bytes start; `at` moves past them. */
  lengthDelimited(): number {
    const length = this.uint32();
    const start = this.at;
    if (length > this.end - start) throw new FrameDecodeError(`field of ${length} bytes overruns its message (${this.end - start} left)`);
    this.at = start + length;
    return start;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.uint32();
        return;
      case 1:
        this.advance(8);
        return;
      case 2:
        this.lengthDelimited();
        return;
      case 5:
        this.advance(4);
        return;
      default:
        throw new FrameDecodeError(`unsupported wire type ${wireType}`);
    }
  }

  private advance(bytes: number): void {
    if (this.end - this.at < bytes) throw new FrameDecodeError("truncated fixed-width field");
    this.at += bytes;
  }

  /** tag reads a field tag, refusing field number 0. */
  tag(): number {
    const tag = this.uint32();
    if (tag >>> 3 === 0) throw new FrameDecodeError("field number 0");
    return tag;
  }
}

function expectWireType(tag: number, wireType: number, field: string): void {
  if ((tag & 7) !== wireType) throw new FrameDecodeError(`${field} has wire type ${tag & 7}, expected ${wireType}`);
}

function bytesEqual(bytes: Uint8Array, start: number, end: number, expected: Uint8Array): boolean {
  if (end - start !== expected.length) return false;
  for (let i = 0; i < expected.length; i++) if (bytes[start + i] !== expected[i]) return false;
  return true;
}

/** ProtocolName is a protocol name with its UTF-8 bytes, so that received envelopes are checked without decoding a string each. */
export interface ProtocolName {
  readonly name: string;
  readonly utf8: Uint8Array;
}

/** protocolName pairs a protocol name with its UTF-8 bytes. */
export function protocolName(name: string): ProtocolName {
  return { name, utf8: utf8Encoder.encode(name) };
}

function readString(bytes: Uint8Array, start: number, end: number, known: ProtocolName, field: string): string {
  if (bytesEqual(bytes, start, end, known.utf8)) return known.name;
  try {
    return utf8Decoder.decode(bytes.subarray(start, end));
  } catch {
    throw new FrameDecodeError(`${field} is not UTF-8`);
  }
}

function decodeHello(bytes: Uint8Array, start: number, end: number, known: ProtocolName): HelloFrame {
  const reader = new ProtobufReader(bytes, start, end);
  let version = 0;
  let protocol = "";
  let nodeId = 0;
  let client = false;
  while (!reader.done()) {
    const tag = reader.tag();
    switch (tag >>> 3) {
      case tagHelloVersion >>> 3:
        expectWireType(tag, 0, "Hello.version");
        version = reader.uint32();
        break;
      case tagHelloProtocol >>> 3: {
        expectWireType(tag, 2, "Hello.protocol");
        const at = reader.lengthDelimited();
        protocol = readString(bytes, at, reader.at, known, "Hello.protocol");
        break;
      }
      case tagHelloNodeId >>> 3:
        expectWireType(tag, 0, "Hello.node_id");
        nodeId = reader.uint32();
        break;
      case tagHelloClient >>> 3:
        expectWireType(tag, 0, "Hello.client");
        client = reader.uint32() !== 0;
        break;
      default:
        reader.skip(tag & 7);
    }
  }
  return { kind: "hello", version, protocol, nodeId, client };
}

function decodeEnvelope(bytes: Uint8Array, start: number, end: number, known: ProtocolName): EnvelopeFrame {
  const reader = new ProtobufReader(bytes, start, end);
  let from = 0;
  let to = 0;
  let protocol = "";
  let payload: Uint8Array = bytes.subarray(0, 0);
  while (!reader.done()) {
    const tag = reader.tag();
    switch (tag >>> 3) {
      case tagEnvelopeFrom >>> 3:
        expectWireType(tag, 0, "Envelope.from");
        from = reader.uint32();
        break;
      case tagEnvelopeTo >>> 3:
        expectWireType(tag, 0, "Envelope.to");
        to = reader.uint32();
        break;
      case tagEnvelopeProtocol >>> 3: {
        expectWireType(tag, 2, "Envelope.protocol");
        const at = reader.lengthDelimited();
        protocol = readString(bytes, at, reader.at, known, "Envelope.protocol");
        break;
      }
      case tagEnvelopePayload >>> 3: {
        expectWireType(tag, 2, "Envelope.payload");
        const at = reader.lengthDelimited();
        payload = bytes.subarray(at, reader.at);
        break;
      }
      default:
        reader.skip(tag & 7);
    }
  }
  return { kind: "envelope", from, to, protocol, payload };
}

/**
 * decodeFrame decodes one Frame (the bytes after its length prefix, in
 * `bytes[start, end)`, so that a reader need not cut a view per frame). A frame
 * with neither a hello nor an envelope, or with malformed fields, throws a
 * {@link FrameDecodeError}. `known` is the protocol the transport speaks: a
 * name equal to it is returned without decoding a new string.
 */
export function decodeFrame(bytes: Uint8Array, known: ProtocolName, start = 0, end = bytes.length): DecodedFrame {
  const reader = new ProtobufReader(bytes, start, end);
  let frame: DecodedFrame | undefined;
  while (!reader.done()) {
    const tag = reader.tag();
    const field = tag >>> 3;
    if (field === tagFrameHello >>> 3 || field === tagFrameEnvelope >>> 3) {
      expectWireType(tag, 2, field === 1 ? "Frame.hello" : "Frame.envelope");
      const start = reader.lengthDelimited();
      // A oneof keeps the last member set, as protobufjs does.
      frame = field === 1 ? decodeHello(bytes, start, reader.at, known) : decodeEnvelope(bytes, start, reader.at, known);
    } else {
      reader.skip(tag & 7);
    }
  }
  if (frame === undefined) throw new FrameDecodeError(`frame of ${end - start} bytes holds neither a hello nor an envelope`);
  return frame;
}

/** FrameReaderError is why a stream of frames cannot be read on: its kind picks the counter. */
export interface FrameReaderError {
  readonly kind: "oversized" | "badFrame";
  readonly detail: string;
}

/**
 * FrameReader splits a byte stream into frames: a varint length prefix, then
 * that many bytes. It refuses a length above `frameBytesMax` as soon as the
 * prefix is read, before buffering or allocating anything for it. Frames are
 * handed over as views into the received chunks where a frame lies within one
 * chunk; a frame split across chunks is joined once, when all of it is here.
 */
export class FrameReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** needBytes is how many buffered bytes the next frame needs (prefix included), once its prefix is known. */
  private needBytes = 0;
  private failed = false;

  constructor(private readonly frameBytesMax: number) {}

  /**
   * push reads a chunk and calls `onFrame` for each complete frame in order,
   * synchronously, with the frame at `bytes[start, end)`. It stops and returns the error at the first invalid frame,
   * or when `onFrame` returns false (the connection was closed meanwhile).
   */
  push(chunk: Buffer, onFrame: (bytes: Buffer, start: number, end: number) => boolean): FrameReaderError | undefined {
    if (this.failed) return undefined;
    let data = chunk;
    if (this.pendingBytes > 0) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      if (this.needBytes > this.pendingBytes) return undefined;
      data = Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
    }
    this.needBytes = 0;
    let at = 0;
    while (at < data.length) {
      const prefix = readLengthPrefix(data, at);
      if (prefix === "incomplete") break;
      if (typeof prefix === "string") return this.fail({ kind: "badFrame", detail: prefix });
      if (prefix.length > this.frameBytesMax) {
        return this.fail({ kind: "oversized", detail: `length prefix of ${prefix.length} bytes exceeds the limit of ${this.frameBytesMax}` });
      }
      if (prefix.length === 0) return this.fail({ kind: "badFrame", detail: "empty frame" });
      const end = prefix.bodyAt + prefix.length;
      if (end > data.length) {
        this.needBytes = end - at;
        break;
      }
      at = end;
      if (!onFrame(data, prefix.bodyAt, end)) {
        this.failed = true;
        return undefined;
      }
    }
    if (at < data.length) {
      this.pending = [data.subarray(at)];
      this.pendingBytes = data.length - at;
    }
    return undefined;
  }

  private fail(error: FrameReaderError): FrameReaderError {
    this.failed = true;
    this.pending = [];
    this.pendingBytes = 0;
    return error;
  }
}

/** readLengthPrefix reads the varint at `at`: its value and where the frame starts, "incomplete", or why it is invalid. */
function readLengthPrefix(data: Uint8Array, at: number): { length: number; bodyAt: number } | "incomplete" | string {
  let length = 0;
  let scale = 1;
  // A frame length fits in 32 bits: five varint bytes at most.
  for (let i = 0; i < 5; i++) {
    if (at + i >= data.length) return "incomplete";
    const byte = data[at + i]!;
    length += (byte & 0x7f) * scale;
    scale *= 128;
    if ((byte & 0x80) === 0) {
      if (length > 0xffffffff) return `length prefix ${length} is above 2^32 - 1`;
      return { length, bodyAt: at + i + 1 };
    }
  }
  return "length prefix longer than 5 bytes";
}
