// Behaviour of the TCP transport on 127.0.0.1: connections between nodes and
// from client dialers, ordering, routing, bounded queues, reconnection,
// coalescing, backpressure, and refusing what is not a frame of this protocol.
import { afterEach, describe, expect, test } from "vitest";
import net from "node:net";
import { TcpTransport, type TransportCounters } from "@concord/net";
import { encodeEnvelopes, encodeHello, protocolName, wireVersion } from "../src/transport-codec.ts";
import { addressBook, bytes, closeAll, cluster, connected, fastLimits, listenNode, waitFor, type Received, type TestNode } from "./transport-helpers.ts";

const open: (TcpTransport | undefined)[] = [];
const sockets: net.Socket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await closeAll(open.splice(0));
});

async function started(ids: number[], options: Parameters<typeof cluster>[1] = {}): Promise<TestNode[]> {
  const nodes = await cluster(ids, options);
  open.push(...nodes.map((node) => node.transport));
  return nodes;
}

function texts(received: readonly Received[], from: number): string[] {
  return received.filter((frame) => frame.from === from).map((frame) => frame.text);
}

function refusedTotal(counters: TransportCounters): number {
  return Object.values(counters.refused).reduce((sum, count) => sum + count, 0);
}

/** rawSocket connects a plain socket to a node, for sending bytes no transport would send. */
async function rawSocket(node: TestNode): Promise<net.Socket> {
  const socket = net.connect(node.transport.address!.port, "127.0.0.1");
  sockets.push(socket);
  socket.on("error", () => {});
  // Read (and ignore) what the node answers, so that its end of the connection is seen.
  socket.resume();
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  return socket;
}

/** closedBy waits until the node has closed the raw socket (failing after a few seconds, not the test's two minutes). */
function closedBy(socket: net.Socket): Promise<void> {
  return waitFor("the node to close the raw connection", () => socket.closed);
}

describe("three listening nodes", () => {
  test("exchange frames both ways over one connection per pair, in order per pair", async () => {
    const nodes = await started([1, 2, 3]);
    await connected(nodes);
    const perPair = 200;
    for (let i = 0; i < perPair; i++) {
      for (const sender of nodes) {
        for (const receiver of nodes) if (receiver !== sender) expect(sender.transport.send(sender.id, receiver.id, bytes(`${sender.id}>${receiver.id}#${i}`))).toBe(true);
      }
    }
    await waitFor("every frame", () => nodes.every((node) => node.received.length === 2 * perPair));
    for (const receiver of nodes) {
      for (const sender of nodes) {
        if (sender === receiver) continue;
        const expected = Array.from({ length: perPair }, (_, i) => `${sender.id}>${receiver.id}#${i}`);
        expect(texts(receiver.received, sender.id)).toEqual(expected);
      }
      expect(receiver.received.every((frame) => frame.to === receiver.id)).toBe(true);
    }
    // One connection per pair: each node took part in exactly two (one per other node), none replaced or refused.
    for (const node of nodes) {
      expect(node.transport.counters.connectionsOpened).toBe(2);
      expect(node.transport.counters.connectionsReplaced).toBe(0);
      expect(refusedTotal(node.transport.counters)).toBe(0);
    }
    // The lower id dials: node 1 dials two, node 2 one, node 3 none.
    expect(nodes.map((node) => node.transport.counters.dials)).toEqual([2, 1, 0]);
  });

  test("a node queues for a lower peer until it dials in, and sends to a higher one it dials", async () => {
    const low = await listenNode(1);
    const high = await listenNode(2);
    open.push(low.transport, high.transport);
    // Only the higher node knows its peer yet: it must wait to be dialed, queueing meanwhile.
    high.transport.setPeers(addressBook([low, high]));
    expect(high.transport.send(2, 1, bytes("early"))).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(high.transport.counters.dials).toBe(0);
    low.transport.setPeers(addressBook([low, high]));
    await waitFor("the queued frame", () => low.received.length === 1);
    expect(low.received[0]).toEqual({ from: 2, to: 1, text: "early" });
  });

  test("frames for a node that is not a peer, or too large, are dropped and counted", async () => {
    const [a] = await started([1, 2], { limits: { frameBytesMax: 1_024 } });
    expect(a!.transport.send(1, 7, bytes("nobody"))).toBe(false);
    expect(a!.transport.send(1, 1_000_123, bytes("no such client"))).toBe(false);
    expect(a!.transport.counters.dropped.unknownDestination).toBe(2);
    expect(a!.transport.send(1, 2, new Uint8Array(2_000))).toBe(false);
    expect(a!.transport.counters.dropped.oversized).toBe(1);
    expect(() => a!.transport.send(3, 2, bytes("as another node"))).toThrow(/cannot send as 3/);
  });
});

