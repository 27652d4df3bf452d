// FileStorage: core's Storage on real files, after etcd's WAL (segment
// files of CRC-checked records, fdatasync per save, a cut to a new segment
// past a size, repair of a torn tail) and hashicorp/raft's snapshot store
// (write a temporary, sync, rename).
//
// Layout of a data directory (numbers are 16 lowercase hex digits, so that
// names sort as numbers):
//
//   identity.json                 the algorithm and node id that own the directory
//   snapshot-<g>.snap             generation g's snapshot (g >= 1)
//   segment-<g>-<s>.wal           segment s (0, 1, ...) of generation g's log
//   *.tmp                         a file being written; never read
//
// Generations. The durable state is one generation: its snapshot (none for
// generation 0) and the records of its segments, in order. Records are
// framed with core's frameRecord, the format the simulator's disk writes,
// and read back with readRecordLog. A sync without a staged snapshot writes
// the records appended since the last sync to the newest segment in one
// write and makes them durable with one fdatasync (group commit); when they
// would take that segment past segmentBytesMax, they open the next segment
// instead (one write, one fdatasync, and one directory fsync for the new
// name). A sync with a staged snapshot moves to generation g+1:
//
//   1. write the records appended after the snapshot to segment-<g+1>-0 and
//      fdatasync it;
//   2. write snapshot-<g+1>.snap.tmp, fsync it, fsync the directory (now the
//      new segment and the temporary have durable names);
//   3. rename the temporary to snapshot-<g+1>.snap and fsync the directory:
//      THE COMMIT POINT. Before the rename is durable a crash recovers
//      generation g whole; after it, generation g+1 whole;
//   4. delete generation g's snapshot and segments (log compaction). Not
//      synced: a crash that undoes a deletion leaves a file the next
//      recovery deletes again.
//
// Recovery reads the newest generation that has a snapshot (or generation 0)
// and nothing else, so it never mixes a snapshot with the records of another
// generation. Files of older generations are compaction leftovers and the
// first segment of the next generation is an uncommitted sync's: both are
// deleted, with every temporary. A layout no crash of ours can leave (a
// missing segment, a later generation without its snapshot) is refused.
// Within the current generation, only the last segment may end in a torn
// record: recovery truncates it, on disk, before anything is appended. A
// record that fails its check anywhere else, and a snapshot that is not
// whole, are refused with a CorruptionError naming the file and the offset.
import { closeSync, fdatasyncSync, fsyncSync, ftruncateSync, openSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ConfigError, CorruptionError, frameRecord, readRecordLog, type DurableState, type Storage } from "@concord/core";
import { concatBytes, removeQuietly, replaceFileAtomically, writeFully, type Syncer } from "./file-storage-files.ts";
import { claimDirectory, type FileStorageIdentity } from "./file-storage-identity.ts";
import { planDirectory, segmentFileName, snapshotFileName } from "./file-storage-layout.ts";
import { decodeSnapshotFile, encodeSnapshotFile } from "./file-storage-snapshot.ts";

/** segmentBytesMaxDefault is where a segment is cut when the options do not say (etcd's WAL uses the same 64 MiB). */
export const segmentBytesMaxDefault = 64 * 1024 * 1024;

/**
 * fsyncLatencyBucketBoundsMicros are the upper bounds of the fsync latency
 * histogram's buckets, in microseconds; a last bucket counts the slower ones.
 */
export const fsyncLatencyBucketBoundsMicros: readonly number[] = [100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000];

/** FileStorageOptions configure {@link FileStorage.open}. */
export interface FileStorageOptions {
  /** identity is written to a new directory and must match the one an existing directory holds. */
  readonly identity: FileStorageIdentity;
  /** segmentBytesMax: records go to a new segment file rather than take the newest past this size ({@link segmentBytesMaxDefault}). */
  readonly segmentBytesMax?: number;
  /** fsync: make syncs durable (default true). False only for tests and benchmarks that say so: a crash of the machine then loses synced records. */
  readonly fsync?: boolean;
  /** onFsync, when set, is told the latency of every data fsync, for a metrics histogram of one's own. */
  readonly onFsync?: (latencyMicros: number) => void;
}

