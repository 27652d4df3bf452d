// Headless Chromium for report.html's test. It speaks CDP through the Explorer test's client (CdpSession), but
// starts the browser in a process group of its own and, when done, waits until every process in that group
// has exited before removing the profile: Chromium's helper processes outlive the browser for a moment and
// keep writing the profile, so removing it at once failed now and then (ENOTEMPTY).
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CdpSession } from "../../packages/cli/test/cdp-client.ts";

/** ReportBrowser is a headless Chromium and a CDP session on its one page. */
export interface ReportBrowser {
  readonly page: CdpSession;
  close(): Promise<void>;
}

/** launchReportBrowser starts headless Chromium on a free debugging port, in its own process group, and attaches to its first page. */
export async function launchReportBrowser(binary: string): Promise<ReportBrowser> {
  const profile = mkdtempSync(join(tmpdir(), "concord-report-chromium-"));
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  const child = spawn(binary, ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--hide-scrollbars", "--remote-debugging-port=0", `--user-data-dir=${profile}`, "about:blank"], {
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