describe("a client dialer", () => {
  test("carries frames of many client ids over one connection per replica, and gets each reply routed back", async () => {
    const echo = (node: TestNode, from: number, _to: number, payload: Uint8Array): void => {
      node.transport.send(node.id, from, new Uint8Array([...payload, ...bytes(` from ${node.id}`)]));
    };
    const nodes = await started([1, 2], { onFrame: echo });
    await connected(nodes);
    const replies: Received[] = [];
    const dialer = TcpTransport.dialer({
      protocol: "raft",
      peers: addressBook(nodes),
      onFrame: (from, to, payload) => replies.push({ from, to, text: new TextDecoder().decode(payload) }),
      limits: fastLimits,
    });
    open.push(dialer);
    const clients = [1_000_000, 1_000_001, 1_000_002, 1_000_063];
    for (const client of clients) {
      for (const node of nodes) expect(dialer.send(client, node.id, bytes(`hi ${client}`))).toBe(true);
    }
    await waitFor("every reply", () => replies.length === clients.length * nodes.length);
    for (const client of clients) {
      const mine = replies.filter((reply) => reply.to === client).map((reply) => reply.text);
      expect(mine.sort()).toEqual([`hi ${client} from 1`, `hi ${client} from 2`]);
    }
    expect(dialer.counters.connectionsOpened).toBe(2);
    expect(dialer.connectedPeers()).toEqual([1, 2]);
    // A dialer sends as clients only.
    expect(() => dialer.send(5, 1, bytes("as a replica"))).toThrow(/client ids/);
    // Once the dialer is gone, its clients are unknown to the node.
    await dialer.close();
    await waitFor("the node to forget the client", () => {
      const node = nodes[0]!.transport;
      return !node.send(1, 1_000_001, bytes("late")) && node.counters.dropped.unknownDestination > 0;
    });
  });
});

