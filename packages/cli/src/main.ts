#!/usr/bin/env node
// The `concord` command. `pnpm build` compiles this file to dist/main.js, the
// installed `concord` binary, which plain Node runs; inside the repository,
// `pnpm concord <command> ...` runs this source under tsx with no build step.
import { readFileSync, writeFileSync } from "node:fs";
import { type CommandIo, usageExit } from "./io.ts";

const io: CommandIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  readFile: (path) => readFileSync(path, "utf8"),
  writeFile: (path, data) => writeFileSync(path, data),
  stderrIsTty: process.stderr.isTTY === true,
};

/**
 * runCheckAlone runs `concord check` having loaded the checker only. Scripts
 * call it once per history file, and the other commands' modules (the
 * simulator, every algorithm, the real-cluster runtime, prom-client) would
 * double its start-up for nothing. Built, it loads dist/check-bundle.js, the
 * command and what it uses in one file (scripts/bundle-check.ts says why);
 * from the sources, under tsx, the command's module itself.
 */
async function runCheckAlone(args: readonly string[]): Promise<number> {
  const built = import.meta.url.endsWith(".js");
  const { runCheckCommand } = (await import(built ? "./check-bundle.js" : "./commands/check.ts")) as typeof import("./commands/check.ts");
  try {
    return runCheckCommand(args, io);
  } catch (error) {
    return usageExit(error, io);
  }
}

const [command, ...rest] = process.argv.slice(2);
process.exitCode = command === "check" ? await runCheckAlone(rest) : await (await import("./cli.ts")).runCli(process.argv.slice(2), io);
