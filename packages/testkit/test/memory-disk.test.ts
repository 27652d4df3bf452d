// MemoryDisk keeps core's Storage rule: a write not yet synced never destroys one that was.
import { describe, expect, it } from "vitest";
import { MemoryDisk } from "@concord/testkit";

const record = (byte: number) => new Uint8Array([byte]);

describe("MemoryDisk", () => {
  it("loses the records written since the last sync in a crash, and keeps the synced ones", () => {
    const disk = new MemoryDisk();
    disk.append(record(1));
    disk.sync();
    disk.append(record(2));
    disk.crash();
    expect(disk.recover()).toEqual({ snapshot: undefined, records: [record(1)] });
  });

  it("keeps the prefix of the unsynced records a crash says reached the platter, never more", () => {
    for (let kept = 0; kept <= 3; kept++) {
      const disk = new MemoryDisk();
      disk.append(record(0));
      disk.sync();
      for (const byte of [1, 2, 3]) disk.append(record(byte));
      disk.crash(kept);
      expect(disk.recover().records, `${kept} kept`).toEqual([0, 1, 2, 3].slice(0, 1 + kept).map(record));
    }
  });

  it("stages a snapshot: a crash before the next sync recovers the previous snapshot and records whole", () => {
    const disk = new MemoryDisk();
    disk.replaceWithSnapshot(record(10));
    disk.append(record(1));
    disk.sync();
    disk.append(record(2));
    disk.sync();
    disk.replaceWithSnapshot(record(20));
    disk.append(record(3));
    expect(disk.recover()).toEqual({ snapshot: record(10), records: [record(1), record(2)] });
    // Even a crash that says some unsynced records survived keeps none after a staged snapshot: they belong to it.
    disk.crash(1);
    expect(disk.recover()).toEqual({ snapshot: record(10), records: [record(1), record(2)] });
  });

  it("makes a staged snapshot and the records after it the whole durable state at the sync; records written before it in the window are superseded", () => {
    const disk = new MemoryDisk();
    disk.append(record(1));
    disk.sync();
    disk.append(record(2));
    disk.replaceWithSnapshot(record(20));
    disk.append(record(3));
    disk.sync();
    expect(disk.recover()).toEqual({ snapshot: record(20), records: [record(3)] });
    expect(disk.syncs).toBe(2);
  });

  it("recovers a copy: what a replica does with its records does not change the disk", () => {
    const disk = new MemoryDisk();
    disk.load({ snapshot: undefined, records: [record(1)] });
    (disk.recover().records as Uint8Array[]).push(record(9));
    expect(disk.recover().records).toEqual([record(1)]);
  });
});
