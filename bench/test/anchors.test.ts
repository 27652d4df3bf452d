import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { checkHistory, checkKvHistory, generateKvHistory } from "@concord/check";
import { createRng } from "@concord/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compareVerdicts, median } from "../src/anchors/compare.ts";
import { Porcheck, buildPorcheck, buildRawnode, etcdRaftSource, findGo, porcheckJson, runRawnode } from "../src/anchors/go.ts";
import { parseEtcdLog, readPorcupineHistory } from "../src/anchors/porcupine-histories.ts";

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const anchorsDir = join(repoRoot, "bench", "anchors");
const testData = join(anchorsDir, "porcupine", "test_data");
const read = (path: string): string => readFileSync(join(testData, path), "utf8");

describe("porcupine's histories, read for Concord's checker", () => {
  it("reads an etcd log as porcupine does: a failed cas returned false, a timed-out read and an open operation are unknown, other lines are skipped", () => {
    const log = [
      "INFO  jepsen.util - 0\t:invoke\t:write\t3",
      "INFO  jepsen.util - 1\t:invoke\t:cas\t[3 4]",
      "INFO  jepsen.util - 0\t:ok\t:write\t3",
      "WARN  jepsen.core - something else",
      "INFO  jepsen.util - 1\t:fail\t:cas\t[3 4]",
      "INFO  jepsen.util - 2\t:invoke\t:read\tnil",
      "INFO  jepsen.util - 2\t:fail\t:read\t:timed-out",
      "INFO  jepsen.util - 3\t:invoke\t:read\tnil",
      "INFO  jepsen.util - 3\t:ok\t:read\tnil",
      "INFO  jepsen.util - 4\t:invoke\t:write\t9",
      "INFO  jepsen.util - 4\t:info\t:write\t9",
    ].join("\n");
    expect(parseEtcdLog(log)).toEqual([
      { id: 0, clientId: 0, input: { type: "write", value: 3 }, invokeUs: 1, completeUs: 3, status: "ok", output: { type: "write" } },
      { id: 1, clientId: 1, input: { type: "cas", expected: 3, value: 4 }, invokeUs: 2, completeUs: 4, status: "ok", output: { type: "cas", ok: false } },
      { id: 2, clientId: 2, input: { type: "read" }, invokeUs: 5, completeUs: undefined, status: "info", output: undefined },
      { id: 3, clientId: 3, input: { type: "read" }, invokeUs: 7, completeUs: 8, status: "ok", output: { type: "read", value: null } },
      { id: 4, clientId: 4, input: { type: "write", value: 9 }, invokeUs: 9, completeUs: undefined, status: "info", output: undefined },
    ]);
  });

  it("names the line of an event it cannot read", () => {
    expect(() => parseEtcdLog("INFO  jepsen.util - 0\t:invoke\t:cas\t[3]")).toThrow(/^line 1: cannot read :invoke :cas \[3\]/);
    expect(() => parseEtcdLog("\nINFO  jepsen.util - 0\t:ok\t:read\t5")).toThrow(/^line 2: process 0 completes an operation it never invoked/);
  });

  it("gives porcupine's own test verdicts and operation counts on its kv and etcd histories", () => {
    // porcupine_test.go: TestKv1ClientOk/Bad, TestEtcdJepsen000 (false) and 002 (true).
    const cases = [
      { kind: "kv", file: "kv/c01-ok.txt", operations: 58, verdict: "linearizable" },
      { kind: "kv", file: "kv/c01-bad.txt", operations: 38, verdict: "not-linearizable" },
      { kind: "etcd", file: "jepsen/etcd_000.log", operations: 85, verdict: "not-linearizable" },
      { kind: "etcd", file: "jepsen/etcd_002.log", operations: 77, verdict: "linearizable" },
    ] as const;
    for (const { kind, file, operations, verdict } of cases) {
      const { model, history } = readPorcupineHistory(kind, read(file));
      expect(history, file).toHaveLength(operations);
      expect(checkHistory(model as never, history as never).kind, file).toBe(verdict);
    }
  });
});

describe("bench:anchors arithmetic", () => {
  it("compares verdicts: agreement names the verdict, a disagreement or a Concord that gave up is an error naming the history", () => {
    expect(compareVerdicts("h", { kind: "linearizable", steps: 1 }, true)).toEqual({ agree: true, verdict: "linearizable" });
    expect(compareVerdicts("h", { kind: "not-linearizable", steps: 1 } as never, false)).toEqual({ agree: true, verdict: "not linearizable" });
    expect(compareVerdicts("h", { kind: "linearizable", steps: 1 }, false)).toEqual({ agree: false, error: "h: Concord says linearizable, porcupine says not linearizable" });
    const gaveUp = compareVerdicts("h", { kind: "unknown", limit: "step budget", reason: "budget ran out", steps: 9 }, true);
    expect(gaveUp).toEqual({ agree: false, error: "h: Concord gave up (budget ran out); porcupine says linearizable" });
  });

  it("takes medians of odd and even counts", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
});

describe("pnpm bench:anchors", () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, ["--import", "tsx", join(repoRoot, "bench", "src", "anchors", "main.ts"), ...args], { cwd: repoRoot, encoding: "utf8" });

  it("--help says what each side measures, and a bad flag is one line and exit 2", () => {
    const help = cli("--help");
    expect(help.status).toBe(0);
    for (const words of ["porcupine", "etcd-raft", "MsgProp", "--rounds", "--histories", "GOMAXPROCS"]) expect(help.stdout).toContain(words);
    const bad = cli("--only", "paxos");
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split("\n")).toEqual(['bench:anchors: --only: expected checker or raft, got "paxos" (see --help)']);
  });
});

