import { type DurableState, type Rng, type Storage, frameRecordInto, readRecordLog, recordHeaderBytes } from "@concord/core";

/** CrashReport says what a simulated crash did to one node's storage. */
export interface CrashReport {
  /** lostRecords counts the unsynced records the crash lost (a staged snapshot's followers included). */
  readonly lostRecords: number;
  /** lostSnapshot: a staged snapshot was lost with them. */
  readonly lostSnapshot: boolean;
  readonly tornBytes: number;
  /** keptRecords counts the unsynced records the disk had written whole before the crash, which survive it. */
  readonly keptRecords: number;
}

/**
 * SimStorage is the simulator's stable storage: the same framed, CRC-checked
 * record format as the file storage, kept in memory, with written records
 * kept apart from synced ones. A crash keeps exactly the synced records and,
 * with the configured probability, a torn prefix of the first unsynced one,
 * which recovery must then truncate.
 *
 * A snapshot is staged as a new log would be, beside the durable one: the
 * records appended after it go to the staged log, and the next sync swaps
 * both in at once (as a rename of a synced manifest does). A crash before
 * that sync keeps the old snapshot and the old log's synced records (the
 * `Storage` invariant: a write not yet synced never destroys one that was).
 */
export class SimStorage implements Storage {
  private log = new FrameLog();
  private syncedFrames = 0;
  private tornTail: Uint8Array | undefined;
  private snapshot: Uint8Array | undefined;
  /** staged holds a snapshot written but not yet synced, and the frames appended after it. */
  private staged: { snapshot: Uint8Array; log: FrameLog } | undefined;

  append(record: Uint8Array): void {
    (this.staged?.log ?? this.log).append(record);
  }

  sync(): void {
    if (this.staged !== undefined) {
      this.snapshot = this.staged.snapshot;
      this.log = this.staged.log;
      this.tornTail = undefined;
      this.staged = undefined;
    }
    this.syncedFrames = this.log.count;
  }

  replaceWithSnapshot(snapshot: Uint8Array): void {
    // A later snapshot before the sync supersedes the staged one and what followed it.
    this.staged = { snapshot: snapshot.slice(), log: new FrameLog() };
  }

  /** unsyncedRecords counts records written since the last sync (a staged snapshot's followers included). */
  unsyncedRecords(): number {
    return this.log.count - this.syncedFrames + (this.staged?.log.count ?? 0);
  }

  /** hasStagedSnapshot says whether a snapshot waits for the next sync: a crash now loses it. */
  hasStagedSnapshot(): boolean {
    return this.staged !== undefined;
  }

  /** syncedRecords counts records that survive a crash. */
  syncedRecords(): number {
    return this.syncedFrames;
  }

  /**
   * crash drops the unsynced records; with `tearPercent` chance the disk had
   * written some of them before the crash: it keeps a whole prefix of them
   * (drawn, when there are several) and a torn prefix of the next one, which
   * recovery truncates. A staged snapshot and its records are lost whole.
   * Keeping a prefix is what core's `Storage` allows: a replica must recover
   * from any prefix of a Ready's records (a Raft that wrote its entries before
   * its new term could not, until 8de07ac).
   */
  crash(rng: Rng, tearPercent: number): CrashReport {
    const lost = this.unsyncedRecords();
    const lostSnapshot = this.staged !== undefined;
    this.staged = undefined;
    const log = this.log;
    const pending = log.count - this.syncedFrames;
    let tornBytes = 0;
    let keptRecords = 0;
    if (pending > 0 && log.frameBytes(this.syncedFrames) > 1 && rng.nextInt(100) < tearPercent) {
      // With one unsynced record there is nothing to keep whole, and no draw: those runs are as they were.
      keptRecords = pending > 1 ? rng.nextInt(pending) : 0;
      // What the disk wrote whole is on the platter now, as the synced records are.
      this.syncedFrames += keptRecords;
      const torn = this.syncedFrames;
      tornBytes = 1 + rng.nextInt(log.frameBytes(torn) - 1);
      // A copy: the log's buffer past the kept frames takes the next appends.
      this.tornTail = log.bytes.slice(log.start(torn), log.start(torn) + tornBytes);
    }
    log.truncate(this.syncedFrames);
    return { lostRecords: lost - keptRecords, lostSnapshot, tornBytes, keptRecords };
  }

  /**
   * crashKeeping makes a crash keep exactly the first `keep` unsynced records, whole, and lose the rest (a staged
   * snapshot and its records are lost whole, as in every crash): the model checker's crash points, which a
   * scripted run replays (scripted-run.ts), name how many records the disk had written. A `crash` after it finds
   * nothing unsynced and draws nothing.
   */
  crashKeeping(keep: number): void {
    if (this.staged === undefined) this.log.truncate(Math.min(this.log.count, this.syncedFrames + keep));
    this.staged = undefined;
    this.syncedFrames = this.log.count;
  }

  recover(): DurableState {
    const bytes = this.image();
    const log = readRecordLog(bytes, "simulated log");
    // Recovery truncates the torn tail, as the file storage does, and knows nothing of a snapshot never synced.
    this.tornTail = undefined;
    this.staged = undefined;
    this.log.truncate(Math.min(this.log.count, log.records.length));
    this.syncedFrames = this.log.count;
    return { snapshot: this.snapshot, records: log.records };
  }

  /** image returns the log's bytes as a disk would hold them after a crash: synced frames, then any torn tail. */
  image(): Uint8Array {
    const syncedBytes = this.log.start(this.syncedFrames);
    const bytes = new Uint8Array(syncedBytes + (this.tornTail?.length ?? 0));
    bytes.set(this.log.bytes.subarray(0, syncedBytes));
    if (this.tornTail !== undefined) bytes.set(this.tornTail, syncedBytes);
    return bytes;
  }
}

/**
 * FrameLog holds a log's framed records back to back in one buffer that doubles as it fills, and where each
 * ends: one typed array for the whole log rather than one per record (each of which outlived the young
 * generation, for the garbage collector to copy and promote: every record a replica writes is kept until its
 * next snapshot; issue 18).
 */
class FrameLog {
  bytes = new Uint8Array(4096);
  /** ends holds where each frame ends: frame i is bytes[start(i), ends[i]). */
  private readonly ends: number[] = [];

  get count(): number {
    return this.ends.length;
  }

  /** start is where frame i starts (the end of the log for i = count). */
  start(i: number): number {
    return i === 0 ? 0 : (this.ends[i - 1] as number);
  }

  frameBytes(i: number): number {
    return (this.ends[i] as number) - this.start(i);
  }

  append(record: Uint8Array): void {
    const at = this.start(this.ends.length);
    const end = at + recordHeaderBytes + record.length;
    if (end > this.bytes.length) {
      const grown = new Uint8Array(Math.max(end, 2 * this.bytes.length));
      grown.set(this.bytes.subarray(0, at));
      this.bytes = grown;
    }
    this.ends.push(frameRecordInto(record, this.bytes, at));
  }

  /** truncate keeps the first `count` frames; the next append overwrites what followed them. */
  truncate(count: number): void {
    this.ends.length = count;
  }
}
