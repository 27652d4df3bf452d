// The second half of `pnpm build`: `tsc -b tsconfig.build.json` compiles each
// public package's src/ into its dist/, and this copies the files a package
// reads at run time that are not TypeScript (the Explorer's page.html), so
// that dist/ runs on its own. `.proto` files are not copied: the codecs load
// the generated `*-proto.generated.ts` descriptors, never a .proto file.
import { copyFileSync, mkdirSync, readdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { publicPackageDirs } from "./public-packages.ts";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));

/** runtimeAssets lists the files under `sourceDir` that are neither TypeScript nor protobuf schemas. */
function runtimeAssets(sourceDir: string): string[] {
  return readdirSync(sourceDir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && !entry.name.endsWith(".ts") && !entry.name.endsWith(".proto"))
    .map((entry) => join(entry.parentPath, entry.name));
}

for (const packageDir of publicPackageDirs(repoRoot)) {
  const sourceDir = join(packageDir, "src");
  for (const asset of runtimeAssets(sourceDir)) {
    const target = join(packageDir, "dist", relative(sourceDir, asset));
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(asset, target);
  }
}
