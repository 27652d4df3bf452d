import { createRng, type Rng } from "@concord/core";
import type { PbftMessage, PbftPrepare, PbftRequest } from "@concord/pbft";
import {
  Authenticator,
  authenticatedBytes,
  decodeDurableRecord,
  encodeBatch,
  encodeDurableRecord,
  pbftCodec,
  pbftProtobufCodec,
  pbftProtoDescriptor,
  sealedBytesOf,
  sealless,
  type DurableRecord,
} from "@concord/pbft/internals";
import protobuf from "protobufjs/light.js";
import { describe, expect, it } from "vitest";
import { FakeCrypto } from "./kit.ts";

// The codec hands the authenticator the bytes a seal covers (issue 18): cut from a decoded frame, and spliced
// back around the seal to encode. These checks hold the shortcuts to protobufjs's encoding byte for byte.

const seed = 18;

function u64(rng: Rng): number {
  switch (rng.nextInt(6)) {
    case 0:
      return 0;
    case 1:
      return rng.nextInt(128);
    case 2:
      return 128 + rng.nextInt(16_384);
    case 3:
      return 2 ** 32 + rng.nextInt(1000);
    case 4:
      return Number.MAX_SAFE_INTEGER - rng.nextInt(3);
    default:
      return rng.nextInt(2 ** 30) * 1024 + rng.nextInt(1024);
  }
}

function u32(rng: Rng): number {
  return [0, 1, rng.nextInt(128), 128 + rng.nextInt(100_000), 2 ** 31 + rng.nextInt(1000), 2 ** 32 - 1][rng.nextInt(6)] as number;
}

function bytes(rng: Rng): Uint8Array {
  const length = [0, 1, 32, 32, rng.nextInt(300)][rng.nextInt(5)] as number;
  return Uint8Array.from({ length }, () => rng.nextInt(256));
}

function list<T>(rng: Rng, most: number, make: () => T): T[] {
  return Array.from({ length: rng.nextInt(most + 1) }, make);
}

function request(rng: Rng): PbftRequest {
  return {
    type: "request",
    clientId: u32(rng),
    session: u64(rng),
    sequence: u64(rng),
    command: bytes(rng),
    readOnly: rng.nextInt(2) === 1,
    readLevel: rng.nextInt(3),
    macs: list(rng, 4, () => bytes(rng)),
  };
}

function seal(rng: Rng): { macs: Uint8Array[]; signature: Uint8Array } {
  return { macs: list(rng, 4, () => bytes(rng)), signature: rng.nextInt(2) === 0 ? new Uint8Array(0) : bytes(rng) };
}

function viewChange(rng: Rng) {
  return {
    type: "viewChange" as const,
    newView: u64(rng),
    replica: u32(rng),
    stableSeq: u64(rng),
    checkpoints: list(rng, 2, () => ({ seq: u64(rng), stateDigest: bytes(rng) })),
    prepared: list(rng, 2, () => ({ seq: u64(rng), view: u64(rng), digest: bytes(rng), requests: list(rng, 2, () => request(rng)) })),
    prePrepared: list(rng, 2, () => ({ seq: u64(rng), view: u64(rng), digest: bytes(rng) })),
    signature: bytes(rng),
  };
}

