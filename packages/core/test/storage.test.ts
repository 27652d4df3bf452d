import { Buffer } from "node:buffer";
import { describe, expect, test } from "vitest";
import {
  AssertionError,
  CorruptionError,
  crc32,
  frameRecord,
  frameRecordInto,
  recordBytesMax,
  readRecordLog,
  recordHeaderBytes,
} from "@concord/core";

const text = new TextEncoder();

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** sampleRecords covers an empty record, a one-byte record and longer ones. */
const sampleRecords: Uint8Array[] = [
  text.encode("first"),
  new Uint8Array(0),
  new Uint8Array([0]),
  text.encode("a somewhat longer record, with unicode: ∀x ∈ ℕ 🙂"),
  Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff),
];

function framedLog(records: readonly Uint8Array[]): { bytes: Uint8Array; ends: number[]; starts: number[] } {
  const frames = records.map(frameRecord);
  const starts: number[] = [];
  const ends: number[] = [];
  let offset = 0;
  for (const frame of frames) {
    starts.push(offset);
    offset += frame.length;
    ends.push(offset);
  }
  return { bytes: concat(frames), starts, ends };
}

describe("crc32", () => {
  test("matches the IEEE 802.3 check value: crc32('123456789') = 0xCBF43926", () => {
    expect(crc32(text.encode("123456789"))).toBe(0xcbf43926);
  });

  test("matches other known vectors (empty, 'a', the quick brown fox, 32 zero bytes)", () => {
    expect(crc32(new Uint8Array(0))).toBe(0);
    expect(crc32(text.encode("a"))).toBe(0xe8b7be43);
    expect(crc32(text.encode("The quick brown fox jumps over the lazy dog"))).toBe(0x414fa339);
    expect(crc32(new Uint8Array(32))).toBe(0x190a55ad);
  });

  test("computes over [start, end) only", () => {
    const bytes = text.encode("xx123456789yy");
    expect(crc32(bytes, 2, 11)).toBe(0xcbf43926);
    expect(crc32(bytes, 2)).toBe(crc32(text.encode("123456789yy")));
  });

  test("returns an unsigned 32-bit integer", () => {
    for (let n = 0; n < 64; n++) {
      const value = crc32(Uint8Array.from({ length: n }, (_, i) => (i * 31 + n) & 0xff));
      expect(value >= 0 && value < 2 ** 32 && Number.isInteger(value)).toBe(true);
    }
  });
});

describe("frameRecord", () => {
  test("writes length, the length's CRC-32, the payload's CRC-32 (little-endian), then the payload", () => {
    const payload = text.encode("123456789");
    const framed = frameRecord(payload);
    expect(framed.length).toBe(recordHeaderBytes + payload.length);
    const view = new DataView(framed.buffer, framed.byteOffset, framed.byteLength);
    expect(view.getUint32(0, true)).toBe(9);
    expect(view.getUint32(4, true)).toBe(crc32(Uint8Array.of(9, 0, 0, 0)));
    expect(view.getUint32(8, true)).toBe(0xcbf43926);
    expect(framed.subarray(recordHeaderBytes)).toEqual(payload);
  });

  test("frameRecordInto writes the same frame in place at an offset, touching nothing around it, and returns the offset after it", () => {
    for (let length = 0; length <= 200; length += 7) {
      const payload = Uint8Array.from({ length }, (_, i) => (i * 13 + length) & 0xff);
      const out = new Uint8Array(5 + recordHeaderBytes + length + 5).fill(0xee);
      expect(frameRecordInto(payload, out, 5)).toBe(5 + recordHeaderBytes + length);
      expect(out.subarray(5, 5 + recordHeaderBytes + length)).toEqual(frameRecord(payload));
      expect([...out.subarray(0, 5), ...out.subarray(5 + recordHeaderBytes + length)]).toEqual(new Array(10).fill(0xee));
    }
  });

  test("refuses a record larger than recordBytesMax, which recovery could not read back", () => {
    // A fake record: only its length is read before the check.
    const huge = { length: recordBytesMax + 1 } as unknown as Uint8Array;
    expect(() => frameRecord(huge)).toThrow(AssertionError);
    expect(() => frameRecordInto(huge, new Uint8Array(16), 0)).toThrow(AssertionError);
  });
});

