import net from "node:net";
import tls from "node:tls";
import { firstClientId, type NodeId } from "@concord/core";
import type { FrameTransport, PeerBook } from "./frame-transport.ts";
import { Connection } from "./transport-connection.ts";
import {
  decodeFrame,
  encodeEnvelopes,
  encodeHello,
  envelopeFrameBytesMax,
  FrameDecodeError,
  protocolName,
  wireVersion,
  type DecodedFrame,
  type EnvelopeFrame,
  type HelloFrame,
  type ProtocolName,
} from "./transport-codec.ts";
import { SendQueue } from "./transport-queue.ts";
import { checkCertificateName, clientCertificateName, nodeCertificateName, readTlsFiles, type TlsFiles, type TlsMaterial } from "./transport-tls.ts";

export type { TlsFiles } from "./transport-tls.ts";

/** PeerAddress is where a node listens. */
export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * FrameHandler receives each frame, synchronously and in arrival order; the
 * frames of one socket read are delivered back to back. `payload` is a view
 * into the received bytes: it stays valid (nothing reuses it), but it shares
 * memory with its neighbours, so copy it before keeping a small piece for long.
 * It must not throw: an exception propagates out of the socket's data event.
 */
export type FrameHandler = (from: NodeId, to: NodeId, payload: Uint8Array) => void;

/** TransportLimits bounds everything the transport holds; see {@link defaultTransportLimits}. */
export interface TransportLimits {
  /** frameBytesMax is the largest frame (after its length prefix) sent or accepted; a larger length prefix closes the connection. */
  frameBytesMax: number;
  /** queueFramesMax bounds the frames waiting for one peer (or one client connection); beyond it, frames are dropped and counted. */
  queueFramesMax: number;
  /** queueBytesMax bounds the payload bytes waiting for one peer (or one client connection). */
  queueBytesMax: number;
  /** writeBytesMax is how many payload bytes one socket write carries at most (a write takes at least one frame). */
  writeBytesMax: number;
  /** backoffInitialMs is the delay before the first redial; each failure doubles it, up to backoffMaxMs; each delay is drawn in [d/2, d]. */
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** helloTimeoutMs is how long a new connection (its TLS handshake included) may take to complete the hello exchange. */
  helloTimeoutMs: number;
  /** connectionsMax bounds the connections a listening node accepts at once. */
  connectionsMax: number;
  /** closeTimeoutMs is how long close() lets sockets end gracefully before destroying them. */
  closeTimeoutMs: number;
}

/** defaultTransportLimits are the limits a transport uses where its options do not say otherwise. */
export const defaultTransportLimits: Readonly<TransportLimits> = Object.freeze({
  frameBytesMax: 16 * 1024 * 1024,
  queueFramesMax: 16_384,
  queueBytesMax: 64 * 1024 * 1024,
  writeBytesMax: 1024 * 1024,
  backoffInitialMs: 50,
  backoffMaxMs: 2_000,
  helloTimeoutMs: 5_000,
  connectionsMax: 1_024,
  closeTimeoutMs: 1_000,
});

/**
 * TransportCounters is what a transport did. Frames are envelopes (hellos are
 * not counted as frames); bytes are everything written to or read from sockets,
 * framing included.
 */
export interface TransportCounters {
  /** framesSent counts frames handed to a socket (a frame queued but never written is not sent). */
  readonly framesSent: number;
  readonly bytesSent: number;
  /** framesReceived counts frames delivered to the frame handler. */
  readonly framesReceived: number;
  readonly bytesReceived: number;
  /** writes counts socket writes: with coalescing, far fewer than frames under load. */
  readonly writes: number;
  /** dropped counts frames given to send() that will never be written. */
  readonly dropped: {
    /** queueFull: the destination's queue was at its bound (the peer is slow or down). */
    readonly queueFull: number;
    /** unknownDestination: neither a peer nor a client that sent something over a live connection. */
    readonly unknownDestination: number;
    /** closed: queued when the transport closed, the peer was removed, or the client's connection closed. */
    readonly closed: number;
    /** oversized: the payload would make a frame above frameBytesMax. */
    readonly oversized: number;
  };
  /** refused counts connections closed because of what the other end sent or presented. */
  readonly refused: {
    /** badFrame: bytes that are not a frame, or a frame from or to an id that connection may not use. */
    readonly badFrame: number;
    /** oversized: a length prefix above frameBytesMax. */
    readonly oversized: number;
    /** wrongProtocol: a hello or frame of another protocol or wire version. */
    readonly wrongProtocol: number;
    /** badHello: no hello first, a second hello, or a hello this node cannot accept (its own id, the wrong dialing side, the wrong node at an address). */
    readonly badHello: number;
    /** unauthorized: a node that is not a peer, or a TLS certificate that does not name the endpoint the hello claims. */
    readonly unauthorized: number;
    /** tlsHandshake: a TLS handshake that failed (a certificate from another CA, no certificate, plaintext). */
    readonly tlsHandshake: number;
    /** helloTimeout: no hello exchange within helloTimeoutMs. */
    readonly helloTimeout: number;
  };
  /** connectionsOpened counts connections that completed the hello exchange, either side dialing. */
  readonly connectionsOpened: number;
  /** connectionsClosed counts those of them that closed since. */
  readonly connectionsClosed: number;
  /** connectionsReplaced counts peer connections closed because the peer dialed again (it restarted, or saw the old one die first). */
  readonly connectionsReplaced: number;
  /** dials counts outbound connection attempts; reconnects those after the first to the same peer. */
  readonly dials: number;
  readonly reconnects: number;
  /** dialFailures counts outbound attempts that ended before the hello exchange completed. */
  readonly dialFailures: number;
}

