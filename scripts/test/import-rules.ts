// import-rules checks the dependency rules of DESIGN.md ("Import rules") and
// the determinism rules of STYLE.md on TypeScript sources, by parsing them
// with the TypeScript compiler (so comments, strings and property names never
// count as uses).
import ts from "typescript";
import { builtinModules } from "node:module";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";

/** protocolPackages are the consensus protocols: they may import only core (and zod, protobufjs). */
export const protocolPackages: readonly string[] = ["paxos", "raft", "multipaxos", "pbft", "leaderless", "vr"];

/**
 * deterministicPackages must not touch time, randomness, timers, promises or
 * the host (STYLE.md "Ours"): core, the protocols, and kv, the replicated
 * state machine (StateMachine: "must be deterministic").
 */
export const deterministicPackages: readonly string[] = ["core", "kv", ...protocolPackages];

/**
 * replayablePackages run on virtual time from one seed (DESIGN.md "sim"): the
 * host's clock, timers and randomness would break replay byte for byte.
 */
export const replayablePackages: readonly string[] = ["sim"];

/** allowedProtocolImports are the bare specifiers a protocol's src may use. */
const allowedProtocolImports = ["@concord/core", "zod", "protobufjs"];

/**
 * keyedProtocolImports are what a protocol whose replicated object is the KV
 * store's keys themselves may import besides: single-decree Paxos runs one
 * instance per key (a write-once register), so it reads each command's key and
 * answers in the store's result format, where the log-based protocols apply
 * opaque commands to a StateMachine; the leaderless stores keep a last-writer-wins register per key alike. kv
 * imports only core, so the layering holds.
 */
const keyedProtocolImports = new Map([
  ["paxos", ["@concord/kv"]],
  ["leaderless", ["@concord/kv"]],
]);

/**
 * runtimePackages are the runtimes and the checker (DESIGN.md "Import
 * rules"): of ours they import core, and kv where they run KV workloads.
 */
export const runtimePackages: readonly string[] = ["sim", "net", "check"];

/** runtimeImports are the Concord packages a runtime's src may import. */
const runtimeImports = ["@concord/core", "@concord/kv"];

/**
 * labImports are the Concord packages the registry package (lab) may import:
 * the protocols and everything below them, never a front end or the test kit.
 */
const labImports = ["@concord/core", "@concord/kv", "@concord/sim", "@concord/net", "@concord/check", ...protocolPackages.map((name) => `@concord/${name}`)];

/** frontEnds are the leaves: each may import anything of ours but the other. */
const frontEnds = new Map([
  ["cli", "@concord/bench"],
  ["bench", "@concord/cli"],
]);

/**
 * internalsSubpath is the one export path past a package's name (DESIGN.md
 * "Import rules"): `@concord/raft/internals` holds the advanced pieces that
 * the package's public face leaves out.
 */
const internalsSubpath = "internals";

/** testKit is the private package of in-memory test clusters: only tests import it. */
const testKit = "@concord/testkit";

/** clockAndTimerGlobals are what a replayable package must not use: the host's time and scheduling. */
const clockAndTimerGlobals = new Set([
  "Date",
  "performance",
  "setTimeout",
  "setInterval",
  "setImmediate",
  "clearTimeout",
  "clearInterval",
  "clearImmediate",
  "queueMicrotask",
]);

/** forbiddenGlobals are host facilities a deterministic package must not reach for: the clock and timers, and I/O. */
const forbiddenGlobals = new Set([...clockAndTimerGlobals, "process", "Promise", "fetch", "require", "Buffer", "__dirname", "__filename"]);

/** globalObjects are the names through which a global can be reached as a property. */
const globalObjects = new Set(["globalThis", "window", "global", "self"]);

/** randomSources are `object.member` pairs that draw host randomness. */
const randomSources = new Map([
  ["Math", new Set(["random"])],
  ["crypto", new Set(["getRandomValues", "randomUUID", "randomBytes", "subtle"])],
]);

/** ImportUse is one module specifier in a file. */
export interface ImportUse {
  readonly specifier: string;
  readonly line: number;
}

