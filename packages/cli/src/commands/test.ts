import { randomInt } from "node:crypto";
import { type ReadLevel, readLevels } from "@concord/core";
import { join } from "node:path";
import { type NemesisKind, NemesisTest, type NemesisTestResult, type WindowFigures, algorithmNames, etcdSystemName, findOnPath, namespaceSupport, nemesisKinds, shellQuote } from "@concord/lab";
import { makeDirectories } from "@concord/net";
import { type FlagSpec, choiceFlag, faultToleranceWarning, helpText, integerFlag, parseFlags, protocolOptionFlags } from "../flags.ts";
import { type CommandIo, UsageError } from "../io.ts";
import { protocolOptionsHelp } from "../protocol-options.ts";
import { nodeLauncher } from "./cluster.ts";
import { algorithmFlag } from "./real-flags.ts";

const systems = [...algorithmNames, etcdSystemName];

const flags: Readonly<Record<string, FlagSpec>> = {
  algo: { type: "string", description: "the system under test: an algorithm, or etcd (Debian's etcd-server) (required)", values: systems },
  nodes: { type: "string", description: "how many nodes, each in its own network namespace (default: the smallest cluster tolerating one fault; 3 for etcd)" },
  nemesis: { type: "string", description: "the faults to draw, comma-separated (required; \"none\" for none)", values: nemesisKinds },
  seconds: { type: "string", description: "how long the load runs; faults run from 1 s in to 1 s before its end (default 20)" },
  seed: { type: "string", description: "seed of the fault schedule and of the operations (default: random, printed)" },
  clients: { type: "string", description: "closed-loop clients, each with one operation outstanding (default 5)" },
  keys: { type: "string", description: "distinct keys (default 5)" },
  out: { type: "string", description: "directory for the results (default test-results/<algo>-<nemesis>-<seed>-<time>)" },
  "read-level": { type: "string", description: "what the load's reads ask for (default linearizable); stale: served by whichever node a client reaches (etcd: serializable reads), which no system promises to keep linearizable", values: readLevels },
  option: { type: "string", multiple: true, description: "a protocol option as name=value for every node and client (repeatable)" },
  json: { type: "boolean", description: "print results.json's summary as one JSON object" },
  help: { type: "boolean", description: "show this help" },
};

const usage =
  "concord test --algo <name|etcd> --nodes <n> --nemesis <list> --seconds <s> --seed <s> [--clients <c>] [--out <dir>]\n\n" +
  "A Jepsen-style test on this machine: every node a real process in its own Linux network\n" +
  "namespace (a veth on a bridge; the clients run in this process, outside every node's\n" +
  "namespace), a nemesis drawn from the seed, a closed-loop KV workload, and the history\n" +
  "checked for linearizability with a read of every key after the heal. The namespaces are\n" +
  "made at the start and removed at the end, on Ctrl-C too; a killed run's are removed by the\n" +
  "next. Needs root (or CAP_SYS_ADMIN and CAP_NET_ADMIN), iproute2 and nftables (and python3\n" +
  "for latency on a kernel without sch_netem).\n\n" +
  "nemesis (one fault at a time, 0.7 to 2.5 s each, 0.5 to 1.5 s apart, kinds in turn):\n" +
  "  partition  nftables drop rules inside the namespaces: majority/minority, isolate the leader,\n" +
  "             bridge (two halves and one node reaching both), one-way (a minority hears nothing)\n" +
  "  kill       SIGKILL the leader, a random node or a majority; restart on the same data directory\n" +
  "  pause      SIGSTOP the leader or a random node, SIGCONT at the end (a GC pause, a stalled VM)\n" +
  "  loss       nftables drops 10-40% of the packets in and out of one node or all, at random, and\n" +
  "             sends a quarter as many of those they send twice (nftables dup)\n" +
  "  latency    50-200 ms of delay, jitter a fifth of it, on what one node or all send, with 10-40%\n" +
  "             of their packets reordered and 1-4% sent twice (a fifth and a fiftieth of the delay):\n" +
  "             tc netem (delay, reorder, duplicate) on their links, or, on a kernel without\n" +
  "             sch_netem, a delaying TCP relay in front of each node (nftables redirects its port\n" +
  "             to it from the start of the run) and a reordering wire in each node's namespace (a\n" +
  "             TUN device run by python3: nftables marks the share of packets it holds for 1 ms\n" +
  "             to the jitter while the rest overtake them, some written twice); results.json\n" +
  "             records what the relays and wires measured in the fault\n" +
  "  disk       each data directory on a 64 MiB tmpfs (etcd's: 256); fill the leader's or a random\n" +
  "             node's until ENOSPC, free it at the end (a Concord node holds what it cannot sync,\n" +
  "             says diskFull in its status, and resumes; one that died is restarted); or SIGKILL a\n" +
  "             random node and damage its log while it is down: a torn last append, which its\n" +
  "             restart must drop with a line saying where, or a flipped byte of synced data, which\n" +
  "             must stop its start with a line naming the file and offset (the byte is then put\n" +
  "             back and the node restarted); a node that does otherwise fails the run. For etcd the\n" +
  "             same in its WAL: the torn append must be repaired (its \"repaired\" line), the flipped\n" +
  "             byte must end its start with \"walpb: crc mismatch\"\n" +
  "  clock      run the leader's or a random node's tick timer at 0.25, 0.5, 2 or 4 times real time\n" +
  "             (the protocols count time in ticks: timeouts, leases); not for etcd\n\n" +
  "Writes to --out: history.edn (Jepsen), history.jsonl (concord check reads both), results.json\n" +
  "(the schedule, the faults as they happened, the verdict, availability and latency per fault\n" +
  "window), timeline.html (the operations with the fault windows over them) and logs/.\n" +
  "The schedule replays from --seed; a real system's timing does not (see docs/testing.md).\n" +
  "exit codes: 0 linearizable and every key read back, 1 not linearizable or a key unreadable\n" +
  "after the heal, 3 the check could not decide, 2 bad flags or a machine that cannot run it";