type MutableCounters = {
  -readonly [K in keyof TransportCounters]: TransportCounters[K] extends number ? number : { -readonly [F in keyof TransportCounters[K]]: number };
};

type RefusalKind = keyof TransportCounters["refused"];

function newCounters(): MutableCounters {
  return {
    framesSent: 0,
    bytesSent: 0,
    framesReceived: 0,
    bytesReceived: 0,
    writes: 0,
    dropped: { queueFull: 0, unknownDestination: 0, closed: 0, oversized: 0 },
    refused: { badFrame: 0, oversized: 0, wrongProtocol: 0, badHello: 0, unauthorized: 0, tlsHandshake: 0, helloTimeout: 0 },
    connectionsOpened: 0,
    connectionsClosed: 0,
    connectionsReplaced: 0,
    dials: 0,
    reconnects: 0,
    dialFailures: 0,
  };
}

/** ListenOptions configures a listening node: {@link TcpTransport.listen}. */
export interface ListenOptions {
  /** self is this node's replica id (below core's firstClientId). */
  readonly self: NodeId;
  /** protocol is the algorithm's name; every peer and client must speak the same. */
  readonly protocol: string;
  readonly listen: PeerAddress;
  /** peers are the other replicas and their addresses (an entry for self is ignored). */
  readonly peers: ReadonlyMap<NodeId, PeerAddress>;
  readonly onFrame: FrameHandler;
  readonly tls?: TlsFiles | undefined;
  readonly limits?: Partial<TransportLimits> | undefined;
  readonly log?: ((line: string) => void) | undefined;
}

/** DialerOptions configures a client process's transport: {@link TcpTransport.dialer}. */
export interface DialerOptions {
  readonly protocol: string;
  /** peers are the replicas the clients may send to, and their addresses. */
  readonly peers: ReadonlyMap<NodeId, PeerAddress>;
  readonly onFrame: FrameHandler;
  readonly tls?: TlsFiles | undefined;
  readonly limits?: Partial<TransportLimits> | undefined;
  readonly log?: ((line: string) => void) | undefined;
}

/**
 * PeerLink is this side's state for one peer: its address, the queue of
 * frames for it (which outlives connections), the ready connection if any,
 * and the dialing state where this side dials.
 */
interface PeerLink {
  readonly id: NodeId;
  address: PeerAddress;
  readonly queue: SendQueue<Connection>;
  connection: Connection | undefined;
  dialing: Connection | undefined;
  retryTimer: NodeJS.Timeout | undefined;
  /** attempts is the number of failed dials since the last success, for the back-off. */
  attempts: number;
  dialedBefore: boolean;
}

type Mode = { readonly kind: "node"; readonly self: NodeId } | { readonly kind: "dialer" };

const uint32Max = 0xffffffff;

/**
 * TcpTransport carries opaque frames between replicas, and between clients
 * and replicas, over TCP or mutual TLS (see docs/net.md, "Transport").
 *
 * - Frames are a varint length prefix and a protobuf `Frame` of
 *   envelope.proto; the first on each connection is a hello naming the sender
 *   (a node id, or a client dialer) and the protocol.
 * - Between two listening nodes there is one connection: the lower id dials
 *   the higher, which only accepts (a dial from the higher id is refused), and
 *   a newer connection from a peer replaces the older one.
 * - A client dialer connects to each replica it sends to; a node sends a frame
 *   for a client id over the connection on which that id last sent a frame.
 * - Each peer has one bounded queue, kept while it is down; everything queued
 *   in one event-loop turn goes out in one socket write (up to writeBytesMax).
 * - Whatever is refused or dropped is counted in {@link TransportCounters}.
 */
