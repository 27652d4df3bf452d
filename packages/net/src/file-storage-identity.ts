// Which algorithm and node own a data directory. The identity file is written
// once, when the directory is first claimed, and checked on every open, so
// that a node never recovers another node's log, nor a Raft replica a PBFT
// log, and so that FileStorage never writes into a directory it did not make.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { ConfigError, CorruptionError, isNodeId, type NodeId } from "@concord/core";
import { replaceFileAtomically, syncDirectoryOnce, type Syncer } from "./file-storage-files.ts";
import { makeDirectories } from "./make-directories.ts";
import { identityFileName, temporarySuffix } from "./file-storage-layout.ts";

/** FileStorageIdentity names the owner of a data directory: the algorithm its replica runs and its node id. */
export interface FileStorageIdentity {
  readonly algorithm: string;
  readonly nodeId: NodeId;
}

const identityFormat = "concord-file-storage/1";
const namesShownMax = 5;

function describe(identity: FileStorageIdentity): string {
  return `node ${identity.nodeId} running ${identity.algorithm}`;
}

/**
 * claimDirectory makes sure `directory` belongs to `identity` before anything
 * in it is changed: a missing directory is created and claimed, an empty one
 * is claimed, one with our identity file is checked against `identity`, and
 * any other is refused with a {@link ConfigError} that names the directory,
 * what it holds and what was asked (nothing in it touched). It returns the
 * directory's entries after the claim.
 */
export function claimDirectory(directory: string, identity: FileStorageIdentity, syncer: Syncer, fsync: boolean): string[] {
  const names = listOrCreate(directory, identity, fsync);
  if (names.includes(identityFileName)) {
    checkIdentity(directory, identity);
    return names;
  }
  // A crash during an earlier first open can leave only the identity's temporary behind: the directory is still ours to claim.
  const foreign = names.filter((name) => name !== identityFileName + temporarySuffix);
  if (foreign.length > 0) {
    const shown = foreign.slice(0, namesShownMax).join(", ") + (foreign.length > namesShownMax ? ", ..." : "");
    throw new ConfigError(
      "data",
      `${directory} holds ${foreign.length} entries (${shown}) and no ${identityFileName}: it is not a Concord data directory, and ${describe(identity)} will not write into it; give an empty or missing directory`,
    );
  }
  const file = { format: identityFormat, algorithm: identity.algorithm, nodeId: identity.nodeId };
  replaceFileAtomically(directory, identityFileName, [new TextEncoder().encode(`${JSON.stringify(file)}\n`)], syncer);
  return readdirSync(directory);
}

function listOrCreate(directory: string, identity: FileStorageIdentity, fsync: boolean): string[] {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(directory).isDirectory();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    // Each new directory's name must survive a crash, or the log in it would vanish with it.
    for (const made of makeDirectories(directory)) if (fsync) syncDirectoryOnce(dirname(made));
    return [];
  }
  if (!isDirectory) throw new ConfigError("data", `${directory} is not a directory; ${describe(identity)} needs a directory for its storage`);
  return readdirSync(directory);
}

function checkIdentity(directory: string, asked: FileStorageIdentity): void {
  const path = join(directory, identityFileName);
  const found = parseIdentity(readFileSync(path, "utf8"));
  if (found === undefined) throw new CorruptionError(`${path}: not a ${identityFormat} identity file; refusing to guess whose storage ${directory} is`);
  if (found.algorithm !== asked.algorithm || found.nodeId !== asked.nodeId) {
    throw new ConfigError("data", `${directory} holds the storage of ${describe(found)}, but ${describe(asked)} was asked for; refusing to open it (give each node its own directory)`);
  }
}

function parseIdentity(text: string): FileStorageIdentity | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const { format, algorithm, nodeId } = value as Record<string, unknown>;
  if (format !== identityFormat || typeof algorithm !== "string" || !isNodeId(nodeId)) return undefined;
  return { algorithm, nodeId };
}
