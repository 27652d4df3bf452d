import { type Server, type Socket, createServer, connect } from "node:net";
import { type Rng, createRng } from "@concord/core";

// A delaying hop for kernels without tc's netem (sch_netem): a TCP relay in
// front of a host's listening ports, inside the host's network namespace.
// nftables redirects every connection that arrives on the host's link for a
// relayed port to the relay (port + relayPortOffset), which dials the real
// port on the same address and copies bytes both ways, holding each chunk
// for the delay of the host that sent it: bytes from the remote end for the
// remote host's delay, bytes the local server writes back for this host's
// own. So every relay, given the same map of delays by sending address,
// delays exactly what netem on each sender's link would delay of its TCP
// traffic to relayed ports. Jitter draws each chunk's delay uniformly in
// [delay - jitter, delay + jitter], as netem's default does, but a chunk
// never leaves before the one read before it: netem reorders packets, which
// TCP puts back in order before the application sees them, so what the
// application sees is the same in-order, head-of-line-blocked stream.
//
// The relay sits in the path from the start of a run (connections made
// before a fault must feel it, and nftables' NAT binds a connection when it
// is made), with no delay until one is set.

/** relayPortOffset is added to a relayed port to give the relay's own port (7000 -> 17000). */
export const relayPortOffset = 10_000;

/** LinkDelay is the one-way delay added to what one host sends. */
export interface LinkDelay {
  readonly delayMs: number;
  readonly jitterMs: number;
}

/** RelayStats is what a relay (or several, summed) did to the chunks it delayed since they were last read. */
export interface RelayStats {
  /** delayedChunks counts the chunks held for a delay (chunks of hosts without one pass through and are not counted). */
  readonly delayedChunks: number;
  readonly delayedBytes: number;
  /** addedMs: the time each delayed chunk spent in the relay, read from the clock when it left: min, mean and max (0 when none). */
  readonly addedMsMin: number;
  readonly addedMsMean: number;
  readonly addedMsMax: number;
}

/** DelayRelaySetup is one relay: the host's address, and the ports it stands in front of. */
export interface DelayRelaySetup {
  /** address is the host's own: the relay listens on it and dials the real ports on it, and its sends are this host's. */
  readonly address: string;
  readonly ports: readonly number[];
  readonly seed: number;
}

/** queuedBytesMax bounds what one direction of one connection holds before the relay stops reading its source (TCP back-pressure, as a full link's). */
const queuedBytesMax = 4 * 1024 * 1024;

/**
 * DelayRelay is the relay of one host. It never throws on a connection's
 * failure: an end that fails or closes closes the other, as a dead peer's
 * kernel would.
 */
export class DelayRelay {
  private delays = new Map<string, LinkDelay>();
  private readonly sockets = new Set<Socket>();
  private tally = { delayedChunks: 0, delayedBytes: 0, addedMsMin: Number.POSITIVE_INFINITY, addedMsMax: 0, addedMsTotal: 0 };

  private constructor(
    private readonly setup: DelayRelaySetup,
    private readonly servers: readonly Server[],
    private readonly rng: Rng,
  ) {}

  /** start listens on every relayed port + {@link relayPortOffset} of the address. */
  static async start(setup: DelayRelaySetup): Promise<DelayRelay> {
    for (const port of setup.ports) {
      if (!Number.isSafeInteger(port) || port < 1 || port + relayPortOffset > 65_535) throw new Error(`DelayRelay: port must be 1 to ${65_535 - relayPortOffset}, got ${port}`);
    }
    const servers: Server[] = [];
    const relay = new DelayRelay(setup, servers, createRng(setup.seed).fork("delay-relay"));
    try {
      for (const port of setup.ports) {
        const server = createServer({ noDelay: true, allowHalfOpen: true }, (socket) => relay.accept(socket, port));
        servers.push(server);
        await new Promise<void>((resolve, reject) => {
          server.once("error", reject);
          server.listen(port + relayPortOffset, setup.address, () => resolve());
        });
      }
    } catch (error) {
      relay.close();
      throw error;
    }
    return relay;
  }

