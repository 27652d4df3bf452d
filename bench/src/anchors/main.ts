// pnpm bench:anchors — Concord's hot paths side by side with their Go anchors
// in one run, each pair interleaved run by run (A B A B), so that the shared
// machine's drift falls on both sides alike. See --help.
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type Model, type Verdict, checkHistory, generateKvHistory, kvModel } from "@concord/check";
import type { History } from "@concord/core";
import { encodeCommand } from "@concord/kv";
import { currentMachine } from "../cost-model.ts";
import { InProcessRaft } from "../micro/raft.ts";
import { compareVerdicts, median } from "./compare.ts";
import { type BuildResult, Porcheck, buildPorcheck, buildRawnode, etcdRaftSource, findGo, porcheckJson, runRawnode } from "./go.ts";
import { readPorcupineHistory } from "./porcupine-histories.ts";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, "..", "..", "..");
const anchorsDir = join(repoRoot, "bench", "anchors");
const testData = join(anchorsDir, "porcupine", "test_data");

const usage = `usage: pnpm bench:anchors [--only checker|raft] [--histories <words>] [--rounds <n>] [--proposals <n>] [--out <dir>]

Runs Concord's hot paths beside their Go anchors, interleaved run by run
(anchor, Concord, anchor, Concord, ...), prints each pair's medians and the
ratio Concord / anchor (below 1: Concord is faster), and writes anchors.json
to bench/results/<time>/ or --out.

  checker  porcupine (vendored, MIT, in bench/anchors/porcupine) and Concord's
           checkHistory, both in process, on porcupine's own histories
           (test_data/kv: its KV model, a missing key reads as ""; test_data/jepsen:
           Jepsen's etcd logs, its cas-register model) and on Concord's generated
           KV histories (10,000 operations, 10 keys; Concord's KV model on both
           sides). A side's time is that of one check in process, parsing
           excluded, after a warm-up (Concord's JIT: every history checked
           once first, then about 100 ms of checks of each before its samples):
           each sample is up to 9 batches of about 2 ms of checks, the sample's
           figure the median batch's mean (so that a batch the scheduler
           preempted is left out), then the median over samples; wall time,
           and CPU time (the process's, every thread), which a loaded machine
           disturbs less. porcupine checks a history's partitions in parallel
           goroutines (GOMAXPROCS is printed); Concord checks them one after
           another on one thread. The verdicts must agree: a mismatch is an
           error (exit 1).
  raft     etcd-raft 3.4's RawNode (Debian's golang-etcd-server-dev, GOPATH
           mode) against Concord's Raft, both as \`pnpm bench:micro raft\` steps
           it: 3 replicas in one process, messages delivered in waves until
           quiet, no message encoding, no disk, every proposal committed and
           applied on all three before the next. Concord's replicas encode
           their durable records, which the bench's storage drops; etcd-raft
           appends to its MemoryStorage, and marshals every entry and hard
           state it persists (as etcd's WAL does) only in the last row. Both
           sides snapshot after applying 10,000 entries and compact their logs
           up to the snapshot before (Concord's default snapshotEveryEntries;
           MemoryStorage's CreateSnapshot and Compact in the driver), so that
           neither holds a log that grows with the run. Concord's replicas
           apply through their session table (each command decoded, its result
           encoded and cached) and its leader answers the client; etcd-raft's
           driver sets a map entry to each entry's data and answers no one.
           etcd-raft's leader broadcasts each new commit index at once, so its
           followers apply within the same run; Concord's sends it with the
           next append or heartbeat, so its followers apply each entry one
           proposal (or batch) later: the same applies per proposal in a long
           run, half the messages. Each sample is a fresh cluster, a warm-up
           pass, then --proposals proposals timed: one at a time, and in
           batches of 64 (etcd-raft both with each proposal its own MsgProp
           and with the 64 entries in one MsgProp; Concord's 64 client
           requests stepped into the leader one by one, which it appends in one
           Ready and sends in one append per follower, the shape of etcd's one
           MsgProp). Wall time and the process's CPU time per proposal (every
           thread), and peer messages per proposal.

Where Go (or etcd-raft's source) is missing it says so in one line and runs
Concord's side alone.

  --only <section>     checker or raft (default both)
  --histories <words>  only the histories whose names contain one of these
                       comma-separated words (c50-ok,etcd_002,generated)
  --rounds <n>         samples per side and pair (default 5)
  --proposals <n>      proposals per Raft sample (default 100000)
  --out <dir>          write anchors.json to this directory
  --help               print this
`;