/** Violation is one broken rule, located for a person to fix. */
export interface Violation {
  readonly file: string;
  readonly line: number;
  readonly rule: string;
  readonly detail: string;
}

/** SourceLocation says where a file sits: which package, and whether it is src or a test. */
export interface SourceLocation {
  /** file is the path relative to the repository root, with forward slashes. */
  readonly file: string;
  /** packageName is the directory under packages/ (or "bench"). */
  readonly packageName: string;
  readonly kind: "src" | "test";
}

/** PackageManifest is the part of a package.json the rules read. */
export interface PackageManifest {
  readonly name: string;
  readonly dependencies: readonly string[];
  readonly devDependencies: readonly string[];
  /** workspaceDevDependencies are the repository root's devDependencies, available to tests. */
  readonly workspaceDevDependencies?: readonly string[];
}

function parse(file: string, source: string): ts.SourceFile {
  return ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
}

function lineOf(sourceFile: ts.SourceFile, node: ts.Node): number {
  return sourceFile.getLineAndCharacterOfPosition(node.getStart(sourceFile)).line + 1;
}

/** collectImports lists every static, dynamic, type-only, re-export and require specifier in a source. */
export function collectImports(file: string, source: string): ImportUse[] {
  const sourceFile = parse(file, source);
  const found: ImportUse[] = [];
  const add = (literal: ts.Node): void => {
    if (ts.isStringLiteralLike(literal)) found.push({ specifier: literal.text, line: lineOf(sourceFile, literal) });
  };
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier !== undefined) {
      add(node.moduleSpecifier);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression);
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const isImport = callee.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(callee) && callee.text === "require";
      if ((isImport || isRequire) && node.arguments[0] !== undefined) add(node.arguments[0]);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal);
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return found;
}

/** declaredNames lists every name a file binds itself (imports, variables, parameters, functions, classes, types). */
function declaredNames(sourceFile: ts.SourceFile): Set<string> {
  const names = new Set<string>();
  const visit = (node: ts.Node): void => {
    const name = (node as { name?: ts.Node }).name;
    const binds =
      ts.isVariableDeclaration(node) ||
      ts.isParameter(node) ||
      ts.isBindingElement(node) ||
      ts.isFunctionDeclaration(node) ||
      ts.isClassDeclaration(node) ||
      ts.isInterfaceDeclaration(node) ||
      ts.isTypeAliasDeclaration(node) ||
      ts.isEnumDeclaration(node) ||
      ts.isImportSpecifier(node) ||
      ts.isImportClause(node) ||
      ts.isNamespaceImport(node);
    if (binds && name !== undefined && ts.isIdentifier(name)) names.add(name.text);
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return names;
}

/** isNameOnly tells whether an identifier names a member or a declaration rather than referring to a binding. */
function isNameOnly(node: ts.Identifier): boolean {
  const parent = node.parent;
  if ((ts.isPropertyAccessExpression(parent) || ts.isQualifiedName(parent)) && (ts.isPropertyAccessExpression(parent) ? parent.name : parent.right) === node) {
    return true;
  }
  const named =
    ts.isPropertyAssignment(parent) ||
    ts.isPropertyDeclaration(parent) ||
    ts.isPropertySignature(parent) ||
    ts.isMethodDeclaration(parent) ||
    ts.isMethodSignature(parent) ||
    ts.isGetAccessorDeclaration(parent) ||
    ts.isSetAccessorDeclaration(parent) ||
    ts.isEnumMember(parent) ||
    ts.isVariableDeclaration(parent) ||
    ts.isParameter(parent) ||
    ts.isBindingElement(parent) ||
    ts.isFunctionDeclaration(parent) ||
    ts.isClassDeclaration(parent) ||
    ts.isInterfaceDeclaration(parent) ||
    ts.isTypeAliasDeclaration(parent) ||
    ts.isImportSpecifier(parent) ||
    ts.isExportSpecifier(parent) ||
    ts.isLabeledStatement(parent);
  return named && (parent as { name?: ts.Node }).name === node;
}

/**
 * findNondeterminism lists uses of time, host randomness, timers, promises and
 * host globals in a source; with `strictness` "replayable", only the clock,
 * timers and host randomness count.
 */
export function findNondeterminism(file: string, source: string, strictness: "deterministic" | "replayable" = "deterministic"): { line: number; detail: string }[] {
  const forbidden = strictness === "deterministic" ? forbiddenGlobals : clockAndTimerGlobals;
  const sourceFile = parse(file, source);
  const local = declaredNames(sourceFile);
  const found: { line: number; detail: string }[] = [];
  const report = (node: ts.Node, detail: string): void => {
    found.push({ line: lineOf(sourceFile, node), detail });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && forbidden.has(node.text) && !local.has(node.text) && !isNameOnly(node)) {
      report(node, `uses the global ${node.text}`);
    } else if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression)) {
      const object = node.expression.text;
      const member = node.name.text;
      if (globalObjects.has(object) && (forbidden.has(member) || randomSources.has(member))) {
        report(node, `uses ${object}.${member}`);
      } else if (randomSources.get(object)?.has(member) === true && !local.has(object)) {
        report(node, `uses ${object}.${member}`);
      }
    } else if (ts.isElementAccessExpression(node) && ts.isIdentifier(node.expression) && ts.isStringLiteralLike(node.argumentExpression)) {
      const object = node.expression.text;
      const member = node.argumentExpression.text;
      if ((globalObjects.has(object) && forbidden.has(member)) || randomSources.get(object)?.has(member) === true) {
        report(node, `uses ${object}["${member}"]`);
      }
    } else if (strictness === "deterministic" && ts.isAwaitExpression(node)) {
      report(node, "awaits a promise");
    } else if (strictness === "deterministic" && ts.canHaveModifiers(node) && ts.getModifiers(node)?.some((modifier) => modifier.kind === ts.SyntaxKind.AsyncKeyword) === true) {
      report(node, "declares an async function");
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return found;
}

