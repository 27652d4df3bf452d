import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect as connectTcp } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { NodeId } from "@concord/core";
import { NamespaceNetwork, connectCluster, findAlgorithm, namespaceSupport, netnsLinkPrefix, netnsNamespacePrefix, removeStaleNetworks, reorderWireSupport, runLoad } from "@concord/lab";
import type { ClientHost, NodeStatusReport, PeerAddress } from "@concord/net";
import { runCli } from "../src/cli.ts";
import { testLauncher } from "./real-cluster-helpers.ts";

// Three Raft nodes, each in its own network namespace with its own address:
// three hosts on one LAN (a bridge), with the test process as a fourth
// machine on it (the bridge's own address). Nothing listens on 127.0.0.1, and
// every node listens on the same port of its own address, as on three
// machines. Partitions are nftables rules inside a node's namespace, which
// drop packets silently, as a cut network does.

const unsupported = await namespaceSupport({ nft: true });
const noReorderWire = reorderWireSupport();
if (unsupported === undefined && noReorderWire !== undefined) console.warn(`real-netns.test.ts: the reordering wire's test skipped: ${noReorderWire}`);
const port = 7000;
const algo = "raft";

interface NetnsCluster {
  readonly network: NamespaceNetwork;
  readonly peers: Map<NodeId, PeerAddress>;
  readonly clusterFlag: string;
  readonly secretFile: string;
  readonly logs: string[];
  readonly processes: Map<NodeId, ChildProcess>;
}

/** startNode runs `concord node` inside host `id`'s namespace, listening on that host's address, and resolves once it says it listens. */
function startNode(cluster: NetnsCluster, id: NodeId, dataDir: string): Promise<void> {
  const address = cluster.network.host(id).address;
  const { command, args } = testLauncher(["node", "--id", String(id), "--algo", algo, "--listen", `${address}:${port}`, "--peers", cluster.clusterFlag, "--data", join(dataDir, `node-${id}`), "--secret-file", cluster.secretFile]);
  const child = cluster.network.spawnIn(id, command, args, { stdio: ["ignore", "ignore", "pipe"] });
  cluster.processes.set(id, child);
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node ${id} did not start within 30 s:\n${cluster.logs.join("\n")}`)), 30_000);
    let buffered = "";
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      const lines = (buffered + chunk).split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) {
        cluster.logs.push(`[${id}] ${line}`);
        if (line.includes(" listening on ")) {
          clearTimeout(timer);
          resolve();
        }
      }
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`node ${id} exited (${signal ?? `code ${code}`}) before it listened:\n${cluster.logs.join("\n")}`));
    });
  });
}

/** stopNodes sends SIGTERM to every node (each syncs and closes) and waits for them, killing any that takes over 5 s. */
async function stopNodes(cluster: NetnsCluster): Promise<void> {
  await Promise.all(
    [...cluster.processes.values()].map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }),
  );
}

async function status(clients: ClientHost<unknown>, id: NodeId): Promise<NodeStatusReport | undefined> {
  const answer = await clients.admin(id, { op: "status" }, 1_000);
  return answer.ok ? answer.status : undefined;
}

async function until<T>(what: string, read: () => Promise<T | undefined>, timeoutMs: number, logs: readonly string[]): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    const value = await read().catch((error: unknown) => {
      last = error;
      return undefined;
    });
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last === undefined ? "" : ` (${String(last)})`}; node logs:\n${logs.slice(-30).join("\n")}`);
}

async function concord(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { stdout: (text) => void out.push(text), stderr: (text) => void err.push(text), readFile: () => "", writeFile: () => {} });
  return { code, stdout: out.join(""), stderr: err.join("") };
}

/** reaches tells whether a TCP connection to `host:port` gets the server's "pong" within `timeoutMs`. */
function reaches(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectTcp({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("data", (data) => done(data.toString() === "pong"));
    socket.once("error", () => done(false));
  });
}

/**
 * startListener runs a node script inside host `index`'s namespace that prints "up" when it listens and a line per
 * thing it receives; it resolves, once "up" is printed, with the array the later lines are pushed to.
 */