// Go is not installed on CI: this part runs where it is (a build of porcheck from the vendored source takes seconds).
const go = findGo();
describe.skipIf(!go.found)(`porcupine itself (skipped without Go: ${go.found ? "" : go.why})`, () => {
  let porcheck: Porcheck | undefined;
  beforeAll(async () => {
    if (!go.found) return;
    const build = buildPorcheck(go.go, anchorsDir, join(tmpdir(), "concord-anchors-test"));
    if (!build.ok) throw new Error(build.why);
    porcheck = new Porcheck(build.binary);
    await porcheck.ready();
  }, 120_000);
  afterAll(() => porcheck?.close());

  it("agrees with Concord's checker on porcupine's histories, read by each side's parser", async () => {
    for (const [kind, file] of [["kv", "kv/c01-ok.txt"], ["kv", "kv/c10-bad.txt"], ["etcd", "jepsen/etcd_000.log"], ["etcd", "jepsen/etcd_005.log"]] as const) {
      const answer = await porcheck!.check(kind, join(testData, file), 1);
      const { model, history } = readPorcupineHistory(kind, read(file));
      expect(answer.operations, file).toBe(history.length);
      expect(compareVerdicts(file, checkHistory(model as never, history as never), answer.linearizable), file).toMatchObject({ agree: true });
    }
  });

  it("agrees with Concord's checker on random small KV histories, half of them with one get's value changed", async () => {
    const folder = join(tmpdir(), "concord-anchors-test", "random");
    mkdirSync(folder, { recursive: true });
    const verdicts = new Set<boolean>();
    for (let seed = 0; seed < 60; seed++) {
      const rng = createRng(seed + 9_000);
      let history = generateKvHistory({ clients: 4, operations: 24, keys: 2, seed, valueCount: 3, indeterminatePercent: 8, failedPercent: 4 });
      if (rng.chance(1, 2)) {
        const gets = history.filter((operation) => operation.output?.type === "get");
        const victim = gets[rng.nextInt(Math.max(1, gets.length))];
        history = history.map((operation) => (operation === victim ? { ...operation, output: { type: "get", value: new TextEncoder().encode(`v${rng.nextInt(3)}`) } } : operation));
      }
      const file = join(folder, `seed-${seed}.json`);
      writeFileSync(file, porcheckJson(history));
      const answer = await porcheck!.check("concord", file, 1);
      verdicts.add(answer.linearizable);
      expect(compareVerdicts(`seed ${seed}`, checkKvHistory(history), answer.linearizable), `seed ${seed}`).toMatchObject({ agree: true });
    }
    expect([...verdicts].sort()).toEqual([false, true]);
  });

  it("answers a bad request with an error, not a verdict", async () => {
    await expect(porcheck!.check("kv", join(testData, "no-such-file.txt"), 1)).rejects.toThrow(/no-such-file/);
  });
});

describe.skipIf(!go.found || !existsSync(etcdRaftSource))(`etcd-raft's RawNode driver (skipped without Go or etcd-raft 3.4's source)`, () => {
  it("commits and applies every proposal on the three nodes, compacts every 10,000 applied entries, and marshals what it persists only when asked", () => {
    if (!go.found) return;
    const build = buildRawnode(go.go, anchorsDir, join(tmpdir(), "concord-anchors-test"));
    if (!build.ok) throw new Error(build.why);
    // rawnode exits 2 unless every proposal was applied on all three nodes.
    const plain = runRawnode(build.binary, "onemsgprop", 30_000, 64, false);
    const encoded = runRawnode(build.binary, "onemsgprop", 30_000, 64, true);
    for (const result of [plain, encoded]) {
      expect(result.proposals).toBe(30_016);
      expect(result.messagesPerProposal).toBe(8 / 64);
      // Each node passes 30,000 more applied entries in the measured pass: three snapshots each.
      expect(result.snapshots).toBe(9);
    }
    expect(plain.encodedBytesPerProposal).toBe(0);
    // Three copies of each 17-byte entry with its term, index and framing, and the hard states.
    expect(encoded.encodedBytesPerProposal).toBeGreaterThan(3 * 17);
  }, 120_000);
});