export class TcpTransport implements FrameTransport, PeerBook<PeerAddress> {
  private readonly counts = newCounters();
  private readonly links = new Map<NodeId, PeerLink>();
  /** clientRoutes maps a client id to the inbound connection on which it last sent a frame. */
  private readonly clientRoutes = new Map<NodeId, Connection>();
  private readonly connections = new Set<Connection>();
  private readonly dirty = new Set<SendQueue<Connection>>();
  private flushScheduled: NodeJS.Immediate | undefined = undefined;
  private server: net.Server | undefined = undefined;
  private closing: Promise<void> | undefined = undefined;
  private readonly protocol: ProtocolName;
  private readonly limits: TransportLimits;
  /** payloadBytesMax is the largest payload whose frame fits frameBytesMax, whatever its ids. */
  private readonly payloadBytesMax: number;
  private readonly tlsMaterial: TlsMaterial | undefined;
  private readonly onFrame: FrameHandler;
  private readonly log: (line: string) => void;

  private constructor(
    private readonly mode: Mode,
    options: { protocol: string; onFrame: FrameHandler; tls?: TlsFiles | undefined; limits?: Partial<TransportLimits> | undefined; log?: ((line: string) => void) | undefined },
  ) {
    this.protocol = protocolName(options.protocol);
    this.limits = resolveLimits(options.limits);
    let payloadBytesMax = this.limits.frameBytesMax;
    while (payloadBytesMax > 0 && envelopeFrameBytesMax(payloadBytesMax, this.protocol.utf8) > this.limits.frameBytesMax) payloadBytesMax -= 1;
    this.payloadBytesMax = payloadBytesMax;
    this.tlsMaterial = options.tls === undefined ? undefined : readTlsFiles(options.tls);
    this.onFrame = options.onFrame;
    this.log = options.log ?? (() => {});
  }

  /**
   * listen starts a node: it binds `listen` (port 0 picks a free port, see
   * {@link TcpTransport.address}), accepts peers and clients, and dials the
   * peers with higher ids. It rejects when the address cannot be bound.
   */
  static async listen(options: ListenOptions): Promise<TcpTransport> {
    if (!Number.isSafeInteger(options.self) || options.self < 0 || options.self >= firstClientId) {
      throw new Error(`self: a node id must be an integer in [0, ${firstClientId}), got ${options.self}`);
    }
    const transport = new TcpTransport({ kind: "node", self: options.self }, options);
    await transport.startServer(options.listen);
    try {
      transport.setPeers(options.peers);
    } catch (error) {
      // A bad peer list must not leave the port bound.
      await transport.close();
      throw error;
    }
    return transport;
  }

  /**
   * dialer makes the transport of a client process: no listening socket; it
   * carries the frames of any number of client ids (each at least core's
   * firstClientId), connecting to a replica when first sending to it.
   */
  static dialer(options: DialerOptions): TcpTransport {
    const transport = new TcpTransport({ kind: "dialer" }, options);
    transport.setPeers(options.peers);
    return transport;
  }

  /** address is the bound address of a listening node (its port resolved when 0 was asked), undefined for a dialer. */
  get address(): PeerAddress | undefined {
    const bound = this.server?.address();
    if (bound === undefined || bound === null || typeof bound === "string") return undefined;
    return { host: bound.address, port: bound.port };
  }

  /** counters is what this transport did so far (a live view: read it again for new values). */
  get counters(): TransportCounters {
    return this.counts;
  }

  /** connectedPeers lists the peers with a connection that completed its hello exchange, in id order. */
  connectedPeers(): NodeId[] {
    return [...this.links.values()]
      .filter((link) => link.connection !== undefined)
      .map((link) => link.id)
      .sort((a, b) => a - b);
  }

