// The measured tables of docs/cap.md and docs/choosing.md are single `concord sim` runs, each named by its command
// (seed 271828). This test runs each row's command in-process and compares the figures the table prints, so that a
// change to a protocol or the simulator that moves one fails here until the guide says what the code does.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runCli } from "@concord/cli";
import { captureIo } from "./helpers.ts";

const docsDir = fileURLToPath(new URL("../../../docs", import.meta.url));
const seed = "271828";

/** SideCounts is one side of a partition in a report's `availability`. */
interface SideCounts {
  readonly invoked: number;
  readonly ok: number;
}

/** SimJson is the part of `concord sim --json` these tables show. */
interface SimJson {
  readonly applicable: boolean;
  readonly linearizable: boolean | null;
  readonly latencyMs: { readonly p50: number; readonly p99: number };
  readonly messages: { readonly perOp: number };
  readonly availability: readonly { readonly isolatedSide: SideCounts; readonly otherSide: SideCounts }[];
}

/** tableRows reads the body rows of the Markdown table whose header row starts with `header`, as trimmed cells. */
function tableRows(markdown: string, header: string): string[][] {
  const lines = markdown.split("\n");
  const start = lines.findIndex((line) => line.startsWith(header));
  if (start < 0) throw new Error(`no table starting "${header}"`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith("|")) break;
    rows.push(line.slice(1, -1).split("|").map((cell) => cell.trim()));
  }
  return rows;
}

/** algoArgs reads an algorithm cell such as "`quorum --option r=1 --option w=1`" or "`quorum` (R = W = 2)" into sim flags. */
function algoArgs(cell: string): string[] {
  const code = /`([^`]+)`/.exec(cell)?.[1];
  if (code === undefined) throw new Error(`no algorithm in the cell "${cell}"`);
  const [algo, ...options] = code.split(/\s+/);
  return ["--algo", algo as string, ...options];
}

async function sim(args: readonly string[]): Promise<SimJson> {
  const io = captureIo();
  const code = await runCli(["sim", ...args, "--seed", seed, "--json"], io);
  // Exit 0: every guarantee held or the run was not applicable; a table never shows a broken run.
  expect(code, `concord sim ${args.join(" ")}: ${io.err}`).toBe(0);
  return JSON.parse(io.out) as SimJson;
}

/** shown is how the guides print a latency: whole milliseconds from 100 up, one decimal below. */
function shown(ms: number): string {
  return ms >= 100 ? String(Math.round(ms)) : String(Math.round(ms * 10) / 10);
}

/** stale says what to do when a table no longer matches its run. */
const stale = (guide: string, row: readonly string[]): string => `docs/${guide} row "${row[0]}" no longer matches its run: run its command and update the table`;
const verdict = (cell: string): boolean => cell.replaceAll("*", "").startsWith("true");
const cap = readFileSync(join(docsDir, "cap.md"), "utf8");
const leaderless = readFileSync(join(docsDir, "leaderless.md"), "utf8");
const choosing = readFileSync(join(docsDir, "choosing.md"), "utf8");

describe("docs/cap.md's measured tables", () => {
  it.each(tableRows(cap, "| algorithm | n | cut-off side served").map((row) => [row[0] as string, row] as const))("partition: %s", async (_algo, row) => {
    const report = await sim([...algoArgs(row[0] as string), "--nodes", row[1] as string, "--scenario", "partition"]);
    const side = report.availability[0];
    if (side === undefined) throw new Error("the partition run reports no availability");
    expect([`${side.isolatedSide.ok} of ${side.isolatedSide.invoked}`, `${side.otherSide.ok} of ${side.otherSide.invoked}`, report.linearizable], stale("cap.md", row)).toEqual([row[2], row[3], verdict(row[4] as string)]);
  });

  it.each(tableRows(cap, "| algorithm | n | p50 ms | p99 ms").map((row) => [row[0] as string, row] as const))("steady: %s", async (_algo, row) => {
    const report = await sim([...algoArgs(row[0] as string), "--nodes", row[1] as string, "--scenario", "steady"]);
    expect([shown(report.latencyMs.p50), shown(report.latencyMs.p99), report.messages.perOp.toFixed(2)], stale("cap.md", row)).toEqual([row[2], row[3], row[4]]);
  });
});

describe("docs/choosing.md's measured tables", () => {
  for (const header of ["| algorithm | analytic, one operation per round |", "| algorithm | analytic write, unbatched |"]) {
    const lines = choosing.split("\n");
    const sizes = [...(lines.find((line) => line.startsWith(header)) ?? "").matchAll(/n = (\d+)/g)].map((match) => match[1] as string);
    it.each(tableRows(choosing, header).map((row) => [row[0] as string, row] as const))(`messages per operation against n: %s`, async (_algo, row) => {
      expect(sizes.length).toBeGreaterThan(0);
      for (const [index, nodes] of sizes.entries()) {
        const report = await sim([...algoArgs(row[0] as string), "--nodes", nodes, "--scenario", "steady"]);
        expect(report.messages.perOp.toFixed(2), `${stale("choosing.md", row)} (n = ${nodes})`).toBe(row[2 + index]);
      }
    });
  }

  it.each(tableRows(choosing, "| command | linearizable |").map((row) => [row[0] as string, row] as const))("a liar: %s", async (_command, row) => {
    const words = (/`pnpm concord sim ([^`]+)`/.exec(row[0] as string)?.[1] ?? "").split(/\s+/);
    expect(words.slice(-2)).toEqual(["--seed", seed]);
    const report = await sim(words.slice(0, -2));
    expect([report.linearizable, `${shown(report.latencyMs.p50)} / ${shown(report.latencyMs.p99)}`, String(report.applicable)], stale("choosing.md", row)).toEqual([verdict(row[1] as string), row[2], row[3]]);
  });
});

describe("docs/leaderless.md's measured table", () => {
  const rows = tableRows(leaderless, "| figure | analytic | measured |").filter((row) => /^`\w+`, messages per operation, steady, n = /.test(row[0] as string));
  it("has a row for each store", () => expect(rows.length).toBe(2));
  it.each(rows.map((row) => [row[0] as string, row] as const))("%s", async (_figure, row) => {
    const sizes = (/n = ([\d /]+)$/.exec(row[0] as string)?.[1] ?? "").split(" / ");
    const measured = (row[2] as string).split(" (")[0]?.split(" / ");
    const shownPerOp: string[] = [];
    for (const nodes of sizes) shownPerOp.push((await sim([...algoArgs(row[0] as string), "--nodes", nodes, "--scenario", "steady"])).messages.perOp.toFixed(2));
    expect(shownPerOp, stale("leaderless.md", row)).toEqual(measured);
  });
});
