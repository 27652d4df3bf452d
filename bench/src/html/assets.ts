import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/** ChartLibrary is one script the report inlines: its package, version and code. */
export interface ChartLibrary {
  readonly name: string;
  readonly version: string;
  readonly code: string;
}

// Each package's minified UMD build, which sets a global (vega, vegaLite, vegaEmbed), in the order they must load.
const builds = [
  { name: "vega", file: "vega.min.js" },
  { name: "vega-lite", file: "vega-lite.min.js" },
  { name: "vega-embed", file: "vega-embed.min.js" },
] as const;

/**
 * chartLibraries reads Vega, Vega-Lite and Vega-Embed from node_modules, so
 * that report.html carries the exact versions pnpm-lock.yaml pins and opens
 * with no network. Each package's entry point lives in its build/ folder
 * beside the UMD file; the packages' `exports` hide package.json, so its
 * version is read from the file on disk.
 */
export function chartLibraries(): ChartLibrary[] {
  const require = createRequire(import.meta.url);
  return builds.map(({ name, file }) => {
    const buildDir = dirname(require.resolve(name));
    const manifest = JSON.parse(readFileSync(join(buildDir, "..", "package.json"), "utf8")) as { version: string };
    return { name, version: manifest.version, code: readFileSync(join(buildDir, file), "utf8") };
  });
}
