import { readFileSync } from "node:fs";
import { checkRun } from "@concord/lab";
import { runCheckCommand } from "./commands/check.ts";
import { runExploreCommand } from "./commands/explore.ts";
import { runSimCommand } from "./commands/sim.ts";
import { runSwarmCommand } from "./commands/swarm.ts";
import { runNodeCommand } from "./commands/node.ts";
import { runKvCommand } from "./commands/kv.ts";
import { runMemberCommand } from "./commands/member.ts";
import { runLoadCommand } from "./commands/load.ts";
import { runClusterCommand } from "./commands/cluster.ts";
import { runTestCommand } from "./commands/test.ts";
import { runRelayCommand } from "./commands/relay.ts";
import { type CommandIo, UsageError, usageExit } from "./io.ts";

const commands = ["sim", "swarm", "check", "explore", "node", "kv", "member", "load", "cluster", "test", "relay"] as const;

const usage = `usage: concord <command> [flags]

commands:
  sim     run one simulation and print its figures (concord sim --help)
  swarm   run many seeds in parallel and list the failing ones (concord swarm --help)
  check   check a history file for linearizability (concord check --help)
  explore walk every interleaving within bounds: a model check (concord explore --help)
  node    run one replica process of a real cluster (concord node --help)
  cluster start a local cluster of node processes to try things out (concord cluster --help)
  kv      get, put, append, cas or delete one key on a running cluster, or print its status
  member  add or remove a replica of a running Raft or Multi-Paxos cluster
  load    put KV load on a running cluster and check the history (concord load --help)
  test    a Jepsen-style test: a cluster in network namespaces under a nemesis (concord test --help)
  relay   the delaying TCP relay concord test runs per node where the kernel has no netem

concord --version prints the version of this command.
`;

/** cliVersion is the version in @concord/cli's package.json, one folder above this file both in src/ and in the built dist/. */
function cliVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
  return manifest.version;
}

/**
 * runCli runs one `concord` invocation and returns its exit code; a usage
 * error prints one line and returns 2. The simulator's commands run
 * synchronously and return the code itself; `swarm` (which waits for its
 * worker threads) and the commands that talk to real processes return a
 * promise of it.
 */
export function runCli(args: readonly string[], io: CommandIo): number | Promise<number> {
  const [command, ...rest] = args;
  try {
    switch (command) {
      case "sim":
        return runSimCommand(rest, io, checkRun);
      case "swarm":
        return runSwarmCommand(rest, io).catch((error: unknown) => usageExit(error, io));
      case "check":
        return runCheckCommand(rest, io);
      case "explore":
        return runExploreCommand(rest, io);
      case "node":
        return runNodeCommand(rest, io).catch((error: unknown) => usageExit(error, io));
      case "kv":
        return runKvCommand(rest, io).catch((error: unknown) => usageExit(error, io));
      case "member":
        return runMemberCommand(rest, io).catch((error: unknown) => usageExit(error, io));
      case "load":
        return runLoadCommand(rest, io).catch((error: unknown) => usageExit(error, io));
      case "cluster":
        return runClusterCommand(rest, io).catch((error: unknown) => usageExit(error, io));
      case "test":
        return runTestCommand(rest, io).catch((error: unknown) => usageExit(error, io));
      case "relay":
        return runRelayCommand(rest, io).catch((error: unknown) => usageExit(error, io));
      case "--version":
        io.stdout(`${cliVersion()}\n`);
        return 0;
      case undefined:
      case "help":
      case "--help":
        io.stdout(usage);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}"; allowed: ${commands.join(", ")}`);
    }
  } catch (error) {
    return usageExit(error, io);
  }
}
