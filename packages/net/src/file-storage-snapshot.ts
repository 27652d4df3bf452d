// The snapshot file's format: a header record, then the snapshot in chunks,
// each framed and CRC-checked with core's frameRecord, so that a snapshot
// larger than one record's limit still fits and every byte of it is checked.
import { CorruptionError, frameRecord, readRecordLog } from "@concord/core";

/** snapshotChunkBytes is the size of one framed chunk of a snapshot file (well under core's recordBytesMax). */
export const snapshotChunkBytes = 16 * 1024 * 1024;

const snapshotFormat = "concord-snapshot/1";

interface SnapshotHeader {
  readonly format: string;
  readonly generation: number;
  readonly snapshotBytes: number;
  readonly chunks: number;
}

/** encodeSnapshotFile frames `snapshot` as generation `generation`'s snapshot file: a JSON header record, then the chunks. */
export function encodeSnapshotFile(generation: number, snapshot: Uint8Array): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let offset = 0; offset < snapshot.length; offset += snapshotChunkBytes) {
    chunks.push(snapshot.subarray(offset, Math.min(snapshot.length, offset + snapshotChunkBytes)));
  }
  const header: SnapshotHeader = { format: snapshotFormat, generation, snapshotBytes: snapshot.length, chunks: chunks.length };
  return [frameRecord(new TextEncoder().encode(JSON.stringify(header))), ...chunks.map(frameRecord)];
}

/**
 * decodeSnapshotFile reads generation `generation`'s snapshot file back, or
 * throws a {@link CorruptionError} naming `path`: the file was synced before
 * it was renamed into place, so anything short of a whole, checked file of
 * the generation its name says is corruption, never a torn write to forgive.
 */
export function decodeSnapshotFile(bytes: Uint8Array, path: string, generation: number): Uint8Array {
  const log = readRecordLog(bytes, path);
  if (log.tornBytes > 0) {
    throw new CorruptionError(`${path}: the snapshot file is damaged at byte ${log.validBytes} (a short or failed record, ${log.tornBytes} bytes to the end); it was synced before its rename, so this is corruption`);
  }
  const [headerRecord, ...chunks] = log.records;
  const header = headerRecord === undefined ? undefined : parseHeader(headerRecord);
  if (header === undefined || header.format !== snapshotFormat) throw new CorruptionError(`${path}: the snapshot file has no ${snapshotFormat} header`);
  if (header.generation !== generation) throw new CorruptionError(`${path}: the snapshot file says it is generation ${header.generation}, its name says ${generation}`);
  const snapshotBytes = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  if (chunks.length !== header.chunks || snapshotBytes !== header.snapshotBytes) {
    throw new CorruptionError(`${path}: the snapshot file holds ${chunks.length} chunks of ${snapshotBytes} bytes, its header says ${header.chunks} of ${header.snapshotBytes}`);
  }
  const snapshot = new Uint8Array(snapshotBytes);
  let offset = 0;
  for (const chunk of chunks) {
    snapshot.set(chunk, offset);
    offset += chunk.length;
  }
  return snapshot;
}

function parseHeader(record: Uint8Array): SnapshotHeader | undefined {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(record));
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const { format, generation, snapshotBytes, chunks } = value as Record<string, unknown>;
  if (typeof format !== "string" || !isCount(generation) || !isCount(snapshotBytes) || !isCount(chunks)) return undefined;
  return { format, generation, snapshotBytes, chunks };
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}
