// Every TypeScript sample in README.md and docs/*.md is compiled, and run, here, so that none goes stale (issue 15).
// A ```ts block is type-checked against the workspace packages (by their public names, under the repository's
// strict options) and run with tsx; it must exit 0. The line before a block may mark it:
//   <!-- sample: compile-only -->  type-checked, not run (it needs a real disk, a cluster, a secret file...);
//   <!-- sample: excerpt -->       neither: a shape with `...` holes, shown to name the parts (keep these few).
// A run sample followed by a line "prints" and a ```text block must print exactly that block.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { afterAll, describe, expect, it } from "vitest";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

/** SampleMode says what the test does with a sample: compile and run it, only compile it, or leave it alone. */
type SampleMode = "run" | "compile-only" | "excerpt";

/** DocSample is one ```ts block of a Markdown file. */
interface DocSample {
  /** where is `file:line` of the block's opening fence. */
  readonly where: string;
  readonly code: string;
  readonly mode: SampleMode;
  /** prints is the output the document says the sample prints, if it says. */
  readonly prints?: string;
}

/** samplesOf reads the ```ts blocks of one Markdown text, each with the mode its marker line gives (run without one). */
function samplesOf(file: string, markdown: string): DocSample[] {
  const lines = markdown.split("\n");
  const samples: DocSample[] = [];
  for (let index = 0; index < lines.length; index++) {
    if (lines[index] !== "```ts") continue;
    const end = lines.indexOf("```", index + 1);
    if (end < 0) throw new Error(`${file}:${index + 1}: a \`\`\`ts block that never closes`);
    const marker = /^<!-- sample: ([a-z-]+) -->$/.exec(lines[index - 1] ?? "");
    const mode = marker?.[1] ?? "run";
    if (mode !== "run" && mode !== "compile-only" && mode !== "excerpt") throw new Error(`${file}:${index}: unknown sample marker "${mode}" (compile-only or excerpt)`);
    const after = lines.slice(end + 1, end + 5);
    const printsAt = after[0] === "" && after[1] === "prints" && after[2] === "" && after[3] === "```text" ? end + 5 : -1;
    const printsEnd = printsAt < 0 ? -1 : lines.indexOf("```", printsAt);
    const prints = printsEnd < 0 ? {} : { prints: `${lines.slice(printsAt, printsEnd).join("\n")}\n` };
    samples.push({ where: `${file}:${index + 1}`, code: lines.slice(index + 1, end).join("\n"), mode, ...prints });
    index = end;
  }
  return samples;
}

const documents = ["README.md", ...readdirSync(join(repoRoot, "docs")).filter((name) => name.endsWith(".md")).sort().map((name) => `docs/${name}`)];
const samples = documents.flatMap((file) => samplesOf(file, readFileSync(join(repoRoot, file), "utf8")));
const compiled = samples.filter((sample) => sample.mode !== "excerpt");

/** workspace is a scratch project whose node_modules names every workspace package, as a user's would after install. */
const workspace = mkdtempSync(join(tmpdir(), "concord-doc-samples-"));
mkdirSync(join(workspace, "node_modules", "@concord"), { recursive: true });
for (const name of readdirSync(join(repoRoot, "packages"))) symlinkSync(join(repoRoot, "packages", name), join(workspace, "node_modules", "@concord", name), "dir");
symlinkSync(join(repoRoot, "node_modules", "@types"), join(workspace, "node_modules", "@types"), "dir");
writeFileSync(join(workspace, "package.json"), JSON.stringify({ private: true, type: "module" }));
const fileOf = (sample: DocSample): string => join(workspace, `${sample.where.replace(/[/.:]/g, "-")}.ts`);
// `export {}` makes each sample a module of its own, so that two samples may declare the same names.
for (const sample of compiled) writeFileSync(fileOf(sample), `${sample.code}\nexport {};\n`);

afterAll(() => rmSync(workspace, { recursive: true, force: true }));

describe("the documentation's code samples", () => {
  it("finds the samples, and excerpts stay few", () => {
    expect(samples.filter((sample) => sample.mode === "run").length).toBeGreaterThanOrEqual(4);
    expect(samples.some((sample) => sample.prints !== undefined)).toBe(true);
    expect(samples.filter((sample) => sample.mode === "excerpt").length).toBeLessThanOrEqual(Math.max(3, samples.length / 4));
  });

  it("every sample that is not an excerpt type-checks against the workspace packages", () => {
    const base = ts.readConfigFile(join(repoRoot, "tsconfig.base.json"), (path) => ts.sys.readFile(path)).config as { compilerOptions: object };
    const { options } = ts.convertCompilerOptionsFromJson(base.compilerOptions, repoRoot);
    // A sample may import a name only to show it; the packages' own unused names are the typecheck's business.
    const program = ts.createProgram(compiled.map(fileOf), { ...options, types: ["node"], noUnusedLocals: false, noUnusedParameters: false, noEmit: true });
    const errors = ts.getPreEmitDiagnostics(program).map((diagnostic) => {
      const sample = compiled.find((candidate) => diagnostic.file !== undefined && fileOf(candidate) === diagnostic.file.fileName);
      const line = diagnostic.file !== undefined && diagnostic.start !== undefined ? diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line + 1 : 0;
      return `${sample?.where ?? diagnostic.file?.fileName ?? "?"} (sample line ${line}): ${ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n")}`;
    });
    expect(errors).toEqual([]);
  });

  it.each(samples.filter((sample) => sample.mode === "run").map((sample) => [sample.where, sample] as const))("%s runs to completion", (_where, sample) => {
    const tsx = join(repoRoot, "node_modules", ".bin", "tsx");
    let output: string;
    try {
      output = execFileSync(tsx, [fileOf(sample)], { cwd: workspace, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 });
    } catch (error) {
      const failed = error as { status?: number; stdout?: string; stderr?: string };
      throw new Error(`${sample.where} exited ${String(failed.status)}: ${(failed.stderr ?? "").slice(-2000)}${(failed.stdout ?? "").slice(-500)}`);
    }
    if (sample.prints !== undefined) expect(output, `${sample.where} prints what its document says`).toBe(sample.prints);
  });
});
