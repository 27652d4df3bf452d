import type { Socket } from "node:net";
import type { NodeId } from "@concord/core";
import { FrameReader } from "./transport-codec.ts";
import type { SendQueue } from "./transport-queue.ts";

/** Remote is who is at the other end of a connection, once its hello was accepted. */
export type Remote = { readonly kind: "node"; readonly id: NodeId } | { readonly kind: "client" };

/** WriteCounters are the counters a connection bumps on every socket write. */
export interface WriteCounters {
  writes: number;
  bytesSent: number;
}

/**
 * Connection is one TCP (or TLS) socket of the transport: its frame reader, who
 * is at the other end, the queue it drains, and whether the socket takes more
 * bytes now. The transport owns the rules; this holds the state of one socket.
 */
export class Connection {
  /** remote is set once the hello exchange succeeded; frames before that are hellos only. */
  remote: Remote | undefined = undefined;
  /** queue is the queue this connection drains: a peer's (shared across reconnections) or its own (a client connection). */
  queue: SendQueue<Connection> | undefined = undefined;
  /** clientIds are the client ids that sent frames over this (inbound, client) connection: the routes to drop when it closes. */
  readonly clientIds = new Set<NodeId>();
  /** blocked is true after socket.write returned false, until 'drain': nothing more is written meanwhile. */
  blocked = false;
  /** closing is true once the transport decided to close it (or the socket closed): no frame is delivered after. */
  closing = false;
  closeReason: string | undefined = undefined;
  /** tcpConnected is true once the TCP connection is up (outbound), so that a TLS failure after it is told from a refused dial. */
  tcpConnected = false;
  /** secured is true once the TLS handshake completed (outbound, TLS only). */
  secured = false;
  /** error is the first error the socket reported. */
  error: (Error & { code?: string }) | undefined = undefined;
  helloTimer: NodeJS.Timeout | undefined = undefined;
  readonly reader: FrameReader;
  /** closed resolves when the socket has closed. */
  readonly closed: Promise<void>;
  private readonly label: string;

  constructor(
    readonly socket: Socket,
    /** peer is the node this connection dials (outbound), undefined for an accepted one. */
    readonly peer: NodeId | undefined,
    frameBytesMax: number,
    private readonly counters: WriteCounters,
    endpoint: string,
  ) {
    this.reader = new FrameReader(frameBytesMax);
    this.label = endpoint;
    this.closed = new Promise((resolve) => socket.once("close", () => resolve()));
  }

  /** outbound tells whether this side dialed. */
  get outbound(): boolean {
    return this.peer !== undefined;
  }

  /** write hands bytes to the socket and counts the write; false when the socket buffers beyond its high-water mark. */
  write(bytes: Uint8Array): boolean {
    this.counters.writes += 1;
    this.counters.bytesSent += bytes.length;
    return this.socket.write(bytes);
  }

  /** close destroys the socket, remembering why (for the log line when it has closed). */
  close(reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.closeReason = reason;
    this.clearHelloTimer();
    this.socket.destroy();
  }

  /**
   * end closes the socket after what was written to it has gone out (a
   * refusal's answering hello), destroying it if that takes `timeoutMs`.
   */
  end(reason: string, timeoutMs: number): void {
    if (this.closing) return;
    this.closing = true;
    this.closeReason = reason;
    this.clearHelloTimer();
    this.socket.end();
    const timer = setTimeout(() => this.socket.destroy(), timeoutMs);
    this.socket.once("close", () => clearTimeout(timer));
  }

  clearHelloTimer(): void {
    if (this.helloTimer !== undefined) clearTimeout(this.helloTimer);
    this.helloTimer = undefined;
  }

  /** describe names the other end for log lines: who it is once known, and its address. */
  describe(): string {
    const who =
      this.remote?.kind === "node"
        ? `node ${this.remote.id}`
        : this.remote?.kind === "client"
          ? "client dialer"
          : this.peer !== undefined
            ? `node ${this.peer}`
            : "unidentified endpoint";
    return `${who} (${this.label})`;
  }
}