  /**
   * send queues one frame for `to` and returns true, or drops it, counts why,
   * and returns false. It never blocks and never throws for a network
   * condition. `payload` is kept until written: do not change it after.
   * `from` must be the node's own id (a node) or a client id (a dialer).
   */
  send(from: NodeId, to: NodeId, payload: Uint8Array): boolean {
    this.checkSender(from);
    if (this.closing !== undefined) {
      this.counts.dropped.closed += 1;
      return false;
    }
    if (payload.length > this.payloadBytesMax) {
      this.counts.dropped.oversized += 1;
      return false;
    }
    const link = this.links.get(to);
    const queue = link?.queue ?? (this.mode.kind === "node" && to >= firstClientId ? this.clientRoutes.get(to)?.queue : undefined);
    if (queue === undefined) {
      this.counts.dropped.unknownDestination += 1;
      return false;
    }
    if (!queue.push({ from, to, payload })) {
      this.counts.dropped.queueFull += 1;
      return false;
    }
    if (queue.outlet !== undefined) this.markDirty(queue);
    else if (link !== undefined && this.mode.kind === "dialer") this.dial(link);
    return true;
  }

  /**
   * setPeers replaces the peer list after a membership change: a removed
   * peer's connection closes and its queued frames are dropped (counted); a
   * new one is dialed when this side dials it; a peer whose address changed
   * is redialed there.
   */
  setPeers(peers: ReadonlyMap<NodeId, PeerAddress>): void {
    if (this.closing !== undefined) return;
    for (const [id, link] of this.links) {
      if (peers.has(id) && !this.isSelf(id)) continue;
      this.links.delete(id);
      this.dropLink(link, `node ${id} is no longer a peer`);
    }
    for (const [id, address] of peers) {
      if (this.isSelf(id)) continue;
      if (!Number.isSafeInteger(id) || id < 0 || id >= firstClientId) throw new Error(`peers: ${id} is not a replica id (an integer in [0, ${firstClientId}))`);
      const link = this.links.get(id);
      if (link === undefined) {
        const created = this.newLink(id, address);
        this.links.set(id, created);
        if (this.mode.kind === "node" && this.dialsTo(id)) this.dial(created);
      } else if (link.address.host !== address.host || link.address.port !== address.port) {
        link.address = address;
        if (this.dialsTo(id)) this.redial(link, `node ${id} moved to ${address.host}:${address.port}`);
      }
    }
  }

  /** close ends every connection (flushing what is queued for connected peers first), the server and every timer. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  // --- sending -------------------------------------------------------------

  private checkSender(from: NodeId): void {
    if (this.mode.kind === "node") {
      if (from !== this.mode.self) throw new Error(`send: node ${this.mode.self} cannot send as ${from}`);
    } else if (!Number.isSafeInteger(from) || from < firstClientId || from > uint32Max) {
      throw new Error(`send: a dialer sends as client ids in [${firstClientId}, 2^32), got ${from}`);
    }
  }

  private markDirty(queue: SendQueue<Connection>): void {
    this.dirty.add(queue);
    // Everything sent in this turn (and in the I/O callbacks before the check phase) goes out in one write per connection.
    this.flushScheduled ??= setImmediate(() => this.flushAll());
  }

  /**
   * flushNow writes what is queued at once rather than at the end of the
   * turn: the node runtime calls it for the messages a replica lets leave
   * before a sync (Ready.messagesBeforeSync), so that they are on the wire
   * while the fsync blocks the thread, not after it.
   */
  flushNow(): void {
    if (this.flushScheduled !== undefined) clearImmediate(this.flushScheduled);
    this.flushAll();
  }

  private flushAll(): void {
    this.flushScheduled = undefined;
    const queues = [...this.dirty];
    this.dirty.clear();
    for (const queue of queues) this.flush(queue);
  }

  private flush(queue: SendQueue<Connection>): void {
    const connection = queue.outlet;
    if (connection === undefined || connection.blocked || connection.closing) return;
    while (queue.length > 0) {
      const batch = queue.take(this.limits.writeBytesMax);
      const bytes = encodeEnvelopes(batch.frames, this.protocol.utf8, batch.first, batch.end);
      this.counts.framesSent += batch.end - batch.first;
      if (!connection.write(bytes)) {
        // Backpressure: the queue absorbs what comes meanwhile, up to its bounds.
        connection.blocked = true;
        return;
      }
    }
  }

  // --- links and dialing ---------------------------------------------------

  private isSelf(id: NodeId): boolean {
    return this.mode.kind === "node" && id === this.mode.self;
  }

  /** dialsTo tells whether this side dials `id`: a dialer dials every replica; between nodes the lower id dials. */
  private dialsTo(id: NodeId): boolean {
    return this.mode.kind === "dialer" || this.mode.self < id;
  }

