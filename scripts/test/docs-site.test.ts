// The documentation site as a reader gets it from `pnpm run docs` (issue 15): built into a temporary directory (the
// build first, as `pnpm run docs` runs it, then scripts/docs.ts with --out), opened from disk in headless Chromium with
// no server, its index and a guide shown with no console error, the guides first in the navigation and linked
// with the API pages, and nothing fetched from the network.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CdpSession, chromiumInstallHint, findChromium, launchBrowser } from "@concord/testkit";
import { firstHeading, orderedGuides } from "../docs.ts";
import { buildLocked } from "../packaging.ts";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const site = mkdtempSync(join(tmpdir(), "concord-docs-site-"));

/** consoleErrors are the page's exceptions, console errors and browser log errors (a refused file, say). */
function consoleErrors(page: CdpSession): string[] {
  return page.events.flatMap((event) => {
    if (event.method === "Runtime.exceptionThrown") return [`exception: ${JSON.stringify(event.params["exceptionDetails"]).slice(0, 300)}`];
    if (event.method === "Runtime.consoleAPICalled" && event.params["type"] === "error") return [`console.error: ${JSON.stringify(event.params["args"]).slice(0, 300)}`];
    if (event.method === "Log.entryAdded") {
      const entry = event.params["entry"] as { level: string; text: string };
      if (entry.level === "error") return [`log: ${entry.text.slice(0, 300)}`];
    }
    return [];
  });
}

/** open navigates to a page of the site and waits until typedoc's scripts have filled in its navigation. */
async function open(page: CdpSession, path: string): Promise<{ navigation: { text: string; href: string }[]; title: string; requests: string[] }> {
  const requests: string[] = [];
  const before = page.events.length;
  await page.send("Page.navigate", { url: pathToFileURL(join(site, path)).href });
  const deadline = Date.now() + 20_000;
  for (;;) {
    // The project's own link is in the page; the rest of the navigation arrives with navigation.js.
    const filled = await page.evaluate<boolean>(`document.readyState === "complete" && [...document.querySelectorAll(".tsd-navigation a")].some((link) => link.href.includes("/modules/"))`).catch(() => false);
    if (filled) break;
    if (Date.now() > deadline) throw new Error(`${path}: the navigation was not filled in within 20 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  for (const event of page.events.slice(before)) if (event.method === "Network.requestWillBeSent") requests.push(String((event.params["request"] as { url: string }).url));
  const navigation = await page.evaluate<{ text: string; href: string }[]>(`[...document.querySelectorAll(".tsd-navigation a")].map((link) => ({ text: link.textContent.trim(), href: link.href }))`);
  return { navigation, title: await page.evaluate<string>("document.title"), requests };
}

beforeAll(() => {
  buildLocked(repoRoot);
  const docs = spawnSync(process.execPath, [join(repoRoot, "node_modules", "tsx", "dist", "cli.mjs"), join(repoRoot, "scripts", "docs.ts"), "--out", site], { cwd: repoRoot, encoding: "utf8", timeout: 300_000 });
  if (docs.status !== 0) {
    // typedoc's warnings and errors say what to fix: an export without a doc comment, a broken link...
    const said = `${docs.stdout}${docs.stderr}`.split("\n").filter((line) => /warning|error/i.test(line)).slice(0, 20).join("\n");
    throw new Error(`scripts/docs.ts --out exited ${String(docs.status)}${docs.error === undefined ? "" : ` (${docs.error.message})`}:\n${said}`);
  }
}, 420_000);

afterAll(() => rmSync(site, { recursive: true, force: true }));

describe("the documentation site", () => {
  it("has a page for every guide and the API reference of every public package", () => {
    expect(existsSync(join(site, "index.html"))).toBe(true);
    const documents = readdirSync(join(site, "documents"));
    expect(documents.length).toBe(orderedGuides(join(repoRoot, "docs")).length);
    expect(readdirSync(join(site, "modules")).some((name) => name.includes("concord_raft"))).toBe(true);
  });

  it("opens from disk in headless Chromium: the index, two guides and an API page show no console error and fetch nothing from the network, the guides come first in reading order on every page, and a guide's diagram shows", async () => {
    const chromium = findChromium();
    // Not a skip: a machine without the browser would pass this test vacuously.
    if (chromium === undefined) throw new Error(`the documentation site's browser test needs Chromium: ${chromiumInstallHint}`);
    const browser = await launchBrowser(chromium);
    try {
      const { page } = browser;
      for (const domain of ["Runtime", "Log", "Page", "Network"]) await page.send(`${domain}.enable`);
      const index = await open(page, "index.html");
      expect(index.title).toContain("Concord");
      const guideTitles = orderedGuides(join(repoRoot, "docs")).map((file) => {
        const text = readFileSync(join(repoRoot, file), "utf8");
        return /^---\ntitle: (.+)\n/.exec(text)?.[1] ?? firstHeading(text);
      });
      const texts = index.navigation.map((link) => link.text);
      // The project's own link, then the guides in reading order, then the packages.
      expect(texts.slice(1, 1 + guideTitles.length)).toEqual(guideTitles);
      expect(index.navigation.some((link) => link.href.includes("/modules/"))).toBe(true);
      const gettingStarted = index.navigation.find((link) => link.text === guideTitles[0]);
      if (gettingStarted === undefined) throw new Error("no link to the first guide");
      expect(await page.evaluate<boolean>(`[...document.querySelectorAll(".tsd-typography a")].some((link) => link.href.includes("/documents/"))`), "the index (README) links the guides").toBe(true);

      const relativeOf = (href: string): string => href.slice(pathToFileURL(site).href.length + 1);
      const guide = await open(page, relativeOf(gettingStarted.href));
      expect(guide.title).toContain(guideTitles[0]);
      expect(await page.evaluate<boolean>(`[...document.querySelectorAll(".tsd-typography a")].some((link) => link.href.includes("/documents/"))`), "the guide links other guides").toBe(true);

      // A guide with a message diagram shows it (the SVG copied beside the pages), and an API page lists the guides too.
      const raftGuide = index.navigation.find((link) => link.text === "Raft in Concord");
      const raftModule = index.navigation.find((link) => link.href.includes("/modules/") && link.text.endsWith("raft"));
      if (raftGuide === undefined || raftModule === undefined) throw new Error(`no link to Raft's guide or to @concord/raft's API page in ${JSON.stringify(texts)}`);
      const withDiagram = await open(page, relativeOf(raftGuide.href));
      const images = await page.evaluate<{ src: string; loaded: boolean }[]>(`[...document.images].map((image) => ({ src: image.src, loaded: image.complete && image.naturalWidth > 0 }))`);
      expect(images.some((image) => image.src.endsWith(".svg"))).toBe(true);
      expect(images.filter((image) => !image.loaded)).toEqual([]);
      const api = await open(page, relativeOf(raftModule.href));
      expect(api.title).toContain("raft");
      expect(api.navigation.map((link) => link.text).slice(1, 1 + guideTitles.length)).toEqual(guideTitles);

      expect(consoleErrors(page)).toEqual([]);
      const requests = [index, guide, withDiagram, api].flatMap((opened) => opened.requests);
      expect(requests.length).toBeGreaterThan(0);
      expect(requests.filter((url) => !url.startsWith("file:") && !url.startsWith("data:"))).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
