import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { findAlgorithm } from "@concord/lab";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Browser as ReportBrowser, type CdpSession, chromiumInstallHint, findChromium, launchBrowser } from "@concord/testkit";
import { inlineScript, scriptJson } from "../src/html/escape.ts";
import { latencyThroughputChart } from "../src/html/latency-throughput-chart.ts";
import { formatBytes, renderReportPage } from "../src/html/page.ts";
import { htmlReport } from "../src/html/report.ts";
import { spreadOf } from "../src/html/spread.ts";
import { sweepsHtmlExtras } from "../src/html/sweeps-extras.ts";
import { type Sweeps, runSweeps } from "../src/sweeps/index.ts";
import { reportFixture } from "./report-html-fixture.ts";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { algorithmColors, faultColors, faultFallbackColor, instantFaultColor, spareColors } from "../src/html/chart.ts";
import { throughputOverTimeChart } from "../src/html/throughput-chart.ts";
import { benchResultsSchema } from "../src/results-schema.ts";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

/** readAlgorithmLegends reads, per chart, each "algorithm" legend's entries: the label and the colour of its symbol. */
const readAlgorithmLegends = `[...document.querySelectorAll("figure.chart")].map((figure) => ({
  id: figure.id,
  entries: [...figure.querySelectorAll(".plot svg .role-legend")]
    .filter((legend) => legend.querySelector(".role-legend-title text")?.textContent === "algorithm")
    .flatMap((legend) => {
      const labels = [...legend.querySelectorAll(".role-legend-label text")].map((text) => text.textContent);
      const symbols = [...legend.querySelectorAll(".role-legend-symbol path")].map((path) => {
        const fill = path.getAttribute("fill");
        return fill !== null && fill !== "none" && fill !== "transparent" ? fill : path.getAttribute("stroke");
      });
      return labels.map((label, index) => ({ label, colour: symbols[index] }));
    }),
}))`;

/** RenderedChart is what the test reads off one drawn figure, as a reader's eye would: its SVG's axes and legends. */
interface RenderedChart {
  readonly id: string;
  readonly svg: boolean;
  readonly declaredAxisTitles: string[];
  readonly axisTitles: string[];
  readonly axes: number;
  readonly tickLabels: number;
  readonly marks: number;
  readonly legends: number;
}

const readCharts = `[...document.querySelectorAll("figure.chart")].map((figure) => {
  const svg = figure.querySelector(".plot svg");
  const all = (selector) => svg ? [...svg.querySelectorAll(selector)] : [];
  return {
    id: figure.id,
    svg: svg !== null,
    declaredAxisTitles: JSON.parse(figure.dataset.axisTitles),
    axisTitles: [...new Set(all(".role-axis-title text").map((text) => text.textContent))],
    axes: all(".role-axis").length,
    tickLabels: all(".role-axis-label text").filter((text) => text.textContent.trim() !== "").length,
    marks: all(".mark-rect path, .mark-line path, .mark-area path, .mark-rule line, .mark-symbol path").length,
    legends: all(".role-legend").length,
  };
})`;

/** waitForCharts waits until the page says every chart is drawn (or one failed); an answer, not a sleep. */
async function waitForCharts(page: CdpSession): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const state = await page.evaluate<string>(`document.body ? (document.body.dataset.charts ?? "") : ""`).catch(() => "");
    if (state !== "") return state;
    if (Date.now() > deadline) throw new Error("report.html did not finish drawing its charts within 30 s");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** pageProblems lists the console errors and warnings, exceptions and network requests the page made (it must make none: it is self-contained). */
