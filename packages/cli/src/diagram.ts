import { type NodeId, firstClientId } from "@concord/core";
import type { FaultWindow, TracedMessage } from "@concord/sim";

/** diagramMessagesMax is the most messages one diagram draws: past it the arrows blur into a band, so the caller must narrow the window. */
export const diagramMessagesMax = 1500;

/** MessageDiagramInput is what a message diagram draws: a run's traced messages and fault windows over a window of its virtual time. */
export interface MessageDiagramInput {
  readonly title: string;
  /** replicas: the replica ids that get a lane even when they sent nothing in the window. */
  readonly replicas: readonly NodeId[];
  readonly messages: readonly TracedMessage[];
  readonly faults: readonly FaultWindow[];
  /** fromMs and toMs: the window drawn, in milliseconds from the start of the run (toMs is clamped to the last event). */
  readonly fromMs: number;
  readonly toMs: number;
}

const laneGapPx = 130;
const marginLeftPx = 70;
const marginTopPx = 92;
const marginBottomPx = 30;
const plotHeightMinPx = 560;
const plotHeightMaxPx = 4000;
/** pxPerMessage: the height each message gets, so that a busy window grows tall rather than dense. */
const pxPerMessage = 14;
/** labelHeightPx and labelCharPx: a label's box, for leaving out a label that would overlap one already drawn. */
const labelHeightPx = 11;
const labelCharPx = 5.6;
const crossPx = 4;

const colors = {
  delivered: "#1f5fa8",
  lost: "#c0392b",
  down: "#8e44ad",
  crash: "#c0392b",
  partition: "#f39c12",
  other: "#7f8c8d",
  lane: "#555",
} as const;

/**
 * renderMessageDiagram draws a space-time (Lamport) diagram as an SVG
 * document, as Maelstrom draws its messages.svg: one vertical lane per
 * replica and client, time flowing down, one arrow per copy of a message from
 * its send to its arrival labelled by its type, a message the network lost
 * drawn as an arrow that ends in a cross half a lane short of its receiver (a copy that reached a replica that
 * was down in purple), and the faults over the lanes: crashes, pauses and
 * slow replicas as bands on their lanes, partitions as shaded spans naming
 * who was cut off. Labels are thinned where they would overlap.
 */
export function renderMessageDiagram(input: MessageDiagramInput): string {
  const lanes = laneIds(input);
  const laneX = new Map(lanes.map((id, index) => [id, marginLeftPx + laneGapPx / 2 + index * laneGapPx]));
  const endMs = Math.max(input.fromMs + 1, Number.isFinite(input.toMs) ? input.toMs : lastEventMs(input.messages, input.fromMs));
  const plotHeightPx = Math.min(plotHeightMaxPx, Math.max(plotHeightMinPx, input.messages.length * pxPerMessage));
  const pxPerMs = plotHeightPx / (endMs - input.fromMs);
  const y = (ms: number): number => marginTopPx + (Math.min(Math.max(ms, input.fromMs), endMs) - input.fromMs) * pxPerMs;
  const widthPx = marginLeftPx + lanes.length * laneGapPx + 20;
  const heightPx = marginTopPx + plotHeightPx + marginBottomPx;
  const x = (id: NodeId): number => laneX.get(id) ?? marginLeftPx;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${widthPx}" height="${heightPx}" viewBox="0 0 ${widthPx} ${heightPx}" font-family="sans-serif" font-size="10">`,
    `<title>${escapeXml(input.title)}</title>`,
    `<defs><marker id="head" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="context-stroke"/></marker></defs>`,
    `<rect width="${widthPx}" height="${heightPx}" fill="white"/>`,
    `<text x="10" y="16" font-size="13" font-weight="bold">${escapeXml(input.title)}</text>`,
    ...legend(),
    ...faultMarks(input, lanes, x, y, widthPx, endMs),
    ...axis(input.fromMs, endMs, y, widthPx),
    ...lanes.map((id) => lane(id, x(id), marginTopPx, marginTopPx + plotHeightPx)),
    ...arrows(input.messages, x, y, endMs),
    "</svg>",
  ];
  return parts.join("\n") + "\n";
}

