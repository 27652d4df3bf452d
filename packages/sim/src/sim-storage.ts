import { type DurableState, type Rng, type Storage, frameRecord, readRecordLog } from "@concord/core";

/** CrashReport says what a simulated crash did to one node's storage. */
export interface CrashReport {
  readonly lostRecords: number;
  readonly tornBytes: number;
}

/**
 * SimStorage is the simulator's stable storage: the same framed, CRC-checked
 * record format as the file storage, kept in memory, with written records
 * kept apart from synced ones. A crash keeps exactly the synced records and,
 * with the configured probability, a torn prefix of the first unsynced one,
 * which recovery must then truncate.
 */
export class SimStorage implements Storage {
  private frames: Uint8Array[] = [];
  private syncedFrames = 0;
  private tornTail: Uint8Array | undefined;
  private snapshot: Uint8Array | undefined;

  append(record: Uint8Array): void {
    const frame = frameRecord(record);
    this.frames.push(frame);
  }

  sync(): void {
    this.syncedFrames = this.frames.length;
  }

  replaceWithSnapshot(snapshot: Uint8Array): void {
    // Atomic and durable, as a rename of a fully synced file is.
    this.snapshot = snapshot.slice();
    this.frames = [];
    this.syncedFrames = 0;
    this.tornTail = undefined;
  }

  /** unsyncedRecords counts records written since the last sync. */
  unsyncedRecords(): number {
    return this.frames.length - this.syncedFrames;
  }

  /** syncedRecords counts records that survive a crash. */
  syncedRecords(): number {
    return this.syncedFrames;
  }

  /** crash drops every unsynced record; with `tearPercent` chance it leaves a torn prefix of the first. */
  crash(rng: Rng, tearPercent: number): CrashReport {
    const lost = this.frames.length - this.syncedFrames;
    const firstLost = this.frames[this.syncedFrames];
    this.frames.length = this.syncedFrames;
    let tornBytes = 0;
    if (firstLost !== undefined && firstLost.length > 1 && rng.nextInt(100) < tearPercent) {
      tornBytes = 1 + rng.nextInt(firstLost.length - 1);
      this.tornTail = firstLost.subarray(0, tornBytes);
    }
    return { lostRecords: lost, tornBytes };
  }

  recover(): DurableState {
    const bytes = this.image();
    const log = readRecordLog(bytes, "simulated log");
    // Recovery truncates the torn tail, as the file storage does.
    this.tornTail = undefined;
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
