// The packages as a user outside this repository gets them (issue 13): `pnpm build`, `pnpm pack`
// every public package, install the tarballs with npm into a fresh project that is no workspace, and
// use them there with plain `node` (no tsx, no source condition): the README's replicated counter,
// the `concord` binary's sim and check, and a TypeScript file importing every package under strict.
// Dependencies such as zod and protobufjs come from npm's cache, or its registry on a fresh machine.
// The start-up time of the installed binary is a benchmark, not a test: pnpm bench:startup.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { buildPackAndInstall, manifestOf, plainEnv, run } from "../packaging.ts";
import { publicPackageDirs } from "../public-packages.ts";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const packageDirs = publicPackageDirs(repoRoot);

/** readmeExample is the TypeScript block of the README's "Use an algorithm in your own code", which says it runs as written. */
function readmeExample(): string {
  const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Use an algorithm in your own code"));
  const block = /```ts\n([\s\S]*?)```/.exec(section);
  if (block === null) throw new Error("README.md's \"Use an algorithm in your own code\" has no ```ts block");
  return block[1]!;
}

/** importsFile is a TypeScript file that imports every entry point of every public package and uses a type from one. */
function importsFile(): string {
  const lines = ['import { raft } from "@concord/raft";', 'import { ClusterCrypto } from "@concord/net";'];
  packageDirs.forEach((dir, index) => {
    const { name, exports } = manifestOf(dir);
    for (const entry of Object.keys(exports)) lines.push(`import * as entry${index}_${entry === "." ? "index" : entry.slice(2)} from "${name}${entry.slice(1)}";`);
  });
  const names = lines.slice(2).map((line) => /import \* as (\w+)/.exec(line)?.[1]);
  lines.push(`export const entries: readonly object[] = [${names.join(", ")}];`);
  lines.push("export const algorithmName: string = raft.name;");
  lines.push("export const cryptoClass: typeof ClusterCrypto = ClusterCrypto;");
  // The declarations are real types, not `any`: a wrong use must be an error.
  lines.push("// @ts-expect-error raft.name is a string");
  lines.push("export const wrong: number = raft.name;");
  return `${lines.join("\n")}\n`;
}

const tsconfig = {
  compilerOptions: {
    strict: true,
    target: "ES2022",
    lib: ["ES2023"],
    module: "NodeNext",
    moduleResolution: "NodeNext",
    outDir: "out",
    rootDir: ".",
    // Type-check the packages' declarations too, not only this project's files.
    skipLibCheck: false,
    types: ["node"],
    typeRoots: [join(repoRoot, "node_modules/@types")],
  },
  files: ["imports.ts", "replicated-counter.ts", "readme-example.ts"],
};

let consumer = "";

beforeAll(() => {
  consumer = mkdtempSync(join(tmpdir(), "concord-packaging-"));
  buildPackAndInstall(repoRoot, consumer);
}, 600_000);

afterAll(() => {
  if (consumer !== "") rmSync(consumer, { recursive: true, force: true });
});

describe("the packed packages, installed with npm outside the workspace", () => {
  test("ship their built files, declarations and licence, and no tests", () => {
    for (const dir of packageDirs) {
      const { name } = manifestOf(dir);
      const installed = join(consumer, "node_modules", name);
      const manifest = manifestOf(installed);
      for (const [entry, target] of Object.entries(manifest.exports)) {
        expect(target, `${name} exports ${entry} as built JavaScript with declarations`).toEqual({
          types: expect.stringMatching(/^\.\/dist\/.*\.d\.ts$/),
          import: expect.stringMatching(/^\.\/dist\/.*\.js$/),
        });
      }
      const listed = run("tar", ["tzf", join(consumer, "tarballs", `${name.slice(1).replace("/", "-")}-${manifest.version}.tgz`)], consumer).split("\n");
      expect(listed, `${name}'s tarball`).toContain("package/LICENSE");
      expect(listed.filter((path) => path.startsWith("package/test/") || path.endsWith(".tsbuildinfo")), `${name}'s tarball ships no tests or build state`).toEqual([]);
    }
  });

  test("type-check, under strict, a file importing every public package and the two README examples, and run the examples", () => {
    writeFileSync(join(consumer, "imports.ts"), importsFile());
    copyFileSync(join(repoRoot, "examples/replicated-counter.ts"), join(consumer, "replicated-counter.ts"));
    writeFileSync(join(consumer, "readme-example.ts"), readmeExample());
    writeFileSync(join(consumer, "tsconfig.json"), `${JSON.stringify(tsconfig, null, 2)}\n`);
    run(process.execPath, [join(repoRoot, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"], consumer);
    // The compiled examples run on plain node: three Raft replicas replicate three additions.
    const output = run(process.execPath, [join("out", "replicated-counter.js")], consumer);
    expect(output).toMatch(/^replica \d leads term \d+$/m);
    expect(output).toContain("total is now 42");
    expect(run(process.execPath, [join("out", "readme-example.js")], consumer)).toBe("total: 5\ntotal: 12\ntotal: 42\n");
  });

  test("run the concord binary on plain node: --version, a simulation, and a check of its history", () => {
    const concord = join(consumer, "node_modules/.bin/concord");
    expect(run(concord, ["--version"], consumer).trim()).toBe(manifestOf(join(repoRoot, "packages/cli")).version);
    const report = JSON.parse(run(concord, ["sim", "--algo", "raft", "--scenario", "steady", "--seed", "1", "--ops", "30", "--history", "run.jsonl", "--json"], consumer)) as {
      ops: { completed: number };
    };
    expect(report.ops.completed).toBe(30);
    expect(run(concord, ["check", "--model", "kv", "run.jsonl"], consumer).trim()).toBe("linearizable");
    // The installed check runs from its one-file bundle (scripts/bundle-check.ts), which must behave as the
    // command does from the sources: the model read from the history, --json, and an empty history refused.
    expect(JSON.parse(run(concord, ["check", "--json", "run.jsonl"], consumer))).toMatchObject({ model: "kv", verdict: "linearizable" });
    writeFileSync(join(consumer, "empty.jsonl"), "");
    const empty = spawnSync(concord, ["check", "empty.jsonl"], { cwd: consumer, env: plainEnv(), encoding: "utf8" });
    expect([empty.status, empty.stderr]).toEqual([2, "concord check: empty.jsonl holds no operations: nothing to check\n"]);
  });
});