function isNodeBuiltin(specifier: string): boolean {
  return specifier.startsWith("node:") || builtinModules.includes(specifier.split("/")[0] ?? "");
}

/** packageOf returns the npm package a bare specifier names (`@scope/name` or `name`). */
export function packageOf(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? specifier);
}

function isRelative(specifier: string): boolean {
  return specifier.startsWith("./") || specifier.startsWith("../");
}

/**
 * checkImports applies DESIGN.md's import rules to the imports of one file:
 * core imports nothing of ours; protocols import only core, zod and
 * protobufjs; sim, net and check import only core and kv of ours; lab imports
 * nothing above the protocols and runtimes; cli and bench import nothing of
 * each other; only tests import the test kit; deterministic packages import
 * no Node builtin; nobody reaches
 * into another package's files or past a package's `exports`; relative
 * imports name their `.ts` file; and every package imported is declared in
 * package.json.
 */
export function checkImports(location: SourceLocation, imports: readonly ImportUse[], manifest: PackageManifest | undefined): Violation[] {
  const violations: Violation[] = [];
  const { file, packageName, kind } = location;
  const add = (use: ImportUse, rule: string, detail: string): void => {
    violations.push({ file, line: use.line, rule, detail: `${detail} ("${use.specifier}")` });
  };
  const ownRoot = packageName === "bench" ? "bench" : `packages/${packageName}`;
  const ownArea = `${ownRoot}/${kind}`;
  for (const use of imports) {
    const { specifier } = use;
    if (isRelative(specifier)) {
      const target = join(dirname(file), specifier).split(sep).join("/");
      if (!target.startsWith(`${ownRoot}/`)) add(use, "no-cross-package-path", "imports another package's files by path; import its package name");
      else if (kind === "src" && !target.startsWith(`${ownArea}/`)) add(use, "src-stays-in-src", "src imports a file outside its package's src");
      if (!specifier.endsWith(".ts") && !specifier.endsWith(".json")) add(use, "ts-extension", "imports an own file without its .ts extension");
      continue;
    }
    if (specifier.startsWith("/") || /(^|\/)packages\/[^/]+\/(src|test)\//.test(specifier)) {
      add(use, "no-cross-package-path", "imports a package's files by path; import its package name");
      continue;
    }
    if (specifier.startsWith("@concord/") && specifier !== packageOf(specifier) && specifier !== `${packageOf(specifier)}/${internalsSubpath}`) {
      add(use, "no-deep-import", "imports past a package's exports map; import the package name");
      continue;
    }
    if (isNodeBuiltin(specifier)) {
      if (kind === "src" && deterministicPackages.includes(packageName)) add(use, "no-node-builtins", `${packageName} must not import Node modules`);
      continue;
    }
    const imported = packageOf(specifier);
    if (kind === "src" && packageName === "core" && imported.startsWith("@concord/")) {
      add(use, "core-imports-nothing-of-ours", "core must not import another Concord package");
    }
    if (kind === "src" && protocolPackages.includes(packageName) && !allowedProtocolImports.includes(imported) && !(keyedProtocolImports.get(packageName) ?? []).includes(imported)) {
      add(use, "protocol-imports-only-core", `${packageName} may import only @concord/core, zod and protobufjs${keyedProtocolImports.has(packageName) ? ` (and ${(keyedProtocolImports.get(packageName) ?? []).join(", ")})` : ""}`);
    }
    if (kind === "src" && runtimePackages.includes(packageName) && imported.startsWith("@concord/") && !runtimeImports.includes(imported)) {
      add(use, "runtime-imports-core-and-kv", `${packageName} may import of ours only ${runtimeImports.join(" and ")}`);
    }
    if (kind === "src" && packageName === "lab" && imported.startsWith("@concord/") && !labImports.includes(imported)) {
      add(use, "lab-imports-below-it", `lab may import of ours only ${labImports.join(", ")}`);
    }
    if (frontEnds.get(packageName) === imported) {
      add(use, "front-ends-are-leaves", `${packageName} must import nothing of ${imported}: the front ends share what lies below them (@concord/lab)`);
    }
    if (kind === "src" && imported === testKit && packageName !== "testkit") {
      add(use, "only-tests-import-testkit", `${testKit} is for tests (packages/*/test, bench/test), not ${packageName}'s src`);
    }
    if (manifest !== undefined && imported !== manifest.name) {
      // Tests also see the root's devDependencies (vitest), which every workspace package resolves.
      const declared = kind === "src" ? manifest.dependencies : [...manifest.dependencies, ...manifest.devDependencies, ...(manifest.workspaceDevDependencies ?? [])];
      if (!declared.includes(imported)) {
        add(use, "declared-dependency", `${imported} is not in ${ownRoot}/package.json ${kind === "src" ? "dependencies" : "dependencies or devDependencies"}`);
      }
    }
  }
  return violations;
}

