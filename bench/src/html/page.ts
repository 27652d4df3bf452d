import { escapeHtml } from "@concord/check";
import { chartLibraries } from "./assets.ts";
import type { Chart } from "./chart.ts";
import { inlineScript, scriptJson } from "./escape.ts";

/** ReportHeader is what the page says first: how it was produced, where, and with which seeds. */
export interface ReportHeader {
  readonly command: string;
  readonly machine: string;
  readonly seeds: readonly number[];
  /** facts are further label/value lines (Node version, package versions, run time, date). */
  readonly facts: readonly { readonly label: string; readonly value: string }[];
}

/** TableCell is a table's text, or a figure with its spread across seeds (drawn small under it, so wide tables still fit a laptop). */
export type TableCell = string | { readonly value: string; readonly range: string };

/** SummaryTable is a table of figures, a row per cell; a broken row is drawn in red. */
export interface SummaryTable {
  readonly header: readonly string[];
  readonly rows: readonly { readonly cells: readonly TableCell[]; readonly broken: boolean }[];
}

/** BrokenGuarantee is one seed of one cell that broke a guarantee, with the command that replays it. */
export interface BrokenGuarantee {
  readonly cell: string;
  readonly seed: number;
  readonly problems: readonly string[];
  readonly replay: string;
}

/** NotApplicableCell is a cell the matrix did not run, because its algorithm does not promise to tolerate the scenario's faults. */
export interface NotApplicableCell {
  readonly cell: string;
  readonly reason: string;
}

/** PredictionRow sets one measured figure beside its analytic prediction. */
export interface PredictionRow {
  readonly series: string;
  readonly figure: string;
  readonly unit: string;
  readonly measured: number;
  readonly predicted: number;
}

/** ReportSection is a titled group of charts, with an optional paragraph before them. */
export interface ReportSection {
  readonly id: string;
  readonly title: string;
  readonly intro?: string;
  readonly charts: readonly Chart[];
}

/** ReportPage is everything report.html shows, in the order it shows it. */
export interface ReportPage {
  readonly header: ReportHeader;
  readonly summary: SummaryTable;
  readonly broken: readonly BrokenGuarantee[];
  readonly notApplicable: readonly NotApplicableCell[];
  readonly sections: readonly ReportSection[];
  readonly predictions: readonly PredictionRow[];
  /** pacelc is the PACELC table, drawn after the guarantees when it has rows. */
  readonly pacelc?: { readonly intro: string; readonly table: SummaryTable };
}

const styles = `
:root{--ink:#1d2330;--muted:#5b6473;--line:#dde1e8;--bad:#b3261e;--bad-bg:#fdecea;--good:#1e7b34;--accent:#1f4e8c}
*{box-sizing:border-box}
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);margin:0;background:#f7f8fa}
main{max-width:1140px;margin:0 auto;padding:24px 28px 48px;background:#fff;min-height:100vh}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:36px 0 8px;padding-bottom:4px;border-bottom:2px solid var(--line)}h3{font-size:16px;margin:22px 0 2px}
p{margin:6px 0}.muted{color:var(--muted)}code,pre{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:12px 0;font-size:14px}dl.facts dt{color:var(--muted)}dl.facts dd{margin:0;overflow-wrap:anywhere}
nav.toc{font-size:14px;margin:10px 0 0}nav.toc a{margin-right:14px;color:var(--accent);text-decoration:none}nav.toc a:hover{text-decoration:underline}
.table-wrap{overflow-x:auto}table{border-collapse:collapse;font-size:12.5px;margin:8px 0}th,td{padding:3px 7px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}th{background:#f0f2f5;position:sticky;top:0;white-space:normal;vertical-align:bottom}td:first-child,th:first-child,td.text,th.text{text-align:left}
td .range{display:block;font-size:11px;color:var(--muted);font-weight:normal}tr.broken td{color:var(--bad);background:var(--bad-bg);font-weight:600}
.verdict{padding:10px 14px;border-radius:6px;margin:12px 0}.verdict.ok{background:#e8f5ec;color:var(--good)}.verdict.bad{background:var(--bad-bg);color:var(--bad);border-left:4px solid var(--bad)}
.verdict ul{margin:6px 0 0;padding-left:20px}.verdict li{margin:6px 0}.verdict pre{background:#fff;color:var(--ink);padding:4px 8px;border-radius:4px;margin:4px 0;white-space:pre-wrap;overflow-wrap:anywhere}
figure.chart{margin:14px 0 26px}figure.chart figcaption{font-size:14px;color:var(--muted);max-width:900px}figure.chart .plot{margin-top:8px;min-height:60px;overflow-x:auto}
figure.chart ul.notes{font-size:13px;color:var(--bad);margin:4px 0}.chart-error{color:var(--bad);font-weight:600}
footer{margin-top:40px;font-size:13px;color:var(--muted);border-top:1px solid var(--line);padding-top:10px}
`;

