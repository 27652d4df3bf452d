import { kvHistoryToJsonl } from "@concord/check";
import { algorithmNames, connectCluster, runLoad } from "@concord/lab";
import { type FlagSpec, helpText, integerFlag, parseFlags, protocolOptionFlags } from "../flags.ts";
import { type CommandIo, UsageError, writeOutputFile } from "../io.ts";
import { protocolOptionsHelp } from "../protocol-options.ts";
import { algorithmFlag, asUsage, clusterFlag, realClusterFlags, secretFlag, tickMsFlag, tlsFlags, transportProblems } from "./real-flags.ts";

const flags: Readonly<Record<string, FlagSpec>> = {
  cluster: { type: "string", description: "id=host:port,... for every replica (required)" },
  algo: { type: "string", description: "the algorithm the cluster runs (required)", values: algorithmNames },
  clients: { type: "string", description: "clients, each with one operation outstanding (default 16)" },
  seconds: { type: "string", description: "how long to run (default 10)" },
  rate: { type: "string", description: "open loop: start this many operations per second, each on an idle client (default: closed loop)" },
  keys: { type: "string", description: "distinct keys (default 8)" },
  seed: { type: "string", description: "seed of the operations drawn (default: random)" },
  history: { type: "string", description: "write the recorded history to this file as JSON lines (check it again with concord check)" },
  json: { type: "boolean", description: "print one JSON object" },
  ...realClusterFlags,
  help: { type: "boolean", description: "show this help" },
};

const usage =
  "concord load --cluster <id=host:port,...> --algo <name> --clients <c> --seconds <s> [--rate <r>] [--history out.jsonl] [--json]\n\n" +
  "Puts KV load on a running cluster, records every operation, and checks the history for\n" +
  "linearizability. Each run uses fresh keys, so its history is judged from an empty store.\n" +
  "exit codes: 0 linearizable, 1 not linearizable, 3 the check could not decide, 2 bad flags";

/** runLoadCommand drives a running cluster and prints what it measured. */
export async function runLoadCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseFlags(args, flags, false);
  if (values["help"] === true) {
    io.stdout(helpText(usage, flags, [protocolOptionsHelp(algorithmNames)]));
    return 0;
  }
  const algorithm = algorithmFlag(values["algo"]);
  const cluster = clusterFlag("cluster", values["cluster"]);
  const clients = integerFlag("clients", values["clients"], 1, 10_000) ?? 16;
  const seconds = integerFlag("seconds", values["seconds"], 1, 86_400) ?? 10;
  const rate = integerFlag("rate", values["rate"], 1, 10_000_000);
  const keys = integerFlag("keys", values["keys"], 1, 1_000_000);
  const seed = integerFlag("seed", values["seed"], 0, 2 ** 31 - 1);
  const historyPath = values["history"];
  if (historyPath !== undefined && typeof historyPath !== "string") throw new UsageError("--history: expected a file path");
  const host = await asUsage(() =>
    connectCluster({ algorithm, cluster, options: protocolOptionFlags(values["option"]), secret: secretFlag(values), tls: tlsFlags(values), tickMs: tickMsFlag(values), log: transportProblems(io) }),
  );
  let report;
  try {
    report = await runLoad(host, {
      clients,
      seconds,
      semantics: algorithm.kvSemantics ?? "kv",
      ...(rate === undefined ? {} : { ratePerSec: rate }),
      ...(keys === undefined ? {} : { keys }),
      ...(seed === undefined ? {} : { seed }),
      onProgress: (progress) => {
        const line = `${(progress.elapsedMs / 1000).toFixed(0)}/${seconds} s: ${progress.completed} ok, ${progress.failed} failed, ${progress.indeterminate} indeterminate`;
        io.stderr(io.stderrIsTty === true ? `\r${line}` : `${line}\n`);
      },
    });
  } finally {
    await host.close();
  }
  if (io.stderrIsTty === true) io.stderr("\n");
  if (historyPath !== undefined) writeOutputFile(io, "history", historyPath, kvHistoryToJsonl(report.history));
  const { history: _history, ...summary } = report;
  if (values["json"] === true) io.stdout(`${JSON.stringify(summary)}\n`);
  else {
    io.stdout(
      `${summary.ops.completed} ok, ${summary.ops.failed} failed, ${summary.ops.indeterminate} indeterminate in ${seconds} s (${summary.mode} loop, ${clients} clients)\n` +
        `throughput ${summary.throughputOpsPerSec} ops/s; latency ms p50 ${summary.latencyMs.p50}, p95 ${summary.latencyMs.p95}, p99 ${summary.latencyMs.p99}, max ${summary.latencyMs.max}\n` +
        `history: ${summary.check}\n`,
    );
  }
  return summary.linearizable === true ? 0 : summary.linearizable === false ? 1 : 3;
}
