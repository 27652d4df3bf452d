import { defineConfig } from "vitest/config";

const packages = ["core", "kv", "sim", "check", "raft", "multipaxos", "pbft", "cli"];

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