describe("reconnection and bounded queues", () => {
  test("a restarted higher peer is redialed and gets the frames queued meanwhile, up to the bound; the rest are dropped and counted", async () => {
    const limits = { queueFramesMax: 50 };
    const [low, high] = await started([1, 2], { limits });
    await connected([low!, high!]);
    const port = high!.transport.address!.port;
    await high!.transport.close();
    await waitFor("node 1 to see node 2 gone", () => !low!.transport.connectedPeers().includes(2));
    const accepted = Array.from({ length: 80 }, (_, i) => low!.transport.send(1, 2, bytes(`queued#${i}`)));
    expect(accepted.filter(Boolean)).toHaveLength(50);
    expect(low!.transport.counters.dropped.queueFull).toBe(30);
    await listenNode(2, { port, limits }, high);
    open.push(high!.transport);
    high!.transport.setPeers(addressBook([low!, high!]));
    await waitFor("the queued frames", () => high!.received.length === 50);
    expect(texts(high!.received, 1)).toEqual(Array.from({ length: 50 }, (_, i) => `queued#${i}`));
    expect(low!.transport.counters.reconnects).toBeGreaterThan(0);
  });

  test("a restarted lower peer dials in again and gets what the higher one queued", async () => {
    const [low, high] = await started([1, 2]);
    await connected([low!, high!]);
    const port = low!.transport.address!.port;
    await low!.transport.close();
    await waitFor("node 2 to see node 1 gone", () => !high!.transport.connectedPeers().includes(1));
    for (let i = 0; i < 10; i++) expect(high!.transport.send(2, 1, bytes(`while down #${i}`))).toBe(true);
    low!.received.length = 0;
    await listenNode(1, { port }, low);
    open.push(low!.transport);
    low!.transport.setPeers(addressBook([low!, high!]));
    await waitFor("the queued frames", () => low!.received.length === 10);
    expect(texts(low!.received, 2)).toEqual(Array.from({ length: 10 }, (_, i) => `while down #${i}`));
  });

  test("redials of a peer that stays down back off", async () => {
    const [low] = await started([1, 2]);
    await open[1]!.close();
    // With back-off from 10 ms up to 40 ms, 300 ms hold about a dozen dials; redialing at once would make hundreds.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const { dials, dialFailures } = low!.transport.counters;
    expect(dials).toBeGreaterThanOrEqual(3);
    expect(dials).toBeLessThanOrEqual(40);
    expect(dialFailures).toBeGreaterThanOrEqual(dials - 1);
    // The log says so once, not at every dial.
    expect(low!.log.filter((line) => line.includes("cannot connect")).length).toBeLessThanOrEqual(2);
  });

  test("the queue of a peer that is down is bounded in bytes too", async () => {
    const [low] = await started([1, 2], { limits: { queueBytesMax: 10 * 1_024, queueFramesMax: 1_000 } });
    // Node 2 never existed at that address: close it first.
    await open[1]!.close();
    const sent = Array.from({ length: 100 }, () => low!.transport.send(1, 2, new Uint8Array(1_024)));
    expect(sent.filter(Boolean)).toHaveLength(10);
    expect(low!.transport.counters.dropped.queueFull).toBe(90);
  });

  test("setPeers drops a removed peer's queue and redials a moved one", async () => {
    const [low, high] = await started([1, 2]);
    await connected([low!, high!]);
    const moved = await listenNode(2);
    open.push(moved.transport);
    moved.transport.setPeers(addressBook([low!, moved]));
    low!.transport.setPeers(addressBook([low!, moved]));
    await waitFor("node 1 connected to the moved node 2", () => moved.transport.connectedPeers().includes(1));
    expect(low!.transport.send(1, 2, bytes("to the new place"))).toBe(true);
    await waitFor("the frame at the new address", () => moved.received.length === 1);
    expect(high!.received).toHaveLength(0);
    low!.transport.setPeers(new Map([[1, low!.transport.address!]]));
    expect(low!.transport.send(1, 2, bytes("gone"))).toBe(false);
    expect(low!.transport.connectedPeers()).toEqual([]);
  });
});

