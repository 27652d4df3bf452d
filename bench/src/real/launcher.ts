import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { NodeLauncher } from "@concord/lab";

/** repoRoot is the checkout's root, where tsx and the CLI live. */
const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));

/**
 * cliLauncher runs `concord node` as `pnpm concord node` does: the CLI's
 * main file under tsx, in a fresh Node process. The bench spawns the CLI by
 * path rather than importing it, so that each node is a process of its own,
 * as in production.
 */
export const cliLauncher: NodeLauncher = (flags) => ({
  command: process.execPath,
  args: ["--import", join(repoRoot, "node_modules/tsx/dist/esm/index.mjs"), join(repoRoot, "packages/cli/src/main.ts"), ...flags],
});
