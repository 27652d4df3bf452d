// The message diagrams in the guides (docs/images/*.svg) are figures of Concord's own runs, each drawn by the
// `pnpm concord sim ... --diagram docs/images/<name>.svg` command its guide prints. This test finds every such
// command in docs/*.md, runs it in-process and compares what it draws with the committed file byte for byte, so a
// change to a protocol, the simulator or the drawing that moves a figure fails here until the figure is redrawn:
// `CONCORD_UPDATE_DIAGRAMS=1 pnpm vitest run --project cli test/doc-diagrams.test.ts` rewrites them (say why in the
// commit). Every SVG under docs/images must come from such a command.
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runCli } from "@concord/cli";
import { captureIo } from "./helpers.ts";

const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));
const docsDir = join(repoRoot, "docs");
const update = process.env["CONCORD_UPDATE_DIAGRAMS"] === "1";

/** DiagramCommand is one `concord sim --diagram` command printed in a guide. */
interface DiagramCommand {
  readonly guide: string;
  readonly args: string[];
  readonly file: string;
}

/** diagramCommands reads each backtick span of the guides that is a `pnpm concord sim` drawing into docs/images (spans may wrap lines). */
function diagramCommands(): DiagramCommand[] {
  const guides = readdirSync(docsDir).filter((name) => name.endsWith(".md")).sort();
  return guides.flatMap((guide) => {
    const text = readFileSync(join(docsDir, guide), "utf8");
    return [...text.matchAll(/`(pnpm concord sim [^`]+)`/g)].flatMap((match) => {
      const words = (match[1] as string).split(/\s+/).filter((word) => word !== "" && word !== "\\");
      const file = words[words.indexOf("--diagram") + 1];
      if (!words.includes("--diagram") || file === undefined || !file.startsWith("docs/images/")) return [];
      return [{ guide, args: words.slice(2), file }];
    });
  });
}

const commands = diagramCommands();

describe("the guides' message diagrams", () => {
  it("every SVG under docs/images is drawn by a command printed in a guide", () => {
    const drawn = new Set(commands.map((command) => command.file));
    const svgs = readdirSync(join(docsDir, "images")).filter((name) => name.endsWith(".svg")).map((name) => `docs/images/${name}`);
    expect(svgs.length).toBeGreaterThan(0);
    expect(svgs.filter((svg) => !drawn.has(svg)), "SVGs without a command in a guide").toEqual([]);
  });

  it.each(commands.map((command) => [command.file, command] as const))("%s is what its guide's command draws today", async (_file, command) => {
    const io = captureIo();
    const code = await runCli(command.args, io);
    expect(code, `${command.guide}: concord ${command.args.join(" ")} failed: ${io.err}`).toBe(0);
    const drawn = io.files[command.file];
    if (drawn === undefined) throw new Error(`${command.guide}: concord ${command.args.join(" ")} drew nothing into ${command.file}`);
    const path = join(repoRoot, command.file);
    if (update) writeFileSync(path, drawn);
    expect(drawn === readFileSync(path, "utf8"), `${command.file} differs from what \`concord ${command.args.join(" ")}\` draws (${command.guide}); redraw with CONCORD_UPDATE_DIAGRAMS=1 if the change is intended`).toBe(true);
  });
});
