import { readFileSync } from "node:fs";
import { type AnyAlgorithm, ConfigError, type NodeId } from "@concord/core";
import { algorithmNames, findAlgorithm, parseCluster } from "@concord/lab";
import type { PeerAddress, TlsFiles } from "@concord/net";
import type { FlagSpec } from "../flags.ts";
import { integerFlag } from "../flags.ts";
import { UsageError } from "../io.ts";

type FlagValues = Record<string, string | boolean | string[] | undefined>;

/** realClusterFlags are the flags every command that talks to real nodes shares. */
export const realClusterFlags: Readonly<Record<string, FlagSpec>> = {
  "secret-file": { type: "string", description: "a file of at least 32 random bytes every node and client shares: the cluster's MAC and signing keys derive from it (required for pbft)" },
  "tls-cert": { type: "string", description: "PEM certificate of this endpoint, for mutual TLS (with --tls-key and --tls-ca)" },
  "tls-key": { type: "string", description: "PEM private key of --tls-cert" },
  "tls-ca": { type: "string", description: "PEM certificate of the CA that signed every member's certificate" },
  "tick-ms": { type: "string", description: "milliseconds per protocol tick (default 10); every node and client of a cluster must agree" },
  option: { type: "string", multiple: true, description: "a protocol option as name=value (repeatable); every node and client must agree; each algorithm's are listed below" },
};

/** algorithmFlag resolves --algo, naming the registered algorithms when it is missing or unknown. */
export function algorithmFlag(raw: FlagValues[string], allowed: readonly string[] = algorithmNames): AnyAlgorithm {
  if (typeof raw !== "string") throw new UsageError(`--algo is required; one of: ${allowed.join(", ")}`);
  const algorithm = allowed.includes(raw) ? findAlgorithm(raw) : undefined;
  if (algorithm === undefined) throw new UsageError(`--algo: unknown algorithm "${raw}"; allowed: ${allowed.join(", ")}`);
  return algorithm;
}

/** clusterFlag reads an `id=host:port,...` flag. */
export function clusterFlag(name: string, raw: FlagValues[string]): Map<NodeId, PeerAddress> {
  if (typeof raw !== "string") throw new UsageError(`--${name} is required: id=host:port,... naming every replica`);
  return asUsage(() => parseCluster(name, raw));
}

/** secretFlag reads --secret-file, or returns undefined when it is absent. */
export function secretFlag(values: FlagValues): Uint8Array | undefined {
  const path = values["secret-file"];
  if (path === undefined) return undefined;
  try {
    return new Uint8Array(readFileSync(String(path)));
  } catch (error) {
    throw new UsageError(`--secret-file: cannot read ${String(path)}: ${(error as Error).message}`);
  }
}

/** tlsFlags reads the three TLS flags: all or none. */
export function tlsFlags(values: FlagValues): TlsFiles | undefined {
  const cert = values["tls-cert"];
  const key = values["tls-key"];
  const ca = values["tls-ca"];
  if (cert === undefined && key === undefined && ca === undefined) return undefined;
  if (typeof cert !== "string" || typeof key !== "string" || typeof ca !== "string") throw new UsageError("--tls-cert, --tls-key and --tls-ca go together: give all three or none");
  return { cert, key, ca };
}

/** tickMsFlag reads --tick-ms. */
export function tickMsFlag(values: FlagValues): number | undefined {
  return integerFlag("tick-ms", values["tick-ms"], 1, 10_000);
}

/** asUsage runs `read`, turning a ConfigError (bad input at an edge) into a usage error: one line, exit 2. */
export function asUsage<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
}

/**
 * transportProblems passes on the client transport's lines that explain a
 * silence (a node refusing this client: another protocol, a TLS name, a
 * closed connection), and not the routine ones (connected, retrying).
 */
export function transportProblems(io: { stderr(text: string): void }): (line: string) => void {
  // The dialer retries: each distinct line is said once.
  const said = new Set<string>();
  return (line) => {
    if (!/refusing|closing/.test(line) || said.has(line)) return;
    said.add(line);
    io.stderr(`concord: ${line}\n`);
  };
}
