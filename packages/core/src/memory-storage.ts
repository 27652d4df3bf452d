import type { DurableState, Storage } from "./storage.ts";

/**
 * MemoryStorage is a replica's stable storage in memory (the test kit's
 * `MemoryDisk`, the model checker's disk), under core's `Storage`
 * contract: what was synced is kept apart from what was only written, and a
 * write not yet synced never destroys one that was. A snapshot is staged: it
 * becomes durable only at the next sync, atomically with the records written
 * after it. A crash before that sync recovers the previous snapshot and the
 * records synced with or after it; a crash with no snapshot staged may keep
 * any prefix of the unsynced records (they may have reached the platter).
 *
 * Its fields are public so that a test can read (and, to preload a log as
 * etcd-io/raft's tests preload a MemoryStorage, set) what the disk holds.
 */
export class MemoryStorage implements Storage {
  /** snapshot is the durable snapshot. */
  snapshot: Uint8Array | undefined = undefined;
  /** records are the durable records after the durable snapshot. */
  records: Uint8Array[] = [];
  /** stagedSnapshot is a snapshot written since the last sync, not yet durable. */
  stagedSnapshot: Uint8Array | undefined = undefined;
  /** unsynced are the records written since the last sync (after `stagedSnapshot`, when one is staged). */
  unsynced: Uint8Array[] = [];
  /** syncs counts the syncs, for tests of a runtime's sync discipline. */
  syncs = 0;

  /** append writes one record, durable at the next sync. */
  append(record: Uint8Array): void {
    this.unsynced.push(record);
  }

  /** replaceWithSnapshot stages a snapshot; the records written before it in this window are superseded by it. */
  replaceWithSnapshot(snapshot: Uint8Array): void {
    this.stagedSnapshot = snapshot;
    this.unsynced = [];
  }

  /** sync makes the staged snapshot and the unsynced records durable, all at once. */
  sync(): void {
    this.syncs++;
    if (this.stagedSnapshot !== undefined) {
      this.snapshot = this.stagedSnapshot;
      this.records = this.unsynced;
    } else {
      this.records.push(...this.unsynced);
    }
    this.stagedSnapshot = undefined;
    this.unsynced = [];
  }

  /**
   * crash loses what was not synced. With no snapshot staged, the first
   * `keptUnsyncedRecords` unsynced records survive (a disk may have written
   * some of them); a staged snapshot and the records after it are lost whole,
   * since they were to replace the durable state only together.
   */
  crash(keptUnsyncedRecords = 0): void {
    if (this.stagedSnapshot === undefined) this.records.push(...this.unsynced.slice(0, keptUnsyncedRecords));
    this.stagedSnapshot = undefined;
    this.unsynced = [];
  }

  /** recover is what a replica rebuilds from: the durable snapshot and records (never the unsynced ones). */
  recover(): DurableState {
    return { snapshot: this.snapshot, records: [...this.records] };
  }

  /** load replaces the whole disk with `state`, durable and nothing unsynced, as a test preloads a replica's log. */
  load(state: DurableState): void {
    this.snapshot = state.snapshot;
    this.records = [...state.records];
    this.stagedSnapshot = undefined;
    this.unsynced = [];
  }
}