describe("write coalescing and backpressure", () => {
  test("1,000 frames sent in one turn go out in a few socket writes", async () => {
    const [a, b] = await started([1, 2]);
    await connected([a!, b!]);
    const writesBefore = a!.transport.counters.writes;
    for (let i = 0; i < 1_000; i++) a!.transport.send(1, 2, bytes(`frame ${i}`));
    await waitFor("every frame", () => b!.received.length === 1_000);
    const writes = a!.transport.counters.writes - writesBefore;
    expect(writes).toBeGreaterThanOrEqual(1);
    expect(writes).toBeLessThanOrEqual(2);
    expect(a!.transport.counters.framesSent).toBe(1_000);
    expect(b!.received.map((frame) => frame.text)).toEqual(Array.from({ length: 1_000 }, (_, i) => `frame ${i}`));
  });

  test("flushNow writes what this turn queued at once, in one write", async () => {
    const [a, b] = await started([1, 2]);
    await connected([a!, b!]);
    const writesBefore = a!.transport.counters.writes;
    for (let i = 0; i < 10; i++) a!.transport.send(1, 2, bytes(`now ${i}`));
    expect(a!.transport.counters.framesSent).toBe(0);
    a!.transport.flushNow();
    expect(a!.transport.counters.framesSent).toBe(10);
    expect(a!.transport.counters.writes - writesBefore).toBe(1);
    await waitFor("the frames", () => b!.received.length === 10);
  });

  test("a peer that does not read makes the sender stop writing and drop beyond its queue, then catch up when it reads", async () => {
    // A fake node 2 that answers the hello and then reads nothing until told.
    let peerSocket: net.Socket | undefined;
    let receivedBytes = 0;
    const fake = net.createServer((socket) => {
      peerSocket = socket;
      socket.once("data", () => {
        socket.write(encodeHello({ version: wireVersion, protocol: "raft", nodeId: 2, client: false }));
        socket.pause();
        socket.on("data", (chunk: Buffer) => (receivedBytes += chunk.length));
      });
    });
    await new Promise<void>((resolve) => fake.listen(0, "127.0.0.1", () => resolve()));
    const a = await listenNode(1, { limits: { queueFramesMax: 64 } });
    open.push(a.transport);
    a.transport.setPeers(new Map([[2, { host: "127.0.0.1", port: (fake.address() as net.AddressInfo).port }]]));
    await waitFor("connected to the fake node", () => a.transport.connectedPeers().includes(2));
    const payload = new Uint8Array(64 * 1_024);
    let accepted = 0;
    // Offer 64 MiB in rounds, one round per turn; a sender that ignored write()'s verdict would buffer it all.
    for (let round = 0; round < 64; round++) {
      for (let i = 0; i < 16; i++) if (a.transport.send(1, 2, payload)) accepted += 1;
      await new Promise((resolve) => setImmediate(resolve));
    }
    const counters = a.transport.counters;
    expect(counters.dropped.queueFull).toBeGreaterThan(0);
    expect(counters.dropped.queueFull + accepted).toBe(64 * 16);
    expect(counters.framesSent).toBeLessThan(accepted);
    peerSocket!.resume();
    await waitFor("every accepted frame written", () => a.transport.counters.framesSent === accepted, 10_000);
    await waitFor("the bytes at the peer", () => receivedBytes >= accepted * payload.length);
    peerSocket!.destroy();
    await new Promise<void>((resolve) => fake.close(() => resolve()));
  });
});

describe("frames queued when a connection dies", () => {
  test("stay queued for the next connection: only what was already written is lost", async () => {
    // A fake node 2 that answers the hello and reads nothing, so that frames pile up in node 1's queue.
    const sockets: net.Socket[] = [];
    const fake = net.createServer((socket) => {
      sockets.push(socket);
      socket.once("data", () => {
        socket.write(encodeHello({ version: wireVersion, protocol: "raft", nodeId: 2, client: false }));
        socket.pause();
      });
    });
    await new Promise<void>((resolve) => fake.listen(0, "127.0.0.1", () => resolve()));
    const port = (fake.address() as net.AddressInfo).port;
    const a = await listenNode(1, { limits: { queueFramesMax: 4_096 } });
    open.push(a.transport);
    a.transport.setPeers(new Map([[2, { host: "127.0.0.1", port }]]));
    await waitFor("connected to the fake node", () => a.transport.connectedPeers().includes(2));
    const payload = (i: number): Uint8Array => {
      const numbered = new Uint8Array(16 * 1_024);
      numbered.set(bytes(`#${i} `));
      return numbered;
    };
    let sent = 0;
    while (a.transport.counters.framesSent === sent) {
      // Until a write is refused, everything goes out; after, the queue holds the rest.
      for (let i = 0; i < 64; i++) a.transport.send(1, 2, payload(sent++));
      await new Promise((resolve) => setImmediate(resolve));
    }
    for (let i = 0; i < 64; i++) a.transport.send(1, 2, payload(sent++));
    const written = a.transport.counters.framesSent;
    expect(written).toBeLessThan(sent);
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => fake.close(() => resolve()));
    const b = await listenNode(2, { port });
    open.push(b.transport);
    b.transport.setPeers(new Map([[1, a.transport.address!]]));
    await waitFor("the queued frames at the real node 2", () => b.received.length === sent - written);
    expect(b.received.map((frame) => frame.text.split(" ", 1)[0])).toEqual(Array.from({ length: sent - written }, (_, i) => `#${written + i}`));
  });
});

