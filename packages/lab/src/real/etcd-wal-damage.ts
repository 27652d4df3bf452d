import { closeSync, openSync, readFileSync, readdirSync, writeSync } from "node:fs";
import { basename, join } from "node:path";
import type { StorageDamage } from "@concord/net";

// The disk nemesis's torn and corrupt shapes for etcd 3.4's write-ahead log
// (go.etcd.io/etcd/wal): <data-dir>/member/wal/<seq>-<index>.wal files, each
// preallocated to 64 MB and zero after its last record. A record is a frame:
// an 8-byte little-endian length word (its low 56 bits the record's length,
// its top byte, when its high bit is set, the zero padding after it in the low
// 3 bits, to an 8-byte boundary), then a walpb.Record (protobuf: 1 type,
// 2 crc, 3 data), whose crc is a CRC-32C chained over the data of every
// record since the file's crc record. A length word of zero is the end.
//
// What etcd 3.4 does with each (wal/decoder.go, wal/repair.go, etcdserver's
// readWAL): a record that fails to decode or fails its CRC is a torn write
// (io.ErrUnexpectedEOF) when one of its 512-byte sectors (split on the
// file's sector boundaries) is all zeros and it is in the last file; etcd
// then copies the file to <file>.broken, truncates it before the record,
// logs "repaired" with the path and "unexpected EOF", and starts. Any other
// CRC failure ("walpb: crc mismatch") ends the start, fatally.

/** EtcdWalDamage is a {@link StorageDamage} with how etcd names it: the log line a restarted member must write. */
export interface EtcdWalDamage extends StorageDamage {
  /** names tells whether a line of etcd's is the one that names this damage. */
  names(line: string): boolean;
}

/** WalRecord is one frame of a WAL file: where it starts, and where its walpb.Record's data field lies. */
export interface WalRecord {
  /** offset is the frame's first byte (its length word). */
  readonly offset: number;
  /** end is the byte after its padding. */
  readonly end: number;
  readonly type: number;
  /** dataStart and dataEnd bound the data field's bytes (equal when it has none). */
  readonly dataStart: number;
  readonly dataEnd: number;
}

const frameBytes = 8;
const sectorBytes = 512;
/** entryType is a raft log entry's record. */
const entryType = 2;

/**
 * parseWalFrames reads the frames of one WAL file up to the first zero length
 * word (or the file's end, or a frame that would run past it), and parses
 * each record's protobuf far enough to find its type and data field.
 */
export function parseWalFrames(bytes: Buffer): WalRecord[] {
  const records: WalRecord[] = [];
  for (let offset = 0; offset + frameBytes <= bytes.length; ) {
    const word = bytes.readBigUInt64LE(offset);
    if (word === 0n) break;
    const length = Number(word & 0x00ff_ffff_ffff_ffffn);
    const padding = word >> 63n === 1n ? Number((word >> 56n) & 7n) : 0;
    const end = offset + frameBytes + length + padding;
    if (end > bytes.length) break;
    records.push({ offset, end, ...parseRecord(bytes, offset + frameBytes, offset + frameBytes + length) });
    offset = end;
  }
  return records;
}

/** parseRecord reads a walpb.Record's type (field 1) and the bounds of its data (field 3) in bytes[from, to). */
function parseRecord(bytes: Buffer, from: number, to: number): { type: number; dataStart: number; dataEnd: number } {
  let type = 0;
  let dataStart = to;
  let dataEnd = to;
  const varint = (at: number): { value: number; next: number } => {
    let value = 0;
    let scale = 1;
    for (let i = at; i < to; i++) {
      const byte = bytes[i] as number;
      value += (byte & 0x7f) * scale;
      scale *= 128;
      if (byte < 0x80) return { value, next: i + 1 };
    }
    throw new Error(`a varint runs past the record ending at byte ${to}`);
  };
  for (let at = from; at < to; ) {
    const key = varint(at);
    const field = Math.floor(key.value / 8);
    const wire = key.value % 8;
    if (wire === 0) {
      const value = varint(key.next);
      if (field === 1) type = value.value;
      at = value.next;
    } else if (wire === 2) {
      const length = varint(key.next);
      if (field === 3) {
        dataStart = length.next;
        dataEnd = length.next + length.value;
      }
      at = length.next + length.value;
    } else {
      throw new Error(`wire type ${wire} in the record ending at byte ${to}: not a walpb.Record`);
    }
  }
  return { type, dataStart, dataEnd };
}

