import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { publicPackageDirs } from "./public-packages.ts";

/** PackageManifest is the part of a package.json the packaging test and benchmark read. */
export interface PackageManifest {
  readonly name: string;
  readonly version: string;
  readonly exports: Readonly<Record<string, unknown>>;
}

/** manifestOf reads the package.json in `dir`. */
export function manifestOf(dir: string): PackageManifest {
  return JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as PackageManifest;
}

/**
 * plainEnv is this process's environment without what would make a child
 * anything but plain Node and plain npm: NODE_OPTIONS (a loader such as tsx)
 * and the npm_* settings pnpm passes its scripts.
 */
export function plainEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => key !== "NODE_OPTIONS" && !key.toLowerCase().startsWith("npm_")));
}

/**
 * run runs a command to completion in `cwd` with plainEnv and returns its
 * stdout; a non-zero exit, or running past `timeoutMs` (a hung example or
 * install), throws with its output.
 */
export function run(command: string, args: readonly string[], cwd: string, timeoutMs = 300_000): string {
  return execFileSync(command, args, { cwd, env: plainEnv(), encoding: "utf8", maxBuffer: 64 << 20, stdio: ["ignore", "pipe", "pipe"], timeout: timeoutMs });
}

/**
 * buildLocked runs `pnpm build` in `repoRoot` while holding a lock directory, so that two tests running at once
 * (the packaging test and the documentation site's) never compile into the same dist/ together: tsc -b rewrites
 * every output it finds stale, and the other's reader between two writes could see a half-written file. The
 * second to come waits, then finds everything up to date. A lock older than `staleMs` (its holder was killed) is
 * taken over.
 */
export function buildLocked(repoRoot: string, staleMs = 600_000): void {
  const lock = join(repoRoot, "node_modules", ".concord-build-lock");
  const deadline = Date.now() + staleMs;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const heldMs = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (heldMs > staleMs || Date.now() > deadline) rmSync(lock, { recursive: true, force: true });
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  try {
    run("pnpm", ["build"], repoRoot);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * buildPackAndInstall does what a user outside the repository gets: it runs
 * `pnpm build`, packs every public package into `consumer`/tarballs with
 * `pnpm pack` (which swaps in each package's publishConfig: exports and bin on
 * dist/), and installs the tarballs with npm into `consumer`, a fresh project
 * that is no workspace. Their dependencies (zod, protobufjs, prom-client) come
 * from npm's cache, or from the registry on a fresh machine.
 */
export function buildPackAndInstall(repoRoot: string, consumer: string): void {
  buildLocked(repoRoot);
  const tarballDir = join(consumer, "tarballs");
  const tarballs = publicPackageDirs(repoRoot).map((dir) => {
    const printed = run("pnpm", ["pack", "--pack-destination", tarballDir], dir).trim().split("\n");
    return printed[printed.length - 1]!.trim();
  });
  writeFileSync(join(consumer, "package.json"), `${JSON.stringify({ name: "concord-consumer", private: true, type: "module" }, null, 2)}\n`);
  run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--ignore-scripts", ...tarballs], consumer);
}
