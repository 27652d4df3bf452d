import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, test } from "vitest";
import { createRng } from "@concord/core";
import { FileStorage } from "@concord/net";
import { numberedRecord } from "./fixtures/numbered-record.ts";

// A real process writes and syncs as fast as it can and is killed with
// SIGKILL at a drawn moment, several times over on one directory: after each
// kill, every number it reported synced must be recovered, in order, with
// nothing after them but whole records it wrote (a prefix of what followed).

const writer = fileURLToPath(new URL("./fixtures/file-storage-writer.ts", import.meta.url));
const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));
const identity = { algorithm: "kill-test", nodeId: 0 };

const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

/** runUntilKilled starts the writer, kills it with SIGKILL once it has reported `syncs` syncs, and returns the last count it reported. */
function runUntilKilled(directory: string, seed: number, syncs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", writer, directory, String(seed)], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
    let reported = 0;
    let lines = 0;
    let buffered = "";
    let errors = "";
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => (errors += chunk));
    child.stdout.on("data", (chunk: string) => {
      buffered += chunk;
      const complete = buffered.split("\n");
      buffered = complete.pop() ?? "";
      for (const line of complete) {
        const match = /^synced (\d+)$/.exec(line);
        if (match === null) continue;
        reported = Number(match[1]);
        if (++lines === syncs) child.kill("SIGKILL");
      }
    });
    child.on("error", reject);
    child.on("exit", (_, signal) => {
      if (signal === "SIGKILL") resolve(reported);
      else reject(new Error(`the writer exited before it was killed: ${errors}`));
    });
  });
}

describe("FileStorage under SIGKILL", () => {
  test("a process killed in the middle of its syncs, and then again after recovering, loses nothing it reported synced", async () => {
    const seed = 5;
    const rng = createRng(seed);
    const directory = mkdtempSync(join(tmpdir(), "concord-kill-"));
    directories.push(directory);
    let generations = 0;
    for (let round = 0; round < 2; round++) {
      const reported = await runUntilKilled(directory, seed * 10 + round, 50 + rng.nextInt(300));
      const storage = FileStorage.open(directory, { identity, fsync: false });
      const { snapshot, records } = storage.recover();
      generations = storage.generation;
      storage.close();
      const first = snapshot === undefined ? 0 : Number(new TextDecoder().decode(snapshot));
      const replay = `round ${round}, seed ${seed}`;
      expect(first + records.length, `recovered fewer numbers than the writer reported synced, ${replay}`).toBeGreaterThanOrEqual(reported);
      records.forEach((record, i) => expect(record, `record ${i} after the snapshot of ${first}, ${replay}`).toEqual(numberedRecord(first + i)));
    }
    // The writer snapshots every 40 syncs, so the kills fell on later generations and compaction ran.
    expect(generations).toBeGreaterThan(1);
  });
});
