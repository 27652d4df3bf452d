// The names FileStorage gives its files, and the reading of a directory
// listing into generations. Pure functions: no I/O here, so that the rules
// that decide what recovery keeps, deletes or refuses are in one place and
// testable on a list of names.
import { CorruptionError } from "@concord/core";

/** identityFileName is the file that says which algorithm and node own a data directory. */
export const identityFileName = "identity.json";

/** temporarySuffix marks a file being written; recovery deletes every one it finds. */
export const temporarySuffix = ".tmp";

const hexDigits = 16;
const segmentPattern = /^segment-([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;
const snapshotPattern = /^snapshot-([0-9a-f]{16})\.snap$/;
const temporaryPattern = /^(?:snapshot-[0-9a-f]{16}\.snap|identity\.json)\.tmp$/;

function hex(value: number): string {
  return value.toString(16).padStart(hexDigits, "0");
}

/** segmentFileName names segment `sequence` of generation `generation`'s log (16 hex digits each, so names sort as numbers). */
export function segmentFileName(generation: number, sequence: number): string {
  return `segment-${hex(generation)}-${hex(sequence)}.wal`;
}

/** snapshotFileName names generation `generation`'s snapshot; its appearance under this name is the generation's commit point. */
export function snapshotFileName(generation: number): string {
  return `snapshot-${hex(generation)}.snap`;
}

/** isStorageFileName tells whether `name` is one FileStorage writes (a foreign directory holds none but may hold others). */
export function isStorageFileName(name: string): boolean {
  return name === identityFileName || segmentPattern.test(name) || snapshotPattern.test(name) || temporaryPattern.test(name);
}

/** SegmentName is one segment file of a generation's log. */
export interface SegmentName {
  readonly generation: number;
  readonly sequence: number;
  readonly name: string;
}

/**
 * DirectoryPlan is what recovery makes of a directory listing: the current
 * generation and its files, and the files to delete (temporaries, the
 * generations a later snapshot replaced, and an uncommitted next generation).
 */
export interface DirectoryPlan {
  /** generation is the current generation: the newest with a committed snapshot, or 0 (no snapshot) when none has one. */
  readonly generation: number;
  /** snapshot is the current generation's snapshot file, undefined for generation 0. */
  readonly snapshot: string | undefined;
  /** segments are the current generation's segment files, in sequence order, numbered 0, 1, ... without gaps. */
  readonly segments: readonly SegmentName[];
  /** leftovers are files of ours that hold nothing durable: recovery deletes them. */
  readonly leftovers: readonly string[];
}

/**
 * planDirectory reads a listing of a data directory (an identity file
 * already checked) into the current generation and the leftovers, or
 * refuses it with a {@link CorruptionError} when no crash of ours can have
 * left it so: a segment of a generation newer than the next, a next
 * generation past its first segment or without the current one's files
 * beside it (its snapshot was lost, not left uncommitted), a gap in the
 * current generation's segments, or a current generation with no segment.
 * Names that are not ours are ignored: they are never read and never deleted.
 */
export function planDirectory(directory: string, names: readonly string[]): DirectoryPlan {
  const segments: SegmentName[] = [];
  const snapshots: number[] = [];
  const leftovers: string[] = [];
  for (const name of names) {
    const segment = segmentPattern.exec(name);
    const snapshot = snapshotPattern.exec(name);
    if (segment !== null) segments.push({ generation: parseHex(segment[1]), sequence: parseHex(segment[2]), name });
    else if (snapshot !== null) snapshots.push(parseHex(snapshot[1]));
    else if (temporaryPattern.test(name)) leftovers.push(name);
  }
  if (snapshots.includes(0)) throw new CorruptionError(`${directory}: ${snapshotFileName(0)} cannot be ours (generation 0 never has a snapshot); refusing to guess`);
  const generation = snapshots.reduce((newest, g) => Math.max(newest, g), 0);
  for (const g of snapshots) if (g < generation) leftovers.push(snapshotFileName(g));
  const current: SegmentName[] = [];
  for (const segment of segments) {
    if (segment.generation < generation) leftovers.push(segment.name);
    else if (segment.generation === generation) current.push(segment);
    else if (segment.generation === generation + 1 && segment.sequence === 0) leftovers.push(segment.name);
    else throw lostSnapshot(directory, segment.name, generation);
  }
  current.sort((a, b) => a.sequence - b.sequence);
  const uncommitted = segments.some((segment) => segment.generation === generation + 1);
  if (uncommitted && current.length === 0) throw lostSnapshot(directory, segmentFileName(generation + 1, 0), generation);
  current.forEach((segment, index) => {
    if (segment.sequence !== index) {
      throw new CorruptionError(`${directory}: segment file ${segmentFileName(generation, index)} is missing (generation ${generation} has ${segment.name}); refusing to recover a log with a hole in it`);
    }
  });
  if (generation > 0 && current.length === 0) {
    throw new CorruptionError(`${directory}: ${snapshotFileName(generation)} has no segment file beside it (${segmentFileName(generation, 0)} is missing); refusing to recover without the records that follow the snapshot`);
  }
  return { generation, snapshot: generation > 0 ? snapshotFileName(generation) : undefined, segments: current, leftovers };
}

function lostSnapshot(directory: string, segment: string, generation: number): CorruptionError {
  return new CorruptionError(
    `${directory}: ${segment} belongs to a generation whose snapshot is missing (the newest snapshot found is generation ${generation}); a crash leaves at most the first segment of the next generation, so a file was lost or added by hand; refusing to guess`,
  );
}

function parseHex(digits: string | undefined): number {
  const value = Number.parseInt(digits ?? "", 16);
  // Sixteen hex digits can exceed 2^53; names this storage writes never do.
  if (!Number.isSafeInteger(value)) throw new CorruptionError(`file number 0x${digits ?? ""} is beyond what this storage writes`);
  return value;
}
