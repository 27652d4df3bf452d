import type { NodeId } from "@concord/core";
import { algorithms, connectCluster, parseCluster } from "@concord/lab";
import type { AdminRequest, ClientHost, PeerAddress } from "@concord/net";
import { type FlagSpec, helpText, integerFlag, parseFlags, protocolOptionFlags } from "../flags.ts";
import { type CommandIo, UsageError } from "../io.ts";
import { protocolOptionsHelp } from "../protocol-options.ts";
import { algorithmFlag, asUsage, clusterFlag, realClusterFlags, secretFlag, tickMsFlag, tlsFlags, transportProblems } from "./real-flags.ts";

/** reconfigurable lists the algorithms with membership changes: the only ones `concord member` takes. */
const reconfigurable = algorithms.filter((algorithm) => algorithm.admin?.reconfigure !== undefined).map((algorithm) => algorithm.name);

const flags: Readonly<Record<string, FlagSpec>> = {
  cluster: { type: "string", description: "id=host:port,... for every current replica (required)" },
  algo: { type: "string", description: "the algorithm the cluster runs (required)", values: reconfigurable },
  learner: { type: "boolean", description: "with add: add the node as a learner (it replicates, does not vote)" },
  "timeout-ms": { type: "string", description: "give up after this long (default 15000)" },
  ...realClusterFlags,
  help: { type: "boolean", description: "show this help" },
};

const usage =
  "concord member --cluster <id=host:port,...> --algo <name> add <id=host:port> [--learner] | remove <id>\n\n" +
  "Changes the membership of a running cluster through the protocol's own reconfiguration (Raft's\n" +
  "configuration entries, Multi-Paxos's new acceptor set through the log, VR's new epoch), asked of the leader.\n" +
  "For add, first start the new node with `concord node --join` and a --peers list that names it\n" +
  "and every current replica; every node is told the new address before the change is proposed.\n" +
  "exit codes: 0 the leader took the change (in force once committed: check with concord kv status),\n" +
  "1 it was refused or nobody answered, 2 bad flags";

/** runMemberCommand adds or removes one replica of a running cluster. */
export async function runMemberCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseFlags(args, flags, true);
  if (values["help"] === true) {
    io.stdout(helpText(usage, flags, [protocolOptionsHelp(reconfigurable)]));
    return 0;
  }
  const algorithm = algorithmFlag(values["algo"]);
  if (algorithm.admin?.reconfigure === undefined) throw new UsageError(`--algo: ${algorithm.name} has no membership changes`);
  const cluster = clusterFlag("cluster", values["cluster"]);
  const timeoutMs = integerFlag("timeout-ms", values["timeout-ms"], 1, 3_600_000) ?? 15_000;
  const [op, target, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0] as string}"`);
  let node: NodeId;
  let address: PeerAddress | undefined;
  if (op === "add") {
    if (target === undefined) throw new UsageError("add: expected `add id=host:port`");
    const parsed = asUsage(() => parseCluster("add", target));
    if (parsed.size !== 1) throw new UsageError("add: expected one id=host:port");
    [[node, address]] = [...parsed] as [[NodeId, PeerAddress]];
    if (cluster.has(node)) throw new UsageError(`add: node ${node} is already in --cluster`);
  } else if (op === "remove") {
    node = integerFlag("remove", target, 0, 999_999) ?? -1;
    if (node < 0) throw new UsageError("remove: expected `remove <id>`");
    if (!cluster.has(node)) throw new UsageError(`remove: node ${node} is not in --cluster`);
  } else {
    throw new UsageError(op === undefined ? "expected `add id=host:port` or `remove id`" : `unknown operation "${op}"; expected add or remove`);
  }
  const host = await asUsage(() =>
    connectCluster({ algorithm, cluster, options: protocolOptionFlags(values["option"]), secret: secretFlag(values), tls: tlsFlags(values), tickMs: tickMsFlag(values), log: transportProblems(io) }),
  );
  try {
    if (address !== undefined) {
      const everyone = new Map(cluster).set(node, address);
      const peers = Object.fromEntries([...everyone].map(([id, a]) => [String(id), `${a.host.includes(":") ? `[${a.host}]` : a.host}:${a.port}`]));
      for (const id of cluster.keys()) {
        const answer = await host.admin(id, { op: "peers", peers }, 2_000);
        if (!answer.ok) io.stderr(`concord member: node ${id} did not take the new address (${answer.error}); it will learn it when it reconnects\n`);
      }
    }
    const change = op === "add" ? (values["learner"] === true ? "addLearner" : "addVoter") : "removeVoter";
    const result = await askLeader(host, [...cluster.keys()], { op: "reconfigure", changes: [{ type: change, node }], joint: false }, timeoutMs);
    if (result.ok) {
      // The leader took the change; it is in force once committed (Multi-Paxos: α slots after it is chosen).
      io.stdout(`the leader took the change (${op} node ${node}): ${result.detail}; \`concord kv status\` shows each node's membership once it is in force\n`);
      return 0;
    }
    io.stderr(`concord member: ${result.detail}\n`);
    return 1;
  } finally {
    await host.close();
  }
}

/**
 * askLeader sends an operator's order to the node that leads: it asks the
 * nodes in turn, follows a refusal's leader hint, and retries (a leader may
 * be in the middle of an election) until one accepts or `timeoutMs` passes.
 */
export async function askLeader(host: ClientHost<unknown>, nodes: readonly NodeId[], request: AdminRequest, timeoutMs: number): Promise<{ ok: boolean; detail: string }> {
  const deadline = Date.now() + timeoutMs;
  let next = 0;
  let hint: NodeId | undefined;
  let last = "no node answered";
  while (Date.now() < deadline) {
    const to = hint !== undefined && nodes.includes(hint) ? hint : (nodes[next++ % nodes.length] as NodeId);
    hint = undefined;
    const answer = await host.admin(to, request, Math.min(2_000, Math.max(1, deadline - Date.now())));
    if (answer.ok) return { ok: true, detail: `node ${to}: ${answer.detail ?? "done"}` };
    last = `node ${to}: ${answer.error}`;
    if (answer.leader !== undefined && answer.leader !== null && answer.leader !== to) hint = answer.leader;
    else await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { ok: false, detail: `no leader accepted within ${timeoutMs} ms; last answer: ${last}` };
}