/** runTestCommand runs one nemesis test and prints its verdict. */
export async function runTestCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseFlags(args, flags, false);
  if (values["help"] === true) {
    io.stdout(helpText(usage, flags, [protocolOptionsHelp(algorithmNames)]));
    return 0;
  }
  const system = typeof values["algo"] === "string" && values["algo"] === etcdSystemName ? etcdSystemName : algorithmFlag(values["algo"], systems).name;
  const algorithm = system === etcdSystemName ? undefined : algorithmFlag(system);
  const nodes = integerFlag("nodes", values["nodes"], 1, 9) ?? (algorithm === undefined ? 3 : Math.max(1, algorithm.replicasToTolerate(1) || 1));
  const sizeError = algorithm?.clusterSizeError(nodes);
  if (sizeError !== undefined) throw new UsageError(`--nodes: ${sizeError}`);
  const nemesis = nemesisFlag(values["nemesis"]);
  const seconds = integerFlag("seconds", values["seconds"], 2, 3_600) ?? 20;
  const seed = integerFlag("seed", values["seed"], 0, 2 ** 31 - 1) ?? randomInt(0, 2 ** 31);
  const clients = integerFlag("clients", values["clients"], 1, 1_000) ?? 5;
  const keys = integerFlag("keys", values["keys"], 1, 10_000) ?? 5;
  const options = protocolOptionFlags(values["option"]);
  const readLevel = values["read-level"] === undefined ? undefined : (choiceFlag("read-level", values["read-level"], readLevels) as ReadLevel);
  if (algorithm === undefined && Object.keys(options).length > 0) throw new UsageError("--option sets a Concord algorithm's protocol options; etcd takes none");
  const out = typeof values["out"] === "string" ? values["out"] : join("test-results", `${system}-${nemesis.join("+") || "none"}-${seed}-${new Date().toISOString().replace(/[:.]/g, "-")}`);
  if (algorithm !== undefined) {
    const warning = faultToleranceWarning(algorithm, nodes);
    if (warning !== undefined) io.stderr(`concord: ${warning}\n`);
  }
  if (system === etcdSystemName && nemesis.includes("clock")) throw new UsageError("--nemesis clock sets a Concord node's tick timer; etcd's clock is the machine's, which it cannot set per member");
  const etcdPath = system === etcdSystemName ? findOnPath("etcd") : undefined;
  if (system === etcdSystemName && etcdPath === undefined) throw new UsageError("--algo etcd: no etcd on the PATH (Debian's etcd-server package installs it)");
  const unsupported = await namespaceSupport({ nft: true });
  if (unsupported !== undefined) throw new UsageError(`cannot run a test here: ${unsupported}`);
  try {
    makeDirectories(out);
  } catch (error) {
    throw new UsageError(`--out: cannot make ${out}: ${(error as Error).message}`);
  }
  const replay = [
    "pnpm concord test --algo", system, "--nodes", String(nodes), "--nemesis", nemesis.join(",") || "none", "--seconds", String(seconds), "--seed", String(seed), "--clients", String(clients), "--keys", String(keys),
    ...(readLevel === undefined ? [] : ["--read-level", readLevel]),
    ...Object.entries(options).flatMap(([name, value]) => ["--option", shellQuote(`${name}=${String(value)}`)]),
  ].join(" ");
  const test = new NemesisTest({
    system,
    nodes,
    nemesis,
    seconds,
    seed,
    clients,
    keys,
    outDir: out,
    launcher: nodeLauncher,
    nodeFlags: Object.entries(options).flatMap(([name, value]) => ["--option", `${name}=${String(value)}`]),
    clientOptions: options,
    readLevel,
    etcdPath,
    replay,
    progress: (line) => io.stderr(`${line}\n`),
  });
  io.stderr(`concord test: seed ${seed}, results in ${out}\n`);
  // Ctrl-C, a kill or a crash of this process must not leave namespaces and node processes behind.
  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted !== undefined) return;
    interrupted = signal;
    io.stderr(`concord test: ${signal}: stopping the nodes and removing the namespaces\n`);
    void test.abort().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  let result: NemesisTestResult;
  try {
    result = await test.run();
  } catch (error) {
    if (interrupted !== undefined) return new Promise<number>(() => {}); // the signal handler exits
    throw new UsageError(`test could not run: ${(error as Error).message.split("\n")[0]} (logs in ${join(out, "logs")})`);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  io.stdout(values["json"] === true ? `${JSON.stringify(summaryOf(result))}\n` : report(result, out));
  return result.verdict.linearizable === null ? 3 : result.passed ? 0 : 1;
}

