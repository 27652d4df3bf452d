import { describe, expect, test } from "vitest";
import { createRng, readRecordLog, recordHeaderBytes } from "@concord/core";
import { SimStorage } from "@concord/sim";

function record(i: number): Uint8Array {
  return Uint8Array.from({ length: 5 + (i % 9) }, (_, j) => (i * 31 + j) & 0xff);
}

function write(storage: SimStorage, from: number, to: number): void {
  for (let i = from; i < to; i++) storage.append(record(i));
}

function records(from: number, to: number): Uint8Array[] {
  return Array.from({ length: to - from }, (_, k) => record(from + k));
}

describe("SimStorage", () => {
  test.each([0, 50, 100])("a crash keeps every synced record and a whole prefix of the unsynced ones, never more (tearPercent %i)", (tearPercent) => {
    const rng = createRng(tearPercent + 1);
    let keptSome = 0;
    for (let trial = 0; trial < 200; trial++) {
      const storage = new SimStorage();
      const synced = rng.nextInt(20);
      const unsynced = rng.nextInt(5);
      write(storage, 0, synced);
      storage.sync();
      write(storage, synced, synced + unsynced);
      expect(storage.syncedRecords()).toBe(synced);
      expect(storage.unsyncedRecords()).toBe(unsynced);
      const report = storage.crash(rng, tearPercent);
      expect(report.keptRecords + report.lostRecords).toBe(unsynced);
      if (tearPercent === 0) expect(report.keptRecords).toBe(0);
      if (report.keptRecords > 0) keptSome++;
      // Recovery reads the synced records and then exactly the kept prefix of the unsynced ones, in order.
      expect(storage.recover().records).toEqual(records(0, synced + report.keptRecords));
    }
    if (tearPercent === 100) expect(keptSome).toBeGreaterThan(0);
  });

  test("with tearPercent 100 a crash keeps a whole prefix of the unsynced records and a torn prefix of the next, which recover() truncates", () => {
    const rng = createRng(7);
    const keptCounts = new Set<number>();
    for (let trial = 0; trial < 50; trial++) {
      const storage = new SimStorage();
      write(storage, 0, 3);
      storage.sync();
      write(storage, 3, 5);
      const report = storage.crash(rng, 100);
      keptCounts.add(report.keptRecords);
      expect(report.lostRecords).toBe(2 - report.keptRecords);
      // The first lost record is framed as a header and its payload; a torn write keeps 1 to all-but-one byte of it.
      expect(report.tornBytes).toBeGreaterThanOrEqual(1);
      expect(report.tornBytes).toBeLessThan(recordHeaderBytes + record(3 + report.keptRecords).length);
      const image = storage.image();
      const log = readRecordLog(image);
      expect(log.records).toEqual(records(0, 3 + report.keptRecords));
      expect(log.tornBytes).toBe(report.tornBytes);
      expect(storage.recover().records).toEqual(records(0, 3 + report.keptRecords));
      // Recovery truncated the tail: the disk image now holds whole records only.
      expect(readRecordLog(storage.image()).tornBytes).toBe(0);
    }
    // Both outcomes occur: nothing kept whole (the first unsynced record torn), and the first kept (the second torn).
    expect([...keptCounts].sort()).toEqual([0, 1]);
  });

  test("with tearPercent 0 a crash never tears or keeps, and with nothing unsynced there is nothing to tear", () => {
    const rng = createRng(3);
    const storage = new SimStorage();
    write(storage, 0, 4);
    expect(storage.crash(rng, 0)).toEqual({ lostRecords: 4, lostSnapshot: false, tornBytes: 0, keptRecords: 0 });
    write(storage, 0, 2);
    storage.sync();
    expect(storage.crash(rng, 100)).toEqual({ lostRecords: 0, lostSnapshot: false, tornBytes: 0, keptRecords: 0 });
    expect(storage.recover().records).toEqual(records(0, 2));
  });

  test("appends after recovering from a torn tail land after the last whole record, and survive the next crash once synced", () => {
    const rng = createRng(11);
    const storage = new SimStorage();
    write(storage, 0, 2);
    storage.sync();
    write(storage, 2, 3);
    expect(storage.crash(rng, 100).tornBytes).toBeGreaterThan(0);
    expect(storage.recover().records).toEqual(records(0, 2));
    write(storage, 10, 13);
    storage.sync();
    write(storage, 13, 14);
    storage.crash(rng, 100);
    expect(storage.recover().records).toEqual([...records(0, 2), ...records(10, 13)]);
  });

  test("a snapshot is staged: it and the records after it become durable together at the next sync", () => {
    const rng = createRng(5);
    const storage = new SimStorage();
    write(storage, 0, 3);
    storage.sync();
    write(storage, 3, 4);
    const snapshot = Uint8Array.of(9, 8, 7);
    storage.replaceWithSnapshot(snapshot);
    snapshot[0] = 0; // the storage keeps its own copy
    write(storage, 20, 22);
    storage.sync();
    write(storage, 22, 23);
    expect(storage.crash(rng, 100)).toMatchObject({ lostRecords: 1, lostSnapshot: false });
    expect(storage.recover()).toEqual({ snapshot: Uint8Array.of(9, 8, 7), records: records(20, 22) });
  });

  test("a crash before the sync loses a staged snapshot and its followers, and keeps every record synced before (issue 10)", () => {
    const rng = createRng(6);
    const storage = new SimStorage();
    storage.replaceWithSnapshot(Uint8Array.of(1));
    write(storage, 0, 3);
    storage.sync();
    // A second snapshot, then the records that re-state what the first log held: none of it synced.
    storage.replaceWithSnapshot(Uint8Array.of(2));
    write(storage, 10, 12);
    expect(storage.hasStagedSnapshot()).toBe(true);
    expect(storage.unsyncedRecords()).toBe(2);
    expect(storage.crash(rng, 100)).toMatchObject({ lostRecords: 2, lostSnapshot: true });
    expect(storage.recover()).toEqual({ snapshot: Uint8Array.of(1), records: records(0, 3) });
    expect(storage.hasStagedSnapshot()).toBe(false);
  });

  test("a later snapshot staged before the sync supersedes the earlier one and what followed it", () => {
    const storage = new SimStorage();
    storage.replaceWithSnapshot(Uint8Array.of(1));
    write(storage, 0, 2);
    storage.replaceWithSnapshot(Uint8Array.of(2));
    write(storage, 5, 6);
    storage.sync();
    expect(storage.recover()).toEqual({ snapshot: Uint8Array.of(2), records: records(5, 6) });
  });

  test("random writes, syncs, snapshots and crashes recover what a list of records says, through the log's buffer growing and refilled", () => {
    // The log is one buffer that doubles (from 4 KiB) and is overwritten after a crash's truncation (issue 18):
    // records of up to 9,000 bytes, and appends after every crash, walk both.
    const rng = createRng(18);
    for (let run = 0; run < 40; run++) {
      const storage = new SimStorage();
      let synced: Uint8Array[] = [];
      let pending: Uint8Array[] = [];
      let snapshot: Uint8Array | undefined;
      let staged: { snapshot: Uint8Array; records: Uint8Array[] } | undefined;
      for (let step = 0; step < 150; step++) {
        const op = rng.nextInt(20);
        if (op < 11) {
          const written = Uint8Array.from({ length: rng.nextInt(15) === 0 ? rng.nextInt(9000) : rng.nextInt(80) }, () => rng.nextInt(256));
          storage.append(written);
          (staged?.records ?? pending).push(written);
        } else if (op < 15) {
          storage.sync();
          if (staged !== undefined) [snapshot, synced, staged] = [staged.snapshot, staged.records, undefined];
          else synced = [...synced, ...pending];
          pending = [];
        } else if (op < 16) {
          const image = Uint8Array.of(run, step);
          storage.replaceWithSnapshot(image);
          staged = { snapshot: image, records: [] };
        } else {
          const report = storage.crash(rng, [0, 50, 100][rng.nextInt(3)] as number);
          expect(report.lostSnapshot).toBe(staged !== undefined);
          synced = [...synced, ...pending.slice(0, report.keptRecords)];
          pending = [];
          staged = undefined;
          expect(readRecordLog(storage.image())).toMatchObject({ records: synced, tornBytes: report.tornBytes });
          expect(storage.recover()).toEqual({ snapshot, records: synced });
        }
        expect(storage.syncedRecords()).toBe(synced.length);
        expect(storage.unsyncedRecords()).toBe(pending.length + (staged?.records.length ?? 0));
      }
    }
  });

  test("recovering a never-written storage gives no snapshot and no records", () => {
    expect(new SimStorage().recover()).toEqual({ snapshot: undefined, records: [] });
  });
});