  private newLink(id: NodeId, address: PeerAddress): PeerLink {
    return {
      id,
      address,
      queue: new SendQueue(this.limits.queueFramesMax, this.limits.queueBytesMax),
      connection: undefined,
      dialing: undefined,
      retryTimer: undefined,
      attempts: 0,
      dialedBefore: false,
    };
  }

  private dropLink(link: PeerLink, reason: string): void {
    if (link.retryTimer !== undefined) clearTimeout(link.retryTimer);
    link.retryTimer = undefined;
    link.connection?.close(reason);
    link.dialing?.close(reason);
    link.queue.outlet = undefined;
    this.counts.dropped.closed += link.queue.clear();
  }

  private redial(link: PeerLink, reason: string): void {
    link.attempts = 0;
    if (link.retryTimer !== undefined) {
      clearTimeout(link.retryTimer);
      link.retryTimer = undefined;
    }
    // Closing schedules the redial; with neither connection, dial now.
    if (link.connection === undefined && link.dialing === undefined) this.dial(link);
    link.connection?.close(reason);
    link.dialing?.close(reason);
  }

  private dial(link: PeerLink): void {
    if (this.closing !== undefined || link.connection !== undefined || link.dialing !== undefined || link.retryTimer !== undefined) return;
    this.counts.dials += 1;
    if (link.dialedBefore) this.counts.reconnects += 1;
    link.dialedBefore = true;
    const { host, port } = link.address;
    const socket = this.tlsMaterial === undefined ? net.connect({ host, port }) : this.connectTls(link);
    const connection = new Connection(socket, link.id, this.limits.frameBytesMax, this.counts, `${host}:${port}`);
    link.dialing = connection;
    socket.once("connect", () => {
      connection.tcpConnected = true;
    });
    socket.once(this.tlsMaterial === undefined ? "connect" : "secureConnect", () => {
      connection.secured = this.tlsMaterial !== undefined;
      connection.write(encodeHello(this.ownHello()));
    });
    this.watch(connection);
  }

  private connectTls(link: PeerLink): tls.TLSSocket {
    const material = this.tlsMaterial!;
    const expected = nodeCertificateName(link.id);
    return tls.connect({
      host: link.address.host,
      port: link.address.port,
      cert: material.cert,
      key: material.key,
      ca: material.ca,
      rejectUnauthorized: true,
      // The name rule replaces hostname checks: a node is known by its id wherever it runs.
      checkServerIdentity: (_host, certificate) => {
        const problem = checkCertificateName(certificate, expected);
        if (problem === undefined) return undefined;
        this.counts.refused.unauthorized += 1;
        this.log(`transport: refusing node ${link.id} at ${link.address.host}:${link.address.port}: its ${problem}`);
        return new CertificateNameError(problem);
      },
    });
  }

  private scheduleRedial(link: PeerLink): void {
    if (this.closing !== undefined || this.links.get(link.id) !== link || link.retryTimer !== undefined) return;
    const ceilingMs = Math.min(this.limits.backoffMaxMs, this.limits.backoffInitialMs * 2 ** Math.min(link.attempts, 30));
    link.attempts += 1;
    // Jitter, so that peers restarted together do not redial in lockstep.
    const delayMs = ceilingMs / 2 + (Math.random() * ceilingMs) / 2;
    link.retryTimer = setTimeout(() => {
      link.retryTimer = undefined;
      this.dial(link);
    }, delayMs);
  }

  private ownHello(): Omit<HelloFrame, "kind"> {
    return this.mode.kind === "node"
      ? { version: wireVersion, protocol: this.protocol.name, nodeId: this.mode.self, client: false }
      : { version: wireVersion, protocol: this.protocol.name, nodeId: 0, client: true };
  }

  // --- accepting -------------------------------------------------------------