function fail(message: string): never {
  process.stderr.write(`bench:anchors: ${message} (see --help)\n`);
  process.exit(2);
}

let parsed;
try {
  parsed = parseArgs({
    args: process.argv.slice(2),
    options: {
      only: { type: "string" },
      histories: { type: "string" },
      rounds: { type: "string", default: "5" },
      proposals: { type: "string", default: "100000" },
      out: { type: "string" },
      help: { type: "boolean", default: false },
    },
    allowPositionals: false,
    strict: true,
  });
} catch (error) {
  fail((error as Error).message.split("\n")[0]?.split(". ")[0] ?? "bad flags");
}
const { values } = parsed;
if (values.help) {
  process.stdout.write(usage);
  process.exit(0);
}
const positiveInteger = (flag: string, text: string): number => {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0) fail(`--${flag}: expected a positive integer, got "${text}"`);
  return value;
};
const rounds = positiveInteger("rounds", values.rounds);
const proposals = positiveInteger("proposals", values.proposals);
if (values.only !== undefined && values.only !== "checker" && values.only !== "raft") fail(`--only: expected checker or raft, got "${values.only}"`);
const sections = values.only === undefined ? ["checker", "raft"] : [values.only];
const historyWords = values.histories?.split(",").filter((word) => word !== "");

// ---- Go ----
const go = findGo();
const buildDir = join(tmpdir(), "concord-anchors");
let porcheckBuild: BuildResult | undefined;
let rawnodeBuild: BuildResult | undefined;
if (!go.found) {
  process.stderr.write(`bench:anchors: no Go toolchain (${go.why}): running Concord's side alone, no ratios\n`);
} else {
  process.stderr.write(`bench:anchors: ${go.version}; building the anchors in ${buildDir}...\n`);
  if (sections.includes("checker")) porcheckBuild = buildPorcheck(go.go, anchorsDir, buildDir);
  if (sections.includes("raft")) rawnodeBuild = buildRawnode(go.go, anchorsDir, buildDir);
  for (const [name, build] of [["porcupine", porcheckBuild], ["etcd-raft", rawnodeBuild]] as const) {
    if (build !== undefined && !build.ok) process.stderr.write(`bench:anchors: no ${name} anchor (${build.why}): running Concord's side alone\n`);
  }
}

interface Figures {
  readonly medianUs: number;
  readonly samplesUs: number[];
}

const figures = (samplesUs: number[]): Figures => ({ medianUs: median(samplesUs), samplesUs });
const ratioOf = (concord: Figures, anchor: Figures | undefined): number | undefined => (anchor === undefined ? undefined : concord.medianUs / anchor.medianUs);
const show = (us: number): string => (us >= 10_000 ? `${(us / 1000).toFixed(0)} ms` : us >= 1000 ? `${(us / 1000).toFixed(1)} ms` : `${us.toFixed(us >= 100 ? 0 : 1)} us`);
const showRatio = (ratio: number | undefined): string => (ratio === undefined ? "-" : ratio.toFixed(2));

// ---- the checker ----
interface CheckerRow {
  readonly history: string;
  readonly corpus: "porcupine kv" | "porcupine etcd" | "concord generated";
  readonly operations: number;
  readonly verdict: string;
  readonly verdictsAgree: boolean | undefined;
  /** concord and porcupine are wall times; ratio theirs. */
  readonly concord: Figures;
  readonly porcupine: Figures | undefined;
  readonly ratio: number | undefined;
  /** concordCpu and porcupineCpu are the process's CPU times (every thread); cpuRatio theirs. */
  readonly concordCpu: Figures;
  readonly porcupineCpu: Figures | undefined;
  readonly cpuRatio: number | undefined;
}

interface CheckerCase {
  readonly name: string;
  readonly corpus: CheckerRow["corpus"];
  readonly model: Model<unknown, unknown, unknown>;
  readonly history: History<unknown, unknown>;
  readonly porcupineKind: "kv" | "etcd" | "concord";
  readonly file: string;
}

const targetSampleMs = 20;
const batchMs = 2;
const warmUpMs = 100;