  /** setDelays replaces the delays, by the sending host's address; a host not in the map sends undelayed. Chunks already held keep theirs. */
  setDelays(delays: ReadonlyMap<string, LinkDelay>): void {
    for (const [address, delay] of delays) {
      if (!(delay.delayMs >= 0 && delay.jitterMs >= 0 && delay.jitterMs <= delay.delayMs)) throw new Error(`DelayRelay: ${address}: need 0 <= jitterMs <= delayMs, got ${delay.delayMs} ms and ${delay.jitterMs} ms`);
    }
    this.delays = new Map(delays);
  }

  /** takeStats returns what the relay did since the last call, and starts counting afresh. */
  takeStats(): RelayStats {
    const { delayedChunks, delayedBytes, addedMsMin, addedMsMax, addedMsTotal } = this.tally;
    this.tally = { delayedChunks: 0, delayedBytes: 0, addedMsMin: Number.POSITIVE_INFINITY, addedMsMax: 0, addedMsTotal: 0 };
    return { delayedChunks, delayedBytes, addedMsMin: delayedChunks === 0 ? 0 : round(addedMsMin), addedMsMean: delayedChunks === 0 ? 0 : round(addedMsTotal / delayedChunks), addedMsMax: round(addedMsMax) };
  }

  /** close stops listening and closes every connection. */
  close(): void {
    for (const server of this.servers) server.close();
    for (const socket of this.sockets) socket.destroy();
  }

  private accept(remote: Socket, port: number): void {
    // Half-open both: an end is passed on after the chunks held before it, not answered at once by Node's own end.
    const local = connect({ host: this.setup.address, port, noDelay: true, allowHalfOpen: true });
    for (const socket of [remote, local]) {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
    }
    const remoteAddress = normalizeAddress(remote.remoteAddress ?? "");
    // Each direction carries the delay of the host whose bytes it carries.
    this.pipe(remote, local, () => this.delays.get(remoteAddress));
    this.pipe(local, remote, () => this.delays.get(this.setup.address));
    // A reset, as the kernel of a dead or refusing end sends one (a connection to a node that is down is accepted here, then reset).
    const closeBoth = (): void => {
      if (!remote.destroyed) remote.resetAndDestroy();
      if (!local.destroyed) local.resetAndDestroy();
    };
    // A failed end (a reset, a dead server) fails the other, as its kernel would; an orderly end travels through the pipe.
    remote.on("error", closeBoth);
    local.on("error", closeBoth);
    remote.once("close", (hadError) => hadError && closeBoth());
    local.once("close", (hadError) => hadError && closeBoth());
  }

  /** pipe copies `from` to `to`, each chunk held for the sender's delay then, in order, and `from`'s end passed on after its last chunk. */
  private pipe(from: Socket, to: Socket, delayOf: () => LinkDelay | undefined): void {
    const held: { chunk: Buffer; arrivedMs: number; releaseMs: number }[] = [];
    let heldBytes = 0;
    let lastReleaseMs = 0;
    let timer: NodeJS.Timeout | undefined;
    let ended = false;
    const backPressure = (): void => {
      if (heldBytes + to.writableLength > queuedBytesMax) from.pause();
      else from.resume();
    };
    const release = (): void => {
      timer = undefined;
      const nowMs = performance.now();
      while (held.length > 0 && (held[0] as (typeof held)[number]).releaseMs <= nowMs) {
        const { chunk, arrivedMs } = held.shift() as (typeof held)[number];
        heldBytes -= chunk.length;
        this.count(chunk.length, nowMs - arrivedMs);
        if (!to.destroyed) to.write(chunk);
      }
      const next = held[0];
      if (next !== undefined) timer = setTimeout(release, Math.max(0, next.releaseMs - nowMs));
      else if (ended && !to.destroyed) to.end();
      backPressure();
    };
    from.on("data", (chunk: Buffer) => {
      const delay = delayOf();
      if ((delay === undefined || delay.delayMs === 0) && held.length === 0) {
        to.write(chunk);
        backPressure();
        return;
      }
      const nowMs = performance.now();
      const drawnMs = delay === undefined || delay.delayMs === 0 ? 0 : delay.delayMs - delay.jitterMs + this.rng.nextInt(2 * Math.round(delay.jitterMs) + 1);
      // In order: a chunk drawn shorter than the one before it waits for it, as TCP would hold it for the segment missing before it.
      lastReleaseMs = Math.max(nowMs + drawnMs, lastReleaseMs);
      held.push({ chunk, arrivedMs: nowMs, releaseMs: lastReleaseMs });
      heldBytes += chunk.length;
      if (timer === undefined) timer = setTimeout(release, Math.max(0, lastReleaseMs - nowMs));
      backPressure();
    });
    to.on("drain", backPressure);
    from.once("end", () => {
      ended = true;
      if (held.length === 0 && !to.destroyed) to.end();
    });
    // Held chunks outlive their source's close (it closes once both its halves end), not their destination's.
    to.once("close", () => {
      if (timer !== undefined) clearTimeout(timer);
    });
  }