/** FileStorageCounters is what one {@link FileStorage} did since it was opened, for the metrics. */
export interface FileStorageCounters {
  /** syncs counts the syncs that had something to write (a sync with nothing appended does no I/O). */
  readonly syncs: number;
  /** fsyncs counts the data fsyncs: one per sync, one more for a sync that installs a snapshot. */
  readonly fsyncs: number;
  /** directoryFsyncs counts the fsyncs of the directory: for a new segment, a snapshot's rename, the identity file. */
  readonly directoryFsyncs: number;
  /** bytesWritten sums the bytes written to segment and snapshot files, framing included. */
  readonly bytesWritten: number;
  /** recordsWritten counts the records written to segments. */
  readonly recordsWritten: number;
  /** snapshotsInstalled counts the snapshots committed (each a new generation). */
  readonly snapshotsInstalled: number;
  /** segmentsCreated counts the segment files created, the first one of a new directory included. */
  readonly segmentsCreated: number;
  /** tornBytesTruncated counts the bytes of a torn tail that opening the storage cut off. */
  readonly tornBytesTruncated: number;
  readonly fsyncLatencyMicrosTotal: number;
  readonly fsyncLatencyMicrosMax: number;
  /** fsyncLatencyBuckets counts the data fsyncs per bucket of {@link fsyncLatencyBucketBoundsMicros}, then the slower ones (not cumulative). */
  readonly fsyncLatencyBuckets: readonly number[];
}

/** TornTail is where a torn last record was found on opening, and how many bytes of it recovery cut off: an append a crash cut short, never synced. */
export interface TornTail {
  readonly file: string;
  readonly offset: number;
  readonly bytes: number;
}

/** StorageFailedError reports a FileStorage used after a sync failed: what that sync wrote is in doubt until the storage is reopened. */
export class StorageFailedError extends Error {
  override readonly name = "StorageFailedError";
}

/**
 * FileStorage is core's {@link Storage} on files in one directory: an
 * append-only log of CRC-checked records in segment files, group commit
 * (the records of one sync leave in one write and one fdatasync), atomic
 * snapshot files, log compaction when a snapshot commits, and recovery that
 * truncates a torn last record and refuses a corrupted one anywhere else.
 * The file's header comment describes the layout and the commit protocol.
 *
 * Invariant: a record is durable when the `sync()` that wrote it returns,
 * and no later write or crash loses it, except a committed snapshot that
 * replaces it (as core's contract says).
 * Invariant: one process at a time opens a directory (nothing enforces it).
 */
export class FileStorage implements Storage {
  /** directory is the absolute path of the data directory. */
  readonly directory: string;
  private readonly segmentBytesMax: number;
  private readonly fsyncEnabled: boolean;
  private readonly onFsync: ((latencyMicros: number) => void) | undefined;
  private directoryFd: number;
  private currentGeneration: number;
  /** currentSnapshot is the current generation's snapshot file name (undefined for generation 0). */
  private currentSnapshot: string | undefined;
  /** segmentCount is how many segments the current generation has; the last is the active one. */
  private segmentCount: number;
  private activeFd: number;
  private activeBytes: number;
  /** pending holds the framed records appended since the last sync (after `staged`, when one is staged). */
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private staged: Uint8Array | undefined;
  /** recovered is what opening read, handed to the first recover() unless a sync changed the state since. */
  private recovered: DurableState | undefined;
  private failure: Error | undefined;
  private closed = false;
  private tornTail: TornTail | undefined;
  /** retryableFailure is the error of a sync that left the storage as it was before it (see writePending), for sync() not to hold against it. */
  private retryableFailure: unknown;
  private readonly tally = { syncs: 0, fsyncs: 0, directoryFsyncs: 0, bytesWritten: 0, recordsWritten: 0, snapshotsInstalled: 0, segmentsCreated: 0, tornBytesTruncated: 0, fsyncLatencyMicrosTotal: 0, fsyncLatencyMicrosMax: 0 };
  private readonly latencyBuckets: number[] = fsyncLatencyBucketBoundsMicros.map(() => 0).concat(0);
  private readonly syncer: Syncer = { file: (fd) => this.syncFile(fd), directory: () => this.syncDirectory() };

  private constructor(directory: string, options: FileStorageOptions) {
    this.directory = directory;
    this.segmentBytesMax = options.segmentBytesMax ?? segmentBytesMaxDefault;
    this.fsyncEnabled = options.fsync ?? true;
    this.onFsync = options.onFsync;
    this.directoryFd = -1;
    this.currentGeneration = 0;
    this.currentSnapshot = undefined;
    this.segmentCount = 0;
    this.activeFd = -1;
    this.activeBytes = 0;
  }

