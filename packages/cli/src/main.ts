#!/usr/bin/env -S npx tsx
// The `concord` command. Run it as `pnpm concord <command> ...` from the repository root.
import { readFileSync, writeFileSync } from "node:fs";
import { runCli } from "./cli.ts";

const code = runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  readFile: (path) => readFileSync(path, "utf8"),
  writeFile: (path, data) => writeFileSync(path, data),
  stderrIsTty: process.stderr.isTTY === true,
});
process.exitCode = await code;