function pageProblems(page: CdpSession, fileUrl: string): string[] {
  return page.events.flatMap((event) => {
    if (event.method === "Runtime.exceptionThrown") return [`exception: ${JSON.stringify(event.params["exceptionDetails"]).slice(0, 400)}`];
    if (event.method === "Runtime.consoleAPICalled" && ["error", "assert", "warning"].includes(String(event.params["type"]))) return [`console.${String(event.params["type"])}: ${JSON.stringify(event.params["args"]).slice(0, 400)}`];
    if (event.method === "Log.entryAdded") {
      const entry = event.params["entry"] as { level: string; text: string; url?: string };
      if (entry.level === "error" || entry.level === "warning") return [`log ${entry.level}: ${entry.text} ${entry.url ?? ""}`];
    }
    if (event.method === "Network.requestWillBeSent") {
      const url = (event.params["request"] as { url: string }).url;
      if (url !== fileUrl && !url.startsWith("data:") && !url.startsWith("blob:")) return [`network request: ${url}`];
    }
    return [];
  });
}

/** openReport writes the page to a file and opens it from file://, as a reader would, returning the events seen. */
async function openReport(page: CdpSession, directory: string, name: string, html: string): Promise<string> {
  const path = join(directory, name);
  writeFileSync(path, html);
  const url = pathToFileURL(path).href;
  page.events.length = 0;
  await page.send("Page.navigate", { url });
  return url;
}

describe("report.html's pieces", () => {
  it("scriptJson keeps data from closing the script element or opening a comment, and reads back the same", () => {
    const hostile = { name: "</script><script>alert(1)</script>", comment: "<!-- x -->", amp: "a&b", separators: "\u2028\u2029" };
    const written = scriptJson(hostile);
    expect(written).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(written)).toEqual(hostile);
  });

  it("inlineScript refuses library code that would end its element early", () => {
    expect(() => inlineScript('var s = "</script>";', "bad")).toThrow(/bad contains "<\/script"/);
    expect(() => inlineScript("var s = '<!--';", "bad")).toThrow(/<!--/);
    expect(inlineScript("var ok = 1;", "ok")).toContain("var ok = 1;");
  });

  it("spreadOf gives the median (mean of the middle two for an even count), min and max", () => {
    expect(spreadOf([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3, count: 3 });
    expect(spreadOf([4, 1, 2, 3])).toEqual({ median: 2.5, min: 1, max: 4, count: 4 });
    expect(() => spreadOf([])).toThrow();
  });

  it("htmlReport inlines the chart libraries, loads nothing, states its own size exactly, and stays under 2 MB", () => {
    const { results, extras } = reportFixture();
    const html = htmlReport(results, extras);
    expect(html).not.toMatch(/<script[^>]*\bsrc=/i);
    expect(html).not.toMatch(/<link[^>]*\bhref=/i);
    expect(html).toContain("vega-lite 6.5.0");
    const bytes = Buffer.byteLength(html, "utf8");
    expect(html).toContain(`This file: ${formatBytes(bytes)}.`);
    expect(bytes).toBeLessThan(2 * 1024 * 1024);
  });

  it("renderReportPage refuses a section and a chart that would share an element id", () => {
    const { results, extras } = reportFixture();
    const chart = latencyThroughputChart(extras.latencyThroughput ?? []);
    const page = { header: { command: "c", machine: "m", seeds: [1], facts: [] }, summary: { header: [], rows: [] }, broken: [], notApplicable: [], predictions: [] };
    expect(() => renderReportPage({ ...page, sections: [{ id: chart.id, title: "t", charts: [chart] }] })).toThrow(/share the id "latency-throughput"/);
    expect(htmlReport(results, extras)).toContain('id="latency-throughput"');
  });

  it("throughput over time draws its panels in the runs' order (the matrix's: the solo baseline first), not alphabetically", () => {
    const run = (series: string) => ({ series, seed: 1, samples: [{ timeMs: 50, opsPerSec: 10 }], faults: [{ kind: "crash", atMs: 10, untilMs: 30 }] });
    const chart = throughputOverTimeChart({ scenario: "leader-crash", windowMs: 50, runs: ["solo n=1 (baseline)", "raft n=3 (f=1)", "multipaxos n=3 (f=1)", "eventual n=2 (f=1)"].map(run) });
    expect((chart.spec as unknown as { facet: { sort: unknown } }).facet.sort).toEqual(["solo n=1 (baseline)", "raft n=3 (f=1)", "multipaxos n=3 (f=1)", "eventual n=2 (f=1)"]);
  });

  it("shades fault windows in colours far from every algorithm's (and from red, kept for broken guarantees)", () => {
    const rgb = (hex: string): number[] => [1, 3, 5].map((at) => Number.parseInt(hex.slice(at, at + 2), 16));
    // The "redmean" distance, a cheap approximation of how far apart two colours look; Tableau's teal and set2's green, the old crash shading, were 39 apart.
    const distance = (a: string, b: string): number => {
      const [r1 = 0, g1 = 0, b1 = 0] = rgb(a);
      const [r2 = 0, g2 = 0, b2 = 0] = rgb(b);
      const r = (r1 + r2) / 2;
      return Math.sqrt((2 + r / 256) * (r1 - r2) ** 2 + 4 * (g1 - g2) ** 2 + (2 + (255 - r) / 256) * (b1 - b2) ** 2);
    };
    const series = [...Object.values(algorithmColors), ...spareColors, "#d62728"];
    for (const [kind, colour] of [...Object.entries(faultColors), ["other", faultFallbackColor], ["instant", instantFaultColor]] as const) {
      for (const other of series) expect(distance(colour, other), `${kind} ${colour} against ${other}`).toBeGreaterThan(80);
    }
  });

  it("htmlReport lists broken guarantees with their replay commands, and the cells that were not applicable", () => {
    const { results, extras } = reportFixture();
    const html = htmlReport(results, extras);
    expect(html).toContain('class="verdict bad"');
    expect(html).toContain("multipaxos n=3, partition, seed 2");
    expect(html).toContain("pnpm concord sim --algo multipaxos --nodes 3 --scenario partition --seed 2");
    expect(html).toContain('<tr class="broken">');
    expect(html).toContain("solo n=1 (baseline), leader-crash");
    expect(html).toContain("leader-crash, fault 1 (crash): no recovery until throughput is back to 90% before the workload ended, for pbft n=4 (f=1) (seed 3)");
    const kept = htmlReport({ ...results, broken: [] }, {});
    expect(kept).toContain('class="verdict ok"');
    expect(kept).not.toContain('id="latency-throughput"');
  });
});

