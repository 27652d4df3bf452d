import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { FileStorage, StorageFailedError } from "@concord/net";

// A write to the newest segment refused for want of space is undone and can
// be retried once space is freed: on a real tmpfs of 256 KiB, filled with a
// file the test removes. It needs mount (root); elsewhere it is skipped.

const identity = { algorithm: "raft", nodeId: 1 };

function mountTmpfs(): string | undefined {
  const directory = mkdtempSync(join(tmpdir(), "concord-full-"));
  const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", directory], { stdio: "ignore" });
  if (mounted.status === 0) return directory;
  rmSync(directory, { recursive: true, force: true });
  return undefined;
}

const probe = process.platform === "linux" ? mountTmpfs() : undefined;
if (probe !== undefined) {
  execFileSync("umount", [probe]);
  rmSync(probe, { recursive: true, force: true });
}

describe.skipIf(probe === undefined)("FileStorage on a full disk", () => {
  test("a sync refused with ENOSPC leaves the storage usable and the records pending; once space is freed the next sync writes them, each once, after every record synced before", () => {
    const mount = mountTmpfs() as string;
    try {
      const filler = join(mount, "filler");
      writeFileSync(filler, new Uint8Array(160 * 1024));
      const directory = join(mount, "log");
      mkdirSync(directory);
      const storage = FileStorage.open(directory, { identity });
      const synced: Uint8Array[] = [];
      const pending: Uint8Array[] = [];
      let refused: unknown;
      // Records of 5,000 bytes, one sync each, until the file system refuses one part-way (tmpfs pages are 4 KiB).
      for (let i = 0; i < 100 && refused === undefined; i++) {
        const record = new Uint8Array(5_000).fill(i + 1);
        storage.append(record);
        try {
          storage.sync();
          synced.push(record);
        } catch (error) {
          refused = error;
          pending.push(record);
        }
      }
      expect((refused as NodeJS.ErrnoException | undefined)?.code).toBe("ENOSPC");
      expect(synced.length).toBeGreaterThan(3);
      // Still usable: more records may be appended while the disk is full, and a sync is refused again, not held against it.
      const more = new Uint8Array(300).fill(200);
      storage.append(more);
      pending.push(more);
      expect(() => storage.sync()).toThrow(/ENOSPC/);
      unlinkSync(filler);
      storage.sync();
      storage.close();
      const reopened = FileStorage.open(directory, { identity });
      expect(reopened.recover().records).toEqual([...synced, ...pending]);
      expect(reopened.recoveredTornTail).toBeUndefined();
      reopened.close();
    } finally {
      execFileSync("umount", ["-l", mount]);
      rmSync(mount, { recursive: true, force: true });
    }
  });

  test("a snapshot refused with ENOSPC still fails the storage for good (its files are not undone in place)", () => {
    const mount = mountTmpfs() as string;
    try {
      const directory = join(mount, "log");
      mkdirSync(directory);
      writeFileSync(join(mount, "filler"), new Uint8Array(250 * 1024));
      const storage = FileStorage.open(directory, { identity });
      storage.replaceWithSnapshot(new Uint8Array(64 * 1024).fill(3));
      expect(() => storage.sync()).toThrow(/ENOSPC/);
      expect(() => storage.append(new Uint8Array(1))).toThrow(StorageFailedError);
      storage.close();
    } finally {
      execFileSync("umount", ["-l", mount]);
      rmSync(mount, { recursive: true, force: true });
    }
  });
});