  private async startServer(address: PeerAddress): Promise<void> {
    const server = this.tlsMaterial === undefined ? net.createServer((socket) => this.accept(socket)) : this.createTlsServer(this.tlsMaterial);
    server.maxConnections = this.limits.connectionsMax;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(address.port, address.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    server.on("error", (error) => this.log(`transport: server error: ${error.message}`));
    this.server = server;
  }

  private createTlsServer(material: TlsMaterial): tls.Server {
    const server = tls.createServer(
      { cert: material.cert, key: material.key, ca: material.ca, requestCert: true, rejectUnauthorized: true, handshakeTimeout: this.limits.helloTimeoutMs },
      (socket) => this.accept(socket),
    );
    server.on("tlsClientError", (error, socket) => {
      this.counts.refused.tlsHandshake += 1;
      this.log(`transport: refusing a TLS connection from ${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}: ${error.message}`);
    });
    return server;
  }

  private accept(socket: net.Socket): void {
    if (this.closing !== undefined) {
      socket.destroy();
      return;
    }
    const connection = new Connection(socket, undefined, this.limits.frameBytesMax, this.counts, `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`);
    this.watch(connection);
  }

  /** watch wires a new connection's socket events and starts its hello timer. */
  private watch(connection: Connection): void {
    const socket = connection.socket;
    this.connections.add(connection);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 5_000);
    connection.helloTimer = setTimeout(() => {
      const detail = `no hello exchange within ${this.limits.helloTimeoutMs} ms`;
      // A dial that gets no answer is a failed dial (counted as such), not something the other end did.
      if (connection.outbound) connection.close(detail);
      else this.refuse(connection, "helloTimeout", detail);
    }, this.limits.helloTimeoutMs);
    socket.on("data", (chunk: Buffer) => this.read(connection, chunk));
    socket.on("drain", () => {
      connection.blocked = false;
      if (connection.queue !== undefined) this.markDirty(connection.queue);
    });
    socket.on("error", (error) => {
      connection.error ??= error;
      connection.closeReason ??= error.message;
    });
    socket.once("close", () => this.closed(connection));
  }

  private read(connection: Connection, chunk: Buffer): void {
    this.counts.bytesReceived += chunk.length;
    const error = connection.reader.push(chunk, (bytes, start, end) => this.receive(connection, bytes, start, end));
    if (error !== undefined) this.refuse(connection, error.kind, error.detail);
  }

  /** receive handles one frame; false stops the reader (the connection or the transport is closing). */
  private receive(connection: Connection, bytes: Uint8Array, start: number, end: number): boolean {
    if (connection.closing || this.closing !== undefined) return false;
    let frame: DecodedFrame;
    try {
      frame = decodeFrame(bytes, this.protocol, start, end);
    } catch (error) {
      if (!(error instanceof FrameDecodeError)) throw error;
      this.refuse(connection, "badFrame", `undecodable frame of ${end - start} bytes: ${error.message}`);
      return false;
    }
    if (connection.remote === undefined) {
      if (connection.outbound) this.helloFromDialed(connection, frame);
      else this.helloFromDialer(connection, frame);
    } else if (frame.kind === "hello") {
      this.refuse(connection, "badHello", "a second hello");
    } else {
      this.deliver(connection, frame);
    }
    return !connection.closing && this.closing === undefined;
  }

  private deliver(connection: Connection, frame: EnvelopeFrame): void {
    if (frame.protocol !== this.protocol.name) {
      this.refuse(connection, "wrongProtocol", `a frame of protocol "${frame.protocol}", this transport speaks "${this.protocol.name}"`);
      return;
    }
    const problem = this.addressingProblem(connection, frame);
    if (problem !== undefined) {
      this.refuse(connection, "badFrame", problem);
      return;
    }
    if (connection.remote?.kind === "client") {
      connection.clientIds.add(frame.from);
      this.clientRoutes.set(frame.from, connection);
    }
    this.counts.framesReceived += 1;
    this.onFrame(frame.from, frame.to, frame.payload);
  }

  /** addressingProblem says why a frame's ids are not ones its connection may carry, or undefined when they are. */
  private addressingProblem(connection: Connection, frame: EnvelopeFrame): string | undefined {
    const remote = connection.remote!;
    if (this.mode.kind === "dialer") {
      // Only the node this connection dialed may answer on it, and only to clients.
      if (remote.kind !== "node" || frame.from !== remote.id) return `a frame from ${frame.from} on the connection to node ${connection.peer}`;
      if (frame.to < firstClientId) return `a frame to ${frame.to}, which is not a client id`;
      return undefined;
    }
    if (frame.to !== this.mode.self) return `a frame to ${frame.to} on a connection to node ${this.mode.self}`;
    if (remote.kind === "node" && frame.from !== remote.id) return `a frame from ${frame.from} on node ${remote.id}'s connection`;
    if (remote.kind === "client" && frame.from < firstClientId) return `a frame from ${frame.from}, a replica id, on a client connection`;
    return undefined;
  }