  /**
   * open claims or checks `directory` (see the identity rules: a directory
   * of another algorithm or node, or a foreign one, is refused with a
   * {@link ConfigError} and left untouched), recovers what it holds (a
   * {@link CorruptionError} for a corrupted log or snapshot), deletes the
   * leftovers of a crash, truncates a torn tail, and opens the newest
   * segment for appending. Synchronous, as core's Storage is.
   */
  static open(directory: string, options: FileStorageOptions): FileStorage {
    checkOptions(options);
    const storage = new FileStorage(resolve(directory), options);
    try {
      storage.recoverDirectory(options.identity);
    } catch (error) {
      storage.releaseDescriptors();
      throw error;
    }
    return storage;
  }

  /** generation is the current generation: how many snapshots this directory has committed. */
  get generation(): number {
    return this.currentGeneration;
  }

  /** recoveredTornTail is the torn tail opening cut off the newest segment, if there was one: where it was and how long. */
  get recoveredTornTail(): TornTail | undefined {
    return this.tornTail;
  }

  /** counters reports what the storage did since it was opened. */
  get counters(): FileStorageCounters {
    return { ...this.tally, fsyncLatencyBuckets: [...this.latencyBuckets] };
  }

  /** append frames `record` and holds it until the next sync; it is not durable, and not even written, before. */
  append(record: Uint8Array): void {
    this.assertUsable("append");
    const frame = frameRecord(record);
    this.pending.push(frame);
    this.pendingBytes += frame.length;
  }

  /** replaceWithSnapshot stages a copy of `snapshot`, superseding the records appended since the last sync; the next sync commits it as a new generation. */
  replaceWithSnapshot(snapshot: Uint8Array): void {
    this.assertUsable("replaceWithSnapshot");
    this.staged = snapshot.slice();
    this.pending = [];
    this.pendingBytes = 0;
  }

  /**
   * sync makes every appended record durable, and a staged snapshot with
   * them as a new generation, then returns. A sync with nothing appended or
   * staged does nothing. If it fails, the storage refuses every later call
   * ({@link StorageFailedError}): reopen it, and recovery keeps what is whole.
   * One failure is retryable instead: the write of appended records to the
   * newest segment refused with ENOSPC or EDQUOT, which the storage undoes
   * before it throws the error on; the records stay appended, and a later
   * sync (once space is freed) writes them whole where that write began.
   */
  sync(): void {
    this.assertUsable("sync");
    if (this.staged === undefined && this.pendingBytes === 0) return;
    try {
      if (this.staged !== undefined) this.commitGeneration(this.staged);
      else this.writePending();
    } catch (error) {
      // After a failed write or fsync the page cache may hold what the disk does not (PostgreSQL's "fsyncgate"): trust nothing until recovery.
      // The one exception: a write to the active segment refused for want of space, whose bytes were cut off again (retryableFailure).
      if (error !== this.retryableFailure) this.failure = error instanceof Error ? error : new Error(String(error));
      this.retryableFailure = undefined;
      throw error;
    }
    this.tally.syncs++;
    this.recovered = undefined;
  }

  /** recover returns the durable state: what opening read, or (after syncs) what the current generation's files hold now. Unsynced records are not in it. */
  recover(): DurableState {
    this.assertUsable("recover");
    const recovered = this.recovered ?? this.readGeneration().state;
    this.recovered = undefined;
    return recovered;
  }