/** checkSource runs every rule that applies to one file. */
export function checkSource(location: SourceLocation, source: string, manifest: PackageManifest | undefined): Violation[] {
  const violations = checkImports(location, collectImports(location.file, source), manifest);
  if (location.kind === "src" && cliSyntaxPackages.includes(location.packageName)) {
    for (const use of findCliSyntax(location.file, source)) violations.push({ file: location.file, line: use.line, rule: "no-cli-syntax-below-lab", detail: `${location.packageName} ${use.detail}` });
  }
  if (location.kind === "src") {
    const strictness = deterministicPackages.includes(location.packageName)
      ? "deterministic"
      : replayablePackages.includes(location.packageName)
        ? "replayable"
        : undefined;
    if (strictness !== undefined) {
      for (const use of findNondeterminism(location.file, source, strictness)) {
        violations.push({ file: location.file, line: use.line, rule: strictness, detail: `${location.packageName} ${use.detail}` });
      }
    }
  }
  return violations;
}

function walkTs(dir: string, into: string[]): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir).sort()) {
    if (entry === "node_modules") continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) walkTs(path, into);
    else if (entry.endsWith(".ts") && !entry.endsWith(".d.ts")) into.push(path);
  }
}

/** readManifest reads the dependency names of a package.json. */
export function readManifest(packageDir: string): PackageManifest | undefined {
  const path = join(packageDir, "package.json");
  if (!existsSync(path)) return undefined;
  const json = JSON.parse(readFileSync(path, "utf8")) as { name?: string; dependencies?: object; devDependencies?: object };
  return {
    name: json.name ?? "",
    dependencies: Object.keys(json.dependencies ?? {}),
    devDependencies: Object.keys(json.devDependencies ?? {}),
  };
}