function checkerCases(): CheckerCase[] {
  const cases: CheckerCase[] = [];
  for (const [kind, folder, corpus] of [["kv", "kv", "porcupine kv"], ["etcd", "jepsen", "porcupine etcd"]] as const) {
    for (const name of readdirSync(join(testData, folder)).filter((file) => /\.(txt|log)$/.test(file)).sort()) {
      const file = join(testData, folder, name);
      const read = readPorcupineHistory(kind, readFileSync(file, "utf8"));
      cases.push({ name, corpus, model: read.model as Model<unknown, unknown, unknown>, history: read.history, porcupineKind: kind, file });
    }
  }
  const generated = [
    { name: "generated-10-clients", clients: 10 },
    { name: "generated-50-clients", clients: 50 },
    { name: "generated-50-clients-2%-info-2%-fail", clients: 50, indeterminatePercent: 2, failedPercent: 2 },
  ];
  for (const workload of generated) {
    if (historyWords !== undefined && !historyWords.some((word) => workload.name.includes(word))) continue;
    const history = generateKvHistory({ operations: 10_000, keys: 10, seed: 1, ...workload });
    const file = join(buildDir, `${workload.name}.json`);
    mkdirSync(buildDir, { recursive: true });
    writeFileSync(file, porcheckJson(history));
    cases.push({ name: workload.name, corpus: "concord generated", model: kvModel as Model<unknown, unknown, unknown>, history: history as History<unknown, unknown>, porcupineKind: "concord", file });
  }
  return cases.filter((entry) => historyWords === undefined || historyWords.some((word) => entry.name.includes(word)));
}

function concordCheck(entry: CheckerCase, repeat: number): { verdict: Verdict; us: number; cpuUs: number } {
  const startCpu = process.cpuUsage();
  const start = performance.now();
  let verdict = checkHistory(entry.model, entry.history);
  for (let i = 1; i < repeat; i++) verdict = checkHistory(entry.model, entry.history);
  const us = ((performance.now() - start) * 1000) / repeat;
  const cpu = process.cpuUsage(startCpu);
  return { verdict, us, cpuUs: (cpu.user + cpu.system) / repeat };
}

/** concordSample is the median over `batches` batches of the mean wall and CPU time of `repeat` checks, as porcheck measures porcupine. */
function concordSample(entry: CheckerCase, shape: SampleShape): { us: number; cpuUs: number } {
  const means: number[] = [];
  const cpuMeans: number[] = [];
  for (let batch = 0; batch < shape.batches; batch++) {
    const { us, cpuUs } = concordCheck(entry, shape.repeat);
    means.push(us);
    cpuMeans.push(cpuUs);
  }
  return { us: median(means), cpuUs: median(cpuMeans) };
}

/**
 * SampleShape is how a sample is taken: `batches` batches of `repeat` checks,
 * a batch lasting about 2 ms and a sample about 20 ms, the sample's figure
 * being the median batch's mean: on a shared machine a batch that the
 * scheduler preempted is an outlier the median leaves out, while a batch is
 * long enough to include its share of garbage collection.
 */
interface SampleShape {
  readonly repeat: number;
  readonly batches: number;
}

function sampleShape(us: number): SampleShape {
  const repeat = Math.max(1, Math.min(1000, Math.ceil((batchMs * 1000) / Math.max(us, 1))));
  return { repeat, batches: Math.max(1, Math.min(9, Math.floor((targetSampleMs * 1000) / (repeat * Math.max(us, 1))))) };
}

