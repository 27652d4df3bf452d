import { describe, expect, test } from "vitest";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  checkSource,
  collectImports,
  findNondeterminism,
  findRepoSources,
  findWorkspaceCycles,
  findWorkspaceManifests,
  type PackageManifest,
  type SourceLocation,
  type Violation,
} from "./import-rules.ts";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

const protocolManifest: PackageManifest = {
  name: "@concord/raft",
  dependencies: ["@concord/core", "zod", "protobufjs"],
  devDependencies: ["@concord/kv", "@concord/sim", "@concord/check"],
};
const coreManifest: PackageManifest = { name: "@concord/core", dependencies: ["zod", "protobufjs"], devDependencies: [] };
const simManifest: PackageManifest = { name: "@concord/sim", dependencies: ["@concord/core", "@concord/kv", "zod"], devDependencies: [] };

const labManifest: PackageManifest = {
  name: "@concord/lab",
  dependencies: ["@concord/core", "@concord/kv", "@concord/sim", "@concord/check", "@concord/raft", "@concord/multipaxos", "@concord/pbft", "@concord/cli", "@concord/bench", "@concord/testkit"],
  devDependencies: [],
};
const everything = ["@concord/core", "@concord/kv", "@concord/sim", "@concord/check", "@concord/lab", "@concord/raft", "@concord/cli", "@concord/bench", "@concord/testkit"];
const cliManifest: PackageManifest = { name: "@concord/cli", dependencies: everything, devDependencies: [] };
const benchManifest: PackageManifest = { name: "@concord/bench", dependencies: everything, devDependencies: [] };

function at(packageName: string, kind: "src" | "test" = "src", name = "x.ts"): SourceLocation {
  const root = packageName === "bench" ? "bench" : `packages/${packageName}`;
  return { file: `${root}/${kind}/${name}`, packageName, kind };
}

function rules(location: SourceLocation, source: string, manifest: PackageManifest): string[] {
  return checkSource(location, source, manifest).map((violation) => violation.rule);
}

function describeViolations(violations: readonly Violation[]): string {
  return violations.map((violation) => `${violation.file}:${violation.line} [${violation.rule}] ${violation.detail}`).join("\n");
}