/** laneIds lists the lanes: every replica, then every client that sent or received in the window or was hit by a fault, in id order. */
function laneIds(input: MessageDiagramInput): NodeId[] {
  const ids = new Set<NodeId>(input.replicas);
  for (const message of input.messages) ids.add(message.from).add(message.to);
  for (const fault of input.faults) if (overlaps(fault, input.fromMs, input.toMs)) for (const id of fault.nodes) ids.add(id);
  return [...ids].sort((a, b) => a - b);
}

/** laneName names a lane as the reports do: replicas by id, clients from c0. */
export function laneName(id: NodeId): string {
  return id >= firstClientId ? `c${id - firstClientId}` : `n${id}`;
}

function lastEventMs(messages: readonly TracedMessage[], fromMs: number): number {
  let last = fromMs;
  for (const message of messages) {
    last = Math.max(last, message.sentMs);
    for (const arrival of message.arrivals) last = Math.max(last, arrival.atMs);
  }
  return last;
}

function overlaps(fault: FaultWindow, fromMs: number, toMs: number): boolean {
  const untilMs = Number.isNaN(fault.untilMs) ? Number.POSITIVE_INFINITY : fault.untilMs;
  return untilMs >= fromMs && fault.atMs <= toMs;
}

function lane(id: NodeId, x: number, topPx: number, bottomPx: number): string {
  return `<g><text x="${x}" y="${topPx - 8}" text-anchor="middle" font-size="12" font-weight="bold">${escapeXml(laneName(id))}</text><line x1="${x}" y1="${topPx}" x2="${x}" y2="${bottomPx}" stroke="${colors.lane}" stroke-width="1.5"/></g>`;
}

/** axis draws the time axis on the left in milliseconds, with faint rules across, at round steps. */
function axis(fromMs: number, endMs: number, y: (ms: number) => number, widthPx: number): string[] {
  const stepMs = niceStepMs((endMs - fromMs) / 10);
  const out: string[] = [`<text x="8" y="${marginTopPx - 8}" font-size="10">ms</text>`];
  for (let ms = Math.ceil(fromMs / stepMs) * stepMs; ms <= endMs; ms += stepMs) {
    const at = y(ms).toFixed(1);
    out.push(`<line x1="${marginLeftPx - 6}" y1="${at}" x2="${widthPx - 10}" y2="${at}" stroke="#eee"/>`);
    out.push(`<text x="${marginLeftPx - 10}" y="${at}" dy="3" text-anchor="end">${escapeXml(formatMs(ms))}</text>`);
  }
  return out;
}

function niceStepMs(roughMs: number): number {
  const power = 10 ** Math.floor(Math.log10(Math.max(roughMs, 1e-3)));
  for (const factor of [1, 2, 5]) if (factor * power >= roughMs) return factor * power;
  return 10 * power;
}

function formatMs(ms: number): string {
  return Number.isInteger(ms) ? String(ms) : ms.toFixed(3).replace(/0+$/, "");
}

/**
 * arrows draws one arrow per copy of each message; a lost message stops half
 * a lane short of its receiver and ends in a cross. A label is drawn at the middle of
 * its arrow unless it would overlap a label already drawn.
 */