async function runChecker(porcheck: Porcheck | undefined): Promise<{ rows: CheckerRow[]; errors: string[] }> {
  const rows: CheckerRow[] = [];
  const errors: string[] = [];
  const cases = checkerCases();
  // Every history checked once first, so that the JIT has seen every path (kv and register models, both
  // verdicts) before any is timed, rather than deoptimizing at the first history of a new kind.
  for (const entry of cases) concordCheck(entry, 1);
  for (const entry of cases) {
    // Warm-up: Concord's checks for about 100 ms (its JIT compiles the search on the way), one of porcupine's
    // (compiled ahead of time); the last of each gives the verdicts and the repeat counts.
    // The sample shapes come from the mean CPU time over the warm-up, not from one check's wall time,
    // which the scheduler may have stretched.
    const warmStart = performance.now();
    let warm = concordCheck(entry, 1);
    let warmCpuUs = 0;
    let warmChecks = 0;
    while (performance.now() < warmStart + warmUpMs || warmChecks < 3) {
      warm = concordCheck(entry, 1);
      warmCpuUs += warm.cpuUs;
      warmChecks++;
    }
    const concordShape = sampleShape(warmCpuUs / warmChecks);
    let porcupineShape: SampleShape = { repeat: 1, batches: 1 };
    let agree: boolean | undefined;
    let verdict: string = warm.verdict.kind;
    if (porcheck !== undefined) {
      const answer = await porcheck.check(entry.porcupineKind, entry.file, 1);
      porcupineShape = sampleShape(answer.cpuMs * 1000);
      if (porcupineShape.repeat > 1) porcupineShape = sampleShape((await porcheck.check(entry.porcupineKind, entry.file, porcupineShape.repeat)).cpuMs * 1000);
      const comparison = compareVerdicts(entry.name, warm.verdict, answer.linearizable);
      agree = comparison.agree;
      if (comparison.agree) verdict = comparison.verdict;
      else errors.push(comparison.error);
    }
    const concordUs: number[] = [];
    const concordCpuUs: number[] = [];
    const porcupineUs: number[] = [];
    const porcupineCpuUs: number[] = [];
    for (let round = 0; round < rounds; round++) {
      if (porcheck !== undefined) {
        const answer = await porcheck.check(entry.porcupineKind, entry.file, porcupineShape.repeat, porcupineShape.batches);
        porcupineUs.push(answer.ms * 1000);
        porcupineCpuUs.push(answer.cpuMs * 1000);
      }
      const sample = concordSample(entry, concordShape);
      concordUs.push(sample.us);
      concordCpuUs.push(sample.cpuUs);
    }
    const concord = figures(concordUs);
    const concordCpu = figures(concordCpuUs);
    const porcupine = porcheck === undefined ? undefined : figures(porcupineUs);
    const porcupineCpu = porcheck === undefined ? undefined : figures(porcupineCpuUs);
    const row: CheckerRow = {
      history: entry.name,
      corpus: entry.corpus,
      operations: entry.history.length,
      verdict,
      verdictsAgree: agree,
      concord,
      porcupine,
      ratio: ratioOf(concord, porcupine),
      concordCpu,
      porcupineCpu,
      cpuRatio: ratioOf(concordCpu, porcupineCpu),
    };
    rows.push(row);
    const pair = (anchor: Figures | undefined, mine: Figures, ratio: number | undefined): string =>
      `${(anchor === undefined ? "-" : show(anchor.medianUs)).padStart(8)} ${show(mine.medianUs).padStart(8)} ${showRatio(ratio).padStart(5)}`;
    process.stdout.write(
      `${row.history.padEnd(38)} ${String(row.operations).padStart(6)} ${verdict.padEnd(17)} ${pair(porcupine, concord, row.ratio)}   ${pair(porcupineCpu, concordCpu, row.cpuRatio)}${agree === false ? "  VERDICTS DIFFER" : ""}\n`,
    );
  }
  return { rows, errors };
}

// ---- Raft ----
interface RaftRow {
  readonly name: string;
  readonly anchor: string;
  /** concord and etcdRaft are wall times per proposal; ratio theirs. */
  readonly concord: Figures;
  readonly etcdRaft: Figures | undefined;
  readonly ratio: number | undefined;
  /** concordCpu and etcdRaftCpu are the process's CPU times per proposal (every thread); cpuRatio theirs. */
  readonly concordCpu: Figures;
  readonly etcdRaftCpu: Figures | undefined;
  readonly cpuRatio: number | undefined;
  /** concordMessages and etcdRaftMessages are the peer messages per proposal of the last sample. */
  readonly concordMessages: number;
  readonly etcdRaftMessages: number | undefined;
}

const batch = 64;
// The command `pnpm bench:micro raft` proposes: a put of 8 bytes under "key".
const command = encodeCommand({ type: "put", key: "key", value: new Uint8Array(8) });

function concordRaftSample(size: number): { us: number; cpuUs: number; messages: number } {
  const cluster = new InProcessRaft(3, {});
  const total = Math.ceil(proposals / size) * size;
  const pass = (): { us: number; cpuUs: number; messages: number } => {
    const messagesBefore = cluster.network.peerMessages;
    const startCpu = process.cpuUsage();
    const start = performance.now();
    for (let done = 0; done < total; done += size) cluster.propose(size, command);
    const us = ((performance.now() - start) * 1000) / total;
    const cpu = process.cpuUsage(startCpu);
    return { us, cpuUs: (cpu.user + cpu.system) / total, messages: (cluster.network.peerMessages - messagesBefore) / total };
  };
  pass(); // warm-up, as rawnode's
  return pass();
}