  /** helloFromDialer checks the first frame of an accepted connection: who dials, and whether this node takes it. */
  private helloFromDialer(connection: Connection, frame: DecodedFrame): void {
    if (this.mode.kind !== "node") return;
    const self = this.mode.self;
    if (frame.kind !== "hello") {
      this.refuse(connection, "badHello", "the first frame is not a hello");
      return;
    }
    if (frame.version !== wireVersion || frame.protocol !== this.protocol.name) {
      // Answer first (and let the answer out before closing), so that the other side can name the mismatch in its own log.
      connection.write(encodeHello(this.ownHello()));
      this.refuse(connection, "wrongProtocol", `it speaks "${frame.protocol}" (wire version ${frame.version}), this node "${this.protocol.name}" (wire version ${wireVersion})`, true);
      return;
    }
    if (frame.client) {
      const problem = this.certificateProblem(connection, clientCertificateName);
      if (problem !== undefined) {
        this.refuse(connection, "unauthorized", `a client dialer whose ${problem}`);
        return;
      }
      connection.remote = { kind: "client" };
      connection.queue = new SendQueue(this.limits.queueFramesMax, this.limits.queueBytesMax);
      connection.queue.outlet = connection;
      connection.write(encodeHello(this.ownHello()));
      this.opened(connection);
      return;
    }
    const id = frame.nodeId;
    const link = this.links.get(id);
    if (id === self || id >= firstClientId) {
      this.refuse(connection, "badHello", `a hello from node ${id}, which this node (${self}) cannot be connected to`);
      return;
    }
    if (link === undefined) {
      this.refuse(connection, "unauthorized", `node ${id} is not a peer of node ${self}`);
      return;
    }
    if (id > self) {
      this.refuse(connection, "badHello", `node ${id} dialed node ${self}, but the lower id dials`);
      return;
    }
    const problem = this.certificateProblem(connection, nodeCertificateName(id));
    if (problem !== undefined) {
      this.refuse(connection, "unauthorized", `a hello from node ${id} whose ${problem}`);
      return;
    }
    connection.remote = { kind: "node", id };
    connection.write(encodeHello(this.ownHello()));
    const older = link.connection;
    this.attach(link, connection);
    if (older !== undefined) {
      // The peer dials again only after giving up the older connection (it restarted, or saw it die first).
      this.counts.connectionsReplaced += 1;
      older.close(`replaced by a newer connection from node ${id}`);
    }
  }

  /** helloFromDialed checks the answer of the node this side dialed. */
  private helloFromDialed(connection: Connection, frame: DecodedFrame): void {
    const link = this.links.get(connection.peer!);
    if (link === undefined || link.dialing !== connection) {
      connection.close("no longer wanted");
      return;
    }
    if (frame.kind !== "hello" || frame.client) {
      this.refuse(connection, "badHello", "the first frame is not a node's hello");
      return;
    }
    if (frame.version !== wireVersion || frame.protocol !== this.protocol.name) {
      this.refuse(connection, "wrongProtocol", `it speaks "${frame.protocol}" (wire version ${frame.version}), this side "${this.protocol.name}" (wire version ${wireVersion})`);
      return;
    }
    if (frame.nodeId !== link.id) {
      this.refuse(connection, "badHello", `node ${frame.nodeId} answers at node ${link.id}'s address`);
      return;
    }
    connection.remote = { kind: "node", id: link.id };
    link.dialing = undefined;
    link.attempts = 0;
    this.attach(link, connection);
  }

  private certificateProblem(connection: Connection, name: string): string | undefined {
    if (this.tlsMaterial === undefined) return undefined;
    return checkCertificateName((connection.socket as tls.TLSSocket).getPeerCertificate(), name);
  }

  private attach(link: PeerLink, connection: Connection): void {
    link.connection = connection;
    connection.queue = link.queue;
    link.queue.outlet = connection;
    if (link.queue.length > 0) this.markDirty(link.queue);
    this.opened(connection);
  }

  private opened(connection: Connection): void {
    connection.clearHelloTimer();
    this.counts.connectionsOpened += 1;
    this.log(`transport: connected ${connection.outbound ? "to" : "from"} ${connection.describe()}`);
  }

  // --- closing ---------------------------------------------------------------

  private refuse(connection: Connection, kind: RefusalKind, detail: string, graceful = false): void {
    if (connection.closing) return;
    this.counts.refused[kind] += 1;
    const reason = `refused (${kind}): ${detail}`;
    this.log(`transport: closing the connection ${connection.outbound ? "to" : "from"} ${connection.describe()}: ${reason}`);
    if (graceful) connection.end(reason, this.limits.closeTimeoutMs);
    else connection.close(reason);
  }

