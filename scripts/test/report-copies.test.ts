// The guides copy figures out of the committed benchmark report (docs/results/simulated/report.md): docs/cap.md
// its PACELC table, each protocol's guide its recovery after the leader crashes. A copy that no test reads goes
// stale the day the report is made again, so this test reads every copied figure beside the report's own cell:
// regenerating the report without the guides (or editing a guide's figure by hand) fails here.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const docsDir = fileURLToPath(new URL("../../docs/", import.meta.url));
const report = readFileSync(`${docsDir}results/simulated/report.md`, "utf8");

/** tableAfter reads the body rows of the first Markdown table after the line `heading`, as trimmed cells. */
function tableAfter(markdown: string, heading: string): string[][] {
  const lines = markdown.split("\n");
  const at = lines.indexOf(heading);
  if (at < 0) throw new Error(`no line "${heading}"`);
  const header = lines.findIndex((line, index) => index > at && line.startsWith("|"));
  return tableFrom(lines, header);
}

/** tableStarting reads the body rows of the Markdown table whose header row starts with `header`. */
function tableStarting(markdown: string, header: string): string[][] {
  const lines = markdown.split("\n");
  const start = lines.findIndex((line) => line.startsWith(header));
  if (start < 0) throw new Error(`no table starting "${header}"`);
  return tableFrom(lines, start);
}

function tableFrom(lines: readonly string[], header: number): string[][] {
  const rows: string[][] = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith("|")) break;
    rows.push(line.slice(1, -1).split("|").map((cell) => cell.trim()));
  }
  return rows;
}

/** reportCommit is the commit docs/results/README.md says the committed report was made at. */
const reportCommit = /in a worktree at commit ([0-9a-f]{7,})/.exec(readFileSync(`${docsDir}results/README.md`, "utf8"))?.[1];

/** copiers are the guides that copy figures out of the report, each naming the commit it was made at. */
const copiers = ["cap.md", "raft.md", "multipaxos.md", "pbft.md", "paxos.md", "leaderless.md"];

describe("docs/cap.md's PACELC table", () => {
  const header = "| algo | n | reads served (asked) | checker's verdict |";
  const copied = tableStarting(readFileSync(`${docsDir}cap.md`, "utf8"), header);

  it("is the committed report's, row for row", () => {
    expect(copied).toEqual(tableAfter(report, "## PACELC"));
  });
});

describe("every guide that copies the report", () => {
  it.each(copiers)("%s names the commit docs/results/README.md says the report was made at", (guide) => {
    expect(reportCommit).toBeDefined();
    const named = [...readFileSync(`${docsDir}${guide}`, "utf8").matchAll(/made by the full `pnpm bench` at\s+([0-9a-f]{7,})/g)].map((match) => match[1]);
    expect(named.length, `docs/${guide} names no commit for the report`).toBeGreaterThan(0);
    for (const commit of named) expect(commit).toBe(reportCommit);
  });
});

describe("each guide's recovery after the leader crashes", () => {
  // The report's "f=1, leader-crash" table: recovery ms and 1st commit ms are columns 12 and 13.
  const cells = new Map(tableAfter(report, "### f=1, leader-crash").map((row) => [row[0] as string, row]));
  const recoveryOf = (algo: string): { recovery: string; firstCommit: string } => {
    const row = cells.get(algo);
    if (row === undefined) throw new Error(`no ${algo} row in the report's f=1, leader-crash table`);
    return { recovery: row[11] as string, firstCommit: row[12] as string };
  };
  /** asMs writes a report cell "139 [131–178]" as the guides do: "139 ms [131–178]". */
  const asMs = (cell: string): string => cell.replace(/^(\S+)/, "$1 ms");

  for (const [guide, algo] of [
    ["raft.md", "raft"],
    ["multipaxos.md", "multipaxos"],
    ["pbft.md", "pbft"],
    ["paxos.md", "paxos"],
  ] as const) {
    it(`docs/${guide} gives ${algo}'s cell`, () => {
      const text = readFileSync(`${docsDir}${guide}`, "utf8");
      const line = text.split("\n").find((candidate) => /^\| recovery after (the leader|the primary|a replica) crash/.test(candidate));
      if (line === undefined) throw new Error(`docs/${guide} has no "recovery after" row`);
      const { recovery, firstCommit } = recoveryOf(algo);
      expect(line).toContain(`| ${asMs(recovery)}; first commit after the crash ${asMs(firstCommit)}`);
    });
  }

  it("docs/leaderless.md gives eventual's and quorum's cells", () => {
    const text = readFileSync(`${docsDir}leaderless.md`, "utf8");
    const line = text.split("\n").find((candidate) => candidate.startsWith("| recovery after a replica crash"));
    expect(line).toContain(`\`eventual\` ${asMs(recoveryOf("eventual").recovery)}; \`quorum\` ${asMs(recoveryOf("quorum").recovery)}`);
  });
});