/** RepoSource is one file the rules apply to, read from the repository. */
export interface RepoSource {
  readonly location: SourceLocation;
  readonly path: string;
  readonly manifest: PackageManifest | undefined;
}

/** findRepoSources lists packages/<name>/{src,test}/**.ts and bench/{src,test}/**.ts. */
export function findRepoSources(repoRoot: string): RepoSource[] {
  const roots: { packageName: string; dir: string }[] = [];
  const packagesDir = join(repoRoot, "packages");
  for (const name of readdirSync(packagesDir).sort()) {
    if (statSync(join(packagesDir, name)).isDirectory()) roots.push({ packageName: name, dir: join(packagesDir, name) });
  }
  if (existsSync(join(repoRoot, "bench"))) roots.push({ packageName: "bench", dir: join(repoRoot, "bench") });
  const sources: RepoSource[] = [];
  const workspaceDevDependencies = readManifest(repoRoot)?.devDependencies ?? [];
  for (const { packageName, dir } of roots) {
    const own = readManifest(dir);
    const manifest = own === undefined ? undefined : { ...own, workspaceDevDependencies };
    for (const kind of ["src", "test"] as const) {
      const files: string[] = [];
      walkTs(join(dir, kind), files);
      for (const path of files) {
        const file = relative(repoRoot, path).split(sep).join("/");
        sources.push({ location: { file, packageName, kind }, path: resolve(path), manifest });
      }
    }
  }
  return sources;
}

/** findWorkspaceManifests reads the package.json of every workspace package: packages/* and bench. */
export function findWorkspaceManifests(repoRoot: string): PackageManifest[] {
  const dirs = readdirSync(join(repoRoot, "packages"))
    .sort()
    .map((name) => join(repoRoot, "packages", name));
  dirs.push(join(repoRoot, "bench"));
  return dirs.flatMap((dir) => readManifest(dir) ?? []);
}

/**
 * findWorkspaceCycles lists each cycle among workspace packages through their
 * dependencies and devDependencies, as the package names around it. pnpm
 * warns of these at install (it cannot order the packages' builds), and a
 * devDependency closes a cycle as surely as a dependency: core's tests once
 * needed kv, which needs core.
 */
export function findWorkspaceCycles(manifests: readonly PackageManifest[]): string[][] {
  const edges = new Map(manifests.map((manifest) => [manifest.name, [...manifest.dependencies, ...manifest.devDependencies]]));
  const cycles: string[][] = [];
  const done = new Set<string>();
  const visit = (name: string, path: string[]): void => {
    const at = path.indexOf(name);
    if (at !== -1) {
      cycles.push([...path.slice(at), name]);
      return;
    }
    if (done.has(name)) return;
    for (const next of edges.get(name) ?? []) if (edges.has(next)) visit(next, [...path, name]);
    done.add(name);
  };
  for (const name of [...edges.keys()].sort()) visit(name, []);
  return cycles;
}

/** cliSyntaxPackages are the packages below the front ends, which must not write the `concord` command's flags. */
export const cliSyntaxPackages: readonly string[] = ["core", "kv", "sim", "check", "testkit", ...protocolPackages];

/**
 * findCliSyntax lists the string literals of a source that write a `concord`
 * command or one of its flags: replay commands are composed once, in lab
 * (DESIGN.md: the simulator does not write CLI flag syntax).
 */
export function findCliSyntax(file: string, source: string): { line: number; detail: string }[] {
  const sourceFile = parse(file, source);
  const found: { line: number; detail: string }[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteralLike(node) || ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node)) {
      const match = /\bconcord (sim|swarm|check)\b|--(algo|scenario|scenario-file|seed|nodes|no-encode|option|byzantine-[a-z]+)\b/.exec(node.text);
      if (match !== null) found.push({ line: lineOf(sourceFile, node), detail: `writes CLI syntax "${match[0].trim()}"` });
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return found;
}
