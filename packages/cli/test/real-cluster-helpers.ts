import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { NodeId } from "@concord/core";
import { type ClientHost, type NodeStatusReport } from "@concord/net";
import { LocalCluster, type NodeLauncher, connectCluster, findAlgorithm } from "@concord/lab";

/** repoRoot is where `tsx` resolves from. */
export const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));

/** testLauncher runs `concord node` under tsx, as `pnpm concord node` does. */
export const testLauncher: NodeLauncher = (flags) => ({
  command: process.execPath,
  args: ["--import", join(repoRoot, "node_modules/tsx/dist/esm/index.mjs"), fileURLToPath(new URL("../src/main.ts", import.meta.url)), ...flags],
});

/** RealTestCluster is a local cluster of node processes in a temporary directory, with a client host on it. */
export interface RealTestCluster {
  readonly cluster: LocalCluster;
  readonly clients: ClientHost<unknown>;
  readonly logs: string[];
  readonly dataDir: string;
  close(): Promise<void>;
}

/** startTestCluster starts `nodes` processes of `algo` and a client host, in a fresh temporary directory removed on close. */
export async function startTestCluster(algo: string, nodes: number, extraFlags: readonly string[] = []): Promise<RealTestCluster> {
  const algorithm = findAlgorithm(algo);
  if (algorithm === undefined) throw new Error(`no algorithm ${algo}`);
  const dataDir = mkdtempSync(join(tmpdir(), `concord-${algo}-`));
  const logs: string[] = [];
  const cluster = await LocalCluster.start({ algorithm: algo, nodes, dataDir, launcher: testLauncher, extraFlags, onLog: (id, line) => logs.push(`[${id}] ${line}`) });
  const { readFileSync } = await import("node:fs");
  const clients = await connectCluster({ algorithm, cluster: cluster.peers, options: {}, secret: new Uint8Array(readFileSync(cluster.secretFile)) });
  return {
    cluster,
    clients,
    logs,
    dataDir,
    close: async () => {
      await clients.close();
      await cluster.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** statuses asks every running node for its status; a node that does not answer is left out. */
export async function statuses(test: RealTestCluster): Promise<NodeStatusReport[]> {
  const ids = [...test.cluster.peers.keys()].filter((id) => test.cluster.running(id));
  const answers = await Promise.all(ids.map((id) => test.clients.admin(id, { op: "status" }, 1_000)));
  return answers.flatMap((answer) => (answer.ok && answer.status !== undefined ? [answer.status] : []));
}

/** waitForLeader polls until a running node reports itself leader (or primary) and returns its id. */
export async function waitForLeader(test: RealTestCluster, timeoutMs = 20_000): Promise<NodeId> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const leader = (await statuses(test)).find((status) => status.role === "leader" || status.role === "primary");
    if (leader !== undefined) return leader.id;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no leader within ${timeoutMs} ms; logs:\n${test.logs.slice(-30).join("\n")}`);
}