  private count(bytes: number, addedMs: number): void {
    const tally = this.tally;
    tally.delayedChunks++;
    tally.delayedBytes += bytes;
    tally.addedMsTotal += addedMs;
    tally.addedMsMin = Math.min(tally.addedMsMin, addedMs);
    tally.addedMsMax = Math.max(tally.addedMsMax, addedMs);
  }
}

/** sumRelayStats adds up the stats of several relays. */
export function sumRelayStats(all: readonly RelayStats[]): RelayStats {
  const delayed = all.filter((stats) => stats.delayedChunks > 0);
  const delayedChunks = delayed.reduce((sum, stats) => sum + stats.delayedChunks, 0);
  return {
    delayedChunks,
    delayedBytes: delayed.reduce((sum, stats) => sum + stats.delayedBytes, 0),
    addedMsMin: delayed.length === 0 ? 0 : Math.min(...delayed.map((stats) => stats.addedMsMin)),
    addedMsMean: delayedChunks === 0 ? 0 : round(delayed.reduce((sum, stats) => sum + stats.addedMsMean * stats.delayedChunks, 0) / delayedChunks),
    addedMsMax: delayed.length === 0 ? 0 : Math.max(...delayed.map((stats) => stats.addedMsMax)),
  };
}

/** normalizeAddress turns an IPv4-mapped IPv6 address (::ffff:10.1.2.3) into the IPv4 one. */
function normalizeAddress(address: string): string {
  return address.startsWith("::ffff:") ? address.slice("::ffff:".length) : address;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** RelayOrder is one line of a relay process's standard input (JSON). */
export type RelayOrder = { readonly op: "delays"; readonly delays: Readonly<Record<string, LinkDelay>> } | { readonly op: "stats" };

/**
 * serveDelayRelay runs a relay as a process of its own (`concord relay`): it
 * writes `{"ready":true}` once it listens, then answers each order on its
 * input with one line, `{"ok":true}` (with `stats` for a stats order) or
 * `{"ok":false,"error":...}`, and closes when its input ends (the process
 * that started it is gone), resolving then.
 */
export async function serveDelayRelay(setup: DelayRelaySetup, input: NodeJS.ReadableStream, writeLine: (line: string) => void): Promise<void> {
  const relay = await DelayRelay.start(setup);
  writeLine(JSON.stringify({ ready: true }));
  let buffered = "";
  await new Promise<void>((resolve) => {
    input.setEncoding("utf8");
    input.on("data", (chunk: string) => {
      const lines = (buffered + chunk).split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) if (line.trim() !== "") writeLine(JSON.stringify(answerOrder(relay, line)));
    });
    input.once("end", () => resolve());
    input.once("close", () => resolve());
  });
  relay.close();
}

function answerOrder(relay: DelayRelay, line: string): Record<string, unknown> {
  try {
    const order = JSON.parse(line) as RelayOrder;
    if (order.op === "stats") return { ok: true, stats: relay.takeStats() };
    if (order.op === "delays" && typeof order.delays === "object" && order.delays !== null) {
      relay.setDelays(new Map(Object.entries(order.delays)));
      return { ok: true };
    }
    return { ok: false, error: `unknown order ${JSON.stringify(line)}` };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}