function arrows(messages: readonly TracedMessage[], x: (id: NodeId) => number, y: (ms: number) => number, endMs: number): string[] {
  const out: string[] = [];
  const placed: { x: number; y: number; halfWidth: number }[] = [];
  const lostLatencyMs = typicalLatencyMs(messages);
  const label = (type: string, midX: number, midY: number, color: string): void => {
    const halfWidth = (type.length * labelCharPx) / 2;
    // Labels are placed in time order, so only the last few can overlap this one.
    for (let i = placed.length - 1; i >= 0 && i >= placed.length - 40; i--) {
      const other = placed[i] as { x: number; y: number; halfWidth: number };
      if (Math.abs(other.y - midY) < labelHeightPx && Math.abs(other.x - midX) < other.halfWidth + halfWidth) return;
    }
    placed.push({ x: midX, y: midY, halfWidth });
    out.push(`<text x="${midX.toFixed(1)}" y="${(midY - 2).toFixed(1)}" text-anchor="middle" fill="${color}" stroke="white" stroke-width="3" paint-order="stroke">${escapeXml(type)}</text>`);
  };
  for (const message of messages) {
    const x1 = x(message.from);
    const y1 = y(message.sentMs);
    if (message.arrivals.length === 0) {
      // It stops half a lane short of its receiver, between two lanes, so that the cross sits on no one's lane.
      const xTo = x(message.to);
      const x2 = xTo === x1 ? x1 + laneGapPx / 2 : xTo - (Math.sign(xTo - x1) * laneGapPx) / 2;
      const y2 = y(Math.min(endMs, message.sentMs + (lostLatencyMs * 3) / 4));
      out.push(`<g><title>${escapeXml(`${message.type}: ${laneName(message.from)} → ${laneName(message.to)} at ${formatMs(message.sentMs)} ms, lost (${message.dropped ?? "?"})`)}</title>`);
      out.push(`<line x1="${x1}" y1="${y1.toFixed(1)}" x2="${x2.toFixed(1)}" y2="${y2.toFixed(1)}" stroke="${colors.lost}" stroke-dasharray="3,2"/>${cross(x2, y2, colors.lost)}</g>`);
      label(message.type, (x1 + x2) / 2, (y1 + y2) / 2, colors.lost);
      continue;
    }
    for (const arrival of message.arrivals) {
      const x2 = x(message.to);
      const y2 = y(arrival.atMs);
      const color = arrival.received ? colors.delivered : colors.down;
      const what = `${message.type}: ${laneName(message.from)} → ${laneName(message.to)}, ${formatMs(message.sentMs)} → ${formatMs(arrival.atMs)} ms, ${message.bytes} bytes${arrival.received ? "" : ", reached a replica that was down"}`;
      const end = arrival.received ? ` marker-end="url(#head)"` : "";
      out.push(`<g><title>${escapeXml(what)}</title><line x1="${x1}" y1="${y1.toFixed(1)}" x2="${x2}" y2="${y2.toFixed(1)}" stroke="${color}"${end}/>${arrival.received ? "" : cross(x2, y2, color)}</g>`);
      label(message.type, (x1 + x2) / 2, (y1 + y2) / 2, color);
    }
  }
  return out;
}

/** typicalLatencyMs is the median delay of the copies that arrived, how far down a lost message's arrow is drawn (three quarters of it). */
function typicalLatencyMs(messages: readonly TracedMessage[]): number {
  const delays = messages.flatMap((message) => message.arrivals.map((arrival) => arrival.atMs - message.sentMs)).sort((a, b) => a - b);
  return delays[Math.floor(delays.length / 2)] ?? 1;
}

function cross(cx: number, cy: number, color: string): string {
  const a = `${(cx - crossPx).toFixed(1)},${(cy - crossPx).toFixed(1)}`;
  const b = `${(cx + crossPx).toFixed(1)},${(cy + crossPx).toFixed(1)}`;
  const c = `${(cx - crossPx).toFixed(1)},${(cy + crossPx).toFixed(1)}`;
  const d = `${(cx + crossPx).toFixed(1)},${(cy - crossPx).toFixed(1)}`;
  return `<path class="cross" d="M${a} L${b} M${c} L${d}" stroke="${color}" stroke-width="2"/>`;
}

/**
 * faultMarks draws each fault that overlaps the window: a partition as a
 * shaded span across the diagram naming the replicas (and clients) it cut
 * off; a fault on some lanes as a band on those lanes; one on no lane (a
 * link fault) as a span; an instant one (restart, transfer) as a tick.
 */
