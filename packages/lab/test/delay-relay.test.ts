import { type AddressInfo, type Server, createServer, connect } from "node:net";
import { describe, expect, it } from "vitest";
import { DelayRelay, relayPortOffset } from "@concord/lab";

// The delaying relay on loopback, without namespaces or nftables: a client
// dials the relay's port itself. What namespaces add (the redirect, a delay
// per sending host) is tested with real namespaces in the CLI's
// real-netns.test.ts.

/** echoServerWithFreeRelayPort starts an echo server on a port whose relay port is free too. */
async function echoServerWithFreeRelayPort(): Promise<{ server: Server; port: number }> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const server = createServer((socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    const port = (server.address() as AddressInfo).port;
    if (port + relayPortOffset <= 65_535) {
      const probe = createServer();
      const free = await new Promise<boolean>((resolve) => {
        probe.once("error", () => resolve(false));
        probe.listen(port + relayPortOffset, "127.0.0.1", () => probe.close(() => resolve(true)));
      });
      if (free) return { server, port };
    }
    server.close();
  }
  throw new Error("no port p with p + relayPortOffset free");
}

describe("DelayRelay", () => {
  it("passes a stream through whole and in order while every chunk draws its own delay, and passes the end on after the last chunk", async () => {
    const { server, port } = await echoServerWithFreeRelayPort();
    const relay = await DelayRelay.start({ address: "127.0.0.1", ports: [port], seed: 7 });
    try {
      // Jitter as large as the delay: chunks drawn 0 to 20 ms, so a later one would often overtake an earlier one if the relay let it.
      relay.setDelays(new Map([["127.0.0.1", { delayMs: 10, jitterMs: 10 }]]));
      const socket = connect({ host: "127.0.0.1", port: port + relayPortOffset, noDelay: true });
      const received: Buffer[] = [];
      socket.on("data", (chunk: Buffer) => received.push(chunk));
      const ended = new Promise<void>((resolve) => socket.once("end", () => resolve()));
      await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
      const sent: string[] = [];
      for (let i = 0; i < 200; i++) {
        sent.push(`${i};`);
        socket.write(`${i};`);
        if (i % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      }
      socket.end();
      await ended;
      expect(Buffer.concat(received).toString()).toBe(sent.join(""));
      const stats = relay.takeStats();
      // Both ways were delayed: the client's sends and the echo's, both from 127.0.0.1.
      expect(stats.delayedBytes).toBe(2 * sent.join("").length);
      expect(stats.addedMsMax).toBeGreaterThan(0);
      expect(relay.takeStats().delayedChunks).toBe(0);
    } finally {
      relay.close();
      server.close();
    }
  });

  it("refuses a jitter larger than its delay, naming the host", async () => {
    const { server, port } = await echoServerWithFreeRelayPort();
    const relay = await DelayRelay.start({ address: "127.0.0.1", ports: [port], seed: 1 });
    try {
      expect(() => relay.setDelays(new Map([["10.1.2.3", { delayMs: 10, jitterMs: 20 }]]))).toThrow("10.1.2.3: need 0 <= jitterMs <= delayMs, got 10 ms and 20 ms");
    } finally {
      relay.close();
      server.close();
    }
  });
});