async function startListener(network: NamespaceNetwork, index: number, script: string, children: ChildProcess[]): Promise<string[]> {
  const listener = network.spawnIn(index, process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(listener);
  const received: string[] = [];
  let buffered = "";
  await new Promise<void>((resolve) => {
    listener.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      const lines = (buffered + chunk).split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) if (line === "up") resolve();
      else received.push(line);
    });
  });
  return received;
}

// A pinger for inside a host's namespace: one connection to $1:$2, and for each line "n" on its input, n one-byte round trips timed, printed as a JSON array of milliseconds.
const pingerScript = `
const socket = require("node:net").connect({ host: process.argv[1], port: Number(process.argv[2]), noDelay: true });
let queue = Promise.resolve();
const roundTrip = () => new Promise((resolve) => { const start = performance.now(); socket.once("data", () => resolve(performance.now() - start)); socket.write("x"); });
require("node:readline").createInterface({ input: process.stdin }).on("line", (line) => {
  queue = queue.then(async () => { const times = []; for (let i = 0; i < Number(line); i++) times.push(Math.round((await roundTrip()) * 10) / 10); console.log(JSON.stringify(times)); });
});
`;

// The same probe from inside a host's namespace, in bash (a node process would take longer to start than the probe lasts).
const probeScript = 'exec 3<>"/dev/tcp/$0/$1" && read -r -n 4 reply <&3 && [ "$reply" = pong ]';

