// The file operations FileStorage builds on, each with the durability it
// promises written next to it: whole writes at a position, fsync of a file
// and of a directory, atomic replacement of a file by rename.
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { temporarySuffix } from "./file-storage-layout.ts";

/** concatBytes joins `parts` into one buffer, so that a group of records leaves in one write call. */
export function concatBytes(parts: readonly Uint8Array[], totalBytes: number): Uint8Array {
  if (parts.length === 1 && parts[0] !== undefined) return parts[0];
  const joined = new Uint8Array(totalBytes);
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}

/** writeFully writes all of `bytes` to `fd` at `position`, looping over short writes (which a regular file rarely makes, but may). */
export function writeFully(fd: number, bytes: Uint8Array, position: number): void {
  let written = 0;
  while (written < bytes.length) {
    written += writeSync(fd, bytes, written, bytes.length - written, position + written);
  }
}

/** Syncer is how the storage makes a file or a directory durable; it counts and times what it does, and does nothing when fsync is off. */
export interface Syncer {
  /** file makes `fd`'s data durable (fdatasync: its size included, its timestamps not). */
  file(fd: number): void;
  /** directory makes the directory's entries (created, renamed and removed names) durable. */
  directory(): void;
}

/**
 * replaceFileAtomically puts `parts` in `directory/name` so that a crash
 * leaves either no such file (or the old one) or the whole new one: it
 * writes `name.tmp`, syncs it, syncs the directory (so that every file
 * created before, and the temporary, have durable names), renames the
 * temporary over `name` and syncs the directory again. The rename is the
 * commit point; when this returns, the new file is durable.
 */
export function replaceFileAtomically(directory: string, name: string, parts: readonly Uint8Array[], syncer: Syncer): number {
  const temporary = join(directory, name + temporarySuffix);
  const bytes = concatBytes(parts, parts.reduce((sum, part) => sum + part.length, 0));
  const fd = openSync(temporary, "w");
  try {
    writeFully(fd, bytes, 0);
    syncer.file(fd);
  } finally {
    closeSync(fd);
  }
  syncer.directory();
  renameSync(temporary, join(directory, name));
  syncer.directory();
  return bytes.length;
}

/**
 * removeQuietly deletes `directory/name` if it is there. Only files that hold
 * nothing durable are removed this way (leftovers, a replaced generation), so
 * a failure is harmless: the next recovery finds the file and removes it.
 */
export function removeQuietly(directory: string, name: string): boolean {
  try {
    unlinkSync(join(directory, name));
    return true;
  } catch {
    return false;
  }
}

/** syncDirectoryOnce makes `directory`'s entries durable with a descriptor of its own, for the moments before the storage holds one. */
export function syncDirectoryOnce(directory: string): void {
  const fd = openSync(directory, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
