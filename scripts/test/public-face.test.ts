// One public face for every protocol (docs/architecture.md, "A protocol's public face"): every
// algorithm in the registry comes from a package that exports the same names, so that a user who
// knows one protocol package knows all, and a fourth protocol is held to the same rule when it is
// registered; and no two packages export one name for different things.
import { algorithms } from "@concord/lab";
import { fileURLToPath, pathToFileURL } from "node:url";
import { beforeAll, describe, expect, test } from "vitest";
import { type PackageExports, type PublicFace, misnamedMessageTypes, protocolPrefix, readPublicFace, requiredNames, sharedNames } from "./public-face.ts";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

let face: PublicFace;
// Parsing every package's index with the TypeScript compiler takes seconds on a loaded machine: not vitest's default 10 s hook budget.
beforeAll(() => {
  face = readPublicFace(repoRoot);
}, 120_000);

/** packageOf finds the package whose index exports the definition under its own name. */
function packageOf(definitionName: string): PackageExports {
  const found = face.packages.filter((exports) => exports.names.has(definitionName));
  expect(found.map((exports) => exports.packageName), `exactly one package exports a name ${definitionName}`).toHaveLength(1);
  return found[0] as PackageExports;
}

describe("every registered protocol package exports the same public face", () => {
  test.each(algorithms.map((algorithm) => [algorithm.name, algorithm] as const))("%s", async (name, algorithm) => {
    const exports = packageOf(name);
    const prefix = protocolPrefix(name, exports);
    expect(prefix, `${exports.packageName} exports no <Proto>Replica class whose <Proto> spells ${name}`).toBeDefined();
    if (prefix === undefined) return;
    const missing = requiredNames(name, prefix).filter((required) => !exports.names.has(required.name));
    expect(missing.map((required) => required.name), `${exports.packageName}'s index lacks names of the rule`).toEqual([]);

    const module = (await import(pathToFileURL(exports.indexFile).href)) as Record<string, unknown>;
    const lower = prefix.charAt(0).toLowerCase() + prefix.slice(1);
    expect(module[name], `${name} is the registered definition`).toBe(algorithm);
    expect(module[`${lower}Codec`], `${lower}Codec is the definition's codec`).toBe(algorithm.codec);
    for (const required of requiredNames(name, prefix)) {
      const value = module[required.name];
      if (required.kind === "class" || required.kind === "function") expect(typeof value, `${required.name} is a ${required.kind}`).toBe("function");
      if (required.kind === "class") expect(String(value), `${required.name} is a class`).toMatch(/^class /);
      if (required.kind === "schema") expect(typeof (value as { safeParse?: unknown }).safeParse, `${required.name} is a zod schema`).toBe("function");
      if (required.kind === "type") expect(value, `${required.name} is a type, not a value`).toBeUndefined();
    }
    const monitors = (module[`create${prefix}Monitors`] as () => { name: string }[])();
    expect(monitors.map((monitor) => monitor.name), `create${prefix}Monitors returns the monitors the definition uses`).toEqual(algorithm.createMonitors().map((monitor) => monitor.name));

    expect(misnamedMessageTypes(face, exports, name, prefix), `${prefix}Message's members follow the rule <Proto><Name>`).toEqual([]);
  });
});

describe("no two packages export one name", () => {
  test("for different things (values and types alike; a re-export of the same declaration is not a clash)", () => {
    expect(sharedNames(face.packages)).toEqual([]);
  });
});