describe("the import-rules checker itself", () => {
  test("collects static, type-only, re-export, dynamic, import-type and require specifiers", () => {
    const source = [
      'import { a } from "./a.ts";',
      'import type { B } from "@concord/core";',
      'export { c } from "./c.ts";',
      'export * from "./d.ts";',
      'const e = await import("./e.ts");',
      'type F = import("./f.ts").F;',
      'const g = require("g");',
      'import h = require("h");',
      "// import { no } from './comment.ts';",
      'const text = "import { no } from \\"./string.ts\\"";',
    ].join("\n");
    expect(collectImports("x.ts", source).map((use) => use.specifier)).toEqual(["./a.ts", "@concord/core", "./c.ts", "./d.ts", "./e.ts", "./f.ts", "g", "h"]);
  });

  test("flags a protocol importing anything but core, zod and protobufjs", () => {
    expect(rules(at("raft"), 'import { x } from "@concord/sim";', protocolManifest)).toContain("protocol-imports-only-core");
    expect(rules(at("raft"), 'import { x } from "@concord/multipaxos";', protocolManifest)).toContain("protocol-imports-only-core");
    expect(rules(at("raft"), 'import type { X } from "@concord/kv";', protocolManifest)).toContain("protocol-imports-only-core");
    expect(rules(at("raft"), 'import { x } from "@concord/core";\nimport { z } from "zod";\nimport p from "protobufjs/light.js";\nimport { y } from "./y.ts";', protocolManifest)).toEqual([]);
  });

  test("lets protocol tests import kv, sim and check by package name", () => {
    expect(rules(at("raft", "test"), 'import { runSimulation } from "@concord/sim";\nimport { KvStateMachine } from "@concord/kv";', protocolManifest)).toEqual([]);
  });

  test("flags cli and bench importing each other, from src or tests, and lets each import lab", () => {
    expect(rules(at("bench"), 'import { algorithms } from "@concord/cli";', benchManifest)).toContain("front-ends-are-leaves");
    expect(rules(at("bench", "test"), 'import type { SimulationReport } from "@concord/cli";', benchManifest)).toContain("front-ends-are-leaves");
    expect(rules(at("cli"), 'import { buildMatrix } from "@concord/bench";', cliManifest)).toContain("front-ends-are-leaves");
    expect(rules(at("bench"), 'import { algorithms, simulate } from "@concord/lab";\nimport { runSimulation } from "@concord/sim";', benchManifest)).toEqual([]);
    expect(rules(at("cli"), 'import { checkRun } from "@concord/lab";', cliManifest)).toEqual([]);
  });

  test("flags lab importing a front end or the test kit, and lets it import the protocols, sim, check, kv and core", () => {
    expect(rules(at("lab"), 'import { runCli } from "@concord/cli";', labManifest)).toContain("lab-imports-below-it");
    expect(rules(at("lab"), 'import { buildMatrix } from "@concord/bench";', labManifest)).toContain("lab-imports-below-it");
    expect(rules(at("lab"), 'import { TestCluster } from "@concord/testkit";', labManifest)).toContain("lab-imports-below-it");
    const below = ["core", "kv", "sim", "check", "raft", "multipaxos", "pbft"].map((name) => `import * as ${name} from "@concord/${name}";`).join("\n");
    expect(rules(at("lab"), below, labManifest)).toEqual([]);
  });

  test("flags the test kit imported by any src, and lets any test import it", () => {
    const source = 'import { TestCluster } from "@concord/testkit";';
    expect(rules(at("raft"), source, { ...protocolManifest, dependencies: [...protocolManifest.dependencies, "@concord/testkit"] })).toContain("only-tests-import-testkit");
    expect(rules(at("sim"), source, { ...simManifest, dependencies: ["@concord/testkit"] })).toContain("only-tests-import-testkit");
    expect(rules(at("cli"), source, cliManifest)).toContain("only-tests-import-testkit");
    expect(rules(at("bench"), source, benchManifest)).toContain("only-tests-import-testkit");
    expect(rules(at("raft", "test"), source, { ...protocolManifest, devDependencies: ["@concord/testkit"] })).toEqual([]);
    expect(rules(at("bench", "test"), source, benchManifest)).toEqual([]);
    expect(rules(at("testkit", "src", "cluster.ts"), 'import { judge } from "./judge.ts";', { name: "@concord/testkit", dependencies: [], devDependencies: [] })).toEqual([]);
  });

  test("flags sim and check importing anything of ours but core and kv", () => {
    const withAll = { ...simManifest, dependencies: everything };
    expect(rules(at("sim"), 'import { raft } from "@concord/raft";', withAll)).toContain("runtime-imports-core-and-kv");
    expect(rules(at("sim"), 'import { checkKvHistory } from "@concord/check";', withAll)).toContain("runtime-imports-core-and-kv");
    expect(rules(at("check"), 'import { runSimulation } from "@concord/sim";', { ...withAll, name: "@concord/check" })).toContain("runtime-imports-core-and-kv");
    expect(rules(at("sim"), 'import { createRng } from "@concord/core";\nimport { KvStateMachine } from "@concord/kv";', withAll)).toEqual([]);
    // Their tests may run the simulator, the checker and the protocols together.
    expect(rules(at("check", "test"), 'import { runSimulation } from "@concord/sim";', { ...withAll, name: "@concord/check" })).toEqual([]);
  });

  test("flags the simulator, the test kit or a protocol writing concord's flags, and lets lab and cli write them", () => {
    const replay = "export const replay = (seed: number): string => `pnpm concord sim --algo raft --seed ${seed}`;";
    expect(rules(at("sim"), replay, simManifest)).toContain("no-cli-syntax-below-lab");
    expect(rules(at("sim"), 'parts.push("--no-encode");', simManifest)).toContain("no-cli-syntax-below-lab");
    expect(rules(at("testkit"), replay, { name: "@concord/testkit", dependencies: [], devDependencies: [] })).toContain("no-cli-syntax-below-lab");
    expect(rules(at("raft"), replay, protocolManifest)).toContain("no-cli-syntax-below-lab");
    expect(rules(at("lab"), replay, labManifest)).toEqual([]);
    expect(rules(at("cli"), replay, cliManifest)).toEqual([]);
    expect(rules(at("sim", "test"), replay, simManifest)).toEqual([]);
    // Words in comments and unrelated strings do not count.
    expect(rules(at("sim"), '// replay with: pnpm concord sim --algo raft --seed 1\nconst text = "the algorithm and the seed";', simManifest)).toEqual([]);
  });

  test("finds a cycle among workspace packages, through a devDependency too", () => {
    const kv = { name: "@concord/kv", dependencies: ["@concord/core"], devDependencies: [] };
    expect(findWorkspaceCycles([{ ...coreManifest, devDependencies: ["@concord/kv"] }, kv])).toEqual([["@concord/core", "@concord/kv", "@concord/core"]]);
    expect(findWorkspaceCycles([coreManifest, kv])).toEqual([]);
    const raftTests = { ...protocolManifest, devDependencies: ["@concord/testkit"] };
    const testkitOnLab = { name: "@concord/testkit", dependencies: ["@concord/lab"], devDependencies: [] };
    expect(findWorkspaceCycles([raftTests, testkitOnLab, labManifest])).toContainEqual(["@concord/lab", "@concord/raft", "@concord/testkit", "@concord/lab"]);
  });

  test("flags core importing any other Concord package", () => {
    expect(rules(at("core"), 'import { KvStateMachine } from "@concord/kv";', { ...coreManifest, dependencies: ["@concord/kv"] })).toContain("core-imports-nothing-of-ours");
  });

  test("flags Node builtins in core and protocols, with or without the node: prefix, type-only included", () => {
    expect(rules(at("core"), 'import { readFileSync } from "node:fs";', coreManifest)).toContain("no-node-builtins");
    expect(rules(at("pbft"), 'import { createHash } from "crypto";', protocolManifest)).toContain("no-node-builtins");
    expect(rules(at("raft"), 'import type { EventEmitter } from "node:events";', protocolManifest)).toContain("no-node-builtins");
    expect(rules(at("sim"), 'import { createHash } from "node:crypto";', simManifest)).toEqual([]);
  });

  test("flags a path into another package, and a deep import past an exports map (only ./internals is a second entry)", () => {
    expect(rules(at("sim"), 'import { x } from "../../kv/src/state-machine.ts";', simManifest)).toContain("no-cross-package-path");
    expect(rules(at("raft", "test"), 'import { x } from "../../core/src/rng.ts";', protocolManifest)).toContain("no-cross-package-path");
    expect(rules(at("sim"), 'import { x } from "@concord/kv/src/codec.ts";', simManifest)).toContain("no-deep-import");
    expect(rules(at("sim"), 'import { x } from "@concord/kv/internal";', simManifest)).toContain("no-deep-import");
    expect(rules(at("sim"), 'import { x } from "@concord/kv/internals";', simManifest)).toEqual([]);
    expect(rules(at("sim"), 'import { x } from "../../../packages/kv/src/codec.ts";', simManifest)).toContain("no-cross-package-path");
  });

  test("flags src importing its own tests, and relative imports without .ts", () => {
    expect(rules(at("sim"), 'import { x } from "../test/helpers.ts";', simManifest)).toContain("src-stays-in-src");
    expect(rules(at("sim"), 'import { x } from "./links";', simManifest)).toContain("ts-extension");
    expect(rules(at("sim", "src", "deep/y.ts"), 'import { x } from "../links.ts";', simManifest)).toEqual([]);
  });

  test("flags an import of a package that package.json does not declare", () => {
    expect(rules(at("sim"), 'import { Bench } from "tinybench";', simManifest)).toContain("declared-dependency");
    expect(rules(at("raft"), 'import { x } from "@concord/kv";', protocolManifest)).toContain("declared-dependency");
    expect(rules(at("raft", "test"), 'import { x } from "@concord/kv";', protocolManifest)).toEqual([]);
    const withRoot = { ...protocolManifest, workspaceDevDependencies: ["vitest"] };
    expect(rules(at("raft", "test"), 'import { test } from "vitest";', withRoot)).toEqual([]);
    expect(rules(at("raft"), 'import { test } from "vitest";', withRoot)).toContain("declared-dependency");
  });

  test("finds time, randomness, timers, promises and host globals", () => {
    const uses = [
      "const now = Date.now();",
      "const t = new Date();",
      "const r = Math.random();",
      "setTimeout(() => {}, 1);",
      "setInterval(() => {}, 1);",
      "const p = performance.now();",
      "const env = process.env;",
      "const later = Promise.resolve(1);",
      "async function f() {}",
      "const g = async () => 1;",
      "globalThis.setTimeout(() => {}, 1);",
      "const bytes = crypto.getRandomValues(new Uint8Array(4));",
      "const b = Buffer.from([1]);",
      "queueMicrotask(() => {});",
    ];
    for (const use of uses) {
      expect(findNondeterminism("x.ts", use), use).not.toEqual([]);
    }
  });

  test("does not mistake comments, strings, members or local names for those globals", () => {
    const source = [
      "// no Date, Math.random, setTimeout or process here",
      "/** process is a method; Date a word */",
      'const message = "Date.now() and setTimeout";',
      "class Runner { process(): void {} date = 1; }",
      "const runner = new Runner();",
      "runner.process();",
      "const config = { process: 1, performance: 2 };",
      "interface Ticks { setTimeout: number }",
      "function local(process: number): number { return process; }",
      "const math = { random: () => 4 }; math.random();",
      "context.crypto.digest(new Uint8Array(0));",
      "type PromiseMessage = { ballot: number };",
    ].join("\n");
    expect(findNondeterminism("x.ts", source)).toEqual([]);
  });

  test("checks determinism in the src of core, kv and the protocols, not in their tests", () => {
    expect(rules(at("raft"), "const now = Date.now();", protocolManifest)).toEqual(["deterministic"]);
    expect(rules(at("core"), "const later = Promise.resolve();", coreManifest)).toEqual(["deterministic"]);
    expect(rules(at("kv"), "const r = Math.random();", { ...coreManifest, name: "@concord/kv" })).toEqual(["deterministic"]);
    expect(rules(at("raft", "test"), "const now = Date.now();", protocolManifest)).toEqual([]);
  });

  test("keeps the simulator off the host's clock, timers and randomness, and leaves check and cli alone", () => {
    expect(rules(at("sim"), "const now = Date.now();", simManifest)).toEqual(["replayable"]);
    expect(rules(at("sim"), "const r = Math.random();", simManifest)).toEqual(["replayable"]);
    expect(rules(at("sim"), "setTimeout(() => {}, 0);", simManifest)).toEqual(["replayable"]);
    expect(rules(at("sim"), "async function load(): Promise<void> {}", simManifest)).toEqual([]);
    const checkManifest = { name: "@concord/check", dependencies: [], devDependencies: [] };
    expect(rules(at("check"), "const now = performance.now();", checkManifest)).toEqual([]);
  });
});

describe("the repository follows DESIGN.md's import rules", () => {
  const sources = findRepoSources(repoRoot);

  test("finds the sources of core, kv and the protocols", () => {
    const packages = new Set(sources.filter((source) => source.location.kind === "src").map((source) => source.location.packageName));
    for (const name of ["core", "kv", "raft", "multipaxos", "pbft"]) expect(packages).toContain(name);
  });

  test("knows the lab and the test kit, and finds their sources", () => {
    const packages = new Set(sources.map((source) => source.location.packageName));
    for (const name of ["lab", "testkit", "cli", "bench"]) expect(packages).toContain(name);
  });

  test("has no cycle among its workspace packages (pnpm install warns of one)", () => {
    expect(findWorkspaceCycles(findWorkspaceManifests(repoRoot))).toEqual([]);
  });

  test("every packages/*/src, packages/*/test and bench file obeys the rules", () => {
    const violations = sources.flatMap((source) => checkSource(source.location, readFileSync(source.path, "utf8"), source.manifest));
    expect(describeViolations(violations)).toBe("");
  });
});