/** randomMessage draws a message of every type in turn, its numbers and byte strings at the edges of their encodings (0, one byte, 2^32, 2^53 - 1). */
function randomMessage(rng: Rng, index: number): PbftMessage {
  const common = () => ({ replica: u32(rng), ...seal(rng) });
  switch (index % 11) {
    case 0:
      return request(rng);
    case 1:
      return { type: "reply", view: u64(rng), clientId: u32(rng), session: u64(rng), sequence: u64(rng), replica: u32(rng), result: bytes(rng), readOnly: rng.nextInt(2) === 1, mac: bytes(rng) };
    case 2:
      return { type: "prePrepare", view: u64(rng), seq: u64(rng), digest: bytes(rng), requests: list(rng, 3, () => request(rng)), ...common() };
    case 3:
      return { type: "prepare", view: u64(rng), seq: u64(rng), digest: bytes(rng), ...common() };
    case 4:
      return { type: "commit", view: u64(rng), seq: u64(rng), digest: bytes(rng), ...common() };
    case 5:
      return { type: "checkpoint", seq: u64(rng), stateDigest: bytes(rng), ...common() };
    case 6:
      return viewChange(rng);
    case 7:
      return {
        type: "newView",
        view: u64(rng),
        replica: u32(rng),
        viewChanges: list(rng, 2, () => viewChange(rng)),
        checkpointSeq: u64(rng),
        checkpointDigest: bytes(rng),
        entries: list(rng, 2, () => ({ seq: u64(rng), digest: bytes(rng), requests: list(rng, 2, () => request(rng)) })),
        signature: bytes(rng),
      };
    case 8:
      return { type: "status", view: u64(rng), active: rng.nextInt(2) === 1, executedSeq: u64(rng), stableSeq: u64(rng), ...common() };
    case 9:
      return { type: "fetchState", seq: u64(rng), stateDigest: bytes(rng), ...common() };
    default:
      return { type: "stateTransfer", seq: u64(rng), stateDigest: bytes(rng), state: bytes(rng), ...common() };
  }
}