// One look for every chart: the page's font, and labels a little larger than Vega's defaults so they read on a laptop.
const chartConfig = {
  font: 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif',
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 600, titleColor: "#1d2330", labelColor: "#333" },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 260 },
  header: { labelFontSize: 12, titleFontSize: 12 },
  view: { stroke: "#c8ccd4" },
};

// Draws every chart once the libraries have loaded; marks the body with the outcome so a test (or a reader's
// console) can tell a finished page from one still drawing. A chart that fails says so in its place.
const drawCharts = `
(async () => {
  const charts = JSON.parse(document.getElementById("chart-specs").textContent);
  const options = { renderer: "svg", actions: { export: true, source: false, compiled: false, editor: false }, config: JSON.parse(document.getElementById("chart-config").textContent) };
  const outcomes = await Promise.allSettled(charts.map((chart) => vegaEmbed(document.querySelector("#" + chart.id + " .plot"), chart.spec, options)));
  let failed = 0;
  outcomes.forEach((outcome, index) => {
    if (outcome.status === "fulfilled") return;
    failed += 1;
    const plot = document.querySelector("#" + charts[index].id + " .plot");
    plot.textContent = "This chart could not be drawn: " + outcome.reason;
    plot.className = "plot chart-error";
    console.error("chart " + charts[index].id + " failed:", outcome.reason);
  });
  document.body.dataset.charts = failed === 0 ? "drawn" : "failed";
})();
`;