  /** closed forgets a socket that has closed, and redials where this side dials. */
  private closed(connection: Connection): void {
    connection.closing = true;
    connection.clearHelloTimer();
    this.connections.delete(connection);
    if (connection.queue !== undefined && connection.queue.outlet === connection) connection.queue.outlet = undefined;
    if (connection.remote !== undefined) this.counts.connectionsClosed += 1;
    if (connection.remote?.kind === "client") {
      for (const id of connection.clientIds) if (this.clientRoutes.get(id) === connection) this.clientRoutes.delete(id);
      this.counts.dropped.closed += connection.queue?.clear() ?? 0;
      return;
    }
    const id = connection.remote?.kind === "node" ? connection.remote.id : connection.peer;
    const link = id === undefined ? undefined : this.links.get(id);
    if (link === undefined) return;
    if (link.connection === connection) {
      link.connection = undefined;
      if (this.closing === undefined) this.log(`transport: lost the connection ${connection.outbound ? "to" : "from"} ${connection.describe()}: ${connection.closeReason ?? "closed by the other end"}`);
    } else if (link.dialing === connection) {
      link.dialing = undefined;
      this.counts.dialFailures += 1;
      if (this.tlsMaterial !== undefined && tlsHandshakeFailed(connection)) this.counts.refused.tlsHandshake += 1;
      // Log the first failure of a streak, then every 20th, so that a peer that stays down does not flood the log.
      if (link.attempts % 20 === 0 && this.closing === undefined) {
        this.log(`transport: cannot connect to ${connection.describe()}: ${connection.closeReason ?? "closed by the other end"}; retrying with back-off`);
      }
    } else {
      return;
    }
    if (this.dialsTo(link.id)) this.scheduleRedial(link);
  }

  private async shutDown(): Promise<void> {
    if (this.flushScheduled !== undefined) clearImmediate(this.flushScheduled);
    // What was sent in this turn still goes out to the connections that are up (a node's last replies before exiting).
    this.flushAll();
    for (const link of this.links.values()) {
      if (link.retryTimer !== undefined) clearTimeout(link.retryTimer);
      link.retryTimer = undefined;
      this.counts.dropped.closed += link.queue.clear();
    }
    const serverClosed = new Promise<void>((resolve) => (this.server === undefined ? resolve() : this.server.close(() => resolve())));
    const sockets = [...this.connections];
    for (const connection of sockets) {
      this.counts.dropped.closed += connection.remote?.kind === "client" ? (connection.queue?.clear() ?? 0) : 0;
      if (connection.remote === undefined) connection.close("the transport is closing");
      else {
        connection.closing = true;
        connection.clearHelloTimer();
        connection.socket.end();
      }
    }
    const timer = setTimeout(() => {
      for (const connection of sockets) connection.socket.destroy();
    }, this.limits.closeTimeoutMs);
    await Promise.all(sockets.map((connection) => connection.closed));
    clearTimeout(timer);
    await serverClosed;
  }
}

/** CertificateNameError is a peer certificate that the CA signed but that names another endpoint (counted as unauthorized). */
class CertificateNameError extends Error {
  override readonly name = "CertificateNameError";
}

/**
 * tlsHandshakeFailed tells whether a dial failed in the TLS handshake: an
 * error after the TCP connection was up and before the handshake completed
 * (this side refused the peer's certificate chain), or a TLS alert after it
 * (the peer refused this side's certificate, which TLS 1.3 reports only after
 * the client considers the handshake done).
 */
function tlsHandshakeFailed(connection: Connection): boolean {
  const error = connection.error;
  if (error === undefined || error instanceof CertificateNameError || !connection.tcpConnected) return false;
  return !connection.secured || (error.code ?? "").startsWith("ERR_SSL_");
}

function resolveLimits(overrides: Partial<TransportLimits> | undefined): TransportLimits {
  const limits: TransportLimits = { ...defaultTransportLimits };
  for (const [key, value] of Object.entries(overrides ?? {}) as [keyof TransportLimits, number | undefined][]) {
    if (value === undefined) continue;
    if (!Number.isFinite(value) || value <= 0) throw new Error(`limits.${key} must be a positive number, got ${value}`);
    limits[key] = value;
  }
  if (limits.backoffMaxMs < limits.backoffInitialMs) throw new Error(`limits.backoffMaxMs (${limits.backoffMaxMs}) is below limits.backoffInitialMs (${limits.backoffInitialMs})`);
  return limits;
}
