import { fileURLToPath } from "node:url";
import { LocalCluster, type NodeLauncher, algorithmNames } from "@concord/lab";
import { type FlagSpec, faultToleranceWarning, helpText, integerFlag, parseFlags } from "../flags.ts";
import { type CommandIo, UsageError } from "../io.ts";
import { algorithmFlag } from "./real-flags.ts";

const flags: Readonly<Record<string, FlagSpec>> = {
  algo: { type: "string", description: "the algorithm to run (required)", values: algorithmNames },
  nodes: { type: "string", description: "how many node processes (default: the smallest cluster tolerating one fault)" },
  "base-port": { type: "string", description: "node i listens on base-port + i (default 7400)" },
  data: { type: "string", description: "a directory per node and the cluster's secret go here (default ./concord-cluster-<algo>)" },
  "no-fsync": { type: "boolean", description: "start the nodes with --no-fsync" },
  help: { type: "boolean", description: "show this help" },
};

const usage =
  "concord cluster --algo <name> [--nodes <n>] [--base-port <p>] [--data <dir>]\n\n" +
  "Starts a local cluster of `concord node` processes to try things out, prints the flags that reach\n" +
  "it (for concord kv, load and member), prefixes each node's log lines with its id, and stops them\n" +
  "all on Ctrl-C. Starting again on the same --data resumes the cluster from its disks.";

/**
 * nodeLauncher runs `concord node` the way this process runs: node with the
 * same loader flags (tsx, for the sources) and this CLI's main, main.ts beside
 * the sources or main.js in the build.
 */
export const nodeLauncher: NodeLauncher = (nodeFlags) => ({
  command: process.execPath,
  args: [...process.execArgv, fileURLToPath(new URL(import.meta.url.endsWith(".ts") ? "../main.ts" : "../main.js", import.meta.url)), ...nodeFlags],
});

/** runClusterCommand runs a local cluster until SIGINT or SIGTERM. */
export async function runClusterCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseFlags(args, flags, false);
  if (values["help"] === true) {
    io.stdout(helpText(usage, flags));
    return 0;
  }
  const algorithm = algorithmFlag(values["algo"]);
  const nodes = integerFlag("nodes", values["nodes"], 1, 99) ?? Math.max(1, algorithm.replicasToTolerate(1) || 1);
  const sizeError = algorithm.clusterSizeError(nodes);
  if (sizeError !== undefined) throw new UsageError(`--nodes: ${sizeError}`);
  const warning = faultToleranceWarning(algorithm, nodes);
  if (warning !== undefined) io.stderr(`concord: ${warning}\n`);
  const basePort = integerFlag("base-port", values["base-port"], 1, 65_535 - nodes) ?? 7400;
  const data = typeof values["data"] === "string" ? values["data"] : `concord-cluster-${algorithm.name}`;
  const cluster = await LocalCluster.start({
    algorithm: algorithm.name,
    nodes,
    basePort,
    dataDir: data,
    extraFlags: values["no-fsync"] === true ? ["--no-fsync"] : [],
    launcher: nodeLauncher,
    onLog: (id, line) => io.stderr(`[node ${id}] ${line}\n`),
  }).catch((error: unknown) => {
    throw new UsageError((error as Error).message);
  });
  io.stdout(`--algo ${algorithm.name} --cluster ${cluster.clusterFlag} --secret-file ${cluster.secretFile}\n`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
  io.stderr("stopping the cluster\n");
  await cluster.stop();
  return 0;
}
