import { connect } from "node:net";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { encodeCommand } from "@concord/kv";
import { connectCluster, findAlgorithm, freePorts, startRealNode } from "@concord/lab";
import { runCli } from "../src/cli.ts";

// What `concord node` does with its data directory when it is not what it
// should be: another node's, a log corrupted in the middle (refused, naming
// the file and offset, nothing changed), a log torn at its end (recovered).
const algorithm = findAlgorithm("solo");
if (algorithm === undefined) throw new Error("solo is not registered");
const secret = new Uint8Array(32).fill(3);
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function capture(): { io: Parameters<typeof runCli>[1]; err: string[] } {
  const err: string[] = [];
  return { io: { stdout: () => {}, stderr: (text) => void err.push(text), readFile: () => "", writeFile: () => {} }, err };
}

/** writeSomeRecords runs a one-node solo cluster in-process, puts `count` values, and stops it cleanly. */
async function writeSomeRecords(dataDir: string, count: number): Promise<number> {
  const [port] = await freePorts("127.0.0.1", 1);
  const listen = { host: "127.0.0.1", port: port as number };
  const node = await startSolo(dataDir, listen);
  const clients = await soloClients(listen);
  const client = clients.newClient();
  for (let i = 0; i < count; i++) expect((await clients.submit(client, encodeCommand({ type: "put", key: `k${i}`, value: new TextEncoder().encode(`value-${i}`) }), false)).kind).toBe("ok");
  await clients.close();
  await node.stop();
  return port as number;
}

/** startSolo starts the one-node solo cluster at `listen` on `dataDir` in this process, its log lines into `log` when given. */
function startSolo(dataDir: string, listen: { host: string; port: number }, log?: string[]): ReturnType<typeof startRealNode> {
  return startRealNode({ algorithm: algorithm as NonNullable<typeof algorithm>, id: 0, listen, peers: new Map([[0, listen]]), dataDir, options: {}, secret, log: (line) => log?.push(line) });
}

/** soloClients connects a client host to the one-node solo cluster at `listen`. */
function soloClients(listen: { host: string; port: number }): ReturnType<typeof connectCluster> {
  return connectCluster({ algorithm: algorithm as NonNullable<typeof algorithm>, cluster: new Map([[0, listen]]), options: {}, secret });
}

function segmentsOf(dataDir: string): string[] {
  const logDir = join(dataDir, "log");
  return readdirSync(logDir).filter((name) => name.endsWith(".log") || name.includes("segment")).map((name) => join(logDir, name)).filter((path) => statSync(path).size > 0);
}

describe("concord node and its data directory", () => {
  it("refuses a directory another node id or algorithm wrote, in one line, exit 2", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "concord-node-"));
    dirs.push(dataDir);
    const port = await writeSomeRecords(dataDir, 1);
    const { io, err } = capture();
    const code = await runCli(["node", "--id", "1", "--algo", "solo", "--listen", `127.0.0.1:${port}`, "--peers", `1=127.0.0.1:${port}`, "--data", dataDir], io);
    expect(code).toBe(2);
    expect(err.join("")).toMatch(/belongs to node 0 running solo, not node 1 running solo/);
    const other = capture();
    const peers = `0=127.0.0.1:${port},1=127.0.0.1:${port + 1},2=127.0.0.1:${port + 2}`;
    expect(await runCli(["node", "--id", "0", "--algo", "raft", "--listen", `127.0.0.1:${port}`, "--peers", peers, "--data", dataDir], other.io)).toBe(2);
    expect(other.err.join("")).toMatch(/not node 0 running raft/);
    expect(other.err.join("").trim().split("\n")).toHaveLength(1);
  });

  it("refuses a port in use in one line, exit 2", async () => {
    const [port] = await freePorts("127.0.0.1", 1);
    const { createServer } = await import("node:net");
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(port, "127.0.0.1", resolve));
    const dataDir = mkdtempSync(join(tmpdir(), "concord-node-"));
    dirs.push(dataDir);
    try {
      const { io, err } = capture();
      expect(await runCli(["node", "--id", "0", "--algo", "solo", "--listen", `127.0.0.1:${port}`, "--peers", `0=127.0.0.1:${port}`, "--data", dataDir], io)).toBe(2);
      expect(err.join("")).toBe(`concord: --listen: 127.0.0.1:${port} is in use\n`);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it("refuses a directory of someone else's files, and a peer list without this node", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "concord-node-"));
    dirs.push(dataDir);
    writeFileSync(join(dataDir, "thesis.tex"), "precious");
    const { io, err } = capture();
    expect(await runCli(["node", "--id", "0", "--algo", "solo", "--listen", "127.0.0.1:1", "--peers", "0=127.0.0.1:1", "--data", dataDir], io)).toBe(2);
    expect(err.join("")).toMatch(/not a Concord node's directory/);
    expect(readFileSync(join(dataDir, "thesis.tex"), "utf8")).toBe("precious");
    expect(readdirSync(dataDir)).toEqual(["thesis.tex"]);
    const second = capture();
    expect(await runCli(["node", "--id", "5", "--algo", "solo", "--listen", "127.0.0.1:1", "--peers", "0=127.0.0.1:1", "--data", join(dataDir, "x")], second.io)).toBe(2);
    expect(second.err.join("")).toMatch(/does not name this node \(5\)/);
  });

  it("refuses a log corrupted in the middle, naming the file and offset, and changes nothing", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "concord-node-"));
    dirs.push(dataDir);
    const port = await writeSomeRecords(dataDir, 20);
    const [segment] = segmentsOf(dataDir);
    if (segment === undefined) throw new Error(`no segment in ${dataDir}/log: ${readdirSync(join(dataDir, "log")).join(", ")}`);
    const bytes = readFileSync(segment);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = (bytes[middle] as number) ^ 0xff;
    writeFileSync(segment, bytes);
    const { io, err } = capture();
    expect(await runCli(["node", "--id", "0", "--algo", "solo", "--listen", `127.0.0.1:${port}`, "--peers", `0=127.0.0.1:${port}`, "--data", dataDir], io)).toBe(2);
    expect(err.join("")).toContain(segment);
    expect(err.join("")).toMatch(/byte \d+/);
    expect(readFileSync(segment).equals(bytes)).toBe(true);
  });

  it("recovers a log torn in its last record and serves every value written before it", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "concord-node-"));
    dirs.push(dataDir);
    const port = await writeSomeRecords(dataDir, 20);
    const segments = segmentsOf(dataDir).sort();
    const last = segments[segments.length - 1] as string;
    truncateSync(last, statSync(last).size - 3);
    const listen = { host: "127.0.0.1", port };
    const logs: string[] = [];
    const node = await startSolo(dataDir, listen, logs);
    try {
      // Solo persists each command before answering; the torn record was the last one's, so at least the first 19 survive.
      expect(node.runtime.status.appliedIndex).toBeGreaterThanOrEqual(19);
      expect(node.storage.counters.tornBytesTruncated).toBeGreaterThan(0);
    } finally {
      await node.stop();
    }
  });
});

