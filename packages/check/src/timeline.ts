import { unreachable, type History, type HistoryOperation } from "@concord/core";
import { partsOf } from "./checker.ts";
import type { Model } from "./model.ts";
import type { Verdict } from "./verdict.ts";

/** TimelineOptions tune {@link renderTimeline}. */
export interface TimelineOptions {
  /** title heads the page (default "Concord history"). */
  readonly title?: string;
  /**
   * windows are spans of time to shade behind the operations, each labelled:
   * a nemesis's fault windows, say. On the ordinal axis a window runs from
   * the first event at or after its start to the last before its end.
   */
  readonly windows?: readonly TimelineWindow[];
}

/** TimelineWindow is one shaded span of a timeline, in the history's microseconds. */
export interface TimelineWindow {
  readonly label: string;
  readonly fromUs: number;
  readonly toUs: number;
}

const laneHeightPx = 22;

/**
 * renderTimeline draws a history as a self-contained HTML page (inline CSS
 * and script, no network): one row per client, each operation a bar from its
 * invocation to its completion (an indeterminate one runs to the end, hatched;
 * a failed one is grey), the verdict on top, and, when the history is not
 * linearizable, the evidence's operations outlined and the failing region
 * shaded. The horizontal axis is ordinal (each distinct time gets one column),
 * since only the order of events matters to linearizability; the zoom slider
 * widens it and the part selector shows one key.
 */
