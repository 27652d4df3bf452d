// The Go side of `pnpm bench:anchors`: finding Go, building the anchors from
// sources this machine has (porcupine vendored in bench/anchors/porcupine,
// etcd-raft 3.4 from Debian's golang-etcd-server-dev in GOPATH mode), and
// talking to them.
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { createInterface, type Interface } from "node:readline";
import type { History } from "@concord/core";
import type { KvCommand, KvResult } from "@concord/kv";

/** GoToolchain is the Go this machine has, or why there is none. */
export type GoToolchain = { readonly found: true; readonly go: string; readonly version: string } | { readonly found: false; readonly why: string };

/** findGo looks for `go` (or $CONCORD_GO) and asks its version. */
export function findGo(): GoToolchain {
  const go = process.env["CONCORD_GO"] ?? "go";
  const run = spawnSync(go, ["version"], { encoding: "utf8" });
  if (run.error !== undefined || run.status !== 0) return { found: false, why: `${go} is not installed or does not run (${run.error?.message ?? run.stderr.trim()})` };
  return { found: true, go, version: run.stdout.trim() };
}

/** etcdGopath is the GOPATH holding etcd-raft 3.4's source (Debian's golang-etcd-server-dev), or $CONCORD_ETCD_GOPATH. */
export const etcdGopath = process.env["CONCORD_ETCD_GOPATH"] ?? "/usr/share/gocode";

/** etcdRaftSource is where etcd-raft's package should be in that GOPATH. */
export const etcdRaftSource = join(etcdGopath, "src", "go.etcd.io", "etcd", "raft");

/** BuildResult is a built binary, or why it could not be built. */
export type BuildResult = { readonly ok: true; readonly binary: string } | { readonly ok: false; readonly why: string };

function goBuild(go: string, cwd: string, output: string, args: readonly string[], env: Record<string, string>): BuildResult {
  mkdirSync(join(output, ".."), { recursive: true });
  const run = spawnSync(go, ["build", "-o", output, ...args], { cwd, encoding: "utf8", env: { ...process.env, GOTOOLCHAIN: "local", GOPROXY: "off", ...env } });
  if (run.error !== undefined || run.status !== 0) return { ok: false, why: `go build in ${cwd} failed: ${(run.error?.message ?? run.stderr).trim().split("\n").slice(0, 3).join(" / ")}` };
  return { ok: true, binary: output };
}

/** buildPorcheck builds bench/anchors/porcheck against the vendored porcupine (module mode, no network). */
export function buildPorcheck(go: string, anchorsDir: string, buildDir: string): BuildResult {
  return goBuild(go, join(anchorsDir, "porcheck"), join(buildDir, "porcheck"), ["."], { GOFLAGS: "-mod=mod", GO111MODULE: "on" });
}

/** buildRawnode builds bench/anchors/rawnode against etcd-raft 3.4 in GOPATH mode. */
export function buildRawnode(go: string, anchorsDir: string, buildDir: string): BuildResult {
  if (!existsSync(etcdRaftSource)) return { ok: false, why: `etcd-raft 3.4's source is not at ${etcdRaftSource} (apt-get install golang-etcd-server-dev, or set CONCORD_ETCD_GOPATH)` };
  return goBuild(go, join(anchorsDir, "rawnode"), join(buildDir, "rawnode"), ["main.go"], { GO111MODULE: "off", GOPATH: etcdGopath, GOFLAGS: "" });
}

/** PorcupineAnswer is porcupine's verdict on a history and the time of one check (the median over batches of a batch's mean). */
export interface PorcupineAnswer {
  readonly linearizable: boolean;
  /** ms is wall time; cpuMs the process's CPU time, every thread. */
  readonly ms: number;
  readonly cpuMs: number;
  readonly operations: number;
}

/** Porcheck is a running porcheck: requests go one a line on its stdin, answers come one a line on its stdout. */
export class Porcheck {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: Interface;
  private readonly waiting: ((line: string) => void)[] = [];
  private stderr = "";
  /** gomaxprocs is how many threads porcupine may run partitions on (it checks a history's partitions in parallel). */
  gomaxprocs = 0;