/** renderReportPage renders report.html: self-contained, with the chart libraries and every chart's data inlined, so it opens offline from file://. */
export function renderReportPage(page: ReportPage): string {
  const charts = page.sections.flatMap((section) => section.charts);
  // Element ids must be unique in the page: the charts are found by theirs, the table of contents links to the sections'.
  const ids = new Set<string>(["guarantees", "broken-guarantees", "pacelc", "summary", "predictions", "not-applicable", "chart-config", "chart-specs"]);
  for (const id of [...page.sections.map((section) => section.id), ...charts.map((chart) => chart.id)]) {
    if (ids.has(id)) throw new Error(`renderReportPage: two elements would share the id "${id}"`);
    ids.add(id);
  }
  const libraries = chartLibraries();
  const sections = page.sections.filter((section) => section.charts.length > 0);
  const toc = [
    ["guarantees", "Guarantees"],
    ...(page.pacelc !== undefined && page.pacelc.table.rows.length > 0 ? [["pacelc", "PACELC"]] : []),
    ...sections.map((section) => [section.id, section.title]),
    ["summary", "Summary table"],
    ...(page.predictions.length > 0 ? [["predictions", "Measured / predicted"]] : []),
    ...(page.notApplicable.length > 0 ? [["not-applicable", "Not applicable"]] : []),
  ];
  const body = [
    `<header><h1>Concord benchmark report</h1>`,
    `<p class="muted">Every figure is measured in virtual time by the deterministic simulator, so it is exact and reproduces from its seed.</p>`,
    renderHeader(page.header),
    `<nav class="toc">${toc.map(([id, title]) => `<a href="#${escapeHtml(id as string)}">${escapeHtml(title as string)}</a>`).join("")}</nav></header>`,
    // The verdict first, then the pictures, then the table that holds every figure.
    `<section id="guarantees"><h2>Guarantees</h2>${renderBroken(page.broken)}</section>`,
    page.pacelc !== undefined && page.pacelc.table.rows.length > 0 ? `<section id="pacelc"><h2>PACELC, measured</h2><p class="muted">${escapeHtml(page.pacelc.intro)}</p>${renderTable(page.pacelc.table)}</section>` : "",
    ...sections.map(renderSection),
    `<section id="summary"><h2>Summary</h2><p class="muted">One row per cell: the median across seeds, with the min–max under it where the seeds differ. Latencies are of operations completed ok; recovery and first commit are each seed's longest over its faults, in virtual ms.</p>${renderTable(page.summary)}</section>`,
    page.predictions.length > 0 ? renderPredictions(page.predictions) : "",
    page.notApplicable.length > 0 ? renderNotApplicable(page.notApplicable) : "",
  ].join("\n");
  const footer = (size: string): string =>
    `<footer>Charts drawn with ${libraries.map((library) => `${escapeHtml(library.name)} ${escapeHtml(library.version)}`).join(", ")}, inlined in this file (it needs no network). ${charts.length} charts. This file: ${size}.</footer>`;
  const assemble = (size: string): string =>
    [
      `<!doctype html>`,
      `<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">`,
      `<title>Concord benchmark report</title><style>${styles}</style>`,
      ...libraries.map((library) => inlineScript(library.code, `${library.name} ${library.version}`)),
      `</head><body><main>`,
      `<noscript><p class="verdict bad">The charts need JavaScript; the tables hold every figure.</p></noscript>`,
      body,
      footer(size),
      `</main>`,
      `<script type="application/json" id="chart-config">${scriptJson(chartConfig)}</script>`,
      `<script type="application/json" id="chart-specs">${scriptJson(charts.map((chart) => ({ id: chart.id, spec: chart.spec })))}</script>`,
      `<script>${drawCharts}</script>`,
      `</body></html>`,
      ``,
    ].join("\n");
  // The footer states the file's own size: settle the figure until it no longer changes the size it states.
  let size = formatBytes(0);
  for (let round = 0; round < 4; round++) {
    const next = formatBytes(Buffer.byteLength(assemble(size), "utf8"));
    if (next === size) break;
    size = next;
  }
  return assemble(size);
}

/** formatBytes writes a size for people: bytes, then KB, then MB (powers of 1024) with one decimal. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes (${bytes} B)`;
  const kilobytes = bytes / 1024;
  if (kilobytes < 1024) return `${kilobytes.toFixed(1)} KB (${bytes.toLocaleString("en")} bytes)`;
  return `${(kilobytes / 1024).toFixed(2)} MB (${bytes.toLocaleString("en")} bytes)`;
}

function renderHeader(header: ReportHeader): string {
  const facts = [
    { label: "command", value: `<code>${escapeHtml(header.command)}</code>` },
    { label: "machine", value: escapeHtml(header.machine) },
    { label: "seeds", value: escapeHtml(describeSeeds(header.seeds)) },
    ...header.facts.map((fact) => ({ label: escapeHtml(fact.label), value: escapeHtml(fact.value) })),
  ];
  return `<dl class="facts">${facts.map((fact) => `<dt>${fact.label}</dt><dd>${fact.value}</dd>`).join("")}</dl>`;
}

/** describeSeeds says "1–5 (5 per cell)" for a run of consecutive seeds, else lists them. */
function describeSeeds(seeds: readonly number[]): string {
  const sorted = [...new Set(seeds)].sort((a, b) => a - b);
  const first = sorted[0];
  const last = sorted[sorted.length - 1];
  if (first === undefined || last === undefined) return "none";
  const consecutive = last - first + 1 === sorted.length;
  return `${consecutive && sorted.length > 2 ? `${first}–${last}` : sorted.join(", ")} (${sorted.length} per cell)`;
}