function runRaft(binary: string | undefined): RaftRow[] {
  const pairs = [
    { name: "one proposal at a time", size: 1, mode: "single", anchor: "RawNode.Propose of one entry, run until quiet" },
    { name: "batches of 64, each its own MsgProp", size: batch, mode: "batch", anchor: "64 RawNode.Propose calls, then run until quiet" },
    { name: "batches of 64, the batch in one MsgProp", size: batch, mode: "onemsgprop", anchor: "one MsgProp of 64 entries stepped into the leader, then run until quiet" },
    {
      name: "batch in one MsgProp, etcd-raft encoding",
      size: batch,
      mode: "onemsgprop",
      encode: true,
      anchor: "one MsgProp of 64 entries stepped into the leader, then run until quiet; every node marshals each entry and hard state it persists (as etcd's WAL does), as Concord's replicas encode their records",
    },
  ] as const;
  const samples = pairs.map(() => ({ concord: [] as number[], concordCpu: [] as number[], anchor: [] as number[], anchorCpu: [] as number[], concordMessages: 0, anchorMessages: undefined as number | undefined }));
  for (let round = 0; round < rounds; round++) {
    // Concord's batch of 64 is one sample for both batched pairs (it has one way to batch: 64 client requests to the leader).
    let concordBatch: { us: number; cpuUs: number; messages: number } | undefined;
    pairs.forEach((pair, index) => {
      const sample = samples[index]!;
      if (binary !== undefined) {
        const anchor = runRawnode(binary, pair.mode, proposals, pair.size, "encode" in pair && pair.encode);
        sample.anchor.push(anchor.usPerProposal);
        sample.anchorCpu.push(anchor.cpuUsPerProposal);
        sample.anchorMessages = anchor.messagesPerProposal;
      }
      const mine = pair.size === 1 ? concordRaftSample(1) : (concordBatch ??= concordRaftSample(batch));
      sample.concord.push(mine.us);
      sample.concordCpu.push(mine.cpuUs);
      sample.concordMessages = mine.messages;
    });
  }
  return pairs.map((pair, index) => {
    const sample = samples[index]!;
    const concord = figures(sample.concord);
    const concordCpu = figures(sample.concordCpu);
    const etcdRaft = binary === undefined ? undefined : figures(sample.anchor);
    const etcdRaftCpu = binary === undefined ? undefined : figures(sample.anchorCpu);
    const row: RaftRow = {
      name: pair.name,
      anchor: pair.anchor,
      concord,
      etcdRaft,
      ratio: ratioOf(concord, etcdRaft),
      concordCpu,
      etcdRaftCpu,
      cpuRatio: ratioOf(concordCpu, etcdRaftCpu),
      concordMessages: sample.concordMessages,
      etcdRaftMessages: sample.anchorMessages,
    };
    const pairText = (anchor: Figures | undefined, mine: Figures, ratio: number | undefined): string =>
      `${(anchor === undefined ? "-" : show(anchor.medianUs)).padStart(8)} ${show(mine.medianUs).padStart(8)} ${showRatio(ratio).padStart(5)}`;
    const messagesText = `${row.etcdRaftMessages === undefined ? "-" : row.etcdRaftMessages.toFixed(3)} ${row.concordMessages.toFixed(3)}`;
    process.stdout.write(`raft, ${row.name.padEnd(40)} ${pairText(etcdRaft, concord, row.ratio)}   ${pairText(etcdRaftCpu, concordCpu, row.cpuRatio)}   ${messagesText.padStart(12)}\n`);
    return row;
  });
}

