// Damage to a stopped FileStorage directory, for fault injection (concord
// test's disk nemesis): the two things a real disk does to a log between a
// crash and the next start, written here beside the format they damage.
//
// - A torn tail: the last append was cut short by the crash, so a record's
//   header and part of its payload follow the last synced record. Nothing in
//   it was synced (a sync returns only once its write is whole), so recovery
//   must drop it and keep everything before it.
// - Corruption of synced data: a byte of a record that a sync made durable
//   changed on the disk (bit rot, a misdirected write). Recovery cannot get
//   it back and must not drop it as a torn tail: it refuses to start, naming
//   the file and the offset.
//
// Not done: cutting the last synced record short. That is a disk losing a
// synced write, which no recovery can tell from a torn tail (etcd's WAL and
// ours both drop it), and which the protocols do not promise to survive.
import { closeSync, openSync, readFileSync, readSync, readdirSync, writeSync } from "node:fs";
import { join } from "node:path";
import { frameRecord, readRecordLog, recordHeaderBytes } from "@concord/core";
import { planDirectory } from "./file-storage-layout.ts";

/** StorageDamage says what {@link damageFileStorage} did, and undoes it where it can. */
export interface StorageDamage {
  readonly kind: "torn" | "corrupt";
  /** file is the damaged file's path. */
  readonly file: string;
  /** offset is the byte at which the damage starts: the torn record's first byte, or the changed byte. */
  readonly offset: number;
  /** description says it in one line, naming the file and offset. */
  readonly description: string;
  /** repair puts a changed byte back (a disk restored from a copy); a torn tail needs none: recovery drops it. */
  repair(): void;
}

/**
 * damageFileStorage damages the FileStorage directory `directory`, which no
 * process may have open: `torn` appends a record cut short after the last
 * record of the newest segment (a copy of that record's header and half its
 * payload, or a fixed 64-byte record when the segment is empty); `corrupt`
 * flips every bit of one byte of synced data: the middle of the payload of a
 * record of the current generation other than the newest segment's last (or
 * its length field when the payload is empty), else the middle of the
 * snapshot file, else the length field of the only record. It returns
 * undefined for `corrupt` when the generation holds nothing to corrupt.
 */
export function damageFileStorage(directory: string, kind: "torn" | "corrupt"): StorageDamage | undefined {
  const plan = planDirectory(directory, readdirSync(directory));
  const segments = plan.segments.map((segment) => {
    const path = join(directory, segment.name);
    const bytes = new Uint8Array(readFileSync(path));
    return { path, bytes, offsets: recordOffsets(bytes, path) };
  });
  const newest = segments[segments.length - 1];
  if (kind === "torn") {
    if (newest === undefined) throw new Error(`${directory}: no segment to tear (a FileStorage directory that was never opened?)`);
    const lastOffset = newest.offsets[newest.offsets.length - 1];
    // A record of fewer than two payload bytes cannot be cut inside its payload: a made-up one is torn instead.
    const whole = lastOffset === undefined || newest.bytes.length - lastOffset < recordHeaderBytes + 2 ? frameRecord(new Uint8Array(64).fill(7)) : newest.bytes.subarray(lastOffset, newest.bytes.length);
    const cut = whole.subarray(0, recordHeaderBytes + Math.max(1, Math.floor((whole.length - recordHeaderBytes) / 2)));
    writeAt(newest.path, newest.bytes.length, cut);
    return { kind, file: newest.path, offset: newest.bytes.length, description: `a torn record of ${cut.length} of its ${whole.length} bytes appended at byte ${newest.bytes.length} of ${newest.path}`, repair: () => {} };
  }
  const candidates = segments.flatMap((segment) => segment.offsets.map((offset, index) => ({ segment, offset, last: segment === newest && index === segment.offsets.length - 1 })));
  const inner = candidates.filter((candidate) => !candidate.last);
  const chosen = inner[Math.floor(inner.length / 2)];
  if (chosen !== undefined) {
    const length = new DataView(chosen.segment.bytes.buffer).getUint32(chosen.offset, true);
    const at = length === 0 ? chosen.offset : chosen.offset + recordHeaderBytes + Math.floor(length / 2);
    return flipByte(kind, chosen.segment.path, at, `byte ${at} of ${chosen.segment.path}, in the ${length === 0 ? "length field" : "payload"} of the record at byte ${chosen.offset}`);
  }
  if (plan.snapshot !== undefined) {
    const path = join(directory, plan.snapshot);
    const at = Math.floor(readFileSync(path).length / 2);
    return flipByte(kind, path, at, `byte ${at} of the snapshot file ${path}`);
  }
  const only = candidates[0];
  if (only === undefined) return undefined;
  return flipByte(kind, only.segment.path, only.offset, `byte ${only.offset} of ${only.segment.path}, in the length field of its only record`);
}

/** recordOffsets lists where each whole record of a log file starts. */
function recordOffsets(bytes: Uint8Array, path: string): number[] {
  const offsets: number[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const { validBytes } = readRecordLog(bytes, path);
  for (let offset = 0; offset < validBytes; offset += recordHeaderBytes + view.getUint32(offset, true)) offsets.push(offset);
  return offsets;
}

function flipByte(kind: "corrupt", path: string, at: number, where: string): StorageDamage {
  const flip = (): void => {
    const fd = openSync(path, "r+");
    try {
      const byte = new Uint8Array(1);
      readSync(fd, byte, 0, 1, at);
      byte[0] = (byte[0] as number) ^ 0xff;
      writeSync(fd, byte, 0, 1, at);
    } finally {
      closeSync(fd);
    }
  };
  flip();
  return { kind, file: path, offset: at, description: `every bit of ${where} flipped`, repair: flip };
}

function writeAt(path: string, at: number, bytes: Uint8Array): void {
  const fd = openSync(path, "r+");
  try {
    writeSync(fd, bytes, 0, bytes.length, at);
  } finally {
    closeSync(fd);
  }
}