  constructor(binary: string) {
    this.child = spawn(binary, [], { stdio: ["pipe", "pipe", "pipe"] });
    this.child.stderr.on("data", (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.lines = createInterface({ input: this.child.stdout });
    this.lines.on("line", (line) => this.waiting.shift()?.(line));
    this.child.on("exit", () => {
      for (const waiter of this.waiting.splice(0)) waiter(JSON.stringify({ error: `porcheck exited: ${this.stderr.trim() || "no message"}` }));
    });
  }

  /** ready waits for porcheck's greeting. */
  async ready(): Promise<void> {
    const greeting = JSON.parse(await this.next()) as { ready?: boolean; gomaxprocs?: number; error?: string };
    if (greeting.ready !== true) throw new Error(`porcheck did not start: ${greeting.error ?? "no greeting"}`);
    this.gomaxprocs = greeting.gomaxprocs ?? 0;
  }

  /** check has porcupine check `file` (of `kind`) in `batches` batches of `repeat` checks, and returns its verdict and the median batch's mean. */
  async check(kind: "kv" | "etcd" | "concord", file: string, repeat: number, batches = 1): Promise<PorcupineAnswer> {
    const answer = this.next();
    this.child.stdin.write(`${kind} ${repeat} ${batches} ${file}\n`);
    const parsed = JSON.parse(await answer) as PorcupineAnswer & { error?: string };
    if (parsed.error !== undefined) throw new Error(`porcupine on ${file}: ${parsed.error}`);
    return parsed;
  }

  close(): void {
    this.child.stdin.end();
    this.lines.close();
  }

  private next(): Promise<string> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }
}

/** RawnodeMode is how rawnode proposes: one at a time, a batch of MsgProps, or a batch in one MsgProp. */
export type RawnodeMode = "single" | "batch" | "onemsgprop";

/** RawnodeResult is what rawnode prints of its measured pass. */
export interface RawnodeResult {
  readonly usPerProposal: number;
  readonly cpuUsPerProposal: number;
  readonly messagesPerProposal: number;
  readonly proposals: number;
  /** encodedBytesPerProposal is what the nodes marshalled per proposal (0 without `encode`). */
  readonly encodedBytesPerProposal: number;
  /** snapshots counts the snapshots the three nodes took (each after applying 10,000 entries since its last). */
  readonly snapshots: number;
}

/**
 * runRawnode runs the etcd-raft driver once (a warm-up pass, then `proposals` measured) and returns microseconds per
 * proposal; with `encode`, each node also marshals every entry and hard state it persists, as etcd's WAL does.
 */
export function runRawnode(
  binary: string,
  mode: RawnodeMode,
  proposals: number,
  batch: number,
  encode: boolean,
): RawnodeResult {
  const args = mode === "single" ? [mode, String(proposals)] : [mode, String(proposals), String(batch)];
  const run = spawnSync(binary, encode ? [...args, "encode"] : args, { encoding: "utf8" });
  if (run.error !== undefined || run.status !== 0) throw new Error(`rawnode ${mode} failed: ${(run.error?.message ?? run.stderr).trim()}`);
  return JSON.parse(run.stdout) as RawnodeResult;
}

const decoder = new TextDecoder();
const text = (bytes: Uint8Array | undefined): string | null => (bytes === undefined ? null : decoder.decode(bytes));

/** porcheckJson writes a Concord KV history as porcheck's `concord` kind reads it (values as UTF-8 text: the generator's are ASCII). */
export function porcheckJson(history: History<KvCommand, KvResult>): string {
  return JSON.stringify(
    history.map((operation) => {
      const input = operation.input;
      const output = operation.output;
      return {
        client: operation.clientId,
        status: operation.status,
        invokeUs: operation.invokeUs,
        completeUs: operation.completeUs ?? null,
        input: { type: input.type, key: input.key, value: "value" in input ? text(input.value) : null, expected: input.type === "cas" ? text(input.expected) : null },
        output:
          output === undefined
            ? null
            : { type: output.type, value: output.type === "get" ? text(output.value) : null, ok: output.type === "cas" && output.ok, existed: output.type === "delete" && output.existed },
      };
    }),
  );
}