describe("refusing what is not a frame of this protocol", () => {
  test("random bytes close that connection and the node keeps serving its peers", async () => {
    const [a, b] = await started([1, 2]);
    await connected([a!, b!]);
    const socket = await rawSocket(b!);
    // Length 5, then a tag varint that never ends.
    socket.write(Buffer.from([0x05, 0xff, 0xff, 0xff, 0xff, 0xff]));
    await closedBy(socket);
    expect(b!.transport.counters.refused.badFrame).toBe(1);
    expect(b!.log.some((line) => line.includes("badFrame"))).toBe(true);
    a!.transport.send(1, 2, bytes("still there?"));
    await waitFor("a frame after the garbage", () => b!.received.length === 1);
  });

  test("an oversized length prefix closes that connection before any of its body arrives", async () => {
    const [a, b] = await started([1, 2], { limits: { frameBytesMax: 4_096 } });
    await connected([a!, b!]);
    const socket = await rawSocket(b!);
    // A prefix of 2^31 and nothing after it: the node must not wait for (or allocate) 2 GiB.
    socket.write(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x08]));
    await closedBy(socket);
    expect(b!.transport.counters.refused.oversized).toBe(1);
    a!.transport.send(1, 2, bytes("still there?"));
    await waitFor("a frame after the oversized prefix", () => b!.received.length === 1);
  });

  test("a connection must start with a hello, from a peer that dials the right way", async () => {
    const [, b] = await started([1, 2, 3]);
    const protocol = protocolName("raft");
    const attempts: { bytes: Uint8Array; counter: keyof TransportCounters["refused"] }[] = [
      { bytes: encodeEnvelopes([{ from: 1, to: 2, payload: bytes("no hello") }], protocol.utf8), counter: "badHello" },
      { bytes: encodeHello({ version: wireVersion, protocol: "raft", nodeId: 3, client: false }), counter: "badHello" },
      { bytes: encodeHello({ version: wireVersion, protocol: "raft", nodeId: 2, client: false }), counter: "badHello" },
      { bytes: encodeHello({ version: wireVersion, protocol: "raft", nodeId: 9, client: false }), counter: "unauthorized" },
      { bytes: encodeHello({ version: wireVersion + 1, protocol: "raft", nodeId: 1, client: false }), counter: "wrongProtocol" },
    ];
    for (const attempt of attempts) {
      const before = b!.transport.counters.refused[attempt.counter];
      const socket = await rawSocket(b!);
      socket.write(attempt.bytes);
      await closedBy(socket);
      expect(b!.transport.counters.refused[attempt.counter]).toBe(before + 1);
    }
    expect(b!.received).toHaveLength(0);
  });

  test("a connection that sends no hello is closed after helloTimeoutMs", async () => {
    const [b] = await started([2], { limits: { helloTimeoutMs: 100 } });
    const socket = await rawSocket(b!);
    await closedBy(socket);
    expect(b!.transport.counters.refused.helloTimeout).toBe(1);
  });

  test("a peer may not send as another node or to another node", async () => {
    const [, b] = await started([1, 2, 3]);
    // Wait for node 1's own connection to settle, so the raw one replaces it.
    await waitFor("node 2 connected", () => b!.transport.connectedPeers().length === 2);
    const protocol = protocolName("raft");
    for (const envelope of [
      { from: 3, to: 2, payload: bytes("spoofed sender") },
      { from: 1, to: 3, payload: bytes("misaddressed") },
    ]) {
      const socket = await rawSocket(b!);
      socket.write(encodeHello({ version: wireVersion, protocol: "raft", nodeId: 1, client: false }));
      socket.write(encodeEnvelopes([envelope], protocol.utf8));
      await closedBy(socket);
    }
    expect(b!.transport.counters.refused.badFrame).toBe(2);
    expect(b!.received).toHaveLength(0);
  });

  test("a newer connection from a peer replaces the older one, which is closed", async () => {
    const [a, b] = await started([1, 2]);
    await connected([a!, b!]);
    const socket = await rawSocket(b!);
    socket.write(encodeHello({ version: wireVersion, protocol: "raft", nodeId: 1, client: false }));
    // Node 2 closes node 1's connection for the newer one; node 1 redials, and its connection replaces the raw one.
    await waitFor("node 1 to lose its connection", () => a!.transport.counters.connectionsClosed >= 1);
    await closedBy(socket);
    expect(b!.transport.counters.connectionsReplaced).toBe(2);
    await connected([a!, b!]);
    a!.transport.send(1, 2, bytes("after the replacement"));
    await waitFor("a frame on the newest connection", () => b!.received.length === 1);
  });

  test("nodes and dialers of another protocol are refused, counted and logged on both sides", async () => {
    const raft = await listenNode(1, { protocol: "raft" });
    const pbft = await listenNode(2, { protocol: "pbft" });
    open.push(raft.transport, pbft.transport);
    raft.transport.setPeers(addressBook([raft, pbft]));
    pbft.transport.setPeers(addressBook([raft, pbft]));
    raft.transport.send(1, 2, bytes("raft speaking"));
    await waitFor("the refusal on both sides", () => pbft.transport.counters.refused.wrongProtocol > 0 && raft.transport.counters.refused.wrongProtocol > 0);
    expect(pbft.log.some((line) => line.includes('it speaks "raft"'))).toBe(true);
    const dialer = TcpTransport.dialer({ protocol: "paxos", peers: addressBook([pbft]), onFrame: () => {}, limits: fastLimits });
    open.push(dialer);
    const before = pbft.transport.counters.refused.wrongProtocol;
    dialer.send(1_000_000, 2, bytes("paxos speaking"));
    await waitFor("the dialer refused", () => pbft.transport.counters.refused.wrongProtocol > before);
    expect(pbft.received).toHaveLength(0);
    expect(raft.transport.connectedPeers()).toEqual([]);
  });
});

