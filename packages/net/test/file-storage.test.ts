import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { ConfigError, CorruptionError, MemoryStorage, createRng, frameRecord, recordHeaderBytes } from "@concord/core";
import { FileStorage, StorageFailedError, fsyncLatencyBucketBoundsMicros, type FileStorageOptions } from "@concord/net";

// Each test gets its own directory under the system's temporary directory, removed afterwards.
const directories: string[] = [];
const opened: FileStorage[] = [];

afterEach(() => {
  for (const storage of opened.splice(0)) storage.close();
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

function freshDirectory(): string {
  const directory = mkdtempSync(join(tmpdir(), "concord-file-storage-"));
  directories.push(directory);
  return directory;
}

const identity = { algorithm: "raft", nodeId: 1 };

function open(directory: string, options: Partial<FileStorageOptions> = {}): FileStorage {
  const storage = FileStorage.open(directory, { identity, ...options });
  opened.push(storage);
  return storage;
}

/** reopen closes `storage` (dropping what was not synced, as a crash does) and opens its directory again. */
function reopen(storage: FileStorage, options: Partial<FileStorageOptions> = {}): FileStorage {
  storage.close();
  return open(storage.directory, options);
}

function record(i: number): Uint8Array {
  return Uint8Array.from({ length: 3 + ((i * 7) % 40) }, (_, j) => (i * 31 + j * 13) & 0xff);
}

function records(from: number, to: number): Uint8Array[] {
  return Array.from({ length: to - from }, (_, k) => record(from + k));
}

function write(storage: FileStorage, from: number, to: number): void {
  for (let i = from; i < to; i++) storage.append(record(i));
}

function segmentNames(directory: string): string[] {
  return readdirSync(directory)
    .filter((name) => name.endsWith(".wal"))
    .sort();
}

function newestSegment(directory: string): string {
  return join(directory, segmentNames(directory).at(-1) as string);
}

/** contents maps every file of `directory` to its bytes, to prove that a refusal changed nothing. */
function contents(directory: string): Map<string, string> {
  return new Map(
    readdirSync(directory)
      .sort()
      .map((name) => [name, readFileSync(join(directory, name)).toString("hex")]),
  );
}

/** flip damages one byte of `bytes` by xor with `mask`. */
function flip(bytes: Uint8Array, position: number, mask: number): void {
  bytes[position] = (bytes[position] as number) ^ mask;
}

function caught(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a refusal, and nothing was thrown");
}

describe("FileStorage round trips", () => {
  test("a new directory recovers nothing; synced records come back in order after close and reopen", () => {
    const directory = freshDirectory();
    let storage = open(directory);
    expect(storage.recover()).toEqual({ snapshot: undefined, records: [] });
    write(storage, 0, 5);
    storage.sync();
    write(storage, 5, 12);
    storage.sync();
    storage = reopen(storage);
    expect(storage.recover()).toEqual({ snapshot: undefined, records: records(0, 12) });
    // And the reopened storage appends after them.
    write(storage, 12, 15);
    storage.sync();
    storage = reopen(storage);
    expect(storage.recover().records).toEqual(records(0, 15));
  });

  test("recover() without a reopen reads back what the syncs made durable, and not what is only appended", () => {
    const storage = open(freshDirectory());
    write(storage, 0, 4);
    storage.sync();
    write(storage, 4, 6);
    expect(storage.recover()).toEqual({ snapshot: undefined, records: records(0, 4) });
    storage.sync();
    expect(storage.recover().records).toEqual(records(0, 6));
  });

  test("records appended and not synced are gone after a reopen (the crash of a process that never synced)", () => {
    const directory = freshDirectory();
    let storage = open(directory);
    write(storage, 0, 3);
    storage.sync();
    write(storage, 3, 9);
    storage = reopen(storage);
    expect(storage.recover().records).toEqual(records(0, 3));
  });

  test("the storage keeps its own copies: changing a record or a snapshot after handing it over changes nothing", () => {
    const directory = freshDirectory();
    let storage = open(directory);
    const mutable = Uint8Array.of(1, 2, 3);
    storage.append(mutable);
    const snapshotBytes = Uint8Array.of(7, 7);
    storage.sync();
    storage.replaceWithSnapshot(snapshotBytes);
    storage.append(mutable);
    mutable[0] = 99;
    snapshotBytes[0] = 99;
    storage.sync();
    storage = reopen(storage);
    expect(storage.recover()).toEqual({ snapshot: Uint8Array.of(7, 7), records: [Uint8Array.of(1, 2, 3)] });
  });

  test("many syncs across a small segmentBytesMax rotate the log into many segments and recover every record in order", () => {
    const directory = freshDirectory();
    const segmentBytesMax = 256;
    let storage = open(directory, { segmentBytesMax });
    let next = 0;
    for (let sync = 0; sync < 120; sync++) {
      const count = 1 + (sync % 4);
      write(storage, next, next + count);
      next += count;
      storage.sync();
      if (sync === 60) storage = reopen(storage, { segmentBytesMax });
    }
    storage = reopen(storage, { segmentBytesMax });
    expect(storage.recover().records).toEqual(records(0, next));
    const segments = segmentNames(directory);
    expect(segments.length).toBeGreaterThan(10);
    // One sync's records never exceed 4 x 55 bytes here, so no segment goes past the limit.
    for (const name of segments) expect(statSync(join(directory, name)).size).toBeLessThanOrEqual(segmentBytesMax);
    expect(segments).toEqual(segments.map((_, i) => `segment-${"0".repeat(16)}-${i.toString(16).padStart(16, "0")}.wal`));
  });

  test("a segment of 200,000 records recovers whole (more records than one call takes arguments)", () => {
    const directory = freshDirectory();
    let storage = open(directory, { fsync: false });
    for (let i = 0; i < 200_000; i++) storage.append(new Uint8Array(0));
    storage.append(Uint8Array.of(1));
    storage.sync();
    storage = reopen(storage, { fsync: false });
    const recovered = storage.recover().records;
    expect(recovered).toHaveLength(200_001);
    expect(recovered.at(-1)).toEqual(Uint8Array.of(1));
  });

  test("one sync larger than segmentBytesMax goes whole into one new segment", () => {
    const directory = freshDirectory();
    let storage = open(directory, { segmentBytesMax: 64 });
    write(storage, 0, 1);
    storage.sync();
    write(storage, 1, 20);
    storage.sync();
    expect(segmentNames(directory)).toHaveLength(2);
    storage = reopen(storage);
    expect(storage.recover().records).toEqual(records(0, 20));
  });
});

describe("FileStorage against core's MemoryStorage", () => {
  // CONCORD_SEED=17 replays one seed.
  const onlySeed = process.env["CONCORD_SEED"];
  const seeds = onlySeed !== undefined ? [Number(onlySeed)] : [1, 2, 3, 4, 5, 6];

  test.each(seeds)("random appends, syncs, snapshots, recovers and crashes give the state MemoryStorage gives (seed %i)", (seed) => {
    const rng = createRng(seed);
    const model = new MemoryStorage();
    const segmentBytesMax = 40 + rng.nextInt(400);
    let storage = open(freshDirectory(), { segmentBytesMax, fsync: false });
    let next = 0;
    for (let step = 0; step < 400; step++) {
      const replay = `step ${step}, seed ${seed} (replay: CONCORD_SEED=${seed} pnpm vitest run --project net file-storage.test)`;
      const action = rng.nextInt(20);
      if (action < 10) {
        storage.append(record(next));
        model.append(record(next));
        next++;
      } else if (action < 15) {
        storage.sync();
        model.sync();
      } else if (action < 17) {
        const snapshot = Uint8Array.of(step & 0xff, step >> 8);
        storage.replaceWithSnapshot(snapshot);
        model.replaceWithSnapshot(snapshot);
      } else if (action < 18) {
        expect(storage.recover(), replay).toEqual(model.recover());
      } else {
        // A crash: what was not synced is lost, on the files as in the model.
        model.crash();
        storage = reopen(storage, { segmentBytesMax, fsync: false });
        expect(storage.recover(), replay).toEqual(model.recover());
      }
    }
  });
});

describe("FileStorage snapshots and compaction", () => {
  test("a synced snapshot and the records after it are the whole state; the old generation's files are deleted", () => {
    const directory = freshDirectory();
    let storage = open(directory, { segmentBytesMax: 128 });
    write(storage, 0, 30);
    storage.sync();
    write(storage, 30, 40);
    storage.sync();
    expect(segmentNames(directory).length).toBeGreaterThan(1);
    storage.replaceWithSnapshot(Uint8Array.of(1, 1, 1));
    write(storage, 100, 103);
    storage.sync();
    expect(storage.generation).toBe(1);
    expect(readdirSync(directory).sort()).toEqual(["identity.json", "segment-0000000000000001-0000000000000000.wal", "snapshot-0000000000000001.snap"]);
    write(storage, 103, 105);
    storage.sync();
    storage = reopen(storage);
    expect(storage.recover()).toEqual({ snapshot: Uint8Array.of(1, 1, 1), records: records(100, 105) });
    // A second snapshot with no records after it: generation 2, and nothing of generation 1 is left.
    storage.replaceWithSnapshot(Uint8Array.of(2));
    storage.sync();
    storage = reopen(storage);
    expect(storage.recover()).toEqual({ snapshot: Uint8Array.of(2), records: [] });
    expect(readdirSync(directory).sort()).toEqual(["identity.json", "segment-0000000000000002-0000000000000000.wal", "snapshot-0000000000000002.snap"]);
  });

  test("records appended before replaceWithSnapshot in the same window are superseded, as in core's MemoryStorage", () => {
    const directory = freshDirectory();
    let storage = open(directory);
    write(storage, 0, 2);
    storage.sync();
    write(storage, 2, 4);
    storage.replaceWithSnapshot(Uint8Array.of(5));
    write(storage, 10, 11);
    storage.sync();
    storage = reopen(storage);
    expect(storage.recover()).toEqual({ snapshot: Uint8Array.of(5), records: records(10, 11) });
  });

  test("a later snapshot staged before the sync supersedes the earlier one and what followed it", () => {
    const directory = freshDirectory();
    let storage = open(directory);
    storage.replaceWithSnapshot(Uint8Array.of(1));
    write(storage, 0, 2);
    storage.replaceWithSnapshot(Uint8Array.of(2));
    write(storage, 5, 6);
    storage.sync();
    storage = reopen(storage);
    expect(storage.recover()).toEqual({ snapshot: Uint8Array.of(2), records: records(5, 6) });
  });

  test("a staged snapshot never synced is lost whole with its records, and every record synced before survives (issue 10)", () => {
    const directory = freshDirectory();
    let storage = open(directory);
    storage.replaceWithSnapshot(Uint8Array.of(1));
    write(storage, 0, 3);
    storage.sync();
    storage.replaceWithSnapshot(Uint8Array.of(2));
    write(storage, 10, 12);
    storage = reopen(storage);
    expect(storage.recover()).toEqual({ snapshot: Uint8Array.of(1), records: records(0, 3) });
  });

  test("a snapshot larger than one record's chunk is written and read back whole", () => {
    const directory = freshDirectory();
    let storage = open(directory);
    const big = new Uint8Array(16 * 1024 * 1024 + 5);
    for (let i = 0; i < big.length; i += 4099) big[i] = (i >>> 12) & 0xff;
    storage.replaceWithSnapshot(big);
    storage.sync();
    storage = reopen(storage);
    const recovered = storage.recover().snapshot;
    expect(recovered?.length).toBe(big.length);
    expect(Buffer.compare(Buffer.from(recovered as Uint8Array), Buffer.from(big))).toBe(0);
  });
});

/** generationOneFiles makes, in a scratch directory, the files a sync of snapshot `snapshot` then `followers` writes at generation 1. */
function generationOneFiles(snapshot: Uint8Array, followers: readonly Uint8Array[]): string {
  const scratch = freshDirectory();
  const storage = open(scratch);
  storage.replaceWithSnapshot(snapshot);
  for (const follower of followers) storage.append(follower);
  storage.sync();
  storage.close();
  return scratch;
}

describe("FileStorage crashes in the middle of a snapshot's commit", () => {
  const snapshotName = "snapshot-0000000000000001.snap";
  const segmentName = "segment-0000000000000001-0000000000000000.wal";

  test("a crash after the new segment and the temporary snapshot are written, before the rename, recovers the old state and removes them", () => {
    const scratch = generationOneFiles(Uint8Array.of(9), records(50, 52));
    const directory = freshDirectory();
    let storage = open(directory);
    write(storage, 0, 4);
    storage.sync();
    storage.close();
    // What steps 1 and 2 of the commit leave on disk: the next generation's first segment and the synced temporary.
    copyFileSync(join(scratch, segmentName), join(directory, segmentName));
    copyFileSync(join(scratch, snapshotName), join(directory, `${snapshotName}.tmp`));
    storage = open(directory);
    expect(storage.recover()).toEqual({ snapshot: undefined, records: records(0, 4) });
    expect(readdirSync(directory).sort()).toEqual(["identity.json", "segment-0000000000000000-0000000000000000.wal"]);
    // The next snapshot commits generation 1 afresh, without a trace of the abandoned one.
    storage.replaceWithSnapshot(Uint8Array.of(3));
    write(storage, 60, 61);
    storage.sync();
    storage = reopen(storage);
    expect(storage.recover()).toEqual({ snapshot: Uint8Array.of(3), records: records(60, 61) });
  });

  test("a crash after the rename, before the old generation is deleted, recovers the new generation and deletes the old", () => {
    const scratch = generationOneFiles(Uint8Array.of(9), records(50, 52));
    const directory = freshDirectory();
    let storage = open(directory);
    write(storage, 0, 4);
    storage.sync();
    storage.close();
    copyFileSync(join(scratch, segmentName), join(directory, segmentName));
    copyFileSync(join(scratch, snapshotName), join(directory, snapshotName));
    storage = open(directory);
    expect(storage.recover()).toEqual({ snapshot: Uint8Array.of(9), records: records(50, 52) });
    expect(readdirSync(directory).sort()).toEqual(["identity.json", segmentName, snapshotName]);
  });

  test("a committed snapshot file that fails its CRC is refused as corruption naming the file, and nothing is deleted", () => {
    const directory = generationOneFiles(Uint8Array.from({ length: 100 }, (_, i) => i), records(50, 52));
    const path = join(directory, snapshotName);
    const bytes = readFileSync(path);
    flip(bytes, bytes.length - 10, 0x10);
    writeFileSync(path, bytes);
    const before = contents(directory);
    const error = caught(() => open(directory));
    expect(error).toBeInstanceOf(CorruptionError);
    expect(error.message).toContain(path);
    expect(contents(directory)).toEqual(before);
  });

  test("a committed snapshot file cut short is corruption, not a torn write to forgive", () => {
    const directory = generationOneFiles(Uint8Array.from({ length: 100 }, (_, i) => i), []);
    const path = join(directory, snapshotName);
    truncateSync(path, statSync(path).size - 1);
    const error = caught(() => open(directory));
    expect(error).toBeInstanceOf(CorruptionError);
    expect(error.message).toMatch(new RegExp(`${path}: the snapshot file is damaged at byte \\d+`));
  });

  test("a later generation's segment with no snapshot to commit it is refused, not deleted as a leftover", () => {
    const directory = generationOneFiles(Uint8Array.of(1), records(0, 3));
    // Generation 1's snapshot vanishes (by hand): its segment can no longer be read as an uncommitted leftover, since generation 0 is gone.
    rmSync(join(directory, snapshotName));
    const error = caught(() => open(directory));
    expect(error).toBeInstanceOf(CorruptionError);
    expect(error.message).toContain(segmentName);
    expect(existsSync(join(directory, segmentName))).toBe(true);
  });
});

describe("FileStorage recovery from a torn tail", () => {
  test("a newest segment cut at every byte of its last record recovers the prefix, truncates the file, and appends after it", () => {
    const directory = freshDirectory();
    let storage = open(directory);
    write(storage, 0, 3);
    storage.sync();
    write(storage, 3, 4);
    storage.sync();
    storage.close();
    const path = newestSegment(directory);
    const whole = readFileSync(path);
    const lastStart = whole.length - frameRecord(record(3)).length;
    for (let cut = lastStart + 1; cut < whole.length; cut++) {
      writeFileSync(path, whole.subarray(0, cut));
      storage = open(directory);
      expect(storage.recover().records, `cut at byte ${cut}`).toEqual(records(0, 3));
      expect(storage.counters.tornBytesTruncated).toBe(cut - lastStart);
      // The truncation happened on disk, before anything new was appended.
      expect(statSync(path).size).toBe(lastStart);
      write(storage, 10, 12);
      storage.sync();
      storage = reopen(storage);
      expect(storage.recover().records, `cut at byte ${cut}, after appending`).toEqual([...records(0, 3), ...records(10, 12)]);
      storage.close();
    }
  });

  test("a zero-filled tail (space allocated, data never written) is torn, not records", () => {
    const directory = freshDirectory();
    let storage = open(directory);
    write(storage, 0, 2);
    storage.sync();
    storage.close();
    const path = newestSegment(directory);
    writeFileSync(path, Buffer.concat([readFileSync(path), Buffer.alloc(100)]));
    storage = open(directory);
    expect(storage.recover().records).toEqual(records(0, 2));
    expect(storage.counters.tornBytesTruncated).toBe(100);
  });

  test("a torn tail in the newest segment leaves every earlier segment alone", () => {
    const directory = freshDirectory();
    let storage = open(directory, { segmentBytesMax: 100 });
    for (let i = 0; i < 12; i++) {
      write(storage, i, i + 1);
      storage.sync();
    }
    storage.close();
    const segments = segmentNames(directory);
    expect(segments.length).toBeGreaterThan(2);
    const path = newestSegment(directory);
    const whole = readFileSync(path);
    writeFileSync(path, whole.subarray(0, whole.length - 2));
    storage = open(directory);
    expect(storage.recover().records).toEqual(records(0, 11));
  });
});

describe("FileStorage refuses corruption", () => {
  test("a damaged byte in the middle of a segment is refused with a CorruptionError naming the file and the offset, and the file is not truncated", () => {
    const directory = freshDirectory();
    const storage = open(directory);
    write(storage, 0, 6);
    storage.sync();
    storage.close();
    const path = newestSegment(directory);
    const bytes = readFileSync(path);
    const thirdStart = frameRecord(record(0)).length + frameRecord(record(1)).length;
    flip(bytes, thirdStart + recordHeaderBytes + 1, 0xff);
    writeFileSync(path, bytes);
    const before = contents(directory);
    const error = caught(() => open(directory));
    expect(error).toBeInstanceOf(CorruptionError);
    expect(error.message).toContain(path);
    expect(error.message).toContain(`record 2 at byte ${thirdStart} `);
    // A storage that took this for a torn tail would have cut off records 2 to 5, which were synced.
    expect(contents(directory)).toEqual(before);
  });

  test("a damaged last record of a segment that is not the newest is refused: it was synced before a later segment was written", () => {
    const directory = freshDirectory();
    const storage = open(directory, { segmentBytesMax: 100 });
    for (let i = 0; i < 8; i++) {
      write(storage, i, i + 1);
      storage.sync();
    }
    storage.close();
    const first = join(directory, segmentNames(directory)[0] as string);
    const bytes = readFileSync(first);
    flip(bytes, bytes.length - 1, 0x01);
    writeFileSync(first, bytes);
    const error = caught(() => open(directory));
    expect(error).toBeInstanceOf(CorruptionError);
    expect(error.message).toMatch(new RegExp(`^${first}: record \\d+ at byte \\d+ .*not the newest`));
  });

  test("a missing segment in the middle of the log is refused with the missing file named", () => {
    const directory = freshDirectory();
    const storage = open(directory, { segmentBytesMax: 60 });
    for (let i = 0; i < 6; i++) {
      write(storage, i, i + 1);
      storage.sync();
    }
    storage.close();
    const segments = segmentNames(directory);
    expect(segments.length).toBeGreaterThan(2);
    rmSync(join(directory, segments[1] as string));
    const error = caught(() => open(directory));
    expect(error).toBeInstanceOf(CorruptionError);
    expect(error.message).toContain(`segment file ${segments[1]} is missing`);
  });
});

describe("FileStorage owns its directory", () => {
  test("a missing directory is created, nested, and claimed with an identity file", () => {
    const directory = join(freshDirectory(), "a", "b");
    const storage = open(directory, { identity: { algorithm: "pbft", nodeId: 3 } });
    storage.close();
    expect(JSON.parse(readFileSync(join(directory, "identity.json"), "utf8"))).toMatchObject({ algorithm: "pbft", nodeId: 3 });
  });

  test.each([
    ["another algorithm", { algorithm: "pbft", nodeId: 1 }, "node 1 running pbft"],
    ["another node id", { algorithm: "raft", nodeId: 2 }, "node 2 running raft"],
  ])("a directory written by %s is refused with a ConfigError naming the directory, its owner and the request, and left unchanged", (_, asked, askedText) => {
    const directory = freshDirectory();
    const storage = open(directory);
    write(storage, 0, 3);
    storage.sync();
    storage.close();
    const before = contents(directory);
    const error = caught(() => open(directory, { identity: asked }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(directory);
    expect(error.message).toContain("holds the storage of node 1 running raft");
    expect(error.message).toContain(`but ${askedText} was asked for`);
    expect(contents(directory)).toEqual(before);
  });

  test("a directory holding someone else's files and no identity file is refused and left untouched", () => {
    const directory = freshDirectory();
    writeFileSync(join(directory, "notes.txt"), "mine");
    mkdirSync(join(directory, "photos"));
    const error = caught(() => open(directory));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(directory);
    expect(error.message).toContain("notes.txt");
    expect(error.message).toContain("not a Concord data directory");
    expect(readdirSync(directory).sort()).toEqual(["notes.txt", "photos"]);
    expect(readFileSync(join(directory, "notes.txt"), "utf8")).toBe("mine");
  });

  test("a path that is a file is refused", () => {
    const path = join(freshDirectory(), "file");
    writeFileSync(path, "x");
    expect(caught(() => open(path)).message).toContain(`${path} is not a directory`);
  });

  test("bad options are refused with the field named", () => {
    const directory = freshDirectory();
    expect(caught(() => open(directory, { segmentBytesMax: 0 }))).toBeInstanceOf(ConfigError);
    expect(caught(() => open(directory, { identity: { algorithm: "", nodeId: 1 } })).message).toContain("identity.algorithm");
    expect(caught(() => open(directory, { identity: { algorithm: "raft", nodeId: -1 } })).message).toContain("identity.nodeId");
    expect(readdirSync(directory)).toEqual([]);
  });
});

describe("FileStorage counters and failures", () => {
  test("each sync is one fsync however many records it carries (group commit), and a sync with nothing to write does none", () => {
    const storage = open(freshDirectory());
    const start = storage.counters;
    let expectedBytes = 0;
    let next = 0;
    for (const [sync, count] of [1, 10, 100, 1000].entries()) {
      for (let i = 0; i < count; i++) {
        storage.append(record(next));
        expectedBytes += frameRecord(record(next)).length;
        next++;
      }
      storage.sync();
      expect(storage.counters.fsyncs - start.fsyncs, `after sync ${sync} of ${count} records`).toBe(sync + 1);
    }
    storage.sync();
    const counters = storage.counters;
    expect(counters.fsyncs - start.fsyncs).toBe(4);
    expect(counters.syncs).toBe(4);
    expect(counters.recordsWritten).toBe(1111);
    expect(counters.bytesWritten).toBe(expectedBytes);
    expect(counters.fsyncLatencyMicrosTotal).toBeGreaterThan(0);
    expect(counters.fsyncLatencyMicrosMax).toBeLessThanOrEqual(counters.fsyncLatencyMicrosTotal);
    expect(counters.fsyncLatencyBuckets).toHaveLength(fsyncLatencyBucketBoundsMicros.length + 1);
    expect(counters.fsyncLatencyBuckets.reduce((sum, n) => sum + n, 0)).toBe(counters.fsyncs);
  });

  test("a new segment costs a directory fsync; onFsync hears every data fsync; fsync off does none", () => {
    const heard: number[] = [];
    const storage = open(freshDirectory(), { segmentBytesMax: 50, onFsync: (micros) => heard.push(micros) });
    const before = storage.counters;
    write(storage, 0, 3);
    storage.sync();
    write(storage, 3, 6);
    storage.sync();
    const after = storage.counters;
    expect(after.fsyncs - before.fsyncs).toBe(2);
    expect(after.segmentsCreated - before.segmentsCreated).toBe(1);
    expect(after.directoryFsyncs - before.directoryFsyncs).toBe(1);
    expect(heard).toHaveLength(after.fsyncs);
    const unsynced = open(freshDirectory(), { fsync: false });
    write(unsynced, 0, 3);
    unsynced.sync();
    expect(unsynced.counters).toMatchObject({ fsyncs: 0, directoryFsyncs: 0, syncs: 1, recordsWritten: 3 });
  });

  test("a snapshot's sync costs two data fsyncs (segment, snapshot) and two directory fsyncs (before and after the rename)", () => {
    const storage = open(freshDirectory());
    const before = storage.counters;
    storage.replaceWithSnapshot(Uint8Array.of(1));
    write(storage, 0, 5);
    storage.sync();
    const after = storage.counters;
    expect(after.fsyncs - before.fsyncs).toBe(2);
    expect(after.directoryFsyncs - before.directoryFsyncs).toBe(2);
    expect(after.snapshotsInstalled).toBe(1);
  });

  test("after a sync fails the storage refuses every call; a reopen recovers what was synced", () => {
    const directory = freshDirectory();
    let storage = open(directory, { segmentBytesMax: 50 });
    write(storage, 0, 2);
    storage.sync();
    // Something else takes the name of the next segment, so the sync that rotates cannot create it.
    writeFileSync(join(directory, "segment-0000000000000000-0000000000000001.wal"), "");
    write(storage, 2, 5);
    expect(caught(() => storage.sync()).message).toContain("EEXIST");
    expect(caught(() => storage.append(record(9)))).toBeInstanceOf(StorageFailedError);
    expect(caught(() => storage.sync()).message).toContain("an earlier sync failed");
    storage = reopen(storage);
    expect(storage.recover().records).toEqual(records(0, 2));
    storage.close();
    expect(caught(() => storage.append(record(1)))).toBeInstanceOf(StorageFailedError);
  });

  test("a snapshot's sync that fails before its rename keeps the previous state whole (nothing of it deleted early)", () => {
    const directory = freshDirectory();
    let storage = open(directory, { segmentBytesMax: 100 });
    storage.replaceWithSnapshot(Uint8Array.of(1));
    write(storage, 0, 10);
    storage.sync();
    // A directory where the temporary snapshot goes makes step 2 fail, after step 1 wrote the next generation's segment.
    mkdirSync(join(directory, "snapshot-0000000000000002.snap.tmp"));
    storage.replaceWithSnapshot(Uint8Array.of(2));
    write(storage, 20, 22);
    expect(caught(() => storage.sync()).message).toContain("EISDIR");
    rmSync(join(directory, "snapshot-0000000000000002.snap.tmp"), { recursive: true });
    storage = reopen(storage);
    expect(storage.recover()).toEqual({ snapshot: Uint8Array.of(1), records: records(0, 10) });
    expect(readdirSync(directory).filter((name) => name.includes("0000000000000002"))).toEqual([]);
  });
});
