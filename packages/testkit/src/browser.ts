// A small Chrome DevTools Protocol client for the browser tests (the Explorer, report.html, message diagrams):
// headless Chromium, driven over a WebSocket written here on node:net (Node 20 has no global WebSocket, and ~100
// lines spare the repository a dependency for a few tests).
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { type Socket, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** chromiumInstallHint says how to get the browser the Explorer's test needs. */
export const chromiumInstallHint = "install Debian's chromium (apt-get update && apt-get install -y chromium) or set CONCORD_CHROMIUM to a Chromium or Chrome binary";

/** findChromium returns the browser to drive, or undefined when none is installed. */
export function findChromium(): string | undefined {
  const candidates = [process.env["CONCORD_CHROMIUM"], "chromium", "chromium-browser", "google-chrome"].filter((name): name is string => name !== undefined && name !== "");
  return candidates.find((name) => spawnSync(name, ["--version"], { stdio: "ignore" }).status === 0);
}

/** Browser is a headless Chromium and a CDP session on its one page. */
export interface Browser {
  readonly page: CdpSession;
  close(): Promise<void>;
}

/**
 * launchBrowser starts headless Chromium on a free debugging port, in a process group of its own, and attaches to
 * its first page. Closing it waits until every process of that group has exited before removing the profile:
 * Chromium's helper processes outlive the browser for a moment and keep writing the profile, so removing it at
 * once failed now and then (ENOTEMPTY). `extraArgs` go on Chromium's command line (say, --hide-scrollbars).
 */
export async function launchBrowser(binary: string, extraArgs: readonly string[] = []): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), "concord-chromium-"));
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  const child = spawn(binary, ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", ...extraArgs, "--remote-debugging-port=0", `--user-data-dir=${profile}`, "about:blank"], {
    stdio: ["ignore", "ignore", "pipe"],
    detached: true,
  });
  const stop = async (): Promise<void> => {
    await stopGroup(child);
    rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  };
  try {
    const port = await debuggingPort(child);
    const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as { type: string; webSocketDebuggerUrl: string }[];
    const target = targets.find((candidate) => candidate.type === "page");
    if (target === undefined) throw new Error("chromium opened no page");
    const page = await CdpSession.connect(target.webSocketDebuggerUrl);
    return {
      page,
      close: async () => {
        page.close();
        await stop();
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** stopGroup sends SIGTERM to the browser's process group and waits (up to 10 s, then SIGKILL) until none of it is left. */
async function stopGroup(child: ChildProcess): Promise<void> {
  const group = child.pid;
  if (group === undefined) return;
  const alive = (): boolean => {
    try {
      process.kill(-group, 0);
      return true;
    } catch {
      return false;
    }
  };
  const signal = (name: NodeJS.Signals): void => {
    try {
      process.kill(-group, name);
    } catch {
      // The group is already gone.
    }
  };
  signal("SIGTERM");
  const deadline = Date.now() + 10_000;
  while (alive() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  if (alive()) signal("SIGKILL");
  while (alive()) await new Promise((resolve) => setTimeout(resolve, 50));
}

/** debuggingPort reads the port Chromium chose from its "DevTools listening on ws://..." line. */
function debuggingPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => reject(new Error(`chromium did not report its debugging port within 30 s; it said: ${seen.slice(-500)}`)), 30_000);
    child.stderr?.on("data", (chunk: Buffer) => {
      seen += chunk.toString("utf8");
      const match = /DevTools listening on ws:\/\/[^:]+:(\d+)\//.exec(seen);
      if (match !== null) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`chromium exited (code ${String(code)}) before listening: ${seen.slice(-500)}`));
    });
  });
}

/** CdpEvent is one event Chromium sent. */
export interface CdpEvent {
  readonly method: string;
  readonly params: Record<string, unknown>;
}

