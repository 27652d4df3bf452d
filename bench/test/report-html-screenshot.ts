// Regenerates docs/images/bench-report.png, the picture of report.html in docs/benchmarks.md:
//
//   pnpm bench --quick --out /tmp/bench-quick
//   pnpm tsx bench/test/report-html-screenshot.ts /tmp/bench-quick/results.json [sweeps.json] [--from=<element id>]
//
// It renders report.html from the results (with their sweeps, or those of a JSON file holding a sweeps
// section in their place), opens it in headless Chromium at a laptop's width,
// waits for every chart, and captures 2000 px of the page from its top, or from the element --from names
// (docs/images/bench-report.png starts at throughput-leader-crash, where the first fault windows are).
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromiumInstallHint, findChromium, launchBrowser } from "@concord/testkit";
import { htmlReport } from "../src/html/report.ts";
import { benchResultsSchema } from "../src/results-schema.ts";

const from = process.argv.slice(2).find((arg) => arg.startsWith("--from="))?.slice("--from=".length);
const [resultsPath, sweepsPath] = process.argv.slice(2).filter((arg) => !arg.startsWith("--"));
if (resultsPath === undefined) {
  console.error("usage: pnpm tsx bench/test/report-html-screenshot.ts <results.json> [sweeps.json]");
  process.exit(2);
}
const chromium = findChromium();
if (chromium === undefined) {
  console.error(`no Chromium: ${chromiumInstallHint}`);
  process.exit(1);
}
const raw = JSON.parse(readFileSync(resultsPath, "utf8")) as Record<string, unknown>;
const html = htmlReport(benchResultsSchema.parse(sweepsPath === undefined ? raw : { ...raw, sweeps: JSON.parse(readFileSync(sweepsPath, "utf8")) }));
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const pagePath = join(dirname(resultsPath), "report-screenshot.html");
writeFileSync(pagePath, html);

const widthPx = 1366;
const heightPx = 2000;
const browser = await launchBrowser(chromium, ["--hide-scrollbars"]);
try {
  const { page } = browser;
  await page.send("Page.enable");
  await page.send("Emulation.setDeviceMetricsOverride", { width: widthPx, height: 900, deviceScaleFactor: 1, mobile: false });
  await page.send("Page.navigate", { url: pathToFileURL(pagePath).href });
  const deadline = Date.now() + 60_000;
  let state = "";
  while (state === "" && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    state = await page.evaluate<string>(`document.body ? (document.body.dataset.charts ?? "") : ""`).catch(() => "");
  }
  if (state !== "drawn") throw new Error(`the report's charts were not drawn (state "${state}")`);
  const topPx = from === undefined ? 0 : await page.evaluate<number>(`(() => { const element = document.getElementById(${JSON.stringify(from)}); if (!element) throw new Error("no element #" + ${JSON.stringify(from)}); return Math.max(0, element.getBoundingClientRect().top + window.scrollY - 12); })()`);
  const shot = await page.send("Page.captureScreenshot", { format: "png", captureBeyondViewport: true, clip: { x: 0, y: topPx, width: widthPx, height: heightPx, scale: 1 } });
  const target = join(repoRoot, "docs", "images", "bench-report.png");
  writeFileSync(target, Buffer.from(shot["data"] as string, "base64"));
  console.log(`wrote ${target} (${widthPx}x${heightPx} from ${from === undefined ? "the top" : `#${from}`}) from ${resultsPath}`);
} finally {
  await browser.close();
}