describe("namespace networks (the plumbing)", () => {
  if (unsupported !== undefined) {
    it.skip(`skipped: this machine cannot make network namespaces: ${unsupported}`, () => {});
    return;
  }

  it("partitions, one-way cuts, loss and a downed link stop exactly the packets they name, and heal restores them", async () => {
    const network = await NamespaceNetwork.create({ hosts: 2 });
    try {
      const server = network.host(1);
      const child = network.spawnIn(1, process.execPath, ["-e", `require("node:net").createServer((s) => s.end("pong")).listen(9000, "${server.address}", () => console.log("up"))`], { stdio: ["ignore", "pipe", "inherit"] });
      await new Promise((resolve) => child.stdout?.once("data", resolve));
      // A dropped SYN is retried only after a second, so a probe that waits 400 ms tells a cut link; one expected through gets 3 s on a busy machine.
      const waitMs = (through: boolean): number => (through ? 3_000 : 400);
      const reachable = async (expected: { fromRoot: boolean; fromHost0: boolean }): Promise<void> => {
        const fromRoot = await reaches(server.address, 9000, waitMs(expected.fromRoot));
        const fromHost0 = await network.execIn(0, "timeout", [String(waitMs(expected.fromHost0) / 1000), "bash", "-c", probeScript, server.address, "9000"]).then(() => true, () => false);
        expect({ fromRoot, fromHost0 }).toEqual(expected);
      };
      await reachable({ fromRoot: true, fromHost0: true });
      await network.cut(0, 1);
      await reachable({ fromRoot: true, fromHost0: false });
      await network.heal();
      await reachable({ fromRoot: true, fromHost0: true });
      await network.partition([[0], [1]]);
      await reachable({ fromRoot: true, fromHost0: false });
      await network.heal();
      await network.setLoss(1, 100);
      await reachable({ fromRoot: false, fromHost0: false });
      await network.setLoss(1, 0);
      await network.setLinkUp(1, false);
      await reachable({ fromRoot: false, fromHost0: false });
      await network.setLinkUp(1, true);
      await reachable({ fromRoot: true, fromHost0: true });
    } finally {
      await network.destroy();
    }
    const names = `${execFileSync("ip", ["netns", "list"])}${execFileSync("ip", ["-o", "link", "show"])}`;
    expect(names).not.toContain(network.bridge);
    expect(names).not.toContain(network.host(0).namespace);
  }, 30_000);

  it("a delay set through the relays adds what it says to the round trip between two namespaces, on a connection made before it, each way, and is gone when cleared", async () => {
    const network = await NamespaceNetwork.create({ hosts: 2 });
    const children: ChildProcess[] = [];
    try {
      const server = network.host(1);
      const echo = network.spawnIn(1, process.execPath, ["-e", `require("node:net").createServer((s) => s.pipe(s)).listen(9000, "${server.address}", () => console.log("up"))`], { stdio: ["ignore", "pipe", "inherit"] });
      children.push(echo);
      await new Promise((resolve) => echo.stdout?.once("data", resolve));
      await network.startDelayRelays([9000], testLauncher);
      expect(network.delayMechanism).toBe("relay");
      // One connection from host 0, made before any delay: each line "n" on its input times n one-byte round trips on it.
      const pinger = network.spawnIn(0, process.execPath, ["-e", pingerScript, server.address, "9000"], { stdio: ["pipe", "pipe", "inherit"] });
      children.push(pinger);
      const answers: string[] = [];
      let wake: () => void = () => {};
      let buffered = "";
      pinger.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
        const lines = (buffered + chunk).split("\n");
        buffered = lines.pop() ?? "";
        answers.push(...lines);
        wake();
      });
      const roundTripsMs = async (count: number): Promise<number[]> => {
        pinger.stdin?.write(`${count}\n`);
        while (answers.length === 0) await new Promise<void>((resolve) => (wake = resolve));
        return JSON.parse(answers.shift() as string) as number[];
      };
      const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
      const before = await roundTripsMs(10);
      await network.takeDelayStats();
      // What host 0 sends waits 80 to 120 ms in host 1's relay; what host 1 answers, 40 to 60 ms more.
      await network.setDelay(0, { delayMs: 100, jitterMs: 20 });
      const oneWay = await roundTripsMs(10);
      await network.setDelay(1, { delayMs: 50, jitterMs: 10 });
      const bothWays = await roundTripsMs(10);
      const stats = await network.takeDelayStats();
      await network.setDelay(0, undefined);
      await network.setDelay(1, undefined);
      const after = await roundTripsMs(10);
      const figures = JSON.stringify({ before, oneWay, bothWays, after, stats });
      // Never less than the delay less its jitter (a chunk is never released early; 2 ms for the timers' rounding), and within a generous bound of the delay plus its jitter.
      expect(Math.min(...oneWay), figures).toBeGreaterThanOrEqual(78);
      expect(median(oneWay) - median(before), figures).toBeLessThan(120 + 500);
      expect(Math.min(...bothWays), figures).toBeGreaterThanOrEqual(78 + 38);
      expect(median(bothWays) - median(before), figures).toBeLessThan(180 + 500);
      expect(median(after) - median(before), figures).toBeLessThan(60);
      // The relays' own account: the 30 delayed chunks (ten pings of host 0's, then ten pings each way) each held no less than its delay less the jitter.
      expect(stats?.delayedChunks, figures).toBe(30);
      expect(stats?.addedMsMin, figures).toBeGreaterThanOrEqual(38);
      expect(stats?.addedMsMax, figures).toBeGreaterThanOrEqual(78);
    } finally {
      for (const child of children) child.kill("SIGKILL");
      await network.destroy();
    }
  }, 30_000);

  it("duplication sends a copy of each packet a host sends (UDP shows it), and nothing more once removed", async () => {
    const network = await NamespaceNetwork.create({ hosts: 2 });
    const children: ChildProcess[] = [];
    try {
      const receiver = network.host(1);
      // A UDP receiver that prints a line per datagram: UDP, unlike TCP, shows a duplicate to the application.
      const received = await startListener(network, 1, `const s = require("node:dgram").createSocket("udp4"); s.on("message", (m) => console.log(String(m))); s.bind(9001, "${receiver.address}", () => console.log("up"))`, children);
      const send = (tag: string): Promise<string> => network.execIn(0, process.execPath, ["-e", `const s = require("node:dgram").createSocket("udp4"); let n = 0; const next = () => n === 10 ? s.close() : s.send("${tag}" + n++, 9001, "${receiver.address}", next); next();`]);
      const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 500));
      await network.setDuplication(0, 100);
      await send("dup");
      await settle();
      await network.setDuplication(0, 0);
      await send("one");
      await settle();
      const count = (tag: string): number => received.filter((line) => line.startsWith(tag)).length;
      expect({ duplicated: count("dup"), single: count("one") }, received.join(" ")).toEqual({ duplicated: 20, single: 10 });
    } finally {
      for (const child of children) child.kill("SIGKILL");
      await network.destroy();
    }
  }, 30_000);

  it.skipIf(noReorderWire !== undefined)("the reordering wire makes a share of what a host sends arrive after later packets and a share twice (UDP shows both, TCP queues segments out of order and still delivers every byte), and nothing once cleared", async () => {
    const network = await NamespaceNetwork.create({ hosts: 2 });
    const children: ChildProcess[] = [];
    try {
      const receiver = network.host(1);
      await network.startReorderWires();
      expect(network.reorderMechanism).toBe("wire");
      // A UDP receiver that prints each datagram's number, and a TCP one that prints how many bytes it read and their hash at each connection's end.
      const received = await startListener(network, 1, `
        const udp = require("node:dgram").createSocket("udp4");
        udp.on("message", (m) => console.log(String(m)));
        udp.bind(9001, "${receiver.address}", () => require("node:net").createServer((s) => {
          const hash = require("node:crypto").createHash("sha256"); let bytes = 0;
          s.on("data", (d) => { hash.update(d); bytes += d.length; });
          s.on("end", () => { console.log("tcp " + bytes + " " + hash.digest("hex")); s.end(); });
        }).listen(9002, "${receiver.address}", () => console.log("up")));`, children);
      // 400 datagrams a millisecond apart (datagram n is "<tag> n"), then a 300 ms wait, longer than any hold.
      const sendDatagrams = async (tag: string): Promise<{ received: number; distinct: number; afterALaterOne: number }> => {
        await network.execIn(0, process.execPath, ["-e", `const s = require("node:dgram").createSocket("udp4"); let n = 0; const next = () => n === 400 ? setTimeout(() => s.close(), 300) : s.send("${tag} " + n++, 9001, "${receiver.address}", () => setTimeout(next, 1)); next();`]);
        const numbers = received.filter((line) => line.startsWith(`${tag} `)).map((line) => Number(line.slice(tag.length + 1)));
        let highest = -1;
        let afterALaterOne = 0;
        for (const number of numbers) {
          if (number < highest) afterALaterOne++;
          highest = Math.max(highest, number);
        }
        return { received: numbers.length, distinct: new Set(numbers).size, afterALaterOne };
      };
      const before = await sendDatagrams("calm");
      await network.takeWireStats();
      // A quarter of what host 0 sends held for 1 to 20 ms, a fifth of those (5% of all) written twice.
      await network.setDelay(0, { delayMs: 0, jitterMs: 20, reorderPercent: 25, duplicatePercent: 5 });
      const disordered = await sendDatagrams("wire");
      const udpStats = await network.takeWireStats();
      // 4 MiB of a pattern that does not repeat within a window, made the same way on both sides.
      const payload = Buffer.alloc(4 * 1024 * 1024).map((_, i) => (i * 7 + (i >>> 10)) & 255);
      await network.execIn(0, process.execPath, ["-e", `const s = require("node:net").connect(9002, "${receiver.address}", () => s.end(Buffer.alloc(4 * 1024 * 1024).map((_, i) => (i * 7 + (i >>> 10)) & 255))); s.resume();`]);
      const expectedTcp = `tcp ${payload.length} ${createHash("sha256").update(payload).digest("hex")}`;
      await until("the TCP receiver to read the stream's end", async () => (received.includes(expectedTcp) ? true : undefined), 10_000, received);
      await network.setDelay(0, undefined);
      // The packets held when the rule went are let go within the hold.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const tcpStats = await network.takeWireStats();
      const after = await sendDatagrams("cleared");
      const afterStats = await network.takeWireStats();
      const figures = JSON.stringify({ before, disordered, udpStats, tcpStats, after, afterStats });
      // Calm and cleared: every datagram once, in order.
      expect(before, figures).toEqual({ received: 400, distinct: 400, afterALaterOne: 0 });
      expect(after, figures).toEqual({ received: 400, distinct: 400, afterALaterOne: 0 });
      expect(afterStats?.heldPackets, figures).toBe(0);
      // Through the wire: some datagrams after later ones, some twice (about 100 and 20 expected), and the wire's account agrees.
      expect(disordered.distinct, figures).toBeGreaterThanOrEqual(390);
      expect(disordered.afterALaterOne, figures).toBeGreaterThan(10);
      expect(disordered.received - disordered.distinct, figures).toBeGreaterThan(2);
      expect(udpStats?.heldPackets, figures).toBeGreaterThan(40);
      expect(udpStats?.duplicatedPackets, figures).toBeGreaterThan(2);
      expect(udpStats?.heldMsMin, figures).toBeGreaterThanOrEqual(1);
      expect(udpStats?.heldMsMean, figures).toBeLessThan(20 + 50);
      // TCP: every byte, in order, and the receiving kernel queued segments that arrived out of order.
      expect(tcpStats?.heldPackets, figures).toBeGreaterThan(100);
      expect(tcpStats?.outOfOrderSegments, figures).toBeGreaterThan(0);
    } finally {
      for (const child of children) child.kill("SIGKILL");
      await network.destroy();
    }
    const names = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
    expect(names).not.toContain(network.host(0).namespace);
  }, 30_000);

  it("a network left by a dead process is removed at the next start; a live process's is kept", async () => {
    const dead = spawn(process.execPath, ["-e", ""]);
    const deadPid = await new Promise<number>((resolve) => dead.once("exit", () => resolve(dead.pid ?? 0)));
    const stale = [`${netnsNamespacePrefix}${deadPid.toString(36)}-zz-0`, `${netnsLinkPrefix}${deadPid.toString(36)}-zz`];
    const live = [`${netnsNamespacePrefix}${process.pid.toString(36)}-zz-0`, `${netnsLinkPrefix}${process.pid.toString(36)}-zz`];
    try {
      for (const [namespace, link] of [stale, live]) {
        execFileSync("ip", ["netns", "add", namespace as string]);
        execFileSync("ip", ["link", "add", link as string, "type", "bridge"]);
      }
      await removeStaleNetworks();
      const names = `${execFileSync("ip", ["netns", "list"])}${execFileSync("ip", ["-o", "link", "show"])}`;
      expect(names).not.toContain(stale[0]);
      expect(names).not.toContain(`${stale[1]}:`);
      expect(names).toContain(live[0]);
      expect(names).toContain(`${live[1]}:`);
    } finally {
      for (const [namespace, link] of [stale, live]) {
        spawnSync("ip", ["netns", "delete", namespace as string]);
        spawnSync("ip", ["link", "delete", link as string]);
      }
    }
  });
});

