import { describe, expect, test } from "vitest";
import protobuf from "protobufjs";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { findProtoFiles, generatedPathFor, renderDescriptor } from "../gen-proto.ts";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

function generatedFiles(dir: string, into: string[] = []): string[] {
  for (const entry of readdirSync(dir)) {
    if (entry === "node_modules") continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) generatedFiles(path, into);
    else if (entry.endsWith("-proto.generated.ts")) into.push(path);
  }
  return into;
}

describe("generated protobuf descriptors", () => {
  const protos = findProtoFiles(repoRoot);

  test("finds the .proto files of core (solo) and kv", () => {
    const names = protos.map((path) => relative(repoRoot, path).split("\\").join("/"));
    expect(names).toContain("packages/core/src/solo/solo.proto");
    expect(names).toContain("packages/kv/src/kv.proto");
  });

  test("every *-proto.generated.ts is up to date with its .proto (else run `pnpm gen:proto`)", () => {
    const stale = protos.filter((proto) => {
      const generated = generatedPathFor(proto);
      return !existsSync(generated) || readFileSync(generated, "utf8") !== renderDescriptor(proto, readFileSync(proto, "utf8"));
    });
    expect(stale.map((proto) => relative(repoRoot, proto))).toEqual([]);
  });

  test("every *-proto.generated.ts has its .proto beside it (no orphans)", () => {
    const expected = new Set(protos.map(generatedPathFor));
    const orphans = generatedFiles(join(repoRoot, "packages")).filter((path) => !expected.has(path));
    expect(orphans.map((path) => relative(repoRoot, path))).toEqual([]);
  });

  test("every .proto resolves: each field's type exists", () => {
    for (const proto of protos) {
      const root = protobuf.parse(readFileSync(proto, "utf8"), { keepCase: false }).root;
      expect(() => root.resolveAll(), relative(repoRoot, proto)).not.toThrow();
    }
  });

  test("generatedPathFor puts the module beside the .proto, named after it", () => {
    expect(generatedPathFor(join("packages", "raft", "src", "raft.proto"))).toBe(join("packages", "raft", "src", "raft-proto.generated.ts"));
  });

  test("renderDescriptor imports core by name, except inside core, and notices a changed .proto", () => {
    const source = 'syntax = "proto3"; package t; message A { uint32 x = 1; }';
    const outside = renderDescriptor(join(repoRoot, "packages", "raft", "src", "t.proto"), source);
    expect(outside).toContain('import type { ProtoDescriptor } from "@concord/core";');
    const inside = renderDescriptor(join(repoRoot, "packages", "core", "src", "solo", "t.proto"), source);
    expect(inside).toContain('import type { ProtoDescriptor } from "../codec.ts";');
    const changed = renderDescriptor(join(repoRoot, "packages", "raft", "src", "t.proto"), source.replace("uint32 x = 1", "uint64 x = 1"));
    expect(changed).not.toBe(outside);
  });
});
