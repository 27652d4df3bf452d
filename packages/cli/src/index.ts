// @concord/cli: the `concord` command. The algorithm registry, simulate-and-judge and replay commands it
// shares with the benchmarks live below it, in @concord/lab.
export { runCli } from "./cli.ts";
export { runSimCommand, renderReport, type SimCommandReport } from "./commands/sim.ts";
export { type CommandIo, UsageError } from "./io.ts";
export { runCheckCommand } from "./commands/check.ts";