  /** close releases the file descriptors. It does not sync: records appended since the last sync are dropped, as a crash would drop them. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = [];
    this.staged = undefined;
    this.releaseDescriptors();
  }

  private recoverDirectory(identity: FileStorageIdentity): void {
    const names = claimDirectory(this.directory, identity, this.syncer, this.fsyncEnabled);
    this.directoryFd = openSync(this.directory, "r");
    const plan = planDirectory(this.directory, names);
    let removed = false;
    for (const name of plan.leftovers) removed = removeQuietly(this.directory, name) || removed;
    if (removed) this.syncDirectory();
    this.currentGeneration = plan.generation;
    this.currentSnapshot = plan.snapshot;
    this.segmentCount = plan.segments.length;
    if (plan.segments.length === 0) {
      this.createSegment(0);
      this.syncDirectory();
      this.recovered = { snapshot: undefined, records: [] };
      return;
    }
    const { state, validBytes, tornBytes } = this.readGeneration();
    const activePath = join(this.directory, segmentFileName(plan.generation, plan.segments.length - 1));
    this.activeFd = openSync(activePath, "r+");
    this.activeBytes = validBytes;
    if (tornBytes > 0) {
      this.tornTail = { file: activePath, offset: validBytes, bytes: tornBytes };
      // The torn tail goes before anything is appended, or the next record would follow garbage and be lost with it.
      ftruncateSync(this.activeFd, validBytes);
      this.syncFile(this.activeFd);
      this.tally.tornBytesTruncated += tornBytes;
    }
    this.recovered = state;
  }

  /**
   * readGeneration reads the current generation's snapshot and segments
   * (the fields say which: recovery sets them from the directory first).
   * Every segment but the last must be whole; the last may end torn, which
   * it reports for the caller to truncate.
   */
  private readGeneration(): { state: DurableState; validBytes: number; tornBytes: number } {
    const { currentSnapshot: snapshotName, currentGeneration: generation, segmentCount } = this;
    const snapshot = snapshotName === undefined ? undefined : decodeSnapshotFile(readFileSync(join(this.directory, snapshotName)), join(this.directory, snapshotName), generation);
    const records: Uint8Array[] = [];
    let validBytes = 0;
    let tornBytes = 0;
    for (let sequence = 0; sequence < segmentCount; sequence++) {
      const path = join(this.directory, segmentFileName(generation, sequence));
      const log = readRecordLog(readFileSync(path), path);
      if (log.tornBytes > 0 && sequence < segmentCount - 1) {
        throw new CorruptionError(
          `${path}: record ${log.records.length} at byte ${log.validBytes} is incomplete or fails its CRC, with ${log.tornBytes} bytes to the end, in a segment that is not the newest (a later one, ${segmentFileName(generation, segmentCount - 1)}, was written after it was synced); refusing to guess`,
        );
      }
      // A loop, not push(...records): a 64 MiB segment can hold more records than a call has room for arguments.
      for (const record of log.records) records.push(record);
      validBytes = log.validBytes;
      tornBytes = log.tornBytes;
    }
    return { state: { snapshot, records }, validBytes, tornBytes };
  }

  /** writePending appends the pending records to the active segment, or to a new one when they would take it past segmentBytesMax. */
  private writePending(): void {
    const newSegment = this.activeBytes > 0 && this.activeBytes + this.pendingBytes > this.segmentBytesMax;
    if (newSegment) {
      const previousFd = this.activeFd;
      this.createSegment(this.segmentCount);
      // The previous segment was synced by the sync that wrote it.
      closeSync(previousFd);
    }
    const bytes = concatBytes(this.pending, this.pendingBytes);
    try {
      writeFully(this.activeFd, bytes, this.activeBytes);
    } catch (error) {
      if (!newSegment) this.undoRefusedAppend(error);
      throw error;
    }
    this.syncFile(this.activeFd);
    if (newSegment) this.syncDirectory();
    this.activeBytes += bytes.length;
    this.countWritten(bytes.length, this.pending.length);
  }

