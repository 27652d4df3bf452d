import { defineConfig } from "vitest/config";

// `pnpm test:explore`: the model checker at larger bounds than the regular run (minutes, not seconds),
// kept out of `pnpm test` (vitest.config.ts takes each package's test/ folder only). docs/explore.md lists what it runs.
export default defineConfig({
  test: {
    name: "explore-large",
    root: "packages/explore",
    include: ["test-large/**/*.test.ts"],
    testTimeout: 30 * 60_000,
    hookTimeout: 30 * 60_000,
    // One file at a time, one test at a time: each search is one core's work, and the machine is shared.
    fileParallelism: false,
  },
});