describe("readRecordLog", () => {
  test("reads back every framed record in order", () => {
    const { bytes } = framedLog(sampleRecords);
    const log = readRecordLog(bytes);
    expect(log.records).toEqual(sampleRecords);
    expect(log.validBytes).toBe(bytes.length);
    expect(log.tornBytes).toBe(0);
  });

  test("reads an empty log as no records", () => {
    expect(readRecordLog(new Uint8Array(0))).toEqual({ records: [], validBytes: 0, tornBytes: 0 });
  });

  test("returns copies: changing the log afterwards does not change the records", () => {
    const { bytes } = framedLog([text.encode("abc")]);
    const log = readRecordLog(bytes);
    bytes.fill(0);
    expect(log.records[0]).toEqual(text.encode("abc"));
  });

  test("returns plain, independent Uint8Arrays when the log is a Node Buffer (whose slice is a view)", () => {
    const { bytes } = framedLog(sampleRecords);
    const file = Buffer.from(bytes);
    const log = readRecordLog(file);
    file.fill(0);
    expect(log.records).toEqual(sampleRecords);
    expect(log.records.every((record) => record.constructor === Uint8Array)).toBe(true);
  });

  test("reads a log that is a view into a larger buffer (non-zero byteOffset)", () => {
    const { bytes } = framedLog(sampleRecords);
    const backing = new Uint8Array(bytes.length + 13);
    backing.set(bytes, 5);
    const log = readRecordLog(backing.subarray(5, 5 + bytes.length));
    expect(log.records).toEqual(sampleRecords);
    expect(log.tornBytes).toBe(0);
  });

  test("truncates a torn tail of every possible length to the last whole record", () => {
    const { bytes, ends } = framedLog(sampleRecords);
    for (let length = 0; length <= bytes.length; length++) {
      const whole = ends.filter((end) => end <= length).length;
      const validBytes = whole === 0 ? 0 : (ends[whole - 1] as number);
      const log = readRecordLog(bytes.subarray(0, length));
      expect({ length, records: log.records, validBytes: log.validBytes, tornBytes: log.tornBytes }).toEqual({
        length,
        records: sampleRecords.slice(0, whole),
        validBytes,
        tornBytes: length - validBytes,
      });
    }
  });

  test("refuses a damaged header even on the last record: a torn append leaves a prefix, never a wrong header", () => {
    const { bytes, starts } = framedLog(sampleRecords);
    const lastStart = starts[starts.length - 1] as number;
    for (let position = lastStart; position < lastStart + 8; position++) {
      const damaged = bytes.slice();
      damaged[position] = (damaged[position] as number) ^ 0x40;
      expect(() => readRecordLog(damaged)).toThrow(CorruptionError);
    }
  });

  test("treats a bad payload CRC on the last record as a torn tail (every byte of it damaged in turn)", () => {
    const { bytes, starts } = framedLog(sampleRecords);
    const lastStart = starts[starts.length - 1] as number;
    for (let position = lastStart + 8; position < bytes.length; position++) {
      const damaged = bytes.slice();
      damaged[position] = (damaged[position] as number) ^ 0x40;
      const log = readRecordLog(damaged);
      expect(log.records).toEqual(sampleRecords.slice(0, -1));
      expect(log.validBytes).toBe(lastStart);
      expect(log.tornBytes).toBe(bytes.length - lastStart);
    }
  });

  test("refuses a bad CRC in the middle with a CorruptionError naming the source, record and offset", () => {
    const { bytes, starts } = framedLog(sampleRecords);
    for (let index = 0; index < sampleRecords.length - 1; index++) {
      const start = starts[index] as number;
      const damaged = bytes.slice();
      // Damage the stored CRC, so that even the empty record fails its check.
      damaged[start + 4] = (damaged[start + 4] as number) ^ 0x01;
      let caught: unknown;
      try {
        readRecordLog(damaged, "node-3.log");
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(CorruptionError);
      const message = (caught as Error).message;
      expect(message).toContain("node-3.log");
      expect(message).toContain(`record ${index} `);
      expect(message).toContain(`byte ${start} `);
    }
  });

  test("refuses a damaged payload byte in the middle, for every byte of a middle record", () => {
    const { bytes, starts, ends } = framedLog(sampleRecords);
    const start = starts[3] as number;
    for (let position = start + recordHeaderBytes; position < (ends[3] as number); position++) {
      const damaged = bytes.slice();
      damaged[position] = (damaged[position] as number) ^ 0xff;
      expect(() => readRecordLog(damaged)).toThrow(CorruptionError);
    }
  });

  test("refuses a bad last record when a torn partial header follows it (it is not the tail)", () => {
    const { bytes, starts } = framedLog(sampleRecords);
    const lastStart = starts[starts.length - 1] as number;
    const damaged = concat([bytes, new Uint8Array([1, 2, 3])]);
    damaged[lastStart + recordHeaderBytes] = (damaged[lastStart + recordHeaderBytes] as number) ^ 1;
    expect(() => readRecordLog(damaged)).toThrow(CorruptionError);
  });

  test("never returns a wrong record: any single bit flip gives a prefix of the records or a CorruptionError", () => {
    const { bytes } = framedLog(sampleRecords);
    let refused = 0;
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      const damaged = bytes.slice();
      damaged[bit >>> 3] = (damaged[bit >>> 3] as number) ^ (1 << (bit & 7));
      let records: Uint8Array[];
      try {
        records = readRecordLog(damaged).records;
      } catch (error) {
        expect(error).toBeInstanceOf(CorruptionError);
        refused++;
        continue;
      }
      expect(records.length, `bit ${bit}`).toBeLessThan(sampleRecords.length);
      expect(records, `bit ${bit}`).toEqual(sampleRecords.slice(0, records.length));
    }
    expect(refused).toBeGreaterThan(0);
  });

  test("refuses a checked header whose length exceeds recordBytesMax rather than allocating it", () => {
    const { bytes } = framedLog(sampleRecords.slice(0, 2));
    const header = new Uint8Array(recordHeaderBytes);
    const view = new DataView(header.buffer);
    view.setUint32(0, recordBytesMax + 1, true);
    view.setUint32(4, crc32(header, 0, 4), true);
    expect(() => readRecordLog(concat([bytes, header, new Uint8Array(16)]))).toThrow(/exceeds recordBytesMax/);
  });

  test("refuses a corrupted length in the middle instead of dropping every later record as a torn tail", () => {
    const { bytes, starts } = framedLog(sampleRecords);
    const damaged = bytes.slice();
    const start = starts[1] as number;
    damaged[start + 3] = 0x7f; // the length now points far past the end
    expect(() => readRecordLog(damaged, "wal")).toThrow(/wal: record 1 at byte \d+ is corrupt: its header fails its CRC/);
  });

  test("treats a zero-filled tail (a preallocated or torn write) as torn, not as empty records", () => {
    const { bytes, ends } = framedLog(sampleRecords.slice(0, 2));
    const log = readRecordLog(concat([bytes, new Uint8Array(40)]));
    expect(log.records).toEqual(sampleRecords.slice(0, 2));
    expect(log.validBytes).toBe(ends[1]);
    expect(log.tornBytes).toBe(40);
  });
});