/**
 * damageEtcdWal damages the WAL in `walDir` (a member's member/wal, the
 * member down): `torn` appends a copy of the last file's last record after
 * it, with the bytes from the last sector boundary inside it (or after its
 * length word, when it fits in one sector) left zero: the sectors a torn
 * append never wrote; etcd must repair it. `corrupt` flips every bit of the middle byte
 * of the data of the newest entry record before the last record (of any
 * file) whose sectors hold no all-zero one (that would read as torn); etcd
 * must refuse to start. Undefined for `corrupt` when no record qualifies.
 */
export function damageEtcdWal(walDir: string, kind: "torn" | "corrupt"): EtcdWalDamage | undefined {
  const files = readdirSync(walDir).filter((name) => name.endsWith(".wal")).sort().map((name) => join(walDir, name));
  if (files.length === 0) throw new Error(`${walDir}: no .wal file to damage`);
  const parsed = files.map((file) => ({ file, bytes: readFileSync(file), records: [] as WalRecord[] }));
  for (const entry of parsed) entry.records = parseWalFrames(entry.bytes);
  const last = parsed[parsed.length - 1] as (typeof parsed)[number];
  if (kind === "torn") {
    // A copy of the last record's frame, appended after it, with its last sector unwritten: an append the kill cut short, never synced, so never acknowledged. (Tearing the last record itself would be a disk losing a synced write: raft then finds the leader's commit index past its log and panics, rightly.)
    const record = last.records[last.records.length - 1];
    if (record === undefined) throw new Error(`${last.file}: no record to copy for a torn append`);
    const size = record.end - record.offset;
    const at = record.end;
    if (at + size > last.bytes.length) throw new Error(`${last.file}: no room after byte ${at} for a torn append of ${size} bytes`);
    const boundary = Math.floor((at + size - 1) / sectorBytes) * sectorBytes;
    const written = (boundary > at + frameBytes ? boundary : at + frameBytes) - at;
    const torn = new Uint8Array(size);
    torn.set(last.bytes.subarray(record.offset, record.offset + written));
    writeAt(last.file, at, torn);
    return {
      kind,
      file: last.file,
      offset: at,
      description: `a torn record of ${written} of its ${size} bytes appended at byte ${at} of ${last.file} (a copy of the last record, its last sector unwritten)`,
      repair: () => undefined,
      names: (line) => /"msg":"repaired"/.test(line) && line.includes(`/${basename(last.file)}"`) && line.includes('"error":"unexpected EOF"'),
    };
  }
  const candidates = parsed.flatMap((entry, fileIndex) =>
    entry.records
      .filter((record, index) => (fileIndex < parsed.length - 1 || index < entry.records.length - 1) && record.type === entryType && record.dataEnd > record.dataStart && entry.bytes[middle(record)] !== 0xff && !hasZeroSector(entry.bytes, record))
      .map((record) => ({ entry, record })),
  );
  const chosen = candidates[candidates.length - 1];
  if (chosen === undefined) return undefined;
  const { entry, record } = chosen;
  const at = middle(record);
  const original = entry.bytes[at] as number;
  writeAt(entry.file, at, Uint8Array.of(original ^ 0xff));
  return {
    kind,
    file: entry.file,
    offset: at,
    description: `every bit of byte ${at} of ${entry.file} flipped, in the data of the entry record at byte ${record.offset}`,
    repair: () => writeAt(entry.file, at, Uint8Array.of(original)),
    // etcd 3.4 reads the WAL first for its snapshot entries (wal.ValidSnapshotEntries), whose error ends the start as `"msg":"discovery failed","error":"walpb: crc mismatch"`; it names neither file nor offset.
    names: (line) => /"level":"fatal"/.test(line) && line.includes("crc mismatch"),
  };
}

/** middle is the middle byte of a record's data: flipped, it fails the record's CRC and no more (the protobuf around it still parses). */
function middle(record: WalRecord): number {
  return record.dataStart + Math.floor((record.dataEnd - record.dataStart) / 2);
}

/** hasZeroSector tells whether a record's bytes after its length word, split on the file's 512-byte sector boundaries as etcd's decoder splits them, hold an all-zero piece. */
function hasZeroSector(bytes: Buffer, record: WalRecord): boolean {
  for (let from = record.offset + frameBytes; from < record.end; ) {
    const to = Math.min(record.end, (Math.floor(from / sectorBytes) + 1) * sectorBytes);
    if (bytes.subarray(from, to).every((byte) => byte === 0)) return true;
    from = to;
  }
  return false;
}

/** writeAt writes `bytes` into `file` at `offset`, in place (the rest of a 64 MB file untouched). */
function writeAt(file: string, offset: number, bytes: Uint8Array): void {
  const fd = openSync(file, "r+");
  try {
    writeSync(fd, bytes, 0, bytes.length, offset);
  } finally {
    closeSync(fd);
  }
}