function nemesisFlag(raw: string | boolean | string[] | undefined): NemesisKind[] {
  if (typeof raw !== "string") throw new UsageError(`--nemesis is required: a comma-separated list of ${nemesisKinds.join(", ")} (or none)`);
  if (raw.trim() === "none") return [];
  const kinds = raw.split(",").map((item) => item.trim());
  for (const kind of kinds) {
    if (!(nemesisKinds as readonly string[]).includes(kind)) throw new UsageError(`--nemesis: unknown fault "${kind}"; allowed: ${nemesisKinds.join(", ")} (or none)`);
  }
  if (new Set(kinds).size !== kinds.length) throw new UsageError(`--nemesis: a fault is named twice in "${raw}"`);
  return kinds as NemesisKind[];
}

function summaryOf(result: NemesisTestResult): Record<string, unknown> {
  const { schedule: _schedule, ...rest } = result;
  return rest;
}

function report(result: NemesisTestResult, out: string): string {
  const lines = [
    `${result.system}, ${result.nodes} nodes, ${result.seconds} s, nemesis ${result.nemesis.join(",") || "none"}, seed ${result.seed}${result.readLevel === "linearizable" ? "" : `, ${result.readLevel} reads`}: ${result.verdict.summary}`,
    `${result.ops.completed} ok, ${result.ops.failed} failed, ${result.ops.indeterminate} indeterminate; ${result.throughputOpsPerSec} ops/s; latency ms p50 ${result.latencyMs.p50}, p99 ${result.latencyMs.p99}, max ${result.latencyMs.max}`,
    `final reads: ${result.finalReads.answered} of ${result.finalReads.keys} keys read back after the heal`,
    "windows (ms from the load's start; of the operations invoked in each: ok/invoked, ok per second, p99 latency):",
    ...result.windows.map((window) => `  ${String(window.fromMs).padStart(6)}-${String(window.toMs).padEnd(6)} ${String(window.ok).padStart(5)}/${String(window.invoked).padEnd(5)} ${String(window.okPerSecond).padStart(5)}/s  p99 ${String(window.latencyMs.p99).padStart(7)} ms  ${window.label}${measuredText(window.measured)}`),
    `results in ${out}: history.edn, history.jsonl, results.json, timeline.html, logs/`,
    `replay the schedule: ${result.replay}`,
  ];
  return `${lines.join("\n")}\n`;
}

function measuredText(measured: WindowFigures["measured"]): string {
  if (measured === undefined) return "";
  const relays = measured.delayedChunks === 0 ? "the relays held nothing" : `the relays held ${measured.delayedChunks} chunks ${measured.addedMsMin}-${measured.addedMsMax} ms, mean ${measured.addedMsMean}`;
  const wire = measured.wire;
  const wires = wire === undefined ? "" : `; the wires held ${wire.heldPackets} packets ${wire.heldMsMin}-${wire.heldMsMax} ms and sent ${wire.duplicatedPackets} twice${wire.droppedPackets === 0 ? "" : ` (${wire.droppedPackets} dropped, a wire's queue full)`}; the nodes got ${wire.outOfOrderSegments} TCP segments out of order and ${wire.duplicateSegments} they had already`;
  return ` (${relays}${wires})`;
}
