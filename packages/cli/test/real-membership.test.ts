import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { encodeCommand, decodeResult } from "@concord/kv";
import { connectCluster, findAlgorithm } from "@concord/lab";
import { runCli } from "../src/cli.ts";
import { startTestCluster, waitForLeader } from "./real-cluster-helpers.ts";

const encoder = new TextEncoder();

async function until<T>(what: string, read: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await read();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

// `concord member add` on a running cluster: a fourth node started with --join
// is added through the protocol's own reconfiguration, catches up, and then
// votes: with four voters a quorum is three, so once the old leader is killed
// no new leader can be elected, and no write committed, without the new node.
describe("concord member add on real processes", () => {
  for (const algo of ["raft", "multipaxos", "vr"] as const) {
    it(`${algo}: a node added to a running cluster catches up and votes`, async () => {
      // Multi-Paxos: a configuration chosen in slot i governs from slot i + α (PMS §3); a small α keeps the writes that carry it there few.
      const alphaSlots = 8;
      const test = await startTestCluster(algo, 3, algo === "multipaxos" ? ["--option", `alphaSlots=${alphaSlots}`] : []);
      try {
        const algorithm = findAlgorithm(algo);
        if (algorithm === undefined) throw new Error(algo);
        const oldLeader = await waitForLeader(test);
        const writer = test.clients.newClient();
        for (let i = 0; i < 10; i++) expect((await test.clients.submit(writer, encodeCommand({ type: "put", key: "x", value: encoder.encode(`v${i}`) }), false)).kind).toBe("ok");

        const { id: added, address } = await test.cluster.addNode();
        const out: string[] = [];
        const err: string[] = [];
        const io = { stdout: (text: string) => void out.push(text), stderr: (text: string) => void err.push(text), readFile: () => "", writeFile: () => {} };
        const code = await runCli(
          ["member", "--algo", algo, "--cluster", [...test.cluster.peers].filter(([id]) => id !== added).map(([id, a]) => `${id}=${a.host}:${a.port}`).join(","), "--secret-file", test.cluster.secretFile, "add", `${added}=${address.host}:${address.port}`],
          io,
        );
        expect(code, err.join("")).toBe(0);
        expect(out.join("")).toContain(`the leader took the change (add node ${added})`);
        if (algo === "multipaxos") {
          for (let i = 0; i <= alphaSlots; i++) expect((await test.clients.submit(writer, encodeCommand({ type: "put", key: "y", value: encoder.encode(`w${i}`) }), false)).kind).toBe("ok");
        }

        // The new node applies what the cluster committed before it joined, and every node counts it a voter.
        const secret = new Uint8Array(readFileSync(test.cluster.secretFile));
        let lastSeen = "";
        const everyone = await connectCluster({ algorithm, cluster: test.cluster.peers, options: {}, secret });
        await until("the new node to catch up and be a voter everywhere", async () => {
          const answers = await Promise.all([...test.cluster.peers.keys()].map((id) => everyone.admin(id, { op: "status" }, 1_000)));
          const all = answers.flatMap((answer) => (answer.ok && answer.status !== undefined ? [answer.status] : []));
          const fresh = all.find((status) => status.id === added);
          lastSeen = JSON.stringify(all);
          const ok = all.length === 4 && fresh !== undefined && fresh.appliedIndex >= 10 && all.every((status) => status.membership?.voters.includes(added) === true);
          return ok ? true : undefined;
        }).catch((error: unknown) => {
          throw new Error(`${(error as Error).message}; statuses: ${lastSeen}; logs:\n${test.logs.slice(-15).join("\n")}`);
        }).finally(() => everyone.close());

        // Without the old leader, three of the four voters remain: the new node's vote is needed for any quorum.
        await test.cluster.kill(oldLeader);
        const clients = await connectCluster({ algorithm, cluster: new Map([...test.cluster.peers].filter(([id]) => id !== oldLeader)), options: {}, secret });
        try {
          const client = clients.newClient();
          const outcome = await clients.submit(client, encodeCommand({ type: "put", key: "x", value: encoder.encode("after") }), false);
          expect(outcome.kind).toBe("ok");
          const read = await clients.submit(client, encodeCommand({ type: "get", key: "x" }), true);
          expect(read.kind === "ok" ? decodeResult(read.result) : read).toEqual({ type: "get", value: encoder.encode("after") });
        } finally {
          await clients.close();
        }
      } finally {
        await test.close();
      }
    }, 120_000);
  }
});
