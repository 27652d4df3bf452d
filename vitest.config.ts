import { existsSync, readdirSync } from "node:fs";
import { defineConfig } from "vitest/config";

// Every workspace package with a test folder is a project named after its directory.
const packages = readdirSync(new URL("./packages", import.meta.url), { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && existsSync(new URL(`./packages/${entry.name}/test`, import.meta.url)))
  .map((entry) => entry.name)
  .sort();

export default defineConfig({
  test: {
    projects: [
      ...packages.map((name) => ({
        test: {
          name,
          root: `packages/${name}`,
          include: ["test/**/*.test.ts"],
          testTimeout: 120_000,
        },
      })),
      { test: { name: "bench", root: "bench", include: ["test/**/*.test.ts"], testTimeout: 120_000 } },
      { test: { name: "repo", root: ".", include: ["scripts/test/**/*.test.ts"], testTimeout: 120_000 } },
    ],
  },
});
