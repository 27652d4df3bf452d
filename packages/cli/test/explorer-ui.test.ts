import { defaultBounds, worldSetup } from "@concord/explore";
import { findAlgorithm } from "@concord/lab";
import { describe, expect, it } from "vitest";
import { type ExplorerServer, startExplorerServer } from "../src/explorer/server.ts";
import { decodePath } from "../src/explorer/view.ts";
import { type Browser, type CdpSession, chromiumInstallHint, findChromium, launchBrowser } from "@concord/testkit";

/** PageState is what the test reads off the rendered page, as a reader would. */
interface PageState {
  readonly path: string;
  readonly key: string;
  readonly roles: string[];
  readonly commits: string[];
  readonly links: { readonly text: string; readonly className: string }[];
}

const readPage = `(() => ({
  path: document.body.dataset.path,
  key: document.getElementById("key").textContent,
  roles: [...document.querySelectorAll("#replicas td.role")].map((cell) => cell.textContent),
  commits: [...document.querySelectorAll("#replicas td.commit")].map((cell) => cell.textContent),
  links: [...document.querySelectorAll("a.action")].map((link) => ({ text: link.textContent, className: link.className })),
}))()`;

/** waitForState polls until the page has rendered the state at `path` (an answer, not a sleep: it stops as soon as the page is there). */
async function waitForState(page: CdpSession, path: string): Promise<PageState> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const ready = await pageStatus(page);
    if (ready === `state:${path}`) return page.evaluate<PageState>(readPage);
    if (ready.startsWith("error: ")) throw new Error(`the page shows an error: ${ready}`);
    if (Date.now() > deadline) throw new Error(`the page did not show the state ${path} within 20 s (it shows "${ready}")`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** pageStatus says what the page shows; while a navigation swaps documents there is no context to ask, which reads as "nothing yet". */
async function pageStatus(page: CdpSession): Promise<string> {
  try {
    return await page.evaluate<string>(`!document.body ? "" : document.body.dataset.ready === "state" ? "state:" + document.body.dataset.path : (document.body.dataset.ready === "error" ? "error: " + document.getElementById("error").textContent : "")`);
  } catch (error) {
    if (/context/i.test((error as Error).message)) return "";
    throw error;
  }
}

/** click presses and releases the mouse on the link (an action's, unless `selector` says otherwise) with this text, as a user would. */
async function click(page: CdpSession, text: string, selector = "a.action"): Promise<string> {
  const target = await page.evaluate<{ x: number; y: number; path: string } | null>(`(() => {
    const link = [...document.querySelectorAll(${JSON.stringify(selector)})].find((candidate) => candidate.textContent === ${JSON.stringify(text)});
    if (!link) return null;
    link.scrollIntoView({ block: "center" });
    // The first line's box: a long link wraps, and the middle of its bounding box may fall between its lines.
    const box = link.getClientRects()[0];
    return { x: box.left + Math.min(box.width / 2, 20), y: box.top + box.height / 2, path: link.getAttribute("href").replace("#/state/", "") };
  })()`);
  if (target === null) throw new Error(`no action link "${text}" on the page`);
  for (const type of ["mousePressed", "mouseReleased"]) await page.send("Input.dispatchMouseEvent", { type, x: target.x, y: target.y, button: "left", clickCount: 1 });
  return target.path;
}

function consoleErrors(page: CdpSession): string[] {
  return page.events.flatMap((event) => {
    if (event.method === "Runtime.exceptionThrown") return [`exception: ${JSON.stringify(event.params["exceptionDetails"]).slice(0, 300)}`];
    if (event.method === "Runtime.consoleAPICalled" && (event.params["type"] === "error" || event.params["type"] === "assert")) return [`console.${String(event.params["type"])}: ${JSON.stringify(event.params["args"]).slice(0, 300)}`];
    if (event.method === "Log.entryAdded") {
      const entry = event.params["entry"] as { level: string; text: string; url?: string };
      if (entry.level === "error") return [`log: ${entry.text} ${entry.url ?? ""}`];
    }
    return [];
  });
}

describe("the Explorer in headless Chromium", () => {
  it("clicks through a Raft election and a commit; back, forward and reload show the same states; no console errors", async () => {
    const chromium = findChromium();
    // Not a skip: a machine without the browser would pass this test vacuously.
    if (chromium === undefined) throw new Error(`the Explorer's browser test needs Chromium: ${chromiumInstallHint}`);
    const raft = findAlgorithm("raft");
    if (raft === undefined) throw new Error("raft is not registered");
    const setup = worldSetup(raft, { nodes: 3, clients: 1, ops: 1, options: { preVote: false, checkQuorum: false } });
    let server: ExplorerServer | undefined;
    let found: ExplorerServer | undefined;
    let browser: Browser | undefined;
    try {
      server = await startExplorerServer({ algo: "raft", setup, bounds: defaultBounds }, 0);
      browser = await launchBrowser(chromium);
      const { page } = browser;
      await Promise.all([page.send("Runtime.enable"), page.send("Log.enable"), page.send("Page.enable")]);
      await page.send("Page.navigate", { url: server.url });
      let shown = await waitForState(page, "");
      expect(shown.roles).toEqual(["follower", "follower", "follower"]);

      // Walk: node 0 campaigns; deliver the oldest-keyed message each time; the client invokes once a leader is up.
      const visited: PageState[] = [shown];
      const clicked: string[] = [];
      let next = "timeout at 0";
      for (let step = 0; step < 20 && !shown.commits.some((commit) => Number(commit) > 0); step++) {
        clicked.push(next);
        shown = await waitForState(page, await click(page, next));
        visited.push(shown);
        const invoke = shown.links.find((link) => link.text === "client c0 invokes its next operation");
        const deliver = shown.links.find((link) => link.className === "action deliver");
        next = shown.roles.includes("leader") && invoke !== undefined ? invoke.text : (deliver?.text ?? "");
        if (next === "") throw new Error(`nothing to deliver after: ${clicked.join("; ")}`);
      }
      expect(clicked.slice(0, 4).map((text) => text.split(" {")[0])).toEqual(["timeout at 0", "deliver requestVote 0→1", "deliver requestVote 0→2", "deliver voteResponse 1→0"]);
      expect(clicked).toContain("client c0 invokes its next operation");
      expect(shown.roles[0]).toBe("leader");
      expect(shown.commits.some((commit) => Number(commit) > 0), `no commit after: ${clicked.join("; ")}`).toBe(true);

      // Back and forward walk the browser's history through the same states.
      const last = visited[visited.length - 1] as PageState;
      const before = visited[visited.length - 2] as PageState;
      await page.evaluate("history.back()");
      expect((await waitForState(page, before.path)).key).toBe(before.key);
      await page.evaluate("history.back()");
      const twoBack = visited[visited.length - 3] as PageState;
      expect((await waitForState(page, twoBack.path)).key).toBe(twoBack.key);
      await page.evaluate("history.forward()");
      expect((await waitForState(page, before.path)).key).toBe(before.key);
      await page.evaluate("history.forward()");
      expect(await waitForState(page, last.path)).toEqual(last);

      // The URL alone names the state: a reload, and a fresh visit to a middle state's address, show it again.
      // Mark the old document first, so that what follows is read off the reloaded one, not the page before it.
      await page.evaluate(`document.body.dataset.ready = "before reload"`);
      await page.send("Page.reload");
      expect(await waitForState(page, last.path)).toEqual(last);
      const middle = visited[3] as PageState;
      await page.send("Page.navigate", { url: "about:blank" });
      await page.send("Page.navigate", { url: `${server.url}#/state/${middle.path}` });
      expect(await waitForState(page, middle.path)).toEqual(middle);

      // A counterexample (here the walk's first three steps, standing in for one the search found) opens at its first step.
      const counterexample = { property: "planted", message: "the test's stand-in", actions: decodePath(middle.path) };
      found = await startExplorerServer({ algo: "raft", setup, bounds: defaultBounds, counterexample }, 0);
      await page.send("Page.navigate", { url: found.url });
      await waitForState(page, "");
      expect(await page.evaluate<string>(`document.getElementById("counterexample").textContent`)).toContain("This is its step 0 of 3.");
      shown = await waitForState(page, await click(page, "next step of the counterexample", "#counterexample-next"));
      expect(shown).toEqual(visited[1]);
      expect(await page.evaluate<string>(`document.getElementById("counterexample").textContent`)).toContain("This is its step 1 of 3.");

      expect(consoleErrors(page)).toEqual([]);
    } finally {
      await browser?.close();
      await server?.close();
      await found?.close();
    }
  });
});