  /**
   * undoRefusedAppend makes a write to the active segment that the file
   * system refused for want of space (ENOSPC, EDQUOT) retryable: it cuts off
   * whatever part of it was written, so that the segment ends where the last
   * sync left it, and the pending records stay for the next sync to write
   * again, whole, at the same place. Nothing was fsynced, and no earlier
   * byte was touched, so there is nothing in doubt (unlike a failed fsync).
   * A cut that fails leaves the failure sticky.
   */
  private undoRefusedAppend(error: unknown): void {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "ENOSPC" && code !== "EDQUOT") return;
    try {
      ftruncateSync(this.activeFd, this.activeBytes);
    } catch {
      return;
    }
    this.retryableFailure = error;
  }

  /** commitGeneration carries out steps 1 to 4 of the header comment: the new generation's first segment, its snapshot, the rename, the compaction. */
  private commitGeneration(snapshot: Uint8Array): void {
    const next = this.currentGeneration + 1;
    const fd = openSync(join(this.directory, segmentFileName(next, 0)), "wx");
    let snapshotBytes: number;
    const bytes = concatBytes(this.pending, this.pendingBytes);
    try {
      this.tally.segmentsCreated++;
      writeFully(fd, bytes, 0);
      this.syncFile(fd);
      snapshotBytes = replaceFileAtomically(this.directory, snapshotFileName(next), encodeSnapshotFile(next, snapshot), this.syncer);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    const replaced = this.currentSnapshot === undefined ? [] : [this.currentSnapshot];
    for (let sequence = 0; sequence < this.segmentCount; sequence++) replaced.push(segmentFileName(this.currentGeneration, sequence));
    closeSync(this.activeFd);
    this.activeFd = fd;
    this.activeBytes = bytes.length;
    this.currentGeneration = next;
    this.currentSnapshot = snapshotFileName(next);
    this.segmentCount = 1;
    this.staged = undefined;
    this.countWritten(bytes.length + snapshotBytes, this.pending.length);
    this.tally.snapshotsInstalled++;
    for (const name of replaced) removeQuietly(this.directory, name);
  }

  /** createSegment creates segment `sequence` of the current generation, exclusively, and makes it the active one (its name is not yet durable). */
  private createSegment(sequence: number): void {
    this.activeFd = openSync(join(this.directory, segmentFileName(this.currentGeneration, sequence)), "wx");
    this.activeBytes = 0;
    this.segmentCount = sequence + 1;
    this.tally.segmentsCreated++;
  }

  private countWritten(bytes: number, records: number): void {
    this.tally.bytesWritten += bytes;
    this.tally.recordsWritten += records;
    this.pending = [];
    this.pendingBytes = 0;
  }

  private syncFile(fd: number): void {
    if (!this.fsyncEnabled) return;
    const start = process.hrtime.bigint();
    fdatasyncSync(fd);
    const latencyMicros = Number(process.hrtime.bigint() - start) / 1000;
    const tally = this.tally;
    tally.fsyncs++;
    tally.fsyncLatencyMicrosTotal += latencyMicros;
    tally.fsyncLatencyMicrosMax = Math.max(tally.fsyncLatencyMicrosMax, latencyMicros);
    const bucket = fsyncLatencyBucketBoundsMicros.findIndex((bound) => latencyMicros <= bound);
    const index = bucket === -1 ? fsyncLatencyBucketBoundsMicros.length : bucket;
    this.latencyBuckets[index] = (this.latencyBuckets[index] ?? 0) + 1;
    this.onFsync?.(latencyMicros);
  }

  private syncDirectory(): void {
    if (!this.fsyncEnabled) return;
    // Before open() holds a descriptor of the directory (claiming it writes the identity file), use a passing one.
    const fd = this.directoryFd >= 0 ? this.directoryFd : openSync(this.directory, "r");
    try {
      fsyncSync(fd);
    } finally {
      if (fd !== this.directoryFd) closeSync(fd);
    }
    this.tally.directoryFsyncs++;
  }

  private assertUsable(what: string): void {
    if (this.closed) throw new StorageFailedError(`${this.directory}: ${what}() on a FileStorage that was closed`);
    if (this.failure !== undefined) {
      throw new StorageFailedError(`${this.directory}: ${what}() refused: an earlier sync failed (${this.failure.message}), so what it wrote is in doubt; close the storage and open it again, and recovery keeps what is whole`, { cause: this.failure });
    }
  }

  private releaseDescriptors(): void {
    for (const fd of [this.activeFd, this.directoryFd]) if (fd >= 0) closeSync(fd);
    this.activeFd = -1;
    this.directoryFd = -1;
  }
}

function checkOptions(options: FileStorageOptions): void {
  const { identity, segmentBytesMax } = options;
  if (typeof identity.algorithm !== "string" || identity.algorithm === "") throw new ConfigError("identity.algorithm", `must name an algorithm, not ${JSON.stringify(identity.algorithm)}`);
  if (!Number.isSafeInteger(identity.nodeId) || identity.nodeId < 0) throw new ConfigError("identity.nodeId", `must be a node id (a non-negative integer), not ${identity.nodeId}`);
  if (segmentBytesMax !== undefined && (!Number.isSafeInteger(segmentBytesMax) || segmentBytesMax < 1)) {
    throw new ConfigError("segmentBytesMax", `must be a positive whole number of bytes, not ${segmentBytesMax}`);
  }
}