function renderTable(table: SummaryTable): string {
  const head = `<tr>${table.header.map((cell, index) => `<th${index < 2 ? ' class="text"' : ""}>${escapeHtml(cell)}</th>`).join("")}</tr>`;
  const cell = (content: TableCell): string => (typeof content === "string" ? escapeHtml(content) : `${escapeHtml(content.value)}<span class="range">${escapeHtml(content.range)}</span>`);
  const rows = table.rows.map((row) => `<tr${row.broken ? ' class="broken"' : ""}>${row.cells.map((content, index) => `<td${index < 2 ? ' class="text"' : ""}>${cell(content)}</td>`).join("")}</tr>`);
  return `<div class="table-wrap"><table><thead>${head}</thead><tbody>${rows.join("")}</tbody></table></div>`;
}

function renderBroken(broken: readonly BrokenGuarantee[]): string {
  if (broken.length === 0) return `<p class="verdict ok">Every applicable cell kept every guarantee on every seed: no invariant was violated and every checked history was linearizable.</p>`;
  const items = broken.map(
    (entry) =>
      `<li><strong>${escapeHtml(entry.cell)}, seed ${entry.seed}</strong>: ${entry.problems.map((problem) => escapeHtml(problem)).join("; ")}<br>replay with:<pre>${escapeHtml(entry.replay)}</pre></li>`,
  );
  return `<div class="verdict bad" id="broken-guarantees"><strong>${broken.length} run${broken.length === 1 ? "" : "s"} broke a guarantee.</strong> Each replays exactly from its seed:<ul>${items.join("")}</ul></div>`;
}

function renderSection(section: ReportSection): string {
  const intro = section.intro === undefined ? "" : `<p>${escapeHtml(section.intro)}</p>`;
  return `<section id="${escapeHtml(section.id)}"><h2>${escapeHtml(section.title)}</h2>${intro}${section.charts.map(renderChart).join("\n")}</section>`;
}

function renderChart(chart: Chart): string {
  const notes = chart.notes.length === 0 ? "" : `<ul class="notes">${chart.notes.map((note) => `<li>${escapeHtml(note)}</li>`).join("")}</ul>`;
  return `<figure class="chart" id="${escapeHtml(chart.id)}" data-axis-titles="${escapeHtml(JSON.stringify(chart.axisTitles))}"><h3>${escapeHtml(chart.title)}</h3><figcaption><strong>How to read it:</strong> ${escapeHtml(chart.howToRead)}</figcaption>${notes}<div class="plot"></div></figure>`;
}

function renderPredictions(rows: readonly PredictionRow[]): string {
  const table: SummaryTable = {
    header: ["cluster", "figure", "measured", "predicted", "measured / predicted"],
    rows: rows.map((row) => ({
      cells: [row.series, `${row.figure} (${row.unit})`, formatFigure(row.measured), formatFigure(row.predicted), row.predicted === 0 ? "–" : `${(row.measured / row.predicted).toFixed(2)}×`],
      broken: false,
    })),
  };
  return `<section id="predictions"><h2>Measured against predicted</h2><p class="muted">Each measured figure beside its analytic prediction for that protocol at that n (message counts, latency in one-way delays, the queueing model's saturation throughput). A ratio far from 1 says the model leaves something out, or the implementation does more work than the protocol needs.</p>${renderTable(table)}</section>`;
}

function renderNotApplicable(cells: readonly NotApplicableCell[]): string {
  return `<section id="not-applicable"><h2>Not applicable</h2><p class="muted">Cells the matrix did not run: the algorithm does not promise to tolerate the scenario's faults, so a failure there would say nothing about it.</p><ul>${cells.map((cell) => `<li><strong>${escapeHtml(cell.cell)}</strong>: ${escapeHtml(cell.reason)}</li>`).join("")}</ul></section>`;
}

/** formatFigure writes a figure with as many decimals as its size deserves. */
function formatFigure(value: number): string {
  const magnitude = Math.abs(value);
  return value.toFixed(magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : 2);
}
