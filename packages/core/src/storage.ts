import { crc32 } from "./crc32.ts";
import { CorruptionError, assert } from "./errors.ts";

/**
 * DurableState is what a replica recovers from stable storage after a restart:
 * its latest snapshot and the records it persisted after that snapshot, in
 * order.
 */
export interface DurableState {
  readonly snapshot: Uint8Array | undefined;
  readonly records: readonly Uint8Array[];
}

/** emptyDurableState is the state of a replica that has never persisted anything. */
export const emptyDurableState: DurableState = { snapshot: undefined, records: [] };

/**
 * Storage is a replica's stable storage as the runtime sees it: an append-only
 * log of records plus one snapshot. Appended records are only durable once
 * `sync()` returns; a crash may lose any record appended after the last sync
 * and may leave the first of them torn.
 *
 * Invariant: a write that is not yet synced never destroys one that was. A
 * snapshot is staged, not installed: until the next `sync()` returns, a crash
 * recovers the previous snapshot and every record synced before, exactly as
 * if the snapshot had never been written. At that sync the snapshot and the
 * records appended after it become the whole durable state at once (etcd
 * keeps the HardState in the WAL and never lets the snapshot file stand in
 * for it; here the snapshot and the records that re-state the term, the vote
 * and the entries after it commit together).
 */
export interface Storage {
  /** append writes one record after the others; it is not durable until sync. */
  append(record: Uint8Array): void;
  /** sync makes every appended record durable, and a staged snapshot with them, atomically. */
  sync(): void;
  /**
   * replaceWithSnapshot stages `snapshot` as the new base of the state: the
   * records appended after this call follow it, and at the next `sync()` the
   * snapshot and those records atomically replace every earlier record and
   * snapshot. A crash before that sync loses the snapshot and those records
   * and keeps the earlier durable state.
   */
  replaceWithSnapshot(snapshot: Uint8Array): void;
  /** recover reads back the durable state, truncating a torn tail and refusing a corrupted middle. */
  recover(): DurableState;
}

/**
 * recordHeaderBytes is the size of a framed record's header: the payload
 * length, a CRC-32 of those four length bytes, and a CRC-32 of the payload,
 * each a little-endian u32. The header's own CRC lets recovery tell a
 * corrupted length in the middle of a log from a torn write at its end.
 */
export const recordHeaderBytes = 12;

/** recordBytesMax bounds one record, so that a corrupted length cannot make recovery allocate gigabytes. */
export const recordBytesMax = 64 * 1024 * 1024;

/** frameRecord encodes one record as `length | crc32(length) | crc32(payload) | payload`, the format both runtimes write. */
export function frameRecord(record: Uint8Array): Uint8Array {
  checkRecordLength(record.length);
  const framed = new Uint8Array(recordHeaderBytes + record.length);
  frameRecordInto(record, framed, 0);
  return framed;
}

/**
 * frameRecordInto writes `record` framed as {@link frameRecord} frames it into `out` at `offset`, which must have
 * room for its recordHeaderBytes + record.length bytes, and returns the offset after it: a storage that keeps its
 * log in one buffer (the simulator's) frames each record in place instead of allocating it apart.
 */
export function frameRecordInto(record: Uint8Array, out: Uint8Array, offset: number): number {
  const length = record.length;
  checkRecordLength(length);
  writeUint32(out, offset, length);
  writeUint32(out, offset + 4, crc32(out, offset, offset + 4));
  writeUint32(out, offset + 8, crc32(record));
  const payload = offset + recordHeaderBytes;
  // Most records are a few dozen bytes: a loop copies that faster than set(), which has a call's fixed cost.
  if (length <= 64) for (let i = 0; i < length; i++) out[payload + i] = record[i] as number;
  else out.set(record, payload);
  return payload + length;
}

/** checkRecordLength refuses a record longer than recordBytesMax: recovery would refuse it as corruption. */
function checkRecordLength(length: number): void {
  assert(length <= recordBytesMax, () => `record of ${length} bytes exceeds recordBytesMax (${recordBytesMax})`);
}

/** writeUint32 writes a u32 little-endian, as DataView's setUint32(offset, value, true) does. */
function writeUint32(out: Uint8Array, offset: number, value: number): void {
  out[offset] = value & 0xff;
  out[offset + 1] = (value >>> 8) & 0xff;
  out[offset + 2] = (value >>> 16) & 0xff;
  out[offset + 3] = value >>> 24;
}

/** RecordLog is the result of reading a framed log: its whole records and how many bytes of torn tail follow them. */
export interface RecordLog {
  readonly records: Uint8Array[];
  /** validBytes is the length of the prefix that holds whole, checked records; a storage truncates to it before appending. */
  readonly validBytes: number;
  /** tornBytes counts the trailing bytes of an incomplete last record, which recovery truncates. */
  readonly tornBytes: number;
}

/**
 * readRecordLog parses a framed log. What a torn append leaves at the end (a
 * partial header, a whole header whose payload runs past the end or fails its
 * CRC as the very last record, or a zero-filled tail) is reported as
 * `tornBytes`. Anything else that fails a check is corruption: it throws a
 * {@link CorruptionError} naming the record and its offset, rather than
 * silently dropping the records after it.
 */
export function readRecordLog(bytes: Uint8Array, source = "log"): RecordLog {
  const records: Uint8Array[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  while (offset < bytes.length) {
    const remaining = bytes.length - offset;
    const torn = { records, validBytes: offset, tornBytes: remaining };
    if (remaining < recordHeaderBytes || allZero(bytes, offset)) return torn;
    const length = view.getUint32(offset, true);
    const headerCrc = view.getUint32(offset + 4, true);
    if (crc32(bytes, offset, offset + 4) !== headerCrc) {
      throw corruption(source, records.length, offset, `its header fails its CRC (length field ${length})`, remaining);
    }
    if (length > recordBytesMax) throw corruption(source, records.length, offset, `its length ${length} exceeds recordBytesMax`, remaining);
    const end = offset + recordHeaderBytes + length;
    if (end > bytes.length) return torn;
    const expectedCrc = view.getUint32(offset + 8, true);
    const actualCrc = crc32(bytes, offset + recordHeaderBytes, end);
    if (actualCrc !== expectedCrc) {
      if (end === bytes.length) return torn;
      throw corruption(source, records.length, offset, `its payload fails its CRC (expected ${hex(expectedCrc)}, found ${hex(actualCrc)})`, remaining);
    }
    // A copy, and a plain Uint8Array even when `bytes` is a Node Buffer (whose slice is a view).
    records.push(new Uint8Array(bytes.subarray(offset + recordHeaderBytes, end)));
    offset = end;
  }
  return { records, validBytes: offset, tornBytes: 0 };
}

function corruption(source: string, index: number, offset: number, what: string, remaining: number): CorruptionError {
  return new CorruptionError(`${source}: record ${index} at byte ${offset} is corrupt: ${what}, with ${remaining} bytes from there to the end; refusing to guess`);
}

function allZero(bytes: Uint8Array, from: number): boolean {
  for (let i = from; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

function hex(value: number): string {
  return `0x${value.toString(16).padStart(8, "0")}`;
}