describe("a cluster across network namespaces (three hosts on a bridge)", () => {
  if (unsupported !== undefined) {
    console.warn(`real-netns.test.ts skipped: ${unsupported}`);
    it.skip(`skipped: this machine cannot make network namespaces: ${unsupported}`, () => {});
    return;
  }

  it("raft serves linearizably from three addresses, keeps serving on the majority side of a partition, and the cut-off node catches up after the heal", async () => {
    const algorithm = findAlgorithm(algo);
    if (algorithm === undefined) throw new Error(algo);
    const dataDir = mkdtempSync(join(tmpdir(), "concord-netns-"));
    const network = await NamespaceNetwork.create({ hosts: 3 });
    const peers = new Map(network.hosts.map((host) => [host.index, { host: host.address, port }] as const));
    const cluster: NetnsCluster = {
      network,
      peers,
      clusterFlag: [...peers].map(([id, address]) => `${id}=${address.host}:${address.port}`).join(","),
      secretFile: join(dataDir, "secret"),
      logs: [],
      processes: new Map(),
    };
    writeFileSync(cluster.secretFile, randomBytes(32), { mode: 0o600 });
    const secret = new Uint8Array(readFileSync(cluster.secretFile));
    const opened: ClientHost<unknown>[] = [];
    const connect = async (ids: readonly NodeId[]): Promise<ClientHost<unknown>> => {
      const host = await connectCluster({ algorithm, cluster: new Map([...peers].filter(([id]) => ids.includes(id))), options: {}, secret });
      opened.push(host);
      return host;
    };
    try {
      await Promise.all([...peers.keys()].map((id) => startNode(cluster, id, dataDir)));
      const everyone = await connect([...peers.keys()]);
      const firstLeader = await until("a leader", async () => {
        const reports = await Promise.all([...peers.keys()].map((id) => status(everyone, id)));
        return reports.find((report) => report?.role === "leader");
      }, 20_000, cluster.logs);

      // `concord kv` from the fourth machine, as an operator would run it.
      const flags = ["--algo", algo, "--cluster", cluster.clusterFlag, "--secret-file", cluster.secretFile];
      const put = await concord(["kv", ...flags, "put", "greeting", "hello from the bridge"]);
      expect(put.code, put.stderr).toBe(0);
      const get = await concord(["kv", ...flags, "get", "greeting"]);
      expect(get.code, get.stderr).toBe(0);
      expect(get.stdout).toContain("hello from the bridge");
      const clusterStatus = await concord(["kv", ...flags, "status"]);
      expect(clusterStatus.code, clusterStatus.stderr).toBe(0);
      const nodes = (JSON.parse(clusterStatus.stdout) as { nodes: NodeStatusReport[] }).nodes;
      expect(nodes.map((node) => node.id)).toEqual([0, 1, 2]);
      expect(nodes.filter((node) => node.role === "leader")).toHaveLength(1);

      const before = await runLoad(everyone, { clients: 6, seconds: 2, semantics: algorithm.kvSemantics ?? "kv", keys: 4, seed: 11 });
      expect(before.check, cluster.logs.slice(-20).join("\n")).toBe("linearizable");
      expect(before.ops.completed).toBeGreaterThan(20);

      // Each pair of nodes is connected from the dialing node's own address (the lower id dials), not from loopback.
      for (const [id, address] of peers) {
        for (const [lower, lowerAddress] of peers) {
          if (lower < id) expect(cluster.logs.some((line) => line.startsWith(`[${id}] `) && line.includes(`connected from node ${lower} (${lowerAddress.host}:`)), `node ${id} saw node ${lower} connect from ${lowerAddress.host}`).toBe(true);
        }
        expect(address.host).not.toMatch(/^127\./);
      }

      // Cut the leader off from the other two hosts (not from this machine, so that it can still be asked for its status).
      const cutOff = firstLeader.id;
      const majority = [...peers.keys()].filter((id) => id !== cutOff);
      await network.isolate(cutOff);
      // Check-quorum: a leader that hears from no quorum for an election timeout steps down (Raft thesis §6.2).
      const steppedDown = await until("the cut-off leader to step down", async () => {
        const report = await status(everyone, cutOff);
        return report !== undefined && report.role !== "leader" ? report : undefined;
      }, 10_000, cluster.logs);
      const newLeader = await until("a leader on the majority side", async () => {
        const reports = await Promise.all(majority.map((id) => status(everyone, id)));
        return reports.find((report) => report?.role === "leader" && report.epoch > firstLeader.epoch);
      }, 10_000, cluster.logs);

      const majorityClients = await connect(majority);
      const watched: NodeStatusReport[] = [];
      let loading = true;
      const watching = (async () => {
        while (loading) {
          const report = await status(everyone, cutOff);
          if (report !== undefined) watched.push(report);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      })();
      const during = await runLoad(majorityClients, { clients: 6, seconds: 2, semantics: algorithm.kvSemantics ?? "kv", keys: 4, seed: 12 });
      loading = false;
      await watching;
      expect(during.check, cluster.logs.slice(-20).join("\n")).toBe("linearizable");
      expect(during.ops.completed).toBeGreaterThan(20);
      // The minority side neither leads nor learns of a commit while it is cut off.
      expect(watched.length).toBeGreaterThan(3);
      expect(watched.filter((report) => report.role === "leader")).toEqual([]);
      expect(Math.max(...watched.map((report) => report.commitIndex))).toBe(steppedDown.commitIndex);
      const majorityCommit = (await status(everyone, newLeader.id))?.commitIndex ?? 0;
      // About 60% of the default mix are writes, each an entry; reads add none.
      expect(majorityCommit).toBeGreaterThan(steppedDown.commitIndex + during.ops.completed / 4);

      // Heal: the cut-off node learns of the new term and applies everything committed without it.
      await network.heal();
      await until("the cut-off node to catch up", async () => {
        const report = await status(everyone, cutOff);
        return report !== undefined && report.role === "follower" && report.leader !== null && report.appliedIndex >= majorityCommit ? report : undefined;
      }, 20_000, cluster.logs);
      const after = await concord(["kv", ...flags, "get", "greeting"]);
      expect(after.stdout).toContain("hello from the bridge");
    } finally {
      await Promise.all(opened.map((host) => host.close()));
      await stopNodes(cluster);
      await network.destroy();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
