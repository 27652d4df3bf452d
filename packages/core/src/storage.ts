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
 */
export interface Storage {
  /** append writes one record after the others; it is not durable until sync. */
  append(record: Uint8Array): void;
  /** sync makes every appended record durable. */
  sync(): void;
  /** replaceWithSnapshot durably and atomically makes `snapshot` the whole state: every earlier record is discarded. */
  replaceWithSnapshot(snapshot: Uint8Array): void;
  /** recover reads back the durable state, truncating a torn tail and refusing a corrupted middle. */
  recover(): DurableState;
}

/** recordHeaderBytes is the size of a framed record's header: length then CRC-32, both little-endian u32. */
export const recordHeaderBytes = 8;

/** maxRecordBytes bounds one record, so that a corrupted length cannot make recovery allocate gigabytes. */
export const maxRecordBytes = 64 * 1024 * 1024;

/** frameRecord encodes one record as `length | crc32 | payload`, the format both runtimes write. */
export function frameRecord(record: Uint8Array): Uint8Array {
  // Recovery reads a longer record as a torn tail and would drop it with everything after it.
  assert(record.length <= maxRecordBytes, () => `record of ${record.length} bytes exceeds maxRecordBytes (${maxRecordBytes})`);
  const framed = new Uint8Array(recordHeaderBytes + record.length);
  const view = new DataView(framed.buffer);
  view.setUint32(0, record.length, true);
  view.setUint32(4, crc32(record), true);
  framed.set(record, recordHeaderBytes);
  return framed;
}

/** RecordLog is the result of reading a framed log: its whole records and how many bytes of torn tail follow them. */
export interface RecordLog {
  readonly records: Uint8Array[];
  /** validBytes is the length of the prefix that holds whole, checked records. */
  readonly validBytes: number;
  /** tornBytes counts the trailing bytes of an incomplete last record, which recovery truncates. */
  readonly tornBytes: number;
}

/**
 * readRecordLog parses a framed log. A damaged final record (short, or failing
 * its CRC with nothing after it) is a torn write and is reported as `tornBytes`;
 * damage with whole records after it is corruption, and throws a
 * {@link CorruptionError} naming the record and offset.
 */
export function readRecordLog(bytes: Uint8Array, source = "log"): RecordLog {
  const records: Uint8Array[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  while (offset < bytes.length) {
    const remaining = bytes.length - offset;
    if (remaining < recordHeaderBytes) return { records, validBytes: offset, tornBytes: remaining };
    const length = view.getUint32(offset, true);
    const expectedCrc = view.getUint32(offset + 4, true);
    const end = offset + recordHeaderBytes + length;
    if (length > maxRecordBytes || end > bytes.length) {
      // A length running past the end is what a torn append looks like.
      return { records, validBytes: offset, tornBytes: remaining };
    }
    const actualCrc = crc32(bytes, offset + recordHeaderBytes, end);
    if (actualCrc !== expectedCrc) {
      if (end === bytes.length) return { records, validBytes: offset, tornBytes: remaining };
      throw new CorruptionError(
        `${source}: record ${records.length} at byte ${offset} fails its CRC (expected ${hex(expectedCrc)}, found ${hex(actualCrc)}) and is followed by ${bytes.length - end} more bytes; refusing to guess`,
      );
    }
    // A copy, and a plain Uint8Array even when `bytes` is a Node Buffer (whose slice is a view).
    records.push(new Uint8Array(bytes.subarray(offset + recordHeaderBytes, end)));
    offset = end;
  }
  return { records, validBytes: offset, tornBytes: 0 };
}

function hex(value: number): string {
  return `0x${value.toString(16).padStart(8, "0")}`;
}
