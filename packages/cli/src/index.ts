// @concord/cli: the `concord` command, and the algorithm registry that the benchmarks share.
export { algorithms, algorithmNames, findAlgorithm, isBaseline, clusterSizes } from "./algorithms.ts";
export { runCli } from "./cli.ts";
export { runSimCommand, renderReport } from "./commands/sim.ts";
export { simulate, type SimulationReport, type SimulateOptions, type HistoryChecker, type HistoryVerdict } from "./simulate.ts";
export { type CommandIo, UsageError } from "./io.ts";
export { renderTable } from "./table.ts";
export { checkRun, checkRunMaxSteps, checkRunWallClockLimitMs, checkRunBudgetMs } from "./check-run.ts";
export { runCheckCommand } from "./commands/check.ts";