// ---- the run ----
const startedAt = new Date().toISOString();
const result: Record<string, unknown> = {
  command: ["pnpm bench:anchors", ...process.argv.slice(2)].join(" "),
  startedAt,
  machine: currentMachine(),
  go: go.found ? go.version : null,
  rounds,
  ratio: "ratio (wall time) and cpuRatio (the process's CPU time, every thread): median of Concord's samples / median of the anchor's samples (below 1: Concord is faster)",
};
let errors: string[] = [];
if (sections.includes("checker")) {
  const porcheck = porcheckBuild?.ok === true ? new Porcheck(porcheckBuild.binary) : undefined;
  await porcheck?.ready();
  process.stdout.write(`checker: porcupine ${porcheck === undefined ? "not run" : `in process, GOMAXPROCS=${porcheck.gomaxprocs}`}; Concord in process, one thread; median time of one check over ${rounds} samples each\n`);
  process.stdout.write(`${"history".padEnd(38)} ${"ops".padStart(6)} ${"verdict".padEnd(17)} ${"wall: porcupine  Concord ratio".padStart(30)}   ${"CPU: porcupine  Concord ratio".padStart(30)}\n`);
  const checker = await runChecker(porcheck);
  porcheck?.close();
  errors = checker.errors;
  for (const [what, ratioOf] of [["wall", (row: CheckerRow) => row.ratio], ["CPU", (row: CheckerRow) => row.cpuRatio]] as const) {
    const ratios = checker.rows.map(ratioOf).filter((ratio) => ratio !== undefined);
    if (ratios.length === 0) continue;
    const over = checker.rows.filter((row) => (ratioOf(row) ?? 0) > 1);
    process.stdout.write(
      `checker, ${what} time: ${checker.rows.length} histories, ratio median ${median(ratios).toFixed(2)}, worst ${Math.max(...ratios).toFixed(2)}; ${over.length} above 1.0${over.length > 0 ? `: ${over.map((row) => `${row.history} ${ratioOf(row)!.toFixed(2)}`).join(", ")}` : ""}\n`,
    );
  }
  result["checker"] = {
    measures:
      "time of one in-process check, parsing excluded, after a warm-up (porcupine: one check; Concord: about 100 ms of checks, for its JIT); a sample is the median over up to 9 batches (about 2 ms each) of a batch's mean, a figure the median over samples; wall time, and the process's CPU time over every thread (porcupine's parallel goroutines and both sides' garbage collectors); porcupine: CheckEvents (its histories) or CheckOperations (generated); Concord: checkHistory with the default options, one thread",
    gomaxprocs: porcheck?.gomaxprocs ?? null,
    histories: checker.rows,
  };
}
if (sections.includes("raft")) {
  const binary = rawnodeBuild?.ok === true ? rawnodeBuild.binary : undefined;
  process.stdout.write(`raft: 3 replicas in one process, until quiet, each proposal committed, applied and answered on the leader before the next; ${proposals} proposals per sample, ${rounds} samples each; etcd-raft ${binary === undefined ? "not run" : `3.4 from ${etcdRaftSource}`}\n`);
  process.stdout.write(`${"raft, per proposal".padEnd(46)} ${"wall: etcd-raft  Concord ratio".padStart(30)}   ${"CPU: etcd-raft  Concord ratio".padStart(30)}   messages: etcd-raft Concord\n`);
  result["raft"] = {
    measures:
      "microseconds per proposal, wall and the process's CPU time (every thread), and peer messages per proposal: a fresh 3-node cluster, a warm-up pass, then the timed pass of --proposals proposals (messages delivered in waves until quiet, no message encoding, no disk), each committed, applied and answered on the leader before the next; both sides snapshot every 10,000 applied entries and compact their logs up to the snapshot before; Concord's replicas encode their durable records (dropped by the bench's storage), etcd-raft's nodes marshal what they persist only in the last pair (as etcd's WAL does); Concord applies through its session table (a KV command decoded, its result encoded and cached) and its leader answers the client, etcd-raft's driver sets a map entry and answers no one; etcd-raft's leader broadcasts each commit at once and its followers apply it in the same run, Concord's followers apply it when the next append or heartbeat brings the commit index (one proposal or batch later: the same work per proposal over a long run, half the messages); Concord's batch is 64 client requests stepped into the leader one by one, appended in one Ready and sent in one append per follower",
    proposals,
    pairs: runRaft(binary),
  };
}
const outDir = values.out ?? join(repoRoot, "bench", "results", startedAt.replace(/[:.]/g, "-"));
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, "anchors.json"), JSON.stringify({ ...result, errors }, null, 2) + "\n");
process.stderr.write(`wrote ${relative(process.cwd(), join(outDir, "anchors.json"))}\n`);
for (const error of errors) process.stderr.write(`bench:anchors: verdicts differ: ${error}\n`);
process.exit(errors.length > 0 ? 1 : 0);
