import { type DurableState, type Rng, type Storage, frameRecord, readRecordLog } from "@concord/core";

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
  private frames: Uint8Array[] = [];
  private syncedFrames = 0;
  private tornTail: Uint8Array | undefined;
  private snapshot: Uint8Array | undefined;
  /** staged holds a snapshot written but not yet synced, and the frames appended after it. */
  private staged: { snapshot: Uint8Array; frames: Uint8Array[] } | undefined;

  append(record: Uint8Array): void {
    const frame = frameRecord(record);
    if (this.staged !== undefined) this.staged.frames.push(frame);
    else this.frames.push(frame);
  }

  sync(): void {
    if (this.staged !== undefined) {
      this.snapshot = this.staged.snapshot;
      this.frames = this.staged.frames;
      this.tornTail = undefined;
      this.staged = undefined;
    }
    this.syncedFrames = this.frames.length;
  }

  replaceWithSnapshot(snapshot: Uint8Array): void {
    // A later snapshot before the sync supersedes the staged one and what followed it.
    this.staged = { snapshot: snapshot.slice(), frames: [] };
  }

  /** unsyncedRecords counts records written since the last sync (a staged snapshot's followers included). */
  unsyncedRecords(): number {
    return this.frames.length - this.syncedFrames + (this.staged?.frames.length ?? 0);
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
    const pending = this.frames.slice(this.syncedFrames);
    this.frames.length = this.syncedFrames;
    let tornBytes = 0;
    let keptRecords = 0;
    const first = pending[0];
    if (first !== undefined && first.length > 1 && rng.nextInt(100) < tearPercent) {
      // With one unsynced record there is nothing to keep whole, and no draw: those runs are as they were.
      keptRecords = pending.length > 1 ? rng.nextInt(pending.length) : 0;
      this.frames.push(...pending.slice(0, keptRecords));
      // What the disk wrote whole is on the platter now, as the synced records are.
      this.syncedFrames = this.frames.length;
      const torn = pending[keptRecords] ?? first;
      tornBytes = 1 + rng.nextInt(torn.length - 1);
      this.tornTail = torn.subarray(0, tornBytes);
    }
    return { lostRecords: lost - keptRecords, lostSnapshot, tornBytes, keptRecords };
  }

  /**
   * crashKeeping makes a crash keep exactly the first `keep` unsynced records, whole, and lose the rest (a staged
   * snapshot and its records are lost whole, as in every crash): the model checker's crash points, which a
   * scripted run replays (scripted-run.ts), name how many records the disk had written. A `crash` after it finds
   * nothing unsynced and draws nothing.
   */
  crashKeeping(keep: number): void {
    if (this.staged === undefined) this.frames.length = Math.min(this.frames.length, this.syncedFrames + keep);
    this.staged = undefined;
    this.syncedFrames = this.frames.length;
  }

  recover(): DurableState {
    const bytes = this.image();
    const log = readRecordLog(bytes, "simulated log");
    // Recovery truncates the torn tail, as the file storage does, and knows nothing of a snapshot never synced.
    this.tornTail = undefined;
    this.staged = undefined;
    this.frames = this.frames.slice(0, log.records.length);
    this.syncedFrames = this.frames.length;
    return { snapshot: this.snapshot, records: log.records };
  }

  /** image returns the log's bytes as a disk would hold them after a crash: synced frames, then any torn tail. */
  image(): Uint8Array {
    let length = this.tornTail?.length ?? 0;
    for (let i = 0; i < this.syncedFrames; i++) length += (this.frames[i] as Uint8Array).length;
    const bytes = new Uint8Array(length);
    let offset = 0;
    for (let i = 0; i < this.syncedFrames; i++) {
      const frame = this.frames[i] as Uint8Array;
      bytes.set(frame, offset);
      offset += frame.length;
    }
    if (this.tornTail !== undefined) bytes.set(this.tornTail, offset);
    return bytes;
  }
}