/** fieldsOf splits a message body into its top-level fields (varint and length-delimited only), or undefined. */
function fieldsOf(body: Uint8Array): Uint8Array[] | undefined {
  const fields: Uint8Array[] = [];
  let pos = 0;
  const varint = (): number => {
    let value = 0;
    let scale = 1;
    for (;;) {
      const byte = body[pos++];
      if (byte === undefined) return -1;
      value += (byte & 0x7f) * scale;
      scale *= 128;
      if (byte < 0x80) return value;
    }
  };
  while (pos < body.length) {
    const start = pos;
    const tag = varint();
    if (tag < 0) return undefined;
    if ((tag & 7) === 0) {
      if (varint() < 0) return undefined;
    } else if ((tag & 7) === 2) {
      const length = varint();
      if (length < 0 || pos + length > body.length) return undefined;
      pos += length;
    } else {
      return undefined;
    }
    fields.push(body.subarray(start, pos));
  }
  return fields;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function varintBytes(value: number): number[] {
  const out: number[] = [];
  while (value >= 0x80) {
    out.push((value & 0x7f) | 0x80);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return out;
}

/** frameOf puts a body back in the envelope under the same tag, with its length. */
function frameOf(tag: number, body: Uint8Array): Uint8Array {
  return concat([Uint8Array.of(tag, ...varintBytes(body.length)), body]);
}

/**
 * variants makes frames around a canonical one: bytes flipped, cut, inserted; and, field by field, what another
 * encoder or a faulty sender may send that decodes to the same or another message: a varint padded to a longer
 * form, a field written with its default, two fields swapped, a field twice, an unknown field, a wire type
 * changed, a second message in the envelope.
 */
function variants(rng: Rng, frame: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [frame];
  const at = rng.nextInt(frame.length);
  out.push(frame.map((byte, i) => (i === at ? byte ^ (1 << rng.nextInt(8)) : byte)));
  out.push(frame.subarray(0, rng.nextInt(frame.length)));
  out.push(concat([frame.subarray(0, at), Uint8Array.of(rng.nextInt(256)), frame.subarray(at)]));
  out.push(Uint8Array.from({ length: rng.nextInt(12) }, () => rng.nextInt(256)));
  const tag = frame[0] as number;
  const lengthEnd = frame.findIndex((byte, i) => i > 0 && byte < 0x80) + 1;
  const fields = fieldsOf(frame.subarray(lengthEnd));
  if (fields === undefined) return out;
  const pick = () => rng.nextInt(fields.length);
  if (fields.length > 0) {
    // A varint (the tag, a number or a length) padded with a continuation byte.
    const i = pick();
    const field = fields[i] as Uint8Array;
    const cut = 1 + rng.nextInt(Math.max(1, field.length - 1));
    const padded = fields.map((f, j) => (j === i && cut <= field.length && ((field[cut - 1] as number) < 0x80) ? concat([field.subarray(0, cut - 1), Uint8Array.of((field[cut - 1] as number) | 0x80, 0), field.subarray(cut)]) : f));
    out.push(frameOf(tag, concat(padded)));
    // Two fields swapped, a field written twice, a field's wire type changed.
    const j = pick();
    const swapped = [...fields];
    [swapped[i], swapped[j]] = [swapped[j] as Uint8Array, swapped[i] as Uint8Array];
    out.push(frameOf(tag, concat(swapped)));
    out.push(frameOf(tag, concat([...fields.slice(0, i + 1), field, ...fields.slice(i + 1)])));
    out.push(frameOf(tag, concat(fields.map((f, k) => (k === i ? concat([Uint8Array.of((f[0] as number) ^ 2), f.subarray(1)]) : f)))));
  }
  // A default written out (field number 1 or 2 as the varint 0, or as empty bytes), and an unknown field 15.
  for (const extra of [Uint8Array.of(0x08, 0), Uint8Array.of(0x10, 0), Uint8Array.of(0x12, 0), Uint8Array.of(0x78, 1)]) {
    out.push(frameOf(tag, concat([extra, ...fields])));
    out.push(frameOf(tag, concat([...fields, extra])));
  }
  // A second member of the envelope after the first (the decoder keeps the last).
  out.push(concat([frame, frameOf(0x22, Uint8Array.of(0x08, 1))]));
  return out;
}

/** reencoded is what the authenticator computes for a message it knows no bytes of: its encoding with the seal emptied. */
function reencoded(message: PbftMessage): Uint8Array {
  return new Uint8Array(authenticatedBytes({ ...message }));
}

/** json renders a decoded message with its keys in order and its byte strings in hexadecimal, so that two decodings compare key for key. */
function json(message: unknown): string {
  return JSON.stringify(message, function (this: Record<string, unknown>, key: string, value: unknown) {
    const original = this[key];
    return original instanceof Uint8Array ? `${original.constructor.name}:${Buffer.from(original).toString("hex")}` : value;
  });
}

/** plain views bytes as a plain Uint8Array, so that protobufjs's Buffers and the shortcuts' arrays compare by content. */
function plain(bytes: Uint8Array | undefined): Uint8Array | undefined {
  return bytes === undefined ? undefined : new Uint8Array(bytes);
}

describe("the bytes a seal covers, cut from frames and spliced back to encode", () => {
  it("encodes a message of every type, and the bytes its seal covers, byte for byte as protobufjs does", () => {
    const rng = createRng(seed);
    for (let i = 0; i < 660; i++) {
      const message = randomMessage(rng, i);
      const expected = plain(pbftProtobufCodec.encode(message));
      // Unknown to the seal memo: written field by field.
      expect(plain(pbftCodec.encode({ ...message }))).toEqual(expected);
      expect(plain(authenticatedBytes(message))).toEqual(plain(pbftProtobufCodec.encode(sealless(message))));
      // Remembered: the seal spliced back between the bytes it covers.
      expect(sealedBytesOf(message)).toBeDefined();
      expect(plain(pbftCodec.encode(message))).toEqual(expected);
    }
  });

  it("encodes durable records and batches byte for byte as protobufjs does", () => {
    const root = protobuf.Root.fromJSON(pbftProtoDescriptor);
    const recordType = root.lookupType("concord.pbft.DurableRecord");
    const batchType = root.lookupType("concord.pbft.Batch");
    const rng = createRng(seed + 2);
    for (let i = 0; i < 300; i++) {
      const slot = { seq: u64(rng), view: u64(rng), digest: bytes(rng), requests: list(rng, 3, () => request(rng)) };
      const records: [DurableRecord, Record<string, unknown>][] = [
        [{ kind: "view", view: u64(rng), active: rng.nextInt(2) === 1 }, {}],
        [{ kind: "prePrepared", slot }, { prePrepared: slot }],
        [{ kind: "prepared", slot }, { prepared: slot }],
        [{ kind: "committed", slot }, { committed: slot }],
        [{ kind: "newViewCheckpoint", seq: u64(rng), digest: bytes(rng) }, {}],
      ];
      for (const [record, object] of records) {
        if (record.kind === "view") object["view"] = { view: record.view, active: record.active };
        if (record.kind === "newViewCheckpoint") object["newViewCheckpoint"] = { seq: record.seq, digest: record.digest };
        const encoded = encodeDurableRecord(record);
        expect(plain(encoded)).toEqual(plain(recordType.encode(object).finish()));
        expect(decodeDurableRecord(encoded).kind).toBe(record.kind);
      }
      const requests = slot.requests;
      const batch = { requests: requests.map((r) => ({ clientId: r.clientId, session: r.session, sequence: r.sequence, command: r.command, readOnly: r.readOnly })) };
      expect(plain(encodeBatch(requests))).toEqual(plain(batchType.encode(batch).finish()));
    }
  });

  it("encodes odd values as protobufjs does, or leaves them to it", () => {
    const prepare: PbftPrepare = { type: "prepare", view: 1, seq: 2, digest: Uint8Array.of(3), replica: 4, macs: [Uint8Array.of(5)], signature: new Uint8Array(0) };
    const odd: unknown[] = [-1, 1.5, 2 ** 53, 2 ** 64, -0, "7", true, null, undefined, { low: 1, high: 0 }, Number.NaN];
    const oddBytes: unknown[] = ["AQI=", [1, 2], null, undefined, new Uint8Array(0)];
    const cases: Record<string, unknown>[] = [
      ...odd.flatMap((value) => [{ ...prepare, view: value }, { ...prepare, replica: value }]),
      ...oddBytes.flatMap((value) => [{ ...prepare, digest: value }, { ...prepare, macs: [value] }, { ...prepare, signature: value }]),
      { ...prepare, macs: Uint8Array.of(1, 2) },
      { type: "status", view: 1, active: 1, executedSeq: 0, stableSeq: 0, replica: 1, macs: [], signature: new Uint8Array(0) },
      { type: "status", view: 1, active: 0, executedSeq: 0, stableSeq: 0, replica: 1, macs: [], signature: new Uint8Array(0) },
      Object.assign(Object.create({ view: 9 }) as object, { type: "prepare", seq: 2, replica: 1 }),
      { type: "prePrepare", view: 1, seq: 1, digest: new Uint8Array(0), requests: [{ clientId: 1, session: 2 ** 60, sequence: 1 }], replica: 0, macs: [], signature: new Uint8Array(0) },
      // A uint32 above its range (protobufjs writes it cut to 32 bits), unknown fields kept from a decode (written raw), a batch's odd items.
      ...[2 ** 32, 2 ** 32 + 5, 2 ** 40].map((value) => ({ ...prepare, replica: value })),
      { ...prepare, $unknowns: [Uint8Array.of(0x78, 0x01)] },
      ...[null, 7, "x"].map((item) => ({ type: "prePrepare", view: 1, seq: 1, digest: Uint8Array.of(1), requests: [item], replica: 0, macs: [], signature: new Uint8Array(0) })),
      { type: "prePrepare", view: 1, seq: 1, digest: Uint8Array.of(1), requests: [{ clientId: 1, session: 1, sequence: 1, $unknowns: [Uint8Array.of(0x78, 0x01)] }], replica: 0, macs: [], signature: new Uint8Array(0) },
    ];
    let written = 0;
    for (const message of cases) {
      let expected: Uint8Array | string;
      try {
        expected = plain(pbftProtobufCodec.encode(message as unknown as PbftMessage)) as Uint8Array;
      } catch (error) {
        expected = (error as Error).message;
      }
      let got: Uint8Array | string;
      try {
        got = plain(pbftCodec.encode(message as unknown as PbftMessage)) as Uint8Array;
      } catch (error) {
        got = (error as Error).message;
      }
      expect(got, JSON.stringify(message)).toEqual(expected);
      if (typeof expected !== "string") written++;
    }
    expect(written).toBeGreaterThan(20);
  });

  it("cuts from a decoded frame exactly the bytes re-encoding gives, and nothing from a frame that is not canonical", () => {
    const rng = createRng(seed + 1);
    let cut = 0;
    let notCut = 0;
    let refused = 0;
    let nestedCut = 0;
    for (let i = 0; i < 330; i++) {
      for (const frame of variants(rng, pbftProtobufCodec.encode(randomMessage(rng, i)))) {
        let reference: PbftMessage | Error;
        try {
          reference = pbftProtobufCodec.decode(frame);
        } catch (error) {
          reference = error as Error;
        }
        let message: PbftMessage;
        try {
          message = pbftCodec.decode(frame);
        } catch (error) {
          expect(error).toEqual(reference);
          refused++;
          continue;
        }
        expect(json(message)).toBe(json(reference));
        const known = sealedBytesOf(message);
        if (known === undefined) {
          notCut++;
          expect(plain(pbftProtobufCodec.encode(message))).not.toEqual(plain(frame));
          continue;
        }
        cut++;
        expect(plain(known)).toEqual(reencoded(message));
        expect(plain(pbftCodec.encode(message))).toEqual(plain(frame));
        if (message.type !== "prePrepare") continue;
        for (const request of message.requests) {
          expect(plain(sealedBytesOf(request))).toEqual(reencoded({ ...request, type: "request" }));
          nestedCut++;
        }
      }
    }
    // Every path is taken: frames cut, frames left to re-encoding, frames refused, requests of pre-prepares cut.
    expect(cut).toBeGreaterThan(330);
    expect(notCut).toBeGreaterThan(330);
    expect(refused).toBeGreaterThan(330);
    expect(nestedCut).toBeGreaterThan(20);
  });

  it("copies the message it decoded last as decoding its frame again gives it, sharing no object or byte string, and nothing else", () => {
    const rng = createRng(seed + 2);
    let copied = 0;
    let notCopied = 0;
    /** objects lists every object, array and byte string a decoded value holds. */
    const objects = (value: unknown, into: unknown[] = []): unknown[] => {
      if (value === null || typeof value !== "object") return into;
      into.push(value);
      if (!(value instanceof Uint8Array)) for (const item of Object.values(value)) objects(item, into);
      return into;
    };
    for (let i = 0; i < 330; i++) {
      for (const frame of variants(rng, pbftProtobufCodec.encode(randomMessage(rng, i)))) {
        let original: PbftMessage;
        try {
          original = pbftCodec.decode(frame);
        } catch {
          continue;
        }
        const copy = pbftCodec.copy?.(original);
        if (sealedBytesOf(original) === undefined) {
          // Decoded by protobufjs (not canonical): not copied, its frame is decoded again.
          expect(copy).toBeUndefined();
          notCopied++;
          continue;
        }
        if (copy === undefined) throw new Error(`message ${i} decoded from a canonical frame was not copied`);
        copied++;
        const again = pbftCodec.decode(frame);
        expect(json(copy)).toBe(json(again));
        expect(copy).toStrictEqual(again);
        expect(plain(sealedBytesOf(copy))).toEqual(plain(sealedBytesOf(again)));
        if (copy.type === "prePrepare" && again.type === "prePrepare") {
          copy.requests.forEach((request, j) => expect(plain(sealedBytesOf(request))).toEqual(plain(sealedBytesOf(again.requests[j] as PbftRequest))));
        }
        // Nothing shared but the one frozen empty byte string of absent fields.
        const mine = new Set(objects(original));
        for (const object of objects(copy)) if (mine.has(object)) expect(Object.isFrozen(object) && (object as Uint8Array).length === 0, `message ${i} shares an object`).toBe(true);
        // Another decode since: the message it decoded last is another, so this one is not copied.
        expect(pbftCodec.copy?.(original)).toBeUndefined();
        expect(pbftCodec.copy?.(copy)).toBeUndefined();
      }
    }
    expect(copied).toBeGreaterThan(330);
    expect(notCopied).toBeGreaterThan(100);
  });

  it("keeps the bytes on the message where no copy, key list, JSON or equality sees them, and encodes a frozen message's bytes when asked", () => {
    const sender = new Authenticator(new FakeCrypto(1), 1, [0, 1, 2, 3], "macs");
    const prepare = sender.sealBroadcast<PbftPrepare>({ type: "prepare", view: 3, seq: 7, digest: new Uint8Array(32).fill(9), replica: 1, macs: [], signature: new Uint8Array(0) });
    const decoded = pbftCodec.decode(pbftCodec.encode(prepare)) as PbftPrepare;
    const reference = pbftProtobufCodec.decode(pbftProtobufCodec.encode(prepare));
    for (const message of [prepare, decoded]) {
      const bytes = sealedBytesOf(message);
      expect(bytes).toBeDefined();
      expect(Object.keys(message).sort()).toEqual(Object.keys(reference).sort());
      expect(Object.getOwnPropertySymbols(message).filter((key) => Object.prototype.propertyIsEnumerable.call(message, key))).toEqual([]);
      expect(message).toEqual(reference);
      // A copy with a field changed is another message: it carries no bytes of its own, and its seal covers its own encoding.
      const forged = { ...message, seq: 8 };
      expect(sealedBytesOf(forged)).toBeUndefined();
      expect(sealedBytesOf(structuredClone(message))).toBeUndefined();
      expect(sealedBytesOf(Object.assign({}, message))).toBeUndefined();
      expect(plain(authenticatedBytes(forged))).toEqual(plain(pbftProtobufCodec.encode(sealless(forged))));
      expect(plain(authenticatedBytes(forged))).not.toEqual(plain(bytes));
    }
    expect(decoded).toStrictEqual(reference);
    expect(json(decoded)).toBe(json(reference));
    const frozen = Object.freeze({ ...decoded });
    expect(sealedBytesOf(frozen)).toBeUndefined();
    expect(plain(authenticatedBytes(frozen))).toEqual(plain(sealedBytesOf(decoded)));
    expect(plain(pbftCodec.encode(frozen))).toEqual(plain(pbftProtobufCodec.encode(frozen)));
  });

  it("checks a re-encoded (non-canonical) frame of an honest prepare over what its sender authenticated, and fails a tampered one", () => {
    const replicas = [0, 1, 2, 3];
    const sender = new Authenticator(new FakeCrypto(1), 1, replicas, "macs");
    const receiver = new Authenticator(new FakeCrypto(2), 2, replicas, "macs");
    const prepare = sender.sealBroadcast<PbftPrepare>({ type: "prepare", view: 3, seq: 7, digest: new Uint8Array(32).fill(9), replica: 1, macs: [], signature: new Uint8Array(0) });
    const frame = pbftCodec.encode(prepare);
    expect(plain(frame)).toEqual(plain(pbftProtobufCodec.encode(prepare)));
    const honest = pbftCodec.decode(frame);
    expect(sealedBytesOf(honest)).toBeDefined();
    expect(receiver.verifyReplicaMessage(1, honest as PbftPrepare)).toBe(true);
    // The view's varint padded to two bytes: the same message, not cut, checked over the canonical bytes.
    const body = frame.subarray(3);
    expect(plain(frame.subarray(0, 7))).toEqual(Uint8Array.of(0x22, 0x90, 0x01, 0x08, 0x03, 0x10, 0x07));
    const padded = frameOf(0x22, concat([Uint8Array.of(0x08, 0x83, 0x00), body.subarray(2)]));
    const reencodedPrepare = pbftCodec.decode(padded);
    expect(reencodedPrepare).toEqual(honest);
    expect(sealedBytesOf(reencodedPrepare)).toBeUndefined();
    expect(receiver.verifyReplicaMessage(1, reencodedPrepare as PbftPrepare)).toBe(true);
    // The sequence number changed (canonical, so cut from the frame): the MACs no longer match.
    const tampered = frame.map((byte, i) => (i === 6 ? 8 : byte));
    const forged = pbftCodec.decode(tampered) as PbftPrepare;
    expect(forged.seq).toBe(8);
    expect(sealedBytesOf(forged)).toBeDefined();
    expect(receiver.verifyReplicaMessage(1, forged)).toBe(false);
  });
});
