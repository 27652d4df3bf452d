import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { damageEtcdWal, parseWalFrames } from "@concord/lab";

// The disk nemesis's torn and corrupt shapes for etcd's WAL, on WAL files
// built here frame by frame (the real test, in cli's real-nemesis.test.ts,
// runs them against etcd 3.4 itself).

/** frame encodes a walpb.Record (1 type, 2 crc, 3 data) as etcd's encoder does: the length word, padding to 8 bytes flagged in its top byte. */
function frame(type: number, crc: number, data: Uint8Array | undefined): Buffer {
  const varint = (value: number): number[] => {
    const out: number[] = [];
    for (; value >= 0x80; value = Math.floor(value / 128)) out.push((value % 128) | 0x80);
    out.push(value);
    return out;
  };
  const record = Buffer.from([0x08, ...varint(type), 0x10, ...varint(crc), ...(data === undefined ? [] : [0x1a, ...varint(data.length), ...data])]);
  const padding = (8 - (record.length % 8)) % 8;
  const word = BigInt(record.length) | (padding > 0 ? (0x80n | BigInt(padding)) << 56n : 0n);
  const header = Buffer.alloc(8);
  header.writeBigUInt64LE(word);
  return Buffer.concat([header, record, Buffer.alloc(padding)]);
}

/** walDir writes one .wal file of `frames` followed by zeros (etcd preallocates its segments), and returns its directory and path. */
function walDir(frames: readonly Buffer[], size = 4096): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), "concord-wal-"));
  const file = join(dir, "0000000000000000-0000000000000000.wal");
  const bytes = Buffer.alloc(size);
  Buffer.concat(frames).copy(bytes);
  writeFileSync(file, bytes);
  writeFileSync(join(dir, "0.tmp"), Buffer.alloc(size));
  return { dir, file };
}

const entry = (length: number, fill: number): Uint8Array => new Uint8Array(length).fill(fill);

describe("etcd's WAL, damaged for the disk nemesis", () => {
  it("parses frames by their length words, padding read from the top byte, up to the first zero word", () => {
    const frames = [frame(4, 0, undefined), frame(1, 7, entry(21, 1)), frame(2, 300, entry(100, 2)), frame(3, 9, entry(14, 3))];
    const { dir, file } = walDir(frames);
    try {
      const records = parseWalFrames(readFileSync(file));
      let offset = 0;
      expect(records.map((record) => record.type)).toEqual([4, 1, 2, 3]);
      records.forEach((record, index) => {
        expect(record.offset).toBe(offset);
        offset += (frames[index] as Buffer).length;
        expect(record.end).toBe(offset);
        expect(record.end % 8).toBe(0);
      });
      expect(records[0]?.dataEnd).toBe(records[0]?.dataStart);
      // The data field's bytes are where the record's bytes put them: 100 bytes of 2s.
      const bytes = readFileSync(file);
      expect([...bytes.subarray(records[2]?.dataStart, records[2]?.dataEnd)]).toEqual([...entry(100, 2)]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("torn appends a copy of the last record after it, its bytes from the last sector boundary inside it left zero", () => {
    // Frames of 16, 720 and 216 bytes: the copy of the last, at 952, runs over the sector boundary at 1024; what lies past it is the sector never written.
    const frames = [frame(4, 0, undefined), frame(2, 1, entry(700, 5)), frame(2, 2, entry(200, 6))];
    const { dir, file } = walDir(frames);
    try {
      const before = parseWalFrames(readFileSync(file));
      const last = before[before.length - 1]!;
      const damage = damageEtcdWal(dir, "torn");
      const size = last.end - last.offset;
      const boundary = 1024;
      expect([last.offset, size]).toEqual([736, 216]);
      expect(damage?.offset).toBe(952);
      expect(damage?.file).toBe(file);
      expect(damage?.description).toBe(`a torn record of 72 of its 216 bytes appended at byte 952 of ${file} (a copy of the last record, its last sector unwritten)`);
      const bytes = readFileSync(file);
      expect(bytes.subarray(last.end, boundary).equals(bytes.subarray(last.offset, last.offset + boundary - last.end))).toBe(true);
      expect(bytes.subarray(boundary, last.end + size).every((byte) => byte === 0)).toBe(true);
      expect(damage?.names(`{"level":"info","msg":"repaired","path":"${file}","error":"unexpected EOF"}`)).toBe(true);
      expect(damage?.names(`{"level":"info","msg":"repaired","path":"${file}","error":"EOF"}`)).toBe(false);
      // A record within one sector keeps only its length word.
      const small = walDir([frame(4, 0, undefined), frame(2, 1, entry(30, 8))]);
      try {
        expect(damageEtcdWal(small.dir, "torn")?.description).toMatch(/^a torn record of 8 of its 48 bytes appended at byte 64 of /);
        expect([...readFileSync(small.file).subarray(64, 112)]).toEqual([...readFileSync(small.file).subarray(16, 24), ...new Array(40).fill(0)]);
      } finally {
        rmSync(small.dir, { recursive: true, force: true });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("corrupt flips the middle byte of the data of the newest entry record before the last, and puts it back", () => {
    const frames = [frame(4, 0, undefined), frame(1, 7, entry(21, 1)), frame(2, 11, entry(40, 2)), frame(2, 12, entry(30, 3)), frame(3, 13, entry(14, 4))];
    const { dir, file } = walDir(frames);
    try {
      const original = readFileSync(file);
      const chosen = parseWalFrames(original)[3]!;
      const damage = damageEtcdWal(dir, "corrupt");
      const at = chosen.dataStart + 15;
      expect(damage?.offset).toBe(at);
      expect(damage?.description).toBe(`every bit of byte ${at} of ${file} flipped, in the data of the entry record at byte ${chosen.offset}`);
      const damaged = readFileSync(file);
      expect(damaged[at]).toBe(3 ^ 0xff);
      damaged[at] = 3;
      expect(damaged.equals(original)).toBe(true);
      damage?.repair();
      expect(readFileSync(file).equals(original)).toBe(true);
      expect(damage?.names(`{"level":"fatal","msg":"discovery failed","error":"walpb: crc mismatch"}`)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("corrupt passes over a record with an all-zero sector (etcd would take it for a torn write) and finds nothing in a log of one entry", () => {
    // An entry of zeros across the sector boundary at 512 holds an all-zero piece; the entry before it is the newest that qualifies.
    const frames = [frame(4, 0, undefined), frame(2, 1, entry(40, 7)), frame(2, 2, new Uint8Array(1200)), frame(3, 3, entry(14, 4))];
    const { dir } = walDir(frames);
    const lone = walDir([frame(4, 0, undefined), frame(2, 1, entry(40, 7))]);
    try {
      const records = parseWalFrames(readFileSync(join(dir, "0000000000000000-0000000000000000.wal")));
      expect(damageEtcdWal(dir, "corrupt")?.description).toContain(`in the data of the entry record at byte ${records[1]?.offset}`);
      expect(damageEtcdWal(lone.dir, "corrupt")).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(lone.dir, { recursive: true, force: true });
    }
  });
});
