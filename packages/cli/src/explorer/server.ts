import { readFileSync } from "node:fs";
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { ConfigError } from "@concord/core";
import { type ExploreBounds, type ExploreResult, type Strategy, type WorldSetup, World, defaultSometimes, explore } from "@concord/explore";
import type { CommandIo } from "../io.ts";
import { UsageError } from "../io.ts";
import { type ExplorerModel, explorerState } from "./api.ts";

/** explorerPortDefault is the port `concord explore --ui` listens on without --port (Stateright's Explorer uses 3000 too). */
export const explorerPortDefault = 3000;

/** explorerHost is where the server listens: the loopback only, since the page can drive any computation the model allows. */
const explorerHost = "127.0.0.1";

/** ExplorerServer is a running Explorer: its address and how to stop it. */
export interface ExplorerServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** explorerPage is the Explorer's one page, read once: static HTML with its script and style inline. */
let explorerPage: string | undefined;
function page(): string {
  explorerPage ??= readFileSync(new URL("./page.html", import.meta.url), "utf8");
  return explorerPage;
}

/**
 * startExplorerServer serves the Explorer for `model` on `port` (0: any free
 * port) on the loopback interface: `GET /` is the page, `GET
 * /api/state?path=<token>` the state a path leads to (see explorerState). It
 * resolves once the server listens and rejects if it cannot (a port in use).
 */
export function startExplorerServer(model: ExplorerModel, port: number): Promise<ExplorerServer> {
  const server = createServer((request, response) => handle(model, request, response));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, explorerHost, () => {
      server.off("error", reject);
      const bound = (server.address() as AddressInfo).port;
      resolve({ url: `http://${explorerHost}:${bound}/`, port: bound, close: () => closeServer(server) });
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error === undefined ? resolve() : reject(error)));
    server.closeAllConnections();
  });
}

function handle(model: ExplorerModel, request: IncomingMessage, response: ServerResponse): void {
  const url = new URL(request.url ?? "/", "http://explorer.invalid");
  if (request.method !== "GET" && request.method !== "HEAD") return send(response, 405, "application/json", JSON.stringify({ error: `method ${request.method ?? "?"} not allowed: the Explorer only reads` }));
  try {
    if (url.pathname === "/" || url.pathname === "/index.html") return send(response, 200, "text/html; charset=utf-8", page());
    if (url.pathname === "/api/state") {
      const result = explorerState(model, url.searchParams.get("path") ?? "");
      return send(response, result.status, "application/json", JSON.stringify(result.body));
    }
    if (url.pathname === "/favicon.ico") return send(response, 204, "image/x-icon", "");
    send(response, 404, "application/json", JSON.stringify({ error: `no such page: ${url.pathname} (the Explorer serves / and /api/state?path=...)` }));
  } catch (error) {
    // A replica that throws is a violation inside the model, not here; reaching this is a bug of the Explorer, shown to the page rather than killing the server.
    send(response, 500, "application/json", JSON.stringify({ error: `explorer: ${error instanceof Error ? error.message : String(error)}` }));
  }
}

function send(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, { "content-type": type, "cache-control": "no-store" });
  response.end(body);
}

/** ExplorerUiOptions are what `concord explore --ui` hands the Explorer. */
export interface ExplorerUiOptions {
  readonly algo: string;
  readonly setup: WorldSetup;
  readonly bounds: ExploreBounds;
  readonly strategy: Strategy;
  /** find: search within the bounds first and, on a violation, open the page at the counterexample's first step. */
  readonly find: boolean;
  readonly port: number;
}

/**
 * runExplorerUi implements `concord explore --ui`: it builds the initial
 * state (a bad protocol option is a usage error, thrown at once), runs the
 * search first when asked, then serves the Explorer and prints its URL. The
 * promise settles only if the server cannot listen (exit code 2, the reason
 * printed); otherwise the server runs until the process is interrupted
 * (`started` hands a test the server, to close it).
 */
export function runExplorerUi(options: ExplorerUiOptions, io: CommandIo, started?: (server: ExplorerServer) => void): Promise<number> {
  try {
    World.initial(options.setup);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
  let counterexample: ExplorerModel["counterexample"];
  if (options.find) {
    io.stderr(`explore: searching within the bounds before serving the Explorer...\n`);
    const result: ExploreResult = explore(options.setup, { bounds: options.bounds, strategy: options.strategy, sometimes: defaultSometimes(options.setup.algorithm.kvSemantics === "write-once") });
    if (result.violation !== undefined) {
      counterexample = { property: result.violation.property, message: result.violation.message, actions: result.violation.steps.map((step) => step.action) };
      io.stderr(`explore: VIOLATION of ${result.violation.property} after ${result.violation.steps.length} steps; the page opens at the counterexample's first step\n`);
    } else {
      io.stderr(`explore: ${result.uniqueStates.toLocaleString("en-US")} unique states, no violation (${result.outcome}); the page opens at the initial state\n`);
    }
  }
  const model: ExplorerModel = { algo: options.algo, setup: options.setup, bounds: options.bounds, counterexample };
  return startExplorerServer(model, options.port).then(
    (server) => {
      io.stdout(`Explorer for ${options.algo} with ${options.setup.nodes} replicas: ${server.url}\n(press Ctrl-C to stop)\n`);
      started?.(server);
      return new Promise<number>(() => undefined);
    },
    (error: unknown) => {
      const code = (error as { code?: unknown }).code;
      const reason = code === "EADDRINUSE" ? `port ${options.port} is in use; choose another with --port (0: any free port)` : code === "EACCES" ? `port ${options.port} needs privileges; choose one above 1023` : String(error);
      io.stderr(`concord: explore --ui: cannot listen on ${explorerHost}:${options.port}: ${reason}\n`);
      return 2;
    },
  );
}
