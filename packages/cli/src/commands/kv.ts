import type { NodeId } from "@concord/core";
import { type KvCommand, decodeResult, describeResult, encodeCommand, isReadOnly } from "@concord/kv";
import { algorithmNames, connectCluster } from "@concord/lab";
import type { ClientHost, NodeStatusReport } from "@concord/net";
import { type FlagSpec, helpText, integerFlag, parseFlags, protocolOptionFlags } from "../flags.ts";
import { type CommandIo, UsageError } from "../io.ts";
import { protocolOptionsHelp } from "../protocol-options.ts";
import { algorithmFlag, asUsage, clusterFlag, realClusterFlags, secretFlag, tickMsFlag, tlsFlags, transportProblems } from "./real-flags.ts";

const flags: Readonly<Record<string, FlagSpec>> = {
  cluster: { type: "string", description: "id=host:port,... for every replica (required)" },
  algo: { type: "string", description: "the algorithm the cluster runs (required)", values: algorithmNames },
  "timeout-ms": { type: "string", description: "give up after this long (default 10000)" },
  ...realClusterFlags,
  help: { type: "boolean", description: "show this help" },
};

const usage =
  "concord kv --cluster <id=host:port,...> --algo <name> <get KEY | put KEY VALUE | append KEY VALUE | cas KEY OLD NEW | delete KEY | status>\n\n" +
  "Runs one operation as a client of a running cluster and prints its result; `status` prints one JSON\n" +
  "object with each node's role, epoch, leader, commit and applied index. In `cas`, an OLD of \"\" means\n" +
  "the key must be absent. exit codes: 0 done, 1 the cluster did not answer in time (a write may still\n" +
  "take effect) or refused, 2 bad flags";

const encoder = new TextEncoder();

/** kvCommandOf reads an operation from the positional arguments, naming what is missing. */
export function kvCommandOf(positionals: readonly string[]): KvCommand | "status" {
  const [op, key, first, second] = positionals;
  const expect = (count: number, shape: string): void => {
    if (positionals.length !== count) throw new UsageError(`${op}: expected \`${shape}\`, got ${positionals.length - 1} argument(s)`);
  };
  switch (op) {
    case "status":
      expect(1, "status");
      return "status";
    case "get":
      expect(2, "get KEY");
      return { type: "get", key: key as string };
    case "delete":
      expect(2, "delete KEY");
      return { type: "delete", key: key as string };
    case "put":
    case "append":
      expect(3, `${op} KEY VALUE`);
      return { type: op, key: key as string, value: encoder.encode(first as string) };
    case "cas":
      expect(4, "cas KEY OLD NEW");
      return { type: "cas", key: key as string, expected: first === "" ? undefined : encoder.encode(first as string), value: encoder.encode(second as string) };
    case undefined:
      throw new UsageError("no operation given; one of: get, put, append, cas, delete, status");
    default:
      throw new UsageError(`unknown operation "${op}"; one of: get, put, append, cas, delete, status`);
  }
}

/** runKvCommand runs one KV operation (or `status`) against a running cluster. */
export async function runKvCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseFlags(args, flags, true);
  if (values["help"] === true) {
    io.stdout(helpText(usage, flags, [protocolOptionsHelp(algorithmNames)]));
    return 0;
  }
  const algorithm = algorithmFlag(values["algo"]);
  const cluster = clusterFlag("cluster", values["cluster"]);
  const command = kvCommandOf(positionals);
  const timeoutMs = integerFlag("timeout-ms", values["timeout-ms"], 1, 3_600_000) ?? 10_000;
  const host = await asUsage(() =>
    connectCluster({ algorithm, cluster, options: protocolOptionFlags(values["option"]), secret: secretFlag(values), tls: tlsFlags(values), tickMs: tickMsFlag(values), log: transportProblems(io) }),
  );
  try {
    if (command === "status") {
      io.stdout(`${JSON.stringify(await clusterStatus(host, [...cluster.keys()], Math.min(timeoutMs, 2_000)))}\n`);
      return 0;
    }
    const client = host.newClient();
    const timer = setTimeout(() => void host.close(), timeoutMs);
    const outcome = await host.submit(client, encodeCommand(command), isReadOnly(command));
    clearTimeout(timer);
    switch (outcome.kind) {
      case "ok":
        io.stdout(`${describeResult(decodeResult(outcome.result))}\n`);
        return 0;
      case "failed":
        io.stderr(`concord kv: refused: ${JSON.stringify(outcome.rejection)}\n`);
        return 1;
      case "indeterminate":
        io.stderr(`concord kv: no answer within ${timeoutMs} ms (${JSON.stringify(outcome.rejection)}); a write may still take effect\n`);
        return 1;
    }
  } finally {
    await host.close();
  }
}

/** NodeStatusLine is one node's entry in `concord kv status`: its report, or why there is none. */
export type NodeStatusLine = NodeStatusReport | { readonly id: NodeId; readonly error: string };

/** clusterStatus asks every node for its status at once. */
export async function clusterStatus(host: ClientHost<unknown>, nodes: readonly NodeId[], timeoutMs: number): Promise<{ nodes: NodeStatusLine[] }> {
  const answers = await Promise.all(nodes.map((id) => host.admin(id, { op: "status" }, timeoutMs)));
  return {
    nodes: answers.map((answer, index): NodeStatusLine => {
      const id = nodes[index] as NodeId;
      if (!answer.ok) return { id, error: answer.error };
      return answer.status ?? { id, error: "the node answered without a status" };
    }),
  };
}
