import { describe, expect, test } from "vitest";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { findProtoFiles, generatedPathFor, parseProto, renderDescriptor } from "../gen-proto.ts";

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

  test("finds the .proto files of core (the client wire, solo) and kv", () => {
    const names = protos.map((path) => relative(repoRoot, path).split("\\").join("/"));
    expect(names).toContain("packages/core/src/client-wire.proto");
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

  test("every .proto resolves with what it imports: each field's type exists", () => {
    for (const proto of protos) {
      const { root } = parseProto(proto, readFileSync(proto, "utf8"));
      expect(() => root.resolveAll(), relative(repoRoot, proto)).not.toThrow();
    }
  });

  test("solo, Raft and Multi-Paxos carry core's client wire, not client messages of their own", () => {
    const envelopes = [
      ["packages/core/src/solo/solo.proto", "concord.solo.SoloMessage"],
      ["packages/raft/src/raft.proto", "concord.raft.RaftMessage"],
      ["packages/multipaxos/src/multipaxos.proto", "concord.multipaxos.MultiPaxosMessage"],
    ] as const;
    for (const [path, envelopeName] of envelopes) {
      const proto = join(repoRoot, path);
      const envelope = parseProto(proto, readFileSync(proto, "utf8")).root.lookupType(envelopeName);
      envelope.resolveAll();
      const clientFields = envelope.fieldsArray.filter((field) => field.resolvedType?.fullName.startsWith(".concord.client."));
      expect(clientFields.map((field) => [field.name, field.resolvedType?.fullName]), path).toEqual(
        [
          ["clientRequest", ".concord.client.ClientRequest"],
          ["clientReply", ".concord.client.ClientReply"],
          ["notLeader", ".concord.client.NotLeader"],
        ].slice(0, envelopeName === "concord.solo.SoloMessage" ? 2 : 3),
      );
      const ownClientMessages = envelope.fieldsArray.filter((field) => ["clientRequest", "clientReply", "notLeader", "request", "reply"].includes(field.name) && !clientFields.includes(field));
      expect(ownClientMessages.map((field) => field.name), path).toEqual([]);
    }
  });

  test("an import names a path under packages/core/src, and its messages land in the importer's descriptor", () => {
    const core = join(repoRoot, "packages", "core", "src");
    const files = new Map([[join(core, "wire.proto"), 'syntax = "proto3"; package w; message Hello { uint32 x = 1; }']]);
    const read = (path: string): string => {
      const source = files.get(path);
      if (source === undefined) throw new Error(`no file ${path}`);
      return source;
    };
    const importer = join(repoRoot, "packages", "raft", "src", "t.proto");
    const source = 'syntax = "proto3"; package t; import "wire.proto"; message Envelope { oneof body { w.Hello hello = 1; } }';
    const rendered = renderDescriptor(importer, source, read);
    expect(rendered).toContain("from t.proto and what it imports (wire.proto)");
    const { root, imports } = parseProto(importer, source, read);
    expect(imports).toEqual(["wire.proto"]);
    expect(root.lookupType("t.Envelope").fields["hello"]?.resolve().resolvedType?.fullName).toBe(".w.Hello");
    expect(() => parseProto(importer, source.replace('"wire.proto"', '"missing.proto"'), read)).toThrow(/t\.proto imports "missing\.proto", which is not under packages\/core\/src/);
    files.set(join(core, "wire.proto"), 'syntax = "proto3"; package w; message Hello { uint64 x = 1; }');
    expect(renderDescriptor(importer, source, read)).not.toBe(rendered);
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