function faultMarks(
  input: MessageDiagramInput,
  lanes: readonly NodeId[],
  x: (id: NodeId) => number,
  y: (ms: number) => number,
  widthPx: number,
  endMs: number,
): string[] {
  const out: string[] = [];
  for (const fault of input.faults) {
    if (!overlaps(fault, input.fromMs, input.toMs)) continue;
    const untilMs = Number.isNaN(fault.untilMs) ? endMs : fault.untilMs;
    const top = y(fault.atMs);
    const bottom = y(untilMs);
    const hit = [...fault.nodes, ...(fault.clients ?? [])].filter((id) => lanes.includes(id));
    const names = hit.map(laneName).join(",");
    const text = `${fault.kind}${names === "" ? "" : ` ${names}`} ${formatMs(fault.atMs)}–${formatMs(untilMs)} ms`;
    const color = fault.kind === "crash" ? colors.crash : fault.kind === "partition" ? colors.partition : colors.other;
    const tip = `<title>${escapeXml(text)}</title>`;
    if (fault.kind === "partition" || hit.length === 0) {
      out.push(`<g class="fault">${tip}<rect x="${marginLeftPx}" y="${top.toFixed(1)}" width="${widthPx - marginLeftPx - 10}" height="${Math.max(1, bottom - top).toFixed(1)}" fill="${color}" fill-opacity="0.08"/>`);
      for (const id of hit) out.push(`<rect x="${x(id) - 6}" y="${top.toFixed(1)}" width="12" height="${Math.max(1, bottom - top).toFixed(1)}" fill="${color}" fill-opacity="0.35"/>`);
      out.push(`<text x="${widthPx - 12}" y="${(top + 11).toFixed(1)}" text-anchor="end" fill="${color}" font-weight="bold">${escapeXml(text)}</text></g>`);
      continue;
    }
    out.push(`<g class="fault">${tip}`);
    for (const id of hit) {
      if (untilMs > fault.atMs) out.push(`<rect x="${x(id) - 5}" y="${top.toFixed(1)}" width="10" height="${(bottom - top).toFixed(1)}" fill="${color}" fill-opacity="0.3"/>`);
      out.push(`<line x1="${x(id) - 14}" y1="${top.toFixed(1)}" x2="${x(id) + 14}" y2="${top.toFixed(1)}" stroke="${color}" stroke-width="3"/>`);
      out.push(`<text x="${x(id) + 16}" y="${(top + 3).toFixed(1)}" fill="${color}" font-weight="bold">${escapeXml(fault.kind)}</text>`);
      // A crash still open at the end (one that outlasts the heal) has no restart to mark.
      if (untilMs > fault.atMs && untilMs <= endMs && fault.kind === "crash" && !Number.isNaN(fault.untilMs)) {
        out.push(`<line x1="${x(id) - 14}" y1="${bottom.toFixed(1)}" x2="${x(id) + 14}" y2="${bottom.toFixed(1)}" stroke="${color}" stroke-width="3" stroke-dasharray="4,2"/>`);
        out.push(`<text x="${x(id) + 16}" y="${(bottom + 3).toFixed(1)}" fill="${color}">restart</text>`);
      }
    }
    out.push("</g>");
  }
  return out;
}

function legend(): string[] {
  const row = 34;
  return [
    `<g class="legend" font-size="10">`,
    `<line x1="10" y1="${row}" x2="40" y2="${row}" stroke="${colors.delivered}" marker-end="url(#head)"/><text x="46" y="${row + 3}">delivered</text>`,
    `<line x1="110" y1="${row}" x2="140" y2="${row}" stroke="${colors.lost}" stroke-dasharray="3,2"/>${cross(140, row, colors.lost)}<text x="150" y="${row + 3}">lost (partition or drop)</text>`,
    `<line x1="280" y1="${row}" x2="310" y2="${row}" stroke="${colors.down}"/>${cross(310, row, colors.down)}<text x="320" y="${row + 3}">reached a replica that was down</text>`,
    `<rect x="10" y="${row + 12}" width="30" height="10" fill="${colors.crash}" fill-opacity="0.3"/><text x="46" y="${row + 21}">crash (to restart)</text>`,
    `<rect x="150" y="${row + 12}" width="30" height="10" fill="${colors.partition}" fill-opacity="0.35"/><text x="186" y="${row + 21}">partition (cut-off lanes darker)</text>`,
    `<rect x="350" y="${row + 12}" width="30" height="10" fill="${colors.other}" fill-opacity="0.3"/><text x="386" y="${row + 21}">other fault</text>`,
    `<text x="10" y="${row + 38}" fill="#666">time flows down; hover an arrow for its times and size</text>`,
    `</g>`,
  ];
}

/** escapeXml makes text safe inside an SVG element or attribute. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;");
}