/** CdpSession sends CDP commands over one WebSocket and collects the events. */
export class CdpSession {
  readonly events: CdpEvent[] = [];
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: Record<string, unknown>) => void; reject: (error: Error) => void }>();
  private received = Buffer.alloc(0);
  private fragments: Buffer[] = [];

  private constructor(private readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("close", () => {
      for (const { reject } of this.pending.values()) reject(new Error("the DevTools connection closed"));
      this.pending.clear();
    });
  }

  /** connect opens the WebSocket handshake (RFC 6455 §4.1) to a DevTools URL. */
  static connect(url: string): Promise<CdpSession> {
    const { hostname, port, pathname } = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), hostname, () => {
        const key = randomBytes(16).toString("base64");
        socket.write(`GET ${pathname} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
      });
      let head = Buffer.alloc(0);
      const onHandshake = (chunk: Buffer): void => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) return;
        socket.off("data", onHandshake);
        const status = head.subarray(0, head.indexOf("\r\n")).toString();
        if (!/^HTTP\/1\.1 101/.test(status)) return reject(new Error(`DevTools refused the WebSocket: ${status}`));
        const session = new CdpSession(socket);
        if (head.length > end + 4) session.onData(head.subarray(end + 4));
        resolve(session);
      };
      socket.on("data", onHandshake);
      socket.once("error", reject);
    });
  }

  /** send runs one CDP command and resolves with its result, or rejects with its error. */
  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    const done = new Promise<Record<string, unknown>>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.writeFrame(0x1, Buffer.from(JSON.stringify({ id, method, params }), "utf8"));
    return done;
  }

  /** evaluate runs an expression in the page and returns its value (awaiting a promise). */
  async evaluate<T>(expression: string): Promise<T> {
    const answer = await this.send("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true });
    const thrown = answer["exceptionDetails"] as { text?: string; exception?: { description?: string } } | undefined;
    if (thrown !== undefined) throw new Error(`the page threw: ${thrown.exception?.description ?? thrown.text ?? "?"}`);
    return (answer["result"] as { value: T }).value;
  }

  close(): void {
    this.socket.destroy();
  }

  /** writeFrame sends one final frame, masked as a client must (RFC 6455 §5.3). */
  private writeFrame(opcode: number, payload: Buffer): void {
    const length = payload.length;
    const header = length < 126 ? Buffer.from([0x80 | opcode, 0x80 | length]) : length < 65_536 ? Buffer.alloc(4) : Buffer.alloc(10);
    if (length >= 126 && length < 65_536) {
      header[0] = 0x80 | opcode;
      header[1] = 0x80 | 126;
      header.writeUInt16BE(length, 2);
    } else if (length >= 65_536) {
      header[0] = 0x80 | opcode;
      header[1] = 0x80 | 127;
      header.writeBigUInt64BE(BigInt(length), 2);
    }
    const mask = randomBytes(4);
    const masked = Buffer.alloc(length);
    for (let index = 0; index < length; index++) masked[index] = (payload[index] as number) ^ (mask[index % 4] as number);
    this.socket.write(Buffer.concat([header, mask, masked]));
  }

  /** onData parses the server's frames (unmasked), joining fragments, answering pings. */
  private onData(chunk: Buffer): void {
    this.received = Buffer.concat([this.received, chunk]);
    for (;;) {
      if (this.received.length < 2) return;
      const first = this.received[0] as number;
      const second = this.received[1] as number;
      let length = second & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (this.received.length < 4) return;
        length = this.received.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (this.received.length < 10) return;
        length = Number(this.received.readBigUInt64BE(2));
        offset = 10;
      }
      if (this.received.length < offset + length) return;
      const payload = this.received.subarray(offset, offset + length);
      this.received = this.received.subarray(offset + length);
      const opcode = first & 0x0f;
      if (opcode === 0x9) this.writeFrame(0xa, Buffer.from(payload));
      else if (opcode === 0x8) this.socket.end();
      else if (opcode === 0x0 || opcode === 0x1) {
        this.fragments.push(Buffer.from(payload));
        if ((first & 0x80) !== 0) {
          const text = Buffer.concat(this.fragments).toString("utf8");
          this.fragments = [];
          this.onMessage(JSON.parse(text) as { id?: number; result?: Record<string, unknown>; error?: { message: string }; method?: string; params?: Record<string, unknown> });
        }
      }
    }
  }

  private onMessage(message: { id?: number; result?: Record<string, unknown>; error?: { message: string }; method?: string; params?: Record<string, unknown> }): void {
    if (message.id === undefined) {
      if (message.method !== undefined) this.events.push({ method: message.method, params: message.params ?? {} });
      return;
    }
    const waiting = this.pending.get(message.id);
    this.pending.delete(message.id);
    if (message.error !== undefined) waiting?.reject(new Error(`CDP: ${message.error.message}`));
    else waiting?.resolve(message.result ?? {});
  }
}
