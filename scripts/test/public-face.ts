// public-face reads what each workspace package's src/index.ts exports, values and types, with the
// TypeScript compiler, for the rules of docs/architecture.md ("A protocol's public face"): every
// protocol package exports the same names, and no two packages export one name for different things.
import ts from "typescript";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

/** ExportedName is one name a package's index exports, and where what it names is declared. */
export interface ExportedName {
  readonly name: string;
  /** declaredIn is the file of the declaration the name resolves to, through every re-export. */
  readonly declaredIn: string;
  readonly declaration: ts.Declaration | undefined;
}

/** PackageExports is everything one package's index exports. */
export interface PackageExports {
  /** packageName is the directory under packages/: `raft`, `core`. */
  readonly packageName: string;
  readonly indexFile: string;
  readonly names: ReadonlyMap<string, ExportedName>;
}

/** PublicFace is the compiled view of every package index, with the checker to ask about types. */
export interface PublicFace {
  readonly packages: readonly PackageExports[];
  readonly checker: ts.TypeChecker;
  readonly program: ts.Program;
}

/** packageIndexFiles lists packages/<name>/src/index.ts for every workspace package that has one, by name. */
export function packageIndexFiles(repoRoot: string): { packageName: string; indexFile: string }[] {
  return readdirSync(join(repoRoot, "packages"), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(repoRoot, "packages", entry.name, "src", "index.ts")))
    .map((entry) => ({ packageName: entry.name, indexFile: join(repoRoot, "packages", entry.name, "src", "index.ts") }))
    .sort((a, b) => a.packageName.localeCompare(b.packageName));
}