const chromium = findChromium();

describe.skipIf(chromium === undefined)(`report.html in headless Chromium${chromium === undefined ? ` (skipped: no Chromium found; ${chromiumInstallHint})` : ""}`, () => {
  let browser: ReportBrowser | undefined;
  let directory = "";
  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), "concord-report-html-"));
    browser = await launchBrowser(chromium as string, ["--hide-scrollbars"]);
    await Promise.all([browser.page.send("Runtime.enable"), browser.page.send("Log.enable"), browser.page.send("Page.enable"), browser.page.send("Network.enable")]);
    // A laptop's screen: the report must read there without sideways scrolling.
    await browser.page.send("Emulation.setDeviceMetricsOverride", { width: 1366, height: 900, deviceScaleFactor: 1, mobile: false });
  });
  afterAll(async () => {
    try {
      await browser?.close();
    } finally {
      if (directory !== "") rmSync(directory, { recursive: true, force: true });
    }
  });

  it("draws every chart with its axes, titles, tick labels and marks, offline, with no console error or warning", async () => {
    const page = (browser as ReportBrowser).page;
    const { results, extras } = reportFixture();
    const url = await openReport(page, directory, "report.html", htmlReport(results, extras));
    expect(await waitForCharts(page)).toBe("drawn");
    const charts = await page.evaluate<RenderedChart[]>(readCharts);
    expect(charts.map((chart) => chart.id)).toEqual([
      "throughput-leader-crash",
      "throughput-partition",
      "latency-cdf-leader-crash",
      "latency-cdf-partition",
      "messages-raft",
      "messages-multipaxos",
      "messages-pbft",
      "pacelc-chart",
      "availability",
      "recovery",
      "prediction-ratios",
      "latency-throughput",
      "scalability",
    ]);
    for (const chart of charts) {
      expect(chart.svg, `${chart.id} drew no SVG`).toBe(true);
      expect(chart.axisTitles, `${chart.id}'s axis titles`).toEqual(expect.arrayContaining(chart.declaredAxisTitles));
      expect(chart.axes, `${chart.id}'s axes`).toBeGreaterThanOrEqual(2);
      expect(chart.tickLabels, `${chart.id}'s tick labels`).toBeGreaterThan(4);
      expect(chart.marks, `${chart.id}'s marks`).toBeGreaterThan(0);
      expect(chart.legends, `${chart.id}'s legends`).toBeGreaterThanOrEqual(1);
    }
    const ids = await page.evaluate<string[]>(`[...document.querySelectorAll("[id]")].map((element) => element.id)`);
    expect(ids.filter((id, index) => ids.indexOf(id) !== index), "element ids used twice").toEqual([]);
    const width = await page.evaluate<{ page: number; view: number }>(`({ page: document.documentElement.scrollWidth, view: window.innerWidth })`);
    expect(width.page, "the report scrolls sideways on a 1366 px screen").toBeLessThanOrEqual(width.view);
    expect(pageProblems(page, url)).toEqual([]);
  });

  it("draws every chart of a real small pnpm bench run with its axes, each algorithm in its own colour in every chart, with no console error", async () => {
    const page = (browser as ReportBrowser).page;
    const out = join(directory, "real-run");
    const args = ["--quick", "--algo", "solo,raft,eventual", "--scenario", "steady,leader-crash,partition", "--seeds", "2", "--ops", "60", "--workers", "1", "--out", out];
    const bench = spawnSync(process.execPath, ["--import", "tsx", "bench/src/main.ts", ...args], { cwd: repoRoot, encoding: "utf8", timeout: 120_000 });
    expect(bench.status, bench.stderr).toBe(0);
    const results = benchResultsSchema.parse(JSON.parse(readFileSync(join(out, "results.json"), "utf8")));
    const url = await openReport(page, directory, "real-run.html", readFileSync(join(out, "report.html"), "utf8"));
    expect(await waitForCharts(page)).toBe("drawn");
    const charts = await page.evaluate<RenderedChart[]>(readCharts);
    expect(charts.map((chart) => chart.id)).toEqual([
      "throughput-steady",
      "throughput-leader-crash",
      "throughput-partition",
      "latency-cdf-steady",
      "latency-cdf-leader-crash",
      "latency-cdf-partition",
      "messages-solo",
      "messages-raft",
      "messages-eventual",
      "pacelc-chart",
      "availability",
      "recovery",
      "prediction-ratios",
      "latency-throughput",
      "scalability",
    ]);
    for (const chart of charts) {
      expect(chart.svg, `${chart.id} drew no SVG`).toBe(true);
      expect(chart.axisTitles, `${chart.id}'s axis titles`).toEqual(expect.arrayContaining(chart.declaredAxisTitles));
      expect(chart.axes, `${chart.id}'s axes`).toBeGreaterThanOrEqual(2);
      expect(chart.tickLabels, `${chart.id}'s tick labels`).toBeGreaterThan(4);
      expect(chart.marks, `${chart.id}'s marks`).toBeGreaterThan(0);
      expect(chart.legends, `${chart.id}'s legends`).toBeGreaterThanOrEqual(1);
    }
    // One colour per algorithm: every chart that tells the algorithms apart by colour says so in an "algorithm" legend, in the same colours.
    const legends = await page.evaluate<{ id: string; entries: { label: string; colour: string | null }[] }[]>(readAlgorithmLegends);
    const coloured = legends.filter((legend) => legend.entries.length > 0);
    expect(coloured.map((legend) => legend.id)).toEqual(charts.map((chart) => chart.id).filter((id) => !id.startsWith("messages-")));
    for (const legend of coloured) {
      for (const entry of legend.entries) expect(entry.colour?.toLowerCase(), `${entry.label} in ${legend.id}`).toBe(algorithmColors[entry.label]);
    }
    expect(new Set(coloured.flatMap((legend) => legend.entries.map((entry) => entry.label)))).toEqual(new Set(results.options.algorithms));
    // The PACELC table: a row per algorithm and read level, Raft's lease and stale reads after its default ones.
    expect(await page.evaluate<string[]>(`[...document.querySelectorAll("#pacelc tbody tr td:first-child")].map((cell) => cell.textContent)`)).toEqual(results.pacelc.map((row) => row.algo));
    expect(results.pacelc.map((row) => `${row.algo} ${row.readLevel}`)).toEqual(["solo linearizable", "raft linearizable", "raft lease", "raft stale", "eventual stale"]);
    expect(pageProblems(page, url)).toEqual([]);
  }, 180_000);

  it("shows hostile text from the results as text: no markup in it runs", async () => {
    const page = (browser as ReportBrowser).page;
    const hostile = "</script><script>window.pwned = 1</script><!--";
    const { results, extras } = reportFixture({ command: `pnpm bench ${hostile}`, problem: `[invariant] ${hostile}`, scenarioSuffix: `-<b>${hostile}</b>` });
    const url = await openReport(page, directory, "hostile.html", htmlReport(results, extras));
    expect(await waitForCharts(page)).toBe("drawn");
    expect(await page.evaluate<string>(`String(window.pwned)`)).toBe("undefined");
    expect(await page.evaluate<string>(`document.querySelector("#broken-guarantees").textContent`)).toContain(hostile);
    expect(await page.evaluate<number>(`document.querySelectorAll("b").length`)).toBe(0);
    expect(pageProblems(page, url)).toEqual([]);
  });

  it("draws a real quick sweep of Raft and PBFT from results.sweeps through sweepsHtmlExtras: curves with the model beside them, scalability in n, the measured/predicted table", async () => {
    const page = (browser as ReportBrowser).page;
    const sweeps: Sweeps = await runSweeps({ algorithms: ["raft", "pbft"].map((name) => findAlgorithm(name)).filter((algorithm) => algorithm !== undefined), quick: true });
    const extras = sweepsHtmlExtras(sweeps);
    expect(extras.latencyThroughput.map((curve) => curve.series)).toEqual(sweeps.latencyThroughput.map((curve) => `${curve.algo} n=${curve.nodes} (f=${curve.f})`));
    expect(extras.scalability.length).toBe(sweeps.scalability.length);
    expect(extras.predictions.length).toBeGreaterThan(0);
    // The sweeps as pnpm bench records them: htmlReport finds them in results.json's sweeps.
    const { results } = reportFixture();
    const url = await openReport(page, directory, "sweeps.html", htmlReport({ ...results, sweeps }));
    expect(await waitForCharts(page)).toBe("drawn");
    const charts = (await page.evaluate<RenderedChart[]>(readCharts)).filter((chart) => chart.id === "latency-throughput" || chart.id === "scalability");
    expect(charts.map((chart) => chart.id)).toEqual(["latency-throughput", "scalability"]);
    for (const chart of charts) {
      expect(chart.axisTitles, `${chart.id}'s axis titles`).toEqual(expect.arrayContaining(chart.declaredAxisTitles));
      expect(chart.marks, `${chart.id}'s marks`).toBeGreaterThan(0);
    }
    expect(await page.evaluate<number>(`document.querySelectorAll("#predictions tbody tr").length`)).toBe(extras.predictions.length);
    expect(pageProblems(page, url)).toEqual([]);
  });
});