describe("concord node and the addresses it learns", () => {
  it("keeps the addresses an operator's peers request gave across a restart with the old --peers", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "concord-node-"));
    dirs.push(dataDir);
    const [port, otherPort] = await freePorts("127.0.0.1", 2);
    const listen = { host: "127.0.0.1", port: port as number };
    const start = (log: string[]) => startSolo(dataDir, listen, log);
    const first = await start([]);
    const clients = await soloClients(listen);
    const answer = await clients.admin(0, { op: "peers", peers: { "0": `127.0.0.1:${port}`, "1": `127.0.0.1:${otherPort}` } }, 2_000);
    await clients.close();
    expect(answer.ok).toBe(true);
    await first.stop();
    const log: string[] = [];
    const second = await start(log);
    await second.stop();
    expect(log.join("\n")).toContain(`peers learned before this start and not in --peers: 1=127.0.0.1:${otherPort}`);
  });
});

describe("concord kv against a node of another algorithm", () => {
  it("says the node speaks another protocol, once per node, rather than only timing out", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "concord-node-"));
    dirs.push(dataDir);
    const [port] = await freePorts("127.0.0.1", 1);
    const listen = { host: "127.0.0.1", port: port as number };
    const node = await startSolo(dataDir, listen);
    try {
      const { io, err } = capture();
      expect(await runCli(["kv", "--algo", "raft", "--cluster", `0=127.0.0.1:${port}`, "--timeout-ms", "1500", "get", "k"], io)).toBe(1);
      const refusals = err.join("").split("\n").filter((line) => line.includes("wrongProtocol"));
      expect(refusals).toHaveLength(1);
      expect(refusals[0]).toContain('it speaks "solo"');
    } finally {
      await node.stop();
    }
  });
});

describe("concord node and bad bytes on its port", () => {
  it("closes a connection that sends random bytes or an oversized frame, and keeps serving", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "concord-node-"));
    dirs.push(dataDir);
    const [port] = await freePorts("127.0.0.1", 1);
    const listen = { host: "127.0.0.1", port: port as number };
    const node = await startSolo(dataDir, listen);
    try {
      // Random bytes behind a length prefix of 32 (wholly random bytes would often start with a plausible length and
      // wait for the frame, to be closed only by the hello timeout), then a length prefix of 2^31 (varint), then a
      // frame of valid length that is no hello.
      for (const garbage of [Buffer.concat([Buffer.from([32]), randomBytes(4095)]), Buffer.from([0x80, 0x80, 0x80, 0x80, 0x08]), Buffer.from([5, 1, 2, 3, 4, 5])]) {
        const closed = await new Promise<boolean>((resolve) => {
          const socket = connect(listen.port, listen.host, () => socket.write(garbage));
          socket.on("data", () => {});
          socket.on("error", () => {});
          socket.on("close", () => resolve(true));
          setTimeout(() => {
            socket.destroy();
            resolve(false);
          }, 5_000);
        });
        expect(closed).toBe(true);
      }
      const clients = await soloClients(listen);
      const client = clients.newClient();
      expect((await clients.submit(client, encodeCommand({ type: "put", key: "after", value: new Uint8Array([1]) }), false)).kind).toBe("ok");
      await clients.close();
    } finally {
      await node.stop();
    }
  });
});