/** readPublicFace compiles every package index with the repository's compiler options and lists their exports. */
export function readPublicFace(repoRoot: string): PublicFace {
  const config = ts.getParsedCommandLineOfConfigFile(join(repoRoot, "tsconfig.json"), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
  if (config === undefined) throw new Error("cannot read tsconfig.json");
  const indexes = packageIndexFiles(repoRoot);
  const program = ts.createProgram(
    indexes.map((index) => index.indexFile),
    config.options,
  );
  const checker = program.getTypeChecker();
  const packages = indexes.map(({ packageName, indexFile }): PackageExports => {
    const source = program.getSourceFile(indexFile);
    const moduleSymbol = source === undefined ? undefined : checker.getSymbolAtLocation(source);
    const names = new Map<string, ExportedName>();
    for (const symbol of moduleSymbol === undefined ? [] : checker.getExportsOfModule(moduleSymbol)) {
      const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
      const declaration = target.declarations?.[0];
      names.set(symbol.name, { name: symbol.name, declaredIn: declaration?.getSourceFile().fileName ?? "", declaration });
    }
    return { packageName, indexFile, names };
  });
  return { packages, checker, program };
}

/** SharedName is a name that two or more packages export for different declarations. */
export interface SharedName {
  readonly name: string;
  readonly packages: readonly string[];
}

/**
 * sharedNames finds the names exported by more than one package's index. A
 * deliberate re-export (one package exporting another's declaration under its
 * own name) is not a clash: both names lead to the same declaration.
 */
export function sharedNames(packages: readonly PackageExports[]): SharedName[] {
  const byName = new Map<string, { packageName: string; declaration: ts.Declaration | undefined }[]>();
  for (const exports of packages) {
    for (const exported of exports.names.values()) {
      byName.set(exported.name, [...(byName.get(exported.name) ?? []), { packageName: exports.packageName, declaration: exported.declaration }]);
    }
  }
  const shared: SharedName[] = [];
  for (const [name, holders] of byName) {
    const declarations = new Set(holders.map((holder) => holder.declaration));
    if (holders.length > 1 && declarations.size > 1) shared.push({ name, packages: holders.map((holder) => holder.packageName) });
  }
  return shared.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * protocolPrefix finds a protocol's prefix from its replica class: the package
 * exporting definition `multipaxos` exports `MultiPaxosReplica`, so its prefix
 * is `MultiPaxos` (its values start `multiPaxos`). Undefined when no export is
 * named `<Prefix>Replica` with a prefix that spells the definition's name.
 */
export function protocolPrefix(definitionName: string, exports: PackageExports): string | undefined {
  for (const name of exports.names.keys()) {
    const match = /^([A-Z][A-Za-z0-9]*)Replica$/.exec(name);
    if (match?.[1] !== undefined && match[1].toLowerCase() === definitionName.toLowerCase().replace(/[^a-z0-9]/g, "")) return match[1];
  }
  return undefined;
}

/** FaceName is one name the rule asks of a protocol package, and what kind of thing it must be. */
export interface FaceName {
  readonly name: string;
  readonly kind: "definition" | "class" | "function" | "schema" | "codec" | "type";
}

/** requiredNames lists the names docs/architecture.md's rule asks of the protocol with definition `definitionName` and prefix `prefix`. */
export function requiredNames(definitionName: string, prefix: string): FaceName[] {
  const lower = prefix.charAt(0).toLowerCase() + prefix.slice(1);
  return [
    { name: definitionName, kind: "definition" },
    { name: `${prefix}Replica`, kind: "class" },
    { name: `${prefix}Client`, kind: "class" },
    { name: `create${prefix}Client`, kind: "function" },
    { name: `${lower}OptionsSchema`, kind: "schema" },
    { name: `${prefix}Options`, kind: "type" },
    { name: `${prefix}Message`, kind: "type" },
    { name: `${lower}Codec`, kind: "codec" },
    { name: `${prefix}RejectionReason`, kind: "type" },
    { name: `create${prefix}Monitors`, kind: "function" },
  ];
}

/** sharedPrefixOf is the prefix of the messages a package's algorithms share: its name's last part, capitalized (@concord/leaderless: Leaderless). */
function sharedPrefixOf(packageName: string): string {
  const last = packageName.slice(packageName.lastIndexOf("/") + 1);
  return last.charAt(0).toUpperCase() + last.slice(1);
}

/**
 * misnamedMessageTypes lists the members of a protocol's message union that
 * break the naming rule: each member declared in the protocol's own package
 * must be named `<Prefix><Name>` (or, in a package that holds several algorithms, after the package:
 * `Leaderless<Name>`) and be exported by its index. Members declared
 * elsewhere (core's client wire, shared by every leader-based protocol) are
 * the other package's to name.
 */
export function misnamedMessageTypes(face: PublicFace, exports: PackageExports, definitionName: string, prefix: string): string[] {
  const union = exports.names.get(`${prefix}Message`)?.declaration;
  if (union === undefined) return [`${prefix}Message is not exported`];
  const type = face.checker.getTypeAtLocation(ts.getNameOfDeclaration(union) ?? union);
  const members = type.isUnion() ? type.types : [type];
  // The protocol's own messages sit beside its definition (solo's in core/src/solo/, beside core's client wire).
  const definitionFile = [...exports.names.values()].find((exported) => exported.name === definitionName)?.declaredIn ?? exports.indexFile;
  const ownDirectory = definitionFile.slice(0, definitionFile.lastIndexOf("/") + 1);
  const problems: string[] = [];
  for (const member of members) {
    const symbol = member.aliasSymbol ?? member.getSymbol();
    const declaredIn = symbol?.declarations?.[0]?.getSourceFile().fileName ?? "";
    if (!declaredIn.startsWith(ownDirectory)) continue;
    const name = symbol?.name ?? face.checker.typeToString(member);
    // A package that holds several algorithms (@concord/leaderless) names the messages they share after itself.
    const packagePrefix = sharedPrefixOf(exports.packageName);
    if (!new RegExp(`^(${prefix}|${packagePrefix})[A-Z]`).test(name)) problems.push(`${name} is not named ${prefix}<Name>${packagePrefix === prefix ? "" : ` or ${packagePrefix}<Name>`}`);
    else if (!exports.names.has(name)) problems.push(`${name} is not exported by ${exports.packageName}'s index`);
  }
  return problems;
}