describe("close", () => {
  test("ends every socket and timer, and refuses to send after", async () => {
    const [a, b] = await started([1, 2]);
    await connected([a!, b!]);
    a!.transport.send(1, 2, bytes("last words"));
    await a!.transport.close();
    await waitFor("the last frame", () => b!.received.length === 1);
    expect(a!.transport.send(1, 2, bytes("after close"))).toBe(false);
    expect(a!.transport.counters.dropped.closed).toBe(1);
    await waitFor("node 2 to see node 1 gone", () => b!.transport.connectedPeers().length === 0);
  });

  test("a port in use, or a peer list naming a client id, makes listen fail and leaves nothing bound", async () => {
    const [a] = await started([1]);
    await expect(TcpTransport.listen({ self: 2, protocol: "raft", listen: a!.transport.address!, peers: new Map(), onFrame: () => {} })).rejects.toThrow(/EADDRINUSE/);
    const free = await listenNode(3);
    const port = free.transport.address!.port;
    await free.transport.close();
    const badPeers = new Map([[1_000_000, { host: "127.0.0.1", port: 1 }]]);
    await expect(TcpTransport.listen({ self: 3, protocol: "raft", listen: { host: "127.0.0.1", port }, peers: badPeers, onFrame: () => {} })).rejects.toThrow(/not a replica id/);
    const again = await listenNode(3, { port });
    open.push(again.transport);
    expect(again.transport.address!.port).toBe(port);
  });
});
