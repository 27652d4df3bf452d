import { writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runCli } from "@concord/cli";
import { firstClientId } from "@concord/core";
import { findAlgorithm } from "@concord/lab";
import { type FaultWindow, type TracedMessage, runSimulation } from "@concord/sim";
import { diagramMessagesMax, renderMessageDiagram } from "../src/diagram.ts";
import { chromiumInstallHint, findChromium, launchBrowser } from "@concord/testkit";
import { captureIo } from "./helpers.ts";

/**
 * tagsBalance checks that an SVG is well formed as far as a diagram needs: every element opened is closed in
 * order, attribute values are quoted, and no raw `<` or `&` sits in text. It returns the first fault, else undefined.
 */
function wellFormedError(svg: string): string | undefined {
  const open: string[] = [];
  const tag = /<(\/?)([a-zA-Z][\w-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  for (let match = tag.exec(svg); match !== null; match = tag.exec(svg)) {
    const text = svg.slice(last, match.index);
    if (/[<>]|&(?!(amp|lt|gt|quot|apos);)/.test(text)) return `bad text before offset ${match.index}: ${text.slice(0, 80)}`;
    last = tag.lastIndex;
    const [, closing, name, , selfClosing] = match;
    if (selfClosing === "/") continue;
    if (closing === "/") {
      if (open.pop() !== name) return `</${name}> at offset ${match.index} closes nothing open`;
    } else open.push(name as string);
  }
  if (/[<>]/.test(svg.slice(last).trim())) return "a tag that does not parse";
  return open.length === 0 ? undefined : `unclosed: ${open.join(", ")}`;
}

const client = firstClientId;
/** handMessages is a hand-sized run: a request, its replication to two followers (one lost to a partition, one to a replica that is down), the reply. */
const handMessages: TracedMessage[] = [
  { sentMs: 10, from: client, to: 1, type: "clientRequest", bytes: 20, arrivals: [{ atMs: 11, received: true }] },
  { sentMs: 11, from: 1, to: 2, type: "appendEntries", bytes: 40, arrivals: [{ atMs: 12, received: true }] },
  { sentMs: 11, from: 1, to: 3, type: "appendEntries", bytes: 40, arrivals: [], dropped: "partition" },
  { sentMs: 12, from: 2, to: 1, type: "appendResponse", bytes: 12, arrivals: [{ atMs: 13, received: true }] },
  { sentMs: 13, from: 1, to: client, type: "clientReply", bytes: 16, arrivals: [{ atMs: 14, received: true }] },
  { sentMs: 15, from: 1, to: 2, type: "heartbeat <&>", bytes: 8, arrivals: [{ atMs: 16, received: false }] },
];
const handFaults: FaultWindow[] = [
  { atMs: 5, kind: "partition", nodes: [3], untilMs: 12, clients: [] },
  { atMs: 14, kind: "crash", nodes: [2], untilMs: 18 },
  { atMs: 100, kind: "crash", nodes: [1], untilMs: 120 },
];

describe("message diagram", () => {
  const svg = renderMessageDiagram({ title: "hand <run> & co", replicas: [1, 2, 3], messages: handMessages, faults: handFaults, fromMs: 0, toMs: 20 });

  it("is a well-formed SVG document", () => {
    expect(svg.startsWith("<svg xmlns=\"http://www.w3.org/2000/svg\"")).toBe(true);
    expect(wellFormedError(svg)).toBeUndefined();
    expect(wellFormedError("<svg><g></svg>")).toBeDefined();
    expect(wellFormedError("<svg><text>a < b</text></svg>")).toBeDefined();
  });

  it("has one lane per replica and client, labelled", () => {
    const lanes = [...svg.matchAll(/<text [^>]*font-size="12" font-weight="bold">([^<]*)<\/text><line/g)].map((match) => match[1]);
    expect(lanes).toEqual(["n1", "n2", "n3", "c0"]);
  });

  it("draws one arrow per copy of a message, with its type, and a cross where it was lost", () => {
    const arrows = [...svg.matchAll(/<g><title>([^<]*)<\/title>/g)].map((match) => match[1] as string);
    expect(arrows).toHaveLength(handMessages.length);
    expect(arrows.map((title) => title.split(":")[0])).toEqual(["clientRequest", "appendEntries", "appendEntries", "appendResponse", "clientReply", "heartbeat &lt;&amp;&gt;"]);
    expect(arrows[2]).toMatch(/n1 → n3 at 11 ms, lost \(partition\)/);
    expect(arrows[5]).toMatch(/reached a replica that was down/);
    // Two crosses in the legend, one for the lost message and one for the copy that reached a replica that was down.
    expect(svg.match(/class="cross"/g)).toHaveLength(4);
    for (const type of ["clientRequest", "appendEntries", "appendResponse", "clientReply"]) expect(svg).toContain(`>${type}</text>`);
  });

  it("ends a lost message's arrow between lanes, not on a bystander's lane", () => {
    const laneXs = [...svg.matchAll(/<line x1="([\d.]+)" y1="[\d.]+" x2="\1" y2="[\d.]+" stroke="#555"/g)].map((match) => Number(match[1]));
    expect(laneXs).toHaveLength(4);
    const lost = /lost \(partition\)<\/title>\s*<line x1="([\d.]+)" y1="[\d.]+" x2="([\d.]+)"/.exec(svg);
    expect(lost).not.toBeNull();
    const [fromX, endX] = [Number(lost?.[1]), Number(lost?.[2])];
    // n1 to n3 passes n2: the arrow ends past n2, between n2 and n3, on no lane.
    expect(endX).toBeGreaterThan(laneXs[1] as number);
    expect(endX).toBeLessThan(laneXs[2] as number);
    expect(fromX).toBe(laneXs[0]);
  });

  it("marks the faults in the window and leaves out those outside it", () => {
    expect(svg).toContain("<title>partition n3 5–12 ms</title>");
    expect(svg).toContain("<title>crash n2 14–18 ms</title>");
    expect(svg).toContain(">restart</text>");
    expect(svg).not.toContain("100–120");
  });

  it("draws a crash that outlasts the heal (its window never closed) to the end of the window, with no restart", () => {
    const lasting = renderMessageDiagram({ title: "lasting", replicas: [1, 2, 3], messages: handMessages, faults: [{ atMs: 14, kind: "crash", nodes: [2], untilMs: Number.NaN }], fromMs: 0, toMs: 20 });
    expect(lasting).toMatch(/<title>crash n2 14–\d+(\.\d+)? ms<\/title>/);
    expect(lasting).not.toContain(">restart</text>");
  });

  it("escapes text", () => {
    expect(svg).toContain("<title>hand &lt;run&gt; &amp; co</title>");
    expect(svg).toContain(">heartbeat &lt;&amp;&gt;</text>");
  });

  it("leaves out labels that would overlap", () => {
    const crowded: TracedMessage[] = Array.from({ length: 50 }, (_, index) => ({ sentMs: 10 + index * 0.001, from: 1, to: 2, type: "ping", bytes: 1, arrivals: [{ atMs: 11, received: true }] }));
    const dense = renderMessageDiagram({ title: "dense", replicas: [1, 2], messages: crowded, faults: [], fromMs: 0, toMs: 1000 });
    expect(dense.match(/<g><title>/g)).toHaveLength(50);
    const labels = dense.match(/>ping<\/text>/g) ?? [];
    expect(labels.length).toBeGreaterThan(0);
    expect(labels.length).toBeLessThan(5);
  });
});

function run(args: string[], io = captureIo()): { code: number; out: string; err: string; files: Record<string, string> } {
  const code = runCli(args, io);
  if (typeof code !== "number") throw new Error("concord sim must run synchronously");
  return { code, out: io.out, err: io.err, files: io.files };
}

function expectUsageError(result: { code: number; out: string; err: string }, message: RegExp): void {
  expect(result.code, result.err).toBe(2);
  expect(result.out).toBe("");
  expect(result.err.trimEnd().split("\n"), result.err).toHaveLength(1);
  expect(result.err.trimEnd()).toMatch(message);
}

describe("a message diagram in headless Chromium", () => {
  it("parses as SVG with no error and holds its lanes and arrows", async () => {
    const chromium = findChromium();
    // Not a skip: a machine without the browser would pass this test vacuously.
    if (chromium === undefined) throw new Error(`the diagram's browser test needs Chromium: ${chromiumInstallHint}`);
    const svg = renderMessageDiagram({ title: "hand <run> & co", replicas: [1, 2, 3], messages: handMessages, faults: handFaults, fromMs: 0, toMs: 20 });
    const browser = await launchBrowser(chromium);
    try {
      const expression = `(() => { const doc = new DOMParser().parseFromString(${JSON.stringify(svg)}, "image/svg+xml");
        return JSON.stringify({ errors: doc.getElementsByTagName("parsererror").length, root: doc.documentElement.tagName, groups: doc.querySelectorAll("g > title").length }); })()`;
      const reply = (await browser.page.send("Runtime.evaluate", { expression, returnByValue: true })) as { result?: { value?: string } };
      expect(JSON.parse(reply.result?.value ?? "null")).toEqual({ errors: 0, root: "svg", groups: handMessages.length + 2 });
    } finally {
      await browser.close();
    }
  }, 60_000);
});

describe("concord sim --diagram", () => {
  it("draws an arrow for every message the run sent in the window, and lanes for every replica", () => {
    const args = ["sim", "--algo", "raft", "--nodes", "3", "--scenario", "leader-crash", "--seed", "1", "--json"];
    const { code, files } = run([...args, "--diagram", "d.svg", "--from-ms", "995", "--to-ms", "1150"]);
    expect(code).toBe(0);
    const svg = files["d.svg"] as string;
    expect(wellFormedError(svg)).toBeUndefined();
    for (const lane of ["n1", "n2", "n3", "c0"]) expect(svg).toContain(`>${lane}</text><line`);
    expect(svg).toMatch(/<title>crash n\d 1001\.054–/);
    const algorithm = findAlgorithm("raft");
    if (algorithm === undefined) throw new Error("raft is not registered");
    const trace = runSimulation({ algorithm, nodes: 3, scenario: "leader-crash", seed: 1, recordMessages: { fromMs: 995, toMs: 1150 } }).messageTrace;
    const copies = (trace?.messages ?? []).reduce((sum, message) => sum + Math.max(1, message.arrivals.length), 0);
    expect(copies).toBeGreaterThan(10);
    expect(svg.match(/<g><title>/g)).toHaveLength(copies);
    expect(svg).toContain(">requestVote</text>");
    expect(svg).toContain("reached a replica that was down");
    // The same run without --diagram prints the same report: drawing changes nothing.
    expect(run([...args, "--diagram", "d.svg", "--from-ms", "995", "--to-ms", "1150"]).out).toBe(run(args).out);
  });

  it("refuses a window with too many messages, naming the flags that narrow it", () => {
    expectUsageError(run(["sim", "--algo", "raft", "--nodes", "3", "--scenario", "leader-crash", "--diagram", "d.svg"]), new RegExp(`^concord: --diagram: the window from 0 ms to the end holds more than ${diagramMessagesMax} messages.*--from-ms/--to-ms$`));
  });

  it("refuses bad windows and a window without --diagram in one line", () => {
    expectUsageError(run(["sim", "--algo", "solo", "--diagram", "d.svg", "--from-ms", "500", "--to-ms", "500"]), /^concord: --to-ms: must be after --from-ms \(500\), got 500$/);
    expectUsageError(run(["sim", "--algo", "solo", "--diagram", "d.svg", "--from-ms", "-3"]), /^concord: --from-ms: expected an integer/);
    expectUsageError(run(["sim", "--algo", "solo", "--diagram", "d.svg", "--to-ms", "soon"]), /^concord: --to-ms: expected an integer/);
    expectUsageError(run(["sim", "--algo", "solo", "--from-ms", "10"]), /^concord: --from-ms and --to-ms choose the window of --diagram/);
  });

  it("refuses an unwritable path in one line", () => {
    const io = captureIo();
    io.writeFile = (path, data) => writeFileSync(path, data);
    expectUsageError(run(["sim", "--algo", "solo", "--ops", "5", "--diagram", "/nonexistent-concord-dir/d.svg", "--to-ms", "600"], io), /^concord: --diagram: cannot write \/nonexistent-concord-dir\/d\.svg: ENOENT/);
  });

  it("lists its flags in --help", () => {
    const { out } = run(["sim", "--help"]);
    for (const flag of ["--diagram", "--from-ms", "--to-ms"]) expect(out).toContain(flag);
  });
});
