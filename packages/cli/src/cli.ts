import { runCheckCommand } from "./commands/check.ts";
import { runSimCommand } from "./commands/sim.ts";
import { type CommandIo, UsageError } from "./io.ts";
import { checkRun } from "./check-run.ts";

const commands = ["sim", "check"] as const;

const usage = `usage: concord <command> [flags]

commands:
  sim     run one simulation and print its figures (concord sim --help)
  check   check a history file for linearizability (concord check --help)
`;

/** runCli runs one `concord` invocation and returns its exit code; a usage error prints one line and returns 2. */
export function runCli(args: readonly string[], io: CommandIo): number {
  const [command, ...rest] = args;
  try {
    switch (command) {
      case "sim":
        return runSimCommand(rest, io, checkRun);
      case "check":
        return runCheckCommand(rest, io);
      case undefined:
      case "help":
      case "--help":
        io.stdout(usage);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}"; allowed: ${commands.join(", ")}`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`concord: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}