export function renderTimeline<S, I, O>(model: Model<S, I, O>, history: History<I, O>, verdict: Verdict, options: TimelineOptions = {}): string {
  const title = options.title ?? "Concord history";
  const columns = columnIndex(history);
  const endColumn = columns.size;
  const column = (us: number): number => columns.get(us) ?? endColumn;
  const partOf = partitionLabels(model, history);
  const parts = [...new Set(partOf.values())];
  const evidenceIds = new Set(verdict.kind === "not-linearizable" ? verdict.evidence.operationIds : []);
  const rows = clientRows(history);

  const body: string[] = [];
  let top = 0;
  for (const row of rows) {
    const height = row.lanes * laneHeightPx + 6;
    body.push(`<div class="row" style="top:${top}px;height:${height}px"><span class="client">client ${row.clientId}</span></div>`);
    for (const { operation, lane } of row.placed) {
      const from = column(operation.invokeUs);
      const open = operation.status === "info" || operation.completeUs === undefined;
      const to = open ? endColumn + 1 : Math.max(column(operation.completeUs!), from);
      const output = operation.status === "ok" ? operation.output : undefined;
      const description = model.describeOperation(operation.input, output);
      const isEvidence = evidenceIds.has(operation.id);
      const classes = ["op", operation.status, open ? "open" : "", isEvidence ? "evidence" : ""].filter((c) => c !== "").join(" ");
      // An evidence bar is labelled with its id, as in the evidence text, and its label may run past a short bar.
      const label = isEvidence ? `#${operation.id} ${description}` : description;
      const end = operation.completeUs === undefined ? "never" : String(operation.completeUs);
      const tip = `#${operation.id} client ${operation.clientId} [${operation.invokeUs}, ${end}] ${description} (${operation.status}) — ${partOf.get(operation.id) ?? ""}`;
      body.push(
        `<div class="${classes}" data-part="${parts.indexOf(partOf.get(operation.id) ?? "")}" title="${escapeHtml(tip)}" ` +
          `style="left:calc(var(--u)*${from});width:calc(var(--u)*${to - from} + 2px);top:${top + 3 + lane * laneHeightPx}px">${isEvidence ? `<span class="label">${escapeHtml(label)}</span>` : escapeHtml(label)}</div>`,
      );
    }
    top += height;
  }
  if (verdict.kind === "not-linearizable") {
    const { fromUs, toUs } = verdict.evidence.region;
    const from = column(fromUs);
    const to = Math.max(column(toUs), from);
    body.push(`<div class="region" style="left:calc(var(--u)*${from});width:calc(var(--u)*${to - from} + 2px);height:${top}px"></div>`);
  }
  const windows = options.windows ?? [];
  const times = [...columns.keys()];
  // firstColumnAtOrAfter: times are in ascending order, so a binary search finds the column.
  const firstColumnAtOrAfter = (us: number): number => {
    let low = 0;
    let high = times.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if ((times[middle] as number) < us) low = middle + 1;
      else high = middle;
    }
    return low;
  };
  windows.forEach((window, index) => {
    const from = firstColumnAtOrAfter(window.fromUs);
    const to = Math.max(from, firstColumnAtOrAfter(window.toUs));
    const tip = `${window.label} [${window.fromUs}, ${window.toUs}]`;
    body.push(
      `<div class="window" title="${escapeHtml(tip)}" style="left:calc(var(--u)*${from});width:calc(var(--u)*${to - from} + 1px);height:${top}px">` +
        `<span class="window-label" style="top:${(index % 3) * 14}px">${escapeHtml(window.label)}</span></div>`,
    );
  });
  const axis = axisLabels(columns);
  const unitPxDefault = Math.max(2, Math.min(40, Math.floor(1600 / Math.max(1, endColumn))));
  const summary = verdictSummary(verdict);

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>
:root { --u: ${unitPxDefault}px; }
body { font: 13px system-ui, sans-serif; margin: 16px; color: #222; }
h1 { font-size: 18px; margin: 0 0 8px; }
.verdict { font-weight: 600; }
.verdict.linearizable { color: #1a7f37; } .verdict.not-linearizable { color: #c62828; } .verdict.unknown { color: #9a6700; }
pre { background: #f6f8fa; padding: 8px; overflow-x: auto; }
.controls { margin: 8px 0; display: flex; gap: 16px; align-items: center; }
.scroll { overflow: auto; border: 1px solid #ddd; position: relative; }
.canvas { position: relative; margin-left: 110px; width: calc(var(--u) * ${endColumn + 2} + 20px); height: ${top + 24}px; }
.axis { position: absolute; top: 0; height: 20px; font-size: 10px; color: #666; border-left: 1px solid #ccc; padding-left: 2px; white-space: nowrap; }
.rows { position: absolute; top: 22px; left: 0; right: 0; }
.row { position: absolute; left: -110px; right: 0; border-top: 1px solid #eee; }
.client { position: sticky; left: 0; display: inline-block; width: 104px; font-size: 11px; color: #555; background: #fff; padding: 4px 2px; }
.op { position: absolute; height: ${laneHeightPx - 4}px; box-sizing: border-box; border-radius: 3px; font-size: 11px; line-height: ${laneHeightPx - 6}px;
  padding: 0 3px; overflow: hidden; white-space: nowrap; text-overflow: ellipsis; background: #b6d7f5; border: 1px solid #5b9bd5; }
.op.fail { background: #e4e4e4; border-color: #aaa; color: #777; }
.op.open { background: repeating-linear-gradient(45deg, #fde7b0, #fde7b0 6px, #fff4d6 6px, #fff4d6 12px); border: 1px dashed #c9a227; }
.op.evidence { border: 2px solid #c62828; color: #7f0000; font-weight: 600; z-index: 3; overflow: visible; text-overflow: clip;
}
.op.evidence .label { background: #fde8e8; padding-right: 4px; border-radius: 2px; }
.op.dim { opacity: 0.12; }
.window { position: absolute; top: 0; background: rgba(120, 80, 200, 0.10); border-left: 1px dashed rgba(90, 50, 170, 0.7);
  border-right: 1px dashed rgba(90, 50, 170, 0.7); z-index: 0; }
.window-label { position: absolute; left: 2px; font-size: 10px; color: #4a2a8a; white-space: nowrap; background: rgba(255, 255, 255, 0.8); }
.region { position: absolute; top: 0; background: rgba(198, 40, 40, 0.12); border-left: 2px solid rgba(198, 40, 40, 0.6);
  border-right: 2px solid rgba(198, 40, 40, 0.6); pointer-events: none; z-index: 1; }
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<div class="verdict ${verdict.kind}">${escapeHtml(summary)}</div>
${verdict.kind === "not-linearizable" ? `<pre>${escapeHtml(verdict.evidence.text)}</pre>` : ""}
<div>${history.length} operations, ${rows.length} clients, ${parts.length} part(s). Blue: completed; hatched: outcome unknown (may take effect any time after its start); grey: failed (did not happen)${windows.length > 0 ? "; purple bands: the faults, from when each was in force to when it was healed" : ""}${verdict.kind === "not-linearizable" ? "; red: the evidence and the failing region" : ""}.</div>
<div class="controls">
<label>zoom <input id="zoom" type="range" min="1" max="60" value="${unitPxDefault}"></label>
<label>show <select id="part"><option value="all">every part</option>${parts.map((label, index) => `<option value="${index}">${escapeHtml(label)}</option>`).join("")}</select></label>
</div>
<div class="scroll"><div class="canvas">
${axis.map(({ column: at, label }) => `<div class="axis" style="left:calc(var(--u)*${at})">${escapeHtml(label)}</div>`).join("\n")}
<div class="rows">
${body.join("\n")}
</div></div></div>
<script>
(function () {
  var root = document.documentElement;
  document.getElementById("zoom").addEventListener("input", function (event) {
    root.style.setProperty("--u", event.target.value + "px");
  });
  document.getElementById("part").addEventListener("change", function (event) {
    var chosen = event.target.value;
    var bars = document.querySelectorAll(".op");
    for (var i = 0; i < bars.length; i++) {
      bars[i].classList.toggle("dim", chosen !== "all" && bars[i].getAttribute("data-part") !== chosen);
    }
  });
})();
</script>
</body>
</html>
`;
}

function verdictSummary(verdict: Verdict): string {
  switch (verdict.kind) {
    case "linearizable":
      return "linearizable";
    case "not-linearizable":
      return `not linearizable (${verdict.evidence.partition})`;
    case "unknown":
      return `unknown: ${verdict.reason}`;
    default:
      return unreachable(verdict);
  }
}

// Maps each distinct time to its rank.
function columnIndex<I, O>(history: History<I, O>): Map<number, number> {
  const times = new Set<number>();
  for (const operation of history) {
    times.add(operation.invokeUs);
    if (operation.completeUs !== undefined) times.add(operation.completeUs);
  }
  const sorted = [...times].sort((a, b) => a - b);
  return new Map(sorted.map((time, index) => [time, index]));
}

function axisLabels(columns: Map<number, number>): { column: number; label: string }[] {
  const labels: { column: number; label: string }[] = [];
  const every = Math.max(1, Math.ceil(columns.size / 40));
  for (const [time, index] of columns) if (index % every === 0) labels.push({ column: index, label: String(time) });
  return labels;
}

function partitionLabels<S, I, O>(model: Model<S, I, O>, history: History<I, O>): Map<number, string> {
  const labels = new Map<number, string>();
  for (const part of partsOf(model, history)) for (const operation of part.history) labels.set(operation.id, part.label);
  return labels;
}

interface ClientRow<I, O> {
  readonly clientId: number;
  readonly lanes: number;
  readonly placed: readonly { operation: HistoryOperation<I, O>; lane: number }[];
}

// One row per client; operations that overlap within a client (an
// indeterminate one runs on after its client moved on) go to further lanes.
function clientRows<I, O>(history: History<I, O>): ClientRow<I, O>[] {
  const byClient = new Map<number, HistoryOperation<I, O>[]>();
  for (const operation of history) {
    const list = byClient.get(operation.clientId);
    if (list === undefined) byClient.set(operation.clientId, [operation]);
    else list.push(operation);
  }
  return [...byClient.keys()]
    .sort((a, b) => a - b)
    .map((clientId) => {
      const operations = [...byClient.get(clientId)!].sort((a, b) => a.invokeUs - b.invokeUs);
      const laneEnds: number[] = [];
      const placed = operations.map((operation) => {
        const end = operation.status === "info" || operation.completeUs === undefined ? Number.POSITIVE_INFINITY : operation.completeUs;
        let lane = laneEnds.findIndex((laneEnd) => laneEnd <= operation.invokeUs);
        if (lane === -1) {
          lane = laneEnds.length;
          laneEnds.push(end);
        } else {
          laneEnds[lane] = end;
        }
        return { operation, lane };
      });
      return { clientId, lanes: Math.max(1, laneEnds.length), placed };
    });
}

/** escapeHtml makes text safe inside HTML elements and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === '"' ? "&quot;" : "&#39;"));
}
