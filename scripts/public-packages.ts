import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

/**
 * publicPackageDirs lists the absolute directories of the workspace packages
 * that are published (packages/* without `"private": true`), in name order:
 * the ones `pnpm build` compiles and the packaging test packs.
 */
export function publicPackageDirs(repoRoot: string): string[] {
  const packagesDir = join(repoRoot, "packages");
  return readdirSync(packagesDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(packagesDir, entry.name, "package.json")))
    .map((entry) => join(packagesDir, entry.name))
    .filter((dir) => (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { private?: boolean }).private !== true)
    .sort();
}
