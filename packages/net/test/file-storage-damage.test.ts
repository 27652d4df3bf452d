import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { CorruptionError } from "@concord/core";
import { FileStorage, damageFileStorage } from "@concord/net";

// The disk nemesis's damage, done to a closed directory as it is done to a
// killed node's: a torn tail is dropped and every synced record kept, with
// where it was; a changed byte of synced data is refused, naming the file and
// offset, and once the byte is put back every record is there again.

const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

const identity = { algorithm: "raft", nodeId: 1 };

/** synced writes `count` records in syncs of two, closes the storage and returns the directory and the records. */
function synced(count: number, snapshotAfter?: number): { directory: string; records: Uint8Array[] } {
  const directory = mkdtempSync(join(tmpdir(), "concord-damage-"));
  directories.push(directory);
  const storage = FileStorage.open(directory, { identity, fsync: false });
  const records: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const record = Uint8Array.from({ length: 5 + (i % 9) }, (_, j) => (i * 17 + j) & 0xff);
    storage.append(record);
    records.push(record);
    if (i === snapshotAfter) {
      storage.replaceWithSnapshot(Uint8Array.from([9, 9, 9, i]));
      records.length = 0;
    }
    if (i % 2 === 1 || i === count - 1) storage.sync();
  }
  storage.close();
  return { directory, records };
}

describe("damageFileStorage", () => {
  test("a torn tail is dropped on opening, where it was is told, and every synced record is kept", () => {
    const { directory, records } = synced(7);
    const damage = damageFileStorage(directory, "torn");
    expect(damage?.description).toMatch(/^a torn record of \d+ of its \d+ bytes appended at byte \d+ of .*segment-0000000000000000-0000000000000000\.wal$/);
    const storage = FileStorage.open(directory, { identity, fsync: false });
    try {
      expect(storage.recover().records).toEqual(records);
      expect(storage.recoveredTornTail).toEqual({ file: damage?.file, offset: damage?.offset, bytes: expect.any(Number) });
      expect(storage.recoveredTornTail?.bytes).toBeGreaterThan(12);
      // Cut off on disk: the next open finds nothing torn.
      storage.close();
      const again = FileStorage.open(directory, { identity, fsync: false });
      expect(again.recoveredTornTail).toBeUndefined();
      expect(again.recover().records).toEqual(records);
      again.close();
    } finally {
      storage.close();
    }
  });

  test("a changed byte in a synced record is refused with the file and the record's offset, and every record is back once it is repaired", () => {
    const { directory, records } = synced(7);
    const damage = damageFileStorage(directory, "corrupt");
    if (damage === undefined) throw new Error("nothing corrupted");
    expect(damage.description).toMatch(/^every bit of byte \d+ of .*\.wal, in the payload of the record at byte \d+ flipped$/);
    const recordOffset = Number(/record at byte (\d+)/.exec(damage.description)?.[1]);
    expect(() => FileStorage.open(directory, { identity, fsync: false })).toThrow(CorruptionError);
    expect(() => FileStorage.open(directory, { identity, fsync: false })).toThrow(new RegExp(`${damage.file.replace(/[.]/g, "\\.")}: record \\d+ at byte ${recordOffset} is corrupt: its payload fails its CRC`));
    damage.repair();
    const storage = FileStorage.open(directory, { identity, fsync: false });
    expect(storage.recover().records).toEqual(records);
    expect(storage.recoveredTornTail).toBeUndefined();
    storage.close();
  });

  test("with one record after a snapshot, the snapshot file is corrupted, and refused", () => {
    const { directory } = synced(5, 3);
    const damage = damageFileStorage(directory, "corrupt");
    expect(damage?.description).toMatch(/of the snapshot file .*snapshot-0000000000000001\.snap flipped$/);
    expect(() => FileStorage.open(directory, { identity, fsync: false })).toThrow(/snapshot-0000000000000001\.snap: record 0 at byte 0 is corrupt: its payload fails its CRC/);
  });
});
