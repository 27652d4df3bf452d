// The third step of `pnpm build`: bundles `concord check` into one file,
// packages/cli/dist/check-bundle.js, which the installed `concord` binary
// loads for `check` instead of the modules tsc compiled.
//
// Why a bundle for this one command: scripts run `concord check` once per
// history file, so its start-up is paid every time (issue 13 asks for under
// 0.3 s with plain Node). Compiled module by module, the command resolves and
// loads some hundred files across @concord/check, @concord/core, @concord/kv
// and zod, and @concord/core's entry point drags in protobufjs and every codec
// although a check uses none of them; that alone took about twice Node's own
// start-up. esbuild follows only what the command uses (the packages declare
// `sideEffects: false`) and @concord/check validates with zod/mini, whose
// functions tree-shake, so the bundle is a few tens of kilobytes in one file.
// The other commands load the simulator, the algorithms and the real-cluster
// runtime anyway and gain little from bundling; they stay as tsc wrote them,
// with their declarations and source maps. esbuild is the one tsx already
// runs on, pinned to the same version.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const cliDir = fileURLToPath(new URL("../packages/cli/", import.meta.url));

await build({
  entryPoints: [`${cliDir}src/commands/check.ts`],
  outfile: `${cliDir}dist/check-bundle.js`,
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20",
  minify: true,
  sourcemap: true,
  // The bundle is built from the workspace's TypeScript sources, which the packages' exports name.
  conditions: ["import"],
  logLevel: "warning",
});
